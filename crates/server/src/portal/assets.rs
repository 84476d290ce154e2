//! The portal's stylesheet and script, compiled in and served by kuelik itself (no CDN).

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::extract::ApiPath;

const FILES: &[(&str, &str, &str)] = &[
    (
        "portal.css",
        "text/css; charset=utf-8",
        include_str!("../../portal/static/portal.css"),
    ),
    (
        "portal.js",
        "text/javascript; charset=utf-8",
        include_str!("../../portal/static/portal.js"),
    ),
    (
        "ncalayer.js",
        "text/javascript; charset=utf-8",
        include_str!("../../portal/static/ncalayer.js"),
    ),
];

pub async fn serve(ApiPath(file): ApiPath<String>) -> Response {
    match FILES.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => {
            let mut response = (StatusCode::OK, *body).into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
            // Assets change only with a new release; an hour is enough between releases.
            h.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            response
        }
        None => crate::error::ApiError::not_found().into_response(),
    }
}
