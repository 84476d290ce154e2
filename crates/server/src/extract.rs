//! Request extractors whose rejections are problem+json answers (never axum's plain text).

use axum::extract::{FromRequest, FromRequestParts};

use crate::error::ApiError;

/// A JSON body (`Content-Type: application/json`), size-capped by the router.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

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
