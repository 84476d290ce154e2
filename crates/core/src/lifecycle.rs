//! The life cycle of an application (domain.md §4) as one state machine.
//!
//! ```text
//! draft ──submit──▶ submitted ──route──▶ queued ──take──▶ under_review ──approve──▶ approved
//! under_review ──release──▶ queued            under_review ──annul──▶ annulled
//! approved ──start_production──▶ in_production ──dispatch──▶ dispatched
//! dispatched ──receive──▶ ready_for_pickup ──hand_over──▶ issued
//! draft | submitted | queued | under_review ──withdraw──▶ withdrawn
//! annulled | withdrawn: refund pending ──confirm_refund──▶ refunded
//! ```
//!
//! [`Application::decide`] checks a command and says what happens as an [`Event`];
//! [`Application::apply`] makes it so. Deciding is where every rule lives; applying only
//! copies the decided facts in, so a stored event history replays to the same application.
//!
//! Checks run in a fixed order — role, then scope, then state, then preconditions — so an
//! actor outside the application's scope (an officer of another region, another citizen)
//! is refused before anything about the application, even its state, shows in the answer.

use std::fmt;

use jiff::civil::Date;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::calendar::{CalendarError, WorkingCalendar};
use crate::digest::Sha256Digest;
use crate::document::{DocumentKind, DocumentNumber, ReplacedCard};
use crate::iin::Iin;
use crate::money::Tiyn;
use crate::readiness::{Attached, Readiness, Task};
use crate::region::{PointId, RegionCode};
use crate::ticket::TicketNumber;
use crate::time::almaty_date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApplicationId(pub Uuid);

impl fmt::Display for ApplicationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A staff member's account (officer, operator, administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StaffId(pub Uuid);

impl fmt::Display for StaffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationState {
    Draft,
    Submitted,
    /// In the region's queue, waiting for an УМС officer.
    Queued,
    /// Taken by one officer, who alone may approve or annul it.
    UnderReview,
    /// Certified by the officer's e-signature (R11); goes to production.
    Approved,
    InProduction,
    /// Made and on its way to the registration point.
    Dispatched,
    ReadyForPickup,
    Issued,
    Annulled,
    Withdrawn,
}

impl ApplicationState {
    pub const ALL: [ApplicationState; 11] = [
        ApplicationState::Draft,
        ApplicationState::Submitted,
        ApplicationState::Queued,
        ApplicationState::UnderReview,
        ApplicationState::Approved,
        ApplicationState::InProduction,
        ApplicationState::Dispatched,
        ApplicationState::ReadyForPickup,
        ApplicationState::Issued,
        ApplicationState::Annulled,
        ApplicationState::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ApplicationState::Draft => "draft",
            ApplicationState::Submitted => "submitted",
            ApplicationState::Queued => "queued",
            ApplicationState::UnderReview => "under_review",
            ApplicationState::Approved => "approved",
            ApplicationState::InProduction => "in_production",
            ApplicationState::Dispatched => "dispatched",
            ApplicationState::ReadyForPickup => "ready_for_pickup",
            ApplicationState::Issued => "issued",
            ApplicationState::Annulled => "annulled",
            ApplicationState::Withdrawn => "withdrawn",
        }
    }

    /// Still in progress. A person may have only one live application at a time; once it
    /// is issued, annulled or withdrawn they may apply again (R13).
    pub fn is_live(self) -> bool {
        !matches!(
            self,
            ApplicationState::Issued | ApplicationState::Annulled | ApplicationState::Withdrawn
        )
    }

    /// The officer has certified the application: from here on the document exists or is
    /// being made, so the citizen can no longer withdraw.
    fn is_approved_or_later(self) -> bool {
        matches!(
            self,
            ApplicationState::Approved
                | ApplicationState::InProduction
                | ApplicationState::Dispatched
                | ApplicationState::ReadyForPickup
                | ApplicationState::Issued
        )
    }
}

impl fmt::Display for ApplicationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state duty's refund after an annulment or a withdrawal (R13: refunded per the Tax Code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundState {
    Pending,
    Refunded,
}

impl RefundState {
    pub const ALL: [RefundState; 2] = [RefundState::Pending, RefundState::Refunded];

    pub fn as_str(self) -> &'static str {
        match self {
            RefundState::Pending => "pending",
            RefundState::Refunded => "refunded",
        }
    }
}

impl fmt::Display for RefundState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an officer annuls an application (R12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnnulmentReason {
    PhotoNonCompliant,
    SignatureNonCompliant,
    AdditionalVerificationRequired,
}

impl AnnulmentReason {
    pub const ALL: [AnnulmentReason; 3] = [
        AnnulmentReason::PhotoNonCompliant,
        AnnulmentReason::SignatureNonCompliant,
        AnnulmentReason::AdditionalVerificationRequired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AnnulmentReason::PhotoNonCompliant => "photo_non_compliant",
            AnnulmentReason::SignatureNonCompliant => "signature_non_compliant",
            AnnulmentReason::AdditionalVerificationRequired => "additional_verification_required",
        }
    }
}

impl fmt::Display for AnnulmentReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Citizen,
    Officer,
    ProductionOperator,
    PointOperator,
    Administrator,
    System,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Citizen,
        Role::Officer,
        Role::ProductionOperator,
        Role::PointOperator,
        Role::Administrator,
        Role::System,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Citizen => "citizen",
            Role::Officer => "officer",
            Role::ProductionOperator => "production_operator",
            Role::PointOperator => "point_operator",
            Role::Administrator => "administrator",
            Role::System => "system",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who acts, with the scope their role is limited to (domain.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Actor {
    /// The signed-in person, identified by the IIN of their session.
    Citizen {
        iin: Iin,
    },
    /// An УМС officer of one region.
    Officer {
        staff: StaffId,
        region: RegionCode,
    },
    /// The production centre (national: no narrower scope).
    ProductionOperator {
        staff: StaffId,
    },
    PointOperator {
        staff: StaffId,
        point: PointId,
    },
    /// Manages staff, rules and reference data; takes no part in the life cycle.
    Administrator {
        staff: StaffId,
    },
    /// The service itself: workers, the payment gateway's confirmed callbacks, timeouts.
    System,
}

impl Actor {
    pub fn role(&self) -> Role {
        match self {
            Actor::Citizen { .. } => Role::Citizen,
            Actor::Officer { .. } => Role::Officer,
            Actor::ProductionOperator { .. } => Role::ProductionOperator,
            Actor::PointOperator { .. } => Role::PointOperator,
            Actor::Administrator { .. } => Role::Administrator,
            Actor::System => Role::System,
        }
    }

    /// The staff account acting, if a staff member acts.
    pub fn staff(&self) -> Option<StaffId> {
        match self {
            Actor::Officer { staff, .. }
            | Actor::ProductionOperator { staff }
            | Actor::PointOperator { staff, .. }
            | Actor::Administrator { staff } => Some(*staff),
            Actor::Citizen { .. } | Actor::System => None,
        }
    }
}

/// The state duty as confirmed by the payment gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    /// The gateway's reference, needed to refund.
    pub reference: String,
    pub amount: Tiyn,
    pub paid_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annulment {
    pub reason: AnnulmentReason,
    /// Free text for the citizen: what to fix before applying again.
    pub comment: String,
}

/// What a submission is decided on besides the application itself: the automatic checks of
/// the attached photo and signature (a warning does not block, a failure does: the officer
/// would annul it), and whether the holder may still renew online today — the eligibility
/// decision from the register's facts, which can change between the draft and the submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmissionFacts {
    pub photo_check_failed: bool,
    pub signature_check_failed: bool,
    pub eligible: bool,
}

impl SubmissionFacts {
    /// Checks passed and eligible: for callers that know it (the demo's seeding, synthetic
    /// histories, tests).
    pub const ALL_CLEAR: SubmissionFacts = SubmissionFacts {
        photo_check_failed: false,
        signature_check_failed: false,
        eligible: true,
    };
}

/// What the officer tells the citizen with an annulment (R12): what to fix before applying
/// again. Never empty (the citizen must learn why), at most [`AnnulmentComment::MAX_CHARS`]
/// characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnulmentComment(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("an annulment needs a comment for the citizen of 1 to 1000 characters")]
pub struct AnnulmentCommentError;

impl AnnulmentCommentError {
    pub fn code(&self) -> &'static str {
        "comment_required"
    }
}

impl AnnulmentComment {
    pub const MAX_CHARS: usize = 1000;

