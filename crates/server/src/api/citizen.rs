//! The citizen's side: eligibility from the register, the draft, photo and signature,
//! registration point, payment, the signed submission (→ ticket), status, withdrawal and
//! notifications. A citizen only ever sees their own applications; any other id is 404.

use axum::body::Bytes;
use axum::extract::{Multipart, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::digest::Sha256Digest;
use kuelik_core::eligibility;
use kuelik_core::iin::Iin;
use kuelik_core::lifecycle::{
    in_status_history, Actor, Application, ApplicationId, ApplicationState, Command,
    LifecycleError, SubmissionFacts,
};
use kuelik_core::region::PointId;
use kuelik_core::register::Person;
use kuelik_core::rules::Reason;
use kuelik_core::ticket::TicketNumber;
use kuelik_core::time::almaty_date;
use kuelik_store::{ApplicationWrite, Blob, Changes, IdempotencyRecord};

use crate::api::views::{
    ApplicationView, EligibilityView, EventView, NoticeView, PaymentView, PersonView,
};
use crate::api::{audit, policy_at, rules_at, transition, transition_steps};
use crate::auth::{self, random_bytes, sha256, OtpIssued, Principal};
use crate::checks::{self, ImageKind};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{parse_json, ApiMultipart, ApiPath, ApiQuery};
use crate::AppState;

/// An `Idempotency-Key` request: the first answer is stored with the change and replayed
/// for every retry with the same key and body.
pub struct Idempotency {
    scope: String,
    key: String,
    digest: Sha256Digest,
}

impl Idempotency {
    pub fn from_request(
        headers: &HeaderMap,
        scope: String,
        body: &[u8],
    ) -> ApiResult<Option<Idempotency>> {
        let Some(raw) = headers.get("idempotency-key") else {
            return Ok(None);
        };
        let key = raw.to_str().unwrap_or("").trim();
        if key.is_empty() || key.len() > 200 {
            return Err(ApiError::plain(
                ErrorCode::BadIdempotencyKey,
                "Idempotency-Key must be 1 to 200 visible characters",
            ));
        }
        Ok(Some(Idempotency {
            scope,
            key: key.to_string(),
            digest: Sha256Digest::from_bytes(sha256(body)),
        }))
    }

    /// The stored answer of an earlier request with this key, if any.
    pub async fn replay(&self, state: &AppState) -> ApiResult<Option<Response>> {
        match state
            .store
            .idempotency_record(&self.scope, &self.key)
            .await?
        {
            None => Ok(None),
            Some(record) if record.request_digest == self.digest => {
                let status = StatusCode::from_u16(record.status).unwrap_or(StatusCode::OK);
                let mut response = (status, Json(record.body)).into_response();
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
                Ok(Some(response))
            }
            Some(_) => Err(ApiError::of(ErrorCode::IdempotencyKeyReused)),
        }
    }

    pub fn record(
        &self,
        state: &AppState,
        status: StatusCode,
        body: &serde_json::Value,
    ) -> IdempotencyRecord {
        IdempotencyRecord {
            scope: self.scope.clone(),
            key: self.key.clone(),
            request_digest: self.digest,
            status: status.as_u16(),
            body: body.clone(),
            created_at: state.clock.now(),
        }
    }
}

/// Replays after losing a race on the key: the winner's answer is now stored.
async fn replay_after_race(
    state: &AppState,
    idem: &Option<Idempotency>,
    err: ApiError,
) -> ApiResult<Response> {
    if err.code == ErrorCode::DuplicateIdempotencyKey {
        if let Some(idem) = idem {
            if let Some(response) = idem.replay(state).await? {
                return Ok(response);
            }
        }
    }
    Err(err)
}

/// Commits `changes` (which carry the idempotency record, if any) and answers `body`; when
/// a concurrent retry with the same key won the race, answers with its stored result.
async fn commit_answer(
    state: &AppState,
    idem: &Option<Idempotency>,
    changes: Changes,
    status: StatusCode,
    body: serde_json::Value,
) -> ApiResult<Response> {
    match state.store.commit(changes).await {
        Ok(()) => Ok((status, Json(body)).into_response()),
        Err(e) => replay_after_race(state, idem, e.into()).await,
    }
}

pub(crate) fn today(state: &AppState) -> jiff::civil::Date {
    almaty_date(state.clock.now())
}

async fn person_of(state: &AppState, iin: &Iin) -> ApiResult<Person> {
    state
        .register
        .person(iin)
        .await?
        .ok_or_else(|| ApiError::of(ErrorCode::NotInRegister))
}

/// A citizen's own application, or 404.
async fn own(state: &AppState, iin: Iin, id: Uuid) -> ApiResult<kuelik_store::StoredApplication> {
    match state.store.application(ApplicationId(id)).await? {
        Some(s) if s.application.applicant == iin => Ok(s),
        _ => Err(ApiError::not_found()),
    }
}

/// Why the duty cannot be computed: the service's configuration, not the citizen's doing.
fn duty_error(e: &kuelik_core::fees::FeeError) -> ErrorCode {
    use kuelik_core::fees::FeeError as F;
    match e {
        F::BadTable(_) => ErrorCode::BadMrpTable,
        F::NoMrpForYear(_) => ErrorCode::NoMrpForYear,
        F::NoDutyForKind { .. } => ErrorCode::NoDutyForKind,
    }
}

fn decision_error(decision: eligibility::Decision, assumption: bool) -> ApiError {
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

/// The signed-in person as the population register has them.
#[utoipa::path(get, path = "/me", tag = "citizen", responses((status = 200, body = PersonView)))]
pub async fn me(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<PersonView>> {
    let iin = principal.citizen()?;
    let person = person_of(&state, &iin).await?;
    let records = state.register.documents_of(&iin).await?;
    Ok(Json(PersonView::new(&person, records, today(&state))))
}

#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EligibilityQuery {
    /// `expiring` (default), `name-change`, `loss`, `damage` or `other`.
    #[param(pattern = "^(expiring|name-change|loss|damage|other)$")]
    pub reason: Option<String>,
}

fn parse_reason(raw: Option<&str>) -> ApiResult<Reason> {
    match raw {
        None => Ok(Reason::Expiring),
        Some(r) => r.parse().map_err(|e: kuelik_core::rules::UnknownReason| {
            ApiError::plain(ErrorCode::UnknownReason, e.to_string())
        }),
    }
}

async fn decide_for(
    state: &AppState,
    person: &Person,
    reason: Reason,
) -> ApiResult<(eligibility::Decision, bool)> {
    let now = state.clock.now();
    let rules = rules_at(state, now)?;
    Ok((
        eligibility::decide(&person.document.facts(), reason, now, &rules),
        rules.assumption,
    ))
}

/// May the signed-in person renew their document online now? (Facts from the register.)
#[utoipa::path(get, path = "/me/eligibility", tag = "citizen", params(EligibilityQuery),
    responses((status = 200, body = EligibilityView)))]
