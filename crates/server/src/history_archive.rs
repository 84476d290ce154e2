//! Archiving finished histories (issue #19): a worker moves the event rows of applications
//! that are finished and quiet into one compressed row each (`kuelik_store::history_archive`),
//! which keeps the events table to the live applications' rows and the database at a third
//! of the size at national scale. Nothing a user sees changes: histories, timelines, status
//! reads, reports and audit verification read the archived rows as they read the event rows.

use jiff::{SignedDuration, Timestamp};

use kuelik_store::{ArchiveRound, ArchiveScan, Store, StoreResult};

/// How long a finished application stays as rows: a refund is confirmed within days of an
/// annulment or withdrawal, and a later event would only be archived again, not lost.
pub const QUIET: SignedDuration = SignedDuration::from_hours(30 * 24);

/// Event rows one round looks at.
pub const ROWS_PER_ROUND: u32 = 20_000;

/// One round over the rows after `after_seq`. Only rows the audit chain has reached move,
/// and none while rows listed before migration 15 still wait for the chain (those are read
/// by their position in `events`).
pub async fn archive_round(
    store: &dyn Store,
    now: Timestamp,
    after_seq: i64,
    rows: u32,
) -> StoreResult<ArchiveRound> {
    if !store.audit_pending(1).await?.is_empty() {
        return Ok(ArchiveRound {
            scanned_to: after_seq,
            at_end: true,
            ..ArchiveRound::default()
        });
    }
    let legacy = store.audit_legacy_reach().await?;
    let reach = store.audit_reach().await?;
    store
        .archive_histories(ArchiveScan {
            after_seq: after_seq.max(legacy.events),
            chained_to: reach.events,
            quiet_before: now - QUIET,
            rows,
        })
        .await
}

/// Rounds over the whole events table from the start, until it is looked over to the chain's
/// reach; returns what they did (`scanned_to` where the last one stopped).
pub async fn archive_all(
    store: &dyn Store,
    now: Timestamp,
    rows: u32,
) -> StoreResult<ArchiveRound> {
    let mut total = ArchiveRound::default();
    loop {
        let round = archive_round(store, now, total.scanned_to, rows).await?;
        total.applications += round.applications;
        total.events += round.events;
        total.scanned_to = round.scanned_to;
        if round.at_end {
            total.at_end = true;
            return Ok(total);
        }
    }
}
