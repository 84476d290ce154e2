//! The trust chain inside the service (R11): the approval document an officer signs, the two
//! ways of signing it (their own device, or the service with their PIN-sealed key), and the
//! production centre's verification before anything is made.
//!
//! The document is always rebuilt from what the service holds *now* — the register's
//! personal data, the stored images' bytes (hashed again, not their recorded digests) —
//! so a signature over an older or altered version does not match.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;
use uuid::Uuid;

use kuelik_core::lifecycle::{Actor, Application, ApplicationId, Command, Role};
use kuelik_store::{
    Approval, AuditEntry, Changes, SignatureCheck, SigningMethod, StaffAccount, StoredApplication,
};
use kuelik_trust::approval::DECISION_APPROVE;
use kuelik_trust::{cms, ApprovalDocument, TrustError, TrustStore};

use crate::app::{audit, policy_at};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;

/// How long a document fetched for client-side signing stays signable: long enough to sign
/// it with a card reader, short enough that "decided at" means something.
pub const DOCUMENT_VALIDITY: SignedDuration = SignedDuration::from_mins(15);

/// Whether a document given out to be signed at `given_at` may still be signed at `now`:
/// within `validity`, and not from the future (beyond a few minutes of clock skew).
pub fn signable(given_at: Timestamp, now: Timestamp, validity: SignedDuration) -> bool {
    given_at <= now + SignedDuration::from_mins(5) && given_at >= now - validity
}

/// Why the production centre (or an approval) refused a signature: a stable code and a
/// detail for the operator (never personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub detail: String,
}

impl Refusal {
    fn new(code: ErrorCode, detail: impl Into<String>) -> Refusal {
        Refusal {
            code,
            detail: detail.into(),
        }
    }
}

impl From<TrustError> for Refusal {
    fn from(e: TrustError) -> Refusal {
        // Every code of the trust chain is one of the API's (a test holds it).
        let code = ErrorCode::named(e.code()).unwrap_or(ErrorCode::InternalError);
        Refusal::new(code, e.to_string())
    }
}