pub async fn my_eligibility(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<EligibilityQuery>,
) -> ApiResult<Json<EligibilityView>> {
    let iin = principal.citizen()?;
    let person = person_of(&state, &iin).await?;
    let reason = parse_reason(q.reason.as_deref())?;
    let (decision, assumption) = decide_for(&state, &person, reason).await?;
    Ok(Json(EligibilityView::new(decision, assumption)))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApplication {
    /// Why a new document: `expiring` (default) is the only reason served online.
    pub reason: Option<String>,
}

/// Start an application (a draft pre-filled from the register). Only when eligible; one live
/// application per person. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/applications", tag = "citizen", request_body = CreateApplication,
    params(("Idempotency-Key" = Option<String>, Header, description = "retry key: 1 to 200 visible characters", pattern = "^[!-~]{1,200}$")),
    responses((status = 201, body = ApplicationView),
        (status = 409, description = "a live application exists"),
        (status = 422, description = "not eligible: the ЦОН message or the first date")))]
pub async fn create_application(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let iin = principal.citizen()?;
    let req: CreateApplication = if body.is_empty() {
        CreateApplication::default()
    } else {
        parse_json(&headers, &body, state.config.max_json_bytes)?
    };
    let idem = Idempotency::from_request(&headers, format!("citizen:{iin}:create"), &body)?;
    if let Some(idem) = &idem {
        if let Some(replayed) = idem.replay(&state).await? {
            return Ok(replayed);
        }
    }
    let person = person_of(&state, &iin).await?;
    let reason = parse_reason(req.reason.as_deref())?;
    let (decision, assumption) = decide_for(&state, &person, reason).await?;
    if !decision.eligible {
        return Err(decision_error(decision, assumption));
    }
    let now = state.clock.now();
    let app = Application::new_draft(
        ApplicationId(Uuid::now_v7()),
        iin,
        person.document.kind,
        person.region,
        now,
    );
    let view = ApplicationView::new(&app, 1, today(&state));
    let body_json = serde_json::to_value(&view).unwrap_or_default();
    let actor = principal.actor();
    let changes = Changes {
        audit: vec![audit(
            &actor,
            now,
            "application.create",
            Some(app.id.to_string()),
            json!({ "rules_version": decision.rules_version }),
        )],
        idempotency: idem
            .as_ref()
            .map(|i| i.record(&state, StatusCode::CREATED, &body_json)),
        application: Some(ApplicationWrite {
            application: app,
            expected_version: None,
        }),
        ..Changes::default()
    };
    commit_answer(&state, &idem, changes, StatusCode::CREATED, body_json).await
}

