//! The citizen's application: starting it, choosing where to collect the document,
//! attaching the photo and the signature, asking for the submission code, submitting it
//! (→ the registration ticket) and withdrawing it.

use jiff::Timestamp;
use serde_json::json;
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::eligibility::{self, Decision};
use kuelik_core::iin::Iin;
use kuelik_core::lifecycle::{
    Actor, Application, ApplicationId, Command, LifecycleError, SubmissionFacts,
};
use kuelik_core::region::PointId;
use kuelik_core::register::Person;
use kuelik_core::rules::Reason;
use kuelik_core::ticket::TicketNumber;
use kuelik_store::{
    ApplicationWrite, Blob, Changes, IdempotencyRecord, ImageCheck, StoredApplication,
};

use super::{audit, change, policy_at, rules_at, visible};
use crate::api::views::{EligibilityView, ReadinessView};
use crate::auth::{self, random_bytes, OtpIssued};
use crate::checks::{self, ImageKind};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::AppState;

/// The idempotency record of a request's answer, written in the use case's transaction (the
/// edge builds the answer from what the use case decided: the application and its version).
pub type Remember<'a> = &'a (dyn Fn(&Application, i64) -> Option<IdempotencyRecord> + Sync);

/// The person as the population register has them (404 `not_in_register` if it has not).
pub async fn person_of(state: &AppState, iin: &Iin) -> ApiResult<Person> {
    state
        .register
        .person(iin)
        .await?
        .ok_or_else(|| ApiError::of(ErrorCode::NotInRegister))
}

/// May `person` renew their document online now, for `reason`? With whether the rule set in
/// force is an assumption (not yet confirmed by law).
pub fn eligibility_of(
    state: &AppState,
    person: &Person,
    reason: Reason,
    now: Timestamp,
) -> ApiResult<(Decision, bool)> {
    let rules = rules_at(state, now)?;
    Ok((
        eligibility::decide(&person.document.facts(), reason, now, &rules),
        rules.assumption,
    ))
}

/// An eligibility decision that says no, as the refusal the citizen sees (its code, its
/// message and the decision itself).
pub fn refusal_of(decision: Decision, assumption: bool) -> ApiError {
    use eligibility::DecisionCode as D;
    let code = match decision.code {
        D::TooEarly => ErrorCode::TooEarly,
        D::WindowAfterServiceEnd => ErrorCode::WindowAfterServiceEnd,
        D::ExpiredTooLong => ErrorCode::ExpiredTooLong,
        D::ReasonNotServed => ErrorCode::ReasonNotServed,
        D::DocumentNotServed => ErrorCode::DocumentNotServed,
        D::ServiceNotActive => ErrorCode::ServiceNotActive,
        // Not a refusal; a caller that asks for one gets the generic one.
        D::Eligible => ErrorCode::NotEligible,
    };
    let message = decision.message.clone();
    let view = EligibilityView::new(decision, assumption);
    ApiError::new(code, message).with_extra(json!({ "eligibility": view }))
}

/// Starts an application for `iin`: a draft pre-filled from the register, only when the
/// person is eligible today (one live application per person: the store refuses a second).
pub async fn start(
    state: &AppState,
    iin: Iin,
    reason: Reason,
    remember: Remember<'_>,
) -> ApiResult<StoredApplication> {
    let person = person_of(state, &iin).await?;
    let now = state.clock.now();
    let (decision, assumption) = eligibility_of(state, &person, reason, now)?;
    if !decision.eligible {
        return Err(refusal_of(decision, assumption));
    }
    let app = Application::new_draft(
        ApplicationId(Uuid::now_v7()),
        iin,
        person.document.kind,
        person.region,
        now,
    );
    let changes = Changes {
        audit: vec![audit(
            &Actor::Citizen { iin },
            now,
            "application.create",
            Some(app.id.to_string()),
            json!({ "rules_version": decision.rules_version }),
        )],
        idempotency: remember(&app, 1),
        application: Some(ApplicationWrite {
            application: app.clone(),
            expected_version: None,
        }),
        ..Changes::default()
    };
    state.store.commit(changes).await?;
    Ok(StoredApplication {
        application: app,
        version: 1,
    })
}

