//! The audit log and its hash chain: entries, the sequencer's reads (how far rows are final,
//! the rows of the next batch), checkpoints, and the rows sequenced before migration 15
//! (`audit_pending`, `audit_chain`).

use crate::*;

#[async_trait]
pub trait AuditStore: Transactions {
    /// The newest `limit` audit entries, newest first.
    async fn audit_entries(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let page = self.audit_page(&AuditQuery::default(), limit).await?;
        Ok(page.into_iter().map(|r| r.entry).collect())
    }
    /// A page of at most `limit` audit entries, newest first (see [`AuditQuery`]).
    async fn audit_page(&self, query: &AuditQuery, limit: u32) -> StoreResult<Vec<AuditRecord>>;

    /// How far no writer can still add a row: every event with `seq` up to `events` and
    /// every audit entry with `pos` up to `audit` that will ever exist is committed. `None`
    /// when writers in flight kept it from being known now (try again later).
    async fn audit_horizon(&self) -> StoreResult<Option<ChainReach>>;
    /// The rows after `after` up to `upto` with their canonical bytes — events by `seq`,
    /// then audit entries by `pos` — at most `limit`.
    async fn audit_rows(
        &self,
        after: ChainReach,
        upto: ChainReach,
        limit: u32,
    ) -> StoreResult<Vec<ChainCandidate>>;
    /// Archived histories whose first event is after `after_first_seq`, by their first event,
    /// at most `limit` (audit verification reads archived events beside the rows).
    async fn archived_histories(
        &self,
        after_first_seq: i64,
        limit: u32,
    ) -> StoreResult<Vec<ArchivedHistory>>;
    /// How far the chain reaches now (see [`AuditStore::audit_reach_at`]).
    async fn audit_reach(&self) -> StoreResult<ChainReach> {
        let last = self.last_audit_checkpoint().await?;
        self.audit_reach_at(last.as_ref()).await
    }
    /// How far the chain reaches when `last` is its newest checkpoint: that checkpoint's
    /// batch, or the rows sequenced before migration 15 when no batch was chained by reach
    /// yet.
    async fn audit_reach_at(&self, last: Option<&StoredCheckpoint>) -> StoreResult<ChainReach> {
        match last.and_then(|c| c.batch.as_ref()) {
            Some(batch) => Ok(batch.reach),
            None => self.audit_legacy_reach().await,
        }
    }
    /// Appends the checkpoint of a batch chained by reach, provided the newest stored
    /// checkpoint is still the one at `previous` (0: none);
    /// [`StoreError::Duplicate`]`("audit_chain")` when another sequencer appended first
    /// (nothing is written; resume from the new last checkpoint).
    async fn append_audit_batch(
        &self,
        previous: u64,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()>;
    /// Rows written and not chained yet: the sequencer's lag.
    async fn audit_pending_count(&self) -> StoreResult<u64>;
    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>>;
    /// Checkpoints after `after_seq`, in order.
    async fn audit_checkpoints(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredCheckpoint>>;

    // Rows sequenced before migration 15, one `audit_chain` row each.

    /// How far the `audit_chain` rows reach into each source (0 where none): rows up to
    /// there were sequenced one by one, rows after it are chained by reach.
    async fn audit_legacy_reach(&self) -> StoreResult<ChainReach>;
    /// Rows written before migration 15 still waiting for the sequencer, in the order they
    /// were written.
    async fn audit_pending(&self, limit: u32) -> StoreResult<Vec<ChainCandidate>>;
    /// Appends a sequenced batch of rows written before migration 15 and its checkpoint and
    /// takes the rows off the pending list, in one transaction;
    /// [`StoreError::Duplicate`]`("audit_chain")` when another sequencer appended first
    /// (nothing is written; resume from the new last checkpoint).
    async fn append_audit_chain(
        &self,
        links: Vec<ChainLink>,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()>;
    /// `audit_chain` entries after `after_seq`, in order.
    async fn audit_chain(&self, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainEntry>>;
    /// Rows within the legacy reach that are neither in `audit_chain` nor waiting (written
    /// behind the service's back with the triggers of that time dropped), first `limit`.
    async fn audit_unchained(&self, limit: u32) -> StoreResult<Vec<(ChainSource, i64)>>;
}

/// `Ok` when `newest` (the newest stored checkpoint's seq, if any) is still `previous` (0:
/// none), the checkpoint a batch was chained after; else another sequencer appended first.
pub(crate) fn still_newest(newest: Option<i64>, previous: u64) -> StoreResult<()> {
    if newest.unwrap_or(0) == i64::try_from(previous).unwrap_or(i64::MAX) {
        Ok(())
    } else {
        Err(StoreError::Duplicate("audit_chain"))
    }
}
