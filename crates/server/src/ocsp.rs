//! Asking an OCSP responder (RFC 6960) whether an officer's certificate is revoked, before an
//! approval is accepted and again before production makes the document; the answers kept
//! for as long as the responder said they hold (`nextUpdate`).
//!
//! The responder is the one configured (`ocsp_url`), else the one the certificate names in
//! its authorityInfoAccess; with neither, revocation is the CRL's alone (as before OCSP).
//! The demo and the tests run [`SimulatedResponder`], which speaks the same protocol over
//! HTTP, so the client here is the one a real НУЦ РК responder gets.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kuelik_trust::ocsp::{self, OcspStatus};
use kuelik_trust::{SignatureInfo, TrustError, TrustStore};

/// How long a responder has to answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// An answer without `nextUpdate` is kept this long (RFC 5019 lets clients cache briefly).
const KEEP_WITHOUT_NEXT_UPDATE: SignedDuration = SignedDuration::from_mins(5);
/// Answers kept at most (one per signer certificate: a few per officer).
const CACHE_ENTRIES: usize = 10_000;

/// The OCSP client of the service, with its cache of answers.
pub struct OcspClient {
    http: reqwest::Client,
    /// The responder to ask for every certificate; `None`: the one each certificate names.
    url: Option<String>,
    /// Signer certificate's SHA-256 → the answer and until when it is kept.
    cache: Mutex<HashMap<String, (OcspStatus, Timestamp)>>,
}

impl OcspClient {
    pub fn new(url: Option<String>) -> OcspClient {
        OcspClient {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .unwrap_or_default(),
            url,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the signer of a verified signature is revoked according to OCSP at `now`:
    /// `Ok` when the responder says good (or no responder is known),
    /// [`TrustError::CertificateRevoked`] when it says revoked,
    /// [`TrustError::RevocationUnknown`] when no current answer can be had.
    pub async fn check(
        &self,
        signature: &SignatureInfo,
        trust: &TrustStore,
        now: Timestamp,
    ) -> Result<(), TrustError> {
        let cert = &signature.signer_der;
        let Some(issuer) = trust.issuer_of(cert) else {
            // Not issued by an anchor: the chain check has refused it already.
            return Ok(());
        };
        let url = match &self.url {
            Some(url) => url.clone(),
            None => match ocsp::responder_url(cert)? {
                Some(url) => url,
                None => return Ok(()),
            },
        };
        let key = &signature.signer.sha256_fingerprint;
        let status = match self.cached(key, now) {
            Some(status) => status,
            None => {
                let status = self.ask(&url, cert, issuer, now).await?;
                self.keep(key.clone(), status, now);
                status
            }
        };
        match status.refusal(&signature.signer.serial) {
            None => Ok(()),
            Some(refusal) => Err(refusal),
        }
    }

    fn cached(&self, key: &str, now: Timestamp) -> Option<OcspStatus> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|(_, until)| now <= *until)
            .map(|(status, _)| *status)
    }

    fn keep(&self, key: String, status: OcspStatus, now: Timestamp) {
        let until = status
            .next_update
            .unwrap_or_else(|| now + KEEP_WITHOUT_NEXT_UPDATE);
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= CACHE_ENTRIES {
            cache.retain(|_, (_, kept)| *kept >= now);
            if cache.len() >= CACHE_ENTRIES {
                cache.clear();
            }
        }
        cache.insert(key, (status, until));
    }

    async fn ask(
        &self,
        url: &str,
        cert: &[u8],
        issuer: &[u8],
        now: Timestamp,
    ) -> Result<OcspStatus, TrustError> {
        let request = ocsp::request(cert, issuer)?;
        let unreachable = |e: reqwest::Error| {
            TrustError::RevocationUnknown(format!("the OCSP responder {url}: {e}"))
        };
        let response = self
            .http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, ocsp::REQUEST_CONTENT_TYPE)
            .body(request)
            .send()
            .await
            .map_err(unreachable)?;
        if !response.status().is_success() {
            return Err(TrustError::RevocationUnknown(format!(
                "the OCSP responder {url} answered HTTP {}",
                response.status()
            )));
        }
        let body = response.bytes().await.map_err(unreachable)?;
        ocsp::check_response(&body, cert, issuer, now)
    }
}

/// An OCSP responder for a demo or test CA on a loopback port: `POST /` with an
/// `application/ocsp-request`, answered from the CA's revocations and those [`revoke`]d here.
///
/// [`revoke`]: SimulatedResponder::revoke
pub struct SimulatedResponder {
    ca: Arc<kuelik_trust::DemoCa>,
    revoked: Mutex<HashMap<String, Timestamp>>,
    clock: Arc<dyn crate::clock::Clock>,
    /// How long each answer holds (its `nextUpdate`).
    pub validity: SignedDuration,
}

impl SimulatedResponder {
    /// Starts the responder; returns it and its URL.
    pub async fn start(
        ca: Arc<kuelik_trust::DemoCa>,
        clock: Arc<dyn crate::clock::Clock>,
    ) -> std::io::Result<(Arc<SimulatedResponder>, String)> {
        use axum::routing::post;
        let responder = Arc::new(SimulatedResponder {
            ca,
            revoked: Mutex::new(HashMap::new()),
            clock,
            validity: SignedDuration::from_hours(1),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let app = axum::Router::new()
            .route("/", post(answer))
            .with_state(responder.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok((responder, url))
    }

    /// From now on the responder says the certificate with `serial` (hex, as
    /// `CertificateInfo::serial` writes it) is revoked.
    pub fn revoke(&self, serial: &str) {
        let now = self.clock.now();
        self.revoked
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(serial.to_ascii_lowercase(), now);
    }
}

async fn answer(
    axum::extract::State(responder): axum::extract::State<Arc<SimulatedResponder>>,
    body: axum::body::Bytes,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let revoked = responder
        .revoked
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let lookup = |serial: &str| revoked.get(serial).copied();
    match responder
        .ca
        .ocsp_response(&body, responder.clock.now(), responder.validity, &lookup)
    {
        Ok(der) => (
            [(
                axum::http::header::CONTENT_TYPE,
                ocsp::RESPONSE_CONTENT_TYPE,
            )],
            der,
        )
            .into_response(),
        Err(_) => axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
