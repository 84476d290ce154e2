//! The state duty: starting a payment, and what the gateway's callbacks say happened to it
//! (the duty arrived, failed, or was refunded).
//!
//! Every callback is checked against its HMAC signature before anything is read from it,
//! and handling is idempotent: a repeated callback changes nothing a second time.

use serde_json::json;
use uuid::Uuid;

use kuelik_core::iin::Iin;
use kuelik_core::lifecycle::{Actor, ApplicationId, Command, Payment, RefundState};
use kuelik_core::payment::PaymentEvent;
use kuelik_core::time::almaty_date;
use kuelik_store::{Changes, IdempotencyRecord, PaymentRecord, PaymentStatus};

use super::application::DraftFacts;
use super::{audit, change, rules_at, visible};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::gateway::{self, Callback, CallbackStatus};
use crate::AppState;

/// A payment of the duty the citizen can pay now, and where they pay it.
pub struct PaymentToPay {
    pub record: PaymentRecord,
    /// The gateway's page for this payment.
    pub pay_url: String,
    /// False when a pending payment already existed and is returned again.
    pub started: bool,
}

/// Starts paying the state duty of the application (the amount from the fee table on
/// today's Almaty date). While a payment is pending, that one is returned again.
pub async fn start(
    state: &AppState,
    iin: Iin,
    id: ApplicationId,
    remember: &(dyn Fn(&PaymentToPay) -> Option<IdempotencyRecord> + Sync),
) -> ApiResult<PaymentToPay> {
    let actor = Actor::Citizen { iin };
    let stored = visible(state, id, &actor).await?;
    let app = &stored.application;
    let now = state.clock.now();
    let draft = DraftFacts::of(state, app, now).await?;
    if let Err(e) = app.may_start_payment(&actor, &draft.facts) {
        return Err(draft.refusal(app, e));
    }
    let existing = state.store.payments_of(app.id).await?;
    if let Some(pending) = existing.iter().find(|p| p.status == PaymentStatus::Pending) {
        return Ok(PaymentToPay {
            record: pending.clone(),
            pay_url: format!("/sim-gateway/pay/{}", pending.gateway_reference),
            started: false,
        });
    }
    let rules = rules_at(state, now)?;
    let duty = kuelik_core::fees::duty_due(&rules, &state.mrp, app.document_kind, almaty_date(now))
        .map_err(|e| ApiError::plain(duty_error(&e), e.to_string()))?;
    let intent = state
        .gateway
        .create_intent(
            duty.amount,
            &format!("State duty: {} ({})", app.document_kind, duty.rules_version),
        )
        .await
        .map_err(|e| ApiError::plain(ErrorCode::GatewayUnavailable, e.to_string()))?;
    let started = PaymentToPay {
        record: PaymentRecord {
            id: Uuid::now_v7(),
            application: app.id,
            payer: iin,
            amount: duty.amount,
            status: PaymentStatus::Pending,
            gateway_reference: intent.reference.clone(),
            created_at: now,
            updated_at: now,
        },
        pay_url: intent.pay_url,
        started: true,
    };
    let changes = Changes {
        audit: vec![audit(
            &actor,
            now,
            "payment.start",
            Some(id.to_string()),
            json!({ "amount_tiyn": duty.amount.0 }),
        )],
        idempotency: remember(&started),
        payments: vec![started.record.clone()],
        ..Changes::default()
    };
    state.store.commit(changes).await?;
    Ok(started)
}

/// Why the duty cannot be computed: the service's configuration, not the citizen's doing.
fn duty_error(e: &kuelik_core::fees::FeeError) -> ErrorCode {
    use kuelik_core::fees::FeeError as F;
    match e {
        F::BadTable(_) => ErrorCode::BadMrpTable,
        F::NoMrpForYear(_) => ErrorCode::NoMrpForYear,
        F::NoDutyForKind { .. } => ErrorCode::NoDutyForKind,
    }
}

