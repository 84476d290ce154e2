//! The commands that run or administer the service: `serve`, `migrate`, `staff`, `register`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};

use kuelik_server::app::staff::{add as add_staff, NewStaff};
use kuelik_server::clock::SystemClock;
use kuelik_server::{Config, Secrets};
use kuelik_store::Store;

use crate::config::{LogFormat, ServiceConfig};
use crate::UsageError;
use kuelik_core::hex::{decode as unhex, encode as hex};

/// Where the service keeps its data, shared by every service command.
#[derive(Args, Clone)]
pub struct StoreArgs {
    /// A TOML configuration file (see docs/kuelik.example.toml); `KUELIK_*` environment
    /// variables override it, and these flags override both.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Folder for the embedded SQLite database and the generated keys [default: kuelik-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// A PostgreSQL URL (postgres://…) to use instead of the embedded SQLite database.
    #[arg(long)]
    pub database_url: Option<String>,
}

impl StoreArgs {
    /// The configuration with these flags applied on top.
    pub fn config(&self) -> Result<ServiceConfig, UsageError> {
        let mut config = ServiceConfig::load(self.config.as_deref())?;
        if let Some(dir) = &self.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &self.database_url {
            config.database_url = Some(url.clone());
        }
        Ok(config)
    }

    pub async fn open(&self) -> Result<Arc<dyn Store>, UsageError> {
        open_store(&self.config()?).await
    }
}

async fn open_store(config: &ServiceConfig) -> Result<Arc<dyn Store>, UsageError> {
    let url = match &config.database_url {
        Some(url) => url.clone(),
        None => {
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                UsageError(format!(
                    "cannot create the data dir {}: {e}",
                    config.data_dir.display()
                ))
            })?;
            format!("sqlite://{}", config.data_dir.join("kuelik.db").display())
        }
    };
    kuelik_store::open_with(&url, config.blob_vault()?)
        .await
        .map_err(|e| UsageError(format!("cannot open the database: {e}")))
}

#[derive(Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// Demo mode: seeds a register, staff and applications, switches on the `continuation`
    /// rule set (an assumption), and shows one-time codes at /dev/inbox. Never in production.
    #[arg(long)]
    pub demo: bool,
}

#[derive(Subcommand)]
pub enum StaffCommand {
    /// Create a staff account.
    Add {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// officer, production_operator, point_operator or administrator.
        #[arg(long)]
        role: String,
        /// An officer's region (two-digit code).
        #[arg(long)]
        region: Option<String>,
        /// A point operator's registration point (RR-NN).
        #[arg(long)]
        point: Option<String>,
        /// The person's IIN: an officer bound by IIN signs with any trusted НУЦ РК
        /// certificate issued to them (see `officer_certificate_*` in the configuration).
        #[arg(long)]
        iin: Option<String>,
        /// The password (at least 12 characters); read from KUELIK_STAFF_PASSWORD if absent.
        #[arg(long, env = "KUELIK_STAFF_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// List staff accounts.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Bind an officer's signing certificate to their account; with --key, also keep the
    /// private key sealed under the officer's PIN for remote signing.
    Certificate {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        username: String,
        /// The officer's X.509 certificate (PEM or DER).
        #[arg(long, value_name = "CERT.pem")]
        cert: PathBuf,
        /// The officer's private key (PEM), to seal for remote signing.
        #[arg(long, value_name = "KEY.pem")]
        key: Option<PathBuf>,
        /// The PIN that will unlock the key (at least 6 characters); read from
        /// KUELIK_SIGNING_PIN if absent.
        #[arg(
            long,
            env = "KUELIK_SIGNING_PIN",
            hide_env_values = true,
            requires = "key"
        )]
        pin: Option<String>,
    },
}