    pub fn parse(text: &str) -> Result<AnnulmentComment, AnnulmentCommentError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > Self::MAX_CHARS {
            return Err(AnnulmentCommentError);
        }
        Ok(AnnulmentComment(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How long an officer may hold an application without deciding before the service returns
/// it to the region's queue (an assumption: the order sets no figure).
pub const REVIEW_TIMEOUT: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);

/// The working-day rules a decision needs, passed in so that they stay data.
#[derive(Debug, Clone, Copy)]
pub struct LifecyclePolicy<'a> {
    pub calendar: &'a WorkingCalendar,
    /// The service's deadline in working days after the submission date (15 by the
    /// service rules).
    pub processing_working_days: u32,
    /// How long a taken application may wait for the officer's decision before the service
    /// releases it ([`REVIEW_TIMEOUT`]).
    pub review_timeout: jiff::SignedDuration,
}

/// One application for a new document.
///
/// The fields are public so that a store can load and save them; change them only through
/// [`Application::handle`] (or [`Application::apply`] of a decided event), and check a
/// loaded value with [`Application::check_invariants`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    /// The document holder, who alone may act as the citizen on it (R7).
    pub applicant: Iin,
    pub document_kind: DocumentKind,
    /// The region of the registered address: whose УМС reviews it (R9).
    pub region: RegionCode,
    pub created_at: Timestamp,
    /// Where the document will be collected (R14); in `region`.
    pub registration_point: Option<PointId>,
    pub photo: Option<Sha256Digest>,
    pub signature: Option<Sha256Digest>,
    pub payment: Option<Payment>,
    pub state: ApplicationState,
    pub ticket: Option<TicketNumber>,
    pub submitted_at: Option<Timestamp>,
    /// The Almaty date by which the service must be done (working days after submission).
    pub due_date: Option<Date>,
    /// The officer who took the application, while it is under review.
    pub reviewer: Option<StaffId>,
    /// When the reviewer took it: the abandon timeout counts from here.
    pub taken_at: Option<Timestamp>,
    pub approved_by: Option<StaffId>,
    pub approved_at: Option<Timestamp>,
    pub annulment: Option<Annulment>,
    pub refund: Option<RefundState>,
    /// The new document's number, assigned when it is made (dispatch).
    #[serde(default)]
    pub document_number: Option<String>,
}

/// What an actor asks to do. Who may ask, and in which state, is decided by
/// [`Application::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Citizen, draft. The point must be in the application's region.
    ChooseRegistrationPoint(PointId),
    /// Citizen, draft. Replaces an earlier photo.
    AttachPhoto(Sha256Digest),
    /// Citizen, draft. Replaces an earlier signature image.
    AttachSignature(Sha256Digest),
    /// System (the payment gateway's confirmed callback), draft, once.
    RecordPayment(Payment),
    /// Citizen, draft → submitted; the ticket is drawn by the caller (R8), the facts are
    /// gathered by the caller (domain.md §4: "submit(paid, checks passed)").
    Submit {
        ticket: TicketNumber,
        facts: SubmissionFacts,
    },
    /// System, submitted → queued (the region's queue, R9).
    Route,
    /// Officer of the region, queued → under_review.
    Take,
    /// System (abandon timeout) or the reviewing officer, under_review → queued.
    Release,
    /// The reviewing officer, under_review → approved. The e-signature is verified before
    /// this command is issued, outside the core.
    Approve,
    /// The reviewing officer, under_review → annulled (R12).
    Annul {
        reason: AnnulmentReason,
        comment: AnnulmentComment,
    },
    /// Production operator, approved → in_production.
    StartProduction,
    /// Production operator, in_production → dispatched.
    Dispatch { document_number: String },
    /// Operator of the chosen point, dispatched → ready_for_pickup.
    Receive,
    /// Operator of the chosen point, ready_for_pickup → issued, against the ticket (R14).
    /// `replaced` is the holder's current card as the register has it, with what the desk
    /// did with it: the new document replaces it (see [`crate::issuance`]).
    HandOver {
        ticket: TicketNumber,
        replaced: ReplacedCard,
    },
    /// Citizen, before approval → withdrawn.
    Withdraw,
    /// System, once the refund has been paid out; the state does not change.
    ConfirmRefund,
}

impl Command {
    pub fn name(&self) -> &'static str {
        match self {
            Command::ChooseRegistrationPoint(_) => "choose_registration_point",
            Command::AttachPhoto(_) => "attach_photo",
            Command::AttachSignature(_) => "attach_signature",
            Command::RecordPayment(_) => "record_payment",
            Command::Submit { .. } => "submit",
            Command::Route => "route",
            Command::Take => "take",
            Command::Release => "release",
            Command::Approve => "approve",
            Command::Annul { .. } => "annul",
            Command::StartProduction => "start_production",
            Command::Dispatch { .. } => "dispatch",
            Command::Receive => "receive",
            Command::HandOver { .. } => "hand_over",
            Command::Withdraw => "withdraw",
            Command::ConfirmRefund => "confirm_refund",
        }
    }

    /// The state this command leads to from `from`, if the diagram has that arrow.
    fn next_state(&self, from: ApplicationState) -> Option<ApplicationState> {
        use ApplicationState::*;
        match (self, from) {
            (
                Command::ChooseRegistrationPoint(_)
                | Command::AttachPhoto(_)
                | Command::AttachSignature(_)
                | Command::RecordPayment(_),
                Draft,
            ) => Some(Draft),
            (Command::Submit { .. }, Draft) => Some(Submitted),
            (Command::Route, Submitted) => Some(Queued),
            (Command::Take, Queued) => Some(UnderReview),
            (Command::Release, UnderReview) => Some(Queued),
            (Command::Approve, UnderReview) => Some(Approved),
            (Command::Annul { .. }, UnderReview) => Some(Annulled),
            (Command::StartProduction, Approved) => Some(InProduction),
            (Command::Dispatch { .. }, InProduction) => Some(Dispatched),
            (Command::Receive, Dispatched) => Some(ReadyForPickup),
            (Command::HandOver { .. }, ReadyForPickup) => Some(Issued),
            (Command::Withdraw, Draft | Submitted | Queued | UnderReview) => Some(Withdrawn),
            (Command::ConfirmRefund, Annulled | Withdrawn) => Some(from),
            _ => None,
        }
    }
}

/// What happened, with the facts needed to apply it; one kind per command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    RegistrationPointChosen {
        point: PointId,
    },
    PhotoAttached {
        photo: Sha256Digest,
    },
    SignatureAttached {
        signature: Sha256Digest,
    },
    PaymentRecorded {
        payment: Payment,
    },
    Submitted {
        ticket: TicketNumber,
        due_date: Date,
    },
    Routed,
    Taken {
        officer: StaffId,
    },
    Released,
    Approved {
        officer: StaffId,
    },
    Annulled {
        reason: AnnulmentReason,
        comment: String,
    },
    ProductionStarted,
    Dispatched {
        document_number: String,
    },
    Received,
    HandedOver {
        /// The card the new document replaced (absent in events recorded before the
        /// service kept the person's documents).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replaced: Option<ReplacedCard>,
    },
    Withdrawn,
    RefundConfirmed,
}

impl EventKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            EventKind::RegistrationPointChosen { .. } => "registration_point_chosen",
            EventKind::PhotoAttached { .. } => "photo_attached",
            EventKind::SignatureAttached { .. } => "signature_attached",
            EventKind::PaymentRecorded { .. } => "payment_recorded",
            EventKind::Submitted { .. } => "submitted",
            EventKind::Routed => "routed",
            EventKind::Taken { .. } => "taken",
            EventKind::Released => "released",
            EventKind::Approved { .. } => "approved",
            EventKind::Annulled { .. } => "annulled",
            EventKind::ProductionStarted => "production_started",
            EventKind::Dispatched { .. } => "dispatched",
            EventKind::Received => "received",
            EventKind::HandedOver { .. } => "handed_over",
            EventKind::Withdrawn => "withdrawn",
            EventKind::RefundConfirmed => "refund_confirmed",
        }
    }
}

/// Whether an event belongs in the citizen's status history: every change of state, plus the
/// payment and the refund, which leave the state as it was. Decided by the event's name
/// ([`EventKind::as_str`]), so that a timeline read from the event rows' columns is filtered
/// without decoding each event.
pub fn in_status_history(kind: &str, from: ApplicationState, to: ApplicationState) -> bool {
    from != to || matches!(kind, "payment_recorded" | "refund_confirmed")
}

/// One recorded step: who, when, from, to, and why (an annulment's reason and comment are
/// in its kind). This is the citizen's status history and the source of notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub application: ApplicationId,
    pub kind: EventKind,
    pub from: ApplicationState,
    pub to: ApplicationState,
    pub actor: Actor,
    pub at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("cannot {command} an application that is {state}")]
    IllegalTransition {
        command: &'static str,
        state: ApplicationState,
    },
    #[error("the {role} role cannot {command} an application")]
    WrongRole { command: &'static str, role: Role },
    #[error("only the applicant can act on their application")]
    NotTheApplicant,
    #[error("the application is not in the officer's region")]
    OtherRegion,
    #[error("only the officer who took the application can do this")]
    NotTheReviewer,
    #[error("the application is not collected at this registration point")]
    WrongRegistrationPoint,
    #[error("registration point {point} is not in region {region}")]
    PointOutsideRegion { point: PointId, region: RegionCode },
    /// Parts of the draft are not done (or need fixing): every one of them, in the task
    /// list's order.
    #[error("complete these parts first: {unfinished:?}")]
    Incomplete { unfinished: Vec<Task> },
    #[error("the state duty for this application is already paid")]
    AlreadyPaid,
    #[error("the ticket number does not match the application")]
    TicketMismatch,
    #[error("the new document's number is not in its kind's format")]
    BadDocumentNumber,
    #[error("no refund is pending for this application")]
    NoRefundPending,
    #[error("the review has not waited the timeout yet")]
    ReviewNotAbandoned,
    #[error("the holder may not renew online today")]
    NotEligible,
    #[error("the register's current document is not the one this application replaces")]
    RegisterDocumentMismatch,
    #[error("cannot compute the due date: {0}")]
    Calendar(#[from] CalendarError),
}

impl LifecycleError {
    pub fn code(&self) -> &'static str {
        match self {
            LifecycleError::IllegalTransition { .. } => "illegal_transition",
            LifecycleError::WrongRole { .. } => "wrong_role",
            LifecycleError::NotTheApplicant => "not_the_applicant",
            LifecycleError::OtherRegion => "other_region",
            LifecycleError::NotTheReviewer => "not_the_reviewer",
            LifecycleError::WrongRegistrationPoint => "wrong_registration_point",
            LifecycleError::PointOutsideRegion { .. } => "point_outside_region",
            LifecycleError::Incomplete { .. } => "application_incomplete",
            LifecycleError::AlreadyPaid => "already_paid",
            LifecycleError::TicketMismatch => "ticket_mismatch",
            LifecycleError::BadDocumentNumber => "bad_document_number",
            LifecycleError::NoRefundPending => "no_refund_pending",
            LifecycleError::ReviewNotAbandoned => "review_not_abandoned",
            LifecycleError::NotEligible => "not_eligible",
            LifecycleError::RegisterDocumentMismatch => "register_document_mismatch",
            // The calendar's own code; a due-date computation can only fail as
            // "calendar_not_covered" (the year has no data yet).
            LifecycleError::Calendar(e) => e.code(),
        }
    }
}

