//! The tamper-evident audit log in the service: the sequencer that moves written events and
//! audit entries into the hash chain in batches (one signed checkpoint per batch, so request
//! transactions never wait on it), and the verification and export of the whole log.
//!
//! The sequencer asks the store how far rows are final (no writer can still commit one with
//! a smaller number), takes the rows after the chain's reach up to there — events by `seq`,
//! then audit entries by `pos` — hashes each row's canonical bytes (every column) into the
//! chain and stores one checkpoint saying how far the batch reached, with a 4-byte tag of
//! each entry's chain hash. No list of rows is kept: the numbers are the order. Rows
//! written before migration 15 were listed one by one (`audit_pending`, `audit_chain`);
//! they are chained and verified as before, ahead of the batches chained by reach.
//!
//! Verification recomputes everything from the rows as they are now, so an edited, deleted
//! or inserted row or checkpoint is found — also when the append-only triggers were
//! dropped first.

use jiff::Timestamp;
use serde::Serialize;

use kuelik_store::{
    ChainCandidate, ChainLink, ChainReach, ChainSource, ChainedBatch, Store, StoreError,
    StoredCheckpoint, TAG_LEN,
};
use kuelik_trust::audit::{AuditRecord, Verifier};
use kuelik_trust::{Chain, Checkpoint, ServerKey, ServerPublicKey, TrustError};

/// Entries per batch (one checkpoint signature each).
pub const BATCH: u32 = 500;
/// Rows read per page when verifying or exporting.
const PAGE: u32 = 2000;

#[derive(Debug, thiserror::Error)]
pub enum AuditChainError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error("output: {0}")]
    Io(#[from] std::io::Error),
}

fn parse_checkpoint(stored: &StoredCheckpoint) -> Result<Checkpoint, serde_json::Error> {
    serde_json::from_str(&stored.data)
}

/// Sequences up to one batch of rows; returns how many. Another instance that sequenced
/// the same rows first makes this a no-op (its batch stands).
pub async fn sequence_once(
    store: &dyn Store,
    key: &ServerKey,
    now: Timestamp,
) -> Result<usize, AuditChainError> {
    sequence_batch(store, key, now, BATCH).await
}

/// [`sequence_once`] with batches of `size` (a bulk load chains its history in bigger ones).
pub async fn sequence_batch(
    store: &dyn Store,
    key: &ServerKey,
    now: Timestamp,
    size: u32,
) -> Result<usize, AuditChainError> {
    // Rows listed before migration 15 go first, the way they were listed.
    let listed = store.audit_pending(size).await?;
    if !listed.is_empty() {
        return sequence_listed(store, key, now, listed).await;
    }
    let last = store.last_audit_checkpoint().await?;
    let after = store.audit_reach_at(last.as_ref()).await?;
    let Some(horizon) = store.audit_horizon().await? else {
        return Ok(0);
    };
    let rows = store.audit_rows(after, horizon, size).await?;
    if rows.is_empty() {
        // Nothing new, or only numbers no row will ever have (rolled-back inserts).
        return Ok(0);
    }
    let reach = reach_of(after, &rows);
    let mut chain = resume(last.as_ref())?;
    let previous = chain.seq();
    let batch = chain.append_batch(rows.iter().map(|c| &c.bytes), now, key)?;
    let tags = batch
        .links
        .iter()
        .flat_map(|link| link.chain_hash[..TAG_LEN].iter().copied())
        .collect();
    let checkpoint = stored(&batch.checkpoint, now, Some(ChainedBatch { reach, tags }))?;
    appended(
        store.append_audit_batch(previous, checkpoint).await,
        rows.len(),
    )
}

/// How far a batch of `rows` after `after` reaches: to its last row of each source. (Not to
/// the horizon: a number past the last row, never used, would be a reach no row confirms,
/// and verification checks that each reach is a row of the batch.)
fn reach_of(after: ChainReach, rows: &[ChainCandidate]) -> ChainReach {
    rows.iter().fold(after, |reach, row| match row.source {
        ChainSource::Event => ChainReach {
            events: row.source_pos,
            ..reach
        },
        ChainSource::Audit => ChainReach {
            audit: row.source_pos,
            ..reach
        },
    })
}