#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the whole audit log (events and audit entries against the hash chain and
    /// the signed checkpoints): exit 0 when intact, 1 naming the first bad entry.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        /// The server's public key (PEM); default: derived from the configured audit key.
        #[arg(long, value_name = "PUB.pem")]
        public_key: Option<PathBuf>,
        /// The witness file the service keeps outside the database (default: the configured
        /// `audit_witness_file`, else `DATA_DIR/audit-witness.json`); the database must hold
        /// its checkpoint, or it was put back to an earlier copy.
        #[arg(long, value_name = "FILE")]
        witness: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write the log (entries, hashes, checkpoints, the public key) as JSON lines for an
    /// outside auditor; exit 1 if it is not intact.
    Export {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, value_name = "PUB.pem")]
        public_key: Option<PathBuf>,
        /// Output file (default: standard output).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn audit_public_key(
    config: &ServiceConfig,
    file: Option<&Path>,
) -> Result<kuelik_trust::ServerPublicKey, UsageError> {
    match file {
        Some(path) => {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
            kuelik_trust::ServerPublicKey::from_pem(&pem)
                .map_err(|e| UsageError(format!("{}: {e}", path.display())))
        }
        None => {
            let path = config.audit_key_path();
            let pem = std::fs::read_to_string(&path).map_err(|e| {
                UsageError(format!(
                    "no audit key at {} ({e}): pass --public-key",
                    path.display()
                ))
            })?;
            kuelik_trust::ServerKey::from_pem(&pem)
                .map(|k| k.public_key())
                .map_err(|e| UsageError(format!("{}: {e}", path.display())))
        }
    }
}

/// `kuelik audit verify|export`.
pub fn audit(command: AuditCommand) -> Result<std::process::ExitCode, UsageError> {
    use kuelik_server::audit_chain;
    runtime()?.block_on(async move {
        let (store_args, key_file) = match &command {
            AuditCommand::Verify {
                store, public_key, ..
            }
            | AuditCommand::Export {
                store, public_key, ..
            } => (store, public_key.clone()),
        };
        let config = store_args.config()?;
        let key = audit_public_key(&config, key_file.as_deref())?;
        let store = store_args.open().await?;
        let failed = |e: audit_chain::AuditChainError| UsageError(e.to_string());
        let result = match &command {
            AuditCommand::Verify { json, witness, .. } => {
                let mut result = audit_chain::verify(&*store, &key).await.map_err(failed)?;
                // The witness outside the database: a restored earlier copy is intact in
                // itself, but lacks the checkpoint the witness holds.
                let path = witness.clone().unwrap_or_else(|| config.audit_witness_path());
                let witnessed = match (&result, std::fs::read_to_string(&path)) {
                    (Ok(_), Ok(text)) => {
                        match audit_chain::check_witness(&*store, &key, &text)
                            .await
                            .map_err(failed)?
                        {
                            Ok(seq) => Some(seq),
                            Err(broken) => {
                                result = Err(broken);
                                None
                            }
                        }
                    }
                    (_, Err(e)) if witness.is_some() => {
                        return Err(UsageError(format!("{}: {e}", path.display())))
                    }
                    _ => None,
                };
                match (&result, json) {
                    (Ok(intact), true) => println!(
                        "{}",
                        serde_json::json!({ "intact": true, "log": intact, "witness_checkpoint": witnessed })
                    ),
                    (Err(broken), true) => println!(
                        "{}",
                        serde_json::json!({ "intact": false, "first_bad": broken })
                    ),
                    (Ok(intact), false) => println!(
                        "intact: {} entries, {} checkpoints, head {}, {} waiting to be sequenced; {}",
                        intact.entries,
                        intact.checkpoints,
                        intact.head,
                        intact.pending,
                        match witnessed {
                            Some(seq) => format!("the witness's checkpoint at entry {seq} is held"),
                            None => "no witness file".to_string(),
                        }
                    ),
                    (Err(broken), false) => println!(
                        "BROKEN at entry {}: {} ({})",
                        broken.seq, broken.code, broken.detail
                    ),
                }
                result
            }
            AuditCommand::Export { out, .. } => {
                let mut writer: Box<dyn std::io::Write> = match out {
                    Some(path) => Box::new(std::io::BufWriter::new(
                        std::fs::File::create(path)
                            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?,
                    )),
                    None => Box::new(std::io::BufWriter::new(std::io::stdout())),
                };
                let result = audit_chain::export(&*store, &key, &mut writer)
                    .await
                    .map_err(failed)?;
                writer.flush().map_err(|e| UsageError(e.to_string()))?;
                if let Err(broken) = &result {
                    eprintln!(
                        "BROKEN at entry {}: {} ({})",
                        broken.seq, broken.code, broken.detail
                    );
                }
                result
            }
        };
        Ok(if result.is_ok() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::from(1)
        })
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, UsageError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| UsageError(format!("cannot start the async runtime: {e}")))
}

