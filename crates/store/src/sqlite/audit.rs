//! The audit log and its hash chain in SQLite: [`AuditStore`].

use super::*;

#[async_trait]
impl AuditStore for SqliteStore {
    async fn archived_histories(
        &self,
        after_first_seq: i64,
        max: u32,
    ) -> StoreResult<Vec<crate::ArchivedHistory>> {
        self.scan(move |c| {
            query_all(
                c,
                sql::ARCHIVED_HISTORIES_FROM,
                params![after_first_seq, limit(max)],
                |r| {
                    Ok(crate::ArchivedHistory {
                        first_seq: col(r, 0)?,
                        application_id: col(r, 1)?,
                        events: col(r, 2)?,
                    })
                },
            )
        })
        .await
    }

    async fn audit_page(&self, query: &AuditQuery, max: u32) -> StoreResult<Vec<AuditRecord>> {
        let mut sql = String::from(
            "SELECT pos, id, at, actor, action, target, details FROM audit_entries WHERE 1 = 1",
        );
        let mut values: Vec<Value> = Vec::new();
        if let Some(before) = query.before {
            sql.push_str(" AND (at < ? OR (at = ? AND pos < ?))");
            values.extend([micros(before.at), micros(before.at), before.pos].map(Value::from));
        }
        if let Some(search) = &query.search {
            if search.is_empty() {
                return Ok(Vec::new());
            }
            let mut any = Vec::new();
            let list = |n: usize| vec!["?"; n].join(", ");
            if !search.targets.is_empty() {
                any.push(format!("target IN ({})", list(search.targets.len())));
                values.extend(search.targets.iter().cloned().map(Value::from));
            }
            if !search.staff.is_empty() {
                any.push(format!(
                    "json_extract(actor, '$.staff') IN ({})",
                    list(search.staff.len())
                ));
                values.extend(search.staff.iter().map(|s| Value::from(s.0.to_string())));
            }
            if let Some(iin) = &search.citizen {
                any.push("json_extract(actor, '$.iin') = ?".to_string());
                values.push(Value::from(iin.to_string()));
            }
            sql.push_str(&format!(" AND ({})", any.join(" OR ")));
        }
        sql.push_str(" ORDER BY at DESC, pos DESC LIMIT ?");
        values.push(Value::from(limit(max)));
        self.scan(move |c| {
            query_all(c, &sql, params_from_iter(values), |r| {
                codec::audit_record(r)
            })
        })
        .await
    }

    async fn audit_pending(&self, max: u32) -> StoreResult<Vec<ChainCandidate>> {
        let candidates = self
            .scan(move |c| {
                query_all(
                    c,
                    &format!(
                        "SELECT x.source, x.source_pos, {CHAIN_ROW_COLUMNS} FROM audit_pending x \
                         {CHAIN_ROW_JOINS} ORDER BY x.pos LIMIT ?"
                    ),
                    [limit(max)],
                    |r| codec::chain_candidate(r),
                )
            })
            .await?;
        Ok(candidates.into_iter().flatten().collect())
    }

    async fn audit_pending_count(&self) -> StoreResult<u64> {
        let reach = self.audit_reach().await?;
        self.scan(move |c| {
            count_of(
                c,
                sql::AUDIT_WAITING_COUNT,
                params![reach.events, reach.audit],
            )
        })
        .await
    }

