//! The audit log and its hash chain in PostgreSQL: [`AuditStore`].

use super::*;

#[async_trait]
impl AuditStore for PostgresStore {
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
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_pending")
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn last_audit_checkpoint(&self) -> StoreResult<Option<StoredCheckpoint>> {
        sqlx::query("SELECT seq, at, data FROM audit_checkpoints ORDER BY seq DESC LIMIT 1")
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
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        for l in &links {
            let seq = i64::try_from(l.seq)
                .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
            sqlx::query(
                "INSERT INTO audit_chain (seq, source, source_pos, entry_hash, chain_hash) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(seq)
            .bind(l.source.as_str())
            .bind(l.source_pos)
            .bind(&l.entry_hash[..])
            .bind(&l.chain_hash[..])
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
            let taken =
                sqlx::query("DELETE FROM audit_pending WHERE source = $1 AND source_pos = $2")
                    .bind(l.source.as_str())
                    .bind(l.source_pos)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            if taken.rows_affected() != 1 {
                return Err(StoreError::Duplicate("audit_chain"));
            }
        }
        let seq = i64::try_from(checkpoint.seq)
            .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
        sqlx::query("INSERT INTO audit_checkpoints (seq, at, data) VALUES ($1, $2, $3)")
            .bind(seq)
            .bind(micros(checkpoint.at))
            .bind(&checkpoint.data)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
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
        let rows = sqlx::query(
            "SELECT seq, at, data FROM audit_checkpoints WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::checkpoint)
    }

    async fn audit_unchained(&self, max: u32) -> StoreResult<Vec<(ChainSource, i64)>> {
        let rows = sqlx::query(
            "SELECT 'event' AS source, seq AS source_pos FROM events e WHERE \
               NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 'event' AND c.source_pos = e.seq) \
               AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.source = 'event' AND p.source_pos = e.seq) \
             UNION ALL \
             SELECT 'audit', pos FROM audit_entries a WHERE \
               NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.source = 'audit' AND c.source_pos = a.pos) \
               AND NOT EXISTS (SELECT 1 FROM audit_pending p WHERE p.source = 'audit' AND p.source_pos = a.pos) \
             LIMIT $1",
        )
        .bind(limit(max))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::chain_source_row)
    }
}
