//! The shapes of API answers. Domain types stay in the core; these are what clients see.

use std::sync::OnceLock;

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::eligibility::Decision;
use kuelik_core::issuance::DocumentRecord;
use kuelik_core::lang::Localized;
use kuelik_core::lifecycle::{Application, ApplicationState};
use kuelik_core::messages;
use kuelik_core::readiness::Readiness;
use kuelik_core::register::Person;
use kuelik_store::{Notice, PaymentRecord, TimelineEntry};

/// A text in Kazakh, Russian and English.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Text {
    pub kk: String,
    pub ru: String,
    pub en: String,
}

impl From<Localized> for Text {
    fn from(l: Localized) -> Text {
        Text {
            kk: l.kk,
            ru: l.ru,
            en: l.en,
        }
    }
}

/// The name of an application state in the three languages (a [`Text`]), written as JSON
/// made once per process. A status answer names the state each event of its history led to:
/// copying the same Kazakh and Russian texts into every event's view and escaping them byte
/// by byte into the answer was about a tenth of a status read's handler (callgrind,
/// docs/PERFORMANCE.md, #20 step 5).
#[derive(Debug, Clone, Copy)]
pub struct StateName(pub ApplicationState);

impl Serialize for StateName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        static WRITTEN: OnceLock<Vec<Option<Box<RawValue>>>> = OnceLock::new();
        let written = WRITTEN.get_or_init(|| {
            ApplicationState::ALL
                .iter()
                .map(|state| serde_json::value::to_raw_value(&state_text(*state)).ok())
                .collect()
        });
        let made = ApplicationState::ALL
            .iter()
            .position(|state| *state == self.0)
            .and_then(|i| written[i].as_ref());
        match made {
            Some(json) => json.serialize(serializer),
            // Not made (a state missing from `ALL`): written as before.
            None => state_text(self.0).serialize(serializer),
        }
    }
}

fn state_text(state: ApplicationState) -> Text {
    messages::state_name(state).into()
}

/// An instant as RFC 3339 text, written straight into the answer (no text made first).
fn rfc3339<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(at)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CheckView {
    pub name: String,
    pub passed: bool,
    pub detail: String,
}

/// An eligibility decision (the same fields as `kuelik eligibility --json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    pub eligible: bool,
    /// `eligible`, `too_early`, `window_after_service_end`, `expired_too_long`,
    /// `reason_not_served`, `document_not_served` or `service_not_active`.
    pub code: String,
    pub message: Text,
    pub detail: Text,
    #[schema(value_type = Option<String>, format = Date)]
    pub first_eligible_date: Option<Date>,
    #[schema(value_type = Option<String>, format = Date)]
    pub last_eligible_date: Option<Date>,
    pub rules_version: String,
    /// True when the rule set is this project's assumption, not law (say so on screen).
    pub rules_assumption: bool,
    #[schema(value_type = String, format = Date)]
    pub today: Date,
    #[schema(value_type = String, format = Date)]
    pub last_valid_day: Date,
    pub days_until_expiry: i32,
    pub checks: Vec<CheckView>,
}

