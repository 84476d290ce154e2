//! Sign-in and who is asking.
//!
//! Citizens sign in with their IIN and a one-time code sent to the phone the population
//! register has for them (never a number they type). Staff sign in with username and
//! password (argon2id). A session is a random token: the client holds it (an HttpOnly,
//! SameSite cookie for the portal, a bearer token for mobile apps); the store keeps only its
//! SHA-256, so a copy of the database cannot be used to sign in.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use hmac::{Hmac, Mac};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::iin::Iin;
use kuelik_core::lang::Localized;
use kuelik_core::lifecycle::{Actor, ApplicationId, Role};
use kuelik_core::messages;
use kuelik_core::staff::StaffScope;
use kuelik_store::{
    AuditEntry, Changes, OtpChallenge, OtpPurpose, OutboxMessage, Session, SessionSubject,
    SignedIn, StaffAccount,
};

use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::ApiJson;
use crate::AppState;

pub const SESSION_COOKIE: &str = "kuelik_session";
const OTP_TTL: SignedDuration = SignedDuration::from_mins(5);
pub const OTP_MAX_ATTEMPTS: u32 = 5;
/// At most this many codes per person per window: stops SMS flooding of a phone and
/// guessing across many fresh challenges.
pub const OTP_ISSUE_LIMIT: u64 = 5;
const OTP_ISSUE_WINDOW: SignedDuration = SignedDuration::from_mins(15);
const CITIZEN_SESSION_TTL: SignedDuration = SignedDuration::from_hours(1);
const STAFF_SESSION_TTL: SignedDuration = SignedDuration::from_hours(9);

/// Random bytes from the OS. A failing OS random source is fatal for security: refuse.
pub fn random_bytes<const N: usize>() -> ApiResult<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| {
        ApiError::plain(
            ErrorCode::EntropyUnavailable,
            "the server cannot draw random numbers",
        )
    })?;
    Ok(buf)
}

pub use kuelik_core::hex::encode as hex;

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// A 6-digit code, uniform (rejection sampling: no modulo bias).
fn new_code() -> ApiResult<String> {
    loop {
        let n = u32::from_le_bytes(random_bytes::<4>()?);
        // 4,294,000,000 is the largest multiple of 10⁶ below 2³².
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

/// HMAC(server key, challenge id ‖ code): the stored form of a one-time code.
fn code_hash(key: &[u8; 32], challenge: Uuid, code: &str) -> Vec<u8> {
    // HMAC accepts keys of any length; this cannot fail for a 32-byte key.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return Vec::new();
    };
    mac.update(challenge.as_bytes());
    mac.update(code.trim().as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Who is making the request, as a session proves it: a citizen, or a staff account with
/// the scope its role has (an account without it is refused at the door).
#[derive(Debug, Clone)]
pub enum Principal {
    Citizen { iin: Iin },
    Staff(StaffAccount, StaffScope),
}

/// The scope of a staff account, or the refusal for an account stored without one (never a
/// guessed scope).
pub fn staff_scope(account: &StaffAccount) -> ApiResult<StaffScope> {
    StaffScope::of(account.role, account.region, account.point.clone()).map_err(|e| {
        tracing::warn!(account = %account.id, code = e.code(), "a staff account without its scope");
        ApiError::of(ErrorCode::StaffScopeInvalid)
    })
}

impl Principal {
    /// The actor the core's rules see.
    pub fn actor(&self) -> Actor {
        match self {
            Principal::Citizen { iin } => Actor::Citizen { iin: *iin },
            Principal::Staff(account, scope) => scope.actor(account.id),
        }
    }

    pub fn citizen(&self) -> ApiResult<Iin> {
        match self {
            Principal::Citizen { iin } => Ok(*iin),
            Principal::Staff(..) => Err(ApiError::forbidden()),
        }
    }

    /// The staff account, if it has `role`.
    pub fn staff(&self, role: Role) -> ApiResult<&StaffAccount> {
        match self {
            Principal::Staff(s, _) if s.role == role => Ok(s),
            _ => Err(ApiError::forbidden()),
        }
    }
}

fn session_token(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some((bearer.trim().to_string(), false));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{SESSION_COOKIE}="))
                .map(str::to_string)
        })
        .map(|token| (token, true))
}

/// A cookie-authenticated request that changes something must come from our own pages:
/// browsers send `Origin` (and `Sec-Fetch-Site`) on cross-site requests.
fn cross_site(parts: &Parts) -> bool {
    if matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return false;
    }
    let h = &parts.headers;
    if h.get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return true;
    }
    let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
    match (h.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
        (Some(origin), Some(host)) => {
            let origin_host = origin.split("://").nth(1).unwrap_or(origin);
            origin_host != host
        }
        _ => false,
    }
}

