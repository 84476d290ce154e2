//! kuelik-server: the HTTP service.
//!
//! Request → authenticate and parse into domain types (here) → the core decides (pure) →
//! the store persists the change, its event, its audit entry and its outbox messages in one
//! transaction → workers deliver notifications and refunds afterwards. Handlers never
//! decide a rule themselves and never write SQL.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::net::SocketAddr;
use std::ops::Deref;
use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Json, Router};
use tower_http::set_header::SetResponseHeaderLayer;

use kuelik_core::calendar::WorkingCalendar;
use kuelik_core::fees::MrpTable;
use kuelik_core::region::{Regions, RegistrationPoints};
use kuelik_core::rules::RuleBook;
use kuelik_store::Store;

pub mod api;
pub mod app;
pub mod approvals;
pub mod audit_chain;
pub mod auth;
pub mod checks;
pub mod clock;
pub mod demo;
pub mod error;
pub mod extract;
pub mod gateway;
pub mod history_archive;
pub mod live_rules;
pub mod metrics;
pub mod notify;
pub mod ocsp;
pub mod openapi;
pub mod portal;
pub mod register;
pub mod register_sync;
pub mod reminders;
pub mod workers;

use clock::Clock;
use error::{ApiError, ErrorCode};
use gateway::PaymentGateway;
use notify::{DevInbox, Sender};

/// Keys the server signs and hashes with. Never logged, never returned.
#[derive(Clone)]
pub struct Secrets {
    /// Keys the one-time-code hashes (a stolen table cannot be brute-forced offline).
    pub otp_key: [u8; 32],
    /// Shared with the payment gateway: signs its callbacks (HMAC-SHA256).
    pub gateway_key: Vec<u8>,
    /// Shared with the population register: signs the document changes sent to it
    /// (HMAC-SHA256).
    pub register_key: Vec<u8>,
    /// Signs the audit log's checkpoints (ECDSA P-256). Every instance on one database uses
    /// the same key.
    pub audit_key: kuelik_trust::ServerKey,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(…)")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Demo mode: one-time codes are readable at `/dev/inbox`. Never in production.
    pub demo: bool,
    /// Whether cookies get the `Secure` flag. On by default: browsers accept it on
    /// `http://localhost` and production runs behind TLS.
    pub secure_cookies: bool,
    /// Largest photo or signature upload, in bytes.
    pub max_upload_bytes: usize,
    /// Largest JSON body, in bytes.
    pub max_json_bytes: usize,
    /// Days after an application finished (issued, annulled, withdrawn) before its photo and
    /// signature are deleted; 0 keeps them forever.
    pub retention_days: u32,
    /// The CA certificates officers' signatures must chain to, with the revocations; `None`
    /// (not configured) refuses every approval with `no_trust_anchors`.
    pub trust: Option<kuelik_trust::TrustStore>,
    /// Where document changes go to the national population register (the whole URL);
    /// `None` starts the simulated register on a loopback port.
    pub register_url: Option<String>,
    /// A file outside the database that keeps the newest signed audit checkpoint, so that
    /// `kuelik audit verify` notices the database being put back to an earlier copy.
    pub audit_witness: Option<std::path::PathBuf>,
    /// Where the newest signed audit checkpoint is also published (an HTTP `POST` of its
    /// JSON, through the outbox), as transparency logs publish their heads; `None`: nowhere.
    pub audit_witness_url: Option<String>,
    /// What an officer's certificate must say when the account is bound to a person (IIN):
    /// the УМС's BIN, the key usages, the signing policies (docs/OPERATIONS.md).
    pub officer_signer: kuelik_trust::SignerProfile,
    /// Whether officers may sign with the key the service keeps sealed under their PIN. An
    /// administrator switches it off once every officer signs with their own ЭЦП (NCALayer).
    pub pin_signing: bool,
    /// Where the officer's browser finds NCALayer, the national signing client.
    pub ncalayer_url: String,
    /// The OCSP responder to ask about signers' certificates; `None`: the one each
    /// certificate names (authorityInfoAccess), or none (the CRL alone).
    pub ocsp_url: Option<String>,
    pub secrets: Secrets,
}

/// Where NCALayer listens on every officer's computer.
pub const NCALAYER_URL: &str = "wss://127.0.0.1:13579";

impl Config {
    pub fn new(secrets: Secrets) -> Config {
        Config {
            demo: false,
            secure_cookies: true,
            max_upload_bytes: 5 * 1024 * 1024,
            max_json_bytes: 64 * 1024,
            retention_days: 365,
            trust: None,
            register_url: None,
            audit_witness: None,
            audit_witness_url: None,
            officer_signer: kuelik_trust::SignerProfile::officer(None),
            pin_signing: true,
            ncalayer_url: NCALAYER_URL.to_string(),
            ocsp_url: None,
            secrets,
        }
    }
}

