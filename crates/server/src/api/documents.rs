//! The public document-validity check (peers: Estonia's document validity check, the Russian
//! MVD list of invalid passports): anyone — a bank, a notary, an employer — asks whether an
//! identity document may be relied on, and learns only `valid`, `invalid` (with the reason:
//! `replaced`, `reported_lost`, `expired`) or `unknown`. No name, no IIN, no dates: the
//! answer tells nothing about the holder.
//!
//! Every check is audited (what was asked, the answer, the client's address) and each client
//! may ask [`CHECKS_PER_WINDOW`] times per [`WINDOW`], so the check cannot be used to walk
//! the number space.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use kuelik_core::document::{DocumentKind, DocumentNumber, DocumentStatus};
use kuelik_core::lifecycle::Actor;
use kuelik_core::messages;
use kuelik_core::time::almaty_date;
use kuelik_store::Changes;

use crate::api::views::Text;
use crate::app::audit;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{parse_json, ClientAddr};
use crate::AppState;

/// Checks one client may make per [`WINDOW`].
pub const CHECKS_PER_WINDOW: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(10 * 60);
/// Clients remembered at most; past that the oldest windows are forgotten first.
const CLIENTS_KEPT: usize = 100_000;

/// How often each client asked lately (per instance: each instance limits on its own).
#[derive(Default)]
pub struct ClientLimiter(Mutex<HashMap<Option<IpAddr>, (Instant, u32)>>);

impl ClientLimiter {
    /// Counts one check by `client`; `Err(wait)` when its window is used up.
    pub fn take(&self, client: Option<IpAddr>, now: Instant) -> Result<(), Duration> {
        let Ok(mut clients) = self.0.lock() else {
            return Ok(());
        };
        if clients.len() >= CLIENTS_KEPT {
            clients.retain(|_, (start, _)| now.duration_since(*start) < WINDOW);
        }
        let entry = clients.entry(client).or_insert((now, 0));
        if now.duration_since(entry.0) >= WINDOW {
            *entry = (now, 0);
        }
        if entry.1 >= CHECKS_PER_WINDOW {
            return Err(WINDOW.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValidityQuestion {
    /// `identity-card` or `passport`.
    #[schema(pattern = "^(identity-card|passport)$")]
    pub kind: String,
    /// Identity card: 9 digits; passport: N and 8 digits.
    #[schema(pattern = "^([0-9]{9}|[Nn][0-9]{8})$")]
    pub number: String,
}

/// The answer: nothing about the holder.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidityAnswer {
    /// `valid`, `invalid` or `unknown`.
    pub status: String,
    /// When invalid: `replaced`, `reported_lost` or `expired`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub message: Text,
}

impl ValidityAnswer {
    fn of(status: Option<DocumentStatus>) -> ValidityAnswer {
        match status {
            Some(status) => ValidityAnswer {
                status: status.as_str().into(),
                reason: status.reason().map(|r| r.as_str().into()),
                message: messages::document_status(status).into(),
            },
            None => ValidityAnswer {
                status: "unknown".into(),
                reason: None,
                message: messages::document_unknown().into(),
            },
        }
    }
}

/// Is this identity document valid? Answers only `valid`, `invalid` (with the reason) or
/// `unknown`; no personal data. Anonymous; at most 20 checks per client in 10 minutes.
#[utoipa::path(post, path = "/documents/validity", tag = "public", request_body = ValidityQuestion,
    responses((status = 200, body = ValidityAnswer),
        (status = 422, description = "unknown kind, or a number not in the kind's format"),
        (status = 429, description = "too many checks from this client: try again after Retry-After seconds")))]
pub async fn validity(
    State(state): State<AppState>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    if let Err(wait) = state.validity_checks.take(client, Instant::now()) {
        let mut response = ApiError::of(ErrorCode::TooManyChecks).into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(response);
    }
    let q: ValidityQuestion = parse_json(&headers, &body, state.config.max_json_bytes)?;
    let kind: DocumentKind = q
        .kind
        .parse()
        .map_err(|_| ApiError::of(ErrorCode::UnknownDocumentKind))?;
    let number = DocumentNumber::parse(kind, &q.number)
        .map_err(|_| ApiError::of(ErrorCode::BadDocumentNumber))?;
    let now = state.clock.now();
    let status = state
        .register
        .document(kind, number.as_str())
        .await?
        .map(|record| record.status_on(almaty_date(now)));
    let answer = ValidityAnswer::of(status);
    state
        .store
        .commit(Changes {
            audit: vec![audit(
                &Actor::System,
                now,
                "document.validity_checked",
                None,
                json!({
                    "kind": kind.as_str(),
                    "number": number.as_str(),
                    "answer": answer.status,
                    "reason": answer.reason,
                    "client": client.map(|ip| ip.to_string()),
                }),
            )],
            ..Changes::default()
        })
        .await?;
    Ok(Json(answer).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_client_gets_its_own_window() {
        let limiter = ClientLimiter::default();
        let t0 = Instant::now();
        let a = Some(IpAddr::from([127, 0, 0, 1]));
        let b = Some(IpAddr::from([127, 0, 0, 2]));
        for _ in 0..CHECKS_PER_WINDOW {
            assert_eq!(limiter.take(a, t0), Ok(()));
        }
        let wait = limiter.take(a, t0 + Duration::from_secs(60)).unwrap_err();
        assert_eq!(wait, WINDOW - Duration::from_secs(60));
        assert_eq!(
            limiter.take(b, t0),
            Ok(()),
            "another client is not held back"
        );
        assert_eq!(limiter.take(a, t0 + WINDOW), Ok(()), "a new window");
    }
}
