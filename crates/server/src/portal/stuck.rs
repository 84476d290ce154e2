//! The administrator's stuck-work page: what waits longer than it should, why and since
//! when, with a "retry now" button (a CSRF-checked form) on outbox messages and refunds.
//! The lists come from `GET /admin/stuck`; the buttons post to the API's retry endpoints.

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::Method;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use kuelik_core::lifecycle::ApplicationState;
use kuelik_core::messages::state_name;
use kuelik_core::money::Tiyn;

use super::console::{console, fetch, notice_text, staff_problem, Notice};
use super::Page;
use crate::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/staff/admin/stuck", get(stuck_page))
        .route("/staff/admin/stuck/outbox/{id}/retry", post(retry_outbox))
        .route("/staff/admin/stuck/refunds/{id}/retry", post(retry_refund))
}

/// A region code with its name in the page's language (`71 Астана`).
pub(super) fn region_label(page: &Page, code: &str) -> String {
    let name = code
        .parse()
        .ok()
        .and_then(|c| page.state.regions.get(c))
        .map(|r| r.name.get(page.lang).to_string())
        .unwrap_or_default();
    format!("{code} {name}").trim().to_string()
}

fn state_label(page: &Page, state: &str) -> String {
    ApplicationState::ALL
        .into_iter()
        .find(|s| s.as_str() == state)
        .map(|s| state_name(s).get(page.lang).to_string())
        .unwrap_or_else(|| state.to_string())
}

/// Adds the region's and the state's names to each row that has them, and the amount in
/// the page's language to each payment.
fn label_rows(page: &Page, rows: &mut Value) {
    for row in rows.as_array_mut().into_iter().flatten() {
        let region = row["region"].as_str().map(|r| region_label(page, r));
        let state = row["state"].as_str().map(|s| state_label(page, s));
        let amount = row["amount_tiyn"]
            .as_u64()
            .map(|a| kuelik_core::format::money(page.lang, Tiyn(a)));
        if let Some(m) = row.as_object_mut() {
            if let Some(r) = region {
                m.insert("region_name".into(), json!(r));
            }
            if let Some(s) = state {
                m.insert("state_name".into(), json!(s));
            }
            if let Some(a) = amount {
                m.insert("amount_text".into(), json!(a));
            }
        }
    }
}

async fn stuck_page(page: Page, Query(q): Query<Notice>) -> Response {
    let mut work = match fetch(&page, "/admin/stuck").await {
        Ok(v) => v,
        Err(r) => return r,
    };
    for list in [
        "overdue_counts",
        "overdue",
        "abandoned_reviews",
        "awaiting_production",
        "refunds",
        "payments",
    ] {
        label_rows(&page, &mut work[list]);
    }
    let thresholds = &work["thresholds"];
    let hint = page.t_args(
        "stuck-thresholds",
        &[
            ("review", thresholds["review_timeout_minutes"].to_string()),
            (
                "production",
                thresholds["production_working_days"].to_string(),
            ),
            ("attempts", thresholds["outbox_attempts"].to_string()),
            ("outbox", thresholds["outbox_age_minutes"].to_string()),
            ("refund", thresholds["refund_age_hours"].to_string()),
            ("payment", thresholds["payment_age_hours"].to_string()),
        ],
    );
    let ctx = json!({
        "work": work, "thresholds_text": hint,
        "notice": notice_text(&page, q.done.as_deref()),
    });
    page.render(
        "admin_stuck.html",
        console(&page, "admin", page.t("stuck-title"), ctx),
    )
}

/// Posts a retry to the API and comes back to the page (with what was done, or the refusal).
async fn retry(page: Page, what: &str, id: String, body: Bytes, done: &str) -> Response {
    let id = match page.id(&id) {
        Ok(id) => id,
        Err(r) => return r,
    };
    if let Err(r) = page.form(&body) {
        return r;
    }
    let path = format!("/admin/stuck/{what}/{id}/retry");
    match page.api(Method::POST, &path, None).await.result {
        Ok(_) => page.redirect(&format!("/staff/admin/stuck?done={done}")),
        Err(p) => staff_problem(&page, &p),
    }
}

async fn retry_outbox(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    retry(page, "outbox", id, body, "outbox-retried").await
}

async fn retry_refund(page: Page, Path(id): Path<String>, body: Bytes) -> Response {
    retry(page, "refunds", id, body, "refund-retried").await
}