/// Chooses the registration point where the document will be collected (a point the
/// service knows; the core holds it to the applicant's region).
pub async fn choose_point(
    state: &AppState,
    actor: &Actor,
    id: ApplicationId,
    point: &str,
) -> ApiResult<StoredApplication> {
    let stored = visible(state, id, actor).await?;
    let point: PointId = point
        .parse()
        .ok()
        .filter(|p| state.points.get(p).is_some())
        .ok_or_else(|| ApiError::of(ErrorCode::UnknownRegistrationPoint))?;
    let steps = [(actor.clone(), Command::ChooseRegistrationPoint(point))];
    change(state, &stored, &steps, |_, _, _| Ok(())).await
}

/// Attaches the photo or the signature image to the application as read (`stored`, which
/// the edge reads before it takes the upload) after checking it. An unreadable image is
/// refused and changes nothing; a readable one is attached with its check whatever the
/// verdict (the citizen sees what to fix; a failed check holds back payment and submission).
pub async fn attach_image(
    state: &AppState,
    actor: &Actor,
    stored: &StoredApplication,
    kind: ImageKind,
    bytes: Vec<u8>,
    content_type: &'static str,
) -> ApiResult<(StoredApplication, ImageCheck)> {
    let digest = Sha256Digest::from_bytes(crate::auth::sha256(&bytes));
    let check = checks::run(state, kind, digest, bytes.clone()).await?;
    let command = match kind {
        ImageKind::Photo => Command::AttachPhoto(digest),
        ImageKind::Signature => Command::AttachSignature(digest),
    };
    let now = state.clock.now();
    let kept = check.clone();
    let stored = change(
        state,
        stored,
        &[(actor.clone(), command)],
        |_, _, changes| {
            // The blob is written with the event that references it: never orphaned.
            changes.blobs.push(Blob {
                digest,
                content_type: content_type.to_string(),
                bytes,
                created_at: now,
            });
            changes.image_checks.push(kept);
            Ok(())
        },
    )
    .await?;
    Ok((stored, check))
}

/// What the core decides a draft on besides the draft itself: its images' automatic checks
/// and whether the holder may still renew online today (the register's facts can change
/// between the draft and the submission).
pub struct DraftFacts {
    pub facts: SubmissionFacts,
    eligibility: (Decision, bool),
}

impl DraftFacts {
    pub async fn of(state: &AppState, app: &Application, now: Timestamp) -> ApiResult<DraftFacts> {
        let failed = |check: Option<Sha256Digest>, kind| async move {
            match check {
                Some(d) => Ok(checks::of_attached(state, kind, d).await?.failed()),
                None => Ok::<_, ApiError>(false),
            }
        };
        // Independent reads, at once.
        let (photo_failed, signature_failed, person) = tokio::try_join!(
            failed(app.photo, ImageKind::Photo),
            failed(app.signature, ImageKind::Signature),
            person_of(state, &app.applicant),
        )?;
        let (decision, assumption) = eligibility_of(state, &person, Reason::Expiring, now)?;
        Ok(DraftFacts {
            facts: SubmissionFacts {
                photo_check_failed: photo_failed,
                signature_check_failed: signature_failed,
                eligible: decision.eligible,
            },
            eligibility: (decision, assumption),
        })
    }

    /// The core's refusal, answered with what the citizen needs to act on: for an
    /// unfinished draft the whole task list (every part at once), for lost eligibility the
    /// decision.
    pub fn refusal(self, app: &Application, err: LifecycleError) -> ApiError {
        match err {
            LifecycleError::Incomplete { .. } => {
                let readiness = app.readiness(
                    self.facts.photo_check_failed,
                    self.facts.signature_check_failed,
                );
                ApiError::from(err)
                    .with_extra(json!({ "readiness": ReadinessView::from(&readiness) }))
            }
            LifecycleError::NotEligible => {
                let (decision, assumption) = self.eligibility;
                refusal_of(decision, assumption)
            }
            other => other.into(),
        }
    }
}

