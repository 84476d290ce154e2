//! Staff and sessions in SQLite: [`StaffStore`].

use super::*;

#[async_trait]
impl StaffStore for SqliteStore {
    async fn staff(&self, staff: StaffId) -> StoreResult<Option<StaffAccount>> {
        self.lookup(|c| query_opt(c, sql::STAFF, [id(staff.0)], |r| codec::staff(r)))
    }

    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffAccount>> {
        self.lookup(|c| query_opt(c, sql::STAFF_BY_USERNAME, [username], |r| codec::staff(r)))
    }

    async fn list_staff(&self) -> StoreResult<Vec<StaffAccount>> {
        self.scan(|c| query_all(c, sql::LIST_STAFF, [], |r| codec::staff(r)))
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
            query_opt(
                conn,
                sql::OTP_ATTEMPT,
                params![id(otp), i64::from(max_attempts), now],
                |r| codec::otp(r),
            )
        })
        .await
    }

    async fn consume_otp(&self, otp: Uuid, now: Timestamp) -> StoreResult<bool> {
        let now = micros(now);
        self.write(move |conn| {
            let done = execute(conn, sql::CONSUME_OTP, params![now, id(otp)])?;
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
            query_opt(c, sql::SESSION, params![token_hash, micros(now)], |r| {
                codec::session(r)
            })
        })
    }

    async fn signed_in(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<(Session, Option<StaffAccount>)>> {
        self.lookup(|c| read_signed_in(c, token_hash, now))
    }

    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()> {
        let token_hash = token_hash.to_vec();
        self.write(move |conn| execute(conn, sql::DELETE_SESSION, [token_hash]).map(|_| ()))
            .await
    }

    async fn rule_activations(&self) -> StoreResult<Vec<RuleActivation>> {
        self.lookup(|c| query_all(c, sql::RULE_ACTIVATIONS, [], |r| codec::rule_activation(r)))
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
        self.lookup(|c| query_opt(c, sql::OTP_CHALLENGE, params![id(otp)], |r| codec::otp(r)))
    }

    async fn officer_credential(&self, staff: StaffId) -> StoreResult<Option<OfficerCredential>> {
        self.lookup(|c| {
            query_opt(c, sql::OFFICER_CREDENTIAL, [id(staff.0)], |r| {
                codec::officer_credential(r)
            })
        })
    }

    async fn officer_credential_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> StoreResult<Option<OfficerCredential>> {
        self.lookup(|c| {
            query_opt(
                c,
                sql::OFFICER_CREDENTIAL_BY_FINGERPRINT,
                [fingerprint],
                |r| codec::officer_credential(r),
            )
        })
    }
}

/// The session `token_hash` signs in at `now`, with its staff account (on `c`: alone, or in
/// a status read's transaction).
pub(super) fn read_signed_in(
    c: &Connection,
    token_hash: &[u8],
    now: Timestamp,
) -> StoreResult<Option<SignedIn>> {
    query_opt(
        c,
        "SELECT s.token_hash, s.subject, s.created_at, s.expires_at, st.data AS staff_data \
         FROM sessions s LEFT JOIN staff st \
           ON json_extract(s.subject, '$.kind') = 'staff' \
           AND st.id = json_extract(s.subject, '$.id') \
         WHERE s.token_hash = ? AND s.expires_at > ?",
        params![token_hash, micros(now)],
        |r| codec::signed_in(r),
    )
}
