//! Stuck work (administrators): everything that waits longer than it should, why, and since
//! when — overdue applications, reviews and approvals nobody moved on, outbox messages
//! retrying has not got through, refunds and payments the gateway has not settled — with a
//! "retry now" where retrying can help (an outbox message, a refund request). Every retry is
//! audited.
//!
//! Each list is one store query (never a walk over everything in memory), capped at
//! [`LIST_LIMIT`] rows; the overdue ones are also counted per region and state.

use axum::extract::State;
use axum::Json;
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::calendar::WorkingCalendar;
use kuelik_core::lifecycle::{ApplicationState, Role};
use kuelik_core::time::ALMATY;
use kuelik_store::{
    Changes, OutboxMessage, OutboxRetry, PaymentRecord, PaymentStatus, QueueFilter,
    StoredApplication,
};

use crate::api::citizen::today;
use crate::app::audit;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiPath;
use crate::AppState;
use kuelik_core::lifecycle::REVIEW_TIMEOUT;

/// At most this many rows per list (the counts are complete).
pub const LIST_LIMIT: u32 = 200;

/// An approved application should be accepted by production within one working day: the
/// production centre works the working days and accepts each day's approvals the same or the
/// next working day, so longer means the batch was missed.
pub const PRODUCTION_WORKING_DAYS: u32 = 1;

/// An outbox message is stuck after this many failed attempts: with the workers' backoff
/// (1, 2, 4, 8, 16 s) that is half a minute of refusals — not a passing glitch.
pub const OUTBOX_ATTEMPTS: u32 = 5;

/// …or when it is this old and still undelivered (a one-time code is useless after
/// 5 minutes; a notice this late needs someone to look).
pub const OUTBOX_AGE: SignedDuration = SignedDuration::from_mins(15);

/// The refund worker asks the gateway every few seconds and a gateway confirms within
/// minutes; a refund pending for a day means the gateway is not answering.
pub const REFUND_AGE: SignedDuration = SignedDuration::from_hours(24);

/// A payment intent is paid or failed within the gateway's session (minutes); pending for a
/// day means its callback was lost.
pub const PAYMENT_AGE: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Serialize, ToSchema)]
pub struct StuckThresholds {
    pub review_timeout_minutes: i64,
    pub production_working_days: u32,
    pub outbox_attempts: u32,
    pub outbox_age_minutes: i64,
    pub refund_age_hours: i64,
    pub payment_age_hours: i64,
}

/// How many overdue applications a region has in a state.
#[derive(Debug, Serialize, ToSchema)]
pub struct OverdueCount {
    pub region: String,
    pub state: String,
    pub count: u64,
}

/// An application that waits too long (no personal data: ids, ticket, region, state, dates).
#[derive(Debug, Serialize, ToSchema)]
pub struct StuckApplication {
    pub id: Uuid,
    pub ticket: Option<String>,
    pub region: String,
    pub state: String,
    pub due_date: Option<String>,
    /// Since when it waits (submission, taking for review, or approval).
    pub since: Option<String>,
    /// Working days past the due date (overdue list).
    pub working_days_late: Option<u32>,
}

/// An undelivered outbox message: never its text (it may hold a code or personal data).
#[derive(Debug, Serialize, ToSchema)]
pub struct StuckMessage {
    pub id: Uuid,
    pub topic: String,
    pub attempts: u32,
    pub created_at: String,
    pub next_attempt_at: String,
    /// The last delivery error, digits masked (they could be a phone number or a code).
    pub last_error: Option<String>,
    /// `POST` here to try again now.
    pub retry: String,
}