impl Application {
    pub fn new_draft(
        id: ApplicationId,
        applicant: Iin,
        document_kind: DocumentKind,
        region: RegionCode,
        created_at: Timestamp,
    ) -> Application {
        Application {
            id,
            applicant,
            document_kind,
            region,
            created_at,
            registration_point: None,
            photo: None,
            signature: None,
            payment: None,
            state: ApplicationState::Draft,
            ticket: None,
            submitted_at: None,
            due_date: None,
            reviewer: None,
            taken_at: None,
            approved_by: None,
            approved_at: None,
            annulment: None,
            refund: None,
            document_number: None,
        }
    }

    /// Decides `command` by `actor` at `at`, then applies it.
    pub fn handle(
        &mut self,
        command: &Command,
        actor: &Actor,
        at: Timestamp,
        policy: &LifecyclePolicy,
    ) -> Result<Event, LifecycleError> {
        let event = self.decide(command, actor, at, policy)?;
        self.apply(&event);
        Ok(event)
    }

    /// Checks `command` against the rules and returns the event it leads to, changing
    /// nothing. Checks run role → scope → state → preconditions.
    pub fn decide(
        &self,
        command: &Command,
        actor: &Actor,
        at: Timestamp,
        policy: &LifecyclePolicy,
    ) -> Result<Event, LifecycleError> {
        self.authorize(command, actor)?;
        let to = command
            .next_state(self.state)
            .ok_or(LifecycleError::IllegalTransition {
                command: command.name(),
                state: self.state,
            })?;
        let kind = match command {
            Command::ChooseRegistrationPoint(point) => {
                if point.region() != self.region {
                    return Err(LifecycleError::PointOutsideRegion {
                        point: point.clone(),
                        region: self.region,
                    });
                }
                EventKind::RegistrationPointChosen {
                    point: point.clone(),
                }
            }
            Command::AttachPhoto(photo) => EventKind::PhotoAttached { photo: *photo },
            Command::AttachSignature(signature) => EventKind::SignatureAttached {
                signature: *signature,
            },
            Command::RecordPayment(payment) => {
                // A second payment would take the duty twice; the gateway must refund it.
                if self.payment.is_some() {
                    return Err(LifecycleError::AlreadyPaid);
                }
                EventKind::PaymentRecorded {
                    payment: payment.clone(),
                }
            }
            Command::Submit { ticket, facts } => {
                self.ready(facts, Readiness::unfinished)?;
                // The deadline counts from the Kazakhstan date of submission, not UTC's.
                let due_date = policy
                    .calendar
                    .add_working_days(almaty_date(at), policy.processing_working_days)?;
                EventKind::Submitted {
                    ticket: *ticket,
                    due_date,
                }
            }
            Command::Route => EventKind::Routed,
            Command::Take => EventKind::Taken {
                officer: self.officer(command, actor)?,
            },
            Command::Release => {
                // An officer releases only their own review; the service (System) anyone's,
                // once it has waited the policy's timeout.
                match actor {
                    Actor::Officer { .. } => {
                        self.reviewing_officer(actor)?;
                    }
                    _ if !self.review_abandoned(at, policy) => {
                        return Err(LifecycleError::ReviewNotAbandoned);
                    }
                    _ => {}
                }
                EventKind::Released
            }
            Command::Approve => EventKind::Approved {
                officer: self.reviewing_officer(actor)?,
            },
            Command::Annul { reason, comment } => {
                self.reviewing_officer(actor)?;
                EventKind::Annulled {
                    reason: *reason,
                    comment: comment.as_str().to_string(),
                }
            }
            Command::StartProduction => EventKind::ProductionStarted,
            Command::Dispatch { document_number } => {
                let number = DocumentNumber::parse(self.document_kind, document_number)
                    .map_err(|_| LifecycleError::BadDocumentNumber)?;
                EventKind::Dispatched {
                    document_number: number.as_str().to_string(),
                }
            }
            Command::Receive => EventKind::Received,
            Command::HandOver { ticket, replaced } => {
                if self.ticket != Some(*ticket) {
                    return Err(LifecycleError::TicketMismatch);
                }
                // The new document replaces the holder's current one of the same kind; a
                // register that shows another kind, or already the new number, no longer
                // describes the card this application renews.
                if replaced.kind != self.document_kind
                    || self.document_number.as_deref() == Some(replaced.number.as_str())
                {
                    return Err(LifecycleError::RegisterDocumentMismatch);
                }
                EventKind::HandedOver {
                    replaced: Some(replaced.clone()),
                }
            }
            Command::Withdraw => EventKind::Withdrawn,
            Command::ConfirmRefund => {
                if self.refund != Some(RefundState::Pending) {
                    return Err(LifecycleError::NoRefundPending);
                }
                EventKind::RefundConfirmed
            }
        };
        Ok(Event {
            application: self.id,
            kind,
            from: self.state,
            to,
            actor: actor.clone(),
            at,
        })
    }

    /// Applies a decided event. It does not re-check the rules: events come from
    /// [`Application::decide`] (now, or replayed from the store).
    pub fn apply(&mut self, event: &Event) {
        match &event.kind {
            EventKind::RegistrationPointChosen { point } => {
                self.registration_point = Some(point.clone());
            }
            EventKind::PhotoAttached { photo } => self.photo = Some(*photo),
            EventKind::SignatureAttached { signature } => self.signature = Some(*signature),
            EventKind::PaymentRecorded { payment } => self.payment = Some(payment.clone()),
            EventKind::Submitted { ticket, due_date } => {
                self.ticket = Some(*ticket);
                self.submitted_at = Some(event.at);
                self.due_date = Some(*due_date);
            }
            EventKind::Taken { officer } => {
                self.reviewer = Some(*officer);
                self.taken_at = Some(event.at);
            }
            EventKind::Released => self.end_review(),
            EventKind::Approved { officer } => {
                self.end_review();
                self.approved_by = Some(*officer);
                self.approved_at = Some(event.at);
            }
            EventKind::Annulled { reason, comment } => {
                self.end_review();
                self.annulment = Some(Annulment {
                    reason: *reason,
                    comment: comment.clone(),
                });
                self.refund_if_paid();
            }
            EventKind::Withdrawn => {
                self.end_review();
                self.refund_if_paid();
            }
            EventKind::RefundConfirmed => self.refund = Some(RefundState::Refunded),
            EventKind::Dispatched { document_number } => {
                self.document_number = Some(document_number.clone());
            }
            EventKind::Routed
            | EventKind::ProductionStarted
            | EventKind::Received
            | EventKind::HandedOver { .. } => {}
        }
        self.state = event.to;
    }

    /// Whether `event`, just applied to this application, asks for the duty back (R13): an
    /// annulment or a withdrawal of a paid application. The payment records to refund follow
    /// from this alone.
    pub fn refund_requested_by(&self, event: &Event) -> bool {
        matches!(
            event.kind,
            EventKind::Annulled { .. } | EventKind::Withdrawn
        ) && self.refund == Some(RefundState::Pending)
    }

    /// Whether `actor` may start paying the state duty: the applicant, once, on a draft whose
    /// other parts are all done and usable (`facts`), while eligible. (The payment itself
    /// arrives later as the gateway's confirmed callback, `RecordPayment`; starting it changes
    /// nothing here, so it is a decision without an event.)
    pub fn may_start_payment(
        &self,
        actor: &Actor,
        facts: &SubmissionFacts,
    ) -> Result<(), LifecycleError> {
        match actor {
            Actor::Citizen { iin } if *iin == self.applicant => {}
            Actor::Citizen { .. } => return Err(LifecycleError::NotTheApplicant),
            _ => {
                return Err(LifecycleError::WrongRole {
                    command: "start_payment",
                    role: actor.role(),
                })
            }
        }
        // A paid application is told so, whatever its state: the duty is not taken twice.
        if self.payment.is_some() {
            return Err(LifecycleError::AlreadyPaid);
        }
        if self.state != ApplicationState::Draft {
            return Err(LifecycleError::IllegalTransition {
                command: "start_payment",
                state: self.state,
            });
        }
        // The duty is paid last: never for an application that cannot be sent as it is.
        self.ready(facts, Readiness::unfinished_before_payment)
    }

