//! kuelik-store: everything the service keeps, behind one [`Store`] trait in the domain's words.
//!
//! Two implementations with their own migrations: SQLite (the embedded default, WAL with
//! `synchronous=FULL`, group commit) and PostgreSQL. The server never writes SQL and never
//! branches on the backend.
//!
//! The store is read by area, one trait each — [`PeopleStore`] (people and their documents),
//! [`ApplicationStore`], [`StaffStore`] (staff and sessions), [`PaymentStore`],
//! [`OutboxStore`] (the outbox and workers), [`AuditStore`], [`ReportStore`] — with matching
//! files in each backend (`sqlite/people.rs`, `postgres/people.rs`, …).
//!
//! Writes that belong together go through [`Transactions::commit`] as one [`Changes`] value —
//! the application's new state, its event, its blobs, payments, outbox messages, audit entries
//! and the idempotency record — in one transaction or not at all. A successful return means the
//! change is durable on disk.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::sync::Arc;

use async_trait::async_trait;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::document::DocumentKind;
use kuelik_core::iin::Iin;
use kuelik_core::issuance::DocumentRecord;
use kuelik_core::lang::Localized;
use kuelik_core::lifecycle::{
    Actor, AnnulmentReason, Application, ApplicationId, ApplicationState, Event, Role, StaffId,
};
use kuelik_core::money::Tiyn;
use kuelik_core::region::{PointId, RegionCode};
use kuelik_core::register::{Person, RegisteredDocument};
use kuelik_core::ticket::TicketNumber;

mod codec;
pub mod copy;
mod event_data;
pub mod history_archive;
pub mod postgres;
pub mod sql;
pub mod sqlite;

mod applications;
mod audit;
mod outbox;
mod payments;
mod people;
mod reports;
mod staff;
pub use applications::ApplicationStore;
pub use audit::AuditStore;
pub use history_archive::{ArchiveRound, ArchiveScan, ArchivedHistory};
pub use outbox::OutboxStore;
pub use payments::PaymentStore;
pub use people::PeopleStore;
pub use reports::ReportStore;

/// The store's traits in one import, for calling its methods on a concrete backend
/// (`SqliteStore`, `PostgresStore`); through `dyn Store` they need no import.
pub mod prelude {
    pub use crate::{
        ApplicationStore, AuditStore, OutboxStore, PaymentStore, PeopleStore, ReportStore,
        StaffStore, Store, Transactions,
    };
}
pub use staff::StaffStore;
pub mod vault;

pub use vault::{BlobKey, BlobVault};

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The application changed since it was read (optimistic concurrency): re-read and retry.
    #[error("the record changed since it was read")]
    Conflict,
    /// A uniqueness rule refused the write. The name says which: `username`,
    /// `live_application` (one live application per person), `ticket`, `idempotency_key`,
    /// `payment_reference`.
    #[error("{0} already exists")]
    Duplicate(&'static str),
    #[error("database error: {0}")]
    Database(String),
    /// A stored row could not be read back into domain types.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    #[error("cannot open the store: {0}")]
    Open(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Conflict => "conflict",
            StoreError::Duplicate(_) => "duplicate",
            StoreError::Database(_) => "database",
            StoreError::Corrupt(_) => "corrupt_record",
            StoreError::Open(_) => "store_unavailable",
        }
    }
}

/// One event as an application's timeline shows it (see [`ApplicationStore::timeline`]). Its instant
/// is the stored column's, to the microsecond.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineEntry {
    /// The event's kind, as [`kuelik_core::lifecycle::EventKind::as_str`] names it.
    pub kind: String,
    pub from: ApplicationState,
    pub to: ApplicationState,
    /// Who acted, by role ([`kuelik_core::lifecycle::Role::as_str`]).
    pub actor_role: String,
    pub at: Timestamp,
}

/// An application with its timeline and payments, read in one snapshot: what a status read
/// shows (see [`ApplicationStore::application_record`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRecord {
    pub stored: StoredApplication,
    pub timeline: Vec<TimelineEntry>,
    /// Oldest first.
    pub payments: Vec<PaymentRecord>,
}

/// A session as it signs a request in: the session and, for a staff session, the account
/// (`None` if it is gone).
pub type SignedIn = (Session, Option<StaffAccount>);

/// A status read whole, in one snapshot: who the session token signs in (if anyone) and the
/// application with its timeline and payments (if it exists). Whether the one may see the
/// other is the caller's to decide (see [`ApplicationStore::signed_in_record`]).
#[derive(Debug, Clone)]
pub struct SignedInRecord {
    pub signed_in: Option<SignedIn>,
    pub record: Option<ApplicationRecord>,
}