/// The signed-in citizen's applications, newest first.
#[utoipa::path(get, path = "/applications", tag = "citizen", responses((status = 200, body = [ApplicationView])))]
pub async fn list_applications(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<ApplicationView>>> {
    let iin = principal.citizen()?;
    let today = today(&state);
    let apps = state.store.applications_of(&iin).await?;
    Ok(Json(
        apps.iter()
            .map(|s| ApplicationView::new(&s.application, s.version, today))
            .collect(),
    ))
}

/// The full view of an application: status history and payments.
pub async fn detail_view(
    state: &AppState,
    stored: &kuelik_store::StoredApplication,
    checks: ImageReports,
) -> ApiResult<ApplicationView> {
    let app = &stored.application;
    let mut view = ApplicationView::new(app, stored.version, today(state));
    // Independent reads, in parallel: a status read waits for the slowest, not for the sum.
    let with_reports = match checks {
        ImageReports::Always => true,
        ImageReports::WhileDraft => app.state == ApplicationState::Draft,
    };
    let report = |digest: Option<Sha256Digest>| async move {
        match digest.filter(|_| with_reports) {
            Some(d) => Ok(state.store.image_check(&d).await?.map(|c| c.report)),
            None => Ok::<_, kuelik_store::StoreError>(None),
        }
    };
    let (timeline, payments, photo_check, signature_check) = tokio::try_join!(
        state.store.timeline(app.id),
        state.store.payments_of(app.id),
        report(app.photo),
        report(app.signature),
    )?;
    view.history = Some(
        timeline
            .iter()
            .filter(|e| in_status_history(&e.kind, e.from, e.to))
            .map(EventView::from)
            .collect(),
    );
    view.payments = Some(payments.iter().map(PaymentView::from).collect());
    view.photo_check = photo_check;
    view.signature_check = signature_check;
    Ok(view)
}

/// Whether an application's answer carries the full photo and signature check reports (every
/// measure with its advice, the bulk of the answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageReports {
    /// Staff reviewing it see them at every step.
    Always,
    /// The citizen needs them while they can still replace an image; after submission their
    /// status read is the state, the timeline and the payments.
    WhileDraft,
}

/// One of the citizen's applications, with its status history.
#[utoipa::path(get, path = "/applications/{id}", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 404, description = "not yours or no such application")))]
pub async fn get_application(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApplicationView>> {
    let iin = principal.citizen()?;
    let stored = own(&state, iin, id).await?;
    Ok(Json(
        detail_view(&state, &stored, ImageReports::WhileDraft).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChoosePoint {
    /// A registration point of the applicant's region, e.g. `71-01`.
    #[schema(pattern = "^[0-9]{2}-[0-9]{2}$")]
    pub point: String,
}

/// Choose where to collect the document (a point in the applicant's region).
#[utoipa::path(put, path = "/applications/{id}/registration-point", tag = "citizen", request_body = ChoosePoint,
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 422, description = "no such point in the region")))]
pub async fn choose_point(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Json<ApplicationView>> {
    let iin = principal.citizen()?;
    let req: ChoosePoint = parse_json(&headers, &body, state.config.max_json_bytes)?;
    own(&state, iin, id).await?;
    let point: PointId = req
        .point
        .parse()
        .ok()
        .filter(|p| state.points.get(p).is_some())
        .ok_or_else(|| ApiError::of(ErrorCode::UnknownRegistrationPoint))?;
    let stored = transition(
        &state,
        ApplicationId(id),
        &principal.actor(),
        Command::ChooseRegistrationPoint(point),
        |_, _, _| Ok(()),
    )
    .await?;
    Ok(Json(ApplicationView::new(
        &stored.application,
        stored.version,
        today(&state),
    )))
}

/// What a file is, by its first bytes (never by its name or declared type).
pub fn sniff_image(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A]) {
        Some("image/png")
    } else {
        None
    }
}