/// Handles one callback (from HTTP or from the simulator: the same checks either way).
pub async fn record_callback(state: &AppState, body: &[u8], signature: &str) -> ApiResult<()> {
    if !gateway::verify(&state.config.secrets.gateway_key, body, signature) {
        return Err(ApiError::plain(
            ErrorCode::CallbackSignatureInvalid,
            "the callback signature does not verify",
        ));
    }
    let callback: Callback = serde_json::from_slice(body)
        .map_err(|e| ApiError::plain(ErrorCode::BadCallback, e.to_string()))?;
    let payment = state
        .store
        .payment_by_reference(&callback.reference)
        .await?
        .ok_or_else(|| {
            ApiError::plain(ErrorCode::UnknownPayment, "no payment has this reference")
        })?;
    if callback.amount_tiyn != payment.amount.0 {
        return Err(ApiError::plain(
            ErrorCode::AmountMismatch,
            "the callback amount differs from the payment's",
        ));
    }
    let now = state.clock.now();
    let actor = Actor::System;
    let event = match callback.status {
        CallbackStatus::Paid => PaymentEvent::GatewayPaid,
        CallbackStatus::Failed => PaymentEvent::GatewayFailed,
        CallbackStatus::Refunded => PaymentEvent::GatewayRefunded,
    };
    // Repeats and callbacks that no longer apply: acknowledged, nothing changes.
    let Some(next) = payment.status.after(event) else {
        return Ok(());
    };
    let moved = PaymentRecord {
        status: next,
        updated_at: now,
        ..payment.clone()
    };
    match next {
        PaymentStatus::Confirmed => {
            let confirmed = moved;
            let command = Command::RecordPayment(Payment {
                reference: payment.gateway_reference.clone(),
                amount: payment.amount,
                paid_at: now,
            });
            let result = match state.store.application(payment.application).await? {
                Some(stored) => {
                    change(
                        state,
                        &stored,
                        &[(actor.clone(), command)],
                        |_, _, changes| {
                            changes.payments.push(confirmed.clone());
                            Ok(())
                        },
                    )
                    .await
                }
                None => Err(ApiError::not_found()),
            };
            if let Err(e) = result {
                // Money arrived for an application that can no longer take it (withdrawn,
                // or paid by another payment): keep the record and give the money back.
                tracing::info!(code = %e.code, "payment arrived for an application that cannot take it; refunding");
                let refund = PaymentRecord {
                    status: confirmed
                        .status
                        .after(PaymentEvent::RefundRequested)
                        .unwrap_or(PaymentStatus::RefundPending),
                    ..confirmed.clone()
                };
                let reason = json!({ "reason": e.code });
                record_only(state, refund, "payment.refund_unusable", reason).await?;
            }
            Ok(())
        }
        PaymentStatus::Failed => record_only(state, moved, "payment.failed", json!({})).await,
        PaymentStatus::Refunded => {
            let refunded = moved;
            let app = state
                .store
                .application(payment.application)
                .await?
                .ok_or_else(ApiError::not_found)?;
            let refund_open = app.application.refund == Some(RefundState::Pending)
                && app.application.payment.as_ref().map(|p| &p.reference)
                    == Some(&payment.gateway_reference);
            if refund_open {
                let steps = [(actor.clone(), Command::ConfirmRefund)];
                change(state, &app, &steps, |_, _, changes| {
                    changes.payments.push(refunded.clone());
                    Ok(())
                })
                .await?;
            } else {
                record_only(state, refunded, "payment.refunded", json!({})).await?;
            }
            Ok(())
        }
        // A callback never requests a refund (the service does): nothing else can follow.
        PaymentStatus::Pending | PaymentStatus::RefundPending => Ok(()),
    }
}

/// A payment's new state that changes nothing of its application, with its audit entry.
async fn record_only(
    state: &AppState,
    payment: PaymentRecord,
    action: &str,
    details: serde_json::Value,
) -> ApiResult<()> {
    let entry = audit(
        &Actor::System,
        payment.updated_at,
        action,
        Some(payment.application.to_string()),
        details,
    );
    state
        .store
        .commit(Changes {
            payments: vec![payment],
            audit: vec![entry],
            ..Changes::default()
        })
        .await?;
    Ok(())
}