/// An application as stored, with its version for optimistic concurrency.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredApplication {
    pub application: Application,
    /// 1 after creation, +1 on every write.
    pub version: i64,
}

/// Create (`expected_version: None`) or update an application. An update succeeds only if
/// the stored version still equals `expected_version` (else [`StoreError::Conflict`]).
#[derive(Debug, Clone)]
pub struct ApplicationWrite {
    pub application: Application,
    pub expected_version: Option<i64>,
}

/// A photo or signature image, stored once per SHA-256 digest of its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blob {
    pub digest: Sha256Digest,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub created_at: Timestamp,
}

/// The payment record's status: the core's state machine (`kuelik_core::payment`).
pub use kuelik_core::payment::PaymentStatus;

/// One state-duty payment. It belongs to exactly one application (R13: a new application
/// needs a new payment).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentRecord {
    pub id: Uuid,
    pub application: ApplicationId,
    pub payer: Iin,
    pub amount: Tiyn,
    pub status: PaymentStatus,
    /// The gateway's reference of the payment intent (unique).
    pub gateway_reference: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// A message to deliver after the transaction commits (notifications, SMS, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxMessage {
    pub id: Uuid,
    /// What kind of message, e.g. `notice` or `otp_sms`; the worker routes on it.
    pub topic: String,
    pub payload: serde_json::Value,
    pub created_at: Timestamp,
    pub attempts: u32,
    pub next_attempt_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
    pub last_error: Option<String>,
}

/// A notice in a citizen's in-app inbox. Its id is the outbox message's id, so a retried
/// delivery can never show it twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub id: Uuid,
    pub iin: Iin,
    pub application: Option<ApplicationId>,
    /// The event it tells about (`submitted`, `annulled`, …).
    pub kind: String,
    pub message: Localized,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// One audited action (who did what to what). Sequencing and hashing come later; entries
/// are written in the same transaction as the action.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: Uuid,
    pub at: Timestamp,
    pub actor: Actor,
    /// What was done, e.g. `application.approve`, `application.read`, `staff.add`.
    pub action: String,
    /// What it was done to, e.g. an application id.
    pub target: Option<String>,
    pub details: serde_json::Value,
}

/// Where an audit entry sits in the log (newest first by time, then by order of writing): a
/// page of the log continues after the last entry of the one before.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub at: Timestamp,
    pub pos: i64,
}

/// Which audit entries a page of the log shows: newest first, after `before` when it is
/// given, and — when a search names them — only those about these targets or by these people.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    pub before: Option<AuditCursor>,
    /// `None`: every entry. A search that names nobody and nothing finds nothing.
    pub search: Option<AuditSearch>,
}

/// Entries about any of `targets` (e.g. an application id), or made by any of `staff`, or by
/// the citizen with the IIN `citizen`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditSearch {
    pub targets: Vec<String>,
    pub staff: Vec<StaffId>,
    pub citizen: Option<Iin>,
}

impl AuditSearch {
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty() && self.staff.is_empty() && self.citizen.is_none()
    }
}

/// An audit entry with its place in the log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub cursor: AuditCursor,
    pub entry: AuditEntry,
}

/// The first answer to a request made with an `Idempotency-Key`, replayed on retries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Who made the request and to what, e.g. `citizen:900515301234:POST /api/v1/applications`.
    pub scope: String,
    pub key: String,
    /// SHA-256 of the request body: the same key with another body is a client error.
    pub request_digest: Sha256Digest,
    pub status: u16,
    pub body: serde_json::Value,
    pub created_at: Timestamp,
}

/// The automatic check of one photo or signature image (by the digest of its bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageCheck {
    pub digest: Sha256Digest,
    /// `photo` or `signature`.
    pub kind: String,
    /// `pass`, `warn` or `fail`.
    pub verdict: String,
    /// Photos: the perceptual hash, to find the same photo on another person's application.
    pub perceptual_hash: Option<u64>,
    /// Every measure with its score and message, as the media crate reports it.
    pub report: serde_json::Value,
    pub checked_at: Timestamp,
}

impl ImageCheck {
    /// The image failed its check: the officer would annul the application for it, so it
    /// needs fixing before the citizen pays or submits (a warning does not block).
    pub fn failed(&self) -> bool {
        self.verdict == "fail"
    }
}

