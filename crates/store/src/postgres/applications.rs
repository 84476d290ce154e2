//! Applications in PostgreSQL: [`ApplicationStore`].

use super::*;

#[async_trait]
impl ApplicationStore for PostgresStore {
    async fn application(&self, app: ApplicationId) -> StoreResult<Option<StoredApplication>> {
        sqlx::query("SELECT data, version FROM applications WHERE id = $1")
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
        sqlx::query("SELECT data, version FROM applications WHERE ticket = $1")
            .bind(ticket.compact())
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::application(&r))
            .transpose()
    }

    async fn applications_of(&self, iin: &Iin) -> StoreResult<Vec<StoredApplication>> {
        let rows = sqlx::query(
            "SELECT data, version FROM applications WHERE applicant = $1 \
             ORDER BY created_at DESC, id DESC",
        )
        .bind(iin.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::application)
    }

    async fn history(&self, app: ApplicationId) -> StoreResult<Vec<Event>> {
        let rows = sqlx::query("SELECT data FROM events WHERE application_id = $1 ORDER BY seq")
            .bind(app.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::event)
    }

    async fn timeline(&self, app: ApplicationId) -> StoreResult<Vec<TimelineEntry>> {
        let rows = sqlx::query(
            "SELECT kind, from_state, to_state, actor_role, at FROM events \
             WHERE application_id = $1 ORDER BY seq",
        )
        .bind(app.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::timeline_entry)
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
        let blob = sqlx::query(
            "SELECT digest, content_type, bytes, created_at FROM blobs WHERE digest = $1",
        )
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
        sqlx::query(
            "SELECT scope, idempotency_key, request_digest, status, body, created_at \
             FROM idempotency WHERE scope = $1 AND idempotency_key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::idempotency(&r))
        .transpose()
    }

    async fn image_check(&self, digest: &Sha256Digest) -> StoreResult<Option<ImageCheck>> {
        sqlx::query(
            "SELECT digest, kind, verdict, perceptual_hash, report, checked_at \
             FROM image_checks WHERE digest = $1",
        )
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
    ) -> StoreResult<Vec<ApplicationId>> {
        // Two indexed steps (the photos with this hash, then the applications with each
        // photo), each bounded: a flag needs a few examples, not every match.
        let digests: Vec<String> = sqlx::query_scalar(
            "SELECT digest FROM image_checks WHERE perceptual_hash = $1 LIMIT 64",
        )
        .bind(format!("{perceptual_hash:016x}"))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let mut found: Vec<(i64, String)> = Vec::new();
        for digest in digests {
            let rows: Vec<(i64, String)> = sqlx::query_as(
                "SELECT created_at, id::text FROM applications \
                 WHERE data ->> 'photo' = $1 AND applicant <> $2 LIMIT 20",
            )
            .bind(digest)
            .bind(excluding.to_string())
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
            found.extend(rows);
        }
        found.sort();
        found
            .iter()
            .take(SAME_PHOTO_LIMIT)
            .map(|(_, id)| {
                id.parse::<Uuid>()
                    .map(ApplicationId)
                    .map_err(|_| StoreError::Corrupt(format!("application id {id:?}")))
            })
            .collect()
    }

    async fn applications_to_purge(
        &self,
        before: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<ApplicationId>> {
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "SELECT a.id FROM applications a \
             WHERE a.state IN ('issued', 'annulled', 'withdrawn') \
               AND NOT EXISTS (SELECT 1 FROM purged_applications p WHERE p.application_id = a.id) \
               AND (SELECT MAX(e.at) FROM events e WHERE e.application_id = a.id) < $1 \
             ORDER BY a.created_at, a.id LIMIT $2",
        )
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
                sqlx::query("DELETE FROM image_checks WHERE digest = $1")
                    .bind(&digest)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
        }
        sqlx::query("DELETE FROM notices WHERE application_id = $1")
            .bind(application.0)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query("INSERT INTO purged_applications (application_id, purged_at, images_deleted) VALUES ($1, $2, $3)")
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
        sqlx::query(
            "SELECT application_id, officer, method, document, signature, signed_at \
             FROM approvals WHERE application_id = $1",
        )
        .bind(app.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::approval(&r))
        .transpose()
    }

    async fn signature_checks(&self, app: ApplicationId) -> StoreResult<Vec<SignatureCheck>> {
        let rows = sqlx::query(
            "SELECT id, application_id, at, outcome, code, detail FROM signature_checks \
             WHERE application_id = $1 ORDER BY at, id",
        )
        .bind(app.0)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        decode_all(rows, codec::signature_check)
    }
}