impl EligibilityView {
    pub fn new(d: Decision, assumption: bool) -> EligibilityView {
        EligibilityView {
            eligible: d.eligible,
            code: d.code.as_str().to_string(),
            message: d.message.into(),
            detail: d.detail.into(),
            first_eligible_date: d.first_eligible_date,
            last_eligible_date: d.last_eligible_date,
            rules_version: d.rules_version,
            rules_assumption: assumption,
            today: d.today,
            last_valid_day: d.last_valid_day,
            days_until_expiry: d.days_until_expiry,
            checks: d
                .checks
                .into_iter()
                .map(|c| CheckView {
                    name: c.name.to_string(),
                    passed: c.passed,
                    detail: c.detail,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    pub kind: String,
    pub number: String,
    #[schema(value_type = String, format = Date)]
    pub issued_on: Date,
    #[schema(value_type = String, format = Date)]
    pub last_valid_day: Date,
}

/// What the population register says about a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct PersonView {
    pub iin: String,
    pub surname: String,
    pub given_name: String,
    pub patronymic: Option<String>,
    #[schema(value_type = String, format = Date)]
    pub birth_date: Date,
    pub sex: String,
    /// Masked: `+7 701 *** ** 67`.
    pub phone: String,
    pub language: String,
    pub region: String,
    pub address: String,
    /// The current document.
    pub document: DocumentView,
    /// Every document of the person the service knows, newest first, each with its status:
    /// the current one, and those it replaced.
    pub documents: Vec<DocumentRecordView>,
}

/// One of the person's documents with its status on the day of the answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentRecordView {
    /// `identity-card` or `passport`.
    pub kind: String,
    pub number: String,
    #[schema(value_type = String, format = Date)]
    pub issued_on: Date,
    #[schema(value_type = String, format = Date)]
    pub last_valid_day: Date,
    /// `valid` or `invalid`.
    pub status: String,
    /// When invalid: `replaced`, `reported_lost` or `expired`.
    pub reason: Option<String>,
    /// The status in words.
    pub status_text: Text,
    /// When it was invalidated (RFC 3339), if it was.
    pub invalidated_at: Option<String>,
    /// The application whose hand-over replaced it.
    pub replaced_by_application: Option<Uuid>,
    /// What became of the old card at the desk: `surrendered` or `not_presented`.
    pub old_card: Option<String>,
    /// The application it was issued for, when this service issued it.
    pub issued_for_application: Option<Uuid>,
    /// Whether this is the person's current document.
    pub current: bool,
}

impl DocumentRecordView {
    pub fn new(record: &DocumentRecord, current: &Person, today: Date) -> DocumentRecordView {
        let status = record.status_on(today);
        let inv = record.invalidation.as_ref();
        DocumentRecordView {
            kind: record.kind.as_str().into(),
            number: record.number.clone(),
            issued_on: record.issued_on,
            last_valid_day: record.last_valid_day,
            status: status.as_str().into(),
            reason: status.reason().map(|r| r.as_str().into()),
            status_text: messages::document_status(status).into(),
            invalidated_at: inv.map(|i| i.at.to_string()),
            replaced_by_application: inv.and_then(|i| i.application).map(|a| a.0),
            old_card: inv.and_then(|i| i.old_card).map(|c| c.as_str().into()),
            issued_for_application: record.issued_for.map(|a| a.0),
            current: record.kind == current.document.kind
                && record.number == current.document.number,
        }
    }
}

impl PersonView {
    /// The person as the register has them, with the records kept of their documents.
    pub fn new(p: &Person, records: Vec<DocumentRecord>, today: Date) -> PersonView {
        let documents = kuelik_core::issuance::document_history(p.iin, &p.document, records)
            .iter()
            .map(|r| DocumentRecordView::new(r, p, today))
            .collect();
        PersonView {
            iin: p.iin.to_string(),
            surname: p.surname.clone(),
            given_name: p.given_name.clone(),
            patronymic: p.patronymic.clone(),
            birth_date: p.iin.birth_date(),
            sex: match p.iin.sex() {
                kuelik_core::iin::Sex::Male => "male".into(),
                kuelik_core::iin::Sex::Female => "female".into(),
            },
            phone: p.phone.masked(),
            language: p.language.tag().into(),
            region: p.region.to_string(),
            address: p.address.clone(),
            document: DocumentView {
                kind: p.document.kind.as_str().into(),
                number: p.document.number.clone(),
                issued_on: p.document.issued_on,
                last_valid_day: p.document.last_valid_day,
            },
            documents,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AnnulmentView {
    /// `photo_non_compliant`, `signature_non_compliant` or `additional_verification_required`.
    pub reason: String,
    pub reason_text: Text,
    pub comment: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    pub kind: String,
    #[schema(value_type = String)]
    pub from: &'static str,
    #[schema(value_type = String)]
    pub to: &'static str,
    #[schema(value_type = Text)]
    pub to_name: StateName,
    /// RFC 3339.
    #[serde(serialize_with = "rfc3339")]
    #[schema(value_type = String)]
    pub at: Timestamp,
    /// Who acted, by role (staff are not named to citizens).
    pub actor_role: String,
}

impl From<TimelineEntry> for EventView {
    fn from(e: TimelineEntry) -> EventView {
        EventView {
            kind: e.kind,
            from: e.from.as_str(),
            to: e.to.as_str(),
            to_name: StateName(e.to),
            at: e.at,
            actor_role: e.actor_role,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentView {
    pub id: Uuid,
    /// `pending`, `confirmed`, `failed`, `refund_pending` or `refunded`.
    pub status: String,
    pub amount_tiyn: u64,
    pub amount_tenge: String,
    pub reference: String,
}

impl From<&PaymentRecord> for PaymentView {
    fn from(p: &PaymentRecord) -> PaymentView {
        PaymentView {
            id: p.id,
            status: p.status.as_str().into(),
            amount_tiyn: p.amount.0,
            amount_tenge: p.amount.tenge_string(),
            reference: p.gateway_reference.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    pub id: Uuid,
    /// The life-cycle state (`draft`, `submitted`, `queued`, `under_review`, `approved`,
    /// `in_production`, `dispatched`, `ready_for_pickup`, `issued`, `annulled`, `withdrawn`).
    pub state: String,
    #[schema(value_type = Text)]
    pub state_name: StateName,
    pub document_kind: String,
    pub region: String,
    pub registration_point: Option<String>,
    pub photo_sha256: Option<String>,
    pub signature_sha256: Option<String>,
    pub paid: bool,
    /// The registration ticket number, once submitted.
    pub ticket: Option<String>,
    /// The new document's number, once it is made.
    pub document_number: Option<String>,
    pub submitted_at: Option<String>,
    #[schema(value_type = Option<String>, format = Date)]
    pub due_date: Option<Date>,
    /// Past its due date and not yet ready for pickup.
    pub overdue: bool,
    pub annulment: Option<AnnulmentView>,
    /// `pending` or `refunded` after an annulment or withdrawal of a paid application.
    pub refund: Option<String>,
    pub created_at: String,
    /// When the application entered its current state, RFC 3339 (registration point queue
    /// only: how long a document has been waiting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_since: Option<String>,
    pub version: i64,
    /// The status history, oldest first (in detail answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Vec<EventView>>,
    /// Payments for this application (in detail answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<PaymentView>>,
    /// The applicant as the register has them (staff detail answers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub applicant: Option<PersonView>,
    /// The automatic photo check: verdict and every measure with what to fix (for the citizen
    /// while a draft, when it can still be acted on; for staff always).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub photo_check: Option<serde_json::Value>,
    /// The automatic signature check.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub signature_check: Option<serde_json::Value>,
    /// Staff only: other people's applications with the same photo (perceptual hash).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub same_photo_elsewhere: Option<Vec<SamePhotoView>>,
    /// Officers: the number of the document whose photo the register has (its image is at
    /// `/officer/applications/{id}/register-photo`); absent when the register has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub register_photo_of: Option<String>,
    /// A draft's task list, as the core decides it (the application's own read only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readiness: Option<ReadinessView>,
}

/// Another person's application with the same photo: enough for the officer to open it (in
/// their region) or to name it to the other region's migration service.
#[derive(Debug, Serialize, ToSchema)]
pub struct SamePhotoView {
    pub id: Uuid,
    pub ticket: Option<String>,
    pub region: String,
    pub state: String,
    #[schema(value_type = Text)]
    pub state_name: StateName,
}

/// Where a draft stands: every part with its status, and what may be done next.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadinessView {
    /// In the task list's order: `registration_point`, `photo`, `signature`, `payment`.
    pub tasks: Vec<TaskView>,
    /// Every part other than the payment is done: the duty may be paid.
    pub ready_to_pay: bool,
    /// Every part is done: the submission code may be asked for.
    pub ready_to_submit: bool,
    /// The state duty due if paid today, in tiyn (absent when the fee table cannot say).
    pub duty_tiyn: Option<u64>,
    /// The same amount in tenge with two decimals, e.g. `"4325.00"`.
    pub duty_tenge: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TaskView {
    #[schema(pattern = "^(registration_point|photo|signature|payment)$")]
    pub task: String,
    /// `not_started`, `needs_fixing` (an image whose check failed) or `done`.
    #[schema(pattern = "^(not_started|needs_fixing|done)$")]
    pub status: String,
}

impl From<&Readiness> for ReadinessView {
    fn from(r: &Readiness) -> ReadinessView {
        ReadinessView {
            tasks: r
                .tasks()
                .iter()
                .map(|(task, status)| TaskView {
                    task: task.as_str().into(),
                    status: status.as_str().into(),
                })
                .collect(),
            ready_to_pay: r.unfinished_before_payment().is_empty(),
            ready_to_submit: r.complete(),
            duty_tiyn: None,
            duty_tenge: None,
        }
    }
}

impl ApplicationView {
    pub fn new(app: &Application, version: i64, today: Date) -> ApplicationView {
        ApplicationView {
            id: app.id.0,
            state: app.state.as_str().into(),
            state_name: StateName(app.state),
            document_kind: app.document_kind.as_str().into(),
            region: app.region.to_string(),
            registration_point: app.registration_point.as_ref().map(|p| p.to_string()),
            photo_sha256: app.photo.map(|d| d.to_string()),
            signature_sha256: app.signature.map(|d| d.to_string()),
            paid: app.payment.is_some(),
            ticket: app.ticket.map(|t| t.to_string()),
            document_number: app.document_number.clone(),
            submitted_at: app.submitted_at.map(|t| t.to_string()),
            due_date: app.due_date,
            overdue: app.is_overdue(today),
            annulment: app.annulment.as_ref().map(|a| AnnulmentView {
                reason: a.reason.as_str().into(),
                reason_text: messages::annulment_reason(a.reason).into(),
                comment: a.comment.clone(),
            }),
            refund: app.refund.map(|r| r.as_str().into()),
            created_at: app.created_at.to_string(),
            state_since: None,
            version,
            history: None,
            payments: None,
            applicant: None,
            photo_check: None,
            signature_check: None,
            same_photo_elsewhere: None,
            register_photo_of: None,
            readiness: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeView {
    pub id: Uuid,
    pub application: Option<Uuid>,
    pub kind: String,
    pub message: Text,
    pub created_at: String,
    pub read: bool,
}

impl From<&Notice> for NoticeView {
    fn from(n: &Notice) -> NoticeView {
        NoticeView {
            id: n.id,
            application: n.application.map(|a| a.0),
            kind: n.kind.clone(),
            message: n.message.clone().into(),
            created_at: n.created_at.to_string(),
            read: n.read_at.is_some(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_name_made_once_is_written_as_its_text_is() {
        for state in ApplicationState::ALL {
            let text = state_text(state);
            assert!(!text.kk.is_empty() && !text.ru.is_empty() && !text.en.is_empty());
            // Twice: the first write makes the table, the second reads it.
            for _ in 0..2 {
                assert_eq!(
                    serde_json::to_string(&StateName(state)).unwrap(),
                    serde_json::to_string(&text).unwrap(),
                    "{state:?}"
                );
                // Views are also kept as JSON values (idempotent answers).
                assert_eq!(
                    serde_json::to_value(StateName(state)).unwrap(),
                    serde_json::to_value(&text).unwrap(),
                    "{state:?}"
                );
            }
        }
    }

    #[test]
    fn an_event_is_written_with_its_instant_in_rfc_3339() {
        let at: Timestamp = "2026-12-07T05:10:00.123456Z".parse().unwrap();
        let event = EventView::from(TimelineEntry {
            kind: "submitted".into(),
            from: ApplicationState::Draft,
            to: ApplicationState::Submitted,
            actor_role: "citizen".into(),
            at,
        });
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["at"], at.to_string());
        assert_eq!(json["from"], "draft");
        assert_eq!(json["to"], "submitted");
        assert_eq!(
            json["to_name"],
            serde_json::to_value(state_text(ApplicationState::Submitted)).unwrap()
        );
        assert_eq!(json["kind"], "submitted");
        assert_eq!(json["actor_role"], "citizen");
    }
}
