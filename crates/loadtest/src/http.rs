//! The client side: every request goes through [`Api::send`], which times it to the last
//! byte of the answer and files it under its route template (`PUT
//! /api/v1/applications/{id}/photo`), so the report can give latencies per endpoint and
//! errors per endpoint and status.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::RequestBuilder;

/// Status recorded for a request that got no HTTP answer (refused, reset, timed out).
pub const TRANSPORT: u16 = 0;

#[derive(Default)]
struct Route {
    /// Latency of every request, in microseconds.
    micros: Vec<u32>,
    /// Unexpected answers by status, with the first answer's body as a sample.
    errors: BTreeMap<u16, (u64, String)>,
    /// Answers the scenario expects now and then (a lost race) and does not count as errors.
    tolerated: BTreeMap<u16, u64>,
}

/// What one phase (the day, or one ceiling) saw.
#[derive(Default)]
pub struct Recorder {
    routes: Mutex<BTreeMap<&'static str, Route>>,
}

/// Latencies of one route, in milliseconds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RouteLatency {
    pub route: String,
    pub count: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct ErrorCount {
    pub route: String,
    /// The HTTP status; 0 when no answer came (connection refused, reset, timeout).
    pub status: u16,
    pub count: u64,
    /// The first such answer's body (truncated), to say why.
    pub sample: String,
}

/// The value below which `q` of the sorted samples lie (nearest rank).
pub fn quantile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    f64::from(sorted[rank - 1]) / 1000.0
}

impl Recorder {
    fn with_route(&self, route: &'static str, f: impl FnOnce(&mut Route)) {
        if let Ok(mut routes) = self.routes.lock() {
            f(routes.entry(route).or_default());
        }
    }

    fn time(&self, route: &'static str, took: Duration) {
        let micros = u32::try_from(took.as_micros()).unwrap_or(u32::MAX);
        self.with_route(route, |r| r.micros.push(micros));
    }

    fn error(&self, route: &'static str, status: u16, body: &str) {
        self.with_route(route, |r| {
            let e = r
                .errors
                .entry(status)
                .or_insert_with(|| (0, body.chars().take(300).collect()));
            e.0 += 1;
        });
    }

    fn tolerate(&self, route: &'static str, status: u16) {
        self.with_route(route, |r| *r.tolerated.entry(status).or_default() += 1);
    }

    /// Per-route latencies, slowest p99 first.
    pub fn latencies(&self) -> Vec<RouteLatency> {
        let Ok(routes) = self.routes.lock() else {
            return Vec::new();
        };
        let mut out: Vec<RouteLatency> = routes
            .iter()
            .filter(|(_, r)| !r.micros.is_empty())
            .map(|(name, r)| {
                let mut sorted = r.micros.clone();
                sorted.sort_unstable();
                RouteLatency {
                    route: (*name).to_string(),
                    count: sorted.len(),
                    p50_ms: quantile(&sorted, 0.50),
                    p95_ms: quantile(&sorted, 0.95),
                    p99_ms: quantile(&sorted, 0.99),
                    max_ms: quantile(&sorted, 1.0),
                }
            })
            .collect();
        out.sort_by(|a, b| b.p99_ms.total_cmp(&a.p99_ms));
        out
    }

    /// Every request of the phase together.
    pub fn overall(&self) -> RouteLatency {
        let mut all: Vec<u32> = self
            .routes
            .lock()
            .map(|routes| routes.values().flat_map(|r| r.micros.clone()).collect())
            .unwrap_or_default();
        all.sort_unstable();
        RouteLatency {
            route: "all requests".into(),
            count: all.len(),
            p50_ms: quantile(&all, 0.50),
            p95_ms: quantile(&all, 0.95),
            p99_ms: quantile(&all, 0.99),
            max_ms: quantile(&all, 1.0),
        }
    }

    pub fn errors(&self) -> Vec<ErrorCount> {
        let Ok(routes) = self.routes.lock() else {
            return Vec::new();
        };
        routes
            .iter()
            .flat_map(|(name, r)| {
                r.errors.iter().map(|(status, (count, sample))| ErrorCount {
                    route: (*name).to_string(),
                    status: *status,
                    count: *count,
                    sample: sample.clone(),
                })
            })
            .collect()
    }

    pub fn tolerated(&self) -> Vec<ErrorCount> {
        let Ok(routes) = self.routes.lock() else {
            return Vec::new();
        };
        routes
            .iter()
            .flat_map(|(name, r)| {
                r.tolerated.iter().map(|(status, count)| ErrorCount {
                    route: (*name).to_string(),
                    status: *status,
                    count: *count,
                    sample: String::new(),
                })
            })
            .collect()
    }

    pub fn error_total(&self) -> u64 {
        self.errors().iter().map(|e| e.count).sum()
    }
}

/// An answer the caller expected.
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    /// A string field of the JSON answer.
    pub fn field(&self, name: &str) -> Option<String> {
        self.json()
            .get(name)
            .and_then(|v| v.as_str())
            .map(str::to_string)
    }
}

/// Why a request did not give an expected answer.
#[derive(Debug)]
pub enum Failure {
    /// An answer the scenario allows (a race lost to another worker); not an error.
    Tolerated(u16),
    /// Anything else: recorded as an error of the route.
    Unexpected { status: u16, body: String },
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Tolerated(s) => write!(f, "tolerated status {s}"),
            Failure::Unexpected { status, body } => write!(f, "status {status}: {body}"),
        }
    }
}

/// A client bound to one server and one recorder.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub recorder: Arc<Recorder>,
}

impl Api {
    pub fn new(client: reqwest::Client, base: &str, recorder: Arc<Recorder>) -> Api {
        Api {
            client,
            base: base.trim_end_matches('/').to_string(),
            recorder,
        }
    }

    /// The same server and connections, another recorder.
    pub fn recording_to(&self, recorder: Arc<Recorder>) -> Api {
        Api {
            recorder,
            ..self.clone()
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// Sends `request`, filed under `route`; `ok` are the statuses the step expects,
    /// `tolerated` those it allows without counting an error.
    pub async fn send(
        &self,
        route: &'static str,
        request: RequestBuilder,
        ok: &[u16],
        tolerated: &[u16],
    ) -> Result<Reply, Failure> {
        let started = Instant::now();
        let answer = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                response.bytes().await.map(|b| (status, b.to_vec()))
            }
            Err(e) => Err(e),
        };
        self.recorder.time(route, started.elapsed());
        let (status, body) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let body = e.to_string();
                self.recorder.error(route, TRANSPORT, &body);
                return Err(Failure::Unexpected {
                    status: TRANSPORT,
                    body,
                });
            }
        };
        if ok.contains(&status) {
            Ok(Reply { status, body })
        } else if tolerated.contains(&status) {
            self.recorder.tolerate(route, status);
            Err(Failure::Tolerated(status))
        } else {
            let body = String::from_utf8_lossy(&body).into_owned();
            self.recorder.error(route, status, &body);
            Err(Failure::Unexpected { status, body })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<u32> = (1..=100).map(|ms| ms * 1000).collect();
        assert_eq!(quantile(&v, 0.5), 50.0);
        assert_eq!(quantile(&v, 0.99), 99.0);
        assert_eq!(quantile(&v, 1.0), 100.0);
        assert_eq!(quantile(&[], 0.5), 0.0);
    }
}
