//! Applications in PostgreSQL: [`ApplicationStore`].

use std::collections::HashMap;

use super::*;
use crate::history_archive::{self, ArchivedEvent};
use crate::{ArchiveRound, ArchiveScan};

/// A status read in one statement: the application's row with its timeline and payments as
/// JSON arrays beside it (one round trip, one snapshot). Public for the national run's
/// `EXPLAIN`.
pub const APPLICATION_RECORD_SQL: &str = "SELECT a.data, a.version, \
       (SELECT COALESCE(json_agg(json_build_array(e.kind, e.from_state, e.to_state, \
          e.actor_role, e.at) ORDER BY e.seq), '[]') \
        FROM events e WHERE e.application_id = a.id)::text AS timeline, \
       (SELECT COALESCE(json_agg(json_build_array(p.id, p.application_id, p.payer, p.amount, \
          p.status, p.gateway_reference, p.created_at, p.updated_at) \
          ORDER BY p.created_at, p.id), '[]') \
        FROM payments p WHERE p.application_id = a.id)::text AS payments, \
       (SELECT h.events FROM archived_histories h WHERE h.application_id = a.id) AS archived \
     FROM applications a WHERE a.id = $1";

#[async_trait]
impl ApplicationStore for PostgresStore {
    async fn application(&self, app: ApplicationId) -> StoreResult<Option<StoredApplication>> {
        sqlx::query(sql::APPLICATION)
            .bind(app.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::application(&r))
            .transpose()
    }