/// The server's keys: from the configuration (`otp_key`/`gateway_key`/`register_key`, their
/// `_file` variants, or `KUELIK_OTP_KEY`/…) when set — several instances must share them —
/// else from `DATA_DIR/secrets.json`, created on first start, owner-only. A key the file
/// lacks (one added in a later version) is generated and the file rewritten whole.
fn secrets(config: &ServiceConfig) -> Result<Secrets, UsageError> {
    const KEYS: [&str; 3] = ["otp_key", "gateway_key", "register_key"];
    let data_dir = &config.data_dir;
    let path = data_dir.join("secrets.json");
    let mut configured = std::collections::HashMap::new();
    for name in KEYS {
        if let Some(key) = config.key(name)? {
            configured.insert(name, key);
        }
    }
    let usable = |value: &serde_json::Value| {
        value
            .as_str()
            .and_then(unhex)
            .filter(|k: &Vec<u8>| k.len() >= 16)
    };
    let mut file = serde_json::Map::new();
    if configured.len() < KEYS.len() {
        if let Ok(text) = std::fs::read_to_string(&path) {
            file = serde_json::from_str(&text)
                .map_err(|e| UsageError(format!("{} is corrupt: {e}", path.display())))?;
        }
        let mut added = false;
        for name in KEYS {
            if configured.contains_key(name) {
                continue;
            }
            match file.get(name) {
                Some(value) if usable(value).is_none() => {
                    return Err(UsageError(format!(
                        "no usable {name}: set it in the configuration or remove the corrupt {}",
                        path.display()
                    )))
                }
                Some(_) => {}
                None => {
                    let mut key = [0u8; 32];
                    getrandom::fill(&mut key)
                        .map_err(|e| UsageError(format!("no OS randomness: {e}")))?;
                    file.insert(name.into(), serde_json::Value::String(hex(&key)));
                    added = true;
                }
            }
        }
        if added {
            std::fs::create_dir_all(data_dir).map_err(|e| UsageError(e.to_string()))?;
            write_private(
                &path,
                serde_json::Value::Object(file.clone())
                    .to_string()
                    .as_bytes(),
            )?;
        }
    }
    let mut key = |name: &str| -> Result<Vec<u8>, UsageError> {
        configured
            .remove(name)
            .or_else(|| file.get(name).and_then(usable))
            .ok_or_else(|| UsageError(format!("no usable {name} in {}", path.display())))
    };
    let otp = key("otp_key")?;
    let gateway_key = key("gateway_key")?;
    let register_key = key("register_key")?;
    let mut otp_key = [0u8; 32];
    for (i, b) in otp.iter().take(32).enumerate() {
        otp_key[i] = *b;
    }
    Ok(Secrets {
        otp_key,
        gateway_key,
        register_key,
        audit_key: audit_key(config)?,
    })
}

/// The audit-log signing key from `audit_key_file` (default `DATA_DIR/audit-key.pem`),
/// created owner-only on first start when it is the default file.
pub fn audit_key(config: &ServiceConfig) -> Result<kuelik_trust::ServerKey, UsageError> {
    let path = config.audit_key_path();
    match std::fs::read_to_string(&path) {
        Ok(pem) => kuelik_trust::ServerKey::from_pem(&pem)
            .map_err(|e| UsageError(format!("audit key {}: {e}", path.display()))),
        Err(_) if config.audit_key_file.is_none() => {
            let key = kuelik_trust::ServerKey::generate();
            let pem = key.to_pem().map_err(|e| UsageError(e.to_string()))?;
            std::fs::create_dir_all(&config.data_dir).map_err(|e| UsageError(e.to_string()))?;
            write_private(&path, pem.as_bytes())?;
            Ok(key)
        }
        Err(e) => Err(UsageError(format!("audit key {}: {e}", path.display()))),
    }
}