/// A payment waiting for the gateway (no payer IIN).
#[derive(Debug, Serialize, ToSchema)]
pub struct StuckPayment {
    pub id: Uuid,
    pub application: Uuid,
    pub amount_tiyn: u64,
    pub gateway_reference: String,
    /// Since when it is in its status.
    pub since: String,
    /// `POST` here to ask the gateway again (refunds only).
    pub retry: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StuckWork {
    pub generated_at: String,
    pub thresholds: StuckThresholds,
    /// Past their due date and not yet ready for pickup, counted per region and state.
    pub overdue_counts: Vec<OverdueCount>,
    pub overdue: Vec<StuckApplication>,
    /// Taken for review longer ago than the abandoned-review timeout (the workers release
    /// these; listed here if they do not).
    pub abandoned_reviews: Vec<StuckApplication>,
    /// Approved, not accepted by production within a working day.
    pub awaiting_production: Vec<StuckApplication>,
    pub outbox: Vec<StuckMessage>,
    pub refunds: Vec<StuckPayment>,
    pub payments: Vec<StuckPayment>,
}

/// The same Almaty wall-clock time `days` working days before `now` (where the calendar
/// does not cover a day, 24 hours per day: a cut-off, not a rule).
pub fn working_days_before(calendar: &WorkingCalendar, now: Timestamp, days: u32) -> Timestamp {
    let fallback = now
        .checked_sub(SignedDuration::from_hours(24 * i64::from(days)))
        .unwrap_or(now);
    let local = now.to_zoned_datetime(ALMATY.clone());
    let mut day = local.date();
    let mut left = days;
    // A month of days off in a row does not happen; the bound only stops a bad calendar.
    for _ in 0..(31 * days.max(1)) {
        if left == 0 {
            break;
        }
        let Ok(previous) = day.yesterday() else {
            return fallback;
        };
        day = previous;
        match calendar.is_working_day(day) {
            Ok(true) => left -= 1,
            Ok(false) => {}
            Err(_) => return fallback,
        }
    }
    ALMATY
        .to_timestamp(day.to_datetime(local.time()))
        .unwrap_or(fallback)
}

/// Masks every run of four or more digits: an error text may quote a phone number, an IIN
/// or a one-time code, none of which belongs on an administrator's screen.
pub fn mask_digits(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.chars().count() >= 4 {
            out.push('…');
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_digit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out.chars().take(300).collect()
}

fn stuck_application(
    state: &AppState,
    stored: &StoredApplication,
    since: Option<Timestamp>,
    late: bool,
) -> StuckApplication {
    let a = &stored.application;
    let working_days_late = if late {
        a.due_date
            .and_then(|due| state.calendar.working_days_between(due, today(state)).ok())
    } else {
        None
    };
    StuckApplication {
        id: a.id.0,
        ticket: a.ticket.map(|t| t.to_string()),
        region: a.region.to_string(),
        state: a.state.as_str().into(),
        due_date: a.due_date.map(|d| d.to_string()),
        since: since.map(|t| t.to_string()),
        working_days_late,
    }
}

fn stuck_message(m: &OutboxMessage) -> StuckMessage {
    StuckMessage {
        id: m.id,
        topic: m.topic.clone(),
        attempts: m.attempts,
        created_at: m.created_at.to_string(),
        next_attempt_at: m.next_attempt_at.to_string(),
        last_error: m.last_error.as_deref().map(mask_digits),
        retry: format!("/api/v1/admin/stuck/outbox/{}/retry", m.id),
    }
}

fn stuck_payment(p: &PaymentRecord) -> StuckPayment {
    StuckPayment {
        id: p.id,
        application: p.application.0,
        amount_tiyn: p.amount.0,
        gateway_reference: p.gateway_reference.clone(),
        since: p.updated_at.to_string(),
        retry: (p.status == PaymentStatus::RefundPending)
            .then(|| format!("/api/v1/admin/stuck/refunds/{}/retry", p.id)),
    }
}

/// Everything waiting longer than expected (administrators).
#[utoipa::path(get, path = "/admin/stuck", tag = "admin",
    responses((status = 200, body = StuckWork), (status = 403, description = "not an administrator")))]
pub async fn stuck_work(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<StuckWork>> {
    principal.staff(Role::Administrator)?;
    let now = state.clock.now();
    let store = &state.store;
    let today = today(&state);
    let before = |age: SignedDuration| now.checked_sub(age).unwrap_or(now);

    let overdue_counts = store
        .overdue_counts(today)
        .await?
        .into_iter()
        .map(|c| OverdueCount {
            region: c.region.to_string(),
            state: c.state.as_str().into(),
            count: c.count,
        })
        .collect();
    let overdue = store
        .overdue_applications(today, LIST_LIMIT)
        .await?
        .iter()
        .map(|s| stuck_application(&state, s, s.application.submitted_at, true))
        .collect();
    // The same query the abandoned-review worker runs.
    let reviews = QueueFilter {
        taken_before: Some(before(REVIEW_TIMEOUT)),
        ..QueueFilter::state(ApplicationState::UnderReview)
    };
    let abandoned_reviews = store
        .work_queue(&reviews, LIST_LIMIT)
        .await?
        .iter()
        .map(|s| stuck_application(&state, s, s.application.taken_at, false))
        .collect();
    let approved_before = working_days_before(&state.calendar, now, PRODUCTION_WORKING_DAYS);
    let awaiting_production = store
        .applications_waiting_since(ApplicationState::Approved, approved_before, LIST_LIMIT)
        .await?
        .iter()
        .map(|s| stuck_application(&state, s, s.application.approved_at, false))
        .collect();
    let outbox = store
        .outbox_stuck(OUTBOX_ATTEMPTS, before(OUTBOX_AGE), LIST_LIMIT)
        .await?
        .iter()
        .map(stuck_message)
        .collect();
    let refunds = store
        .payments_stale(PaymentStatus::RefundPending, before(REFUND_AGE), LIST_LIMIT)
        .await?
        .iter()
        .map(stuck_payment)
        .collect();
    let payments = store
        .payments_stale(PaymentStatus::Pending, before(PAYMENT_AGE), LIST_LIMIT)
        .await?
        .iter()
        .map(stuck_payment)
        .collect();
    Ok(Json(StuckWork {
        generated_at: now.to_string(),
        thresholds: StuckThresholds {
            review_timeout_minutes: REVIEW_TIMEOUT.as_mins(),
            production_working_days: PRODUCTION_WORKING_DAYS,
            outbox_attempts: OUTBOX_ATTEMPTS,
            outbox_age_minutes: OUTBOX_AGE.as_mins(),
            refund_age_hours: REFUND_AGE.as_hours(),
            payment_age_hours: PAYMENT_AGE.as_hours(),
        },
        overdue_counts,
        overdue,
        abandoned_reviews,
        awaiting_production,
        outbox,
        refunds,
        payments,
    }))
}

/// What a retry did.
#[derive(Debug, Serialize, ToSchema)]
pub struct RetryDone {
    pub id: Uuid,
    /// `outbox.retry` or `refund.retry` (the audit entry's action).
    pub action: String,
    pub at: String,
}

/// Makes an undelivered outbox message due now (audited). 404 for an unknown message, 409
/// for a delivered one.
#[utoipa::path(post, path = "/admin/stuck/outbox/{id}/retry", tag = "admin",
    params(("id" = Uuid, Path, description = "the outbox message")),
    responses((status = 200, body = RetryDone), (status = 403, description = "not an administrator"),
        (status = 404, description = "no such message"), (status = 409, description = "delivered already")))]