/// Everything a request handler may use.
pub struct Services {
    pub store: Arc<dyn Store>,
    /// Facts about people come from here, never from what a user types.
    pub register: Arc<dyn register::PopulationRegister>,
    pub clock: Arc<dyn Clock>,
    /// The rule book in force (configured sets plus the administrators' activations).
    pub rules: live_rules::LiveRules,
    pub calendar: WorkingCalendar,
    pub mrp: MrpTable,
    pub regions: Regions,
    pub points: RegistrationPoints,
    pub gateway: Arc<dyn PaymentGateway>,
    /// The built-in gateway simulator, when it is the gateway (demo, tests).
    pub simulator: Option<Arc<gateway::SimulatedGateway>>,
    /// Its callbacks, taken by the worker that handles them.
    pub sim_callbacks: std::sync::Mutex<Option<gateway::CallbackReceiver>>,
    pub sender: Arc<dyn Sender>,
    pub dev_inbox: Option<DevInbox>,
    /// Thresholds of the automatic photo and signature checks.
    pub image_profile: kuelik_media::Profile,
    pub config: Config,
    /// Wakes the outbox worker when a commit queued messages (it also polls).
    pub outbox_wakeup: tokio::sync::Notify,
    /// When the outbox worker last went round its loop (Unix seconds; 0 = not started), so
    /// `/readyz` can tell a stalled or dead worker from an idle one.
    pub outbox_heartbeat: std::sync::atomic::AtomicI64,
    /// Where document changes are sent (set when the server starts; until then they wait
    /// in the outbox).
    pub register_link: std::sync::OnceLock<register_sync::RegisterLink>,
    /// The built-in register simulator, when it is the endpoint (demo, tests).
    pub simulated_register: std::sync::OnceLock<Arc<register_sync::SimulatedRegister>>,
    /// How often each client has asked the public document-validity check lately.
    pub validity_checks: api::documents::ClientLimiter,
    /// Asks OCSP whether signers' certificates are revoked (answers cached).
    pub ocsp: ocsp::OcspClient,
}

impl Services {
    pub fn wake_outbox(&self) {
        self.outbox_wakeup.notify_one();
    }
}

#[derive(Clone)]
pub struct AppState(pub Arc<Services>);

impl Deref for AppState {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

async fn healthz() -> &'static str {
    "ok"
}

/// The outbox worker goes round at least every second; a minute without a round means it is
/// stuck or gone.
const WORKER_STALL_SECS: i64 = 60;

async fn readyz(State(state): State<AppState>) -> Response {
    let backlog = match state.store.outbox_backlog().await {
        Ok(backlog) => backlog,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let beat = state
        .outbox_heartbeat
        .load(std::sync::atomic::Ordering::Relaxed);
    let age = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64 - beat)
        .unwrap_or(i64::MAX);
    if beat == 0 || age > WORKER_STALL_SECS {
        return ApiError::plain(
            ErrorCode::WorkersNotRunning,
            "the background workers are not running",
        )
        .into_response();
    }
    Json(serde_json::json!({
        "status": "ready",
        "database": state.store.backend(),
        "workers": "running",
        "outbox_backlog": backlog,
    }))
    .into_response()
}

async fn fallback() -> ApiError {
    ApiError::not_found()
}

async fn method_not_allowed() -> ApiError {
    ApiError::of(ErrorCode::MethodNotAllowed)
}

/// A panic is a bug; if one happens anyway the client gets a problem answer, not a cut
/// connection, and the log gets the place (without request data).
fn panic_answer(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::plain(ErrorCode::InternalError, "an internal error occurred").into_response()
}