/// A reminder that was sent: at most one per person and card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderSent {
    pub iin: Iin,
    pub last_valid_day: jiff::civil::Date,
    pub sent_at: Timestamp,
}

/// How a citizen wants to hear about their applications. The register's phone stays the
/// channel for one-time codes (a code must reach the person the register knows); notices
/// go here when set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactDetails {
    pub iin: Iin,
    /// Where SMS notices go instead of the register's phone.
    pub phone: Option<kuelik_core::register::Phone>,
    /// The language of notices instead of the register's.
    pub language: Option<kuelik_core::lang::Lang>,
    pub updated_at: Timestamp,
}

/// An administrator's activation of a rule-set version from a date. Kept forever: it says
/// which rules were in force when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleActivation {
    pub id: Uuid,
    pub version: String,
    pub active_from: jiff::civil::Date,
    pub activated_by: StaffId,
    pub activated_at: Timestamp,
}

/// At most this many other applications are named as having the same photo.
pub const SAME_PHOTO_LIMIT: usize = 20;

/// Another person's application with the same photo, as the officer's review names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamePhoto {
    pub id: ApplicationId,
    pub ticket: Option<TicketNumber>,
    /// The region's code.
    pub region: String,
    pub state: ApplicationState,
}

/// Everything one request changes, written atomically by [`Transactions::commit`].
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub application: Option<ApplicationWrite>,
    /// Appended; never updated or deleted.
    pub events: Vec<Event>,
    /// Inserted unless a blob with the same digest exists.
    pub blobs: Vec<Blob>,
    /// Inserted or updated by id.
    pub payments: Vec<PaymentRecord>,
    pub outbox: Vec<OutboxMessage>,
    pub audit: Vec<AuditEntry>,
    /// Inserted; [`StoreError::Duplicate`]`("idempotency_key")` if the key was used.
    pub idempotency: Option<IdempotencyRecord>,
    /// Inserted; [`StoreError::Duplicate`]`("reminder")` if that card was reminded already
    /// (so a racing instance's commit, with its notice, is refused whole).
    pub reminders: Vec<ReminderSent>,
    /// Inserted or replaced by digest (a new profile may re-check an image).
    pub image_checks: Vec<ImageCheck>,
    /// Inserted once per application (an approval is never changed).
    pub approval: Option<Approval>,
    /// Appended: the production centre's verifications, refusals included.
    pub signature_checks: Vec<SignatureCheck>,
    /// Inserted or replaced by IIN.
    pub contacts: Vec<ContactDetails>,
    /// Appended.
    pub rule_activations: Vec<RuleActivation>,
    /// Document records inserted, or updated by kind and number (a valid document
    /// invalidated); the application it was first issued for is kept.
    pub documents: Vec<DocumentRecord>,
    /// People whose current document becomes this one (the register's copy), by IIN; a
    /// person the register does not hold refuses the whole commit.
    pub current_documents: Vec<(Iin, RegisteredDocument)>,
    /// Staff accounts inserted; [`StoreError::Duplicate`]`("username")` if one is taken.
    pub staff: Vec<StaffAccount>,
    /// A person's choice about reminders (opting out, or back in).
    pub reminder_choices: Vec<ReminderChoice>,
    /// Certificates bound to officers (see [`StaffStore::put_officer_credential`]).
    pub officer_credentials: Vec<OfficerCredential>,
    /// The register's photo of a person's document, inserted or replaced by IIN.
    pub register_photos: Vec<RegisterPhoto>,
}

/// The register's photo of a person's current document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterPhoto {
    pub iin: Iin,
    /// The document the photo is on (the person's current one when it was written).
    pub document_number: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A person stops (or restarts) the reminders that their card can be renewed online.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderChoice {
    pub iin: Iin,
    pub opt_out: bool,
    pub at: Timestamp,
}

/// How the officer's signature was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SigningMethod {
    /// Signed outside the service with the officer's own key; the CMS was uploaded.
    Client,
    /// Signed by the service with the officer's sealed key, unlocked by their PIN.
    Remote,
}

impl SigningMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            SigningMethod::Client => "client",
            SigningMethod::Remote => "remote",
        }
    }
}

/// An officer's signed approval (R11): the canonical approval document and the detached CMS
/// signature over exactly those bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    pub application: ApplicationId,
    pub officer: StaffId,
    pub method: SigningMethod,
    pub document: Vec<u8>,
    /// DER `ContentInfo` with a detached `SignedData`.
    pub signature: Vec<u8>,
    pub signed_at: Timestamp,
}

