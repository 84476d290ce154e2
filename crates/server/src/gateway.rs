//! The payment gateway that collects the state duty and pays refunds.
//!
//! [`PaymentGateway`] is what kuelik asks of any gateway: create a payment intent, request a
//! refund. The gateway answers later with callbacks: JSON bodies signed with HMAC-SHA256
//! under a shared key (header `X-Kuelik-Signature: sha256=<hex>`), posted to
//! `/api/v1/payments/callback`. Callbacks may repeat; handling them is idempotent.
//!
//! [`SimulatedGateway`] behaves like a real one for the demo and the tests: the citizen
//! "pays" at `/sim-gateway/pay/{reference}`, and its callbacks are signed with the same key
//! and verified by the same handler as a real gateway's would be.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use tokio::sync::mpsc;

use kuelik_core::money::Tiyn;

use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::AppState;

pub const SIGNATURE_HEADER: &str = "x-kuelik-signature";

/// The simulator's callbacks as they leave it: (body, signature).
pub type CallbackReceiver = mpsc::UnboundedReceiver<(Vec<u8>, String)>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intent {
    /// The gateway's reference for the payment.
    pub reference: String,
    /// Where the citizen completes the payment.
    pub pay_url: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error("the payment gateway is unavailable: {0}")]
    Unavailable(String),
    #[error("the payment gateway does not know payment {0}")]
    UnknownPayment(String),
}

#[async_trait]
pub trait PaymentGateway: Send + Sync + 'static {
    async fn create_intent(&self, amount: Tiyn, description: &str) -> Result<Intent, GatewayError>;
    /// Asks for a refund of a confirmed payment; the gateway confirms with a `refunded`
    /// callback. Asking twice is harmless.
    async fn request_refund(&self, reference: &str, amount: Tiyn) -> Result<(), GatewayError>;
}

/// What a gateway tells kuelik in a callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallbackStatus {
    Paid,
    Failed,
    Refunded,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Callback {
    /// Unique per callback (a repeated delivery repeats it).
    pub event_id: String,
    pub reference: String,
    pub status: CallbackStatus,
    pub amount_tiyn: u64,
}

/// `sha256=<hex>` of the body under `key`.
pub fn sign(key: &[u8], body: &[u8]) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(body);
    format!("sha256={}", crate::auth::hex(&mac.finalize().into_bytes()))
}

