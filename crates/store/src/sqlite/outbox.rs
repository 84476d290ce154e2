//! The outbox the workers deliver (notices, register changes) and the citizens' inbox, in SQLite
//! ([`OutboxStore`]).

use super::*;

#[async_trait]
impl OutboxStore for SqliteStore {
    async fn claim_outbox(
        &self,
        now: Timestamp,
        lease: SignedDuration,
        max: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        let until = now
            .checked_add(lease)
            .map_err(|e| StoreError::Database(format!("outbox lease: {e}")))?;
        let (now, until) = (micros(now), micros(until));
        let mut claimed = self
            .write(move |conn| {
                let sql = format!(
                    "UPDATE outbox SET next_attempt_at = ?, attempts = attempts + 1 \
                     WHERE id IN (SELECT id FROM outbox \
                         WHERE delivered_at IS NULL AND next_attempt_at <= ? \
                         ORDER BY next_attempt_at, created_at, id LIMIT ?) \
                     RETURNING {OUTBOX_COLUMNS}"
                );
                query_all(conn, &sql, params![until, now, limit(max)], |r| {
                    codec::outbox(r)
                })
            })
            .await?;
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
        let now = micros(now);
        self.write(move |conn| {
            execute(conn, sql::OUTBOX_DELIVERED, params![now, id(message)])?;
            if let Some(n) = notice {
                execute(
                    conn,
                    &format!(
                        "INSERT INTO notices ({NOTICE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) \
                         ON CONFLICT (id) DO NOTHING"
                    ),
                    params![
                        id(n.id),
                        n.iin,
                        opt_id(n.application_id),
                        n.kind,
                        n.message,
                        n.created_at,
                        n.read_at
                    ],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn outbox_failed(
        &self,
        message: Uuid,
        error: &str,
        next_attempt_at: Timestamp,
    ) -> StoreResult<()> {
        let error = error.to_string();
        let next = micros(next_attempt_at);
        self.write(move |conn| {
            execute(conn, sql::OUTBOX_FAILED, params![error, next, id(message)]).map(|_| ())
        })
        .await
    }

    async fn outbox_backlog(&self) -> StoreResult<u64> {
        self.scan(|c| count_of(c, sql::OUTBOX_BACKLOG, [])).await
    }

    async fn outbox_stuck(
        &self,
        attempts_at_least: u32,
        created_before: Timestamp,
        max: u32,
    ) -> StoreResult<Vec<OutboxMessage>> {
        self.scan(move |c| {
            query_all(
                c,
                sql::OUTBOX_STUCK,
                params![
                    i64::from(attempts_at_least),
                    micros(created_before),
                    limit(max)
                ],
                |r| codec::outbox(r),
            )
        })
        .await
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
        self.write(move |conn| {
            let done = execute(conn, sql::OUTBOX_RETRY, params![micros(now), id(message)])?;
            if done == 1 {
                commit_changes(conn, rows)?;
                return Ok(OutboxRetry::Rescheduled);
            }
            let exists: Option<i64> =
                query_opt(conn, sql::OUTBOX_EXISTS, [id(message)], |r| col(r, 0))?;
            Ok(match exists {
                Some(_) => OutboxRetry::AlreadyDelivered,
                None => OutboxRetry::Missing,
            })
        })
        .await
    }

    async fn inbox(&self, iin: &Iin) -> StoreResult<Vec<Notice>> {
        self.lookup(|c| query_all(c, sql::NOTICES_OF, [iin.to_string()], |r| codec::notice(r)))
    }

    async fn mark_notice_read(&self, iin: &Iin, notice: Uuid, now: Timestamp) -> StoreResult<bool> {
        let iin = iin.to_string();
        let now = micros(now);
        self.write(move |conn| {
            let done = execute(conn, sql::NOTICE_READ, params![now, id(notice), iin])?;
            Ok(done == 1)
        })
        .await
    }
}
