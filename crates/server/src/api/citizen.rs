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
use kuelik_core::lifecycle::{
    in_status_history, Actor, Application, ApplicationId, ApplicationState,
};
use kuelik_core::rules::Reason;
use kuelik_core::time::almaty_date;
use kuelik_store::IdempotencyRecord;

use crate::api::views::{
    ApplicationView, EligibilityView, EventView, NoticeView, PaymentView, PersonView, ReadinessView,
};
use crate::api::ApplicationJson;
use crate::app::application::{self, eligibility_of, person_of};
use crate::app::{self, payment};
use crate::auth::{sha256, OtpIssued, Principal, SessionToken};
use crate::checks::ImageKind;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{parse_json, ApiMultipart, ApiPath, ApiQuery};
use crate::AppState;

/// How a request that may carry an `Idempotency-Key` starts: with the stored answer of an
/// earlier request under its key, to send again as it is, or new (with the key its answer
/// will be stored under, if it has one).
pub enum Attempt {
    Replayed(Response),
    New(Option<Idempotency>),
}

/// The idempotency scope of a submission: one for both ways of submitting (a code or the
/// citizen's own ЭЦП), so one key names one submission whichever way it was made.
fn submit_scope(iin: kuelik_core::iin::Iin, id: Uuid) -> String {
    format!("citizen:{iin}:submit:{id}")
}

/// An `Idempotency-Key` request: the first answer is stored with the change and replayed
/// for every retry with the same key and body.
pub struct Idempotency {
    scope: String,
    key: String,
    digest: Sha256Digest,
}

