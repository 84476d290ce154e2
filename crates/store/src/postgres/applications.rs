//! Applications in PostgreSQL: [`ApplicationStore`].

use super::*;

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
        FROM payments p WHERE p.application_id = a.id)::text AS payments \
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
        let rows = sqlx::query(sql::HISTORY)
            .bind(app.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::event)
    }

    async fn timeline(&self, app: ApplicationId) -> StoreResult<Vec<TimelineEntry>> {
        let rows = sqlx::query(sql::TIMELINE)
            .bind(app.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::timeline_entry)
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
        Ok(Some(ApplicationRecord {
            stored: codec::application(&row)?,
            timeline: codec::timeline_json(&codec::RowExt::text(&row, "timeline")?)?,
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