    async fn audit_horizon(&self) -> StoreResult<Option<ChainReach>> {
        // One writer commits at a time, in the order it numbers rows: what a reader sees is
        // final up to the newest row it sees.
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT COALESCE((SELECT MAX(seq) FROM events), 0) AS events, \
                 COALESCE((SELECT MAX(pos) FROM audit_entries), 0) AS audit",
                [],
                |r| codec::chain_reach(r),
            )
        })
    }

    async fn audit_rows(
        &self,
        after: ChainReach,
        upto: ChainReach,
        max: u32,
    ) -> StoreResult<Vec<ChainCandidate>> {
        self.scan(move |c| {
            let mut rows = Vec::new();
            for stretch in sql::chain_stretches(after, upto) {
                let room = i64::from(max) - rows.len() as i64;
                if room <= 0 {
                    break;
                }
                let sql = format!(
                    "SELECT x.source, x.source_pos, {CHAIN_ROW_COLUMNS} FROM ({}) x \
                     {CHAIN_ROW_JOINS} ORDER BY x.source_pos",
                    stretch.sql
                );
                let found = query_all(c, &sql, params![stretch.from, stretch.to, room], |r| {
                    codec::chain_candidate(r)
                })?;
                rows.extend(found.into_iter().flatten());
            }
            Ok(rows)
        })
        .await
    }

    async fn append_audit_batch(
        &self,
        previous: u64,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            let newest: Option<i64> = conn
                .query_row(sql::NEWEST_AUDIT_CHECKPOINT_SEQ, [], |r| r.get(0))
                .map_err(lite_err)?;
            crate::audit::still_newest(newest, previous)?;
            insert_checkpoint(conn, &checkpoint)
        })
        .await
    }

    async fn audit_legacy_reach(&self) -> StoreResult<ChainReach> {
        self.lookup(|c| query_opt(c, sql::AUDIT_LEGACY_REACH, [], |r| codec::chain_reach(r)))?
            .ok_or_else(|| StoreError::Database("the legacy reach: no row".into()))
    }

    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        self.lookup(|c| query_opt(c, sql::LAST_AUDIT_CHECKPOINT, [], |r| codec::checkpoint(r)))
    }

    async fn append_audit_chain(
        &self,
        links: Vec<ChainLink>,
        checkpoint: StoredCheckpoint,
    ) -> StoreResult<()> {
        self.write(move |conn| {
            for l in &links {
                let seq = i64::try_from(l.seq)
                    .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
                execute(
                    conn,
                    "INSERT INTO audit_chain (seq, source, source_pos, entry_hash, chain_hash) \
                     VALUES (?, ?, ?, ?, ?)",
                    params![
                        seq,
                        l.source.as_str(),
                        l.source_pos,
                        &l.entry_hash[..],
                        &l.chain_hash[..]
                    ],
                )?;
                let taken = execute(
                    conn,
                    "DELETE FROM audit_pending WHERE source = ? AND source_pos = ?",
                    params![l.source.as_str(), l.source_pos],
                )?;
                if taken != 1 {
                    return Err(StoreError::Duplicate("audit_chain"));
                }
            }
            insert_checkpoint(conn, &checkpoint)
        })
        .await
    }

    async fn audit_chain(&self, after_seq: u64, max: u32) -> StoreResult<Vec<ChainEntry>> {
        self.scan(move |c| {
            query_all(
                c,
                &format!(
                    "SELECT x.seq, x.source, x.source_pos, x.entry_hash, x.chain_hash, \
                     {CHAIN_ROW_COLUMNS} FROM audit_chain x {CHAIN_ROW_JOINS} \
                     WHERE x.seq > ? ORDER BY x.seq LIMIT ?"
                ),
                params![i64::try_from(after_seq).unwrap_or(i64::MAX), limit(max)],
                |r| codec::chain_entry(r),
            )
        })
        .await
    }

    async fn audit_checkpoints(
        &self,
        after_seq: u64,
        max: u32,
    ) -> StoreResult<Vec<StoredCheckpoint>> {
        self.scan(move |c| {
            query_all(
                c,
                sql::AUDIT_CHECKPOINTS_AFTER,
                params![i64::try_from(after_seq).unwrap_or(i64::MAX), limit(max)],
                |r| codec::checkpoint(r),
            )
        })
        .await
    }

    async fn audit_unchained(&self, max: u32) -> StoreResult<Vec<(ChainSource, i64)>> {
        self.scan(move |c| {
            let legacy = query_opt(c, sql::AUDIT_LEGACY_REACH, [], |r| codec::chain_reach(r))?
                .unwrap_or_default();
            query_all(
                c,
                sql::AUDIT_UNCHAINED,
                params![legacy.events, legacy.audit, limit(max)],
                |r| codec::chain_source_row(r),
            )
        })
        .await
    }
}

fn insert_checkpoint(conn: &Connection, checkpoint: &StoredCheckpoint) -> StoreResult<()> {
    let seq = i64::try_from(checkpoint.seq)
        .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
    let (events_to, audit_to, tags) = codec::checkpoint_batch(checkpoint);
    execute(
        conn,
        sql::INSERT_AUDIT_CHECKPOINT,
        params![
            seq,
            micros(checkpoint.at),
            checkpoint.data,
            events_to,
            audit_to,
            tags
        ],
    )
    .map(|_| ())
}
