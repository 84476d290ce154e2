//! The audit log and its hash chain in PostgreSQL: [`AuditStore`].

use super::*;

#[async_trait]
impl AuditStore for PostgresStore {
    async fn archived_histories(
        &self,
        after_first_seq: i64,
        max: u32,
    ) -> StoreResult<Vec<crate::ArchivedHistory>> {
        let rows: Vec<(i64, String, Vec<u8>)> = sqlx::query_as(sql::ARCHIVED_HISTORIES_FROM)
            .bind(after_first_seq)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .map(
                |(first_seq, application_id, events)| crate::ArchivedHistory {
                    first_seq,
                    application_id,
                    events,
                },
            )
            .collect())
    }

    async fn audit_page(&self, query: &AuditQuery, max: u32) -> StoreResult<Vec<AuditRecord>> {
        let mut q = QueryBuilder::<Postgres>::new(
            "SELECT pos, id, at, actor, action, target, details FROM audit_entries WHERE TRUE",
        );
        if let Some(before) = query.before {
            q.push(" AND (at, pos) < (")
                .push_bind(micros(before.at))
                .push(", ")
                .push_bind(before.pos)
                .push(")");
        }
        if let Some(search) = &query.search {
            if search.is_empty() {
                return Ok(Vec::new());
            }
            q.push(" AND (FALSE");
            if !search.targets.is_empty() {
                q.push(" OR target = ANY(")
                    .push_bind(search.targets.clone())
                    .push(")");
            }
            if !search.staff.is_empty() {
                let staff: Vec<String> = search.staff.iter().map(|s| s.0.to_string()).collect();
                q.push(" OR actor ->> 'staff' = ANY(")
                    .push_bind(staff)
                    .push(")");
            }
            if let Some(iin) = &search.citizen {
                q.push(" OR actor ->> 'iin' = ").push_bind(iin.to_string());
            }
            q.push(")");
        }
        q.push(" ORDER BY at DESC, pos DESC LIMIT ")
            .push_bind(limit(max));
        let rows = q.build().fetch_all(&self.pool).await.map_err(db_err)?;
        decode_all(rows, codec::audit_record)
    }

    async fn audit_pending(&self, max: u32) -> StoreResult<Vec<ChainCandidate>> {
        let sql = format!(
            "SELECT x.source, x.source_pos, {CHAIN_ROW_COLUMNS} FROM audit_pending x \
             {CHAIN_ROW_JOINS} ORDER BY x.pos LIMIT $1"
        );
        let rows = sqlx::query(&sql)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let candidates = decode_all(rows, codec::chain_candidate)?;
        Ok(candidates.into_iter().flatten().collect())
    }

    async fn audit_pending_count(&self) -> StoreResult<u64> {
        let reach = self.audit_reach().await?;
        let n: i64 = sqlx::query_scalar(sql::AUDIT_WAITING_COUNT)
            .bind(reach.events)
            .bind(reach.audit)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn audit_horizon(&self) -> StoreResult<Option<ChainReach>> {
        let Some(events) = self.newest_final("events", "seq").await? else {
            return Ok(None);
        };
        let Some(audit) = self.newest_final("audit_entries", "pos").await? else {
            return Ok(None);
        };
        Ok(Some(ChainReach { events, audit }))
    }

    async fn audit_rows(
        &self,
        after: ChainReach,
        upto: ChainReach,
        max: u32,
    ) -> StoreResult<Vec<ChainCandidate>> {
        let mut rows = Vec::new();
        let mut tx = self.key_order_reads().await?;
        for stretch in sql::chain_stretches(after, upto) {
            let room = i64::from(max) - rows.len() as i64;
            if room <= 0 {
                break;
            }
            // Each stretch straight from its own table along its key (the other source's
            // columns empty): joining the numbers `stretch.sql` lists back to their table
            // read it twice, and with stale statistics hash-joined a scan of the whole of
            // `events` into every batch.
            let (table, key, other) = match stretch.source {
                ChainSource::Event => ("events e", "e.seq", "audit_entries a"),
                ChainSource::Audit => ("audit_entries a", "a.pos", "events e"),
            };
            let sql = format!(
                "SELECT '{}' AS source, {key} AS source_pos, {CHAIN_ROW_COLUMNS} FROM {table} \
                 LEFT JOIN {other} ON false WHERE {key} > $1 AND {key} <= $2 ORDER BY {key} \
                 LIMIT $3",
                stretch.source.as_str()
            );
            let found = sqlx::query(&sql)
                .bind(stretch.from)
                .bind(stretch.to)
                .bind(room)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            // Every row read is of the stretch's source (`None` cannot happen here).
            rows.extend(
                decode_all(found, codec::chain_candidate)?
                    .into_iter()
                    .flatten(),
            );
        }
        tx.commit().await.map_err(db_err)?;
        Ok(rows)
    }

    async fn append_audit_batch(
        &self,
        previous: u64,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // One sequencer at a time extends the chain: the lock is held to the commit, and
        // the one that comes second finds the checkpoint it started from superseded.
        sqlx::query("LOCK TABLE audit_checkpoints IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let newest: Option<i64> = sqlx::query_scalar(sql::NEWEST_AUDIT_CHECKPOINT_SEQ)
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        crate::audit::still_newest(newest, previous)?;
        insert_checkpoint(&mut tx, &checkpoint).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn audit_legacy_reach(&self) -> StoreResult<ChainReach> {
        let row = sqlx::query(sql::AUDIT_LEGACY_REACH)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        codec::chain_reach(&row)
    }

    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        sqlx::query(sql::LAST_AUDIT_CHECKPOINT)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::checkpoint(&r))
            .transpose()
    }

    async fn append_audit_chain(
        &self,
        links: Vec<ChainLink>,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()> {
        // The whole batch in two statements (arrays), not two per link.
        let seqs = links
            .iter()
            .map(|l| i64::try_from(l.seq))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
        let sources: Vec<&str> = links.iter().map(|l| l.source.as_str()).collect();
        let positions: Vec<i64> = links.iter().map(|l| l.source_pos).collect();
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(
            "INSERT INTO audit_chain (seq, source, source_pos, entry_hash, chain_hash) \
             SELECT * FROM UNNEST($1::bigint[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[])",
        )
        .bind(&seqs)
        .bind(&sources)
        .bind(&positions)
        .bind(links.iter().map(|l| l.entry_hash.to_vec()).collect::<Vec<_>>())
        .bind(links.iter().map(|l| l.chain_hash.to_vec()).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        let taken = sqlx::query(
            "DELETE FROM audit_pending p USING UNNEST($1::text[], $2::bigint[]) AS u(source, pos) \
             WHERE p.source = u.source AND p.source_pos = u.pos",
        )
        .bind(&sources)
        .bind(&positions)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        // Each link takes exactly its own pending row: one taken already (another sequencer)
        // or named twice is a duplicate, and the transaction is dropped, writing nothing.
        if taken.rows_affected() != links.len() as u64 {
            return Err(StoreError::Duplicate("audit_chain"));
        }
        insert_checkpoint(&mut tx, &checkpoint).await?;
        tx.commit().await.map_err(db_err)
    }

    async fn audit_chain(&self, after_seq: u64, max: u32) -> StoreResult<Vec<ChainEntry>> {
        let sql = format!(
            "SELECT x.seq, x.source, x.source_pos, x.entry_hash, x.chain_hash, \
             {CHAIN_ROW_COLUMNS} FROM audit_chain x {CHAIN_ROW_JOINS} \
             WHERE x.seq > $1 ORDER BY x.seq LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::chain_entry)
    }

    async fn audit_checkpoints(
        &self,
        after_seq: u64,
        max: u32,
    ) -> StoreResult<Vec<StoredCheckpoint>> {
        let rows = sqlx::query(sql::AUDIT_CHECKPOINTS_AFTER)
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::checkpoint)
    }

    async fn audit_unchained(&self, max: u32) -> StoreResult<Vec<(ChainSource, i64)>> {
        let legacy = self.audit_legacy_reach().await?;
        let rows = sqlx::query(sql::AUDIT_UNCHAINED)
            .bind(legacy.events)
            .bind(legacy.audit)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::chain_source_row)
    }
}

impl PostgresStore {
    /// The newest `column` of `table` below which no row can still be committed. An insert
    /// takes its number from the sequence before it commits, so a smaller number can commit
    /// after a bigger one is seen; SHARE conflicts with the ROW EXCLUSIVE lock every insert
    /// holds to its commit, so once it is granted no insert is in flight. One table at a
    /// time: waiting for one while holding the other could deadlock with a writer of both.
    /// `None` when a writer held the table longer than [`HORIZON_WAIT`] (writers queue
    /// behind a waiting lock, so the wait is kept short; the sequencer tries again).
    async fn newest_final(&self, table: &str, column: &str) -> StoreResult<Option<i64>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(&format!("SET LOCAL lock_timeout = '{HORIZON_WAIT}'"))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let locked = sqlx::query(&format!("LOCK TABLE {table} IN SHARE MODE"))
            .execute(&mut *tx)
            .await;
        match locked {
            Ok(_) => {}
            // lock_not_available
            Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("55P03") => {
                return Ok(None)
            }
            Err(e) => return Err(db_err(e)),
        }
        let newest: i64 =
            sqlx::query_scalar(&format!("SELECT COALESCE(MAX({column}), 0) FROM {table}"))
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(Some(newest))
    }
}

/// How long the sequencer waits for writers in flight before it tries again later.
const HORIZON_WAIT: &str = "50ms";

async fn insert_checkpoint(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    checkpoint: &StoredCheckpoint,
) -> StoreResult<()> {
    let seq = i64::try_from(checkpoint.seq)
        .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
    let (events_to, audit_to, tags) = codec::checkpoint_batch(checkpoint);
    sqlx::query(sql::INSERT_AUDIT_CHECKPOINT)
        .bind(seq)
        .bind(micros(checkpoint.at))
        .bind(&checkpoint.data)
        .bind(events_to)
        .bind(audit_to)
        .bind(tags)
        .execute(&mut **tx)
        .await
        .map_err(db_err)?;
    Ok(())
}