    /// Every part `needed` names is done (else all of them are named at once), and the
    /// holder is still eligible.
    fn ready(
        &self,
        facts: &SubmissionFacts,
        needed: fn(&Readiness) -> Vec<Task>,
    ) -> Result<(), LifecycleError> {
        let readiness = self.readiness(facts.photo_check_failed, facts.signature_check_failed);
        let unfinished = needed(&readiness);
        if !unfinished.is_empty() {
            return Err(LifecycleError::Incomplete { unfinished });
        }
        if !facts.eligible {
            return Err(LifecycleError::NotEligible);
        }
        Ok(())
    }

    /// Where the draft stands: every part's status, from the application and whether the
    /// automatic checks of its images failed.
    pub fn readiness(&self, photo_check_failed: bool, signature_check_failed: bool) -> Readiness {
        Readiness::new(
            self.registration_point.is_some(),
            Attached::of(self.photo.is_some(), photo_check_failed),
            Attached::of(self.signature.is_some(), signature_check_failed),
            self.payment.is_some(),
        )
    }

    /// Taken for review and left without a decision for the policy's timeout at `at`.
    pub fn review_abandoned(&self, at: Timestamp, policy: &LifecyclePolicy) -> bool {
        self.state == ApplicationState::UnderReview
            && self
                .taken_at
                .and_then(|taken| taken.checked_add(policy.review_timeout).ok())
                .is_some_and(|due| at >= due)
    }

    /// Whether `actor` may see this application at all (R7 and domain.md §3): the applicant;
    /// an officer of its region; the operator of the point it is collected at; the
    /// production centre once it is submitted. Nobody else — not an administrator: what is
    /// not yours is answered as if it did not exist.
    pub fn visible_to(&self, actor: &Actor) -> bool {
        match actor {
            Actor::Citizen { iin } => *iin == self.applicant,
            Actor::Officer { region, .. } => *region == self.region,
            Actor::PointOperator { point, .. } => self.registration_point.as_ref() == Some(point),
            Actor::ProductionOperator { .. } => self.state != ApplicationState::Draft,
            Actor::Administrator { .. } | Actor::System => false,
        }
    }

    /// Past its due date (15 working days after submission) on `today` and still waiting
    /// for the service: late work the staff must see. Ready for pickup or finished is not late.
    pub fn is_overdue(&self, today: Date) -> bool {
        use ApplicationState::*;
        let waiting = matches!(
            self.state,
            Submitted | Queued | UnderReview | Approved | InProduction | Dispatched
        );
        waiting && self.due_date.is_some_and(|due| today > due)
    }

    /// The rules that hold between the fields in every reachable application.
    pub fn check_invariants(&self) -> Result<(), String> {
        use ApplicationState::*;
        let state = self.state;
        let submitted = self.ticket.is_some();
        if self.submitted_at.is_some() != submitted || self.due_date.is_some() != submitted {
            return Err("ticket, submitted_at and due_date must be set together".into());
        }
        // Withdrawn is the one state reachable both before and after submission.
        if state == Draft && submitted {
            return Err("a draft has no ticket".into());
        }
        if !matches!(state, Draft | Withdrawn) && !submitted {
            return Err(format!("a {state} application must have a ticket"));
        }
        if submitted
            && (self.registration_point.is_none()
                || self.photo.is_none()
                || self.signature.is_none()
                || self.payment.is_none())
        {
            return Err("a submitted application has a point, photo, signature and payment".into());
        }
        if let Some(point) = &self.registration_point {
            if point.region() != self.region {
                return Err(format!("point {point} is outside region {}", self.region));
            }
        }
        let under_review = state == UnderReview;
        if self.reviewer.is_some() != under_review || self.taken_at.is_some() != under_review {
            return Err(format!(
                "reviewer and taken_at are set iff under review (state {state})"
            ));
        }
        let approved = state.is_approved_or_later();
        if self.approved_by.is_some() != approved || self.approved_at.is_some() != approved {
            return Err(format!(
                "approved_by and approved_at are set iff approved or later (state {state})"
            ));
        }
        let made = matches!(state, Dispatched | ReadyForPickup | Issued);
        if self.document_number.is_some() != made {
            return Err(format!(
                "document_number is set iff the document was made (state {state})"
            ));
        }
        if self.annulment.is_some() != (state == Annulled) {
            return Err(format!("annulment is set iff annulled (state {state})"));
        }
        let refund_due = matches!(state, Annulled | Withdrawn) && self.payment.is_some();
        if self.refund.is_some() != refund_due {
            return Err(format!(
                "refund is set iff a paid application ended early (state {state})"
            ));
        }
        Ok(())
    }

    /// Role and scope: may this actor issue this command on this application at all?
    fn authorize(&self, command: &Command, actor: &Actor) -> Result<(), LifecycleError> {
        let wrong_role = || LifecycleError::WrongRole {
            command: command.name(),
            role: actor.role(),
        };
        match command {
            Command::ChooseRegistrationPoint(_)
            | Command::AttachPhoto(_)
            | Command::AttachSignature(_)
            | Command::Submit { .. }
            | Command::Withdraw => match actor {
                // R7: personally — the session's IIN must be the holder's.
                Actor::Citizen { iin } if *iin == self.applicant => Ok(()),
                Actor::Citizen { .. } => Err(LifecycleError::NotTheApplicant),
                _ => Err(wrong_role()),
            },
            Command::RecordPayment(_) | Command::Route | Command::ConfirmRefund => match actor {
                Actor::System => Ok(()),
                _ => Err(wrong_role()),
            },
            Command::Take | Command::Approve | Command::Annul { .. } => {
                self.officer(command, actor).map(|_| ())
            }
            Command::Release => match actor {
                Actor::System => Ok(()),
                _ => self.officer(command, actor).map(|_| ()),
            },
            Command::StartProduction | Command::Dispatch { .. } => match actor {
                Actor::ProductionOperator { .. } => Ok(()),
                _ => Err(wrong_role()),
            },
            Command::Receive | Command::HandOver { .. } => match actor {
                Actor::PointOperator { point, .. }
                    if self.registration_point.as_ref() == Some(point) =>
                {
                    Ok(())
                }
                Actor::PointOperator { .. } => Err(LifecycleError::WrongRegistrationPoint),
                _ => Err(wrong_role()),
            },
        }
    }

    /// The acting officer, if the actor is an officer of the application's region.
    fn officer(&self, command: &Command, actor: &Actor) -> Result<StaffId, LifecycleError> {
        match actor {
            Actor::Officer { staff, region } if *region == self.region => Ok(*staff),
            Actor::Officer { .. } => Err(LifecycleError::OtherRegion),
            _ => Err(LifecycleError::WrongRole {
                command: command.name(),
                role: actor.role(),
            }),
        }
    }

    /// The acting officer, if they are the one who took the application.
    fn reviewing_officer(&self, actor: &Actor) -> Result<StaffId, LifecycleError> {
        match (actor, self.reviewer) {
            (Actor::Officer { staff, .. }, Some(reviewer)) if *staff == reviewer => Ok(reviewer),
            _ => Err(LifecycleError::NotTheReviewer),
        }
    }

    fn end_review(&mut self) {
        self.reviewer = None;
        self.taken_at = None;
    }

