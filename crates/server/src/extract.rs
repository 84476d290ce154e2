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
