//! Rule sets: every version this deployment knows, which one decides today, and the
//! administrator's activation of a version from a date.
//!
//! An activation is kept in the store (append-only, audited in the same transaction) and
//! applied to the configured book; from its date the activated version supersedes the one in
//! force. It may not reach into the past: decisions already made were made under the rules of
//! their day.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::lifecycle::Role;
use kuelik_core::rules::{RuleBook, RuleSetError};
use kuelik_core::time::almaty_date;
use kuelik_store::{Changes, RuleActivation};

use crate::app::audit;
use crate::auth::Principal;
use kuelik_core::messages::Arg;

use crate::api::views::Text;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, JsonBody};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct RuleSetView {
    pub version: String,
    /// In kk, ru and en.
    pub title: Text,
    /// True when the rule set is this project's assumption, not law.
    pub assumption: bool,
    /// Switched on (by `rules_enabled` or an activation); only enabled sets can be in force.
    pub enabled: bool,
    /// The set deciding today (Almaty date).
    pub in_force: bool,
    pub effective_from: String,
    pub effective_until: Option<String>,
    /// For a switched-on set, the first day it decides: its `effective_from`, or the date an
    /// administrator activated it from, when later.
    pub takes_effect: Option<String>,
    pub window_days_before_expiry: u16,
    pub window_days_after_expiry: u16,
    pub processing_working_days: u16,
}

fn views(book: &RuleBook, today: jiff::civil::Date) -> Vec<RuleSetView> {
    let current = book.in_force(today).map(|r| r.version.clone());
    book.iter()
        .map(|r| RuleSetView {
            version: r.version.clone(),
            title: r.title.clone().into(),
            assumption: r.assumption,
            enabled: book.is_enabled(&r.version),
            in_force: current.as_deref() == Some(r.version.as_str()),
            effective_from: r.effective_from.to_string(),
            effective_until: r.effective_until.map(|d| d.to_string()),
            takes_effect: book.takes_effect(&r.version).map(|d| d.to_string()),
            window_days_before_expiry: r.window_days_before_expiry,
            window_days_after_expiry: r.window_days_after_expiry,
            processing_working_days: r.processing_working_days,
        })
        .collect()
}

/// Every rule set this deployment knows, switched on or not, with its period and the day it
/// takes effect.
#[utoipa::path(get, path = "/reference/rule-sets", tag = "reference", responses((status = 200, body = [RuleSetView])))]
pub async fn rule_sets(State(state): State<AppState>) -> Json<Vec<RuleSetView>> {
    let today = almaty_date(state.clock.now());
    Json(views(&state.rules.current(), today))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Activation {
    /// The first day the version decides, `YYYY-MM-DD` (Almaty); today to two years ahead.
    #[schema(format = Date)]
    pub from: String,
}

/// Activates a rule-set version from a date (administrators; audited). From that day it
/// decides eligibility, the duty and the processing time of new applications.
#[utoipa::path(post, path = "/admin/rule-sets/{version}/activate", tag = "admin",
    params(("version" = String, Path, description = "the rule set's version")),
    request_body = Activation,
    responses((status = 200, body = [RuleSetView]),
        (status = 404, description = "no such rule set"),
        (status = 422, description = "bad date, a date in the past, or after the set ends")))]
pub async fn activate(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(version): ApiPath<String>,
    body: JsonBody,
) -> ApiResult<Json<Vec<RuleSetView>>> {
    let staff = principal.staff(Role::Administrator)?;
    let req: Activation = body.parse()?;
    let now = state.clock.now();
    let today = almaty_date(now);
    let from: jiff::civil::Date = req
        .from
        .trim()
        .parse()
        .map_err(|_| ApiError::of(ErrorCode::BadDate))?;
    state
        .rules
        .current()
        .may_activate(&version, from, today)
        .map_err(|e| match e {
            RuleSetError::UnknownRuleSet(_) => ApiError::not_found(),
            RuleSetError::ActivationInPast { .. } => ApiError::of(ErrorCode::ActivationInPast),
            RuleSetError::ActivationTooFarAhead { .. } => {
                ApiError::of(ErrorCode::ActivationTooFarAhead)
            }
            RuleSetError::ActivationAfterPeriod { until, .. } => {
                ApiError::of_with(ErrorCode::ActivationAfterPeriod, |_| {
                    vec![("until", Arg::Text(until.to_string()))]
                })
            }
            // The rule set itself was checked when it was loaded.
            other => ApiError::plain(ErrorCode::InternalError, other.to_string()),
        })?;
    let activation = RuleActivation {
        id: Uuid::now_v7(),
        version: version.clone(),
        active_from: from,
        activated_by: staff.id,
        activated_at: now,
    };
    state
        .store
        .commit(Changes {
            rule_activations: vec![activation],
            audit: vec![audit(
                &principal.actor(),
                now,
                "rule_set.activated",
                Some(version.clone()),
                json!({ "from": from.to_string() }),
            )],
            ..Changes::default()
        })
        .await?;
    // This instance decides with it at once; the others on their next refresh.
    crate::live_rules::reload(&state).await?;
    tracing::info!(%version, %from, "rule set activated");
    Ok(Json(views(&state.rules.current(), today)))
}