/// Writes a file only its owner can read.
/// An audit entry for a change made with the command line: the service itself acts (the
/// operator on the server), the account is the target.
fn cli_audit(
    at: jiff::Timestamp,
    action: &str,
    account: &kuelik_store::StaffAccount,
    details: serde_json::Value,
) -> kuelik_store::AuditEntry {
    kuelik_store::AuditEntry {
        id: uuid::Uuid::now_v7(),
        at,
        actor: kuelik_core::lifecycle::Actor::System,
        action: action.into(),
        target: Some(account.id.to_string()),
        details,
    }
}

/// Writes a secret owner-only: to a new file beside `path`, then renamed over it, so a
/// crash leaves the old file or the new one, never a truncated key.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), UsageError> {
    use std::io::Write as _;
    let cannot = |e: std::io::Error| UsageError(format!("cannot write {}: {e}", path.display()));
    let mut name = path.as_os_str().to_owned();
    name.push(".new");
    let fresh = std::path::PathBuf::from(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&fresh).map_err(cannot)?;
    file.write_all(bytes).map_err(cannot)?;
    file.sync_all().map_err(cannot)?;
    std::fs::rename(&fresh, path).map_err(cannot)?;
    Ok(())
}

fn init_logging(config: &ServiceConfig) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn serve(args: ServeArgs) -> Result<(), UsageError> {
    let mut service = args.store.config()?;
    if let Some(listen) = args.listen {
        service.listen = listen;
    }
    service.demo |= args.demo;
    init_logging(&service);
    runtime()?.block_on(async move {
        let store = open_store(&service).await?;
        let mut rules = service.rule_book()?;
        let mut config = Config::new(secrets(&service)?);
        config.demo = service.demo;
        config.secure_cookies = service.secure_cookies;
        config.max_upload_bytes = service.max_upload_bytes;
        config.max_json_bytes = service.max_json_bytes;
        config.retention_days = service.retention_days;
        config.register_url = service.register_url.clone();
        config.audit_witness = Some(service.audit_witness_path());
        config.audit_witness_url = service.audit_witness_url.clone();
        config.trust = service.trust_store()?;
        config.officer_signer = service.officer_signer()?;
        config.pin_signing = service.officer_pin_signing;
        config.ncalayer_url = service.ncalayer_url()?;
        config.ocsp_url = service.ocsp_url()?;
        // Demo: a CA made now, its officers' NCALayer key files (one of them revoked), and
        // its OCSP responder on a loopback port (unless one is configured).
        let demo = if service.demo {
            let (mut ca, trust) = demo_trust(&service, config.trust.take())?;
            config.trust = Some(trust);
            let key_files = kuelik_server::demo::ncalayer_key_files(&mut ca, jiff::Timestamp::now())
                .map_err(UsageError)?;
            let ca = Arc::new(ca);
            if config.ocsp_url.is_none() {
                let (_, url) =
                    kuelik_server::ocsp::SimulatedResponder::start(ca.clone(), Arc::new(SystemClock))
                        .await
                        .map_err(|e| UsageError(format!("the demo OCSP responder: {e}")))?;
                config.ocsp_url = Some(url);
            }
            Some((ca, key_files))
        } else {
            None
        };
        let ocsp_url = config.ocsp_url.clone();
        if service.demo {
            rules.enable("continuation").map_err(|e| UsageError(e.to_string()))?;
        }
        let state = kuelik_server::app_state(store, Arc::new(SystemClock), rules, config);
        let listener = tokio::net::TcpListener::bind(service.listen)
            .await
            .map_err(|e| UsageError(format!("cannot listen on {}: {e}", service.listen)))?;
        let addr = listener.local_addr().map_err(|e| UsageError(e.to_string()))?;
        if args.demo {
            let seeded = kuelik_server::demo::seed(&state, demo.as_ref().map(|(ca, _)| &**ca))
                .await
                .map_err(UsageError)?;
            println!("DEMO MODE. The `continuation` rule set is ON: it continues the pilot's rules after");
            println!("31 March 2026, an assumption of this project, not law.");
            print!("{seeded}");
            if let Some((_, key_files)) = &demo {
                write_ncalayer_keys(&service, key_files)?;
            }
            if let Some(url) = &ocsp_url {
                println!("Certificates are checked by OCSP at {url}");
            }
            println!("One-time codes: http://{addr}/dev/inbox");
        }
        println!(
            "kuelik ({} database; images: {}) is serving on http://{addr}/",
            state.store.backend(),
            service.blob_vault()?.describe()
        );
        println!("API: http://{addr}/api/v1 — docs: http://{addr}/api/docs/ — stop with Ctrl-C");
        kuelik_server::serve(state, listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| UsageError(format!("the server stopped: {e}")))
    })
}

