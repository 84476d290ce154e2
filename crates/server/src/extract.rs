//! Request extractors whose rejections are problem+json answers (never axum's plain text).

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::AppState;

/// A JSON body (`Content-Type: application/json`) of at most `max_json_bytes` (the router's
/// own cap is the upload size, far larger), parsed as the handlers that hash their body do.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        let max = state.config.max_json_bytes;
        let (parts, body) = req.into_parts();
        // Reading stops at the limit: a larger body is never buffered whole.
        let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
            ApiError::plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body_too_large",
                format!("the body is over {max} bytes"),
            )
        })?;
        crate::api::citizen::parse_json(&parts.headers, &bytes, max).map(ApiJson)
    }
}

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

impl From<axum::extract::multipart::MultipartRejection> for ApiError {
    fn from(rejection: axum::extract::multipart::MultipartRejection) -> ApiError {
        ApiError::plain(
            axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the image as multipart/form-data: {}",
                rejection.body_text()
            ),
        )
    }
}

/// A `multipart/form-data` body.
pub struct ApiMultipart(pub axum::extract::Multipart);

impl<S: Send + Sync> FromRequest<S> for ApiMultipart {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        axum::extract::Multipart::from_request(req, state)
            .await
            .map(ApiMultipart)
            .map_err(ApiError::from)
    }
}

/// The client's address as the listener saw it (`None` when the request did not come over
/// a socket). The portal passes its browser's address on to the API calls it makes.
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}