/// Constant-time check of a callback signature.
pub fn verify(key: &[u8], body: &[u8], signature: &str) -> bool {
    let Some(hex_sig) = signature.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Some(given) = kuelik_core::hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SimStatus {
    Open,
    Paid,
    Refunded,
}

#[derive(Debug)]
struct SimPayment {
    amount: Tiyn,
    status: SimStatus,
    description: String,
}

/// A gateway simulator living in the server process. Its state is in memory, like a
/// remote party's would be out of our reach; its callbacks go through a channel to the
/// same verification and handling code as a real gateway's HTTP callbacks.
pub struct SimulatedGateway {
    key: Vec<u8>,
    payments: Mutex<HashMap<String, SimPayment>>,
    callbacks: mpsc::UnboundedSender<(Vec<u8>, String)>,
}

impl SimulatedGateway {
    /// The gateway and the receiving end of its callbacks (body, signature), which
    /// [`crate::workers`] feeds to the callback handler.
    pub fn new(key: Vec<u8>) -> (Arc<SimulatedGateway>, CallbackReceiver) {
        let (tx, rx) = mpsc::unbounded_channel();
        let gateway = SimulatedGateway {
            key,
            payments: Mutex::new(HashMap::new()),
            callbacks: tx,
        };
        (Arc::new(gateway), rx)
    }

    fn send(&self, reference: &str, status: CallbackStatus, amount: Tiyn) {
        let event_id = uuid::Uuid::now_v7().to_string();
        let callback = Callback {
            event_id,
            reference: reference.to_string(),
            status,
            amount_tiyn: amount.0,
        };
        if let Ok(body) = serde_json::to_vec(&callback) {
            let signature = sign(&self.key, &body);
            let _ = self.callbacks.send((body, signature));
        }
    }

    /// The citizen pays (what the bank page's button does). Paying twice re-sends the
    /// confirmation, as real gateways re-deliver.
    pub fn pay(&self, reference: &str) -> Result<(), GatewayError> {
        let amount = {
            let mut payments = self
                .payments
                .lock()
                .map_err(|_| GatewayError::Unavailable("poisoned".into()))?;
            let p = payments
                .get_mut(reference)
                .ok_or_else(|| GatewayError::UnknownPayment(reference.to_string()))?;
            if p.status == SimStatus::Open {
                p.status = SimStatus::Paid;
            }
            p.amount
        };
        self.send(reference, CallbackStatus::Paid, amount);
        Ok(())
    }

    /// Takes over a payment it created before a restart (its memory is the process's,
    /// the store's record outlives it): a real gateway does not forget its payments, so
    /// neither may the simulator, or a crash would leave a citizen unable to pay.
    fn remember(&self, reference: &str, amount: Tiyn) {
        if let Ok(mut payments) = self.payments.lock() {
            payments
                .entry(reference.to_string())
                .or_insert_with(|| SimPayment {
                    amount,
                    status: SimStatus::Open,
                    description: "State duty".into(),
                });
        }
    }

    fn describe(&self, reference: &str) -> Option<(Tiyn, SimStatus, String)> {
        let payments = self.payments.lock().ok()?;
        payments
            .get(reference)
            .map(|p| (p.amount, p.status, p.description.clone()))
    }
}

#[async_trait]
impl PaymentGateway for SimulatedGateway {
    async fn create_intent(&self, amount: Tiyn, description: &str) -> Result<Intent, GatewayError> {
        let reference = format!("SIM-{}", uuid::Uuid::now_v7().simple());
        self.payments
            .lock()
            .map_err(|_| GatewayError::Unavailable("poisoned".into()))?
            .insert(
                reference.clone(),
                SimPayment {
                    amount,
                    status: SimStatus::Open,
                    description: description.to_string(),
                },
            );
        Ok(Intent {
            pay_url: format!("/sim-gateway/pay/{reference}"),
            reference,
        })
    }

    async fn request_refund(&self, reference: &str, amount: Tiyn) -> Result<(), GatewayError> {
        {
            let mut payments = self
                .payments
                .lock()
                .map_err(|_| GatewayError::Unavailable("poisoned".into()))?;
            // A payment made before a restart is unknown to this process but was real:
            // refund it all the same (kuelik asks only for refunds of payments it recorded,
            // and the callback is checked against that record).
            let p = payments
                .entry(reference.to_string())
                .or_insert_with(|| SimPayment {
                    amount,
                    status: SimStatus::Paid,
                    description: "State duty".into(),
                });
            p.status = SimStatus::Refunded;
        }
        self.send(reference, CallbackStatus::Refunded, amount);
        Ok(())
    }
}

/// The simulated gateway's own pages (the "bank"), present only when it is the gateway.
pub fn simulator_routes() -> Router<AppState> {
    Router::new().route("/sim-gateway/pay/{reference}", get(sim_page).post(sim_pay))
}

/// Where the gateway sends the payer back after paying: only a path on this site (never
/// another host: no open redirect).
fn return_path(query: Option<&str>) -> Option<String> {
    let raw = query?
        .split('&')
        .find_map(|kv| kv.strip_prefix("return_to="))?;
    let path: String = serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("p={raw}"))
        .ok()?
        .pop()?
        .1;
    let local = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path.chars().all(|c| c.is_ascii_graphic());
    local.then_some(path)
}

fn escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '<' => "&lt;".to_string(),
            '>' => "&gt;".to_string(),
            '&' => "&amp;".to_string(),
            '"' => "&quot;".to_string(),
            c => c.to_string(),
        })
        .collect()
}