impl From<Refusal> for ApiError {
    /// The refusal's code with its catalogued text in the reader's language; the technical
    /// detail (an issuer, the fields that changed) in `reason`.
    fn from(r: Refusal) -> ApiError {
        ApiError::plain(r.code, r.detail)
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    kuelik_core::hex::encode(&Sha256::digest(bytes))
}

/// A time as the document states it: whole seconds, RFC 3339 in UTC.
fn whole_seconds(at: Timestamp) -> Timestamp {
    Timestamp::from_second(at.as_second()).unwrap_or(at)
}

/// The approval document for `app` as the service's data stand now, decided by `officer`
/// at `decided_at`; a [`Refusal`] when something it must contain is gone.
pub async fn current_document(
    state: &AppState,
    app: &Application,
    officer_username: &str,
    decided_at: Timestamp,
) -> ApiResult<Result<ApprovalDocument, Refusal>> {
    let Some(person) = state.register.person(&app.applicant).await? else {
        return Ok(Err(Refusal::new(
            ErrorCode::DataMissing,
            "the applicant is not in the register",
        )));
    };
    let mut digests = Vec::with_capacity(2);
    for (what, digest) in [("photo", app.photo), ("signature", app.signature)] {
        let Some(digest) = digest else {
            return Ok(Err(Refusal::new(
                ErrorCode::DataMissing,
                format!("the application has no {what}"),
            )));
        };
        let Some(blob) = state.store.blob(&digest).await? else {
            return Ok(Err(Refusal::new(
                ErrorCode::DataMissing,
                format!("the {what} image is gone"),
            )));
        };
        digests.push(sha256_hex(&blob.bytes));
    }
    Ok(document_of(
        app,
        &person,
        &digests[0],
        &digests[1],
        officer_username,
        decided_at,
    ))
}

/// The approval document from its parts: the application, the applicant's register entry,
/// the hex SHA-256 of the photo and signature images.
pub fn document_of(
    app: &Application,
    person: &kuelik_core::register::Person,
    photo_sha256: &str,
    signature_sha256: &str,
    officer_username: &str,
    decided_at: Timestamp,
) -> Result<ApprovalDocument, Refusal> {
    let (Some(ticket), Some(point)) = (app.ticket, app.registration_point.as_ref()) else {
        return Err(Refusal::new(
            ErrorCode::DataMissing,
            "the application has no ticket or registration point",
        ));
    };
    Ok(ApprovalDocument {
        application_id: app.id.to_string(),
        ticket: ticket.to_string(),
        iin: person.iin.to_string(),
        surname: person.surname.clone(),
        given_name: person.given_name.clone(),
        patronymic: person.patronymic.clone(),
        birth_date: person.iin.birth_date().to_string(),
        document_kind: app.document_kind.as_str().to_string(),
        region: app.region.to_string(),
        registration_point: point.to_string(),
        photo_sha256: photo_sha256.to_string(),
        signature_sha256: signature_sha256.to_string(),
        decision: DECISION_APPROVE.to_string(),
        decided_at: whole_seconds(decided_at).to_string(),
        officer_username: officer_username.to_string(),
    })
}

/// The document the officer reviewing `stored` signs now (for client-side signing).
pub async fn document_to_sign(
    state: &AppState,
    actor: &Actor,
    officer: &StaffAccount,
    stored: &StoredApplication,
) -> ApiResult<ApprovalDocument> {
    may_approve(state, actor, &stored.application)?;
    current_document(
        state,
        &stored.application,
        &officer.username,
        state.clock.now(),
    )
    .await?
    .map_err(ApiError::from)
}

/// Whether the core would let `actor` approve `app` now: asked before any signing work,
/// so a wrong state, region or reviewer gets the core's own answer.
fn may_approve(state: &AppState, actor: &Actor, app: &Application) -> ApiResult<()> {
    let now = state.clock.now();
    app.decide(&Command::Approve, actor, now, &policy_at(state, now)?)?;
    Ok(())
}

fn trust(state: &AppState) -> ApiResult<&TrustStore> {
    state
        .config
        .trust
        .as_ref()
        .ok_or_else(|| ApiError::of(ErrorCode::NoTrustAnchors))
}

/// How an officer signs an approval.
pub enum Signing {
    /// The document as the service returned it, and the CMS made on the officer's device.
    Client { document: Vec<u8>, cms: Vec<u8> },
    /// The officer's PIN, which unlocks their sealed key in the service.
    Remote { pin: String },
}

/// Checks (or makes) the officer's signature over the current approval document of
/// `stored` and returns the approval to record with the `Approve` transition.
pub async fn sign_approval(
    state: &AppState,
    actor: &Actor,
    officer: &StaffAccount,
    stored: &StoredApplication,
    signing: Signing,
) -> ApiResult<Approval> {
    may_approve(state, actor, &stored.application)?;
    let trust = trust(state)?.clone();
    let now = state.clock.now();
    let credential = state.store.officer_credential(officer.id).await?;
    let (document, cms, method) = match signing {
        Signing::Client { document, cms } => {
            let claimed = ApprovalDocument::from_canonical_bytes(&document)
                .map_err(|e| ApiError::from(Refusal::from(e)))?;
            let decided_at: Timestamp = claimed.decided_at.parse().map_err(|_| {
                ApiError::from(Refusal::new(
                    ErrorCode::InvalidDocument,
                    "decided_at is not a time",
                ))
            })?;
            if !signable(decided_at, now, DOCUMENT_VALIDITY) {
                return Err(ApiError::of(ErrorCode::ApprovalDocumentStale));
            }
            let expected =
                current_document(state, &stored.application, &officer.username, decided_at)
                    .await?
                    .map_err(ApiError::from)?;
            if expected != claimed {
                return Err(Refusal::new(
                    ErrorCode::DocumentMismatch,
                    "the signed document is not this application's current approval document",
                )
                .into());
            }
            (document, cms, SigningMethod::Client)
        }
        Signing::Remote { pin } => {
            if !state.config.pin_signing {
                return Err(ApiError::of(ErrorCode::PinSigningOff));
            }
            let Some(sealed) = credential.as_ref().and_then(|c| c.sealed_key.clone()) else {
                return Err(ApiError::of(ErrorCode::NoRemoteSigningKey));
            };
            let certificate = credential
                .as_ref()
                .map(|c| c.certificate.clone())
                .unwrap_or_default();
            let doc = current_document(state, &stored.application, &officer.username, now)
                .await?
                .map_err(ApiError::from)?;
            let document = doc.canonical_bytes();
            let to_sign = document.clone();
            // argon2id on purpose costs time and memory: off the async workers.
            let signed = tokio::task::spawn_blocking(move || {
                let sealed: kuelik_trust::SealedKey = serde_json::from_str(&sealed)
                    .map_err(|e| TrustError::MalformedSealedKey(e.to_string()))?;
                let key = kuelik_trust::keystore::unseal_key(&sealed, &pin)?;
                cms::sign_detached_with(&to_sign, &key, &certificate, now)
            })
            .await
            .map_err(|_| ApiError::plain(ErrorCode::InternalError, "signing failed"))?;
            let cms = match signed {
                Ok(cms) => cms,
                Err(TrustError::WrongPin) => {
                    state
                        .store
                        .commit(Changes {
                            audit: vec![pin_refused(actor, stored.application.id, now)],
                            ..Changes::default()
                        })
                        .await?;
                    return Err(ApiError::of(ErrorCode::WrongPin));
                }
                Err(e) => return Err(Refusal::from(e).into()),
            };
            (document, cms, SigningMethod::Remote)
        }
    };
    // Whichever way it was made, the signature is checked as production will check it.
    let info = cms::verify_detached(&cms, &document, &trust, now)
        .map_err(|e| ApiError::from(Refusal::from(e)))?;
    // Revoked since the last CRL? OCSP knows (a revoked certificate is refused, and without
    // a current answer nothing is approved: 503, try again).
    state
        .ocsp
        .check(&info, &trust, now)
        .await
        .map_err(|e| ApiError::from(Refusal::from(e)))?;
    signed_by(
        officer,
        credential.as_ref().map(|c| c.fingerprint.as_str()),
        &info.signer,
        &state.config.officer_signer,
    )
    .map_err(ApiError::from)?;
    Ok(Approval {
        application: stored.application.id,
        officer: officer.id,
        method,
        document,
        signature: cms,
        // A TSA's time-stamp in the signature is the signing time on record.
        signed_at: info.time_stamp.unwrap_or(now),
    })
}

/// Whether `signer` is `officer`'s certificate. An account bound to a person (IIN) accepts
/// any trusted certificate issued to that IIN that fits the officer profile; otherwise only
/// the one certificate bound to the account (`bound_fingerprint`).
pub fn signed_by(
    officer: &StaffAccount,
    bound_fingerprint: Option<&str>,
    signer: &kuelik_trust::CertificateInfo,
    profile: &kuelik_trust::SignerProfile,
) -> Result<(), Refusal> {
    if bound_fingerprint == Some(signer.sha256_fingerprint.as_str()) {
        return Ok(());
    }
    match &officer.iin {
        Some(iin) => profile
            .check(&signer.holder, &iin.to_string())
            .map_err(Refusal::from),
        None => Err(Refusal::new(
            ErrorCode::SignerNotThisOfficer,
            "the certificate that signed is not the one bound to your account",
        )),
    }
}

fn pin_refused(actor: &Actor, app: ApplicationId, at: Timestamp) -> AuditEntry {
    audit(
        actor,
        at,
        "approval.wrong_pin",
        Some(app.to_string()),
        json!({}),
    )
}

/// The production centre's check (R11): the approval was signed by an officer of the
/// application's region, with a certificate that chains to a trust anchor and is neither
/// expired nor revoked now, over exactly the document the application's current data and
/// images give.
pub async fn verify_for_production(
    state: &AppState,
    stored: &StoredApplication,
) -> ApiResult<Result<(), Refusal>> {
    let app = &stored.application;
    let Some(approval) = state.store.approval(app.id).await? else {
        return Ok(Err(Refusal::new(
            ErrorCode::ApprovalMissing,
            "no signed approval is recorded",
        )));
    };
    let Some(trust) = state.config.trust.as_ref() else {
        return Ok(Err(Refusal::new(
            ErrorCode::NoTrustAnchors,
            "no trust anchors are configured",
        )));
    };
    let signed = match ApprovalDocument::from_canonical_bytes(&approval.document) {
        Ok(doc) => doc,
        Err(e) => return Ok(Err(e.into())),
    };
    let info = match cms::verify_detached(
        &approval.signature,
        &approval.document,
        trust,
        state.clock.now(),
    ) {
        Ok(info) => info,
        Err(e) => return Ok(Err(e.into())),
    };
    // Revoked since it signed? Production refuses (and records why); an OCSP responder that
    // cannot answer now is no reason to refuse for good: 503, try again.
    match state.ocsp.check(&info, trust, state.clock.now()).await {
        Ok(()) => {}
        Err(e @ TrustError::RevocationUnknown(_)) => return Err(Refusal::from(e).into()),
        Err(e) => return Ok(Err(e.into())),
    }
    // The signer must be an officer of this application's region: the certificate bound to
    // the approving officer's account, or one issued to the officer's IIN that fits the
    // profile.
    let bound = state
        .store
        .officer_credential_by_fingerprint(&info.signer.sha256_fingerprint)
        .await?
        .filter(|c| c.staff == approval.officer)
        .map(|c| c.fingerprint);
    let officer = state.store.staff(approval.officer).await?.filter(|o| {
        signed_by(
            o,
            bound.as_deref(),
            &info.signer,
            &state.config.officer_signer,
        )
        .is_ok()
    });
    let of_region = officer
        .as_ref()
        .is_some_and(|o| o.role == Role::Officer && o.region == Some(app.region) && o.active);
    if !of_region {
        return Ok(Err(Refusal::new(
            ErrorCode::SignerNotOfficerOfRegion,
            format!(
                "the signer is not an officer of the УМС of region {}",
                app.region
            ),
        )));
    }
    let decided_at: Timestamp = match signed.decided_at.parse() {
        Ok(at) => at,
        Err(_) => {
            return Ok(Err(Refusal::new(
                ErrorCode::InvalidDocument,
                "decided_at is not a time",
            )))
        }
    };
    let current = match current_document(state, app, &signed.officer_username, decided_at).await? {
        Ok(doc) => doc,
        Err(refusal) => return Ok(Err(refusal)),
    };
    if current != signed {
        let changed: Vec<&str> = changed_fields(&current, &signed);
        return Ok(Err(Refusal::new(
            ErrorCode::DigestMismatch,
            format!("changed since approval: {}", changed.join(", ")),
        )));
    }
    Ok(Ok(()))
}

/// Which members differ (names only: the values are personal data).
fn changed_fields<'a>(a: &'a ApprovalDocument, b: &'a ApprovalDocument) -> Vec<&'static str> {
    let pairs: [(&'static str, bool); 15] = [
        ("application_id", a.application_id != b.application_id),
        ("ticket", a.ticket != b.ticket),
        ("iin", a.iin != b.iin),
        ("surname", a.surname != b.surname),
        ("given_name", a.given_name != b.given_name),
        ("patronymic", a.patronymic != b.patronymic),
        ("birth_date", a.birth_date != b.birth_date),
        ("document_kind", a.document_kind != b.document_kind),
        ("region", a.region != b.region),
        (
            "registration_point",
            a.registration_point != b.registration_point,
        ),
        ("photo_sha256", a.photo_sha256 != b.photo_sha256),
        ("signature_sha256", a.signature_sha256 != b.signature_sha256),
        ("decision", a.decision != b.decision),
        ("decided_at", a.decided_at != b.decided_at),
        ("officer_username", a.officer_username != b.officer_username),
    ];
    pairs
        .into_iter()
        .filter(|(_, differs)| *differs)
        .map(|(name, _)| name)
        .collect()
}

/// The record of one production check.
pub fn signature_check(
    app: ApplicationId,
    at: Timestamp,
    outcome: &Result<(), Refusal>,
) -> SignatureCheck {
    let (verified, code, detail) = match outcome {
        Ok(()) => (true, "verified".to_string(), String::new()),
        Err(r) => (false, r.code.to_string(), r.detail.clone()),
    };
    SignatureCheck {
        id: Uuid::now_v7(),
        application: app,
        at,
        verified,
        code,
        detail,
    }
}
