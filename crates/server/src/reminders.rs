//! Proactive reminders: the service reaches out before the citizen has to. Every day the
//! sweep finds, in the population register, people whose identity card is inside the online
//! window and tells them — once per card, in their language, by SMS and in the app inbox —
//! that they can renew it online. People who opted out, or who already have an application
//! in progress, are left alone.

use serde_json::json;
use uuid::Uuid;

use kuelik_core::eligibility;
use kuelik_core::format;
use kuelik_core::lang::{Lang, Localized};
use kuelik_core::register::Person;
use kuelik_core::rules::Reason;
use kuelik_core::time::{add_days, almaty_date};
use kuelik_store::{Changes, OutboxMessage, ReminderSent, StoreError};

use crate::notify::NoticePayload;
use crate::AppState;

const PAGE: u32 = 500;

fn reminder_text(person: &Person, last_eligible: jiff::civil::Date) -> Localized {
    let valid = person.document.last_valid_day;
    Localized::from_fn(|lang| {
        let (v, l) = (format::date(lang, valid), format::date(lang, last_eligible));
        match lang {
            Lang::Kk => format!("{}, жеке куәлігіңіз {v} қоса алғанда жарамды. Оны үйден шықпай онлайн ауыстыруға болады: {l} дейін eGov порталында өтініш беріңіз.", person.given_name),
            Lang::Ru => format!("{}, ваше удостоверение личности действительно по {v}. Его можно заменить онлайн, не выходя из дома: подайте заявку на портале eGov до {l}.", person.given_name),
            Lang::En => format!("{}, your identity card is valid through {v}. You can renew it online from home: apply on the eGov portal by {l}.", person.given_name),
        }
    })
}

/// One pass of the sweep; returns how many reminders were sent.
pub async fn run_once(state: &AppState) -> usize {
    let now = state.clock.now();
    let today = almaty_date(now);
    // No service in force today (e.g. after the pilot): nobody is invited to use it.
    let book = state.rules.current();
    let Some(rules) = book.in_force(today) else {
        return 0;
    };
    let from = add_days(today, -i32::from(rules.window_days_after_expiry));
    let to = add_days(today, i32::from(rules.window_days_before_expiry));
    let mut sent = 0;
    loop {
        let people = match state.store.people_to_remind(from, to, PAGE).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(error = %e, "reminder sweep failed");
                return sent;
            }
        };
        if people.is_empty() {
            break;
        }
        for person in &people {
            let decision =
                eligibility::decide(&person.document.facts(), Reason::Expiring, now, rules);
            let mut changes = Changes {
                reminders: vec![ReminderSent {
                    iin: person.iin,
                    last_valid_day: person.document.last_valid_day,
                    sent_at: now,
                }],
                ..Changes::default()
            };
            // A card the rules do not serve online is marked handled without a message.
            if let (true, Some(last)) = (decision.eligible, decision.last_eligible_date) {
                let payload = NoticePayload {
                    iin: person.iin,
                    application: None,
                    kind: "reminder".into(),
                    message: reminder_text(person, last),
                };
                changes.outbox.push(OutboxMessage {
                    id: Uuid::now_v7(),
                    topic: "notice".into(),
                    payload: serde_json::to_value(payload).unwrap_or(json!(null)),
                    created_at: now,
                    attempts: 0,
                    next_attempt_at: now,
                    delivered_at: None,
                    last_error: None,
                });
            }
            let told = !changes.outbox.is_empty();
            match state.store.commit(changes).await {
                Ok(()) if told => {
                    sent += 1;
                    metrics::counter!("kuelik_reminders_sent_total").increment(1);
                }
                Ok(()) => {}
                // Another instance reminded this person a moment ago: nothing to do.
                Err(StoreError::Duplicate("reminder")) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "reminder not recorded");
                    return sent;
                }
            }
        }
        state.wake_outbox();
    }
    sent
}
