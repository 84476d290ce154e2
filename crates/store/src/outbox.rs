//! The outbox the workers deliver (notices, register changes) and the citizens' inbox.

use crate::*;

#[async_trait]
pub trait OutboxStore: Transactions {
    /// Leases up to `limit` undelivered messages due at `now` for `lease`; a worker that
    /// dies leaves them to be claimed again after the lease.
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// Marks a message delivered and, in the same transaction, puts its notice (if any) in
    /// the inbox — at most once, whatever the number of retries.
    async fn outbox_delivered(
        &self,
        id: Uuid,
        now: Timestamp,
        notice: Option<&Notice>,
    ) -> StoreResult<()>;
    /// Records a failed attempt and when to try again.
    async fn outbox_failed(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> StoreResult<()>;
    /// Undelivered messages (for `/readyz`, metrics and the stuck-work view).
    async fn outbox_backlog(&self) -> StoreResult<u64>;
    /// Undelivered messages tried at least `attempts_at_least` times, or created before
    /// `created_before`: the ones retrying has not got through. Oldest first.
    async fn outbox_stuck(
        &self,
        attempts_at_least: u32,
        created_before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<OutboxMessage>>;
    /// An administrator's "retry now": an undelivered message becomes due at `now`, and
    /// `audit` is written in the same transaction. A delivered or unknown message is left
    /// alone (and nothing is audited).
    async fn retry_outbox_message(
        &self,
        id: Uuid,
        now: Timestamp,
        audit: AuditEntry,
    ) -> StoreResult<OutboxRetry>;
    /// A citizen's notices, newest first.
    async fn inbox(&self, iin: &Iin) -> StoreResult<Vec<Notice>>;
    /// Marks a notice read; false if it is not this citizen's or does not exist.
    async fn mark_notice_read(&self, iin: &Iin, id: Uuid, now: Timestamp) -> StoreResult<bool>;
}
