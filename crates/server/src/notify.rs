//! Notifications: what a citizen is told after each step, and how it reaches them.
//!
//! A transition's commit also queues an outbox message (`notice`); the outbox worker
//! delivers it to the citizen's in-app inbox (exactly once: the notice's id is the
//! message's id) and through a [`Sender`] (SMS or e-mail; the default logs that it sent,
//! without the text). One-time codes travel the same way (`sms`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use kuelik_core::format;
use kuelik_core::iin::Iin;
use kuelik_core::lang::{Lang, Localized};
use kuelik_core::lifecycle::{Application, ApplicationId, Event, EventKind};
use kuelik_core::messages;
use kuelik_core::region::RegistrationPoints;
use kuelik_store::{Notice, OutboxMessage};

use crate::AppState;

#[async_trait]
pub trait Sender: Send + Sync + 'static {
    /// Sends `text` to the phone number `to`. An error is retried with backoff.
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), String>;
}

/// The default sender: records that a message went out, never its text or the full number
/// (logs must hold no personal data or codes).
pub struct LogSender;

#[async_trait]
impl Sender for LogSender {
    async fn send_sms(&self, to: &str, _text: &str) -> Result<(), String> {
        let tail: String = to
            .chars()
            .rev()
            .take(2)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        tracing::info!(to = %format!("+7*******{tail}"), "sms sent");
        Ok(())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DevMessage {
    pub to: String,
    pub text: String,
    #[serde(with = "jiff::fmt::serde::timestamp::second::required")]
    pub at: Timestamp,
}

/// Demo mode only: the last messages "sent", readable at `/dev/inbox`, so a person trying
/// the demo can read their one-time codes.
#[derive(Clone, Default)]
pub struct DevInbox(Arc<Mutex<VecDeque<DevMessage>>>);

impl DevInbox {
    pub fn messages(&self) -> Vec<DevMessage> {
        self.0
            .lock()
            .map(|m| m.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// The newest message to `to` (tests and the demo read codes with it).
    pub fn last_to(&self, to: &str) -> Option<DevMessage> {
        self.0
            .lock()
            .ok()?
            .iter()
            .rev()
            .find(|m| m.to == to)
            .cloned()
    }
}

/// In demo mode every SMS also lands in the dev inbox.
pub struct DevSender {
    pub inbox: DevInbox,
    pub inner: Arc<dyn Sender>,
}

#[async_trait]
impl Sender for DevSender {
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), String> {
        if let Ok(mut m) = self.inbox.0.lock() {
            m.push_back(DevMessage {
                to: to.to_string(),
                text: text.to_string(),
                at: Timestamp::now(),
            });
            while m.len() > 200 {
                m.pop_front();
            }
        }
        self.inner.send_sms(to, text).await
    }
}

pub fn dev_inbox_routes() -> Router<AppState> {
    Router::new().route("/dev/inbox", get(dev_inbox))
}

async fn dev_inbox(State(state): State<AppState>) -> Response {
    match &state.dev_inbox {
        Some(inbox) => {
            let mut messages = inbox.messages();
            messages.reverse();
            Json(serde_json::json!({
                "note": "Demo mode only: messages the service would have sent by SMS, newest first.",
                "messages": messages,
            }))
            .into_response()
        }
        None => crate::error::ApiError::not_found().into_response(),
    }
}

/// The payload of a `notice` outbox message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoticePayload {
    pub iin: Iin,
    pub application: Option<ApplicationId>,
    pub kind: String,
    pub message: Localized,
}

/// What the citizen is told about an event on their application.
pub fn notice_text(app: &Application, event: &Event, points: &RegistrationPoints) -> Localized {
    let ticket = app.ticket.map(|t| t.to_string()).unwrap_or_default();
    let state = messages::state_name(event.to);
    match &event.kind {
        EventKind::Submitted { due_date, .. } => Localized::from_fn(|lang| {
            let due = format::date(lang, *due_date);
            match lang {
                Lang::Kk => format!(
                    "Өтінішіңіз қабылданды. Талон нөмірі: {ticket}. Орындау мерзімі: {due}."
                ),
                Lang::Ru => {
                    format!("Заявка принята. Номер талона: {ticket}. Срок исполнения: {due}.")
                }
                Lang::En => {
                    format!("Your application is accepted. Ticket number: {ticket}. Due by {due}.")
                }
            }
        }),
        EventKind::Annulled { reason, comment } => {
            let reason = messages::annulment_reason(*reason);
            Localized::from_fn(|lang| {
                let r = reason.get(lang);
                match lang {
                    Lang::Kk => format!("Өтініш {ticket} күшін жойды: {r}. {comment} Төленген баж қайтарылады; жаңа өтініш берген кезде баж қайта төленеді."),
                    Lang::Ru => format!("Заявка {ticket} аннулирована: {r}. {comment} Оплаченная пошлина будет возвращена; при новой заявке пошлина оплачивается заново."),
                    Lang::En => format!("Application {ticket} was annulled: {r}. {comment} The duty paid will be refunded; a new application needs a new payment."),
                }
            })
        }
        EventKind::Received => {
            // The point by its name and address in the reader's language, as on the page.
            let point = app.registration_point.as_ref().and_then(|p| points.get(p));
            Localized::from_fn(|lang| {
                let at = point
                    .map(|p| format!("{}, {}", p.name.get(lang), p.address.get(lang)))
                    .unwrap_or_default();
                match lang {
                    Lang::Kk => format!("Құжатыңыз дайын: оны тіркеу пунктінен ({at}) {ticket} талон нөмірін көрсетіп алыңыз."),
                    Lang::Ru => format!("Ваш документ готов: получите его в регистрационном пункте ({at}), назвав номер талона {ticket}."),
                    Lang::En => format!("Your document is ready: collect it at the registration point ({at}) by giving ticket number {ticket}."),
                }
            })
        }
        EventKind::HandedOver {
            replaced: Some(card),
        } => {
            // Which card is no longer valid, and from when (the Almaty date and time).
            let at = event
                .at
                .to_zoned_datetime(kuelik_core::time::ALMATY.clone());
            let when = Localized::from_fn(|lang| format::date_time(lang, at.datetime()));
            messages::handed_over_notice(
                app.document_kind,
                app.document_number.as_deref().unwrap_or(""),
                &card.number,
                &when,
                card.old_card,
            )
        }
        EventKind::RefundConfirmed => Localized::new(
            "Мемлекеттік баж қайтарылды.",
            "Государственная пошлина возвращена.",
            "The state duty has been refunded.",
        ),
        EventKind::PaymentRecorded { payment } => {
            let amount = payment.amount;
            Localized::from_fn(|lang| {
                let amount = format::money(lang, amount);
                match lang {
                Lang::Kk => format!("Мемлекеттік баж төленді: {amount}. Енді өтінішке қол қойып, жіберіңіз."),
                Lang::Ru => format!("Государственная пошлина оплачена: {amount}. Теперь подпишите и подайте заявку."),
                Lang::En => format!("The state duty is paid: {amount}. Now sign and submit the application."),
            }
            })
        }
        _ => Localized::from_fn(|lang| {
            let state = state.get(lang);
            // A draft has no ticket yet: name the application without it.
            match (lang, ticket.is_empty()) {
                (Lang::Kk, false) => format!("Өтініш {ticket}: {state}."),
                (Lang::Kk, true) => format!("Өтініш: {state}."),
                (Lang::Ru, false) => format!("Заявка {ticket}: {state}."),
                (Lang::Ru, true) => format!("Заявка: {state}."),
                (Lang::En, false) => format!("Application {ticket}: {state}."),
                (Lang::En, true) => format!("Application: {state}."),
            }
        }),
    }
}

/// Whether the citizen hears about this event at all (draft edits are their own doing).
pub fn is_noticed(event: &Event) -> bool {
    !matches!(
        event.kind,
        EventKind::RegistrationPointChosen { .. }
            | EventKind::PhotoAttached { .. }
            | EventKind::SignatureAttached { .. }
            | EventKind::Routed
            | EventKind::Taken { .. }
            | EventKind::Released
    )
}

/// The outbox message that will tell the applicant about `event`.
pub fn notice_message(
    app: &Application,
    event: &Event,
    points: &RegistrationPoints,
) -> Option<OutboxMessage> {
    if !is_noticed(event) {
        return None;
    }
    let payload = NoticePayload {
        iin: app.applicant,
        application: Some(app.id),
        kind: event.kind.as_str().to_string(),
        message: notice_text(app, event, points),
    };
    Some(OutboxMessage {
        id: Uuid::now_v7(),
        topic: "notice".into(),
        payload: serde_json::to_value(payload).ok()?,
        created_at: event.at,
        attempts: 0,
        next_attempt_at: event.at,
        delivered_at: None,
        last_error: None,
    })
}

/// Delivers one outbox message: the inbox notice (returned, for the store to insert with
/// the delivery mark) and the SMS.
pub async fn deliver(state: &AppState, message: &OutboxMessage) -> Result<Option<Notice>, String> {
    match message.topic.as_str() {
        "notice" => {
            let payload: NoticePayload = serde_json::from_value(message.payload.clone())
                .map_err(|e| format!("bad notice payload: {e}"))?;
            // The SMS copy goes to the citizen's own notice phone and language when they set
            // them, else to the register's.
            if let Ok(Some(person)) = state.register.person(&payload.iin).await {
                let contact = state
                    .store
                    .contact_details(&payload.iin)
                    .await
                    .map_err(|e| format!("contact details: {e}"))?;
                let phone = contact
                    .as_ref()
                    .and_then(|c| c.phone.as_ref())
                    .unwrap_or(&person.phone);
                let lang = contact
                    .as_ref()
                    .and_then(|c| c.language)
                    .unwrap_or(person.language);
                state
                    .sender
                    .send_sms(phone.as_str(), payload.message.get(lang))
                    .await?;
            }
            Ok(Some(Notice {
                id: message.id,
                iin: payload.iin,
                application: payload.application,
                kind: payload.kind,
                message: payload.message,
                created_at: message.created_at,
                read_at: None,
            }))
        }
        "sms" => {
            let to = message.payload["to"]
                .as_str()
                .ok_or("sms without a number")?;
            let text = message.payload["text"].as_str().ok_or("sms without text")?;
            state.sender.send_sms(to, text).await?;
            Ok(None)
        }
        other => Err(format!("unknown outbox topic {other:?}")),
    }
}