pub async fn retry_outbox(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<RetryDone>> {
    principal.staff(Role::Administrator)?;
    let now = state.clock.now();
    let entry = audit(
        &principal.actor(),
        now,
        "outbox.retry",
        Some(id.to_string()),
        json!({}),
    );
    // A message under a worker's lease may be tried twice; delivery is at least once
    // anyway and the inbox takes each notice once.
    match state.store.retry_outbox_message(id, now, entry).await? {
        OutboxRetry::Rescheduled => {
            state.wake_outbox();
            Ok(Json(RetryDone {
                id,
                action: "outbox.retry".into(),
                at: now.to_string(),
            }))
        }
        OutboxRetry::AlreadyDelivered => Err(ApiError::of(ErrorCode::AlreadyDelivered)),
        OutboxRetry::Missing => Err(ApiError::not_found()),
    }
}

/// Asks the gateway again for a pending refund (audited). 404 for an unknown payment, 409
/// for one whose refund is not pending, 503 when the gateway refuses.
#[utoipa::path(post, path = "/admin/stuck/refunds/{id}/retry", tag = "admin",
    params(("id" = Uuid, Path, description = "the payment")),
    responses((status = 200, body = RetryDone), (status = 403, description = "not an administrator"),
        (status = 404, description = "no such payment"), (status = 409, description = "no refund pending"),
        (status = 503, description = "the gateway refused")))]
pub async fn retry_refund(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<RetryDone>> {
    principal.staff(Role::Administrator)?;
    let payment = state
        .store
        .payment(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if payment.status != PaymentStatus::RefundPending {
        return Err(ApiError::of(ErrorCode::RefundNotPending)
            .with_extra(json!({ "status": payment.status.as_str() })));
    }
    let now = state.clock.now();
    let asked = state
        .gateway
        .request_refund(&payment.gateway_reference, payment.amount)
        .await;
    // The attempt is audited whatever the gateway answered.
    state
        .store
        .commit(Changes {
            audit: vec![audit(
                &principal.actor(),
                now,
                "refund.retry",
                Some(payment.application.to_string()),
                json!({ "payment": id, "accepted": asked.is_ok() }),
            )],
            ..Changes::default()
        })
        .await?;
    if let Err(e) = asked {
        tracing::warn!(error = %e, "refund retry refused by the gateway");
        return Err(ApiError::of(ErrorCode::GatewayUnavailable));
    }
    Ok(Json(RetryDone {
        id,
        action: "refund.retry".into(),
        at: now.to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_that_could_be_personal_are_masked() {
        assert_eq!(
            mask_digits("SMS to +77010000001 failed: 503"),
            "SMS to +… failed: 503"
        );
        assert_eq!(mask_digits("code 123456"), "code …");
        assert_eq!(mask_digits(""), "");
    }

    #[test]
    fn one_working_day_skips_the_weekend() {
        let calendar = WorkingCalendar::builtin();
        // Monday 15 Dec 2025 10:00 Almaty → Friday 12 Dec 10:00.
        let monday: Timestamp = "2025-12-15T05:00:00Z".parse().unwrap();
        let friday: Timestamp = "2025-12-12T05:00:00Z".parse().unwrap();
        assert_eq!(working_days_before(&calendar, monday, 1), friday);
        // Wednesday → Tuesday.
        let wednesday: Timestamp = "2025-12-10T05:00:00Z".parse().unwrap();
        let tuesday: Timestamp = "2025-12-09T05:00:00Z".parse().unwrap();
        assert_eq!(working_days_before(&calendar, wednesday, 1), tuesday);
    }
}