/// `Strict-Transport-Security` on answers to requests that reached the TLS proxy over HTTPS
/// (`X-Forwarded-Proto: https`), when the service is deployed behind TLS (`secure_cookies`,
/// on by default). Browsers ignore the header over plain HTTP, and a local
/// `http://localhost` is never pinned to HTTPS.
async fn hsts(
    State(state): State<AppState>,
    request: axum::extract::Request,
    next: middleware::Next,
) -> Response {
    let https = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"));
    let mut response = next.run(request).await;
    if https && state.config.secure_cookies {
        response.headers_mut().insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    response
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = openapi::api_router().split_for_parts();
    let openapi = openapi::contract(openapi);
    let openapi_json = openapi.clone();
    let upload_limit = state.config.max_upload_bytes + 64 * 1024;
    // The portal's pages call the API in-process, on the same routes and state.
    let api_service: Router = Router::new()
        .nest("/api/v1", api.clone())
        .with_state(state.clone());
    let mut app = Router::new()
        .nest("/api/v1", api)
        .merge(portal::routes(api_service))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics::render))
        .route(
            "/api/openapi.json",
            get(move || {
                let doc = openapi_json.clone();
                async move { Json(doc) }
            }),
        )
        .merge(
            utoipa_swagger_ui::SwaggerUi::new("/api/docs")
                .config(utoipa_swagger_ui::Config::from("/api/openapi.json")),
        )
        .merge(gateway::simulator_routes());
    if state.config.demo {
        app = app.merge(notify::dev_inbox_routes());
    }
    metrics::init();
    let request_id = HeaderName::from_static("x-request-id");
    app.fallback(fallback)
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(middleware::from_fn(metrics::track))
        // Uploads are the largest bodies; JSON handlers cap themselves lower.
        .layer(DefaultBodyLimit::max(upload_limit))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            panic_answer,
        ))
        .layer(middleware::from_fn(error::localize))
        // Each request gets an id (or keeps the caller's), echoed in the answer and carried
        // by its log lines; the span names the method, never the raw path (ids, tickets).
        .layer(tower_http::request_id::PropagateRequestIdLayer::new(
            request_id.clone(),
        ))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<axum::body::Body>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!("request", id = %id, method = %req.method())
                },
            ),
        )
        .layer(tower_http::request_id::SetRequestIdLayer::new(
            request_id,
            tower_http::request_id::MakeRequestUuid,
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("no-referrer"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(middleware::from_fn_with_state(state.clone(), hsts))
        .with_state(state)
}

/// Tunes glibc's malloc for a long-running server. Caps its arenas at two (unless
/// `MALLOC_ARENA_MAX` is set): glibc gives each thread that allocates under contention an
/// arena of its own — up to eight per core — and keeps freed memory in each; under the peak-day load that was ≈ 45 % of the server's peak
/// RSS (289 MiB with the default, 160 MiB with two arenas, at the same throughput: see
/// docs/PERFORMANCE.md).
///
/// Also fixes the size from which an allocation gets pages of its own at 128 KiB (unless
/// `MALLOC_MMAP_THRESHOLD_` is set): uploads, decoded images and image bytes then go back to
/// the system when freed. glibc otherwise raises that size after the first such buffer is
/// freed, and the next buffers land in the arenas, whose freed memory stays in the process.
/// Call first thing in `main`, before any thread starts.
pub fn tune_malloc() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: mallopt only tunes the allocator; called before other threads exist.
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            unsafe {
                libc::mallopt(libc::M_ARENA_MAX, 2);
            }
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
            }
        }
    }
}

/// Serves until `shutdown` resolves; background workers stop with it.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    // Decide with the administrators' activations from the first request on.
    if let Err(e) = live_rules::reload(&state).await {
        tracing::error!(error = %e, "cannot read the rule-set activations; using the configured rules");
    }
    start_register_link(&state).await?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let workers = workers::spawn(state.clone(), stop_rx);
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await;
    let _ = stop_tx.send(true);
    for w in workers {
        let _ = w.await;
    }
    result
}

/// Connects the register link: the configured register, or the simulator started here.
/// `serve` does it; a tool that runs the outbox worker by hand calls it first.
pub async fn start_register_link(state: &AppState) -> std::io::Result<()> {
    if state.register_link.get().is_some() {
        return Ok(());
    }
    let key = state.config.secrets.register_key.clone();
    let endpoint = match &state.config.register_url {
        Some(url) => url.clone(),
        None => {
            let (simulator, endpoint) =
                register_sync::SimulatedRegister::start(key.clone()).await?;
            let _ = state.simulated_register.set(simulator);
            endpoint
        }
    };
    tracing::info!(%endpoint, "document changes go to the population register here");
    let _ = state
        .register_link
        .set(register_sync::RegisterLink::new(endpoint, key));
    Ok(())
}

/// Assembles the services: the simulated payment gateway (the only one built in so far),
/// the log SMS sender (plus the dev inbox in demo mode), and the reference data.
pub fn app_state(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    rules: RuleBook,
    config: Config,
) -> AppState {
    let (simulator, callbacks) = gateway::SimulatedGateway::new(config.secrets.gateway_key.clone());
    let log: Arc<dyn Sender> = Arc::new(notify::LogSender);
    let dev_inbox = config.demo.then(DevInbox::default);
    let sender: Arc<dyn Sender> = match &dev_inbox {
        Some(inbox) => Arc::new(notify::DevSender {
            inbox: inbox.clone(),
            inner: log,
        }),
        None => log,
    };
    let regions = Regions::builtin();
    let points = RegistrationPoints::builtin(&regions);
    AppState(Arc::new(Services {
        register: Arc::new(register::LocalRegister(store.clone())),
        store,
        clock,
        rules: live_rules::LiveRules::new(rules),
        calendar: WorkingCalendar::builtin(),
        mrp: MrpTable::builtin(),
        regions,
        points,
        gateway: simulator.clone(),
        simulator: Some(simulator),
        sim_callbacks: std::sync::Mutex::new(Some(callbacks)),
        sender,
        dev_inbox,
        image_profile: kuelik_media::Profile::default_profile(),
        outbox_wakeup: tokio::sync::Notify::new(),
        outbox_heartbeat: std::sync::atomic::AtomicI64::new(0),
        register_link: std::sync::OnceLock::new(),
        simulated_register: std::sync::OnceLock::new(),
        validity_checks: api::documents::ClientLimiter::default(),
        ocsp: ocsp::OcspClient::new(config.ocsp_url.clone()),
        config,
    }))
}
