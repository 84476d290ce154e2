//! Staff and sessions: staff accounts and their certificates, one-time codes and sessions
//! (citizens' and staff's), and the rule sets administrators activate.

use crate::*;

#[async_trait]
pub trait StaffStore: Transactions {
    /// [`StoreError::Duplicate`]`("username")` if the username is taken. (Alone; with its
    /// audit entry, commit a [`Changes::staff`].)
    async fn add_staff(&self, staff: &StaffAccount) -> StoreResult<()> {
        self.commit(Changes {
            staff: vec![staff.clone()],
            ..Changes::default()
        })
        .await
    }
    async fn staff(&self, id: StaffId) -> StoreResult<Option<StaffAccount>>;
    async fn staff_by_username(&self, username: &str) -> StoreResult<Option<StaffAccount>>;
    async fn list_staff(&self) -> StoreResult<Vec<StaffAccount>>;
    async fn put_otp(&self, otp: &OtpChallenge) -> StoreResult<()>;
    /// How many challenges of the kind of `purpose` (sign-in, or confirming a submission —
    /// each budget counted apart) were created for `iin` since `since` (to rate-limit SMS).
    async fn otps_since(
        &self,
        iin: &Iin,
        purpose: &OtpPurpose,
        since: Timestamp,
    ) -> StoreResult<u64>;
    /// A challenge as stored (to tell a citizen why a code is no longer accepted).
    async fn otp(&self, id: Uuid) -> StoreResult<Option<OtpChallenge>>;
    /// Counts one attempt at a live challenge and returns it (with the new count), or `None`
    /// when there is no such challenge, it expired, was consumed, or has `max_attempts`
    /// attempts already. Atomic: concurrent guesses cannot exceed the limit.
    async fn attempt_otp(
        &self,
        id: Uuid,
        now: Timestamp,
        max_attempts: u32,
    ) -> StoreResult<Option<OtpChallenge>>;
    /// Marks a challenge used; false if it already was (a code works once).
    async fn consume_otp(&self, id: Uuid, now: Timestamp) -> StoreResult<bool>;
    async fn put_session(&self, session: &Session) -> StoreResult<()>;
    /// A session that has not expired at `now`.
    async fn session(&self, token_hash: &[u8], now: Timestamp) -> StoreResult<Option<Session>>;
    /// The same session with, for a staff session, the account (`None` if it is gone): what
    /// authenticating a request needs, in one read.
    async fn signed_in(
        &self,
        token_hash: &[u8],
        now: Timestamp,
    ) -> StoreResult<Option<(Session, Option<StaffAccount>)>>;
    async fn delete_session(&self, token_hash: &[u8]) -> StoreResult<()>;
    /// Binds a certificate (and sealed key) to an officer; binding the same certificate
    /// again replaces its sealed key (a new PIN). Earlier certificates stay bound (what they
    /// signed still verifies). [`StoreError::Duplicate`]`("certificate")` if the
    /// certificate is another's.
    async fn put_officer_credential(&self, credential: &OfficerCredential) -> StoreResult<()> {
        self.commit(Changes {
            officer_credentials: vec![credential.clone()],
            ..Changes::default()
        })
        .await
    }
    /// The officer's newest binding.
    async fn officer_credential(&self, staff: StaffId) -> StoreResult<Option<OfficerCredential>>;
    async fn officer_credential_by_fingerprint(
        &self,
        fingerprint: &str,
    ) -> StoreResult<Option<OfficerCredential>>;
    /// Every activation, oldest first (a later one of the same version replaces it).
    async fn rule_activations(&self) -> StoreResult<Vec<RuleActivation>>;
}
