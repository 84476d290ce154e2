//! The server under load: the real `kuelik_server::serve` on a loopback port, on a fresh
//! database, set up the way the integration tests set it up (a test CA as the only trust
//! anchor, a clock in the pilot's period), with the SMS sender replaced by [`CodeBook`].
//!
//! It runs in the harness's own process, or — with a server executable — as a child process
//! of its own (`kuelik-loadtest serve-child`), so that the server's memory can be read alone
//! (`/proc/PID/status`). The child delivers one-time codes the way an SMS gateway would be
//! called: an HTTP POST to the harness, which feeds them to the same [`CodeBook`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

use kuelik_core::lifecycle::{Role, StaffId};
use kuelik_core::region::{PointId, RegionCode, Regions, RegistrationPoints};
use kuelik_core::register::Person;
use kuelik_core::rules::RuleBook;
use kuelik_server::clock::Clock;
use kuelik_server::{AppState, Config, Secrets};
use kuelik_store::{OfficerCredential, StaffAccount, Store};
use kuelik_trust::{DemoCa, KeyAlgorithm, OfficerCredentials, TrustStore, Validity};

use crate::codes::CodeBook;

/// Noon in Almaty on 15 October 2025: a working day inside the pilot's rule set (the rules
/// in force today, 2026, are only an assumption and off by default).
pub const DAY_STARTS: &str = "2025-10-15T07:00:00Z";
/// Every staff member's password.
pub const PASSWORD: &str = "load harness password";

/// The pilot day with time running: the server's "now" starts at [`DAY_STARTS`] and moves
/// with the wall clock, so code lifetimes, review timeouts and signing times behave as in
/// production.
pub struct RunningClock {
    start: Timestamp,
    started: Instant,
}

impl RunningClock {
    pub fn new(start: Timestamp) -> RunningClock {
        RunningClock {
            start,
            started: Instant::now(),
        }
    }
}

impl Clock for RunningClock {
    fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(self.started.elapsed()).unwrap_or_default();
        self.start.checked_add(elapsed).unwrap_or(self.start)
    }
}