/// The simulated bank's payment page, in the payer's language.
async fn sim_page(
    State(state): State<AppState>,
    ApiPath(reference): ApiPath<String>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let Some(sim) = &state.simulator else {
        return ApiError::not_found().into_response();
    };
    let lang = crate::error::request_lang(&headers, uri.query());
    let words = |kk: &'static str, ru: &'static str, en: &'static str| match lang {
        kuelik_core::lang::Lang::Kk => kk,
        kuelik_core::lang::Lang::Ru => ru,
        kuelik_core::lang::Lang::En => en,
    };
    let Some((amount, status, _description)) = sim.describe(&reference) else {
        return ApiError::not_found().into_response();
    };
    let title = words("Төлем", "Оплата", "Payment");
    let back = return_path(uri.query());
    let paid = status != SimStatus::Open;
    let action = match &back {
        Some(b) => format!(
            "/sim-gateway/pay/{}?return_to={}",
            escape(&reference),
            escape(&serde_urlencoded::to_string([("", b)]).unwrap_or_default()[1..])
        ),
        None => format!("/sim-gateway/pay/{}", escape(&reference)),
    };
    let back_link = back
        .map(|b| {
            format!(
                "<p><a href=\"{}\">{}</a></p>",
                escape(&b),
                words(
                    "Қызметке оралу",
                    "Вернуться в сервис",
                    "Back to the service"
                )
            )
        })
        .unwrap_or_default();
    let body = if paid {
        format!(
            "<p class=\"done\" role=\"status\">{}</p>{back_link}",
            words("Төленді.", "Оплачено.", "Paid.")
        )
    } else {
        format!(
            "<form method=\"post\" action=\"{action}\"><button type=\"submit\">{} {}</button></form>{back_link}",
            words("Төлеу", "Оплатить", "Pay"),
            kuelik_core::format::money(lang, amount),
        )
    };
    let rows = [
        (
            words("Алушы", "Получатель", "Payee"),
            words(
                "Көші-қон қызметі (мемлекеттік баж)",
                "Миграционная служба (государственная пошлина)",
                "Migration Service (state duty)",
            )
            .to_string(),
        ),
        (
            words("Сомасы", "Сумма", "Amount"),
            kuelik_core::format::money(lang, amount),
        ),
        (
            words("Төлем нөмірі", "Номер платежа", "Payment reference"),
            escape(&reference),
        ),
    ]
    .iter()
    .map(|(k, v)| format!("<div><dt>{k}</dt><dd>{v}</dd></div>"))
    .collect::<String>();
    // A bank's page, not the service's: its own look, so a citizen sees they have left the
    // portal (a real gateway's page is the bank's), in the payer's language.
    Html(format!(
        "<!doctype html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — {bank}</title><style>{SIM_PAGE_CSS}</style></head><body>\
         <header><p>{bank}</p></header><main><h1>{title}</h1><dl>{rows}</dl>{body}\
         <p class=\"note\">{note}</p></main></body></html>",
        bank = words(
            "Демо-банк (симулятор)",
            "Демо-банк (симулятор)",
            "Demo bank (simulator)"
        ),
        note = words(
            "Бұл – сынақ төлем беті: ақша алынбайды.",
            "Это тестовая страница оплаты: деньги не списываются.",
            "This is a test payment page: no money is taken.",
        ),
    ))
    .into_response()
}

/// The simulated bank's look: plain, legible at 390 px, with a focus ring.
const SIM_PAGE_CSS: &str = "body{margin:0;font:1.05rem/1.5 system-ui,sans-serif;color:#1b1b1b;background:#f3f5f4}\
header{background:#0b5e3c;color:#fff;padding:.75rem 1rem;font-weight:600}header p{margin:0;max-width:32rem;margin:auto}\
main{max-width:32rem;margin:1.5rem auto;padding:1.25rem;background:#fff;border-radius:.5rem}\
h1{margin-top:0;font-size:1.5rem}dl div{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.5rem;border-bottom:1px solid #d8dedb;padding:.4rem 0}\
dt{color:#454f4a}dd{margin:0;font-weight:600;overflow-wrap:anywhere}\
button{margin-top:1rem;width:100%;padding:.8rem;font:inherit;font-weight:600;color:#fff;background:#0b5e3c;border:0;border-radius:.375rem;cursor:pointer}\
button:focus-visible,a:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}a{color:#0b5e3c}\
.done{font-weight:600;color:#0b5e3c}.note{font-size:.9rem;color:#454f4a}";

