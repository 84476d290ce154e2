//! Staff and sessions in PostgreSQL: [`StaffStore`].

use super::*;

#[async_trait]
impl StaffStore for PostgresStore {
    async fn staff(&self, staff: StaffId) -> StoreResult<Option<StaffAccount>> {
        sqlx::query(sql::STAFF)
            .bind(staff.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::staff(&r))
            .transpose()
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffAccount>> {
        sqlx::query(sql::STAFF_BY_USERNAME)
            .bind(username)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::staff(&r))
            .transpose()
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffAccount>> {
        // username is in the "C" collation: the same byte order as SQLite's, whatever the
        // database's locale.
        let rows = sqlx::query(sql::LIST_STAFF)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        decode_all(rows, codec::staff)
    }

    async fn put_otp(&self, otp: &OtpChallenge) -> StoreResult<()> {
        let o = codec::otp_row(otp)?;
        sqlx::query(
            "INSERT INTO otp_challenges (id, iin, purpose, code_hash, created_at, expires_at, \
             attempts, consumed_at) VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8)",
        )
        .bind(o.id)
        .bind(&o.iin)
        .bind(&o.purpose)
        .bind(&o.code_hash)
        .bind(o.created_at)
        .bind(o.expires_at)
        .bind(o.attempts)
        .bind(o.consumed_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn attempt_otp(
        &self,
        otp: Uuid,
        now: Timestamp,
        max_attempts: u32,
    ) -> StoreResult<Option<OtpChallenge>> {
        sqlx::query(sql::OTP_ATTEMPT)
            .bind(otp)
            .bind(i64::from(max_attempts))
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::otp(&r))
            .transpose()
    }

    async fn consume_otp(&self, otp: Uuid, now: Timestamp) -> StoreResult<bool> {
        let done = sqlx::query(sql::CONSUME_OTP)
            .bind(micros(now))
            .bind(otp)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected() == 1)
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        let s = codec::session_row(session)?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, subject, created_at, expires_at) \
             VALUES ($1, $2::jsonb, $3, $4)",
        )
        .bind(&s.token_hash)
        .bind(&s.subject)
        .bind(s.created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Session>> {
        sqlx::query(sql::SESSION)
            .bind(token_hash)
            .bind(micros(now))
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::session(&r))
            .transpose()
    }

    async fn signed_in(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<(Session, Option<StaffAccount>)>> {
        sqlx::query(
            "SELECT s.token_hash, s.subject, s.created_at, s.expires_at, st.data::text AS staff_data \
             FROM sessions s LEFT JOIN staff st \
               ON s.subject ->> 'kind' = 'staff' AND st.id = (s.subject ->> 'id')::uuid \
             WHERE s.token_hash = $1 AND s.expires_at > $2",
        )
        .bind(token_hash)
        .bind(micros(now))
        .fetch_optional(&self.pool)
        .await
        .map_err(db_err)?
        .map(|r| codec::signed_in(&r))
        .transpose()
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        sqlx::query(sql::DELETE_SESSION)
            .bind(token_hash)
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn rule_activations(&self) -> StoreResult<Vec<RuleActivation>> {
        sqlx::query(sql::RULE_ACTIVATIONS)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(codec::rule_activation)
            .collect()
    }

    async fn otps_since(
        &self,
        iin: &Iin,
        purpose: &OtpPurpose,
        since: Timestamp,
    ) -> StoreResult<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM otp_challenges WHERE iin = $1 AND created_at >= $2 \
             AND purpose->>'purpose' = $3",
        )
        .bind(iin.to_string())
        .bind(since.as_microsecond())
        .bind(purpose.kind())
        .fetch_one(&self.pool)
        .await
        .map_err(db_err)?;
        count(n)
    }

    async fn otp(&self, otp: Uuid) -> StoreResult<Option<OtpChallenge>> {
        sqlx::query(sql::OTP_CHALLENGE)
            .bind(otp)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::otp(&r))
            .transpose()
    }

    async fn officer_credential(&self, staff: StaffId) -> StoreResult<Option<OfficerCredential>> {
        sqlx::query(sql::OFFICER_CREDENTIAL)
            .bind(staff.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::officer_credential(&r))
            .transpose()
    }

    async fn officer_credential_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> StoreResult<Option<OfficerCredential>> {
        sqlx::query(sql::OFFICER_CREDENTIAL_BY_FINGERPRINT)
            .bind(fingerprint)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .map(|r| codec::officer_credential(&r))
            .transpose()
    }
}