/// A folder removed on drop.
pub struct TempDir(pub PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The running server and what the clients need from its side.
pub struct Server {
    pub base: String,
    /// The server's database, for setting up the day (people, staff, certificates).
    pub store: Arc<dyn Store>,
    pub regions: Regions,
    pub points: RegistrationPoints,
    pub codes: Arc<CodeBook>,
    pub clock: Arc<RunningClock>,
    pub ca: DemoCa,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// For the durability ceiling: where a scratch SQLite file may go, or the PostgreSQL URL.
    pub scratch: Scratch,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<()>>,
    /// The server's own process, when it runs in one.
    child: Option<std::process::Child>,
    _dir: Option<TempDir>,
}

/// Where the durability ceiling runs: beside the service's own database, with its settings.
pub enum Scratch {
    SqliteDir(PathBuf),
    Postgres(String),
}

impl Server {
    /// Opens a fresh database (a temp-dir SQLite file, or a new database on the PostgreSQL
    /// server `database_url` names) and serves on 127.0.0.1:0: in this process, or in a child
    /// process running `server_exe serve-child`.
    pub async fn start(
        database_url: Option<&str>,
        server_exe: Option<&std::path::Path>,
    ) -> Result<Server, String> {
        let dir =
            std::env::temp_dir().join(format!("kuelik-load-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let (url, scratch) = match database_url {
            None => {
                let url = format!("sqlite://{}", dir.join("kuelik.db").display());
                (url, Scratch::SqliteDir(dir.clone()))
            }
            Some(admin) => {
                let url = fresh_postgres_database(admin).await?;
                (url.clone(), Scratch::Postgres(url))
            }
        };
        let store = kuelik_store::open(&url)
            .await
            .map_err(|e| format!("cannot open the database {url}: {e}"))?;
        let backend = if url.starts_with("sqlite") {
            "sqlite"
        } else {
            "postgres"
        };
        let ca = DemoCa::generate("kuelik load CA").map_err(|e| e.to_string())?;
        let start: Timestamp = DAY_STARTS.parse().map_err(|e| format!("{e}"))?;
        let clock = Arc::new(RunningClock::new(start));
        let codes = Arc::new(CodeBook::default());
        let regions = Regions::builtin();
        let points = RegistrationPoints::builtin(&regions);
        let mut server = Server {
            base: String::new(),
            store: store.clone(),
            regions,
            points,
            codes: codes.clone(),
            clock: clock.clone(),
            ca,
            backend,
            scratch,
            stop: None,
            serving: None,
            child: None,
            _dir: Some(TempDir(dir.clone())),
        };
        match server_exe {
            None => {
                let state = server_state(store, clock, server.ca.cert_pem(), codes)?;
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .map_err(|e| format!("cannot listen on loopback: {e}"))?;
                let addr = listener.local_addr().map_err(|e| e.to_string())?;
                let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
                server.serving = Some(tokio::spawn(async move {
                    let stopped = async move {
                        let _ = stop_rx.await;
                    };
                    if let Err(e) = kuelik_server::serve(state, listener, stopped).await {
                        eprintln!("the server stopped: {e}");
                    }
                }));
                server.stop = Some(stop_tx);
                server.base = format!("http://{addr}");
            }
            Some(exe) => {
                // The store was opened here first, so the child finds the schema in place.
                drop(store);
                let ca_file = dir.join("ca.pem");
                std::fs::write(&ca_file, server.ca.cert_pem())
                    .map_err(|e| format!("cannot write {}: {e}", ca_file.display()))?;
                let (sms_url, receiving) = sms_receiver(codes).await?;
                server.serving = Some(receiving);
                let (child, base) = spawn_child(exe, &url, &ca_file, &sms_url)?;
                server.child = Some(child);
                server.base = base;
                server.store = kuelik_store::open(&url)
                    .await
                    .map_err(|e| format!("cannot open the database {url}: {e}"))?;
            }
        }
        Ok(server)
    }

    /// The server process's memory, when it runs in its own process.
    pub fn child_pid(&self) -> Option<u32> {
        self.child.as_ref().map(std::process::Child::id)
    }

    pub async fn add_people(&self, people: &[Person]) -> Result<(), String> {
        for chunk in people.chunks(5_000) {
            self.store
                .put_people(chunk)
                .await
                .map_err(|e| format!("cannot load the register: {e}"))?;
        }
        Ok(())
    }

    /// Creates a staff account; officers also get a certificate from the test CA bound to
    /// the account, and the credentials are returned for signing "on the device".
    pub async fn add_staff(
        &self,
        password_hash: &str,
        username: &str,
        role: Role,
        region: Option<RegionCode>,
        point: Option<PointId>,
    ) -> Result<Option<OfficerCredentials>, String> {
        let account = StaffAccount {
            id: StaffId(uuid::Uuid::now_v7()),
            username: username.into(),
            display_name: username.into(),
            password_hash: password_hash.into(),
            role,
            region,
            point,
            active: true,
            created_at: self.clock.now(),
            iin: None,
        };
        self.store
            .add_staff(&account)
            .await
            .map_err(|e| format!("cannot add {username}: {e}"))?;
        if role != Role::Officer {
            return Ok(None);
        }
        let validity = Validity::days_from(self.clock.now(), 365).map_err(|e| e.to_string())?;
        let creds = self
            .ca
            .issue_officer(username, KeyAlgorithm::EcdsaP256, validity)
            .map_err(|e| e.to_string())?;
        self.store
            .put_officer_credential(&OfficerCredential {
                staff: account.id,
                fingerprint: creds.sha256_fingerprint.clone(),
                certificate: creds.cert_der.clone(),
                // Signed on the device only: the service keeps no key.
                sealed_key: None,
                bound_at: self.clock.now(),
            })
            .await
            .map_err(|e| format!("cannot bind {username}'s certificate: {e}"))?;
        Ok(Some(creds))
    }

    /// Stops serving and waits for the workers (or the server process) to stop.
    pub async fn stop(mut self) {
        if let Some(mut child) = self.child.take() {
            // Closing its stdin is the child's signal to shut down gracefully.
            drop(child.stdin.take());
            let _ = tokio::task::spawn_blocking(move || child.wait()).await;
        }
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            serving.abort();
            let _ = serving.await;
        }
    }
}

/// The services as the day needs them: the test CA as the only trust anchor, the pilot's
/// rules, fresh secrets, and `sender` for SMS.
fn server_state(
    store: Arc<dyn Store>,
    clock: Arc<RunningClock>,
    ca_pem: &str,
    sender: Arc<dyn kuelik_server::notify::Sender>,
) -> Result<AppState, String> {
    let mut secrets = [0u8; 32];
    getrandom(&mut secrets)?;
    let mut config = Config::new(Secrets {
        otp_key: secrets,
        gateway_key: b"kuelik load gateway key".to_vec(),
        register_key: b"kuelik load register key".to_vec(),
        audit_key: kuelik_trust::ServerKey::generate(),
    });
    config.trust = Some(
        TrustStore::new(ca_pem, kuelik_trust::RevocationList::new()).map_err(|e| e.to_string())?,
    );
    let rules = RuleBook::builtin().map_err(|e| e.to_string())?;
    let mut state = kuelik_server::app_state(store, clock, rules, config);
    // Nothing else holds the services yet: swap the SMS sender before serving.
    let services = Arc::get_mut(&mut state.0)
        .ok_or("the services are already shared; cannot replace the SMS sender")?;
    services.sender = sender;
    Ok(state)
}

/// Starts `exe serve-child` and reads the address it serves on from its first line.
fn spawn_child(
    exe: &std::path::Path,
    database_url: &str,
    ca_file: &std::path::Path,
    sms_url: &str,
) -> Result<(std::process::Child, String), String> {
    use std::io::BufRead;
    let mut child = std::process::Command::new(exe)
        .arg("serve-child")
        .arg("--database-url")
        .arg(database_url)
        .arg("--ca")
        .arg(ca_file)
        .arg("--sms-url")
        .arg(sms_url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
    let stdout = child
        .stdout
        .take()
        .ok_or("the server process has no stdout")?;
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| format!("the server process said nothing: {e}"))?;
    match line.trim().strip_prefix("serving ") {
        Some(base) => Ok((child, base.to_string())),
        None => {
            let _ = child.kill();
            Err(format!("the server process did not start: {line:?}"))
        }
    }
}

/// One SMS as the child posts it to the harness.
#[derive(serde::Serialize, serde::Deserialize)]
struct Sms {
    to: String,
    text: String,
}

/// The harness's end of the child's SMS: `POST /sms` into the [`CodeBook`].
async fn sms_receiver(
    codes: Arc<CodeBook>,
) -> Result<(String, tokio::task::JoinHandle<()>), String> {
    use kuelik_server::notify::Sender;
    let app = axum::Router::new().route(
        "/sms",
        axum::routing::post(move |axum::Json(sms): axum::Json<Sms>| {
            let codes = codes.clone();
            async move {
                let _ = codes.send_sms(&sms.to, &sms.text).await;
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((format!("http://{addr}/sms"), task))
}

/// The child's SMS sender: an HTTP POST to the harness, as a real SMS gateway is called.
struct HttpSms {
    client: reqwest::Client,
    url: String,
}

#[async_trait::async_trait]
impl kuelik_server::notify::Sender for HttpSms {
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), String> {
        let sms = Sms {
            to: to.to_string(),
            text: text.to_string(),
        };
        let r = self
            .client
            .post(&self.url)
            .json(&sms)
            .send()
            .await
            .map_err(|e| format!("SMS gateway unreachable: {e}"))?;
        if r.status().is_success() {
            Ok(())
        } else {
            Err(format!("SMS gateway answered {}", r.status()))
        }
    }
}

/// `kuelik-loadtest serve-child`: the server alone in this process, on a database the
/// harness prepared. Prints `serving http://ADDR` once listening; stops when stdin closes.
pub async fn serve_child(
    database_url: &str,
    ca_file: &std::path::Path,
    sms_url: &str,
) -> Result<(), String> {
    use std::io::Write;
    let store = kuelik_store::open(database_url)
        .await
        .map_err(|e| format!("cannot open the database {database_url}: {e}"))?;
    let ca_pem = std::fs::read_to_string(ca_file)
        .map_err(|e| format!("cannot read {}: {e}", ca_file.display()))?;
    let start: Timestamp = DAY_STARTS.parse().map_err(|e| format!("{e}"))?;
    let clock = Arc::new(RunningClock::new(start));
    let sender = Arc::new(HttpSms {
        client: reqwest::Client::new(),
        url: sms_url.to_string(),
    });
    let state = server_state(store, clock, &ca_pem, sender)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot listen on loopback: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout();
    writeln!(out, "serving http://{addr}")
        .and_then(|()| out.flush())
        .map_err(|e| format!("cannot tell the harness the address: {e}"))?;
    let stdin_closed = async {
        let _ = tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        })
        .await;
    };
    kuelik_server::serve(state, listener, stdin_closed)
        .await
        .map_err(|e| format!("the server stopped: {e}"))
}

fn getrandom(buf: &mut [u8]) -> Result<(), String> {
    getrandom::fill(buf).map_err(|e| format!("no OS randomness: {e}"))
}

/// A fresh database on the PostgreSQL server `admin_url` names (`kuelik_load_*`; left in
/// place afterwards for inspection).
async fn fresh_postgres_database(admin_url: &str) -> Result<String, String> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(admin_url)
        .await
        .map_err(|e| format!("PostgreSQL at {admin_url} is unreachable: {e}"))?;
    let name = format!("kuelik_load_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .map_err(|e| format!("cannot create the database {name}: {e}"))?;
    let (base, _) = admin_url
        .rsplit_once('/')
        .ok_or("the PostgreSQL URL names no database")?;
    Ok(format!("{base}/{name}"))
}
