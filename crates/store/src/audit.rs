//! The audit log and its hash chain: entries, the sequencer's pending rows, chained entries and
//! checkpoints.

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
    /// Rows waiting for the sequencer, in the order they were written.
    async fn audit_pending(&self, limit: u32) -> StoreResult<Vec<ChainCandidate>>;
    async fn audit_pending_count(&self) -> StoreResult<u64>;
    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>>;
    /// Appends a sequenced batch and its checkpoint and takes the rows off the pending list,
    /// in one transaction; [`StoreError::Duplicate`]`("audit_chain")` when another sequencer
    /// appended first (nothing is written; resume from the new last checkpoint).
    async fn append_audit_chain(
        &self,
        links: Vec<ChainLink>,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()>;
    /// Sequenced entries after `after_seq`, in order.
    async fn audit_chain(&self, after_seq: u64, limit: u32) -> StoreResult<Vec<ChainEntry>>;
    /// Checkpoints after `after_seq`, in order.
    async fn audit_checkpoints(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> StoreResult<Vec<StoredCheckpoint>>;
    /// Event and audit rows that are neither sequenced nor waiting (written behind the
    /// service's back with the triggers dropped), first `limit`.
    async fn audit_unchained(&self, limit: u32) -> StoreResult<Vec<(ChainSource, i64)>>;
}