/// Demo mode: the officers' NCALayer key files (from this start's demo CA) in
/// `DATA_DIR/demo-pki/`, and how to sign with them through the test NCALayer.
fn write_ncalayer_keys(
    config: &ServiceConfig,
    files: &[kuelik_server::demo::DemoKeyFile],
) -> Result<(), UsageError> {
    let dir = config.data_dir.join("demo-pki");
    println!("Officers approve, and citizens may submit, with an ЭЦП through NCALayer (\"Sign with EDS\").");
    println!("To try it, run a test NCALayer with one of these key files:");
    for file in files {
        let path = dir.join(&file.name);
        std::fs::write(&path, &file.bytes)
            .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())))?;
        // The citizens' keys are listed as one line below.
        if !file.name.starts_with("citizen-") {
            println!(
                "  kuelik ncalayer --key {} --password {}   ({})",
                path.display(),
                kuelik_server::demo::DEMO_PIN,
                file.about
            );
        }
    }
    println!("  (another-person.p12 is no officer's, officer71-revoked.p12 is revoked: the service refuses both)");
    println!(
        "  each citizen's own: {}, same password",
        dir.join("citizen-IIN.p12").display()
    );
    Ok(())
}

/// Demo mode: a fresh demo CA each start, whose certificate joins the demo's trust anchors
/// (kept in `DATA_DIR/demo-pki/anchors.pem`, so approvals signed under an earlier start still
/// verify), plus any anchors configured.
fn demo_trust(
    config: &ServiceConfig,
    configured: Option<kuelik_trust::TrustStore>,
) -> Result<(kuelik_trust::DemoCa, kuelik_trust::TrustStore), UsageError> {
    let dir = config.data_dir.join("demo-pki");
    std::fs::create_dir_all(&dir).map_err(|e| UsageError(e.to_string()))?;
    let ca =
        kuelik_trust::DemoCa::generate("kuelik demo CA").map_err(|e| UsageError(e.to_string()))?;
    let path = dir.join("anchors.pem");
    let mut anchors = std::fs::read_to_string(&path).unwrap_or_default();
    anchors.push_str(ca.cert_pem());
    std::fs::write(&path, &anchors)
        .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())))?;
    if let Some(path) = &config.trust_anchors_file {
        anchors.push_str(&std::fs::read_to_string(path).unwrap_or_default());
    }
    let revoked = configured
        .map(|t| t.revocations().clone())
        .unwrap_or_default();
    let trust = kuelik_trust::TrustStore::new(&anchors, revoked)
        .map_err(|e| UsageError(format!("demo trust anchors: {e}")))?;
    Ok((ca, trust))
}

pub fn migrate(store: StoreArgs) -> Result<(), UsageError> {
    runtime()?.block_on(async move {
        let store = store.open().await?;
        println!("{} database is migrated", store.backend());
        Ok(())
    })
}

