//! The page templates (minijinja, compiled into the binary, HTML auto-escaped).
//!
//! Templates get three helpers: `t("key", name=value…)` for the portal's words,
//! `text|tr` to pick this page's language from a `{kk, ru, en}` object the API returned,
//! and `|when` / `|day` for instants and dates written the way the language writes them.

use std::sync::LazyLock;

use kuelik_core::lang::Lang;
use minijinja::value::{Kwargs, Value as JValue};
use minijinja::{Environment, Error, ErrorKind, State};

/// Every template, by name.
pub(crate) const TEMPLATES: &[(&str, &str)] = &[
    (
        "base.html",
        include_str!("../../portal/templates/base.html"),
    ),
    (
        "message.html",
        include_str!("../../portal/templates/message.html"),
    ),
    (
        "start.html",
        include_str!("../../portal/templates/start.html"),
    ),
    (
        "sign_in.html",
        include_str!("../../portal/templates/sign_in.html"),
    ),
    ("my.html", include_str!("../../portal/templates/my.html")),
    (
        "application.html",
        include_str!("../../portal/templates/application.html"),
    ),
    (
        "withdraw.html",
        include_str!("../../portal/templates/withdraw.html"),
    ),
    (
        "confirm.html",
        include_str!("../../portal/templates/confirm.html"),
    ),
    (
        "receipt.html",
        include_str!("../../portal/templates/receipt.html"),
    ),
    (
        "notifications.html",
        include_str!("../../portal/templates/notifications.html"),
    ),
    (
        "staff_sign_in.html",
        include_str!("../../portal/templates/staff_sign_in.html"),
    ),
    (
        "officer_queue.html",
        include_str!("../../portal/templates/officer_queue.html"),
    ),
    (
        "officer_review.html",
        include_str!("../../portal/templates/officer_review.html"),
    ),
    (
        "production.html",
        include_str!("../../portal/templates/production.html"),
    ),
    (
        "point.html",
        include_str!("../../portal/templates/point.html"),
    ),
    (
        "admin.html",
        include_str!("../../portal/templates/admin.html"),
    ),
    (
        "admin_audit.html",
        include_str!("../../portal/templates/admin_audit.html"),
    ),
    (
        "admin_stuck.html",
        include_str!("../../portal/templates/admin_stuck.html"),
    ),
    (
        "admin_reports.html",
        include_str!("../../portal/templates/admin_reports.html"),
    ),
    (
        "handover_receipt.html",
        include_str!("../../portal/templates/handover_receipt.html"),
    ),
    (
        "validity.html",
        include_str!("../../portal/templates/validity.html"),
    ),
    (
        "ncalayer_sign.html",
        include_str!("../../portal/templates/ncalayer_sign.html"),
    ),
];

#[cfg(test)]
/// Keys the templates build from a value (`t("document-" ~ kind)`), so the scan above
/// cannot see them: every value they can take is listed here.
const DYNAMIC_KEYS: &[&str] = &[
    "document-passport",
    "document-identity-card",
    "reason-expiring",
    "reason-name-change",
    "reason-loss",
    "reason-damage",
    "reason-other",
    "refund-pending",
    "refund-refunded",
    "step-photo",
    "step-signature",
    "verdict-pass",
    "verdict-warn",
    "verdict-fail",
    "photo-check-pass",
    "photo-check-warn",
    "photo-check-fail",
    "signature-check-pass",
    "signature-check-warn",
    "signature-check-fail",
    "photo-requirements",
    "signature-requirements",
    "photo-current-alt",
    "signature-current-alt",
    "photo-file-label",
    "signature-file-label",
    "role-officer",
    "role-production_operator",
    "role-point_operator",
    "role-administrator",
    "role-citizen",
    "role-system",
    "annul-photo_non_compliant",
    "annul-signature_non_compliant",
    "annul-additional_verification_required",
    "nav-officer-queue",
    "nav-production-queue",
    "nav-point-desk",
    "nav-admin-staff",
    "nav-admin-audit",
    "nav-admin-stuck",
    "nav-admin-reports",
    "done-approved",
    "done-annulled",
    "done-released",
    "done-accepted",
    "done-dispatched",
    "done-received",
    "done-handed-over",
    "done-staff-added",
    "done-outbox-retried",
    "done-refund-retried",
    "stuck-abandoned-title",
    "stuck-production-title",
    "stuck-refunds-title",
    "stuck-payments-title",
    "point-old-card-surrendered",
    "point-old-card-not_presented",
    "validity-answer-valid",
    "validity-answer-invalid",
    "validity-answer-unknown",
    "reports-from",
    "reports-to",
];