/// The request's session token (bearer or cookie), as its SHA-256 (what the store keeps):
/// 401 without one, and a cookie-carried change from another site refused. A handler that
/// reads the session together with what it answers takes this, then [`Principal::of`];
/// every other takes [`Principal`].
pub struct SessionToken {
    pub hash: [u8; 32],
}

impl FromRequestParts<AppState> for SessionToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> ApiResult<SessionToken> {
        let (token, via_cookie) =
            session_token(&parts.headers).ok_or_else(ApiError::unauthorized)?;
        if via_cookie && cross_site(parts) {
            return Err(ApiError::of(ErrorCode::CrossSiteRequest));
        }
        Ok(SessionToken {
            hash: sha256(token.as_bytes()),
        })
    }
}

impl Principal {
    /// Who a session signs in (as the store found it for the token): 401 when no live
    /// session, or a staff session whose account is gone, inactive or not its own.
    pub fn of(signed_in: Option<SignedIn>) -> ApiResult<Principal> {
        let (session, staff) = signed_in.ok_or_else(ApiError::unauthorized)?;
        match session.subject {
            SessionSubject::Citizen { iin } => Ok(Principal::Citizen { iin }),
            SessionSubject::Staff { id } => match staff {
                Some(account) if account.active && account.id == id => {
                    let scope = staff_scope(&account)?;
                    Ok(Principal::Staff(account, scope))
                }
                _ => Err(ApiError::unauthorized()),
            },
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Principal> {
        let token = SessionToken::from_request_parts(parts, state).await?;
        let signed_in = state
            .store
            .signed_in(&token.hash, state.clock.now())
            .await?;
        Principal::of(signed_in)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OtpRequest {
    /// The citizen's 12-digit IIN.
    #[schema(pattern = "^[0-9]{12}$", example = "880312401012")]
    pub iin: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OtpIssued {
    pub challenge_id: Uuid,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// The masked phone number the code was sent to, when the register has one.
    pub sent_to: Option<String>,
}

pub fn parse_iin(raw: &str) -> ApiResult<Iin> {
    Iin::parse(raw).map_err(|e| {
        use kuelik_core::iin::IinError as E;
        let code = match e {
            E::WrongLength(_) => ErrorCode::IinWrongLength,
            E::NotADigit { .. } => ErrorCode::IinNotADigit,
            E::BadCenturyDigit(_) => ErrorCode::IinBadCenturyDigit,
            E::BadBirthDate(_) => ErrorCode::IinBadBirthDate,
            E::CheckDigitMismatch { .. } => ErrorCode::IinCheckDigitMismatch,
            E::CheckDigitUndefined => ErrorCode::IinCheckDigitUndefined,
        };
        ApiError::new(code, messages::iin_error(&e))
    })
}

/// Creates a one-time-code challenge for `iin` and queues the SMS, in one transaction.
/// For an IIN the register does not know, a challenge no code can answer is stored and
/// nothing is sent, so the answer does not reveal who is in the register.
pub async fn issue_otp(state: &AppState, iin: Iin, purpose: OtpPurpose) -> ApiResult<OtpIssued> {
    let now = state.clock.now();
    let window_start = now.checked_sub(OTP_ISSUE_WINDOW).unwrap_or(now);
    // Sign-in and submission codes are budgeted apart: signing in again and again cannot
    // leave the citizen without a code at the last step.
    if state.store.otps_since(&iin, &purpose, window_start).await? >= OTP_ISSUE_LIMIT {
        return Err(ApiError::of(ErrorCode::TooManyCodes));
    }
    let id = Uuid::now_v7();
    let code = new_code()?;
    let person = state.register.person(&iin).await?;
    let code_hash = match person {
        Some(_) => code_hash(&state.config.secrets.otp_key, id, &code),
        None => random_bytes::<32>()?.to_vec(),
    };
    let challenge = OtpChallenge {
        id,
        iin,
        purpose: purpose.clone(),
        code_hash,
        created_at: now,
        expires_at: now.checked_add(OTP_TTL).unwrap_or(now),
        attempts: 0,
        consumed_at: None,
    };
    state.store.put_otp(&challenge).await?;
    let mut sent_to = None;
    if let Some(person) = person {
        let text = otp_text(&code, &purpose);
        let message = OutboxMessage {
            id: Uuid::now_v7(),
            topic: "sms".into(),
            payload: serde_json::json!({
                "to": person.phone.as_str(),
                "text": text.get(person.language),
                "kind": "one_time_code",
            }),
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            last_error: None,
        };
        state
            .store
            .commit(Changes {
                outbox: vec![message],
                ..Changes::default()
            })
            .await?;
        state.wake_outbox();
        sent_to = Some(person.phone.masked());
    }
    Ok(OtpIssued {
        challenge_id: id,
        expires_at: challenge.expires_at,
        sent_to,
    })
}

fn otp_text(code: &str, purpose: &OtpPurpose) -> Localized {
    match purpose {
        OtpPurpose::SignIn => Localized::new(
            &format!("kuelik: кіру коды {code}. Ешкімге айтпаңыз."),
            &format!("kuelik: код для входа {code}. Никому его не сообщайте."),
            &format!("kuelik: your sign-in code is {code}. Do not share it."),
        ),
        OtpPurpose::ConfirmSubmission { .. } => Localized::new(
            &format!("kuelik: өтінішке қол қою коды {code}. Ешкімге айтпаңыз."),
            &format!("kuelik: код подписания заявки {code}. Никому его не сообщайте."),
            &format!("kuelik: your code to sign the application is {code}. Do not share it."),
        ),
    }
}

/// A typo: the code stays good for the attempts left.
fn wrong_code(attempts_left: u32) -> ApiError {
    if attempts_left == 0 {
        return ApiError::of(ErrorCode::CodeLocked);
    }
    let left = i64::from(attempts_left);
    ApiError::of_with(ErrorCode::WrongCode, |_| {
        vec![("left", messages::Arg::Number(left))]
    })
    .with_extra(serde_json::json!({ "attempts_left": attempts_left }))
}

/// Why a challenge takes no more guesses: used or expired (ask for a new code), or out of
/// attempts (locked: ask for a new code). An unknown challenge is answered as expired.
async fn no_more_guesses(state: &AppState, challenge_id: Uuid, now: Timestamp) -> ApiError {
    match state.store.otp(challenge_id).await {
        Ok(Some(c)) if c.consumed_at.is_none() && c.expires_at > now => {
            ApiError::of(ErrorCode::CodeLocked)
        }
        Ok(_) => ApiError::of(ErrorCode::CodeExpired),
        Err(e) => e.into(),
    }
}

/// Checks a code against a challenge of `purpose` and uses it up. Every guess counts
/// against the challenge's attempt limit, right or wrong; the refusal says which of a typo
/// (with the attempts left), an expired or used code, or a locked one it was.
pub async fn verify_otp(
    state: &AppState,
    challenge_id: Uuid,
    code: &str,
    purpose: &OtpPurpose,
) -> ApiResult<Iin> {
    let now = state.clock.now();
    let Some(challenge) = state
        .store
        .attempt_otp(challenge_id, now, OTP_MAX_ATTEMPTS)
        .await?
    else {
        return Err(no_more_guesses(state, challenge_id, now).await);
    };
    let expected = code_hash(&state.config.secrets.otp_key, challenge.id, code);
    if challenge.purpose != *purpose || !constant_time_eq(&expected, &challenge.code_hash) {
        return Err(wrong_code(
            OTP_MAX_ATTEMPTS.saturating_sub(challenge.attempts),
        ));
    }
    if !state.store.consume_otp(challenge.id, now).await? {
        return Err(ApiError::of(ErrorCode::CodeExpired));
    }
    Ok(challenge.iin)
}

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SessionMode {
    /// An HttpOnly cookie (browsers).
    #[default]
    Cookie,
    /// A bearer token in the answer (mobile apps).
    Token,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CitizenSignIn {
    pub challenge_id: Uuid,
    /// The 6-digit one-time code.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    #[serde(default)]
    pub mode: SessionMode,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffSignIn {
    pub username: String,
    pub password: String,
    #[serde(default)]
    pub mode: SessionMode,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionIssued {
    /// Present in `token` mode only: send it as `Authorization: Bearer …`.
    pub token: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: Timestamp,
    /// `citizen`, `officer`, `production_operator`, `point_operator` or `administrator`.
    pub role: String,
}

async fn start_session(
    state: &AppState,
    subject: SessionSubject,
    ttl: SignedDuration,
    mode: SessionMode,
    role: &str,
) -> ApiResult<Response> {
    let now = state.clock.now();
    let token = hex(&random_bytes::<32>()?);
    let expires_at = now.checked_add(ttl).unwrap_or(now);
    state
        .store
        .put_session(&Session {
            token_hash: sha256(token.as_bytes()).to_vec(),
            subject,
            created_at: now,
            expires_at,
        })
        .await?;
    let body = SessionIssued {
        token: matches!(mode, SessionMode::Token).then(|| token.clone()),
        expires_at,
        role: role.to_string(),
    };
    let mut response = Json(body).into_response();
    if matches!(mode, SessionMode::Cookie) {
        let secure = if state.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        let cookie = format!(
            "{SESSION_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
            ttl.as_secs()
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().insert(header::SET_COOKIE, v);
        }
    }
    Ok(response)
}

/// Ask for a sign-in code (sent by SMS to the phone in the population register).
#[utoipa::path(post, path = "/auth/otp", tag = "sign-in", request_body = OtpRequest,
    responses((status = 202, body = OtpIssued), (status = 422, description = "not a valid IIN")))]
pub async fn request_otp(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<OtpRequest>,
) -> ApiResult<(StatusCode, Json<OtpIssued>)> {
    let iin = parse_iin(&req.iin)?;
    let issued = issue_otp(&state, iin, OtpPurpose::SignIn).await?;
    Ok((StatusCode::ACCEPTED, Json(issued)))
}

/// Sign in as a citizen with the code.
#[utoipa::path(post, path = "/auth/session", tag = "sign-in", request_body = CitizenSignIn,
    responses((status = 200, body = SessionIssued), (status = 422, description = "wrong code")))]
pub async fn citizen_sign_in(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<CitizenSignIn>,
) -> ApiResult<Response> {
    let iin = verify_otp(&state, req.challenge_id, &req.code, &OtpPurpose::SignIn).await?;
    start_session(
        &state,
        SessionSubject::Citizen { iin },
        CITIZEN_SESSION_TTL,
        req.mode,
        "citizen",
    )
    .await
}

/// Sign in as staff with username and password.
#[utoipa::path(post, path = "/auth/staff-session", tag = "sign-in", request_body = StaffSignIn,
    responses((status = 200, body = SessionIssued), (status = 401, description = "wrong username or password")))]
pub async fn staff_sign_in(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<StaffSignIn>,
) -> ApiResult<Response> {
    let account = state
        .store
        .staff_by_username(&req.username.trim().to_lowercase())
        .await?;
    // Verify against a fixed hash when the user is unknown, so timing does not tell.
    let ok = match &account {
        Some(a) => a.active && verify_password(&req.password, &a.password_hash),
        None => {
            let _ = verify_password(&req.password, DUMMY_HASH);
            false
        }
    };
    let Some(account) = account.filter(|_| ok) else {
        return Err(ApiError::of(ErrorCode::WrongCredentials));
    };
    let scope = staff_scope(&account)?;
    let now = state.clock.now();
    state
        .store
        .commit(Changes {
            audit: vec![AuditEntry {
                id: Uuid::now_v7(),
                at: now,
                actor: scope.actor(account.id),
                action: "staff.sign_in".into(),
                target: Some(account.id.to_string()),
                details: serde_json::json!({}),
            }],
            ..Changes::default()
        })
        .await?;
    start_session(
        &state,
        SessionSubject::Staff { id: account.id },
        STAFF_SESSION_TTL,
        req.mode,
        account.role.as_str(),
    )
    .await
}

/// argon2id hash of a random password nobody knows (for equal-time failures).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0YyKYLzU0b2yE3nXb1PqA4mYV3zqUYvQ8c8r1m2V6kQ";

/// Sign out: the session stops working at once.
#[utoipa::path(delete, path = "/auth/session", tag = "sign-in", responses((status = 204)))]
pub async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if let Some((token, _)) = session_token(&headers) {
        state
            .store
            .delete_session(&sha256(token.as_bytes()))
            .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    let expired = format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    if let Ok(v) = HeaderValue::from_str(&expired) {
        response.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(response)
}

/// The purpose of a submission-confirmation code for `application`.
pub fn confirm_purpose(application: ApplicationId) -> OtpPurpose {
    OtpPurpose::ConfirmSubmission { application }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_digits() {
        for _ in 0..100 {
            let c = new_code().unwrap();
            assert_eq!(c.len(), 6);
            assert!(c.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn code_hashes_depend_on_key_challenge_and_code() {
        let id = Uuid::now_v7();
        let a = code_hash(&[1; 32], id, "123456");
        assert_eq!(a, code_hash(&[1; 32], id, " 123456 "));
        assert_ne!(a, code_hash(&[2; 32], id, "123456"));
        assert_ne!(a, code_hash(&[1; 32], Uuid::now_v7(), "123456"));
        assert_ne!(a, code_hash(&[1; 32], id, "123457"));
    }

    #[test]
    fn passwords_verify_only_themselves() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horse!", &h));
        assert!(!verify_password("anything", DUMMY_HASH));
        // The dummy must be a real argon2id hash, or an unknown username would answer faster.
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("anything", "not a hash"));
    }
}