pub fn staff(command: StaffCommand) -> Result<(), UsageError> {
    runtime()?.block_on(async move {
        match command {
            StaffCommand::Add {
                store,
                username,
                name,
                role,
                region,
                point,
                iin,
                password,
            } => {
                let store = store.open().await?;
                let regions = kuelik_core::region::Regions::builtin();
                let points = kuelik_core::region::RegistrationPoints::builtin(&regions);
                let request = NewStaff {
                    username,
                    display_name: name,
                    password,
                    role,
                    region,
                    point,
                    iin,
                };
                // The same use case as the console's: the account and its audit entry (made
                // by the service's operator, on the command line) in one transaction.
                let account = add_staff(
                    &*store,
                    &kuelik_core::lifecycle::Actor::System,
                    request,
                    (&regions, &points),
                    jiff::Timestamp::now(),
                    Some("kuelik staff add"),
                )
                .await
                .map_err(|e| {
                    // The field, the refusal's text and its code: `iin: An IIN has 12 digits
                    // … (iin)`.
                    let extra = e.extra.as_ref();
                    let field = extra.and_then(|x| x["field"].as_str());
                    let reason = extra.and_then(|x| x["reason"].as_str());
                    UsageError(match (field, reason) {
                        (Some(field), Some(reason)) => {
                            format!("--{}: {} ({reason})", field, e.detail.en)
                        }
                        _ => e.detail.en.clone(),
                    })
                })?;
                println!("added {} ({})", account.username, account.role.as_str());
                Ok(())
            }
            StaffCommand::Certificate {
                store,
                username,
                cert,
                key,
                pin,
            } => {
                let store = store.open().await?;
                let account = store
                    .staff_by_username(&username.trim().to_lowercase())
                    .await
                    .map_err(|e| UsageError(e.to_string()))?
                    .filter(|a| a.role == kuelik_core::lifecycle::Role::Officer)
                    .ok_or_else(|| UsageError(format!("no officer {username:?}")))?;
                let bytes = std::fs::read(&cert)
                    .map_err(|e| UsageError(format!("{}: {e}", cert.display())))?;
                let info = kuelik_trust::pki::inspect_certificate(&bytes)
                    .map_err(|e| UsageError(format!("{}: {e}", cert.display())))?;
                let der = kuelik_trust::pki::certificate_der(&bytes)
                    .map_err(|e| UsageError(format!("{}: {e}", cert.display())))?;
                let sealed_key = match key {
                    Some(path) => {
                        let pem = std::fs::read_to_string(&path)
                            .map_err(|e| UsageError(format!("{}: {e}", path.display())))?;
                        let pin = pin.ok_or_else(|| {
                            UsageError("--pin or KUELIK_SIGNING_PIN is needed with --key".into())
                        })?;
                        // The key must be the certificate's: sign a probe and check it.
                        let probe = kuelik_trust::PrivateKey::from_pem(&pem).and_then(|k| {
                            kuelik_trust::cms::sign_detached_with(
                                b"kuelik key check",
                                &k,
                                &der,
                                jiff::Timestamp::now(),
                            )
                        });
                        if let Err(e) = probe {
                            return Err(UsageError(format!("{}: {e}", path.display())));
                        }
                        let sealed = kuelik_trust::seal(&pem, &pin)
                            .map_err(|e| UsageError(e.to_string()))?;
                        Some(
                            serde_json::to_string(&sealed)
                                .map_err(|e| UsageError(e.to_string()))?,
                        )
                    }
                    None => None,
                };
                let now = jiff::Timestamp::now();
                let details = serde_json::json!({
                    "fingerprint": info.sha256_fingerprint,
                    "serial": info.serial,
                    "sealed_key": sealed_key.is_some(),
                    "via": "kuelik staff certificate",
                });
                store
                    .commit(kuelik_store::Changes {
                        audit: vec![cli_audit(
                            now,
                            "officer.certificate_bound",
                            &account,
                            details,
                        )],
                        officer_credentials: vec![kuelik_store::OfficerCredential {
                            staff: account.id,
                            fingerprint: info.sha256_fingerprint.clone(),
                            certificate: der,
                            sealed_key,
                            bound_at: now,
                        }],
                        ..kuelik_store::Changes::default()
                    })
                    .await
                    .map_err(|e| UsageError(e.to_string()))?;
                println!(
                    "bound {} (serial {}, SHA-256 {}) to {}",
                    info.subject, info.serial, info.sha256_fingerprint, account.username
                );
                Ok(())
            }
            StaffCommand::List { store } => {
                let store = store.open().await?;
                for s in store
                    .list_staff()
                    .await
                    .map_err(|e| UsageError(e.to_string()))?
                {
                    let scope = s
                        .region
                        .map(|r| format!("region {r}"))
                        .or(s.point.map(|p| format!("point {p}")))
                        .unwrap_or_default();
                    println!(
                        "{}\t{}\t{}\t{}",
                        s.username,
                        s.role.as_str(),
                        scope,
                        if s.active { "active" } else { "disabled" }
                    );
                }
                Ok(())
            }
        }
    })
}

