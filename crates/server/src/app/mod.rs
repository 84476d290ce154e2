//! The application layer: one function per use case, between the edges (the JSON API, the
//! workers, the demo seeding) and the core. A use case reads what it needs once, asks the
//! core once, and commits everything that belongs together in one transaction.
//!
//! So far: the desk's hand-over ([`desk`]). The helpers here (the rules in force, the
//! life-cycle policy, an audit entry) are shared by every use case and by the API's
//! remaining handlers.

use jiff::Timestamp;
use uuid::Uuid;

use kuelik_core::lifecycle::{Actor, LifecyclePolicy};
use kuelik_core::rules::RuleSet;
use kuelik_core::time::almaty_date;
use kuelik_store::AuditEntry;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;

pub mod desk;

/// The rule set in force at `now` (or the default set, which then says the service is not
/// active).
pub fn rules_at(state: &AppState, now: Timestamp) -> ApiResult<RuleSet> {
    let book = state.rules.current();
    book.for_date(almaty_date(now))
        .cloned()
        .map_err(|e| ApiError::plain(ErrorCode::RulesUnavailable, e.to_string()))
}

/// The life-cycle policy in force at `now` (the calendar and the rule set's processing time).
pub fn policy_at(state: &AppState, now: Timestamp) -> ApiResult<LifecyclePolicy<'_>> {
    let rules = rules_at(state, now)?;
    Ok(LifecyclePolicy {
        calendar: &state.calendar,
        processing_working_days: u32::from(rules.processing_working_days),
        review_timeout: kuelik_core::lifecycle::REVIEW_TIMEOUT,
    })
}

pub fn audit(
    actor: &Actor,
    at: Timestamp,
    action: &str,
    target: Option<String>,
    details: serde_json::Value,
) -> AuditEntry {
    AuditEntry {
        id: Uuid::now_v7(),
        at,
        actor: actor.clone(),
        action: action.to_string(),
        target,
        details,
    }
}
