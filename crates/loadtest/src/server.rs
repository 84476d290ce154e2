//! The server under load: the real `kuelik_server::serve` on a loopback port, on a fresh
//! database, set up the way the integration tests set it up (a test CA as the only trust
//! anchor, a clock in the pilot's period), with the SMS sender replaced by [`CodeBook`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jiff::{SignedDuration, Timestamp};

use kuelik_core::lifecycle::{Role, StaffId};
use kuelik_core::region::{PointId, RegionCode};
use kuelik_core::register::Person;
use kuelik_core::rules::RuleBook;
use kuelik_server::clock::Clock;
use kuelik_server::{AppState, Config, Secrets};
use kuelik_store::{OfficerCredential, StaffAccount};
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
    pub state: AppState,
    pub codes: Arc<CodeBook>,
    pub clock: Arc<RunningClock>,
    pub ca: DemoCa,
    /// `sqlite` or `postgres`.
    pub backend: &'static str,
    /// For the durability ceiling: where a scratch SQLite file may go, or the PostgreSQL URL.
    pub scratch: Scratch,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<()>>,
    _dir: Option<TempDir>,
}

/// Where the durability ceiling runs: beside the service's own database, with its settings.
pub enum Scratch {
    SqliteDir(PathBuf),
    Postgres(String),
}

impl Server {
    /// Opens a fresh database (a temp-dir SQLite file, or a new database on the PostgreSQL
    /// server `database_url` names) and serves on 127.0.0.1:0.
    pub async fn start(database_url: Option<&str>) -> Result<Server, String> {
        let (url, dir, scratch) = match database_url {
            None => {
                let dir = std::env::temp_dir()
                    .join(format!("kuelik-load-{}", uuid::Uuid::now_v7().simple()));
                std::fs::create_dir_all(&dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                let url = format!("sqlite://{}", dir.join("kuelik.db").display());
                (url, Some(TempDir(dir.clone())), Scratch::SqliteDir(dir))
            }
            Some(admin) => {
                let url = fresh_postgres_database(admin).await?;
                (url.clone(), None, Scratch::Postgres(url))
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
        let mut secrets = [0u8; 32];
        getrandom(&mut secrets)?;
        let mut config = Config::new(Secrets {
            otp_key: secrets,
            gateway_key: b"kuelik load gateway key".to_vec(),
            audit_key: kuelik_trust::ServerKey::generate(),
        });
        config.trust = Some(
            TrustStore::new(ca.cert_pem(), kuelik_trust::RevocationList::new())
                .map_err(|e| e.to_string())?,
        );
        let start: Timestamp = DAY_STARTS.parse().map_err(|e| format!("{e}"))?;
        let clock = Arc::new(RunningClock::new(start));
        let rules = RuleBook::builtin().map_err(|e| e.to_string())?;
        let mut state = kuelik_server::app_state(store, clock.clone(), rules, config);
        let codes = Arc::new(CodeBook::default());
        // Nothing else holds the services yet: swap the SMS sender before serving.
        let services = Arc::get_mut(&mut state.0)
            .ok_or("the services are already shared; cannot replace the SMS sender")?;
        services.sender = codes.clone();

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("cannot listen on loopback: {e}"))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serving_state = state.clone();
        let serving = tokio::spawn(async move {
            let stopped = async move {
                let _ = stop_rx.await;
            };
            if let Err(e) = kuelik_server::serve(serving_state, listener, stopped).await {
                eprintln!("the server stopped: {e}");
            }
        });
        Ok(Server {
            base: format!("http://{addr}"),
            state,
            codes,
            clock,
            ca,
            backend,
            scratch,
            stop: Some(stop_tx),
            serving: Some(serving),
            _dir: dir,
        })
    }

    pub async fn add_people(&self, people: &[Person]) -> Result<(), String> {
        for chunk in people.chunks(5_000) {
            self.state
                .store
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
        };
        self.state
            .store
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
        self.state
            .store
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

    /// Stops serving and waits for the workers to stop.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(serving) = self.serving.take() {
            let _ = serving.await;
        }
    }
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