#[derive(Subcommand)]
pub enum RegisterCommand {
    /// Load people from a CSV file into the local population register. The whole file is
    /// checked first: one bad line and nothing is imported.
    Import {
        #[command(flatten)]
        store: StoreArgs,
        /// CSV with the columns iin,surname,given_name,patronymic,phone,language,region,
        /// address,document_kind,document_number,issued_on,last_valid_day.
        file: PathBuf,
    },
    /// Generate synthetic citizens (valid IINs, Kazakh and Russian names, addresses in the
    /// 20 regions, cards expiring so that about 1% are in the online window on any day).
    Generate {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        citizens: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write a CSV file instead of filling the database.
        #[arg(long)]
        csv: Option<PathBuf>,
    },
}

const BATCH: usize = 10_000;

async fn put_all(
    store: &dyn Store,
    people: impl Iterator<Item = kuelik_core::register::Person>,
) -> Result<u64, UsageError> {
    let mut written = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for person in people {
        batch.push(person);
        if batch.len() == BATCH {
            written += store
                .put_people(&batch)
                .await
                .map_err(|e| UsageError(e.to_string()))?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        written += store
            .put_people(&batch)
            .await
            .map_err(|e| UsageError(e.to_string()))?;
    }
    Ok(written)
}

pub fn register(command: RegisterCommand) -> Result<(), UsageError> {
    use kuelik_core::register::csv::PersonReader;
    let regions = kuelik_core::region::Regions::builtin();
    let started = std::time::Instant::now();
    match command {
        RegisterCommand::Import { store, file } => {
            let open = || {
                std::fs::File::open(&file)
                    .map(std::io::BufReader::new)
                    .map_err(|e| UsageError(format!("cannot read {}: {e}", file.display())))
            };
            let mut errors = 0u64;
            let mut count = 0u64;
            for row in PersonReader::from_reader(open()?, &regions) {
                match row {
                    Ok(_) => count += 1,
                    Err(e) => {
                        errors += 1;
                        if errors <= 10 {
                            eprintln!("{}: {e}", file.display());
                        }
                    }
                }
            }
            if errors > 0 {
                return Err(UsageError(format!(
                    "{errors} bad line(s) in {}; nothing was imported",
                    file.display()
                )));
            }
            runtime()?.block_on(async move {
                let store = store.open().await?;
                let people = PersonReader::from_reader(open()?, &regions).filter_map(Result::ok);
                let written = put_all(store.as_ref(), people).await?;
                println!(
                    "imported {written} of {count} people in {:.1?}",
                    started.elapsed()
                );
                Ok(())
            })
        }
        RegisterCommand::Generate {
            store,
            citizens,
            seed,
            csv,
        } => {
            let today = kuelik_core::time::almaty_date(jiff::Timestamp::now());
            let count = usize::try_from(citizens)
                .map_err(|_| UsageError("--citizens is too large".into()))?;
            let people = kuelik_core::register::synthetic::generate(seed, count, today);
            match csv {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .map_err(|e| UsageError(format!("cannot write {}: {e}", path.display())))?;
                    let mut writer = kuelik_core::register::csv::PersonWriter::new(
                        std::io::BufWriter::new(file),
                    )
                    .map_err(|e| UsageError(e.to_string()))?;
                    for p in people {
                        writer.write(&p).map_err(|e| UsageError(e.to_string()))?;
                    }
                    writer.finish().map_err(|e| UsageError(e.to_string()))?;
                    println!(
                        "wrote {citizens} people to {} in {:.1?}",
                        path.display(),
                        started.elapsed()
                    );
                    Ok(())
                }
                None => runtime()?.block_on(async move {
                    let store = store.open().await?;
                    let written = put_all(store.as_ref(), people).await?;
                    println!(
                        "generated {written} people (seed {seed}) in {:.1?}",
                        started.elapsed()
                    );
                    Ok(())
                }),
            }
        }
    }
}