/// One verification by the production centre before making a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureCheck {
    pub id: Uuid,
    pub application: ApplicationId,
    pub at: Timestamp,
    pub verified: bool,
    /// `verified`, or the refusal reason (`digest_mismatch`, `certificate_revoked`, …).
    pub code: String,
    /// Human-readable detail for the operator (no personal data).
    pub detail: String,
}

/// An officer's certificate bound to their account, with their private key sealed under
/// their PIN when they sign remotely.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficerCredential {
    pub staff: StaffId,
    /// Lowercase hex SHA-256 of the certificate's DER.
    pub fingerprint: String,
    /// DER.
    pub certificate: Vec<u8>,
    /// The sealed private key (JSON, see kuelik-trust's keystore); `None` when the officer
    /// only signs on their own device.
    pub sealed_key: Option<String>,
    pub bound_at: Timestamp,
}

/// Which table an audit-chain entry stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChainSource {
    /// A life-cycle event (`events.seq`).
    Event,
    /// An audit entry (`audit_entries.pos`).
    Audit,
}

impl ChainSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ChainSource::Event => "event",
            ChainSource::Audit => "audit",
        }
    }
}

/// A row waiting for the audit sequencer, with its canonical bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainCandidate {
    pub source: ChainSource,
    pub source_pos: i64,
    pub bytes: Vec<u8>,
}

/// One sequenced entry of the audit chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainLink {
    pub seq: u64,
    pub source: ChainSource,
    pub source_pos: i64,
    pub entry_hash: [u8; 32],
    pub chain_hash: [u8; 32],
}

/// A sequenced entry read back with the current canonical bytes of its row (`None` when the
/// row is gone), for verification and export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainEntry {
    pub link: ChainLink,
    pub bytes: Option<Vec<u8>>,
}

/// A signed checkpoint as stored (JSON, see kuelik-trust's audit module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub seq: u64,
    pub at: Timestamp,
    pub data: String,
    /// Which rows its batch chained; `None` for a batch listed row by row in `audit_chain`
    /// (sequenced before migration 15).
    pub batch: Option<ChainedBatch>,
}

/// How far the chain reaches into each source: the event `seq` and the audit entry `pos`
/// up to which every row is chained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChainReach {
    pub events: i64,
    pub audit: i64,
}

/// A batch chained by reach: every row after the previous batch's reach up to `reach`,
/// events by `seq` first, then audit entries by `pos`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainedBatch {
    pub reach: ChainReach,
    /// The first [`TAG_LEN`] bytes of each entry's chain hash, in order: enough to name an
    /// edited entry (the checkpoint's signature vouches for the batch as a whole).
    pub tags: Vec<u8>,
}

/// Bytes of an entry's chain hash kept in [`ChainedBatch::tags`].
pub const TAG_LEN: usize = 4;

/// A staff member's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffAccount {
    pub id: StaffId,
    /// Unique, lowercase.
    pub username: String,
    pub display_name: String,
    /// argon2id PHC string; never leaves the server.
    pub password_hash: String,
    pub role: Role,
    /// Officers: the region they serve.
    pub region: Option<RegionCode>,
    /// Registration-point operators: their point.
    pub point: Option<PointId>,
    pub active: bool,
    pub created_at: Timestamp,
    /// The person the account belongs to. An officer bound by IIN signs with any trusted
    /// НУЦ РК certificate issued to that IIN (the officer signer profile decides the rest);
    /// without it, only with the one certificate bound to the account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<Iin>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "purpose", rename_all = "snake_case")]
pub enum OtpPurpose {
    SignIn,
    /// The applicant's confirmation of this application's submission (R7).
    ConfirmSubmission {
        application: ApplicationId,
    },
}

impl OtpPurpose {
    /// The kind, as stored in the purpose's `purpose` member: each kind has its own budget.
    pub fn kind(&self) -> &'static str {
        match self {
            OtpPurpose::SignIn => "sign_in",
            OtpPurpose::ConfirmSubmission { .. } => "confirm_submission",
        }
    }
}

/// A one-time code sent to a citizen's phone. Only a keyed hash of the code is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtpChallenge {
    pub id: Uuid,
    pub iin: Iin,
    pub purpose: OtpPurpose,
    pub code_hash: Vec<u8>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub attempts: u32,
    pub consumed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SessionSubject {
    Citizen { iin: Iin },
    Staff { id: StaffId },
}

/// A signed-in session. The token itself is only with the client; the store keeps its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub token_hash: Vec<u8>,
    pub subject: SessionSubject,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One period of the administrator's reports: instants `[from, until)` and the UTC offset