    async fn application_by_ticket(
        &self,
        ticket: &TicketNumber,
    ) -> StoreResult<Option<StoredApplication>> {
        sqlx::query(sql::APPLICATION_BY_TICKET)
            .bind(ticket.compact())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::application(&r))
            .transpose()
    }

    async fn applications_of(&self, iin: &Iin) -> StoreResult<Vec<StoredApplication>> {
        let rows = sqlx::query(sql::APPLICATIONS_OF)
            .bind(iin.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn history(&self, app: ApplicationId) -> StoreResult<Vec<Event>> {
        // The archived part and the rows in one snapshot: a round of archiving between two
        // reads would otherwise hide the rows it moved (or show them twice).
        let mut tx = self.read_snapshot().await?;
        let archived = archived_part(&mut tx, app).await?;
        let rows = sqlx::query(sql::HISTORY)
            .bind(app.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let mut events = archived
            .iter()
            .map(|e| codec::archived_event(app.0, e))
            .collect::<StoreResult<Vec<_>>>()?;
        events.extend(decode_all(rows, codec::event)?);
        Ok(events)
    }

    async fn timeline(&self, app: ApplicationId) -> StoreResult<Vec<TimelineEntry>> {
        let mut tx = self.read_snapshot().await?;
        let archived = archived_part(&mut tx, app).await?;
        let rows = sqlx::query(sql::TIMELINE)
            .bind(app.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let mut timeline = archived
            .iter()
            .map(codec::archived_timeline_entry)
            .collect::<StoreResult<Vec<_>>>()?;
        timeline.extend(decode_all(rows, codec::timeline_entry)?);
        Ok(timeline)
    }

    async fn signed_in_record(
        &self,
        token_hash: &[u8],
        now: Timestamp,
        app: ApplicationId,
    ) -> StoreResult<SignedInRecord> {
        // Two statements side by side on two connections: one round trip's wait. (A session
        // and a record are independent rows; one snapshot matters less here than on SQLite,
        // where the read lock is the cost.)
        let (signed_in, record) = tokio::try_join!(
            self.signed_in(token_hash, now),
            self.application_record(app)
        )?;
        Ok(SignedInRecord { signed_in, record })
    }

    async fn application_record(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Option<ApplicationRecord>> {
        let row = sqlx::query(APPLICATION_RECORD_SQL)
            .bind(app.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let archived: Option<Vec<u8>> = sqlx::Row::try_get(&row, "archived").map_err(db_err)?;
        let mut timeline = codec::archived_part(archived.as_deref())?
            .iter()
            .map(codec::archived_timeline_entry)
            .collect::<StoreResult<Vec<_>>>()?;
        timeline.extend(codec::timeline_json(&codec::RowExt::text(
            &row, "timeline",
        )?)?);
        Ok(Some(ApplicationRecord {
            stored: codec::application(&row)?,
            timeline,
            payments: codec::payments_json(&codec::RowExt::text(&row, "payments")?)?,
        }))
    }

    async fn work_queue(
        &self,
        filter: &QueueFilter,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let mut q =
            QueryBuilder::<Postgres>::new("SELECT data, version FROM applications WHERE state = ");
        q.push_bind(filter.state.as_str());
        if let Some(region) = filter.region {
            q.push(" AND region = ").push_bind(region.to_string());
        }
        if let Some(point) = &filter.point {
            q.push(" AND registration_point = ")
                .push_bind(point.to_string());
        }
        if let Some(before) = filter.taken_before {
            q.push(" AND taken_at < ").push_bind(micros(before));
        }
        // due_date is 'YYYY-MM-DD' text in the "C" collation: byte order is date order.
        q.push(" ORDER BY due_date ASC NULLS LAST, submitted_at ASC NULLS LAST, id ASC LIMIT ")
            .push_bind(limit(max));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn blob(&self, digest: &Sha256Digest) -> StoreResult<Option<Blob>> {
        let blob = sqlx::query(sql::BLOB)
            .bind(digest.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::blob(&r))
            .transpose()?;
        match blob {
            Some(mut blob) => {
                blob.bytes = self.vault.get(&blob.digest.to_string(), blob.bytes).await?;
                Ok(Some(blob))
            }
            None => Ok(None),
        }
    }

    async fn idempotency_record(
        &self,
        scope: &str,
        key: &str,
    ) -> StoreResult<Option<IdempotencyRecord>> {
        sqlx::query(sql::IDEMPOTENCY_RECORD)
            .bind(scope)
            .bind(key)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::idempotency(&r))
            .transpose()
    }

    async fn image_check(&self, digest: &Sha256Digest) -> StoreResult<Option<ImageCheck>> {
        sqlx::query(sql::IMAGE_CHECK)
            .bind(digest.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::image_check(&r))
            .transpose()
    }

    async fn applications_with_photo_hash(
        &self,
        perceptual_hash: u64,
        excluding: &Iin,
    ) -> StoreResult<Vec<SamePhoto>> {
        // One statement, bounded at each step: at most 64 photos with this hash, at most
        // SAME_PHOTO_LIMIT applications of each (a flag needs a few examples, not every match).
        let rows = sqlx::query(
            "SELECT a.id, a.ticket, a.region, a.state FROM \
               (SELECT digest FROM image_checks WHERE perceptual_hash = $1 LIMIT 64) d \
               CROSS JOIN LATERAL (SELECT id, ticket, region, state, created_at FROM applications \
                 WHERE data ->> 'photo' = d.digest AND applicant <> $2 LIMIT $3) a \
             ORDER BY a.created_at, a.id LIMIT $3",
        )
        .bind(format!("{perceptual_hash:016x}"))
        .bind(excluding.to_string())
        .bind(SAME_PHOTO_LIMIT as i64)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::same_photo)
    }

    async fn applications_to_purge(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(sql::APPLICATIONS_TO_PURGE)
            .bind(before.as_microsecond())
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(ids.into_iter().map(ApplicationId).collect())
    }

    async fn purge_application_images(
        &self,
        application: ApplicationId,
        audit: AuditEntry,
        now: Timestamp,
    ) -> StoreResult<u64> {
        let rows = codec::changes(&Changes {
            audit: vec![audit],
            ..Changes::default()
        })?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let digests: Option<(Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT data ->> 'photo', data ->> 'signature' FROM applications WHERE id = $1 FOR UPDATE",
        )
        .bind(application.0)
        .fetch_optional(&mut *tx)
        .await
        .map_err(db_err)?;
        let Some((photo, signature)) = digests else {
            return Err(StoreError::Conflict);
        };
        let mut deleted = 0u64;
        let mut gone = Vec::new();
        for digest in [photo, signature].into_iter().flatten() {
            let done = sqlx::query(
                "DELETE FROM blobs WHERE digest = $1 AND NOT EXISTS ( \
                   SELECT 1 FROM applications o WHERE o.id <> $2 \
                     AND (o.data ->> 'photo' = $1 OR o.data ->> 'signature' = $1) \
                     AND NOT EXISTS (SELECT 1 FROM purged_applications p WHERE p.application_id = o.id))",
            )
            .bind(&digest)
            .bind(application.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            if done.rows_affected() > 0 {
                deleted += done.rows_affected();
                gone.push(digest.clone());
                sqlx::query(sql::DELETE_IMAGE_CHECK)
                    .bind(&digest)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        sqlx::query(sql::DELETE_NOTICES_OF)
            .bind(application.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(sql::INSERT_PURGED)
            .bind(application.0)
            .bind(now.as_microsecond())
            .bind(deleted as i64)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        commit_changes(&mut tx, &rows).await?;
        tx.commit().await.map_err(db_err)?;
        self.vault.forget(&gone).await;
        Ok(deleted)
    }

    async fn archive_histories(&self, scan: ArchiveScan) -> StoreResult<ArchiveRound> {
        let mut tx = self.key_order_reads().await?;
        let window: Vec<history_archive::WindowRow> = sqlx::query_as(sql::ARCHIVE_WINDOW)
            .bind(scan.quiet_before.as_microsecond())
            .bind(scan.after_seq)
            .bind(scan.chained_to)
            .bind(i64::from(scan.rows))
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        let (ids, scanned) = history_archive::window(&scan, &window);
        if ids.is_empty() {
            return Ok(scanned);
        }
        let mut ids = ids
            .iter()
            .map(|i| {
                i.parse::<Uuid>()
                    .map_err(|_| StoreError::Corrupt(format!("events.application_id {i:?}")))
            })
            .collect::<StoreResult<Vec<Uuid>>>()?;
        // Two halves side by side, each on its own connection and in its own transaction:
        // while PostgreSQL reads or writes one, the other is compressed (a round is
        // otherwise the database and this process taking turns on two cores).
        let second = ids.split_off(ids.len() / 2);
        let (a, b) = tokio::try_join!(
            self.archive_some(ids, scan, scanned),
            self.archive_some(second, scan, scanned)
        )?;
        Ok(ArchiveRound {
            applications: a.applications + b.applications,
            events: a.events + b.events,
            ..scanned
        })
    }

    async fn approval(&self, app: ApplicationId) -> StoreResult<Option<Approval>> {
        sqlx::query(sql::APPROVAL)
            .bind(app.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::approval(&r))
            .transpose()
    }

    async fn signature_checks(&self, app: ApplicationId) -> StoreResult<Vec<SignatureCheck>> {
        let rows = sqlx::query(sql::SIGNATURE_CHECKS)
            .bind(app.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::signature_check)
    }
}

impl PostgresStore {
    /// Archives the finished, quiet histories of `ids` (one half of a round's): reads their
    /// rows by index, builds their archived rows (`history_archive::archives`, off the async
    /// threads) and writes them in one transaction, undone whole if a row was gone.
    async fn archive_some(
        &self,
        ids: Vec<Uuid>,
        scan: ArchiveScan,
        scanned: ArchiveRound,
    ) -> StoreResult<ArchiveRound> {
        if ids.is_empty() {
            return Ok(scanned);
        }
        let rows: Vec<history_archive::EventRow> = sqlx::query_as(
            // Each application's rows by its index, whatever the statistics say (a bulk
            // load's stale ones once made this a scan of the whole table per round).
            "SELECT w.id::text, e.seq, e.kind, e.from_state, e.to_state, e.actor_role, \
             e.actor_staff::text, e.at, e.data::text FROM UNNEST($1::uuid[]) WITH ORDINALITY \
             AS w(id, n) CROSS JOIN LATERAL (SELECT * FROM events x WHERE x.application_id = \
             w.id ORDER BY x.seq OFFSET 0) e ORDER BY w.n, e.seq",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let earlier: HashMap<String, Vec<u8>> = sqlx::query_as(
            "SELECT h.application_id::text, h.events FROM UNNEST($1::uuid[]) AS w(id) CROSS \
             JOIN LATERAL (SELECT * FROM archived_histories x WHERE x.application_id = w.id \
             OFFSET 0) h",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?
        .into_iter()
        .collect();
        let (archives, round) = tokio::task::spawn_blocking(move || {
            let rows = rows.into_iter().map(history_archive::event_of).collect();
            history_archive::archives(history_archive::finished(rows, earlier), &scan, scanned)
        })
        .await
        .map_err(|e| StoreError::Database(format!("archiving stopped: {e}")))??;
        if archives.is_empty() {
            return Ok(round);
        }
        let mut apps = Vec::with_capacity(archives.len());
        let (mut first, mut last_at, mut packed, mut seqs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for a in archives {
            apps.push(a.application_id.parse::<Uuid>().map_err(|_| {
                StoreError::Corrupt(format!("events.application_id {:?}", a.application_id))
            })?);
            first.push(a.first_seq);
            last_at.push(a.last_at);
            packed.push(a.events);
            seqs.extend(a.rows);
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // What lets this transaction delete event rows (migration 17).
        sqlx::query("SET LOCAL kuelik.archiving = 'on'")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        // The rows read above, by their numbers (the primary key: never a scan of the table).
        sqlx::query(
            "INSERT INTO archived_decisions (application_id, kind, at, reason) SELECT \
             application_id, kind, at, COALESCE(data ->> 'reason', data -> 'kind' ->> \
             'reason') FROM events WHERE seq = ANY($1) AND kind IN ('approved', 'annulled')",
        )
        .bind(&seqs)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        sqlx::query(
            "INSERT INTO archived_histories (application_id, first_seq, last_at, events) \
             SELECT * FROM UNNEST($1::uuid[], $2::int8[], $3::int8[], $4::bytea[]) ON \
             CONFLICT (application_id) DO UPDATE SET last_at = excluded.last_at, events = \
             excluded.events",
        )
        .bind(&apps)
        .bind(&first)
        .bind(&last_at)
        .bind(&packed)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let moved = sqlx::query("DELETE FROM events WHERE seq = ANY($1)")
            .bind(&seqs)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        // Rows gone since they were read (another round archived them): undo this one.
        if moved != round.events {
            tx.rollback().await.map_err(db_err)?;
            return Err(StoreError::Conflict);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(round)
    }
}

/// The archived part of an application's history (`history_archive.rs`; none when nothing of
/// it is archived yet), inside the caller's snapshot.
async fn archived_part(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    app: ApplicationId,
) -> StoreResult<Vec<ArchivedEvent>> {
    let stored: Option<Vec<u8>> = sqlx::query_scalar(sql::ARCHIVED_HISTORY)
        .bind(app.0)
        .fetch_optional(&mut **tx)
        .await
        .map_err(db_err)?;
    codec::archived_part(stored.as_deref())
}