impl Idempotency {
    fn from_request(
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

    /// Reads the request's key and, if an earlier request under it was answered, that answer.
    pub async fn attempt(
        state: &AppState,
        headers: &HeaderMap,
        scope: String,
        body: &[u8],
    ) -> ApiResult<Attempt> {
        let Some(idem) = Idempotency::from_request(headers, scope, body)? else {
            return Ok(Attempt::New(None));
        };
        Ok(match idem.replay(state).await? {
            Some(answer) => Attempt::Replayed(answer),
            None => Attempt::New(Some(idem)),
        })
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

/// The answer to a change of an application that accepts `Idempotency-Key`: the
/// application's view with `status`, remembered in the change's transaction so that a retry
/// gets the same answer.
struct ApplicationAnswer<'a> {
    state: &'a AppState,
    idem: &'a Option<Idempotency>,
    status: StatusCode,
    today: jiff::civil::Date,
}

impl<'a> ApplicationAnswer<'a> {
    fn new(state: &'a AppState, idem: &'a Option<Idempotency>, status: StatusCode) -> Self {
        ApplicationAnswer {
            state,
            idem,
            status,
            today: today(state),
        }
    }

    fn body(&self, app: &Application, version: i64) -> serde_json::Value {
        serde_json::to_value(ApplicationView::new(app, version, self.today)).unwrap_or_default()
    }

    fn remember(&self, app: &Application, version: i64) -> Option<IdempotencyRecord> {
        let body = self.body(app, version);
        self.idem
            .as_ref()
            .map(|i| i.record(self.state, self.status, &body))
    }

    async fn finish(
        &self,
        result: ApiResult<kuelik_store::StoredApplication>,
    ) -> ApiResult<Response> {
        match result {
            Ok(stored) => Ok((
                self.status,
                Json(self.body(&stored.application, stored.version)),
            )
                .into_response()),
            Err(e) => replay_after_race(self.state, self.idem, e).await,
        }
    }
}

pub(crate) fn today(state: &AppState) -> jiff::civil::Date {
    almaty_date(state.clock.now())
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
    let (decision, assumption) = eligibility_of(&state, &person, reason, state.clock.now())?;
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
    let idem = match Idempotency::attempt(&state, &headers, format!("citizen:{iin}:create"), &body)
        .await?
    {
        Attempt::Replayed(answer) => return Ok(answer),
        Attempt::New(idem) => idem,
    };
    let reason = parse_reason(req.reason.as_deref())?;
    let answer = ApplicationAnswer::new(&state, &idem, StatusCode::CREATED);
    let started = application::start(&state, iin, reason, &|a, v| answer.remember(a, v)).await;
    answer.finish(started).await
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

/// The full view of an application: status history and payments; with it, the photo's
/// check it read, if it read one (staff use its perceptual hash, without a second read).
pub async fn detail_view(
    state: &AppState,
    record: kuelik_store::ApplicationRecord,
    checks: ImageReports,
) -> ApiResult<(ApplicationView, Option<kuelik_store::ImageCheck>)> {
    let kuelik_store::ApplicationRecord {
        stored,
        timeline,
        payments,
    } = record;
    let app = &stored.application;
    let mut view = ApplicationView::new(app, stored.version, today(state));
    // Independent reads, in parallel: a draft's view waits for the slower, not for the sum.
    let with_reports = match checks {
        ImageReports::Always => true,
        ImageReports::WhileDraft => app.state == ApplicationState::Draft,
    };
    let check = |digest: Option<Sha256Digest>| async move {
        match digest.filter(|_| with_reports) {
            Some(d) => state.store.image_check(&d).await,
            None => Ok::<_, kuelik_store::StoreError>(None),
        }
    };
    let (photo_check, signature_check) = tokio::try_join!(check(app.photo), check(app.signature))?;
    view.history = Some(
        timeline
            .into_iter()
            .filter(|e| in_status_history(&e.kind, e.from, e.to))
            .map(EventView::from)
            .collect(),
    );
    view.payments = Some(payments.iter().map(PaymentView::from).collect());
    if app.state == ApplicationState::Draft && with_reports {
        let failed = |c: &Option<kuelik_store::ImageCheck>| c.as_ref().is_some_and(|c| c.failed());
        let readiness = app.readiness(failed(&photo_check), failed(&signature_check));
        let mut readiness = ReadinessView::from(&readiness);
        // The amount is shown before the citizen decides to pay (the fee table in force
        // today); the payment itself recomputes it when it starts.
        let now = state.clock.now();
        let duty = app::rules_at(state, now).ok().and_then(|rules| {
            kuelik_core::fees::duty_due(&rules, &state.mrp, app.document_kind, almaty_date(now))
                .ok()
        });
        readiness.duty_tiyn = duty.as_ref().map(|d| d.amount.0);
        readiness.duty_tenge = duty.map(|d| d.amount.tenge_string());
        view.readiness = Some(readiness);
    }
    view.photo_check = photo_check.as_ref().map(|c| c.report.clone());
    view.signature_check = signature_check.map(|c| c.report);
    Ok((view, photo_check))
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
    token: SessionToken,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<ApplicationJson<ApplicationView>> {
    // The session and the record in one read (the commonest request of a busy day).
    let (principal, record) = app::signed_in_record(&state, &token, ApplicationId(id)).await?;
    let iin = principal.citizen()?;
    let record = app::record_visible_to(record, &Actor::Citizen { iin })?;
    Ok(ApplicationJson(
        detail_view(&state, record, ImageReports::WhileDraft)
            .await?
            .0,
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
    let actor = Actor::Citizen { iin };
    let stored = application::choose_point(&state, &actor, ApplicationId(id), &req.point).await?;
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

/// An image upload: one multipart field `file`, a JPEG or PNG (recognised by its bytes, not
/// its name or declared type), at most the configured size.
#[derive(ToSchema)]
#[allow(dead_code)] // a schema only: the upload is read by `read_upload`
pub struct ImageUpload {
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

async fn attach(
    state: AppState,
    principal: Principal,
    id: Uuid,
    multipart: Multipart,
    kind: ImageKind,
) -> ApiResult<Json<ApplicationView>> {
    let iin = principal.citizen()?;
    let actor = Actor::Citizen { iin };
    // Not yours: 404 before the upload is read (the one read of the application).
    let stored = app::visible(&state, ApplicationId(id), &actor).await?;
    let (bytes, content_type) = read_upload(&state, multipart).await?;
    let (stored, check) =
        application::attach_image(&state, &actor, &stored, kind, bytes, content_type).await?;
    let mut view = ApplicationView::new(&stored.application, stored.version, today(&state));
    match kind {
        ImageKind::Photo => view.photo_check = Some(check.report),
        ImageKind::Signature => view.signature_check = Some(check.report),
    }
    Ok(Json(view))
}

/// Upload the photo (multipart field `file`, JPEG or PNG, size-capped).
#[utoipa::path(put, path = "/applications/{id}/photo", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    request_body(content = ImageUpload, content_type = "multipart/form-data", description = "field `file`: the image"),
    responses((status = 200, body = ApplicationView), (status = 413, description = "too large"), (status = 415, description = "not JPEG/PNG")))]
pub async fn upload_photo(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiMultipart(multipart): ApiMultipart,
) -> ApiResult<Json<ApplicationView>> {
    attach(state, principal, id, multipart, ImageKind::Photo).await
}

/// Upload the signature image (multipart field `file`, JPEG or PNG, size-capped).
#[utoipa::path(put, path = "/applications/{id}/signature", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    request_body(content = ImageUpload, content_type = "multipart/form-data", description = "field `file`: the image"),
    responses((status = 200, body = ApplicationView), (status = 413, description = "too large"), (status = 415, description = "not JPEG/PNG")))]
pub async fn upload_signature(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    ApiMultipart(multipart): ApiMultipart,
) -> ApiResult<Json<ApplicationView>> {
    attach(state, principal, id, multipart, ImageKind::Signature).await
}

async fn image(
    state: AppState,
    principal: Principal,
    id: Uuid,
    photo: bool,
) -> ApiResult<Response> {
    let stored = app::visible(&state, ApplicationId(id), &principal.actor()).await?;
    let app = &stored.application;
    let digest = if photo { app.photo } else { app.signature }.ok_or_else(ApiError::not_found)?;
    let blob = state
        .store
        .blob(&digest)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !matches!(principal, Principal::Citizen { .. }) {
        let what = if photo {
            "application.read_photo"
        } else {
            "application.read_signature"
        };
        app::record(
            &state,
            &principal.actor(),
            what,
            Some(id.to_string()),
            json!({}),
        )
        .await?;
    }
    Ok(image_response(blob.bytes, &blob.content_type))
}

/// An image's bytes with its content type.
pub(crate) fn image_response(bytes: Vec<u8>, content_type: &str) -> Response {
    let mut response = bytes.into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
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
    responses((status = 201, body = PaymentStarted, description = "a new payment"), (status = 200, body = PaymentStarted, description = "the payment already pending"), (status = 409, description = "already paid or not a draft"), (status = 503, description = "the payment gateway or the fee table is not available")))]
pub async fn start_payment(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let iin = principal.citizen()?;
    let idem =
        match Idempotency::attempt(&state, &headers, format!("citizen:{iin}:pay:{id}"), &body)
            .await?
        {
            Attempt::Replayed(answer) => return Ok(answer),
            Attempt::New(idem) => idem,
        };
    let answer = |started: &payment::PaymentToPay| {
        serde_json::to_value(PaymentStarted {
            payment: PaymentView::from(&started.record),
            pay_url: started.pay_url.clone(),
        })
        .unwrap_or_default()
    };
    let remember = |started: &payment::PaymentToPay| {
        idem.as_ref()
            .map(|i| i.record(&state, StatusCode::CREATED, &answer(started)))
    };
    match payment::start(&state, iin, ApplicationId(id), &remember).await {
        Ok(started) => {
            let status = if started.started {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(answer(&started))).into_response())
        }
        Err(e) => replay_after_race(&state, &idem, e).await,
    }
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
    let issued = application::request_submission_code(&state, iin, ApplicationId(id)).await?;
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
    let idem = match Idempotency::attempt(&state, &headers, submit_scope(iin, id), &body).await? {
        Attempt::Replayed(answer) => return Ok(answer),
        Attempt::New(idem) => idem,
    };
    let answer = ApplicationAnswer::new(&state, &idem, StatusCode::OK);
    let submitted = application::submit(
        &state,
        iin,
        ApplicationId(id),
        req.challenge_id,
        &req.code,
        &|a, v| answer.remember(a, v),
    )
    .await;
    answer.finish(submitted).await
}

/// The submission document to sign with your own ЭЦП (through NCALayer) instead of a
/// one-time code: canonical JSON (RFC 8785) naming the application, your IIN, the document
/// asked for, the registration point and the SHA-256 of the photo and of the signature image.
/// Sign these exact bytes (detached CMS, your signing key) and send them back to
/// `submit/eds` within 15 minutes.
#[utoipa::path(get, path = "/applications/{id}/submission-document", tag = "citizen",
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, content_type = "application/json", description = "the canonical submission document"),
        (status = 409, description = "missing photo, signature, point or payment"),
        (status = 422, description = "no longer eligible")))]