/// that turns an instant into its Almaty day.
///
/// Asia/Almaty has had one offset (+05:00, no daylight saving) since 1 March 2024, before the
/// service existed; the server still passes the offset in force at the period's start rather
/// than the store assuming one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportPeriod {
    pub from: Timestamp,
    pub until: Timestamp,
    pub utc_offset: SignedDuration,
}

/// Applications submitted on one Almaty day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayCount {
    pub day: jiff::civil::Date,
    pub count: u64,
}

/// Applications submitted in one region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionCount {
    pub region: RegionCode,
    pub count: u64,
}

/// How long a region's officers took from submission to decision (approval or annulment)
/// for the applications decided in the period. Percentiles are nearest-rank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecisionTimes {
    pub region: RegionCode,
    pub approved: u64,
    pub annulled: u64,
    pub median: SignedDuration,
    pub p90: SignedDuration,
}

/// How many annulments in the period gave one reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonCount {
    pub reason: AnnulmentReason,
    pub count: u64,
}

/// What happened in a period, aggregated by the database.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActivityReport {
    /// Submissions per Almaty day, days without any left out, in day order.
    pub submitted_per_day: Vec<DayCount>,
    /// Submissions per region, in region-code order.
    pub submitted_per_region: Vec<RegionCount>,
    pub decision_times: Vec<DecisionTimes>,
    pub annulment_reasons: Vec<ReasonCount>,
}

/// How many payments are in a status, and their sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaymentTotals {
    pub count: u64,
    pub amount: Tiyn,
}

/// What became of an administrator's "retry now" on an outbox message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxRetry {
    /// Due again now; the audit entry is written with it.
    Rescheduled,
    /// Delivered already: nothing changed, nothing audited.
    AlreadyDelivered,
    /// No such message.
    Missing,
}

/// How many applications a region has in a state (for metrics and reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationCount {
    pub region: RegionCode,
    pub state: ApplicationState,
    pub count: u64,
}

/// Which applications a work queue shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueFilter {
    pub state: ApplicationState,
    pub region: Option<RegionCode>,
    pub point: Option<PointId>,
    /// Only applications taken for review before this instant (abandoned reviews).
    pub taken_before: Option<Timestamp>,
}

impl QueueFilter {
    pub fn state(state: ApplicationState) -> QueueFilter {
        QueueFilter {
            state,
            region: None,
            point: None,
            taken_before: None,
        }
    }
}

/// What every area of the store shares: which backend it is, and the one way to write —
/// [`Transactions::commit`], all of a [`Changes`] or nothing.
#[async_trait]
pub trait Transactions: Send + Sync + 'static {
    /// Which backend this is (`sqlite` or `postgres`), for logs and `/readyz`.
    fn backend(&self) -> &'static str;
    /// Writes all of `changes` in one durable transaction, or nothing.
    async fn commit(&self, changes: Changes) -> StoreResult<()>;
}

/// The whole store: every area's reads over one [`Transactions::commit`]. A backend
/// implements each area (its files `sqlite/<area>.rs`, `postgres/<area>.rs`); this trait
/// comes with them.
pub trait Store:
    Transactions
    + PeopleStore
    + ApplicationStore
    + StaffStore
    + PaymentStore
    + OutboxStore
    + AuditStore
    + ReportStore
{
}

impl<T> Store for T where
    T: Transactions
        + PeopleStore
        + ApplicationStore
        + StaffStore
        + PaymentStore
        + OutboxStore
        + AuditStore
        + ReportStore
{
}

/// The SQLite file a store URL names, if it names one.
pub fn sqlite_path(url: &str) -> Option<&std::path::Path> {
    url.strip_prefix("sqlite://").map(std::path::Path::new)
}

/// Opens the store a URL names and applies its migrations: `sqlite://PATH` (created if
/// missing) or `postgres://…`.
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    open_with(url, BlobVault::default()).await
}

/// [`open`], keeping image bytes where `vault` says.
pub async fn open_with(url: &str, vault: BlobVault) -> StoreResult<Arc<dyn Store>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(
            postgres::PostgresStore::open(url).await?.with_vault(vault),
        ))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok(Arc::new(
            sqlite::SqliteStore::open(std::path::Path::new(path))
                .await?
                .with_vault(vault),
        ))
    } else {
        Err(StoreError::Open(format!(
            "unsupported database URL {url:?}: use sqlite://PATH or postgres://…"
        )))
    }
}