    fn refund_if_paid(&mut self) {
        if self.payment.is_some() {
            self.refund = Some(RefundState::Pending);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iin::Sex;
    use jiff::civil::date;
    use jiff::SignedDuration;
    use proptest::prelude::*;
    use std::sync::LazyLock;
    use ApplicationState::*;

    static CALENDAR: LazyLock<WorkingCalendar> = LazyLock::new(WorkingCalendar::builtin);

    fn policy() -> LifecyclePolicy<'static> {
        LifecyclePolicy {
            calendar: &CALENDAR,
            processing_working_days: 15,
            review_timeout: REVIEW_TIMEOUT,
        }
    }

    /// Thursday 11 December 2025, 09:00 in Almaty.
    fn t0() -> Timestamp {
        "2025-12-11T04:00:00Z".parse().unwrap()
    }

    fn later(minutes: i64) -> Timestamp {
        t0().checked_add(SignedDuration::from_mins(minutes))
            .unwrap()
    }

    fn staff(n: u128) -> StaffId {
        StaffId(Uuid::from_u128(n))
    }

    fn point(s: &str) -> PointId {
        s.parse().unwrap()
    }

    fn region(s: &str) -> RegionCode {
        s.parse().unwrap()
    }

    fn applicant() -> Iin {
        Iin::parse("900515301234").unwrap()
    }

    fn citizen() -> Actor {
        Actor::Citizen { iin: applicant() }
    }

    fn stranger() -> Actor {
        let iin = (0..100)
            .find_map(|serial| Iin::from_parts(date(1985, 3, 2), Sex::Female, serial))
            .unwrap();
        assert_ne!(iin, applicant());
        Actor::Citizen { iin }
    }

    fn officer_a() -> Actor {
        Actor::Officer {
            staff: staff(1),
            region: region("71"),
        }
    }

    fn officer_b() -> Actor {
        Actor::Officer {
            staff: staff(2),
            region: region("71"),
        }
    }

    fn officer_elsewhere() -> Actor {
        Actor::Officer {
            staff: staff(3),
            region: region("75"),
        }
    }

    fn production() -> Actor {
        Actor::ProductionOperator { staff: staff(4) }
    }

    fn desk() -> Actor {
        Actor::PointOperator {
            staff: staff(5),
            point: point("71-01"),
        }
    }

    fn other_desk() -> Actor {
        Actor::PointOperator {
            staff: staff(6),
            point: point("71-02"),
        }
    }

    fn admin() -> Actor {
        Actor::Administrator { staff: staff(7) }
    }

    fn ticket() -> TicketNumber {
        TicketNumber::from_random_bits(0x1234_5678_9abc)
    }

    fn other_ticket() -> TicketNumber {
        TicketNumber::from_random_bits(0x1234_5678_9abd)
    }

    /// The hand-over of the new card against `ticket`, the old card surrendered.
    fn hand_over(ticket: TicketNumber) -> Command {
        Command::HandOver {
            ticket,
            replaced: ReplacedCard {
                kind: DocumentKind::IdentityCard,
                number: "039876543".into(),
                old_card: crate::document::OldCard::Surrendered,
            },
        }
    }

    fn digest(byte: u8) -> Sha256Digest {
        Sha256Digest::from_bytes([byte; 32])
    }

    fn payment() -> Payment {
        Payment {
            reference: "GW-2025-000123".into(),
            amount: Tiyn(78_640),
            paid_at: t0(),
        }
    }

    #[test]
    fn the_status_history_is_the_state_changes_plus_the_payment_and_the_refund() {
        let paid = EventKind::PaymentRecorded { payment: payment() };
        assert!(in_status_history(paid.as_str(), Draft, Draft));
        assert!(in_status_history(
            EventKind::RefundConfirmed.as_str(),
            Annulled,
            Annulled
        ));
        assert!(in_status_history(
            EventKind::Routed.as_str(),
            Submitted,
            Queued
        ));
        let photo = EventKind::PhotoAttached { photo: digest(1) };
        assert!(!in_status_history(photo.as_str(), Draft, Draft));
        assert!(!in_status_history(
            EventKind::SignatureAttached {
                signature: digest(2)
            }
            .as_str(),
            Draft,
            Draft
        ));
    }

    fn annul_photo() -> Command {
        Command::Annul {
            reason: AnnulmentReason::PhotoNonCompliant,
            comment: AnnulmentComment::parse("The background is not plain white.").unwrap(),
        }
    }

    fn new_draft() -> Application {
        Application::new_draft(
            ApplicationId(Uuid::from_u128(42)),
            applicant(),
            DocumentKind::IdentityCard,
            region("71"),
            t0(),
        )
    }

    /// The diagram's main road, from an empty draft to the document handed over.
    fn main_road() -> Vec<(Command, Actor)> {
        vec![
            (Command::ChooseRegistrationPoint(point("71-01")), citizen()),
            (Command::AttachPhoto(digest(1)), citizen()),
            (Command::AttachSignature(digest(2)), citizen()),
            (Command::RecordPayment(payment()), Actor::System),
            (
                Command::Submit {
                    ticket: ticket(),
                    facts: SubmissionFacts::ALL_CLEAR,
                },
                citizen(),
            ),
            (Command::Route, Actor::System),
            (Command::Take, officer_a()),
            (Command::Approve, officer_a()),
            (Command::StartProduction, production()),
            (
                Command::Dispatch {
                    document_number: "041234567".into(),
                },
                production(),
            ),
            (Command::Receive, desk()),
            (hand_over(ticket()), desk()),
        ]
    }

    fn run(app: &mut Application, steps: &[(Command, Actor)]) -> Vec<Event> {
        steps
            .iter()
            .enumerate()
            .map(|(i, (command, actor))| {
                let event = app
                    .handle(command, actor, later(10 * i as i64), &policy())
                    .unwrap_or_else(|e| panic!("{} by {actor:?}: {e}", command.name()));
                app.check_invariants().unwrap();
                event
            })
            .collect()
    }

    /// A paid application in `state`, taken there along the diagram (a draft is ready to
    /// submit; annulled and withdrawn ones have a refund pending).
    fn reach(state: ApplicationState) -> Application {
        let road = main_road();
        let (steps, extra): (usize, Option<(Command, Actor)>) = match state {
            Draft => (4, None),
            Submitted => (5, None),
            Queued => (6, None),
            UnderReview => (7, None),
            Approved => (8, None),
            InProduction => (9, None),
            Dispatched => (10, None),
            ReadyForPickup => (11, None),
            Issued => (12, None),
            Annulled => (7, Some((annul_photo(), officer_a()))),
            Withdrawn => (6, Some((Command::Withdraw, citizen()))),
        };
        let mut app = new_draft();
        run(&mut app, &road[..steps]);
        if let Some((command, actor)) = extra {
            app.handle(&command, &actor, later(500), &policy()).unwrap();
        }
        assert_eq!(app.state, state);
        app
    }

    /// One command of each kind, with arguments that pass its preconditions on `reach(..)`.
    fn one_of_each_command() -> Vec<Command> {
        vec![
            Command::ChooseRegistrationPoint(point("71-02")),
            Command::AttachPhoto(digest(3)),
            Command::AttachSignature(digest(4)),
            Command::RecordPayment(payment()),
            Command::Submit {
                ticket: ticket(),
                facts: SubmissionFacts::ALL_CLEAR,
            },
            Command::Route,
            Command::Take,
            Command::Release,
            Command::Approve,
            annul_photo(),
            Command::StartProduction,
            Command::Dispatch {
                document_number: "041234567".into(),
            },
            Command::Receive,
            hand_over(ticket()),
            Command::Withdraw,
            Command::ConfirmRefund,
        ]
    }

    /// Who may issue a command on the application built by `reach` (no wildcard: a new
    /// command does not compile until it is given one).
    fn right_actor(command: &Command) -> Actor {
        match command {
            Command::ChooseRegistrationPoint(_)
            | Command::AttachPhoto(_)
            | Command::AttachSignature(_)
            | Command::Submit { .. }
            | Command::Withdraw => citizen(),
            Command::RecordPayment(_) | Command::Route | Command::ConfirmRefund => Actor::System,
            Command::Take | Command::Release | Command::Approve | Command::Annul { .. } => {
                officer_a()
            }
            Command::StartProduction | Command::Dispatch { .. } => production(),
            Command::Receive | Command::HandOver { .. } => desk(),
        }
    }

    /// domain.md §4, written out arrow by arrow: (from, command, to).
    const DIAGRAM: &[(ApplicationState, &str, ApplicationState)] = &[
        (Draft, "choose_registration_point", Draft),
        (Draft, "attach_photo", Draft),
        (Draft, "attach_signature", Draft),
        (Draft, "record_payment", Draft),
        (Draft, "submit", Submitted),
        (Submitted, "route", Queued),
        (Queued, "take", UnderReview),
        (UnderReview, "release", Queued),
        (UnderReview, "approve", Approved),
        (UnderReview, "annul", Annulled),
        (Approved, "start_production", InProduction),
        (InProduction, "dispatch", Dispatched),
        (Dispatched, "receive", ReadyForPickup),
        (ReadyForPickup, "hand_over", Issued),
        (Draft, "withdraw", Withdrawn),
        (Submitted, "withdraw", Withdrawn),
        (Queued, "withdraw", Withdrawn),
        (UnderReview, "withdraw", Withdrawn),
        (Annulled, "confirm_refund", Annulled),
        (Withdrawn, "confirm_refund", Withdrawn),
    ];

    fn diagram(from: ApplicationState, command: &str) -> Option<ApplicationState> {
        DIAGRAM
            .iter()
            .find(|(f, c, _)| *f == from && *c == command)
            .map(|(_, _, to)| *to)
    }

    #[test]
    fn the_main_road_from_draft_to_issued() {
        let mut app = new_draft();
        app.check_invariants().unwrap();
        assert!(app.state.is_live());
        let events = run(&mut app, &main_road());

        let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "registration_point_chosen",
                "photo_attached",
                "signature_attached",
                "payment_recorded",
                "submitted",
                "routed",
                "taken",
                "approved",
                "production_started",
                "dispatched",
                "received",
                "handed_over",
            ]
        );
        let path: Vec<ApplicationState> = events.iter().map(|e| e.to).collect();
        assert_eq!(
            path,
            [
                Draft,
                Draft,
                Draft,
                Draft,
                Submitted,
                Queued,
                UnderReview,
                Approved,
                InProduction,
                Dispatched,
                ReadyForPickup,
                Issued
            ]
        );
        for pair in events.windows(2) {
            assert_eq!(pair[0].to, pair[1].from);
        }
        assert!(events.iter().all(|e| e.application == app.id));