/// Chains rows listed in `audit_pending` (written before migration 15), one `audit_chain`
/// row each.
async fn sequence_listed(
    store: &dyn Store,
    key: &ServerKey,
    now: Timestamp,
    pending: Vec<ChainCandidate>,
) -> Result<usize, AuditChainError> {
    let mut chain = resume(store.last_audit_checkpoint().await?.as_ref())?;
    let batch = chain.append_batch(pending.iter().map(|c| &c.bytes), now, key)?;
    let links: Vec<ChainLink> = batch
        .links
        .iter()
        .zip(&pending)
        .map(|(link, row)| ChainLink {
            seq: link.seq,
            source: row.source,
            source_pos: row.source_pos,
            entry_hash: link.entry_hash,
            chain_hash: link.chain_hash,
        })
        .collect();
    let checkpoint = stored(&batch.checkpoint, now, None)?;
    appended(
        store.append_audit_chain(links, checkpoint).await,
        pending.len(),
    )
}

/// How many rows an append chained: all of them, or none when another sequencer's batch
/// came first (its batch stands).
fn appended(result: Result<(), StoreError>, rows: usize) -> Result<usize, AuditChainError> {
    match result {
        Ok(()) => Ok(rows),
        Err(StoreError::Duplicate("audit_chain")) => Ok(0),
        Err(e) => Err(e.into()),
    }
}

/// The chain after the newest stored checkpoint (a new chain when there is none).
fn resume(last: Option<&StoredCheckpoint>) -> Result<Chain, StoreError> {
    match last {
        Some(stored) => Ok(Chain::resume(&parse_checkpoint(stored).map_err(|e| {
            StoreError::Corrupt(format!("audit checkpoint {}: {e}", stored.seq))
        })?)),
        None => Ok(Chain::new()),
    }
}

/// A signed checkpoint as the store keeps it, with the batch it closes.
fn stored(
    checkpoint: &Checkpoint,
    at: Timestamp,
    batch: Option<ChainedBatch>,
) -> Result<StoredCheckpoint, StoreError> {
    Ok(StoredCheckpoint {
        seq: checkpoint.seq,
        at,
        data: serde_json::to_string(checkpoint)
            .map_err(|e| StoreError::Database(format!("checkpoint: {e}")))?,
        batch,
    })
}

/// Writes the newest stored checkpoint to `path` (a new file renamed over the old one):
/// the witness outside the database that a restore of an earlier copy cannot take back.
pub async fn keep_witness(
    store: &dyn Store,
    path: &std::path::Path,
) -> Result<(), AuditChainError> {
    let Some(last) = store.last_audit_checkpoint().await? else {
        return Ok(());
    };
    // A file of this writer's own (instances may share the directory), renamed whole.
    let tmp = path.with_extension(format!("{}.new", uuid::Uuid::now_v7().simple()));
    let written =
        std::fs::write(&tmp, last.data.as_bytes()).and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    Ok(written?)
}

/// The outbox topic that publishes a checkpoint to the witness endpoint.
pub const WITNESS_TOPIC: &str = "audit.witness";

/// Puts the newest stored checkpoint in the outbox for the witness endpoint. Not in the
/// checkpoint's own transaction: one lost to a crash is superseded by the next batch's.
pub async fn publish_witness(store: &dyn Store, now: Timestamp) -> Result<(), AuditChainError> {
    let Some(last) = store.last_audit_checkpoint().await? else {
        return Ok(());
    };
    let payload: serde_json::Value = serde_json::from_str(&last.data)
        .map_err(|e| StoreError::Corrupt(format!("audit checkpoint {}: {e}", last.seq)))?;
    store
        .commit(kuelik_store::Changes {
            outbox: vec![kuelik_store::OutboxMessage {
                id: uuid::Uuid::now_v7(),
                topic: WITNESS_TOPIC.into(),
                payload,
                created_at: now,
                attempts: 0,
                next_attempt_at: now,
                delivered_at: None,
                last_error: None,
            }],
            ..kuelik_store::Changes::default()
        })
        .await?;
    Ok(())
}

/// Sends one checkpoint to the witness endpoint: `Ok` on a 2xx answer (the checkpoint
/// carries the audit key's signature; the witness checks it with the public key).
pub async fn send_witness(url: &str, checkpoint: &serde_json::Value) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| e.to_string())?;
    let body = serde_json::to_vec(checkpoint).map_err(|e| e.to_string())?;
    let answer = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("the audit witness: {e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!("the audit witness answered {}", answer.status()))
    }
}

