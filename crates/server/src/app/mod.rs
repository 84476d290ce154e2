//! The application layer: one function per use case, between the edges (the JSON API, the
//! workers, the CLI, the demo's seeding) and the core. A use case reads the application
//! once, asks the core once, and commits everything that belongs together — the new state,
//! its events, audit entries, notices, refunds, an idempotency record — in one transaction.
//! The edges only parse, authenticate and map the answer.
//!
//! One file per area: [`application`] (the citizen's application), [`payment`], [`review`]
//! (the УМС officer), [`production`], [`desk`] (the registration point), [`staff`] (staff
//! accounts), [`reminders`]. What they share is here: the rules and policy in force, reading
//! an application for an actor, and [`change`], the one way an application changes.

use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

use kuelik_core::lifecycle::{Actor, Application, ApplicationId, Command, Event, LifecyclePolicy};
use kuelik_core::payment::PaymentEvent;
use kuelik_core::rules::RuleSet;
use kuelik_core::time::almaty_date;
use kuelik_store::{
    ApplicationRecord, ApplicationWrite, AuditEntry, Changes, PaymentRecord, StoredApplication,
};

use crate::auth::{Principal, SessionToken};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::notify::notice_message;
use crate::AppState;

pub mod application;
pub mod desk;
pub mod payment;
pub mod production;
pub mod reminders;
pub mod review;
pub mod staff;

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

/// Records an action that changes nothing else (a read of personal data, a check): its
/// audit entry, alone, now.
pub async fn record(
    state: &AppState,
    actor: &Actor,
    action: &str,
    target: Option<String>,
    details: serde_json::Value,
) -> ApiResult<()> {
    let entry = audit(actor, state.clock.now(), action, target, details);
    state
        .store
        .commit(Changes {
            audit: vec![entry],
            ..Changes::default()
        })
        .await?;
    Ok(())
}

/// The application `id`, if `actor` may see it; else 404, as if it did not exist (the core's
/// `visible_to` decides).
pub async fn visible(
    state: &AppState,
    id: ApplicationId,
    actor: &Actor,
) -> ApiResult<StoredApplication> {
    match state.store.application(id).await? {
        Some(stored) if stored.application.visible_to(actor) => Ok(stored),
        _ => Err(ApiError::not_found()),
    }
}

/// The application `id` with its timeline and payments (one read), if `actor` may see it;
/// else 404, like [`visible`].
pub async fn visible_record(
    state: &AppState,
    id: ApplicationId,
    actor: &Actor,
) -> ApiResult<ApplicationRecord> {
    record_visible_to(state.store.application_record(id).await?, actor)
}

/// A status read in one read: who `token` signs in (401 if no one) and the application `id`
/// with its timeline and payments. The caller checks the principal's role, then
/// [`record_visible_to`].
pub async fn signed_in_record(
    state: &AppState,
    token: &SessionToken,
    id: ApplicationId,
) -> ApiResult<(Principal, Option<ApplicationRecord>)> {
    let read = state
        .store
        .signed_in_record(&token.hash, state.clock.now(), id)
        .await?;
    Ok((Principal::of(read.signed_in)?, read.record))
}

/// `record` if `actor` may see it; else 404, as if it did not exist (the core's
/// `visible_to` decides).
pub fn record_visible_to(
    record: Option<ApplicationRecord>,
    actor: &Actor,
) -> ApiResult<ApplicationRecord> {
    match record {
        Some(record) if record.stored.application.visible_to(actor) => Ok(record),
        _ => Err(ApiError::not_found()),
    }
}

/// Applies `steps` to the application as read (`stored`) in order — each decided by the
/// core against the state the previous one left — and commits the new state with every
/// event, its audit entries, its notices and the refunds the core's events ask for, in one
/// transaction. `extra` may add to the same transaction (a blob, a payment change, an
/// idempotency record). A concurrent change since the read answers `409 conflict`.
pub async fn change(
    state: &AppState,
    stored: &StoredApplication,
    steps: &[(Actor, Command)],
    extra: impl FnOnce(&Application, &[Event], &mut Changes) -> ApiResult<()>,
) -> ApiResult<StoredApplication> {
    let now = state.clock.now();
    let rules = rules_at(state, now)?;
    let policy = policy_at(state, now)?;
    let id = stored.application.id;
    let mut app = stored.application.clone();
    let mut events = Vec::new();
    let mut changes = Changes::default();
    for (actor, command) in steps {
        let event = app.handle(command, actor, now, &policy)?;
        changes.audit.push(audit(
            actor,
            now,
            &format!("application.{}", command.name()),
            Some(id.to_string()),
            json!({ "from": event.from, "to": event.to, "rules_version": rules.version }),
        ));
        changes
            .outbox
            .extend(notice_message(&app, &event, &state.points));
        events.push(event);
    }
    // The duty goes back when the core says an event asks for it (R13), whoever acted.
    if events.iter().any(|event| app.refund_requested_by(event)) {
        let payments = state.store.payments_of(id).await?;
        changes.payments.extend(refunds_for(&payments, now));
    }
    extra(&app, &events, &mut changes)?;
    changes.events = events;
    changes.application = Some(ApplicationWrite {
        application: app.clone(),
        expected_version: Some(stored.version),
    });
    let wakes = !changes.outbox.is_empty();
    state.store.commit(changes).await?;
    if wakes {
        state.wake_outbox();
    }
    Ok(StoredApplication {
        application: app,
        version: stored.version + 1,
    })
}

/// One step by one actor on an application `actor` may see, with nothing else in the
/// transaction.
pub async fn step(
    state: &AppState,
    id: ApplicationId,
    actor: &Actor,
    command: Command,
) -> ApiResult<StoredApplication> {
    let stored = visible(state, id, actor).await?;
    change(
        state,
        &stored,
        &[(actor.clone(), command)],
        |_, _, _| Ok(()),
    )
    .await
}

/// The payments of an application that must now be refunded (those the money arrived for).
pub fn refunds_for(payments: &[PaymentRecord], now: Timestamp) -> Vec<PaymentRecord> {
    payments
        .iter()
        .filter_map(|p| {
            let status = p.status.after(PaymentEvent::RefundRequested)?;
            Some(PaymentRecord {
                status,
                updated_at: now,
                ..p.clone()
            })
        })
        .collect()
}
