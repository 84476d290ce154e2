//! `kuelik ncalayer`: a test NCALayer, to try and test signing with an ЭЦП without the real
//! one (which needs a НУЦ РК key and a desktop).
//!
//! It listens where NCALayer listens (`wss://127.0.0.1:13579`), speaks its protocol
//! ([`protocol`]) and signs with one PKCS#12 key file — e.g. one `kuelik serve --demo` wrote
//! for a demo officer. Where the real NCALayer shows a dialog to choose a key and type its
//! password, this one asks in its terminal (`--answer ask`), or answers every request the
//! same way (`sign`, `cancel`) for the browser suite.
//!
//! Its TLS certificate (for `127.0.0.1`) comes from a throw-away CA made at each start: a
//! browser accepts it after one visit to `https://127.0.0.1:13579/`, as with a real NCALayer
//! whose certificate is not installed. `--plain` serves `ws://` instead.

pub mod protocol;

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse as _;
use axum::routing::get;
use axum::Router;
use clap::{Args, ValueEnum};
use tokio::net::TcpListener;
use tokio_rustls::rustls;

use crate::UsageError;
use protocol::{Handling, Key, Modules, Signing};

#[derive(Args)]
pub struct NcalayerArgs {
    /// The PKCS#12 key file to sign with (e.g. DATA_DIR/demo-pki/officer71.p12).
    #[arg(long, value_name = "FILE.p12")]
    pub key: PathBuf,
    /// Its password.
    #[arg(long, env = "KUELIK_NCALAYER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Where to listen.
    #[arg(long, default_value = "127.0.0.1:13579")]
    pub listen: SocketAddr,
    /// How to answer a request to sign: ask in this terminal, or always sign, or always
    /// cancel (default: ask when this is a terminal, else sign).
    #[arg(long, value_enum)]
    pub answer: Option<Answer>,
    /// Serve ws:// (no TLS) instead of wss://.
    #[arg(long)]
    pub plain: bool,
    /// Behave as an NCALayer older than the basics module (commonUtils only).
    #[arg(long)]
    pub without_basics: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Answer {
    Ask,
    Sign,
    Cancel,
}

struct Shared {
    key: Key,
    modules: Modules,
    answer: Answer,
    /// One question on the terminal at a time.
    terminal: tokio::sync::Mutex<()>,
}

pub fn run(args: NcalayerArgs) -> Result<(), UsageError> {
    let bytes = std::fs::read(&args.key)
        .map_err(|e| UsageError(format!("--key {}: {e}", args.key.display())))?;
    let file = kuelik_trust::pkcs12::read(&bytes, &args.password).map_err(|e| match e {
        kuelik_trust::TrustError::WrongPin => {
            UsageError(format!("--password does not open {}", args.key.display()))
        }
        other => UsageError(format!("--key {}: {other}", args.key.display())),
    })?;
    let key = Key::new(file).map_err(|e| UsageError(format!("--key: {e}")))?;
    let answer = args.answer.unwrap_or(if std::io::stdin().is_terminal() {
        Answer::Ask
    } else {
        Answer::Sign
    });
    let tls = if args.plain {
        None
    } else {
        Some(tls_acceptor()?)
    };
    let scheme = if args.plain { "ws" } else { "wss" };
    let shared = Arc::new(Shared {
        key,
        modules: Modules {
            basics: !args.without_basics,
        },
        answer,
        terminal: tokio::sync::Mutex::new(()),
    });
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| UsageError(format!("cannot start the async runtime: {e}")))?
        .block_on(async move {
            let listener = TcpListener::bind(args.listen)
                .await
                .map_err(|e| UsageError(format!("cannot listen on {}: {e}", args.listen)))?;
            let address = listener
                .local_addr()
                .map_err(|e| UsageError(e.to_string()))?;
            println!(
                "test NCALayer is listening on {scheme}://{address} with the key of {}",
                shared.key.describe()
            );
            if tls.is_some() {
                println!(
                    "(its certificate is made at each start: open https://{address}/ once in the browser and accept it)"
                );
            }
            let router = Router::new()
                .route("/", get(entry))
                .with_state(shared);
            let Some(tls) = tls else {
                return axum::serve(listener, router)
                    .await
                    .map_err(|e| UsageError(format!("the test NCALayer stopped: {e}")));
            };
            loop {
                let (stream, _) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        eprintln!("accept: {e}");
                        continue;
                    }
                };
                let service = hyper_util::service::TowerToHyperService::new(router.clone());
                let tls = tls.clone();
                tokio::spawn(async move {
                    let stream = match tls.accept(stream).await {
                        Ok(stream) => stream,
                        Err(e) => return eprintln!("TLS: {e}"),
                    };
                    let served = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
                    if let Err(e) = served {
                        eprintln!("connection: {e}");
                    }
                });
            }
        })
}