/// Sends the one-time code that signs the submission to the phone on record — only for a
/// draft the core would accept now (no code is spent on one that is not ready).
pub async fn request_submission_code(
    state: &AppState,
    iin: Iin,
    id: ApplicationId,
) -> ApiResult<OtpIssued> {
    submission_the_core_accepts(state, iin, id).await?;
    auth::issue_otp(state, iin, auth::confirm_purpose(id)).await
}

/// The application `id` of `iin`, the facts of its submission and a ticket, once the core
/// has accepted the submission as it stands — or the core's refusal, with what the citizen
/// needs to act on. Asked before a code is sent and before a code is used up.
async fn submission_the_core_accepts(
    state: &AppState,
    iin: Iin,
    id: ApplicationId,
) -> ApiResult<(StoredApplication, SubmissionFacts, TicketNumber)> {
    let actor = Actor::Citizen { iin };
    let stored = visible(state, id, &actor).await?;
    let now = state.clock.now();
    let draft = DraftFacts::of(state, &stored.application, now).await?;
    let policy = policy_at(state, now)?;
    let ticket = new_ticket()?;
    let facts = draft.facts;
    let submission = Command::Submit { ticket, facts };
    match stored.application.decide(&submission, &actor, now, &policy) {
        Ok(_) => Ok((stored, facts, ticket)),
        Err(e) => Err(draft.refusal(&stored.application, e)),
    }
}

fn new_ticket() -> ApiResult<TicketNumber> {
    Ok(TicketNumber::from_random_bits(u64::from_le_bytes(
        random_bytes::<8>()?,
    )))
}

/// The submission signed with the one-time code `code` of `challenge` (R7): the
/// application gets its registration ticket and goes to the region's queue.
///
/// The core decides on the facts (the attached images' checks, today's eligibility) before
/// the code is used up, so a submission that would fail anyway costs the citizen no code; a
/// refusal for a failed check or for eligibility carries what the citizen needs to act on.
pub async fn submit(
    state: &AppState,
    iin: Iin,
    id: ApplicationId,
    challenge: Uuid,
    code: &str,
    remember: Remember<'_>,
) -> ApiResult<StoredApplication> {
    let (stored, facts, ticket) = submission_the_core_accepts(state, iin, id).await?;
    let signer = auth::verify_otp(state, challenge, code, &auth::confirm_purpose(id)).await?;
    if signer != iin {
        return Err(ApiError::forbidden());
    }
    submit_now(state, iin, &stored, facts, ticket, None, remember).await
}

/// How long a submission document given out for signing stays signable: long enough to
/// find the key and type its password, short enough that "submitted at" means something.
pub const SUBMISSION_DOCUMENT_VALIDITY: jiff::SignedDuration = jiff::SignedDuration::from_mins(15);

/// The document the applicant signs with their own ЭЦП to submit `id` at `at`: asked only
/// when the core would accept the submission now.
pub async fn submission_document(
    state: &AppState,
    iin: Iin,
    id: ApplicationId,
) -> ApiResult<Vec<u8>> {
    let (stored, _, _) = submission_the_core_accepts(state, iin, id).await?;
    let at = Timestamp::from_second(state.clock.now().as_second()).unwrap_or(state.clock.now());
    Ok(submission_document_of(&stored.application, at)?.canonical_bytes())
}

fn submission_document_of(
    app: &Application,
    at: Timestamp,
) -> ApiResult<kuelik_trust::SubmissionDocument> {
    let (Some(photo), Some(signature), Some(point)) =
        (app.photo, app.signature, app.registration_point.as_ref())
    else {
        return Err(ApiError::of(ErrorCode::ApplicationIncomplete));
    };
    Ok(kuelik_trust::SubmissionDocument {
        application_id: app.id.to_string(),
        iin: app.applicant.to_string(),
        document_kind: app.document_kind.as_str().to_string(),
        registration_point: point.to_string(),
        photo_sha256: photo.to_string(),
        signature_sha256: signature.to_string(),
        submitted_at: at.to_string(),
    })
}

