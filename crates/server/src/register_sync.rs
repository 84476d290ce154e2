//! Telling the national population register what a hand-over changed, so that the local
//! register and the national one agree: the new document is the person's current one and
//! the card it replaced is invalid (`replaced`).
//!
//! The change is an outbox message ([`TOPIC`]) committed in the hand-over's own transaction
//! (a crash after the commit loses nothing), delivered by the outbox worker through
//! [`RegisterLink`]: an HTTP `POST` of a JSON [`DocumentChange`] whose body is signed with
//! HMAC-SHA256 under the key shared with the register (header `X-Kuelik-Signature:
//! sha256=<hex>`, as the payment gateway's callbacks). The register answers
//! `{"acknowledged": change_id}`; anything else is retried with backoff until it does, and a
//! message that keeps failing shows in the administrator's stuck work.
//!
//! [`SimulatedRegister`] is the default endpoint (demo, tests, and any installation without
//! `register_url`): a separate HTTP server on a loopback port that checks the signature,
//! keeps what it was told and acknowledges it; a repeated delivery is acknowledged again.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use kuelik_core::iin::Iin;
use kuelik_core::issuance::{DocumentRecord, Issuance};
use kuelik_store::OutboxMessage;

use crate::gateway::{sign, verify, SIGNATURE_HEADER};

/// The outbox topic of a document change for the register.
pub const TOPIC: &str = "register.document_change";

/// The path the register takes changes at (the simulator's; a real endpoint is configured
/// whole as `register_url`).
pub const PATH: &str = "/v1/document-changes";

/// What the register is told after a hand-over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentChange {
    /// Unique per change; a repeated delivery repeats it.
    pub change_id: Uuid,
    pub holder: Iin,
    /// When the change took effect (the hand-over instant).
    pub at: Timestamp,
    /// The new current document.
    pub issued: DocumentRecord,
    /// The card it replaced, invalidated.
    pub invalidated: DocumentRecord,
}

/// The outbox message that tells the register about `issuance`.
pub fn change_message(issuance: &Issuance) -> Option<OutboxMessage> {
    let at = issuance.event.at;
    let change = DocumentChange {
        change_id: Uuid::now_v7(),
        holder: issuance.issued.holder,
        at,
        issued: issuance.issued.clone(),
        invalidated: issuance.invalidated.clone(),
    };
    Some(OutboxMessage {
        id: change.change_id,
        topic: TOPIC.into(),
        payload: serde_json::to_value(&change).ok()?,
        created_at: at,
        attempts: 0,
        next_attempt_at: at,
        delivered_at: None,
        last_error: None,
    })
}

#[derive(Debug, Deserialize)]
struct Acknowledgement {
    acknowledged: Uuid,
}

/// kuelik's side of the exchange with the register.
pub struct RegisterLink {
    endpoint: String,
    key: Vec<u8>,
    client: reqwest::Client,
}

impl RegisterLink {
    pub fn new(endpoint: String, key: Vec<u8>) -> RegisterLink {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        RegisterLink {
            endpoint,
            key,
            client,
        }
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Sends one change; `Ok` only once the register acknowledged this change.
    pub async fn send(&self, payload: &serde_json::Value) -> Result<(), String> {
        let change: DocumentChange = serde_json::from_value(payload.clone())
            .map_err(|e| format!("bad document change: {e}"))?;
        let body = serde_json::to_vec(&change).map_err(|e| e.to_string())?;
        let answer = self
            .client
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, sign(&self.key, &body))
            .body(body)
            .send()
            .await
            .map_err(|e| format!("the population register is unreachable: {e}"))?;
        let status = answer.status();
        let bytes = answer
            .bytes()
            .await
            .map_err(|e| format!("the population register's answer broke off: {e}"))?;
        if !status.is_success() {
            return Err(format!("the population register answered {status}"));
        }
        match serde_json::from_slice::<Acknowledgement>(&bytes) {
            Ok(ack) if ack.acknowledged == change.change_id => Ok(()),
            _ => Err("the population register did not acknowledge the change".into()),
        }
    }
}