pub async fn submission_document(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    let iin = principal.citizen()?;
    let document = application::submission_document(&state, iin, ApplicationId(id)).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document,
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitSigned {
    /// The submission document exactly as fetched.
    pub document: String,
    /// The detached CMS SignedData over it, base64 DER (as NCALayer returns it) or PEM.
    pub signature: String,
}

/// Submit the application signed with your own ЭЦП (eGov's other way, besides the one-time
/// code): the certificate must be a valid signing certificate of your IIN from a trusted
/// НУЦ РК chain, not revoked. It gets its registration ticket and goes to the region's
/// queue. Accepts `Idempotency-Key`.
#[utoipa::path(post, path = "/applications/{id}/submit/eds", tag = "citizen", request_body = SubmitSigned,
    params(("id" = Uuid, Path, description = "application id"), ("Idempotency-Key" = Option<String>, Header, description = "retry key: 1 to 200 visible characters", pattern = "^[!-~]{1,200}$")),
    responses((status = 200, body = ApplicationView), (status = 409, description = "missing photo, signature, point or payment"),
        (status = 422, description = "signature refused (the code says why: certificate_of_another_person, certificate_revoked, …), stale document, or no longer eligible"),
        (status = 503, description = "revocation_status_unknown: the OCSP responder does not answer; try again")))]
pub async fn submit_signed(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    let iin = principal.citizen()?;
    let req: SubmitSigned = parse_json(&headers, &body, state.config.max_json_bytes)?;
    let cms = super::cms_of(&req.signature)?;
    let idem = match Idempotency::attempt(&state, &headers, submit_scope(iin, id), &body).await? {
        Attempt::Replayed(answer) => return Ok(answer),
        Attempt::New(idem) => idem,
    };
    let answer = ApplicationAnswer::new(&state, &idem, StatusCode::OK);
    let submitted = application::submit_signed(
        &state,
        iin,
        ApplicationId(id),
        req.document.as_bytes(),
        &cms,
        &|a, v| answer.remember(a, v),
    )
    .await;
    answer.finish(submitted).await
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
    let stored = application::withdraw(&state, iin, ApplicationId(id)).await?;
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
    app::reminders::choose(&state, iin, req.enabled).await?;
    Ok(Json(req))
}