async fn read_upload(
    state: &AppState,
    mut multipart: Multipart,
) -> ApiResult<(Vec<u8>, &'static str)> {
    let too_large = || {
        ApiError::of(ErrorCode::UploadTooLarge)
            .with_extra(json!({ "max_bytes": state.config.max_upload_bytes }))
    };
    let bad = |detail: &str| ApiError::plain(ErrorCode::BadUpload, detail);
    while let Some(field) = multipart.next_field().await.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            bad(&e.body_text())
        }
    })? {
        if field.name() != Some("file") {
            continue;
        }
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_large()
            } else {
                bad(&e.body_text())
            }
        })?;
        if bytes.len() > state.config.max_upload_bytes {
            return Err(too_large());
        }
        if bytes.is_empty() {
            return Err(bad("the file is empty"));
        }
        let content_type =
            sniff_image(&bytes).ok_or_else(|| ApiError::of(ErrorCode::UnsupportedImage))?;
        return Ok((bytes.to_vec(), content_type));
    }
    Err(bad(
        "send the image as a multipart form field named \"file\"",
    ))
}

async fn attach(
    state: AppState,
    principal: Principal,
    id: Uuid,
    multipart: Multipart,
    photo: bool,
) -> ApiResult<Json<ApplicationView>> {
    let iin = principal.citizen()?;
    own(&state, iin, id).await?;
    let (bytes, content_type) = read_upload(&state, multipart).await?;
    let digest = Sha256Digest::from_bytes(sha256(&bytes));
    let kind = if photo {
        ImageKind::Photo
    } else {
        ImageKind::Signature
    };
    // An unreadable image is refused here and changes nothing; a readable one is attached
    // with its check, whatever the verdict: the citizen sees what to fix, and a failed
    // check blocks only the submission.
    let check = checks::run(&state, kind, digest, bytes.clone()).await?;
    let command = if photo {
        Command::AttachPhoto(digest)
    } else {
        Command::AttachSignature(digest)
    };
    let now = state.clock.now();
    let report = check.report.clone();
    let stored = transition(
        &state,
        ApplicationId(id),
        &principal.actor(),
        command,
        |_, _, changes| {
            // The blob is written with the event that references it: never orphaned.
            changes.blobs.push(Blob {
                digest,
                content_type: content_type.to_string(),
                bytes,
                created_at: now,
            });
            changes.image_checks.push(check);
            Ok(())
        },
    )
    .await?;
    let mut view = ApplicationView::new(&stored.application, stored.version, today(&state));
    if photo {
        view.photo_check = Some(report);
    } else {
        view.signature_check = Some(report);
    }
    Ok(Json(view))
}

/// Upload the photo (multipart field `file`, JPEG or PNG, size-capped).
#[utoipa::path(put, path = "/applications/{id}/photo", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    request_body(content_type = "multipart/form-data", description = "field `file`: the image"),
    responses((status = 200, body = ApplicationView), (status = 413, description = "too large"), (status = 415, description = "not JPEG/PNG")))]
pub async fn upload_photo(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiMultipart(multipart): ApiMultipart,
) -> ApiResult<Json<ApplicationView>> {
    attach(state, principal, id, multipart, true).await
}

/// Upload the signature image (multipart field `file`, JPEG or PNG, size-capped).
#[utoipa::path(put, path = "/applications/{id}/signature", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    request_body(content_type = "multipart/form-data", description = "field `file`: the image"),
    responses((status = 200, body = ApplicationView), (status = 413, description = "too large"), (status = 415, description = "not JPEG/PNG")))]
pub async fn upload_signature(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiMultipart(multipart): ApiMultipart,
) -> ApiResult<Json<ApplicationView>> {
    attach(state, principal, id, multipart, false).await
}

