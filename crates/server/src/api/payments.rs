//! The payment gateway's callbacks: the duty arrived, failed, or was refunded (the use case
//! is `app::payment::record_callback`).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use crate::app::payment::record_callback;
use crate::error::ApiResult;
use crate::gateway::SIGNATURE_HEADER;
use crate::AppState;

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
    record_callback(&state, &body, signature).await?;
    Ok(StatusCode::NO_CONTENT)
}