fn page_lang(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or(Lang::Ru)
}

fn t(state: &State, key: &str, kwargs: Kwargs) -> Result<String, Error> {
    let mut args = Vec::new();
    for name in kwargs.args() {
        let value: JValue = kwargs.get(name)?;
        args.push((name, value.to_string()));
    }
    Ok(super::i18n::text(page_lang(state), key, &args))
}

/// `{kk, ru, en}` → the page's language (missing → empty, never another language).
fn tr(state: &State, value: JValue) -> String {
    value
        .get_attr(page_lang(state).tag())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_none())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn when(state: &State, value: JValue) -> String {
    value
        .as_str()
        .map(|s| super::local_time(page_lang(state), s))
        .unwrap_or_default()
}

fn day(state: &State, value: JValue) -> String {
    value
        .as_str()
        .map(|s| super::local_date(page_lang(state), s))
        .unwrap_or_default()
}

/// An amount in tiyn (a number) as the page's language writes money: "4 325 ₸", "₸4,325".
fn money(state: &State, value: JValue) -> String {
    match value.as_i64().and_then(|n| u64::try_from(n).ok()) {
        Some(tiyn) => kuelik_core::format::money(page_lang(state), kuelik_core::money::Tiyn(tiyn)),
        None => String::new(),
    }
}

/// A measured value (a number) with the page's language's decimal sign, two decimals at most.
fn number(state: &State, value: JValue) -> String {
    match f64::try_from(value) {
        Ok(v) => kuelik_core::format::number(page_lang(state), v),
        Err(_) => String::new(),
    }
}

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, source) in TEMPLATES {
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "portal template does not parse");
        }
    }
    env.add_function("t", t);
    env.add_filter("tr", tr);
    env.add_filter("when", when);
    env.add_filter("day", day);
    env.add_filter("money", money);
    env.add_filter("number", number);
    env
});

pub fn render(name: &str, ctx: &serde_json::Value) -> Result<String, Error> {
    let template = ENV
        .get_template(name)
        .map_err(|e| Error::new(ErrorKind::TemplateNotFound, e.to_string()))?;
    template.render(ctx)
}

#[cfg(test)]
/// Every key the templates pass to `t("…")` (for the catalogue tests).
pub(crate) fn used_keys() -> Vec<String> {
    let mut keys = Vec::new();
    let sources = TEMPLATES
        .iter()
        .map(|(_, s)| *s)
        .chain(super::rust_sources());
    for source in sources {
        for needle in ["t(\"", "t('", "t_args(\""] {
            let quote = needle.chars().last().unwrap_or('"');
            let mut rest = source;
            while let Some(i) = rest.find(needle) {
                // `t(` as a word: not the end of `text(` or `get(`.
                let boundary = rest[..i]
                    .chars()
                    .last()
                    .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                rest = &rest[i + needle.len()..];
                if !boundary {
                    continue;
                }
                if let Some(end) = rest.find(quote) {
                    let key = &rest[..end];
                    // A prefix joined to a value (`t("document-" ~ kind)`) is listed
                    // in DYNAMIC_KEYS instead.
                    if !key.is_empty()
                        && !key.ends_with('-')
                        && key
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    {
                        keys.push(key.to_string());
                    }
                }
            }
        }
    }
    keys.extend(DYNAMIC_KEYS.iter().map(|k| k.to_string()));
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)
                .unwrap_or_else(|e| panic!("{name}: {e:#}"));
        }
    }

    #[test]
    fn text_is_escaped_and_words_follow_the_language() {
        let ctx = serde_json::json!({
            "lang": "kk", "csrf": "x", "path": "/", "signed_in": false, "errors": [],
            "title": "<script>alert(1)</script>", "text": "a & b",
        });
        let html = render("message.html", &ctx).expect("renders");
        assert!(html.contains("&lt;script&gt;"), "title escaped");
        assert!(!html.contains("<script>alert"), "no markup injected");
        assert!(html.contains("<html lang=\"kk\""));
        assert!(!html.contains('⟦'), "no missing words");
    }
}