/// A TLS acceptor with a certificate for 127.0.0.1 from a CA made now.
fn tls_acceptor() -> Result<tokio_rustls::TlsAcceptor, UsageError> {
    let fail = |e: String| UsageError(format!("TLS certificate: {e}"));
    let ca =
        kuelik_trust::DemoCa::generate("kuelik test NCALayer").map_err(|e| fail(e.to_string()))?;
    let validity = kuelik_trust::Validity::days_from(jiff::Timestamp::now(), 365)
        .map_err(|e| fail(e.to_string()))?;
    let (cert, key_pem) = ca
        .issue_loopback_server(validity)
        .map_err(|e| fail(e.to_string()))?;
    let key_der = kuelik_trust::PrivateKey::from_pem(&key_pem)
        .and_then(|k| k.to_pkcs8_der())
        .map_err(|e| fail(e.to_string()))?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key_der.to_vec().into());
    let chain = vec![
        rustls::pki_types::CertificateDer::from(cert),
        rustls::pki_types::CertificateDer::from(ca.cert_der().to_vec()),
    ];
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| fail(e.to_string()))?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| fail(e.to_string()))?;
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// The one address: a WebSocket upgrade is a site's connection; anything else (a person
/// opening the address to accept its certificate) gets a line saying what runs here.
async fn entry(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> axum::response::Response {
    match upgrade {
        Ok(upgrade) => {
            let origin = headers
                .get(header::ORIGIN)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("a page")
                .to_string();
            upgrade.on_upgrade(move |socket| async move {
                if let Err(e) = session(socket, &shared, &origin).await {
                    eprintln!("connection from {origin}: {e}");
                }
            })
        }
        Err(_) => format!(
            "The test NCALayer is running here, with the key of {}.\nGo back to the portal and sign.\n",
            shared.key.describe()
        )
        .into_response(),
    }
}

/// One site's connection: the greeting, then a request and its answer at a time.
async fn session(mut socket: WebSocket, shared: &Shared, origin: &str) -> Result<(), String> {
    let send = |value: serde_json::Value| Message::Text(value.to_string().into());
    socket
        .send(send(protocol::greeting()))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(message) = socket.recv().await {
        let text = match message.map_err(|e| e.to_string())? {
            Message::Text(text) => text,
            Message::Close(_) => break,
            _ => continue,
        };
        if text.as_str() == protocol::HEARTBEAT {
            socket
                .send(Message::Text(protocol::HEARTBEAT.into()))
                .await
                .map_err(|e| e.to_string())?;
            continue;
        }
        let answer = match protocol::handle(text.as_str(), &shared.key, shared.modules) {
            Handling::Answer(answer) => answer,
            Handling::Consent(signing) => {
                if consent(shared, origin, &signing).await {
                    signing.signed(&shared.key, jiff::Timestamp::now())
                } else {
                    signing.cancelled()
                }
            }
        };
        socket.send(send(answer)).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Whether the holder signs: as `--answer` says, or asked on the terminal.
async fn consent(shared: &Shared, origin: &str, signing: &Signing) -> bool {
    let what = format!(
        "{origin} asks to sign {} document(s) of {} bytes ({:?} form)",
        signing.documents.len(),
        signing.documents.iter().map(Vec::len).sum::<usize>(),
        signing.form
    );
    match shared.answer {
        Answer::Sign => {
            println!("{what}: signed");
            true
        }
        Answer::Cancel => {
            println!("{what}: cancelled");
            false
        }
        Answer::Ask => {
            let _turn = shared.terminal.lock().await;
            let question = format!("{what}\n  with {}\nSign? [y/N] ", shared.key.describe());
            tokio::task::spawn_blocking(move || {
                print!("{question}");
                let _ = std::io::stdout().flush();
                let mut line = String::new();
                let _ = std::io::stdin().lock().read_line(&mut line);
                matches!(line.trim(), "y" | "Y" | "yes" | "д" | "да" | "и" | "иә")
            })
            .await
            .unwrap_or(false)
        }
    }
}