async fn image(
    state: AppState,
    principal: Principal,
    id: Uuid,
    photo: bool,
) -> ApiResult<Response> {
    let stored = state
        .store
        .application(ApplicationId(id))
        .await?
        .ok_or_else(ApiError::not_found)?;
    let app = &stored.application;
    if !app.visible_to(&principal.actor()) {
        return Err(ApiError::not_found());
    }
    let digest = if photo { app.photo } else { app.signature }.ok_or_else(ApiError::not_found)?;
    let blob = state
        .store
        .blob(&digest)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !matches!(principal, Principal::Citizen { .. }) {
        let actor = principal.actor();
        let what = if photo {
            "application.read_photo"
        } else {
            "application.read_signature"
        };
        state
            .store
            .commit(Changes {
                audit: vec![audit(
                    &actor,
                    state.clock.now(),
                    what,
                    Some(id.to_string()),
                    json!({}),
                )],
                ..Changes::default()
            })
            .await?;
    }
    let mut response = blob.bytes.into_response();
    if let Ok(v) = HeaderValue::from_str(&blob.content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    Ok(response)
}

/// The application's photo (the applicant, the region's officers, the point, production).
#[utoipa::path(get, path = "/applications/{id}/photo", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, content_type = "image/jpeg", description = "the image"), (status = 404, description = "none or not visible to you")))]
pub async fn get_photo(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    image(state, principal, id, true).await
}

/// The application's signature image.
#[utoipa::path(get, path = "/applications/{id}/signature", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, content_type = "image/png", description = "the image"), (status = 404, description = "none or not visible to you")))]
pub async fn get_signature(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    image(state, principal, id, false).await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentStarted {
    pub payment: PaymentView,
    /// Where the citizen pays (the gateway's page).
    pub pay_url: String,
}

/// Start paying the state duty (amount from the fee table on today's Almaty date).
/// Accepts `Idempotency-Key`; while a payment is pending, the same one is returned.
#[utoipa::path(post, path = "/applications/{id}/payment", tag = "citizen",
    request_body(content_type = "application/json", description = "empty"),
    params(("id" = Uuid, Path, description = "application id"), ("Idempotency-Key" = Option<String>, Header, description = "retry key: 1 to 200 visible characters", pattern = "^[!-~]{1,200}$")),
    responses((status = 201, body = PaymentStarted), (status = 409, description = "already paid or not a draft")))]
pub async fn start_payment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let iin = principal.citizen()?;
    let idem = Idempotency::from_request(&headers, format!("citizen:{iin}:pay:{id}"), &body)?;
    if let Some(idem) = &idem {
        if let Some(replayed) = idem.replay(&state).await? {
            return Ok(replayed);
        }
    }
    let stored = own(&state, iin, id).await?;
    let app = &stored.application;
    app.may_start_payment(&principal.actor())?;
    let now = state.clock.now();
    let existing = state.store.payments_of(app.id).await?;
    if let Some(pending) = existing
        .iter()
        .find(|p| p.status == kuelik_store::PaymentStatus::Pending)
    {
        let body = PaymentStarted {
            payment: PaymentView::from(pending),
            pay_url: format!("/sim-gateway/pay/{}", pending.gateway_reference),
        };
        return Ok((StatusCode::OK, Json(body)).into_response());
    }
    let rules = rules_at(&state, now)?;
    let duty = kuelik_core::fees::duty_due(&rules, &state.mrp, app.document_kind, almaty_date(now))
        .map_err(|e| ApiError::plain(duty_error(&e), e.to_string()))?;
    let intent = state
        .gateway
        .create_intent(
            duty.amount,
            &format!("State duty: {} ({})", app.document_kind, duty.rules_version),
        )
        .await
        .map_err(|e| ApiError::plain(ErrorCode::GatewayUnavailable, e.to_string()))?;
    let record = kuelik_store::PaymentRecord {
        id: Uuid::now_v7(),
        application: app.id,
        payer: iin,
        amount: duty.amount,
        status: kuelik_store::PaymentStatus::Pending,
        gateway_reference: intent.reference.clone(),
        created_at: now,
        updated_at: now,
    };
    let answer = PaymentStarted {
        payment: PaymentView::from(&record),
        pay_url: intent.pay_url,
    };
    let body_json = serde_json::to_value(&answer).unwrap_or_default();
    let actor = principal.actor();
    let changes = Changes {
        audit: vec![audit(
            &actor,
            now,
            "payment.start",
            Some(id.to_string()),
            json!({ "amount_tiyn": duty.amount.0 }),
        )],
        idempotency: idem
            .as_ref()
            .map(|i| i.record(&state, StatusCode::CREATED, &body_json)),
        payments: vec![record],
        ..Changes::default()
    };
    commit_answer(&state, &idem, changes, StatusCode::CREATED, body_json).await
}

