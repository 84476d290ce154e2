//! Issuance replaces the document (domain.md §2): handing the new document over is a fact
//! about the person, not only about the application. At that instant the new document
//! becomes the person's current one and the card it replaces stops being valid, so the
//! holder is never without a valid document and never holds two.
//!
//! [`hand_over`] decides the hand-over once and returns everything it changes: the
//! application's event, the person's new current document, and the two document records
//! (the old card invalidated, the new one issued). [`DocumentRecord::status_on`] answers
//! whether a document may be relied on, for the person's history and the public validity
//! check alike.

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::document::{DocumentKind, DocumentStatus, InvalidationReason, OldCard, ReplacedCard};
use crate::iin::Iin;
use crate::lifecycle::{
    Actor, Application, ApplicationId, Command, Event, LifecycleError, LifecyclePolicy,
};
use crate::register::RegisteredDocument;
use crate::ticket::TicketNumber;
use crate::time::almaty_date;

/// How and when a document stopped being valid before its last valid day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invalidation {
    pub reason: InvalidationReason,
    pub at: Timestamp,
    /// The application whose hand-over invalidated it (a replacement).
    pub application: Option<ApplicationId>,
    /// What the desk did with the card (a replacement).
    pub old_card: Option<OldCard>,
}

/// One of a person's documents, with its status as data: what the service recorded when it
/// issued or invalidated it. A document the register holds that the service never changed
/// has no record; [`DocumentRecord::from_register`] describes it the same way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentRecord {
    pub holder: Iin,
    pub kind: DocumentKind,
    pub number: String,
    pub issued_on: Date,
    pub last_valid_day: Date,
    /// The application it was issued for, when this service issued it.
    pub issued_for: Option<ApplicationId>,
    pub invalidation: Option<Invalidation>,
}

impl DocumentRecord {
    /// The register's current document of `holder`, with no change recorded.
    pub fn from_register(holder: Iin, document: &RegisteredDocument) -> DocumentRecord {
        DocumentRecord {
            holder,
            kind: document.kind,
            number: document.number.clone(),
            issued_on: document.issued_on,
            last_valid_day: document.last_valid_day,
            issued_for: None,
            invalidation: None,
        }
    }

    /// Whether the document may be relied on on `today` (an Almaty date): an invalidation
    /// recorded wins; otherwise it is valid through its last valid day and expired after.
    pub fn status_on(&self, today: Date) -> DocumentStatus {
        match &self.invalidation {
            Some(inv) => DocumentStatus::Invalid(inv.reason),
            None if today > self.last_valid_day => {
                DocumentStatus::Invalid(InvalidationReason::Expired)
            }
            None => DocumentStatus::Valid,
        }
    }
}

/// What a hand-over changes, decided at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issuance {
    /// The application's `handed_over` event (it is `issued` now).
    pub event: Event,
    /// The person's current document from now on.
    pub new_document: RegisteredDocument,
    /// The card it replaces, invalidated (`replaced`) at the hand-over instant.
    pub invalidated: DocumentRecord,
    /// The new document's record, valid.
    pub issued: DocumentRecord,
}

/// Hands `app`'s new document over to its holder against `ticket`: decides the application's
/// step (ticket, desk, state; see [`Application::decide`]), then what it does to the person.
/// `current` is the holder's current document as the register has it now; `previous` is the
/// record kept of it, if the service has one (a card it issued earlier), so that the old
/// card keeps what was known of it.
///
/// The new document is of the application's kind, numbered by production, issued on the
/// Almaty date of the hand-over and valid for the kind's years; the old one is invalid from
/// the hand-over instant, whether or not the card was surrendered.
#[allow(clippy::too_many_arguments)]
pub fn hand_over(
    app: &mut Application,
    ticket: TicketNumber,
    current: &RegisteredDocument,
    previous: Option<&DocumentRecord>,
    old_card: OldCard,
    actor: &Actor,
    at: Timestamp,
    policy: &LifecyclePolicy,
) -> Result<Issuance, LifecycleError> {
    let number = app
        .document_number
        .clone()
        .ok_or(LifecycleError::BadDocumentNumber)?;
    let command = Command::HandOver {
        ticket,
        replaced: ReplacedCard {
            kind: current.kind,
            number: current.number.clone(),
            old_card,
        },
    };
    // Decide before changing anything: a refusal leaves `app` as it was.
    let event = app.decide(&command, actor, at, policy)?;
    app.apply(&event);
    let issued_on = almaty_date(at);
    let new_document = RegisteredDocument {
        kind: app.document_kind,
        number,
        issued_on,
        last_valid_day: app.document_kind.last_valid_day(issued_on),
    };
    let mut invalidated = match previous {
        Some(record) if record.kind == current.kind && record.number == current.number => {
            record.clone()
        }
        _ => DocumentRecord::from_register(app.applicant, current),
    };
    invalidated.invalidation = Some(Invalidation {
        reason: InvalidationReason::Replaced,
        at,
        application: Some(app.id),
        old_card: Some(old_card),
    });
    let issued = DocumentRecord {
        issued_for: Some(app.id),
        ..DocumentRecord::from_register(app.applicant, &new_document)
    };
    Ok(Issuance {
        event,
        new_document,
        invalidated,
        issued,
    })
}