/// Compares the database with a witness checkpoint kept outside it (see [`keep_witness`]):
/// the witness must carry the server's signature, and the database must hold that same
/// checkpoint. A database without it was put back to an earlier copy (`rolled_back`), or
/// holds another chain (`witness_mismatch`).
pub async fn check_witness(
    store: &dyn Store,
    key: &ServerPublicKey,
    witness: &str,
) -> Result<Result<u64, Broken>, AuditChainError> {
    let cp: Checkpoint = match serde_json::from_str(witness) {
        Ok(cp) => cp,
        Err(e) => {
            return Ok(Err(broken(
                0,
                "witness_unreadable",
                format!("the witness file: {e}"),
            )))
        }
    };
    if !cp.verify_signature(key) {
        return Ok(Err(broken(
            cp.seq,
            "witness_signature",
            "the witness checkpoint does not carry this server's signature",
        )));
    }
    let held = store
        .audit_checkpoints(cp.seq.saturating_sub(1), 1)
        .await?
        .into_iter()
        .next()
        .filter(|s| s.seq == cp.seq);
    match held {
        None => {
            let newest = store
                .last_audit_checkpoint()
                .await?
                .map(|c| c.seq)
                .unwrap_or(0);
            Ok(Err(broken(
                cp.seq,
                "rolled_back",
                format!(
                    "the witness holds the checkpoint at entry {}, the database's newest is at {newest}: it was put back to an earlier copy (or its chain cut short)",
                    cp.seq
                ),
            )))
        }
        Some(stored) => match parse_checkpoint(&stored) {
            Ok(ours) if ours == cp => Ok(Ok(cp.seq)),
            _ => Ok(Err(broken(
                cp.seq,
                "witness_mismatch",
                format!(
                    "the database's checkpoint at entry {} is not the witness's",
                    cp.seq
                ),
            ))),
        },
    }
}

/// An intact log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Intact {
    pub entries: u64,
    pub checkpoints: u64,
    /// Rows written but not sequenced yet (the sequencer's lag); not a fault.
    pub pending: u64,
    /// Lowercase hex of the chain head: publish it to detect a truncated log later.
    pub head: String,
    pub last_checkpoint_seq: Option<u64>,
}

/// Where the log stops being intact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Broken {
    /// The first chain entry that is not intact (0 when the fault is a row outside the chain).
    pub seq: u64,
    /// Stable code: `entry_mismatch`, `entry_hash_mismatch`, `row_missing`,
    /// `checkpoint_mismatch`, `checkpoint_row_mismatch`, `bad_checkpoint_signature`,
    /// `unsequenced_row`, `missing_entry`, `out_of_order`, …
    pub code: String,
    pub detail: String,
}

fn broken(seq: u64, code: &str, detail: impl Into<String>) -> Broken {
    Broken {
        seq,
        code: code.to_string(),
        detail: detail.into(),
    }
}

fn from_audit_error(e: kuelik_trust::AuditError) -> Broken {
    broken(e.first_bad_seq, e.code(), e.to_string())
}

fn describe(source: ChainSource, pos: i64) -> String {
    match source {
        ChainSource::Event => format!("event row {pos}"),
        ChainSource::Audit => format!("audit row {pos}"),
    }
}

