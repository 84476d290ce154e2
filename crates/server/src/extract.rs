//! Request extractors whose rejections are problem+json answers (never axum's plain text).

use axum::extract::{FromRequest, FromRequestParts};
use axum::http::{header, HeaderMap};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;

/// Parses a JSON body: its media type, its size, an object, the right types. The one parser of
/// every JSON body (handlers that also hash the raw body for idempotency call it by hand).
pub fn parse_json<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: &[u8],
    max: usize,
) -> ApiResult<T> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            let m = m.trim();
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::plain(
            ErrorCode::UnsupportedMediaType,
            "send the body as application/json",
        ));
    }
    if body.len() > max {
        return Err(ApiError::plain(
            ErrorCode::BodyTooLarge,
            format!("the body is over {max} bytes"),
        ));
    }
    // Every body of this API is a JSON object. Deserializing a struct straight from the
    // bytes would also take an array for it, field by field in order: refused here first.
    let invalid = |detail: String| ApiError::plain(ErrorCode::InvalidBody, detail);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(ApiError::plain(
                ErrorCode::MalformedJson,
                "the body is empty",
            ))
        }
        Some(b'{') => {}
        Some(_) => return Err(invalid("the body must be a JSON object".into())),
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    match T::deserialize(&mut de).and_then(|value| de.end().map(|()| value)) {
        Ok(value) => Ok(value),
        // A wrong type, a missing or unknown field: the wrong shape, 422.
        Err(e) if e.is_data() => Err(invalid(e.to_string())),
        // serde reports some wrong types (a number where an enum's name belongs) as syntax:
        // the body is malformed only if it is not JSON at all.
        Err(e) => match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Ok(_) => Err(invalid(e.to_string())),
            Err(_) => Err(ApiError::plain(ErrorCode::MalformedJson, e.to_string())),
        },
    }
}

/// A JSON body (`Content-Type: application/json`) of at most `max_json_bytes` (the router's
/// own cap is the upload size, far larger), parsed as the handlers that hash their body do.
/// For anonymous routes; a route for a role takes a [`JsonBody`] and parses it after the
/// role check.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        // Reading stops at the limit: a larger body is never buffered whole.
        JsonBody::from_request(req, state)
            .await?
            .parse()
            .map(ApiJson)
    }
}

/// A JSON body read (at most `max_json_bytes`) but not yet parsed: a handler that checks the
/// caller's role parses it after that check, so a caller without the role hears 403 whatever
/// the body, never a complaint about a body it may not send at all.
pub struct JsonBody {
    headers: axum::http::HeaderMap,
    bytes: axum::body::Bytes,
    max: usize,
}

impl JsonBody {
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        parse_json(&self.headers, &self.bytes, self.max)
    }
}

impl FromRequest<AppState> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Self, ApiError> {
        let max = state.config.max_json_bytes;
        let (parts, body) = req.into_parts();
        let bytes = axum::body::to_bytes(body, max).await.map_err(|_| {
            ApiError::plain(
                ErrorCode::BodyTooLarge,
                format!("the body is over {max} bytes"),
            )
        })?;
        Ok(JsonBody {
            headers: parts.headers,
            bytes,
            max,
        })
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
            ErrorCode::UnsupportedMediaType,
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