/// The submission signed with the applicant's own ЭЦП (eGov's other way, besides the
/// one-time code): `document` as [`submission_document`] gave it (within
/// [`SUBMISSION_DOCUMENT_VALIDITY`]) and the detached CMS NCALayer made over it, by a valid,
/// trusted, unrevoked signing certificate of the applicant's own IIN.
pub async fn submit_signed(
    state: &AppState,
    iin: Iin,
    id: ApplicationId,
    document: &[u8],
    cms: &[u8],
    remember: Remember<'_>,
) -> ApiResult<StoredApplication> {
    use kuelik_trust::TrustError;
    let refusal = |e: TrustError| ApiError::from(crate::approvals::Refusal::from(e));
    let (stored, facts, ticket) = submission_the_core_accepts(state, iin, id).await?;
    let trust = state
        .config
        .trust
        .as_ref()
        .ok_or_else(|| ApiError::of(ErrorCode::NoTrustAnchors))?;
    let now = state.clock.now();
    let claimed =
        kuelik_trust::SubmissionDocument::from_canonical_bytes(document).map_err(refusal)?;
    let at: Timestamp = claimed.submitted_at.parse().map_err(|_| {
        refusal(TrustError::InvalidDocument(
            "submitted_at is not a time".into(),
        ))
    })?;
    if !crate::approvals::signable(at, now, SUBMISSION_DOCUMENT_VALIDITY) {
        return Err(ApiError::of(ErrorCode::SubmissionDocumentStale));
    }
    if submission_document_of(&stored.application, at)? != claimed {
        return Err(ApiError::plain(
            ErrorCode::DocumentMismatch,
            "the signed document is not this application's submission document",
        ));
    }
    let info = kuelik_trust::cms::verify_detached(cms, document, trust, now).map_err(refusal)?;
    state.ocsp.check(&info, trust, now).await.map_err(refusal)?;
    kuelik_trust::SignerProfile::citizen()
        .check(&info.signer.holder, &iin.to_string())
        .map_err(refusal)?;
    let signed = json!({
        "method": "eds",
        "certificate_serial": info.signer.serial,
        "certificate_issuer": info.signer.issuer,
        "certificate_sha256": info.signer.sha256_fingerprint,
        "document_sha256": info.content_sha256,
        "signed_at": info.signed_at().to_string(),
        "time_stamped": info.time_stamp.is_some(),
    });
    submit_now(state, iin, &stored, facts, ticket, Some(signed), remember).await
}

/// Submits `stored` (the core has accepted it): the ticket, the queue of the region; with
/// `signed`, an audit entry of the ЭЦП that signed it.
async fn submit_now(
    state: &AppState,
    iin: Iin,
    stored: &StoredApplication,
    facts: SubmissionFacts,
    mut ticket: TicketNumber,
    signed: Option<serde_json::Value>,
    remember: Remember<'_>,
) -> ApiResult<StoredApplication> {
    let actor = Actor::Citizen { iin };
    // A ticket collision (45 random bits) is astronomically rare; draw again if it happens.
    for _ in 0..3 {
        let steps = [
            (actor.clone(), Command::Submit { ticket, facts }),
            (Actor::System, Command::Route),
        ];
        let version = stored.version + 1;
        let at = state.clock.now();
        let result = change(state, stored, &steps, |app, _, changes| {
            changes.idempotency = remember(app, version);
            if let Some(signed) = &signed {
                changes.audit.push(audit(
                    &actor,
                    at,
                    "application.signed_with_eds",
                    Some(app.id.to_string()),
                    signed.clone(),
                ));
            }
            Ok(())
        })
        .await;
        match result {
            Err(e) if e.code == ErrorCode::DuplicateTicket => ticket = new_ticket()?,
            other => return other,
        }
    }
    Err(ApiError::plain(
        ErrorCode::TicketUnavailable,
        "could not draw a unique ticket; try again",
    ))
}

/// Withdraws the application (before approval); a paid duty is refunded.
pub async fn withdraw(
    state: &AppState,
    iin: Iin,
    id: ApplicationId,
) -> ApiResult<StoredApplication> {
    super::step(state, id, &Actor::Citizen { iin }, Command::Withdraw).await
}