/// `kuelik config check [FILE]`: loads the configuration as `serve` would (file, then the
/// environment), checks it, and prints the effective values with secrets hidden.
pub fn config_check(file: Option<&Path>) -> Result<(), UsageError> {
    let config = ServiceConfig::load(file)?;
    config.rule_book()?;
    config.key("otp_key")?;
    config.key("gateway_key")?;
    config.key("register_key")?;
    config.blob_vault()?;
    config.trust_store()?;
    print!("{}", config.redacted_toml());
    eprintln!("configuration is valid");
    Ok(())
}

/// The embedded database file of a configuration, or why there is none.
fn sqlite_file(config: &ServiceConfig) -> Result<PathBuf, UsageError> {
    match &config.database_url {
        Some(url) => match kuelik_store::sqlite_path(url) {
            Some(path) => Ok(path.to_path_buf()),
            None => Err(UsageError(
                "the database is PostgreSQL: back it up with pg_dump -Fc and restore with pg_restore (docs/OPERATIONS.md)".into(),
            )),
        },
        None => Ok(config.data_dir.join("kuelik.db")),
    }
}

/// `kuelik backup --out FILE`: a consistent copy of the live SQLite database, taken while
/// the service runs.
pub fn backup(store: StoreArgs, out: &Path) -> Result<(), UsageError> {
    let config = store.config()?;
    let file = sqlite_file(&config)?;
    if !file.is_file() {
        return Err(UsageError(format!(
            "there is no database at {}",
            file.display()
        )));
    }
    runtime()?.block_on(async move {
        let db = kuelik_store::sqlite::SqliteStore::open(&file)
            .await
            .map_err(|e| UsageError(e.to_string()))?;
        let bytes = db
            .backup_to(out)
            .await
            .map_err(|e| UsageError(format!("backup failed: {e}")))?;
        kuelik_store::sqlite::SqliteStore::check_backup(out)
            .await
            .map_err(|e| UsageError(format!("the backup does not verify: {e}")))?;
        println!(
            "backed up {} to {} ({bytes} bytes); keep secrets.json with it",
            file.display(),
            out.display()
        );
        Ok(())
    })
}

/// `kuelik restore --from FILE`: checks the backup, moves the current database aside and
/// puts the backup in its place. Stop the service first.
pub fn restore(store: StoreArgs, from: &Path) -> Result<(), UsageError> {
    let config = store.config()?;
    let file = sqlite_file(&config)?;
    runtime()?.block_on(async {
        kuelik_store::sqlite::SqliteStore::check_backup(from)
            .await
            .map_err(|e| UsageError(format!("not restored: {e}")))
    })?;
    if let Some(dir) = file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| UsageError(e.to_string()))?;
    }
    if file.exists() {
        let stamp = jiff::Timestamp::now().as_second();
        let aside = file.with_extension(format!("db.before-restore-{stamp}"));
        std::fs::rename(&file, &aside)
            .map_err(|e| UsageError(format!("cannot move the current database aside: {e}")))?;
        println!("the previous database is kept as {}", aside.display());
    }
    // The old write-ahead log belongs to the old database: it must not be replayed into the
    // restored one.
    for suffix in ["db-wal", "db-shm"] {
        let _ = std::fs::remove_file(file.with_extension(suffix));
    }
    std::fs::copy(from, &file).map_err(|e| UsageError(format!("cannot copy the backup: {e}")))?;
    println!("restored {} from {}", file.display(), from.display());
    Ok(())
}
