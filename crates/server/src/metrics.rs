//! Prometheus metrics at `/metrics`: request rates and latencies per route, and — read from
//! the database at scrape time, so every instance reports the same truth — applications per
//! region and state, outbox backlog and refunds outstanding.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use kuelik_store::PaymentStatus;

use crate::error::ApiError;
use crate::AppState;

/// The process-wide recorder (one per process, however many servers a test starts).
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Installs the recorder early, so the first requests are counted.
pub fn init() {
    let _ = handle();
}

/// Middleware: counts each request by method, route template (never the raw path: it may
/// hold ids and ticket numbers) and status, and records its latency.
pub async fn track(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().as_str().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("kuelik_http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("kuelik_http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render(State(state): State<AppState>) -> Response {
    let Some(handle) = handle() else {
        return ApiError::not_found().into_response();
    };
    match state.store.application_counts().await {
        Ok(counts) => {
            for c in counts {
                metrics::gauge!("kuelik_applications", "region" => c.region.to_string(), "state" => c.state.as_str())
                    .set(c.count as f64);
            }
        }
        Err(e) => return ApiError::from(e).into_response(),
    }
    if let Ok(pending) = state.store.audit_pending_count().await {
        metrics::gauge!("kuelik_audit_sequencer_lag").set(pending as f64);
    }
    if let Ok(backlog) = state.store.outbox_backlog().await {
        metrics::gauge!("kuelik_outbox_backlog").set(backlog as f64);
    }
    if let Ok(n) = state
        .store
        .payments_count(PaymentStatus::RefundPending)
        .await
    {
        metrics::gauge!("kuelik_refunds_outstanding").set(n as f64);
    }
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}