async fn sim_pay(
    State(state): State<AppState>,
    ApiPath(reference): ApiPath<String>,
    uri: axum::http::Uri,
) -> Response {
    let Some(sim) = &state.simulator else {
        return ApiError::not_found().into_response();
    };
    if sim.describe(&reference).is_none() {
        // Created before a restart: the store still knows the payment.
        if let Ok(Some(p)) = state.store.payment_by_reference(&reference).await {
            sim.remember(&reference, p.amount);
        }
    }
    match sim.pay(&reference) {
        Ok(()) => match return_path(uri.query()) {
            // A browser goes back to the service, as from a real bank's page.
            Some(back) => (
                StatusCode::SEE_OTHER,
                [(axum::http::header::LOCATION, back)],
            )
                .into_response(),
            None => (StatusCode::ACCEPTED, "paid").into_response(),
        },
        Err(_) => ApiError::not_found().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payer_returns_only_to_a_path_on_this_site() {
        assert_eq!(
            return_path(Some("return_to=%2Fmy%2Fapplications%2Fx")).as_deref(),
            Some("/my/applications/x")
        );
        assert_eq!(return_path(Some("return_to=/my")).as_deref(), Some("/my"));
        for hostile in [
            "return_to=https://evil.example/",
            "return_to=//evil.example/",
            "return_to=%2F%2Fevil.example",
            "return_to=/\\evil.example",
            "return_to=javascript:alert(1)",
            "return_to=",
            "other=1",
        ] {
            assert_eq!(return_path(Some(hostile)), None, "{hostile}");
        }
        assert_eq!(return_path(None), None);
    }

    #[test]
    fn signatures_verify_only_the_signed_body_under_the_key() {
        let key = b"shared secret";
        let body = br#"{"reference":"x"}"#;
        let sig = sign(key, body);
        assert!(sig.starts_with("sha256="));
        assert!(verify(key, body, &sig));
        assert!(!verify(b"other key", body, &sig));
        assert!(!verify(key, br#"{"reference":"y"}"#, &sig));
        assert!(!verify(key, body, "sha256=00"));
        assert!(!verify(key, body, "md5=abc"));
        assert!(!verify(key, body, "sha256=zz"));
    }

    #[tokio::test]
    async fn payments_made_before_a_restart_can_still_be_paid_and_refunded() {
        let key = b"k".repeat(16);
        // A fresh simulator (a restarted process) knows nothing of SIM-old…
        let (sim, mut callbacks) = SimulatedGateway::new(key.clone());
        assert!(matches!(
            sim.pay("SIM-old"),
            Err(GatewayError::UnknownPayment(_))
        ));
        // …until the server hands it the stored payment; then paying confirms it.
        sim.remember("SIM-old", Tiyn(78_640));
        sim.pay("SIM-old").unwrap();
        let (body, signature) = callbacks.try_recv().unwrap();
        assert!(verify(&key, &body, &signature));
        let paid: Callback = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            (paid.status, paid.amount_tiyn),
            (CallbackStatus::Paid, 78_640)
        );
        // A refund of a payment it never saw is confirmed (kuelik checks it against its record).
        let (sim, mut callbacks) = SimulatedGateway::new(key.clone());
        sim.request_refund("SIM-older", Tiyn(78_640)).await.unwrap();
        let (body, _) = callbacks.try_recv().unwrap();
        let refunded: Callback = serde_json::from_slice(&body).unwrap();
        assert_eq!(refunded.status, CallbackStatus::Refunded);
        assert_eq!(refunded.reference, "SIM-older");
    }
}