/// Recomputes the whole log from the rows as they are now: every chain entry against its
/// row, the chain against every signed checkpoint, and every event and audit row against
/// the chain. `visit` sees each entry and checkpoint in order (for export).
pub async fn verify_with(
    store: &dyn Store,
    key: &ServerPublicKey,
    mut visit: impl FnMut(Visit<'_>) -> Result<(), std::io::Error>,
) -> Result<Result<Intact, Broken>, AuditChainError> {
    let mut verifier = Verifier::new(key);
    let mut checkpoints = Checkpoints::default();
    // The rows listed one by one before migration 15, with their batches' checkpoints.
    let mut after = 0u64;
    loop {
        let entries = store.audit_chain(after, PAGE).await?;
        if entries.is_empty() {
            break;
        }
        for entry in &entries {
            // Checkpoints that cover entries already pushed go in before the next entry.
            loop {
                let next = checkpoints
                    .next_if(store, |s| s.batch.is_none() && s.cp.seq <= verifier.seq())
                    .await?;
                match next {
                    Err(b) => return Ok(Err(b)),
                    Ok(None) => break,
                    Ok(Some(s)) => {
                        if let Err(e) = verifier.push_checkpoint(&s.cp) {
                            return Ok(Err(from_audit_error(e)));
                        }
                        visit(Visit::Checkpoint(&s.cp))?;
                    }
                }
            }
            let link = &entry.link;
            let Some(bytes) = &entry.bytes else {
                return Ok(Err(broken(
                    link.seq,
                    "row_missing",
                    format!(
                        "entry {}: {} is gone",
                        link.seq,
                        describe(link.source, link.source_pos)
                    ),
                )));
            };
            // The stored entry hash must match too (the chain hash alone would, with a
            // rewritten entry hash, still pin the edit; this names the row as well).
            let record = AuditRecord {
                seq: link.seq,
                bytes,
                chain_hash: Some(&link.chain_hash),
            };
            if let Err(e) = verifier.push_entry(&record) {
                let mut b = from_audit_error(e);
                b.detail = format!("{} ({})", b.detail, describe(link.source, link.source_pos));
                return Ok(Err(b));
            }
            // Every stored column is re-derived: the chain hash above (from the row's bytes
            // and the previous head), and the entry hash here — an edited entry hash that
            // kept its type and length would otherwise pass.
            if link.entry_hash != kuelik_trust::audit::entry_hash(bytes) {
                return Ok(Err(broken(
                    link.seq,
                    "entry_hash_mismatch",
                    format!(
                        "entry {}: its stored entry hash (audit_chain.entry_hash) is not the SHA-256 of {}",
                        link.seq,
                        describe(link.source, link.source_pos)
                    ),
                )));
            }
            visit(Visit::Entry {
                seq: link.seq,
                source: link.source,
                source_pos: link.source_pos,
                bytes,
                chain_hash: &link.chain_hash,
            })?;
        }
        after = entries.last().map(|e| e.link.seq).unwrap_or(after);
    }
    // Then the batches chained by reach, each read up to where its checkpoint says (and a
    // checkpoint past the last entry: a deleted tail), archived events merged in.
    let mut reach = store.audit_legacy_reach().await?;
    let mut archived = ArchivedEvents::default();
    loop {
        let next = match checkpoints.next_if(store, |_| true).await? {
            Err(b) => return Ok(Err(b)),
            Ok(None) => break,
            Ok(Some(s)) => s,
        };
        let pushed = match &next.batch {
            Some(batch) => {
                match push_batch(
                    store,
                    &mut verifier,
                    &mut archived,
                    reach,
                    batch,
                    &mut visit,
                )
                .await?
                {
                    Ok(done) => Some((batch, done)),
                    Err(b) => return Ok(Err(b)),
                }
            }
            None => None,
        };
        if let Err(e) = verifier.push_checkpoint(&next.cp) {
            return Ok(Err(from_audit_error(e)));
        }
        if let Some((batch, (entries, reached))) = pushed {
            if let Some(b) = batch_columns_broken(next.cp.seq, batch, entries, reached) {
                return Ok(Err(b));
            }
            reach = batch.reach;
        }
        visit(Visit::Checkpoint(&next.cp))?;
    }
    let log = match verifier.finish() {
        Ok(log) => log,
        Err(e) => return Ok(Err(from_audit_error(e))),
    };
    if let Some(seq) = archived.left(store).await? {
        return Ok(Err(broken(
            0,
            "unsequenced_row",
            format!(
                "archived event {seq} is past every batch of the chain (written behind the service's back)"
            ),
        )));
    }
    if let Some((source, pos)) = store.audit_unchained(1).await?.first() {
        return Ok(Err(broken(
            0,
            "unsequenced_row",
            format!(
                "{} is neither in the chain nor waiting for it (written behind the service's back)",
                describe(*source, *pos)
            ),
        )));
    }
    Ok(Ok(Intact {
        entries: log.entries,
        checkpoints: log.checkpoints,
        pending: store.audit_pending_count().await?,
        head: kuelik_core::hex::encode(&log.head),
        last_checkpoint_seq: log.last_checkpoint.map(|c| c.seq),
    }))
}

/// A batch's checkpoint row against what its entries say: one tag per entry, and each reach
/// the batch's last row of that source.
fn batch_columns_broken(
    seq: u64,
    batch: &ChainedBatch,
    entries: usize,
    reached: ChainReach,
) -> Option<Broken> {
    let (column, what) = if batch.tags.len() != entries * TAG_LEN {
        (
            "tags",
            format!("{} bytes for {entries} entries", batch.tags.len()),
        )
    } else if reached.events != batch.reach.events {
        (
            "events_to",
            format!("{}, its last event {}", batch.reach.events, reached.events),
        )
    } else if reached.audit != batch.reach.audit {
        (
            "audit_to",
            format!(
                "{}, its last audit entry {}",
                batch.reach.audit, reached.audit
            ),
        )
    } else {
        return None;
    };
    Some(broken(
        seq,
        "checkpoint_row_mismatch",
        format!("checkpoint at {seq}: its {column} (audit_checkpoints.{column}) is {what}"),
    ))
}

/// Pushes the rows of one batch chained by reach — those after `after` up to its reach,
/// events first (the rows and the archived ones merged by `seq`) — each against its tag;
/// returns how many, and how far they reach.
async fn push_batch(
    store: &dyn Store,
    verifier: &mut Verifier<'_>,
    archived: &mut ArchivedEvents,
    after: ChainReach,
    batch: &ChainedBatch,
    visit: &mut impl FnMut(Visit<'_>) -> Result<(), std::io::Error>,
) -> Result<Result<(usize, ChainReach), Broken>, AuditChainError> {
    let mut from = after;
    let mut pushed = 0usize;
    loop {
        let rows = store.audit_rows(from, batch.reach, PAGE).await?;
        let full = rows.len() >= PAGE as usize;
        // How far this round's events go: a full page of event rows may have more after it.
        let events_to = match rows.last() {
            Some(last) if full && last.source == ChainSource::Event => last.source_pos,
            _ => batch.reach.events,
        };
        let kept = match archived.upto(store, events_to, PAGE as usize).await? {
            Ok(kept) => kept,
            Err(b) => return Ok(Err(b)),
        };
        // As many archived events as asked for: more may come before `events_to`, so this
        // round goes only as far as the last of them.
        let (upto, complete) = match kept.last() {
            Some(last) if kept.len() >= PAGE as usize => (last.source_pos, false),
            _ => (events_to, true),
        };
        let mut round = merge_by_seq(
            kept,
            rows.iter()
                .filter(|r| r.source == ChainSource::Event && r.source_pos <= upto),
        );
        if complete && events_to == batch.reach.events {
            round.extend(
                rows.iter()
                    .filter(|r| r.source == ChainSource::Audit)
                    .cloned(),
            );
        }
        for row in &round {
            let seq = verifier.seq().saturating_add(1);
            // A row past the tags (an inserted one) has none, which vouches for nothing.
            let tag = batch
                .tags
                .get(pushed * TAG_LEN..(pushed + 1) * TAG_LEN)
                .unwrap_or_default();
            let record = AuditRecord {
                seq,
                bytes: &row.bytes,
                chain_hash: Some(tag),
            };
            if let Err(e) = verifier.push_entry(&record) {
                let mut b = from_audit_error(e);
                b.detail = format!(
                    "{} ({}: edited, or a row before it in this batch removed or added)",
                    b.detail,
                    describe(row.source, row.source_pos)
                );
                return Ok(Err(b));
            }
            visit(Visit::Entry {
                seq,
                source: row.source,
                source_pos: row.source_pos,
                bytes: &row.bytes,
                chain_hash: &verifier.head(),
            })?;
            pushed += 1;
        }
        from = reach_of(from, &round);
        if !full && complete {
            break;
        }
    }
    Ok(Ok((pushed, from)))
}

/// Two runs of events each in `seq` order, as one.
fn merge_by_seq<'a>(
    archived: Vec<ChainCandidate>,
    rows: impl Iterator<Item = &'a ChainCandidate>,
) -> Vec<ChainCandidate> {
    let mut out = Vec::with_capacity(archived.len());
    let mut rows = rows.peekable();
    for kept in archived {
        while let Some(row) = rows.next_if(|r| r.source_pos < kept.source_pos) {
            out.push(row.clone());
        }
        out.push(kept);
    }
    out.extend(rows.cloned());
    out
}

/// The archived events (issue #19: a finished application's history as one row) in the
/// chain's order, to be merged with the event rows. Histories are read in the order of their
/// first event; each is held, packed, from its first event until its last is taken — what
/// is held at once is the histories whose lives overlap the point reached.
#[derive(Default)]
struct ArchivedEvents {
    /// The next event of each history being taken, by `seq`.
    heads: std::collections::BinaryHeap<std::cmp::Reverse<(i64, usize)>>,
    /// Per slot: the history, the index of its head, and the head itself.
    slots: Vec<Option<(kuelik_store::ArchivedHistory, usize, ChainCandidate)>>,
    free: Vec<usize>,
    /// Read, not yet begun (their first event is past the point reached).
    waiting: std::collections::VecDeque<kuelik_store::ArchivedHistory>,
    read_after: i64,
    read_all: bool,
}

impl ArchivedEvents {
    /// The archived events with `seq` up to `bound`, in order, at most `max`.
    async fn upto(
        &mut self,
        store: &dyn Store,
        bound: i64,
        max: usize,
    ) -> Result<Result<Vec<ChainCandidate>, Broken>, AuditChainError> {
        let mut out = Vec::new();
        while out.len() < max {
            if let Err(b) = self.begin_upto(store, bound).await? {
                return Ok(Err(b));
            }
            let Some(&std::cmp::Reverse((seq, slot))) = self.heads.peek() else {
                break;
            };
            if seq > bound {
                break;
            }
            self.heads.pop();
            let Some((history, index, head)) = self.slots.get_mut(slot).and_then(Option::take)
            else {
                break;
            };
            out.push(head);
            match self.begin(history, index + 1, slot) {
                Ok(()) => {}
                Err(b) => return Ok(Err(b)),
            }
        }
        Ok(Ok(out))
    }

    /// Whether events are left that no batch read (an archived event past the chain).
    async fn left(&mut self, store: &dyn Store) -> Result<Option<i64>, AuditChainError> {
        if let Some(std::cmp::Reverse((seq, _))) = self.heads.peek() {
            return Ok(Some(*seq));
        }
        if self.waiting.is_empty() && !self.read_all {
            self.read(store).await?;
        }
        Ok(self.waiting.front().map(|h| h.first_seq))
    }

    /// Begins every history read whose first event is up to `bound`.
    async fn begin_upto(
        &mut self,
        store: &dyn Store,
        bound: i64,
    ) -> Result<Result<(), Broken>, AuditChainError> {
        loop {
            if self.waiting.is_empty() && !self.read_all {
                self.read(store).await?;
            }
            match self.waiting.front() {
                Some(h) if h.first_seq <= bound => {}
                _ => return Ok(Ok(())),
            }
            let Some(history) = self.waiting.pop_front() else {
                return Ok(Ok(()));
            };
            let slot = self.free.pop().unwrap_or_else(|| {
                self.slots.push(None);
                self.slots.len() - 1
            });
            if let Err(b) = self.begin(history, 0, slot) {
                return Ok(Err(b));
            }
        }
    }

    /// Makes event `index` of `history` its head in `slot` (or frees the slot after its last).
    fn begin(
        &mut self,
        history: kuelik_store::ArchivedHistory,
        index: usize,
        slot: usize,
    ) -> Result<(), Broken> {
        match history.chain_entry(index) {
            Ok(Some(head)) => {
                self.heads.push(std::cmp::Reverse((head.source_pos, slot)));
                if let Some(place) = self.slots.get_mut(slot) {
                    *place = Some((history, index, head));
                }
                Ok(())
            }
            Ok(None) => {
                self.free.push(slot);
                Ok(())
            }
            Err(e) => Err(broken(
                0,
                "archive_unreadable",
                format!(
                    "the archived history of application {} cannot be read: {e}",
                    history.application_id
                ),
            )),
        }
    }

    async fn read(&mut self, store: &dyn Store) -> Result<(), AuditChainError> {
        let page = store.archived_histories(self.read_after, PAGE).await?;
        self.read_all = page.len() < PAGE as usize;
        if let Some(last) = page.last() {
            self.read_after = last.first_seq;
        }
        self.waiting.extend(page);
        Ok(())
    }
}

/// A stored checkpoint, parsed, with the batch it says it chained.
struct Sealed {
    cp: Checkpoint,
    batch: Option<ChainedBatch>,
}

/// The stored checkpoints, read page by page in order.
#[derive(Default)]
struct Checkpoints {
    queue: std::collections::VecDeque<Sealed>,
    after: u64,
    done: bool,
}

impl Checkpoints {
    /// The next checkpoint if `wanted` accepts it.
    async fn next_if(
        &mut self,
        store: &dyn Store,
        wanted: impl Fn(&Sealed) -> bool,
    ) -> Result<Result<Option<Sealed>, Broken>, AuditChainError> {
        if self.queue.is_empty() && !self.done {
            let page = store.audit_checkpoints(self.after, PAGE).await?;
            self.done = page.is_empty();
            for stored in page {
                self.after = stored.seq;
                match parse_checkpoint(&stored) {
                    // The row's own columns say what the signed data says: an edited
                    // `seq` or `at` column is named even though the signature still fits.
                    // (Stored to the microsecond.)
                    Ok(cp)
                        if cp.seq != stored.seq
                            || cp.at.as_microsecond() != stored.at.as_microsecond() =>
                    {
                        let column = if cp.seq != stored.seq { "seq" } else { "at" };
                        return Ok(Err(broken(
                            stored.seq.min(cp.seq),
                            "checkpoint_row_mismatch",
                            format!(
                                "checkpoint at {}: its stored {column} (audit_checkpoints.{column}) is not the signed one",
                                cp.seq
                            ),
                        )));
                    }
                    Ok(cp) => self.queue.push_back(Sealed {
                        cp,
                        batch: stored.batch,
                    }),
                    Err(e) => {
                        return Ok(Err(broken(
                            stored.seq,
                            "checkpoint_unreadable",
                            format!("checkpoint at {}: {e}", stored.seq),
                        )))
                    }
                }
            }
        }
        if self.queue.front().is_some_and(wanted) {
            Ok(Ok(self.queue.pop_front()))
        } else {
            Ok(Ok(None))
        }
    }
}

/// What [`verify_with`] shows its visitor.
pub enum Visit<'a> {
    Entry {
        seq: u64,
        source: ChainSource,
        source_pos: i64,
        /// The entry's canonical bytes (UTF-8 JSON).
        bytes: &'a [u8],
        chain_hash: &'a [u8; 32],
    },
    Checkpoint(&'a Checkpoint),
}

pub async fn verify(
    store: &dyn Store,
    key: &ServerPublicKey,
) -> Result<Result<Intact, Broken>, AuditChainError> {
    verify_with(store, key, |_| Ok(())).await
}

/// Writes the verified log as JSON lines for an outside auditor: a header with the server's
/// public key, then every entry (its canonical bytes as a string, their SHA-256 and the
/// chain hash) with each checkpoint after the entry it covers, then the result. An auditor
/// recomputes `h_n = SHA-256(h_{n-1} || SHA-256(entry))` from `h_0 =
/// SHA-256("kuelik-audit-chain-v1")` and checks each checkpoint's ECDSA signature.
pub async fn export(
    store: &dyn Store,
    key: &ServerPublicKey,
    out: &mut dyn std::io::Write,
) -> Result<Result<Intact, Broken>, AuditChainError> {
    let header = serde_json::json!({
        "format": "kuelik-audit-export-v1",
        "public_key": key.to_pem()?,
        "public_key_fingerprint": key.fingerprint(),
    });
    writeln!(out, "{header}")?;
    let result = verify_with(store, key, |visit| {
        let line = match visit {
            Visit::Entry {
                seq,
                source,
                source_pos,
                bytes,
                chain_hash,
            } => serde_json::json!({
                "seq": seq,
                "source": source.as_str(),
                "source_pos": source_pos,
                "entry": String::from_utf8_lossy(bytes),
                "entry_hash": kuelik_core::hex::encode(&kuelik_trust::audit::entry_hash(bytes)),
                "chain_hash": kuelik_core::hex::encode(chain_hash),
            }),
            Visit::Checkpoint(cp) => serde_json::json!({ "checkpoint": cp }),
        };
        writeln!(out, "{line}")
    })
    .await?;
    let footer = match &result {
        Ok(intact) => serde_json::json!({ "result": "intact", "log": intact }),
        Err(b) => serde_json::json!({ "result": "broken", "at": b }),
    };
    writeln!(out, "{footer}")?;
    Ok(result)
}
