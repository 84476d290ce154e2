//! The JSON API under `/api/v1`: one module per kind of user, plus what they share — the
//! answer shapes ([`views`]) and the one way an application changes ([`transition`]).

use jiff::Timestamp;
use serde_json::json;

use kuelik_core::lifecycle::{Actor, Application, ApplicationId, Command, Event};
use kuelik_core::payment::PaymentEvent;
use kuelik_store::{ApplicationWrite, Changes, PaymentRecord, StoredApplication};

use crate::error::{ApiError, ApiResult};
use crate::notify::notice_message;
use crate::AppState;

pub use crate::app::{audit, policy_at, rules_at};

pub mod citizen;
pub mod contact;
pub mod documents;
pub mod payments;
pub mod reference;
pub mod reports;
pub mod rule_sets;
pub mod staff;
pub mod stuck;
pub mod views;

/// Applies `steps` to an application in order — each decided by the core against the
/// state the previous one left — and commits the new state with every event, its audit
/// entries and its notices in one transaction. `extra` may add to the same transaction
/// (a blob, a payment change, an idempotency record).
pub async fn transition_steps(
    state: &AppState,
    id: ApplicationId,
    steps: &[(Actor, Command)],
    extra: impl FnOnce(&Application, &[Event], &mut Changes) -> ApiResult<()>,
) -> ApiResult<StoredApplication> {
    let stored = state
        .store
        .application(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let now = state.clock.now();
    let rules = rules_at(state, now)?;
    let policy = policy_at(state, now)?;
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
        changes.outbox.extend(notice_message(&app, &event));
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

/// One step by one actor.
pub async fn transition(
    state: &AppState,
    id: ApplicationId,
    actor: &Actor,
    command: Command,
    extra: impl FnOnce(&Application, &[Event], &mut Changes) -> ApiResult<()>,
) -> ApiResult<StoredApplication> {
    transition_steps(state, id, &[(actor.clone(), command)], extra).await
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
