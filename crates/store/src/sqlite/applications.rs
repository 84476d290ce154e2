//! Applications in SQLite: [`ApplicationStore`].

use std::collections::HashMap;

use super::*;
use crate::history_archive::{self, ArchivedEvent, Finished};
use crate::{ArchiveRound, ArchiveScan};

#[async_trait]
impl ApplicationStore for SqliteStore {
    async fn application(&self, app: ApplicationId) -> StoreResult<Option<StoredApplication>> {
        self.lookup(|c| query_opt(c, sql::APPLICATION, [id(app.0)], |r| codec::application(r)))
    }

    async fn application_by_ticket(
        &self,
        ticket: &TicketNumber,
    ) -> StoreResult<Option<StoredApplication>> {
        self.lookup(|c| {
            query_opt(c, sql::APPLICATION_BY_TICKET, [ticket.compact()], |r| {
                codec::application(r)
            })
        })
    }

    async fn applications_of(&self, iin: &Iin) -> StoreResult<Vec<StoredApplication>> {
        self.lookup(|c| {
            query_all(c, sql::APPLICATIONS_OF, [iin.to_string()], |r| {
                codec::application(r)
            })
        })
    }

    async fn history(&self, app: ApplicationId) -> StoreResult<Vec<Event>> {
        self.lookup(|c| {
            in_snapshot(c, |c| {
                let mut events = archived_part(c, app)?
                    .iter()
                    .map(|e| codec::archived_event(app.0, e))
                    .collect::<StoreResult<Vec<_>>>()?;
                events.extend(query_all(c, sql::HISTORY, [id(app.0)], |r| {
                    codec::event(r)
                })?);
                Ok(events)
            })
        })
    }

    async fn timeline(&self, app: ApplicationId) -> StoreResult<Vec<TimelineEntry>> {
        self.lookup(|c| in_snapshot(c, |c| read_timeline(c, app)))
    }

    async fn application_record(
        &self,
        app: ApplicationId,
    ) -> StoreResult<Option<ApplicationRecord>> {
        // One read transaction: the three reads see the same snapshot.
        self.lookup(|c| in_snapshot(c, |c| read_record(c, app)))
    }

    async fn signed_in_record(
        &self,
        token_hash: &[u8],
        now: Timestamp,
        app: ApplicationId,
    ) -> StoreResult<SignedInRecord> {
        self.lookup(|c| {
            in_snapshot(c, |c| {
                let signed_in = super::staff::read_signed_in(c, token_hash, now)?;
                let record = read_record(c, app)?;
                Ok(SignedInRecord { signed_in, record })
            })
        })
    }

    async fn work_queue(
        &self,
        filter: &QueueFilter,
        max: u32,
    ) -> StoreResult<Vec<StoredApplication>> {
        let mut sql = String::from("SELECT data, version FROM applications WHERE state = ?");
        let mut values = vec![Value::from(filter.state.as_str().to_string())];
        if let Some(region) = filter.region {
            sql.push_str(" AND region = ?");
            values.push(Value::from(region.to_string()));
        }
        if let Some(point) = &filter.point {
            sql.push_str(" AND registration_point = ?");
            values.push(Value::from(point.to_string()));
        }
        if let Some(before) = filter.taken_before {
            sql.push_str(" AND taken_at < ?");
            values.push(Value::from(micros(before)));
        }
        sql.push_str(
            " ORDER BY due_date ASC NULLS LAST, submitted_at ASC NULLS LAST, id ASC LIMIT ?",
        );
        values.push(Value::from(limit(max)));
        // Indexed on (region, state) and bounded by the page size: a lookup.
        self.lookup(|c| query_all(c, &sql, params_from_iter(values), |r| codec::application(r)))
    }

    async fn blob(&self, digest: &Sha256Digest) -> StoreResult<Option<Blob>> {
        let blob =
            self.lookup(|c| query_opt(c, sql::BLOB, [digest.to_string()], |r| codec::blob(r)))?;
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
        self.lookup(|c| {
            query_opt(c, sql::IDEMPOTENCY_RECORD, [scope, key], |r| {
                codec::idempotency(r)
            })
        })
    }

    async fn image_check(&self, digest: &Sha256Digest) -> StoreResult<Option<ImageCheck>> {
        self.lookup(|c| {
            query_opt(c, sql::IMAGE_CHECK, [digest.to_string()], |r| {
                codec::image_check(r)
            })
        })
    }

