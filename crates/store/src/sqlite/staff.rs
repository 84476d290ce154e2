//! Staff and sessions in SQLite: [`StaffStore`].

use super::*;

#[async_trait]
impl StaffStore for SqliteStore {
    async fn staff(&self, staff: StaffId) -> StoreResult<Option<StaffAccount>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT data FROM staff WHERE id = ?",
                [id(staff.0)],
                |r| codec::staff(r),
            )
        })
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffAccount>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT data FROM staff WHERE username = ?",
                [username],
                |r| codec::staff(r),
            )
        })
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffAccount>> {
        self.scan(|c| {
            query_all(c, "SELECT data FROM staff ORDER BY username", [], |r| {
                codec::staff(r)
            })
        })
        .await
    }

    async fn put_otp(&self, otp: &OtpChallenge) -> StoreResult<()> {
        let o = codec::otp_row(otp)?;
        self.write(move |conn| {
            execute(
                conn,
                "INSERT INTO otp_challenges (id, iin, purpose, code_hash, created_at, \
                 expires_at, attempts, consumed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                params![
                    id(o.id),
                    o.iin,
                    o.purpose,
                    o.code_hash,
                    o.created_at,
                    o.expires_at,
                    o.attempts,
                    o.consumed_at
                ],
            )
            .map(|_| ())
        })
        .await
    }

    async fn attempt_otp(
        &self,
        otp: Uuid,
        now: Timestamp,
        max_attempts: u32,
    ) -> StoreResult<Option<OtpChallenge>> {
        let now = micros(now);
        self.write(move |conn| {
            let sql = format!(
                "UPDATE otp_challenges SET attempts = attempts + 1 \
                 WHERE id = ? AND attempts < ? AND consumed_at IS NULL AND expires_at > ? \
                 RETURNING {OTP_COLUMNS}"
            );
            query_opt(
                conn,
                &sql,
                params![id(otp), i64::from(max_attempts), now],
                |r| codec::otp(r),
            )
        })
        .await
    }

    async fn consume_otp(&self, otp: Uuid, now: Timestamp) -> StoreResult<bool> {
        let now = micros(now);
        self.write(move |conn| {
            let done = execute(
                conn,
                "UPDATE otp_challenges SET consumed_at = ? WHERE id = ? AND consumed_at IS NULL",
                params![now, id(otp)],
            )?;
            Ok(done == 1)
        })
        .await
    }

    async fn put_session(&self, session: &Session) -> StoreResult<()> {
        let s = codec::session_row(session)?;
        self.write(move |conn| {
            execute(
                conn,
                "INSERT INTO sessions (token_hash, subject, created_at, expires_at) \
                 VALUES (?, ?, ?, ?)",
                params![s.token_hash, s.subject, s.created_at, s.expires_at],
            )
            .map(|_| ())
        })
        .await
    }

    async fn session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Session>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT token_hash, subject, created_at, expires_at FROM sessions \
                 WHERE token_hash = ? AND expires_at > ?",
                params![token_hash, micros(now)],
                |r| codec::session(r),
            )
        })
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |conn| {
            execute(
                conn,
                "DELETE FROM sessions WHERE token_hash = ?",
                [token_hash],
            )
            .map(|_| ())
        })
        .await
    }

    async fn rule_activations(&self) -> StoreResult<Vec<RuleActivation>> {
        self.lookup(|c| {
            query_all(
                c,
                "SELECT id, version, active_from, activated_by, activated_at FROM rule_activations \
                 ORDER BY activated_at, id",
                [],
                |r| codec::rule_activation(r),
            )
        })
    }

    async fn otps_since(
        &self,
        iin: &Iin,
        purpose: &OtpPurpose,
        since: Timestamp,
    ) -> StoreResult<u64> {
        self.lookup(|c| {
            count_of(
                c,
                "SELECT COUNT(*) FROM otp_challenges WHERE iin = ? AND created_at >= ? \
                 AND json_extract(purpose, '$.purpose') = ?",
                params![iin.to_string(), since.as_microsecond(), purpose.kind()],
            )
        })
    }

    async fn otp(&self, otp: Uuid) -> StoreResult<Option<OtpChallenge>> {
        self.lookup(|c| {
            let sql = format!("SELECT {OTP_COLUMNS} FROM otp_challenges WHERE id = ?");
            query_opt(c, &sql, params![id(otp)], |r| codec::otp(r))
        })
    }

    async fn officer_credential(&self, staff: StaffId) -> StoreResult<Option<OfficerCredential>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at \
                 FROM officer_credentials WHERE staff_id = ? \
                 ORDER BY bound_at DESC LIMIT 1",
                [id(staff.0)],
                |r| codec::officer_credential(r),
            )
        })
    }

    async fn officer_credential_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> StoreResult<Option<OfficerCredential>> {
        self.lookup(|c| {
            query_opt(
                c,
                "SELECT staff_id, fingerprint, certificate, sealed_key, bound_at \
                 FROM officer_credentials WHERE fingerprint = ?",
                [fingerprint],
                |r| codec::officer_credential(r),
            )
        })
    }
}
