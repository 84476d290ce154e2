//! The registration point's desk: handing the new document over to its holder (R14), which
//! also changes the person's record — the new document becomes their current one and the
//! card it replaces is invalid from that instant (see `kuelik_core::issuance`). Receiving
//! the document at the point is one step of the core (`app::step` with `Receive`).

use serde_json::json;

use kuelik_core::document::OldCard;
use kuelik_core::issuance::{self, Issuance};
use kuelik_core::lifecycle::Actor;
use kuelik_core::ticket::TicketNumber;
use kuelik_store::{ApplicationWrite, Changes, RegisterPhoto, StoredApplication};

use super::{audit, policy_at, rules_at};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::notify::notice_message;
use crate::register_sync;
use crate::AppState;

/// Hands `stored`'s document over against `ticket`, the desk having recorded what became of
/// the old card. One transaction: the application `issued` with its event, audit entries
/// and notice; both document records; the person's current document; the message that
/// tells the national register.
pub async fn hand_over(
    state: &AppState,
    actor: &Actor,
    stored: StoredApplication,
    ticket: TicketNumber,
    old_card: OldCard,
) -> ApiResult<StoredApplication> {
    let now = state.clock.now();
    let rules = rules_at(state, now)?;
    let policy = policy_at(state, now)?;
    let holder = stored.application.applicant;
    let person = state
        .register
        .person(&holder)
        .await?
        .ok_or_else(|| ApiError::of(ErrorCode::HolderNotInRegister))?;
    // The record kept of the card being replaced, if the service issued it (else the core
    // describes it from the register).
    let previous = state
        .register
        .documents_of(&holder)
        .await?
        .into_iter()
        .find(|r| r.kind == person.document.kind && r.number == person.document.number);
    let mut app = stored.application.clone();
    let issuance = issuance::hand_over(
        &mut app,
        ticket,
        &person.document,
        previous.as_ref(),
        old_card,
        actor,
        now,
        &policy,
    )?;
    let event = &issuance.event;
    let mut changes = Changes::default();
    changes.audit.push(audit(
        actor,
        now,
        "application.hand_over",
        Some(app.id.to_string()),
        json!({ "from": event.from, "to": event.to, "rules_version": rules.version }),
    ));
    changes
        .outbox
        .extend(notice_message(&app, event, &state.points));
    record_issuance(&mut changes, actor, &issuance);
    // The new document's photo is the application's: the register keeps its own copy (the
    // application's images are purged after their retention period).
    if let Some(photo) = app.photo {
        if let Some(blob) = state.store.blob(&photo).await? {
            changes.register_photos.push(RegisterPhoto {
                iin: holder,
                document_number: issuance.new_document.number.clone(),
                content_type: blob.content_type,
                bytes: blob.bytes,
            });
        }
    }
    changes.events.push(issuance.event);
    changes.application = Some(ApplicationWrite {
        application: app.clone(),
        expected_version: Some(stored.version),
    });
    state.store.commit(changes).await?;
    state.wake_outbox();
    Ok(StoredApplication {
        application: app,
        version: stored.version + 1,
    })
}

/// What a hand-over writes about the person, beside the application's own step: both
/// document records, the person's current document, the message to the national register
/// and the audit entry naming both documents. The demo's seeding writes the same.
pub fn record_issuance(changes: &mut Changes, actor: &Actor, issuance: &Issuance) {
    let old = &issuance.invalidated;
    let new = &issuance.new_document;
    changes.audit.push(audit(
        actor,
        issuance.event.at,
        "document.handed_over",
        Some(issuance.event.application.to_string()),
        json!({
            "document_number": new.number,
            "document_kind": new.kind.as_str(),
            "issued_on": new.issued_on,
            "last_valid_day": new.last_valid_day,
            "invalidated_document": {
                "kind": old.kind.as_str(),
                "number": old.number,
                "reason": old.invalidation.as_ref().map(|i| i.reason.as_str()),
                "old_card": old.invalidation.as_ref().and_then(|i| i.old_card).map(|c| c.as_str()),
            },
        }),
    ));
    changes
        .documents
        .extend([issuance.invalidated.clone(), issuance.issued.clone()]);
    changes
        .current_documents
        .push((issuance.issued.holder, issuance.new_document.clone()));
    changes
        .outbox
        .extend(register_sync::change_message(issuance));
}