        // Submitted on Thursday 11 Dec 2025: 15 working days (16 Dec, 1–2 Jan off) → 6 Jan.
        assert_eq!(app.ticket, Some(ticket()));
        assert_eq!(app.submitted_at, Some(later(40)));
        assert_eq!(app.due_date, Some(date(2026, 1, 6)));
        assert_eq!(
            events[4].kind,
            EventKind::Submitted {
                ticket: ticket(),
                due_date: date(2026, 1, 6)
            }
        );
        assert_eq!(events[6].kind, EventKind::Taken { officer: staff(1) });
        assert_eq!(events[6].actor, officer_a());
        assert_eq!(app.approved_by, Some(staff(1)));
        assert_eq!(app.approved_at, Some(later(70)));
        assert_eq!(app.reviewer, None);
        assert_eq!(app.taken_at, None);
        assert_eq!(app.refund, None);
        assert_eq!(app.payment, Some(payment()));
        assert_eq!(app.state, Issued);
        assert!(!app.state.is_live());
    }

    #[test]
    fn late_means_past_the_due_date_and_still_waiting_for_the_service() {
        let app = reach(UnderReview);
        let due = app.due_date.unwrap();
        assert!(!app.is_overdue(due), "the due date itself is not late");
        assert!(app.is_overdue(crate::time::add_days(due, 1)));
        let ready = reach(ReadyForPickup);
        assert!(!ready.is_overdue(crate::time::add_days(ready.due_date.unwrap(), 30)));
        assert!(
            !reach(Draft).is_overdue(date(2030, 1, 1)),
            "a draft has no due date"
        );
    }

    #[test]
    fn the_due_date_counts_from_the_almaty_date_of_submission() {
        // 23:30 on 10 Dec in Almaty: 15 working days after 10 Dec.
        let mut evening = reach(Draft);
        evening
            .handle(
                &Command::Submit {
                    ticket: ticket(),
                    facts: SubmissionFacts::ALL_CLEAR,
                },
                &citizen(),
                "2025-12-10T18:30:00Z".parse().unwrap(),
                &policy(),
            )
            .unwrap();
        assert_eq!(evening.due_date, Some(date(2026, 1, 5)));
        // 00:30 on 11 Dec in Almaty, still 10 Dec in UTC: counted from 11 Dec.
        let mut night = reach(Draft);
        night
            .handle(
                &Command::Submit {
                    ticket: ticket(),
                    facts: SubmissionFacts::ALL_CLEAR,
                },
                &citizen(),
                "2025-12-10T19:30:00Z".parse().unwrap(),
                &policy(),
            )
            .unwrap();
        assert_eq!(night.due_date, Some(date(2026, 1, 6)));
        // The number of days is the policy's, not a constant.
        let mut quick = reach(Draft);
        let three = LifecyclePolicy {
            processing_working_days: 3,
            ..policy()
        };
        quick
            .handle(
                &Command::Submit {
                    ticket: ticket(),
                    facts: SubmissionFacts::ALL_CLEAR,
                },
                &citizen(),
                t0(),
                &three,
            )
            .unwrap();
        assert_eq!(quick.due_date, Some(date(2025, 12, 17)));
    }

    #[test]
    fn a_due_date_beyond_the_calendar_is_an_error_and_changes_nothing() {
        let mut app = reach(Draft);
        let before = app.clone();
        let err = app
            .handle(
                &Command::Submit {
                    ticket: ticket(),
                    facts: SubmissionFacts::ALL_CLEAR,
                },
                &citizen(),
                "2027-12-20T05:00:00Z".parse().unwrap(),
                &policy(),
            )
            .unwrap_err();
        assert_eq!(
            err,
            LifecycleError::Calendar(CalendarError::NotCovered(2028))
        );
        assert_eq!(err.code(), "calendar_not_covered");
        assert_eq!(app, before);
    }

    #[test]
    fn submit_requires_point_photo_signature_and_payment() {
        let mut app = new_draft();
        let submit = Command::Submit {
            ticket: ticket(),
            facts: SubmissionFacts::ALL_CLEAR,
        };
        // Every part still to do is named at once; each one done leaves the rest.
        for (i, (fill, actor)) in main_road().into_iter().take(4).enumerate() {
            let before = app.clone();
            assert_eq!(
                app.handle(&submit, &citizen(), later(i as i64), &policy()),
                Err(LifecycleError::Incomplete {
                    unfinished: Task::ALL[i..].to_vec()
                })
            );
            assert_eq!(app, before);
            app.handle(&fill, &actor, later(i as i64), &policy())
                .unwrap();
        }
        app.handle(&submit, &citizen(), later(9), &policy())
            .unwrap();
        assert_eq!(app.state, Submitted);
    }

    #[test]
    fn a_draft_can_be_edited_but_paid_only_once() {
        let mut app = reach(Draft);
        let p = policy();
        app.handle(&Command::AttachPhoto(digest(9)), &citizen(), t0(), &p)
            .unwrap();
        app.handle(&Command::AttachSignature(digest(8)), &citizen(), t0(), &p)
            .unwrap();
        let moved = app
            .handle(
                &Command::ChooseRegistrationPoint(point("71-02")),
                &citizen(),
                t0(),
                &p,
            )
            .unwrap();
        assert_eq!((moved.from, moved.to), (Draft, Draft));
        assert_eq!(app.photo, Some(digest(9)));
        assert_eq!(app.signature, Some(digest(8)));
        assert_eq!(app.registration_point, Some(point("71-02")));

        let before = app.clone();
        let outside = Command::ChooseRegistrationPoint(point("75-01"));
        assert_eq!(
            app.handle(&outside, &citizen(), t0(), &p),
            Err(LifecycleError::PointOutsideRegion {
                point: point("75-01"),
                region: region("71")
            })
        );
        let second = Payment {
            reference: "GW-2025-000999".into(),
            ..payment()
        };
        assert_eq!(
            app.handle(&Command::RecordPayment(second), &Actor::System, t0(), &p),
            Err(LifecycleError::AlreadyPaid)
        );
        assert_eq!(app, before);
    }

    #[test]
    fn a_submission_needs_passed_checks_and_eligibility_as_facts() {
        let app = reach(Draft);
        let submit = |facts| Command::Submit {
            ticket: ticket(),
            facts,
        };
        let clear = SubmissionFacts::ALL_CLEAR;
        let needs_fixing = |unfinished: &[Task]| LifecycleError::Incomplete {
            unfinished: unfinished.to_vec(),
        };
        for (facts, expected) in [
            (
                SubmissionFacts {
                    photo_check_failed: true,
                    ..clear
                },
                needs_fixing(&[Task::Photo]),
            ),
            (
                SubmissionFacts {
                    signature_check_failed: true,
                    ..clear
                },
                needs_fixing(&[Task::Signature]),
            ),
            (
                SubmissionFacts {
                    photo_check_failed: true,
                    signature_check_failed: true,
                    eligible: false,
                },
                needs_fixing(&[Task::Photo, Task::Signature]),
            ),
            (
                SubmissionFacts {
                    eligible: false,
                    ..clear
                },
                LifecycleError::NotEligible,
            ),
        ] {
            assert_eq!(
                app.decide(&submit(facts), &citizen(), later(60), &policy()),
                Err(expected)
            );
        }
        // A failed check and a missing payment are named together.
        let mut unpaid = reach(Draft);
        unpaid.payment = None;
        assert_eq!(
            unpaid.decide(
                &submit(SubmissionFacts {
                    photo_check_failed: true,
                    ..clear
                }),
                &citizen(),
                later(60),
                &policy()
            ),
            Err(needs_fixing(&[Task::Photo, Task::Payment]))
        );
        assert!(app
            .decide(&submit(clear), &citizen(), later(60), &policy())
            .is_ok());
    }

    #[test]
    fn the_applicant_starts_paying_a_draft_once() {
        let clear = SubmissionFacts::ALL_CLEAR;
        let mut unpaid = reach(Draft);
        unpaid.payment = None;
        assert_eq!(unpaid.may_start_payment(&citizen(), &clear), Ok(()));
        assert_eq!(
            unpaid.may_start_payment(&stranger(), &clear),
            Err(LifecycleError::NotTheApplicant)
        );
        assert_eq!(
            unpaid.may_start_payment(&officer_a(), &clear),
            Err(LifecycleError::WrongRole {
                command: "start_payment",
                role: Role::Officer
            })
        );
        assert_eq!(
            reach(Draft).may_start_payment(&citizen(), &clear),
            Err(LifecycleError::AlreadyPaid)
        );
        let mut withdrawn_unpaid = reach(Draft);
        withdrawn_unpaid.payment = None;
        withdrawn_unpaid.state = Withdrawn;
        assert_eq!(
            withdrawn_unpaid.may_start_payment(&citizen(), &clear),
            Err(LifecycleError::IllegalTransition {
                command: "start_payment",
                state: Withdrawn
            })
        );
        // Paid last: not while another part is to do or to fix, nor while not eligible.
        let mut no_point = unpaid.clone();
        no_point.registration_point = None;
        let failed_photo = SubmissionFacts {
            photo_check_failed: true,
            ..clear
        };
        for (app, facts, refused) in [
            (
                &no_point,
                failed_photo,
                LifecycleError::Incomplete {
                    unfinished: vec![Task::RegistrationPoint, Task::Photo],
                },
            ),
            (
                &unpaid,
                SubmissionFacts {
                    eligible: false,
                    ..clear
                },
                LifecycleError::NotEligible,
            ),
        ] {
            assert_eq!(app.may_start_payment(&citizen(), &facts), Err(refused));
        }
    }

    #[test]
    fn annulling_or_withdrawing_a_paid_application_asks_for_the_duty_back() {
        let mut paid = reach(UnderReview);
        let annulled = paid
            .handle(&annul_photo(), &officer_a(), later(1000), &policy())
            .unwrap();
        assert!(paid.refund_requested_by(&annulled));
        let mut unpaid = reach(Draft);
        unpaid.payment = None;
        let withdrawn = unpaid
            .handle(&Command::Withdraw, &citizen(), later(1000), &policy())
            .unwrap();
        assert!(!unpaid.refund_requested_by(&withdrawn), "nothing was paid");
        let mut taken = reach(Queued);
        let event = taken
            .handle(&Command::Take, &officer_a(), later(1000), &policy())
            .unwrap();
        assert!(!taken.refund_requested_by(&event));
    }

    #[test]
    fn who_may_see_an_application() {
        let draft = reach(Draft);
        let submitted = reach(Submitted);
        for (app, actor, visible) in [
            (&draft, citizen(), true),
            (&draft, stranger(), false),
            (&draft, officer_a(), true),
            (&draft, officer_elsewhere(), false),
            (&draft, production(), false),
            (&submitted, production(), true),
            (&submitted, desk(), true),
            (&submitted, other_desk(), false),
            (&submitted, admin(), false),
            (&submitted, Actor::System, false),
        ] {
            assert_eq!(
                app.visible_to(&actor),
                visible,
                "{actor:?} on a {}",
                app.state
            );
        }
    }

    #[test]
    fn an_annulment_comment_is_never_empty_nor_too_long() {
        assert!(AnnulmentComment::parse("").is_err());
        assert!(AnnulmentComment::parse("  \n\t ").is_err());
        assert_eq!(
            AnnulmentComment::parse("  Лицо в тени.  ")
                .unwrap()
                .as_str(),
            "Лицо в тени."
        );
        let longest = "ж".repeat(AnnulmentComment::MAX_CHARS);
        assert!(
            AnnulmentComment::parse(&longest).is_ok(),
            "counted in characters"
        );
        assert!(AnnulmentComment::parse(&format!("{longest}ж")).is_err());
        assert_eq!(AnnulmentCommentError.code(), "comment_required");
    }

    #[test]
    fn an_annulment_refunds_the_paid_duty() {
        let mut app = reach(UnderReview);
        let p = policy();
        let comment = "Please sign again: the signature is cut off.".to_string();
        let annul = Command::Annul {
            reason: AnnulmentReason::SignatureNonCompliant,
            comment: AnnulmentComment::parse(&comment).unwrap(),
        };
        let event = app.handle(&annul, &officer_a(), later(100), &p).unwrap();
        assert_eq!(
            event.kind,
            EventKind::Annulled {
                reason: AnnulmentReason::SignatureNonCompliant,
                comment: comment.clone()
            }
        );
        assert_eq!((event.from, event.to), (UnderReview, Annulled));
        assert_eq!(app.state, Annulled);
        assert!(!app.state.is_live());
        assert_eq!(
            app.annulment,
            Some(Annulment {
                reason: AnnulmentReason::SignatureNonCompliant,
                comment
            })
        );
        assert_eq!(app.refund, Some(RefundState::Pending));
        assert_eq!(app.reviewer, None);
        assert_eq!(app.approved_by, None);
        app.check_invariants().unwrap();

        // Only the system (told by the payment gateway) confirms the refund.
        assert!(matches!(
            app.decide(&Command::ConfirmRefund, &citizen(), later(110), &p),
            Err(LifecycleError::WrongRole { .. })
        ));
        let refunded = app
            .handle(&Command::ConfirmRefund, &Actor::System, later(120), &p)
            .unwrap();
        assert_eq!(refunded.kind, EventKind::RefundConfirmed);
        assert_eq!((refunded.from, refunded.to), (Annulled, Annulled));
        assert_eq!(app.refund, Some(RefundState::Refunded));
        app.check_invariants().unwrap();
        assert_eq!(
            app.handle(&Command::ConfirmRefund, &Actor::System, later(130), &p),
            Err(LifecycleError::NoRefundPending)
        );
        assert_eq!(
            app.handle(&Command::Approve, &officer_a(), later(140), &p),
            Err(LifecycleError::IllegalTransition {
                command: "approve",
                state: Annulled
            })
        );
    }

    #[test]
    fn withdrawing_refunds_only_what_was_paid_and_only_before_approval() {
        let p = policy();
        // Unpaid draft: nothing to refund, no ticket.
        let mut unpaid = new_draft();
        let event = unpaid
            .handle(&Command::Withdraw, &citizen(), t0(), &p)
            .unwrap();
        assert_eq!((event.from, event.to), (Draft, Withdrawn));
        assert_eq!(unpaid.refund, None);
        assert_eq!(unpaid.ticket, None);
        unpaid.check_invariants().unwrap();
        assert_eq!(
            unpaid.handle(&Command::ConfirmRefund, &Actor::System, t0(), &p),
            Err(LifecycleError::NoRefundPending)
        );

        // Paid but never submitted: the duty goes back.
        let mut paid_draft = reach(Draft);
        paid_draft
            .handle(&Command::Withdraw, &citizen(), t0(), &p)
            .unwrap();
        assert_eq!(paid_draft.refund, Some(RefundState::Pending));
        assert_eq!(paid_draft.ticket, None);
        paid_draft.check_invariants().unwrap();

        // Under review: the officer's claim ends with it; the ticket stays on record.
        let mut reviewed = reach(UnderReview);
        reviewed
            .handle(&Command::Withdraw, &citizen(), later(200), &p)
            .unwrap();
        assert_eq!(reviewed.state, Withdrawn);
        assert_eq!(reviewed.reviewer, None);
        assert_eq!(reviewed.ticket, Some(ticket()));
        assert_eq!(reviewed.refund, Some(RefundState::Pending));
        reviewed.check_invariants().unwrap();
        // The officer can no longer act on it.
        assert!(matches!(
            reviewed.decide(&Command::Approve, &officer_a(), later(210), &p),
            Err(LifecycleError::IllegalTransition { .. })
        ));

        // After approval the document is being made: too late.
        for state in [Approved, InProduction, Dispatched, ReadyForPickup, Issued] {
            assert_eq!(
                reach(state).decide(&Command::Withdraw, &citizen(), later(300), &p),
                Err(LifecycleError::IllegalTransition {
                    command: "withdraw",
                    state
                })
            );
        }
    }

    #[test]
    fn an_abandoned_review_returns_to_the_queue_for_another_officer() {
        let p = policy();
        let mut app = reach(Queued);
        app.handle(&Command::Take, &officer_a(), later(100), &p)
            .unwrap();
        assert_eq!(app.reviewer, Some(staff(1)));
        assert_eq!(app.taken_at, Some(later(100)));

        // A colleague can neither decide nor release someone else's review…
        for command in [Command::Approve, annul_photo(), Command::Release] {
            assert_eq!(
                app.decide(&command, &officer_b(), later(110), &p),
                Err(LifecycleError::NotTheReviewer)
            );
        }
        // …nor can the service before the timeout…
        assert_eq!(
            app.decide(&Command::Release, &Actor::System, later(129), &p),
            Err(LifecycleError::ReviewNotAbandoned)
        );
        assert!(!app.review_abandoned(later(129), &p));
        assert!(app.review_abandoned(later(130), &p));
        // …but the abandon timeout can.
        let released = app
            .handle(&Command::Release, &Actor::System, later(4000), &p)
            .unwrap();
        assert_eq!(released.kind, EventKind::Released);
        assert_eq!((released.from, released.to), (UnderReview, Queued));
        assert_eq!(app.reviewer, None);
        assert_eq!(app.taken_at, None);
        app.check_invariants().unwrap();

        app.handle(&Command::Take, &officer_b(), later(4100), &p)
            .unwrap();
        assert_eq!(app.reviewer, Some(staff(2)));
        // The first officer has lost the claim.
        assert_eq!(
            app.decide(&Command::Approve, &officer_a(), later(4110), &p),
            Err(LifecycleError::NotTheReviewer)
        );
        // An officer may also give their own review back, and take it again.
        app.handle(&Command::Release, &officer_b(), later(4120), &p)
            .unwrap();
        app.handle(&Command::Take, &officer_b(), later(4130), &p)
            .unwrap();
        let approved = app
            .handle(&Command::Approve, &officer_b(), later(4200), &p)
            .unwrap();
        assert_eq!(approved.kind, EventKind::Approved { officer: staff(2) });
        assert_eq!(app.approved_by, Some(staff(2)));
        app.check_invariants().unwrap();
    }

    #[test]
    fn every_state_and_command_follows_the_diagram_exactly() {
        let commands = one_of_each_command();
        let names: std::collections::BTreeSet<&str> = commands.iter().map(Command::name).collect();
        assert_eq!(names.len(), 16, "one command of each kind");
        assert!(DIAGRAM.iter().all(|(_, c, _)| names.contains(c)));

        let mut allowed = 0;
        for state in ApplicationState::ALL {
            for command in &commands {
                // The one command that needs an unpaid draft.
                let app = if state == Draft && matches!(command, Command::RecordPayment(_)) {
                    let mut app = new_draft();
                    run(&mut app, &main_road()[..3]);
                    app
                } else {
                    reach(state)
                };
                let actor = right_actor(command);
                let result = app.decide(command, &actor, later(1000), &policy());
                match diagram(state, command.name()) {
                    Some(to) => {
                        allowed += 1;
                        let event = result.unwrap_or_else(|e| {
                            panic!("{} in {state} should be allowed: {e}", command.name())
                        });
                        assert_eq!((event.from, event.to), (state, to));
                        let mut after = app.clone();
                        after.apply(&event);
                        assert_eq!(after.state, to);
                        after.check_invariants().unwrap();
                    }
                    None => assert_eq!(
                        result,
                        Err(LifecycleError::IllegalTransition {
                            command: command.name(),
                            state
                        }),
                        "{} in {state}",
                        command.name()
                    ),
                }
            }
        }
        assert_eq!(allowed, DIAGRAM.len());
    }

    #[test]
    fn wrong_actors_get_their_own_error_before_any_state_check() {
        use LifecycleError as E;
        let wrong_role = |command: &'static str, role: Role| E::WrongRole { command, role };
        #[rustfmt::skip]
        let cases: Vec<(ApplicationState, Command, Actor, LifecycleError)> = vec![
            // R7: only the holder acts as the citizen — even where the state would refuse.
            (Draft, Command::AttachPhoto(digest(5)), stranger(), E::NotTheApplicant),
            (Draft, Command::Submit { ticket: ticket(), facts: SubmissionFacts::ALL_CLEAR }, stranger(), E::NotTheApplicant),
            (Queued, Command::Withdraw, stranger(), E::NotTheApplicant),
            (Issued, Command::Withdraw, stranger(), E::NotTheApplicant),
            // An officer of another region learns nothing, not even the state.
            (Queued, Command::Take, officer_elsewhere(), E::OtherRegion),
            (Draft, Command::Approve, officer_elsewhere(), E::OtherRegion),
            (UnderReview, Command::Release, officer_elsewhere(), E::OtherRegion),
            (UnderReview, Command::Approve, officer_b(), E::NotTheReviewer),
            (UnderReview, annul_photo(), officer_b(), E::NotTheReviewer),
            (UnderReview, Command::Release, officer_b(), E::NotTheReviewer),
            // Roles.
            (UnderReview, Command::Approve, production(), wrong_role("approve", Role::ProductionOperator)),
            (UnderReview, Command::Approve, citizen(), wrong_role("approve", Role::Citizen)),
            (UnderReview, Command::Approve, Actor::System, wrong_role("approve", Role::System)),
            (Queued, Command::Take, admin(), wrong_role("take", Role::Administrator)),
            (Submitted, Command::Route, citizen(), wrong_role("route", Role::Citizen)),
            (Draft, Command::RecordPayment(payment()), citizen(), wrong_role("record_payment", Role::Citizen)),
            (Draft, Command::Submit { ticket: ticket(), facts: SubmissionFacts::ALL_CLEAR }, officer_a(), wrong_role("submit", Role::Officer)),
            (Approved, Command::StartProduction, officer_a(), wrong_role("start_production", Role::Officer)),
            (Dispatched, Command::Receive, production(), wrong_role("receive", Role::ProductionOperator)),
            (Annulled, Command::ConfirmRefund, admin(), wrong_role("confirm_refund", Role::Administrator)),
            (Queued, Command::Withdraw, admin(), wrong_role("withdraw", Role::Administrator)),
            // Registration points.
            (Dispatched, Command::Receive, other_desk(), E::WrongRegistrationPoint),
            (ReadyForPickup, hand_over(ticket()), other_desk(), E::WrongRegistrationPoint),
            (Submitted, Command::Receive, other_desk(), E::WrongRegistrationPoint),
            // Preconditions come last: after role, scope and state.
            (ReadyForPickup, hand_over(other_ticket()), desk(), E::TicketMismatch),
            // The register must still show the card this application replaces.
            (ReadyForPickup, Command::HandOver { ticket: ticket(), replaced: ReplacedCard { kind: DocumentKind::Passport, number: "N12345678".into(), old_card: crate::document::OldCard::Surrendered } }, desk(), E::RegisterDocumentMismatch),
            (ReadyForPickup, Command::HandOver { ticket: ticket(), replaced: ReplacedCard { kind: DocumentKind::IdentityCard, number: "041234567".into(), old_card: crate::document::OldCard::NotPresented } }, desk(), E::RegisterDocumentMismatch),
            (Dispatched, hand_over(other_ticket()), desk(), E::IllegalTransition { command: "hand_over", state: Dispatched }),
            (Submitted, Command::ChooseRegistrationPoint(point("75-01")), citizen(), E::IllegalTransition { command: "choose_registration_point", state: Submitted }),
            (Draft, Command::RecordPayment(payment()), Actor::System, E::AlreadyPaid),
        ];
        for (state, command, actor, expected) in cases {
            let mut app = reach(state);
            let before = app.clone();
            assert_eq!(
                app.handle(&command, &actor, later(1000), &policy()),
                Err(expected),
                "{} by {actor:?} in {state}",
                command.name()
            );
            assert_eq!(app, before);
        }
        // A draft with no point chosen yet belongs to no point operator.
        assert_eq!(
            new_draft().decide(&Command::Receive, &desk(), t0(), &policy()),
            Err(LifecycleError::WrongRegistrationPoint)
        );
    }

    #[test]
    fn error_codes_are_distinct_and_snake_case() {
        use LifecycleError as E;
        let all = [
            E::IllegalTransition {
                command: "take",
                state: Draft,
            },
            E::WrongRole {
                command: "take",
                role: Role::Citizen,
            },
            E::NotTheApplicant,
            E::OtherRegion,
            E::NotTheReviewer,
            E::WrongRegistrationPoint,
            E::PointOutsideRegion {
                point: point("75-01"),
                region: region("71"),
            },
            E::Incomplete {
                unfinished: vec![Task::Photo],
            },
            E::AlreadyPaid,
            E::TicketMismatch,
            E::BadDocumentNumber,
            E::NoRefundPending,
            E::Calendar(CalendarError::NotCovered(2027)),
        ];
        let codes: std::collections::BTreeSet<&str> = all.iter().map(E::code).collect();
        assert_eq!(codes.len(), all.len());
        for code in codes {
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{code}"
            );
        }
    }

    #[test]
    fn names_match_their_serde_form() {
        fn json<T: Serialize>(value: &T) -> String {
            serde_json::to_string(value).unwrap()
        }
        for s in ApplicationState::ALL {
            assert_eq!(json(&s), format!("\"{}\"", s.as_str()));
            assert_eq!(s.to_string(), s.as_str());
            assert_eq!(s.is_live(), !matches!(s, Issued | Annulled | Withdrawn));
        }
        for r in AnnulmentReason::ALL {
            assert_eq!(json(&r), format!("\"{}\"", r.as_str()));
        }
        for r in RefundState::ALL {
            assert_eq!(json(&r), format!("\"{}\"", r.as_str()));
        }
        for r in Role::ALL {
            assert_eq!(json(&r), format!("\"{}\"", r.as_str()));
        }
        let mut app = new_draft();
        let events = run(&mut app, &main_road());
        let annulled = reach(UnderReview)
            .decide(&annul_photo(), &officer_a(), t0(), &policy())
            .unwrap();
        let withdrawn = reach(Queued)
            .decide(&Command::Withdraw, &citizen(), t0(), &policy())
            .unwrap();
        for event in events.iter().chain([&annulled, &withdrawn]) {
            let value: serde_json::Value = serde_json::from_str(&json(event)).unwrap();
            assert_eq!(value["kind"]["kind"], event.kind.as_str());
            assert_eq!(value["actor"]["role"], event.actor.role().as_str());
            assert_eq!(serde_json::from_value::<Event>(value).unwrap(), *event);
        }
        let text = json(&app);
        assert_eq!(serde_json::from_str::<Application>(&text).unwrap(), app);
    }

    fn actor_pool() -> Vec<Actor> {
        vec![
            citizen(),
            stranger(),
            officer_a(),
            officer_b(),
            officer_elsewhere(),
            production(),
            desk(),
            other_desk(),
            Actor::System,
            admin(),
        ]
    }

    fn command_pool() -> Vec<Command> {
        let mut pool = one_of_each_command();
        pool.extend([
            Command::ChooseRegistrationPoint(point("71-01")),
            Command::ChooseRegistrationPoint(point("75-01")),
            hand_over(other_ticket()),
            Command::Annul {
                reason: AnnulmentReason::AdditionalVerificationRequired,
                comment: AnnulmentComment::parse("Come to the УМС with the document.").unwrap(),
            },
        ]);
        pool
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Random walks from every state: each step keeps the invariants, a refusal changes
        /// nothing, and an accepted step is an arrow of the diagram taken by someone in scope.
        #[test]
        fn random_walks_keep_the_rules(
            start in 0..ApplicationState::ALL.len(),
            steps in proptest::collection::vec(
                (0..20usize, proptest::option::of(0..10usize)),
                0..40,
            ),
        ) {
            let commands = command_pool();
            let actors = actor_pool();
            let mut app = reach(ApplicationState::ALL[start]);
            for (i, (c, a)) in steps.into_iter().enumerate() {
                let command = &commands[c % commands.len()];
                // Half the time the actor the command expects, so walks get somewhere.
                let actor = a.map_or_else(|| right_actor(command), |a| actors[a].clone());
                let at = later(2000 + 7 * i as i64);
                let before = app.clone();
                match app.handle(command, &actor, at, &policy()) {
                    Ok(event) => {
                        prop_assert_eq!(event.from, before.state);
                        prop_assert_eq!(event.to, app.state);
                        prop_assert_eq!(diagram(event.from, command.name()), Some(event.to));
                        prop_assert_eq!(&event.actor, &actor);
                        prop_assert_eq!(event.at, at);
                        prop_assert_eq!(event.application, app.id);
                        match &actor {
                            Actor::Citizen { iin } => prop_assert_eq!(*iin, app.applicant),
                            Actor::Officer { region, .. } => prop_assert_eq!(*region, app.region),
                            Actor::PointOperator { point, .. } => {
                                prop_assert_eq!(Some(point), app.registration_point.as_ref())
                            }
                            Actor::Administrator { .. } => prop_assert!(false, "admin acted"),
                            Actor::ProductionOperator { .. } | Actor::System => {}
                        }
                        // Issued, annulled and withdrawn are final.
                        if !before.state.is_live() {
                            prop_assert_eq!(app.state, before.state);
                        }
                    }
                    Err(_) => prop_assert_eq!(&app, &before),
                }
                if let Err(broken) = app.check_invariants() {
                    prop_assert!(false, "after {} by {:?}: {}", command.name(), actor, broken);
                }
            }
        }
    }
}
