//! Applications: their rows, events and timelines, work queues, images and their checks, approvals
//! and signature checks, idempotent answers, and the retention purge.

use crate::*;

#[async_trait]
pub trait ApplicationStore: Transactions {
    async fn application(&self, id: ApplicationId) -> StoreResult<Option<StoredApplication>>;
    async fn application_by_ticket(
        &self,
        ticket: &TicketNumber,
    ) -> StoreResult<Option<StoredApplication>>;
    /// A person's applications, newest first.
    async fn applications_of(&self, iin: &Iin) -> StoreResult<Vec<StoredApplication>>;
    /// The events of an application in the order they happened.
    async fn history(&self, id: ApplicationId) -> StoreResult<Vec<Event>>;
    /// The same events as [`ApplicationStore::history`], as the timeline shows them: read from the
    /// event rows' own columns, without decoding each event (a citizen's status read).
    async fn timeline(&self, id: ApplicationId) -> StoreResult<Vec<TimelineEntry>>;
    /// The application with its timeline and payments, read together in one snapshot (on
    /// PostgreSQL one statement, one round trip): a status read.
    async fn application_record(&self, id: ApplicationId)
        -> StoreResult<Option<ApplicationRecord>>;
    /// The session `token_hash` signs in at `now` (as [`StaffStore::signed_in`]) and the
    /// application record (as [`ApplicationStore::application_record`]), read together: a
    /// status read's whole answer in one read (on SQLite one transaction, one read lock).
    async fn signed_in_record(
        &self,
        token_hash: &[u8],
        now: Timestamp,
        id: ApplicationId,
    ) -> StoreResult<SignedInRecord>;
    /// Applications matching `filter`, oldest due date first (then oldest submission).
    async fn work_queue(
        &self,
        filter: &QueueFilter,
        limit: u32,
    ) -> StoreResult<Vec<StoredApplication>>;
    async fn blob(&self, digest: &Sha256Digest) -> StoreResult<Option<Blob>>;
    async fn image_check(&self, digest: &Sha256Digest) -> StoreResult<Option<ImageCheck>>;
    /// Applications of people other than `excluding` whose photo has this perceptual hash:
    /// at most [`SAME_PHOTO_LIMIT`], oldest first, from at most 64 matching photos.
    async fn applications_with_photo_hash(
        &self,
        perceptual_hash: u64,
        excluding: &Iin,
    ) -> StoreResult<Vec<SamePhoto>>;
    /// Finished applications (issued, annulled, withdrawn) whose last event is before
    /// `before` and whose images have not been purged yet; oldest first.
    async fn applications_to_purge(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationId>>;
    /// Deletes a finished application's photo and signature (unless an application not yet
    /// purged uses the same image), their checks and the notices about it, and records the
    /// purge with `audit`, in one transaction. Returns how many images were deleted.
    async fn purge_application_images(
        &self,
        application: ApplicationId,
        audit: AuditEntry,
        now: Timestamp,
    ) -> StoreResult<u64>;
    /// One round of archiving (issue #19, `history_archive.rs`): of the applications with an
    /// event row in the scanned stretch, each finished one (issued, annulled, withdrawn) whose
    /// every event is chained and whose last one is quiet has its event rows moved into one
    /// archived row, its approvals and annulments into `archived_decisions`, in one
    /// transaction. Histories, timelines, status reads and reports read it there after.
    async fn archive_histories(&self, scan: ArchiveScan) -> StoreResult<ArchiveRound>;
    async fn approval(&self, application: ApplicationId) -> StoreResult<Option<Approval>>;
    /// An application's signature checks, oldest first.
    async fn signature_checks(
        &self,
        application: ApplicationId,
    ) -> StoreResult<Vec<SignatureCheck>>;
    async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>>;
}
