//! The payment gateway's callbacks: the duty arrived, failed, or was refunded.
//!
//! Every callback is checked against its HMAC signature before anything is read from it,
//! and handling is idempotent: a repeated callback changes nothing a second time.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::json;

use kuelik_core::lifecycle::{Actor, Command, Payment, RefundState};
use kuelik_core::payment::PaymentEvent;
use kuelik_store::{Changes, PaymentRecord, PaymentStatus};

use crate::api::{audit, transition};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::gateway::{self, Callback, CallbackStatus, SIGNATURE_HEADER};
use crate::AppState;

/// Handles one callback (from HTTP or from the simulator: the same checks either way).
pub async fn process_callback(state: &AppState, body: &[u8], signature: &str) -> ApiResult<()> {
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
            let result = transition(
                state,
                payment.application,
                &actor,
                command,
                |_, _, changes| {
                    changes.payments.push(confirmed.clone());
                    Ok(())
                },
            )
            .await;
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
                state
                    .store
                    .commit(Changes {
                        payments: vec![refund],
                        audit: vec![audit(
                            &actor,
                            now,
                            "payment.refund_unusable",
                            Some(payment.application.to_string()),
                            json!({ "reason": e.code }),
                        )],
                        ..Changes::default()
                    })
                    .await?;
            }
            Ok(())
        }
        PaymentStatus::Failed => {
            let failed = moved;
            state
                .store
                .commit(Changes {
                    payments: vec![failed],
                    audit: vec![audit(
                        &actor,
                        now,
                        "payment.failed",
                        Some(payment.application.to_string()),
                        json!({}),
                    )],
                    ..Changes::default()
                })
                .await?;
            Ok(())
        }
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
                transition(
                    state,
                    payment.application,
                    &actor,
                    Command::ConfirmRefund,
                    |_, _, changes| {
                        changes.payments.push(refunded.clone());
                        Ok(())
                    },
                )
                .await?;
            } else {
                state
                    .store
                    .commit(Changes {
                        payments: vec![refunded],
                        audit: vec![audit(
                            &actor,
                            now,
                            "payment.refunded",
                            Some(payment.application.to_string()),
                            json!({}),
                        )],
                        ..Changes::default()
                    })
                    .await?;
            }
            Ok(())
        }
        // A callback never requests a refund (the service does): nothing else can follow.
        PaymentStatus::Pending | PaymentStatus::RefundPending => Ok(()),
    }
}

/// The payment gateway's callback (HMAC-signed JSON; header `X-Kuelik-Signature`).
#[utoipa::path(post, path = "/payments/callback", tag = "payments",
    params(("X-Kuelik-Signature" = String, Header, description = "sha256=<hex HMAC of the body>")),
    request_body(content_type = "application/json", description = "{event_id, reference, status: paid|failed|refunded, amount_tiyn}"),
    responses((status = 204), (status = 400, description = "malformed or unknown"), (status = 401, description = "bad signature")))]
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    process_callback(&state, &body, signature).await?;
    Ok(StatusCode::NO_CONTENT)
}