    async fn applications_with_photo_hash(
        &self,
        perceptual_hash: u64,
        excluding: &Iin,
    ) -> StoreResult<Vec<SamePhoto>> {
        // Two indexed steps (the photos with this hash, then the applications with each
        // photo), each bounded: a flag needs a few examples, not every match.
        let excluding = excluding.to_string();
        let mut found: Vec<(i64, String, SamePhoto)> = self.lookup(|c| {
            let digests: Vec<String> = query_all(
                c,
                "SELECT digest FROM image_checks WHERE perceptual_hash = ? LIMIT 64",
                [format!("{perceptual_hash:016x}")],
                |r| col(r, 0),
            )?;
            let mut found = Vec::new();
            for digest in digests {
                found.extend(query_all(
                    c,
                    "SELECT created_at, id, ticket, region, state FROM applications \
                     WHERE json_extract(data, '$.photo') = ? AND applicant <> ? LIMIT 20",
                    [&digest, &excluding],
                    |r| Ok((col(r, 0)?, col(r, 1)?, codec::same_photo(r)?)),
                )?);
            }
            Ok(found)
        })?;
        found.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        found.truncate(SAME_PHOTO_LIMIT);
        Ok(found.into_iter().map(|(_, _, same)| same).collect())
    }

    async fn applications_to_purge(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationId>> {
        let ids: Vec<String> = self
            .scan(move |c| {
                query_all(
                    c,
                    sql::APPLICATIONS_TO_PURGE,
                    params![before.as_microsecond(), i64::from(limit)],
                    |r| col(r, 0),
                )
            })
            .await?;
        ids.iter()
            .map(|i| {
                i.parse::<Uuid>()
                    .map(ApplicationId)
                    .map_err(|_| StoreError::Corrupt(format!("application id {i:?}")))
            })
            .collect()
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
        let app = id(application.0);
        let (deleted, gone) = self
            .write(move |conn| {
                let digests: Option<(Option<String>, Option<String>)> = query_opt(
                    conn,
                    "SELECT json_extract(data, '$.photo'), json_extract(data, '$.signature') \
                     FROM applications WHERE id = ?",
                    [&app],
                    |r| Ok((col(r, 0)?, col(r, 1)?)),
                )?;
                let Some((photo, signature)) = digests else {
                    return Err(StoreError::Conflict);
                };
                let mut deleted = 0u64;
                let mut gone = Vec::new();
                for digest in [photo, signature].into_iter().flatten() {
                    let done = execute(
                        conn,
                        "DELETE FROM blobs WHERE digest = ?1 AND NOT EXISTS ( \
                           SELECT 1 FROM applications o WHERE o.id <> ?2 \
                             AND (json_extract(o.data, '$.photo') = ?1 \
                                  OR json_extract(o.data, '$.signature') = ?1) \
                             AND NOT EXISTS (SELECT 1 FROM purged_applications p \
                                             WHERE p.application_id = o.id))",
                        [&digest, &app],
                    )?;
                    if done > 0 {
                        deleted += done as u64;
                        gone.push(digest.clone());
                        execute(conn, sql::DELETE_IMAGE_CHECK, [&digest])?;
                    }
                }
                execute(conn, sql::DELETE_NOTICES_OF, [&app])?;
                execute(
                    conn,
                    sql::INSERT_PURGED,
                    params![app, now.as_microsecond(), deleted as i64],
                )?;
                commit_changes(conn, rows)?;
                Ok((deleted, gone))
            })
            .await?;
        self.vault.forget(&gone).await;
        Ok(deleted)
    }

    async fn archive_histories(&self, scan: ArchiveScan) -> StoreResult<ArchiveRound> {
        let window: Vec<history_archive::WindowRow> = self
            .scan(move |c| {
                query_all(
                    c,
                    sql::ARCHIVE_WINDOW,
                    params![
                        scan.quiet_before.as_microsecond(),
                        scan.after_seq,
                        scan.chained_to,
                        i64::from(scan.rows)
                    ],
                    |r| Ok((col(r, 0)?, col(r, 1)?, col(r, 2)?)),
                )
            })
            .await?;
        let (ids, scanned) = history_archive::window(&scan, &window);
        if ids.is_empty() {
            return Ok(scanned);
        }
        let finished = self.scan(move |c| read_finished(c, &ids)).await?;
        let (archives, round) = history_archive::archives(finished, &scan, scanned)?;
        if archives.is_empty() {
            return Ok(round);
        }
        self.write(move |conn| {
            // The mark that lets this transaction delete event rows (migration 17).
            execute(conn, "INSERT INTO events_archiving (one) VALUES (1)", [])?;
            let mut moved = 0u64;
            for a in &archives {
                execute(
                    conn,
                    sql::ARCHIVE_DECISIONS,
                    params![a.application_id, a.last_seq],
                )?;
                execute(
                    conn,
                    sql::UPSERT_ARCHIVED_HISTORY,
                    params![a.application_id, a.first_seq, a.last_at, a.events],
                )?;
                moved += execute(
                    conn,
                    "DELETE FROM events WHERE application_id = ? AND seq <= ?",
                    params![a.application_id, a.last_seq],
                )? as u64;
            }
            execute(conn, "DELETE FROM events_archiving", [])?;
            // Rows gone since they were read (another round archived them): undo this one.
            if moved != round.events {
                return Err(StoreError::Conflict);
            }
            Ok(())
        })
        .await?;
        Ok(round)
    }

    async fn approval(&self, app: ApplicationId) -> StoreResult<Option<Approval>> {
        self.lookup(|c| query_opt(c, sql::APPROVAL, [id(app.0)], |r| codec::approval(r)))
    }

    async fn signature_checks(&self, app: ApplicationId) -> StoreResult<Vec<SignatureCheck>> {
        self.lookup(|c| {
            query_all(c, sql::SIGNATURE_CHECKS, [id(app.0)], |r| {
                codec::signature_check(r)
            })
        })
    }
}

/// The application with its timeline and payments (inside the caller's read transaction).
fn read_record(c: &Connection, app: ApplicationId) -> StoreResult<Option<ApplicationRecord>> {
    let Some(stored) = query_opt(c, sql::APPLICATION, [id(app.0)], |r| codec::application(r))?
    else {
        return Ok(None);
    };
    let timeline = read_timeline(c, app)?;
    let payments = query_all(c, sql::PAYMENTS_OF, [id(app.0)], |r| codec::payment(r))?;
    Ok(Some(ApplicationRecord {
        stored,
        timeline,
        payments,
    }))
}

/// The archived part of an application's history (`history_archive.rs`; none when nothing of
/// it is archived yet).
fn archived_part(c: &Connection, app: ApplicationId) -> StoreResult<Vec<ArchivedEvent>> {
    let stored: Option<Vec<u8>> = query_opt(c, sql::ARCHIVED_HISTORY, [id(app.0)], |r| col(r, 0))?;
    codec::archived_part(stored.as_deref())
}

/// An application's timeline: its archived part, then its event rows (inside the caller's
/// read transaction).
fn read_timeline(c: &Connection, app: ApplicationId) -> StoreResult<Vec<TimelineEntry>> {
    let mut timeline = archived_part(c, app)?
        .iter()
        .map(codec::archived_timeline_entry)
        .collect::<StoreResult<Vec<_>>>()?;
    timeline.extend(query_all(c, sql::TIMELINE, [id(app.0)], |r| {
        codec::timeline_entry(r)
    })?);
    Ok(timeline)
}

/// The applications `ids` with their event rows (and any archived row made before), for one
/// round of archiving (`history_archive::archives` decides which are finished).
fn read_finished(c: &Connection, ids: &[String]) -> StoreResult<Vec<Finished>> {
    let list = serde_json::to_string(ids)
        .map_err(|e| StoreError::Database(format!("cannot list applications: {e}")))?;
    let rows: Vec<history_archive::EventRow> = query_all(
        c,
        "SELECT e.application_id, e.seq, e.kind, e.from_state, e.to_state, e.actor_role, \
         e.actor_staff, e.at, e.data FROM events e WHERE e.application_id IN (SELECT value \
         FROM json_each(?1)) ORDER BY e.application_id, e.seq",
        [&list],
        |r| {
            Ok((
                col(r, 0)?,
                col(r, 1)?,
                col(r, 2)?,
                col(r, 3)?,
                col(r, 4)?,
                col(r, 5)?,
                col(r, 6)?,
                col(r, 7)?,
                col(r, 8)?,
            ))
        },
    )?;
    let earlier: HashMap<String, Vec<u8>> = query_all(
        c,
        "SELECT application_id, events FROM archived_histories WHERE application_id IN \
         (SELECT value FROM json_each(?1))",
        [&list],
        |r| Ok((col(r, 0)?, col(r, 1)?)),
    )?
    .into_iter()
    .collect();
    let rows = rows.into_iter().map(history_archive::event_of).collect();
    Ok(history_archive::finished(rows, earlier))
}