/// Ask for the code that signs the submission (sent to the phone on record).
#[utoipa::path(post, path = "/applications/{id}/submit/code", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 202, body = OtpIssued)))]
pub async fn submission_code(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<OtpIssued>)> {
    let iin = principal.citizen()?;
    own(&state, iin, id).await?;
    let issued = auth::issue_otp(&state, iin, auth::confirm_purpose(ApplicationId(id))).await?;
    Ok((StatusCode::ACCEPTED, Json(issued)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submit {
    pub challenge_id: Uuid,
    /// The 6-digit one-time code sent for this submission.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
}

fn new_ticket() -> ApiResult<TicketNumber> {
    Ok(TicketNumber::from_random_bits(u64::from_le_bytes(
        random_bytes::<8>()?,
    )))
}

/// Submit the application, signed with a fresh one-time code (R7): it gets its registration
/// ticket and goes to the region's queue. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/applications/{id}/submit", tag = "citizen", request_body = Submit,
    params(("id" = Uuid, Path, description = "application id"), ("Idempotency-Key" = Option<String>, Header, description = "retry key: 1 to 200 visible characters", pattern = "^[!-~]{1,200}$")),
    responses((status = 200, body = ApplicationView), (status = 409, description = "missing photo, signature, point or payment"),
        (status = 422, description = "wrong code, or no longer eligible")))]
pub async fn submit(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let iin = principal.citizen()?;
    let req: Submit = parse_json(&headers, &body, state.config.max_json_bytes)?;
    let idem = Idempotency::from_request(&headers, format!("citizen:{iin}:submit:{id}"), &body)?;
    if let Some(idem) = &idem {
        if let Some(replayed) = idem.replay(&state).await? {
            return Ok(replayed);
        }
    }
    let stored = own(&state, iin, id).await?;
    let actor = principal.actor();
    let now = state.clock.now();
    // The facts the core decides the submission on: the attached images' checks and today's
    // eligibility from the register.
    let photo_check = match stored.application.photo {
        Some(d) => Some(checks::of_attached(&state, ImageKind::Photo, d).await?),
        None => None,
    };
    let signature_check = match stored.application.signature {
        Some(d) => Some(checks::of_attached(&state, ImageKind::Signature, d).await?),
        None => None,
    };
    let person = person_of(&state, &iin).await?;
    let (decision, assumption) = decide_for(&state, &person, Reason::Expiring).await?;
    let failed = |check: &Option<kuelik_store::ImageCheck>| {
        check.as_ref().is_some_and(|c| c.verdict == "fail")
    };
    let facts = SubmissionFacts {
        photo_check_failed: failed(&photo_check),
        signature_check_failed: failed(&signature_check),
        eligible: decision.eligible,
    };
    // Refuse what would fail anyway before the code is used up. The core decides; a refusal
    // for a failed check or for eligibility is answered with what the citizen needs to act
    // on (the failed measures' advice; the eligibility decision).
    let policy = policy_at(&state, now)?;
    let probe = Command::Submit {
        ticket: new_ticket()?,
        facts,
    };
    match stored.application.decide(&probe, &actor, now, &policy) {
        Ok(_) => {}
        Err(LifecycleError::PhotoCheckFailed) => {
            return Err(refused_check(ImageKind::Photo, &photo_check));
        }
        Err(LifecycleError::SignatureCheckFailed) => {
            return Err(refused_check(ImageKind::Signature, &signature_check));
        }
        Err(LifecycleError::NotEligible) => return Err(decision_error(decision, assumption)),
        Err(other) => return Err(other.into()),
    }
    let signer = auth::verify_otp(
        &state,
        req.challenge_id,
        &req.code,
        &auth::confirm_purpose(ApplicationId(id)),
    )
    .await?;
    if signer != iin {
        return Err(ApiError::forbidden());
    }
    // A ticket collision (45 random bits) is astronomically rare; draw again if it happens.
    for _ in 0..3 {
        let ticket = new_ticket()?;
        let steps = [
            (actor.clone(), Command::Submit { ticket, facts }),
            (Actor::System, Command::Route),
        ];
        let today = today(&state);
        let mut answer = None;
        let result = transition_steps(&state, ApplicationId(id), &steps, |app, _, changes| {
            let view = ApplicationView::new(app, stored.version + 1, today);
            let body_json = serde_json::to_value(&view).unwrap_or_default();
            changes.idempotency = idem
                .as_ref()
                .map(|i| i.record(&state, StatusCode::OK, &body_json));
            answer = Some(body_json);
            Ok(())
        })
        .await;
        match result {
            Ok(_) => return Ok((StatusCode::OK, Json(answer.unwrap_or_default())).into_response()),
            Err(e) if e.code == ErrorCode::DuplicateTicket => continue,
            Err(e) => return replay_after_race(&state, &idem, e).await,
        }
    }
    Err(ApiError::plain(
        ErrorCode::TicketUnavailable,
        "could not draw a unique ticket; try again",
    ))
}

/// The answer to a submission refused for a failed automatic check: the advice of each
/// failed measure and the report.
fn refused_check(kind: ImageKind, check: &Option<kuelik_store::ImageCheck>) -> ApiError {
    match check {
        Some(check) => checks::require_pass(kind, check)
            .err()
            .unwrap_or_else(|| LifecycleError::PhotoCheckFailed.into()),
        None => LifecycleError::PhotoCheckFailed.into(),
    }
}

/// Withdraw the application (before approval). A paid duty is refunded.
#[utoipa::path(post, path = "/applications/{id}/withdraw", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 409, description = "already approved or finished")))]
pub async fn withdraw(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApplicationView>> {
    let iin = principal.citizen()?;
    own(&state, iin, id).await?;
    let stored = transition(
        &state,
        ApplicationId(id),
        &principal.actor(),
        Command::Withdraw,
        |_, _, _| Ok(()),
    )
    .await?;
    Ok(Json(ApplicationView::new(
        &stored.application,
        stored.version,
        today(&state),
    )))
}

/// The citizen's notices, newest first.
#[utoipa::path(get, path = "/notifications", tag = "citizen", responses((status = 200, body = [NoticeView])))]
pub async fn notifications(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<NoticeView>>> {
    let iin = principal.citizen()?;
    let notices = state.store.inbox(&iin).await?;
    Ok(Json(notices.iter().map(NoticeView::from).collect()))
}

/// Mark a notice read.
#[utoipa::path(post, path = "/notifications/{id}/read", tag = "citizen",
    params(("id" = Uuid, Path, description = "notice id")),
    responses((status = 204), (status = 404, description = "no such notice of yours")))]
pub async fn read_notification(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    let iin = principal.citizen()?;
    if state
        .store
        .mark_notice_read(&iin, id, state.clock.now())
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found())
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reminders {
    /// Whether the service may remind the citizen when their card can be renewed online.
    pub enabled: bool,
}

/// Whether reminders are on for the signed-in citizen.
#[utoipa::path(get, path = "/me/reminders", tag = "citizen", responses((status = 200, body = Reminders)))]
pub async fn get_reminders(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Reminders>> {
    let iin = principal.citizen()?;
    let opted_out = state.store.reminder_opted_out(&iin).await?;
    Ok(Json(Reminders {
        enabled: !opted_out,
    }))
}

/// Turn reminders on or off.
#[utoipa::path(put, path = "/me/reminders", tag = "citizen", request_body = Reminders, responses((status = 200, body = Reminders)))]
pub async fn set_reminders(
    State(state): State<AppState>,
    principal: Principal,
    body: crate::extract::JsonBody,
) -> ApiResult<Json<Reminders>> {
    let iin = principal.citizen()?;
    let req: Reminders = body.parse()?;
    let now = state.clock.now();
    let action = if req.enabled {
        "reminders.opt_in"
    } else {
        "reminders.opt_out"
    };
    // The choice and its audit entry in one transaction.
    state
        .store
        .commit(Changes {
            audit: vec![audit(&principal.actor(), now, action, None, json!({}))],
            reminder_choices: vec![kuelik_store::ReminderChoice {
                iin,
                opt_out: !req.enabled,
                at: now,
            }],
            ..Changes::default()
        })
        .await?;
    Ok(Json(req))
}