/// A person's documents, newest first: the records kept, plus the register's current
/// document when the service has no record of it (it was never changed here).
pub fn document_history(
    holder: Iin,
    current: &RegisteredDocument,
    mut records: Vec<DocumentRecord>,
) -> Vec<DocumentRecord> {
    let known = records
        .iter()
        .any(|r| r.kind == current.kind && r.number == current.number);
    if !known {
        records.push(DocumentRecord::from_register(holder, current));
    }
    records.sort_by(|a, b| {
        b.issued_on
            .cmp(&a.issued_on)
            .then_with(|| a.number.cmp(&b.number))
    });
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::WorkingCalendar;
    use crate::digest::Sha256Digest;
    use crate::eligibility::{self, DecisionCode};
    use crate::lifecycle::{ApplicationState, Payment, StaffId};
    use crate::money::Tiyn;
    use crate::region::{PointId, RegionCode};
    use crate::rules::{Reason, RuleBook};
    use jiff::civil::date;
    use uuid::Uuid;

    fn iin() -> Iin {
        Iin::parse("900515301234").unwrap()
    }

    fn old_card() -> RegisteredDocument {
        RegisteredDocument {
            kind: DocumentKind::IdentityCard,
            number: "016543210".into(),
            issued_on: date(2016, 12, 20),
            last_valid_day: date(2026, 12, 19),
        }
    }

    /// An application taken along the main road to ready-for-pickup, the new card numbered
    /// 041234567.
    static CALENDAR: std::sync::LazyLock<WorkingCalendar> =
        std::sync::LazyLock::new(WorkingCalendar::builtin);

    fn policy() -> LifecyclePolicy<'static> {
        LifecyclePolicy {
            calendar: &CALENDAR,
            processing_working_days: 15,
            review_timeout: crate::lifecycle::REVIEW_TIMEOUT,
        }
    }

    fn ready() -> (Application, TicketNumber) {
        let policy = policy();
        let point: PointId = "71-01".parse().unwrap();
        let region: RegionCode = "71".parse().unwrap();
        let citizen = Actor::Citizen { iin: iin() };
        let officer = Actor::Officer {
            staff: StaffId(Uuid::nil()),
            region,
        };
        let production = Actor::ProductionOperator {
            staff: StaffId(Uuid::nil()),
        };
        let desk = Actor::PointOperator {
            staff: StaffId(Uuid::nil()),
            point: point.clone(),
        };
        let ticket = TicketNumber::from_random_bits(0x1234_5678_9abc);
        let t0: Timestamp = "2026-11-25T05:00:00Z".parse().unwrap();
        let mut app = Application::new_draft(
            ApplicationId(Uuid::nil()),
            iin(),
            DocumentKind::IdentityCard,
            region,
            t0,
        );
        let steps = [
            (Command::ChooseRegistrationPoint(point.clone()), &citizen),
            (
                Command::AttachPhoto(Sha256Digest::from_bytes([1; 32])),
                &citizen,
            ),
            (
                Command::AttachSignature(Sha256Digest::from_bytes([2; 32])),
                &citizen,
            ),
            (
                Command::RecordPayment(Payment {
                    reference: "pay-1".into(),
                    amount: Tiyn(86_500),
                    paid_at: t0,
                }),
                &Actor::System,
            ),
            (
                Command::Submit {
                    ticket,
                    facts: crate::lifecycle::SubmissionFacts::ALL_CLEAR,
                },
                &citizen,
            ),
            (Command::Route, &Actor::System),
            (Command::Take, &officer),
            (Command::Approve, &officer),
            (Command::StartProduction, &production),
            (
                Command::Dispatch {
                    document_number: "041234567".into(),
                },
                &production,
            ),
            (Command::Receive, &desk),
        ];
        for (command, actor) in steps {
            app.handle(&command, actor, t0, &policy).unwrap();
        }
        (app, ticket)
    }

    fn desk() -> Actor {
        Actor::PointOperator {
            staff: StaffId(Uuid::nil()),
            point: "71-01".parse().unwrap(),
        }
    }

    #[test]
    fn the_hand_over_issues_the_new_document_and_invalidates_the_old_one() {
        let policy = policy();
        let (mut app, ticket) = ready();
        // 20:30 UTC on 4 December is 01:30 on 5 December in Almaty.
        let at: Timestamp = "2026-12-04T20:30:00Z".parse().unwrap();
        let issuance = hand_over(
            &mut app,
            ticket,
            &old_card(),
            None,
            OldCard::Surrendered,
            &desk(),
            at,
            &policy,
        )
        .unwrap();
        assert_eq!(app.state, ApplicationState::Issued);
        assert_eq!(issuance.event.to, ApplicationState::Issued);
        assert_eq!(
            issuance.new_document,
            RegisteredDocument {
                kind: DocumentKind::IdentityCard,
                number: "041234567".into(),
                issued_on: date(2026, 12, 5),
                last_valid_day: date(2036, 12, 4),
            }
        );
        assert_eq!(issuance.issued.issued_for, Some(app.id));
        assert_eq!(
            issuance.issued.status_on(date(2026, 12, 5)),
            DocumentStatus::Valid
        );
        let inv = issuance.invalidated.invalidation.clone().unwrap();
        assert_eq!(issuance.invalidated.number, "016543210");
        assert_eq!((inv.reason, inv.at), (InvalidationReason::Replaced, at));
        assert_eq!(inv.old_card, Some(OldCard::Surrendered));
        assert_eq!(inv.application, Some(app.id));
        // The old card is invalid even though its own validity had days left.
        assert_eq!(
            issuance.invalidated.status_on(date(2026, 12, 5)),
            DocumentStatus::Invalid(InvalidationReason::Replaced)
        );
        // The event says which card was replaced, for the notice and the history.
        match &issuance.event.kind {
            crate::lifecycle::EventKind::HandedOver {
                replaced: Some(card),
            } => {
                assert_eq!(card.number, "016543210");
                assert_eq!(card.old_card, OldCard::Surrendered);
            }
            other => panic!("unexpected event {other:?}"),
        }
    }

    #[test]
    fn a_person_whose_card_was_just_replaced_is_too_early() {
        let policy = policy();
        let (mut app, ticket) = ready();
        let at: Timestamp = "2026-12-05T06:00:00Z".parse().unwrap();
        let issuance = hand_over(
            &mut app,
            ticket,
            &old_card(),
            None,
            OldCard::NotPresented,
            &desk(),
            at,
            &policy,
        )
        .unwrap();
        let mut book = RuleBook::builtin().unwrap();
        book.enable("continuation").unwrap();
        let rules = book.for_date(date(2026, 12, 5)).unwrap();
        let decision =
            eligibility::decide(&issuance.new_document.facts(), Reason::Expiring, at, rules);
        assert!(!decision.eligible);
        assert_eq!(decision.code, DecisionCode::TooEarly);
        // First day: 30 days before the new card's last valid day (4 December 2036).
        assert_eq!(decision.first_eligible_date, Some(date(2036, 11, 4)));
    }

    #[test]
    fn a_refused_hand_over_changes_nothing() {
        let policy = policy();
        let (mut app, ticket) = ready();
        let before = app.clone();
        let at: Timestamp = "2026-12-05T06:00:00Z".parse().unwrap();
        // The register already shows the new card: nothing to replace.
        let mut already = old_card();
        already.number = "041234567".into();
        let wrong = TicketNumber::from_random_bits(0x1234_5678_9abd);
        for (ticket, current) in [(wrong, old_card()), (ticket, already)] {
            let refused = hand_over(
                &mut app,
                ticket,
                &current,
                None,
                OldCard::Surrendered,
                &desk(),
                at,
                &policy,
            );
            assert!(refused.is_err());
            assert_eq!(app, before);
        }
    }

    #[test]
    fn a_record_kept_of_the_old_card_keeps_its_origin() {
        let policy = policy();
        let (mut app, ticket) = ready();
        let earlier = DocumentRecord {
            issued_for: Some(ApplicationId(Uuid::from_u128(7))),
            ..DocumentRecord::from_register(iin(), &old_card())
        };
        let at: Timestamp = "2026-12-05T06:00:00Z".parse().unwrap();
        let issuance = hand_over(
            &mut app,
            ticket,
            &old_card(),
            Some(&earlier),
            OldCard::Surrendered,
            &desk(),
            at,
            &policy,
        )
        .unwrap();
        assert_eq!(issuance.invalidated.issued_for, earlier.issued_for);
    }

    #[test]
    fn statuses_follow_the_invalidation_then_the_calendar() {
        let record = DocumentRecord::from_register(iin(), &old_card());
        assert_eq!(record.status_on(date(2026, 12, 19)), DocumentStatus::Valid);
        assert_eq!(
            record.status_on(date(2026, 12, 20)),
            DocumentStatus::Invalid(InvalidationReason::Expired)
        );
        let lost = DocumentRecord {
            invalidation: Some(Invalidation {
                reason: InvalidationReason::ReportedLost,
                at: "2026-01-01T00:00:00Z".parse().unwrap(),
                application: None,
                old_card: None,
            }),
            ..record
        };
        assert_eq!(
            lost.status_on(date(2030, 1, 1)),
            DocumentStatus::Invalid(InvalidationReason::ReportedLost)
        );
    }

    #[test]
    fn the_history_lists_the_current_document_once_newest_first() {
        let current = old_card();
        let only = document_history(iin(), &current, Vec::new());
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].number, current.number);

        let new = RegisteredDocument {
            kind: DocumentKind::IdentityCard,
            number: "041234567".into(),
            issued_on: date(2026, 12, 5),
            last_valid_day: date(2036, 12, 4),
        };
        let records = vec![
            DocumentRecord::from_register(iin(), &current),
            DocumentRecord::from_register(iin(), &new),
        ];
        let history = document_history(iin(), &new, records);
        let numbers: Vec<&str> = history.iter().map(|r| r.number.as_str()).collect();
        assert_eq!(numbers, ["041234567", "016543210"]);
    }
}
