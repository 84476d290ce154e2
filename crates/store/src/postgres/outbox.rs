//! The outbox the workers deliver (notices, register changes) and the citizens' inbox, in
//! PostgreSQL ([`OutboxStore`]).

use super::*;

#[async_trait]
impl OutboxStore for PostgresStore {
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        max: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let until = now
            .checked_add(lease)
            .map_err(|e| StoreError::Database(format!("outbox lease: {e}")))?;
        let rows = sqlx::query(
            "WITH due AS ( \
                 SELECT id FROM outbox \
                 WHERE delivered_at IS NULL AND next_attempt_at <= $1 \
                 ORDER BY next_attempt_at, created_at, id LIMIT $2 \
                 FOR UPDATE SKIP LOCKED) \
             UPDATE outbox SET next_attempt_at = $3, attempts = outbox.attempts + 1 \
             FROM due WHERE outbox.id = due.id \
             RETURNING outbox.id, outbox.topic, outbox.payload, outbox.created_at, \
                 outbox.attempts, outbox.next_attempt_at, outbox.delivered_at, \
                 outbox.last_error",
        )
        .bind(micros(now))
        .bind(limit(max))
        .bind(micros(until))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut claimed = decode_all(rows, codec::outbox)?;
        // RETURNING gives no order; hand them out oldest first.
        claimed.sort_by_key(|m| (m.created_at, m.id));
        Ok(claimed)
    }

    async fn outbox_delivered(
        &self,
        message: Uuid,
        now: Timestamp,
        notice: Option<&Notice>,
    ) -> StoreResult<()> {
        let notice = notice.map(codec::notice_row).transpose()?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(sql::OUTBOX_DELIVERED)
            .bind(micros(now))
            .bind(message)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if let Some(n) = notice {
            sqlx::query(&format!(
                "INSERT INTO notices ({NOTICE_COLUMNS}) \
                 VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) ON CONFLICT (id) DO NOTHING"
            ))
            .bind(n.id)
            .bind(&n.iin)
            .bind(n.application_id)
            .bind(&n.kind)
            .bind(&n.message)
            .bind(n.created_at)
            .bind(n.read_at)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn outbox_failed(
        &self,
        message: Uuid,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> StoreResult<()> {
        sqlx::query(sql::OUTBOX_FAILED)
            .bind(error)
            .bind(micros(next_attempt_at))
            .bind(message)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn outbox_backlog(&self) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(sql::OUTBOX_BACKLOG)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        count(n)
    }

    async fn outbox_stuck(
        &self,
        attempts_at_least: u32,
        created_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let rows = sqlx::query(sql::OUTBOX_STUCK)
            .bind(i64::from(attempts_at_least))
            .bind(micros(created_before))
            .bind(limit(max))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::outbox)
    }

    async fn retry_outbox_message(
        &self,
        message: Uuid,
        now: Timestamp,
        audit: AuditEntry,
    ) -> StoreResult<OutboxRetry> {
        let rows = codec::changes(&Changes {
            audit: vec![audit],
            ..Changes::default()
        })?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let done = sqlx::query(sql::OUTBOX_RETRY)
            .bind(micros(now))
            .bind(message)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        if done.rows_affected() == 1 {
            commit_changes(&mut tx, &rows).await?;
            tx.commit().await.map_err(db_err)?;
            return Ok(OutboxRetry::Rescheduled);
        }
        let exists: Option<i32> = sqlx::query_scalar(sql::OUTBOX_EXISTS)
            .bind(message)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        Ok(match exists {
            Some(_) => OutboxRetry::AlreadyDelivered,
            None => OutboxRetry::Missing,
        })
    }

    async fn inbox(&self, iin: &Iin) -> StoreResult<Vec<Notice>> {
        let rows = sqlx::query(sql::NOTICES_OF)
            .bind(iin.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::notice)
    }

    async fn mark_notice_read(&self, iin: &Iin, notice: Uuid, now: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(sql::NOTICE_READ)
            .bind(micros(now))
            .bind(notice)
            .bind(iin.to_string())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }
}