/// The population register's side, simulated: it checks the signature and keeps the
/// changes it acknowledged (by change id: a repeat is acknowledged, not kept twice) — the
/// newest [`SimulatedRegister::KEPT`], so a long-running service does not grow with it.
pub struct SimulatedRegister {
    key: Vec<u8>,
    changes: Mutex<HashMap<Uuid, DocumentChange>>,
    available: AtomicBool,
}

impl SimulatedRegister {
    /// Starts the simulator on a free loopback port; returns it and its endpoint URL. It
    /// serves until the runtime stops.
    pub async fn start(key: Vec<u8>) -> std::io::Result<(Arc<SimulatedRegister>, String)> {
        let register = Arc::new(SimulatedRegister {
            key,
            changes: Mutex::new(HashMap::new()),
            available: AtomicBool::new(true),
        });
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let endpoint = format!("http://{}{PATH}", listener.local_addr()?);
        let app = Router::new()
            .route(PATH, post(receive))
            .with_state(register.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!(error = %e, "the simulated population register stopped");
            }
        });
        Ok((register, endpoint))
    }

    /// How many acknowledged changes the simulator keeps (the oldest go first).
    pub const KEPT: usize = 10_000;

    /// Whether the simulator answers (off: `503`, as a register down for maintenance).
    pub fn set_available(&self, available: bool) {
        self.available.store(available, Ordering::SeqCst);
    }

    /// Every change acknowledged so far, oldest first.
    pub fn changes(&self) -> Vec<DocumentChange> {
        let mut all: Vec<DocumentChange> = self
            .changes
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by_key(|c| c.change_id);
        all
    }
}

fn refusal(status: StatusCode, reason: &str) -> Response {
    (status, Json(json!({ "error": reason }))).into_response()
}

async fn receive(
    State(register): State<Arc<SimulatedRegister>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !register.available.load(Ordering::SeqCst) {
        return refusal(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
    }
    let signature = headers
        .get(SIGNATURE_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !verify(&register.key, &body, signature) {
        return refusal(StatusCode::UNAUTHORIZED, "bad_signature");
    }
    let Ok(change) = serde_json::from_slice::<DocumentChange>(&body) else {
        return refusal(StatusCode::BAD_REQUEST, "bad_change");
    };
    let id = change.change_id;
    if let Ok(mut changes) = register.changes.lock() {
        if changes.len() >= SimulatedRegister::KEPT && !changes.contains_key(&id) {
            // Change ids are UUIDv7: the smallest is the oldest.
            if let Some(oldest) = changes.keys().min().copied() {
                changes.remove(&oldest);
            }
        }
        changes.entry(id).or_insert(change);
    }
    Json(json!({ "acknowledged": id })).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change() -> serde_json::Value {
        let holder: Iin = "900515301234".parse().unwrap();
        let old = kuelik_core::register::RegisteredDocument {
            kind: kuelik_core::document::DocumentKind::IdentityCard,
            number: "016543210".into(),
            issued_on: "2016-12-20".parse().unwrap(),
            last_valid_day: "2026-12-19".parse().unwrap(),
        };
        let record = DocumentRecord::from_register(holder, &old);
        serde_json::to_value(DocumentChange {
            change_id: Uuid::now_v7(),
            holder,
            at: "2026-12-05T06:00:00Z".parse().unwrap(),
            issued: record.clone(),
            invalidated: record,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn the_register_acknowledges_a_signed_change_once_and_refuses_a_forged_one() {
        let (register, endpoint) = SimulatedRegister::start(b"register key".to_vec())
            .await
            .unwrap();
        let link = RegisterLink::new(endpoint.clone(), b"register key".to_vec());
        let payload = change();
        link.send(&payload).await.unwrap();
        link.send(&payload).await.unwrap();
        assert_eq!(register.changes().len(), 1, "a repeat is kept once");

        let forger = RegisterLink::new(endpoint.clone(), b"another key".to_vec());
        let refused = forger.send(&change()).await.unwrap_err();
        assert!(refused.contains("401"), "{refused}");

        register.set_available(false);
        let down = link.send(&change()).await.unwrap_err();
        assert!(down.contains("503"), "{down}");
        assert_eq!(register.changes().len(), 1);

        let nowhere = RegisterLink::new("http://127.0.0.1:9/v1".into(), b"k".to_vec());
        assert!(nowhere.send(&payload).await.is_err());
    }
}
