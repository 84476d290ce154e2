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
        let n: i64 = sqlx::query_scalar(sql::AUDIT_PENDING_COUNT)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
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
        let seq = i64::try_from(checkpoint.seq)
            .map_err(|e| StoreError::Database(format!("audit seq: {e}")))?;
        sqlx::query(sql::INSERT_AUDIT_CHECKPOINT)
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
        let rows = sqlx::query(sql::AUDIT_CHECKPOINTS_AFTER)
            .bind(i64::try_from(after_seq).unwrap_or(i64::MAX))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::checkpoint)
    }

    async fn audit_unchained(&self, max: u32) -> StoreResult<Vec<(ChainSource, i64)>> {
        let rows = sqlx::query(sql::AUDIT_UNCHAINED)
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::chain_source_row)
    }
}
