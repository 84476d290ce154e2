//! The staff's side: УМС officers (their region only), the production centre, registration
//! points (their point only) and administrators. Every read of personal data is audited;
//! an application outside the caller's scope answers 404.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::document::OldCard;
use kuelik_core::lifecycle::{
    AnnulmentComment, AnnulmentReason, ApplicationId, ApplicationState, Command, Role,
};
use kuelik_core::messages;
use kuelik_core::ticket::TicketNumber;
use kuelik_store::{ApplicationRecord, QueueFilter, StaffAccount, StoredApplication};

use crate::api::citizen::image_response;
use crate::api::citizen::{detail_view, today, ImageReports};
use crate::api::views::{ApplicationView, PersonView, SamePhotoView, StateName};
use crate::app::staff::NewStaff;
use crate::app::{self, desk, production, review};
use crate::approvals;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiPath, ApiQuery, JsonBody};
use crate::AppState;

const QUEUE_PAGE: u32 = 200;

/// A work queue's query; each route documents the states it lists.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// Which state to list (default: the state that waits for this role).
    pub state: Option<String>,
}

fn parse_state(
    raw: Option<&str>,
    default: ApplicationState,
    allowed: &[ApplicationState],
) -> ApiResult<ApplicationState> {
    let state = match raw {
        None => default,
        Some(s) => ApplicationState::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| ApiError::plain(ErrorCode::UnknownState, format!("no state {s:?}")))?,
    };
    if allowed.contains(&state) {
        Ok(state)
    } else {
        Err(ApiError::plain(
            ErrorCode::StateNotInQueue,
            format!("this queue does not list {}", state.as_str()),
        ))
    }
}

fn views(state: &AppState, apps: &[StoredApplication]) -> Vec<ApplicationView> {
    let today = today(state);
    apps.iter()
        .map(|s| ApplicationView::new(&s.application, s.version, today))
        .collect()
}

/// An application with the applicant's register data, for a staff member allowed to see it;
/// the read is audited.
async fn staff_detail(
    state: &AppState,
    principal: &Principal,
    record: ApplicationRecord,
) -> ApiResult<ApplicationView> {
    if !record.stored.application.visible_to(&principal.actor()) {
        return Err(ApiError::not_found());
    }
    let (id, applicant) = (
        record.stored.application.id,
        record.stored.application.applicant,
    );
    let (mut view, photo_check) = detail_view(state, record, ImageReports::Always).await?;
    let person = state.register.person(&applicant).await?;
    let records = match &person {
        Some(_) => state.register.documents_of(&applicant).await?,
        None => Vec::new(),
    };
    view.applicant = person
        .as_ref()
        .map(|p| PersonView::new(p, records, today(state)));
    // The same photo (by perceptual hash) on someone else's application: flagged, not judged.
    if let Some(hash) = photo_check.and_then(|c| c.perceptual_hash) {
        let others = state
            .store
            .applications_with_photo_hash(hash, &applicant)
            .await?;
        let same = others
            .into_iter()
            .map(|other| SamePhotoView {
                id: other.id.0,
                ticket: other.ticket.map(|t| t.to_string()),
                region: other.region,
                state: other.state.as_str().into(),
                state_name: StateName(other.state),
            })
            .collect();
        view.same_photo_elsewhere = Some(same);
    }
    app::record(
        state,
        &principal.actor(),
        "application.read",
        Some(id.to_string()),
        json!({}),
    )
    .await?;
    Ok(view)
}

/// One step of the core by a staff member of `role` on an application they may see,
/// answered with its short view.
async fn staff_step(
    state: &AppState,
    principal: &Principal,
    role: Role,
    id: Uuid,
    command: Command,
) -> ApiResult<Json<ApplicationView>> {
    principal.staff(role)?;
    let stored = app::step(state, ApplicationId(id), &principal.actor(), command).await?;
    Ok(Json(view_of(state, &stored)))
}

/// The short view of an application after a step.
fn view_of(state: &AppState, stored: &StoredApplication) -> ApplicationView {
    ApplicationView::new(&stored.application, stored.version, today(state))
}

// ---- УМС officer ----

/// The officer's region queue, oldest due date first (`state`: queued (default) or under_review).
#[utoipa::path(get, path = "/officer/queue", tag = "officer", params(("state" = Option<String>, Query, description = "which state to list: `queued` (default) or `under_review`", pattern = "^(queued|under_review)$")), responses((status = 200, body = [ApplicationView])))]
pub async fn officer_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<ApplicationView>>> {
    let officer = principal.staff(Role::Officer)?;
    let wanted = parse_state(
        q.state.as_deref(),
        ApplicationState::Queued,
        &[ApplicationState::Queued, ApplicationState::UnderReview],
    )?;
    let filter = QueueFilter {
        region: officer.region,
        ..QueueFilter::state(wanted)
    };
    let apps = state.store.work_queue(&filter, QUEUE_PAGE).await?;
    Ok(Json(views(&state, &apps)))
}

/// An application of the officer's region with the applicant's register data (audited).
#[utoipa::path(get, path = "/officer/applications/{id}", tag = "officer", params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 404, description = "not in your region")))]
pub async fn officer_application(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApplicationView>> {
    principal.staff(Role::Officer)?;
    let record = app::visible_record(&state, ApplicationId(id), &principal.actor()).await?;
    let applicant = record.stored.application.applicant;
    let mut view = staff_detail(&state, &principal, record).await?;
    // The officer compares the uploaded photo with the one on the current document.
    view.register_photo_of = state.register.document_photo_number(&applicant).await?;
    Ok(Json(view))
}

/// The register's photo of the applicant's current document, to compare with the uploaded
/// one (the read is audited).
#[utoipa::path(get, path = "/officer/applications/{id}/register-photo", tag = "officer",
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, content_type = "image/jpeg", description = "the image"), (status = 404, description = "not in your region, or the register has no photo")))]
pub async fn register_photo(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    principal.staff(Role::Officer)?;
    let actor = principal.actor();
    let stored = app::visible(&state, ApplicationId(id), &actor).await?;
    let photo = state
        .register
        .document_photo(&stored.application.applicant)
        .await?
        .ok_or_else(ApiError::not_found)?;
    app::record(
        &state,
        &actor,
        "application.read_register_photo",
        Some(id.to_string()),
        json!({ "document_number": photo.document_number }),
    )
    .await?;
    Ok(image_response(photo.bytes, &photo.content_type))
}

/// Take an application from the queue for review.
#[utoipa::path(post, path = "/officer/applications/{id}/take", tag = "officer", params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 404, description = "not in your region"), (status = 409, description = "not queued")))]
pub async fn take(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApplicationView>> {
    staff_step(&state, &principal, Role::Officer, id, Command::Take).await
}

/// Put a taken application back in the queue.
#[utoipa::path(post, path = "/officer/applications/{id}/release", tag = "officer", params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView)))]
pub async fn release(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApplicationView>> {
    staff_step(&state, &principal, Role::Officer, id, Command::Release).await
}

/// The approval document to sign on your own device: canonical JSON (RFC 8785) naming the
/// application, the personal data and the SHA-256 of the photo and signature as approved.
/// Sign these exact bytes (e.g. `kuelik sign --key KEY.pem --cert CERT.pem DOC`) and send
/// them back with the CMS signature to `approve` within 15 minutes.
#[utoipa::path(get, path = "/officer/applications/{id}/approval-document", tag = "officer", params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, content_type = "application/json", description = "the canonical approval document"), (status = 404, description = "not in your region"), (status = 409, description = "not under your review")))]
pub async fn approval_document(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<axum::response::Response> {
    use axum::response::IntoResponse;
    let officer = principal.staff(Role::Officer)?;
    let document =
        review::document_to_sign(&state, &principal.actor(), officer, ApplicationId(id)).await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        document,
    )
        .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Approve {
    /// Signing on your own device: the approval document exactly as fetched.
    pub document: Option<String>,
    /// Signing on your own device: the detached CMS SignedData over the document, as base64
    /// DER or PEM (`-----BEGIN CMS-----`).
    pub signature: Option<String>,
    /// Remote signing: the PIN that unlocks your signing key kept by the service.
    pub pin: Option<String>,
}

fn signing_of(req: Approve) -> ApiResult<approvals::Signing> {
    match (req.document, req.signature, req.pin) {
        (Some(document), Some(signature), None) => Ok(approvals::Signing::Client {
            document: document.into_bytes(),
            cms: super::cms_of(&signature)?,
        }),
        (None, None, Some(pin)) => Ok(approvals::Signing::Remote { pin }),
        _ => Err(ApiError::of(ErrorCode::SignatureRequired)),
    }
}

/// Approve the application with your e-signature (R11); it goes to production. Either sign
/// the approval document on your device and send it with the CMS, or send your PIN to sign
/// with the key the service keeps sealed for you.
#[utoipa::path(post, path = "/officer/applications/{id}/approve", tag = "officer", request_body = Approve,
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 409, description = "not under your review"),
        (status = 422, description = "signature refused (the code says why), wrong PIN, stale document")))]
pub async fn approve(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    body: JsonBody,
) -> ApiResult<Json<ApplicationView>> {
    let officer = principal.staff(Role::Officer)?;
    let req: Approve = body.parse()?;
    let signing = signing_of(req)?;
    let stored = review::approve(
        &state,
        &principal.actor(),
        officer,
        ApplicationId(id),
        signing,
    )
    .await?;
    Ok(Json(view_of(&state, &stored)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Annul {
    /// `photo_non_compliant`, `signature_non_compliant` or `additional_verification_required`.
    pub reason: String,
    /// What the citizen should know or do (shown to them).
    pub comment: String,
}

/// Annul the application with a reason (R12); the duty paid is refunded (R13).
#[utoipa::path(post, path = "/officer/applications/{id}/annul", tag = "officer", request_body = Annul,
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 422, description = "unknown reason or empty comment")))]
pub async fn annul(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    body: JsonBody,
) -> ApiResult<Json<ApplicationView>> {
    principal.staff(Role::Officer)?;
    let req: Annul = body.parse()?;
    let reason = AnnulmentReason::ALL.into_iter().find(|r| r.as_str() == req.reason).ok_or_else(|| {
        ApiError::plain(ErrorCode::UnknownAnnulmentReason, "use photo_non_compliant, signature_non_compliant or additional_verification_required")
    })?;
    // The core's one refusal of a comment: empty, or longer than it keeps.
    let comment = AnnulmentComment::parse(&req.comment)
        .map_err(|_| ApiError::of(ErrorCode::CommentRequired))?;
    let command = Command::Annul { reason, comment };
    staff_step(&state, &principal, Role::Officer, id, command).await
}

// ---- production centre ----

/// The production queue (`state`: approved (default) or in_production).
#[utoipa::path(get, path = "/production/queue", tag = "production", params(("state" = Option<String>, Query, description = "which state to list: `approved` (default) or `in_production`", pattern = "^(approved|in_production)$")), responses((status = 200, body = [ApplicationView])))]
pub async fn production_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<ApplicationView>>> {
    principal.staff(Role::ProductionOperator)?;
    let wanted = parse_state(
        q.state.as_deref(),
        ApplicationState::Approved,
        &[ApplicationState::Approved, ApplicationState::InProduction],
    )?;
    let apps = state
        .store
        .work_queue(&QueueFilter::state(wanted), QUEUE_PAGE)
        .await?;
    Ok(Json(views(&state, &apps)))
}

/// Accept an approved application into production, after verifying the officer's signature
/// (R11): refused, with the reason recorded, unless it verifies, was made by an officer of
/// the application's region with a valid, unrevoked certificate of a trusted CA, over
/// exactly the application's current data and images.
#[utoipa::path(post, path = "/production/applications/{id}/accept", tag = "production", params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 409, description = "not approved"),
        (status = 422, description = "signature refused; the code is the reason")))]
pub async fn accept(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApplicationView>> {
    principal.staff(Role::ProductionOperator)?;
    let stored = production::accept(&state, &principal.actor(), ApplicationId(id)).await?;
    Ok(Json(view_of(&state, &stored)))
}

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct SignatureCheckView {
    pub at: String,
    pub verified: bool,
    /// `verified`, or the refusal reason.
    pub code: String,
    pub detail: String,
}

/// The signature checks production ran on an application, oldest first.
#[utoipa::path(get, path = "/production/applications/{id}/signature-checks", tag = "production", params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = [SignatureCheckView])))]
pub async fn signature_checks(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<SignatureCheckView>>> {
    principal.staff(Role::ProductionOperator)?;
    app::visible(&state, ApplicationId(id), &principal.actor()).await?;
    let checks = state.store.signature_checks(ApplicationId(id)).await?;
    Ok(Json(
        checks
            .into_iter()
            .map(|c| SignatureCheckView {
                at: c.at.to_string(),
                verified: c.verified,
                code: c.code,
                detail: c.detail,
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dispatch {
    /// The new document's number (identity card: 9 digits; passport: N and 8 digits).
    #[schema(pattern = "^([0-9]{9}|[Nn][0-9]{8})$")]
    pub document_number: String,
}

/// The document is made (with its new number): dispatch it to the chosen registration point.
#[utoipa::path(post, path = "/production/applications/{id}/dispatch", tag = "production", request_body = Dispatch,
    params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 409, description = "not in production"), (status = 422, description = "bad document number")))]
pub async fn dispatch(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
    body: JsonBody,
) -> ApiResult<Json<ApplicationView>> {
    principal.staff(Role::ProductionOperator)?;
    let req: Dispatch = body.parse()?;
    let command = Command::Dispatch {
        document_number: req.document_number,
    };
    staff_step(&state, &principal, Role::ProductionOperator, id, command).await
}

// ---- registration point ----

/// The point's documents (`state`: dispatched (default, on the way) or ready_for_pickup).
#[utoipa::path(get, path = "/point/queue", tag = "registration point", params(("state" = Option<String>, Query, description = "which state to list: `dispatched` (default) or `ready_for_pickup`", pattern = "^(dispatched|ready_for_pickup)$")), responses((status = 200, body = [ApplicationView])))]
pub async fn point_queue(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<QueueQuery>,
) -> ApiResult<Json<Vec<ApplicationView>>> {
    let operator = principal.staff(Role::PointOperator)?;
    let wanted = parse_state(
        q.state.as_deref(),
        ApplicationState::Dispatched,
        &[
            ApplicationState::Dispatched,
            ApplicationState::ReadyForPickup,
        ],
    )?;
    let filter = QueueFilter {
        point: operator.point.clone(),
        ..QueueFilter::state(wanted)
    };
    if operator.point.is_none() {
        return Err(ApiError::forbidden());
    }
    let apps = state.store.work_queue(&filter, QUEUE_PAGE).await?;
    let mut answer = views(&state, &apps);
    for (view, stored) in answer.iter_mut().zip(&apps) {
        let history = state.store.history(stored.application.id).await?;
        view.state_since = history
            .iter()
            .rev()
            .find(|e| e.to == stored.application.state && e.from != e.to)
            .map(|e| e.at.to_string());
    }
    Ok(Json(answer))
}

/// The document arrived at the point.
#[utoipa::path(post, path = "/point/applications/{id}/receive", tag = "registration point", params(("id" = Uuid, Path, description = "application id")),
    responses((status = 200, body = ApplicationView), (status = 404, description = "not for your point")))]
pub async fn receive(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ApplicationView>> {
    staff_step(
        &state,
        &principal,
        Role::PointOperator,
        id,
        Command::Receive,
    )
    .await
}

fn parse_ticket(raw: &str) -> ApiResult<TicketNumber> {
    TicketNumber::parse(raw).map_err(|e| {
        use kuelik_core::ticket::TicketError as E;
        let code = match e {
            E::WrongLength(_) => ErrorCode::TicketWrongLength,
            E::BadSymbol { .. } => ErrorCode::TicketBadSymbol,
            E::CheckFailed => ErrorCode::TicketCheckFailed,
        };
        ApiError::new(code, messages::ticket_error(&e))
    })
}

async fn by_ticket(
    state: &AppState,
    principal: &Principal,
    raw: &str,
) -> ApiResult<StoredApplication> {
    let ticket = parse_ticket(raw)?;
    let not_here = || ApiError::of(ErrorCode::TicketNotAtThisPoint);
    let stored = state
        .store
        .application_by_ticket(&ticket)
        .await?
        .ok_or_else(not_here)?;
    if !stored.application.visible_to(&principal.actor()) {
        return Err(not_here());
    }
    Ok(stored)
}

/// Look up a document by the ticket number the citizen gives (a typo is caught by the
/// check symbol before any lookup). Shows the photo link and the name for the identity check.
#[utoipa::path(get, path = "/point/tickets/{ticket}", tag = "registration point", params(("ticket" = String, Path, description = "ticket number")),
    responses((status = 200, body = ApplicationView), (status = 404, description = "no such ticket at your point"), (status = 422, description = "typo in the ticket number")))]
pub async fn ticket_lookup(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket): ApiPath<String>,
) -> ApiResult<Json<ApplicationView>> {
    principal.staff(Role::PointOperator)?;
    let stored = by_ticket(&state, &principal, &ticket).await?;
    let record = state
        .store
        .application_record(stored.application.id)
        .await?
        .ok_or_else(|| ApiError::of(ErrorCode::TicketNotAtThisPoint))?;
    Ok(Json(staff_detail(&state, &principal, record).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOver {
    /// What became of the holder's old card: `surrendered` (collected and destroyed) or
    /// `not_presented`. Either way it is invalid from the hand-over.
    #[schema(pattern = "^(surrendered|not_presented)$")]
    pub old_card: String,
}

/// Hand the document over to its holder (after the identity check). A ticket is used once.
/// The new document becomes the holder's current one and the old card is invalidated
/// (`replaced`) at this instant; the national register is told through the outbox.
#[utoipa::path(post, path = "/point/tickets/{ticket}/hand-over", tag = "registration point", request_body = HandOver,
    params(("ticket" = String, Path, description = "ticket number")),
    responses((status = 200, body = ApplicationView),
        (status = 404, description = "no such ticket at your point"),
        (status = 409, description = "not ready or already handed over"),
        (status = 422, description = "typo in the ticket number, or old_card missing or unknown")))]
pub async fn hand_over(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(ticket): ApiPath<String>,
    body: JsonBody,
) -> ApiResult<Json<ApplicationView>> {
    principal.staff(Role::PointOperator)?;
    let req: HandOver = body.parse()?;
    let old_card = req
        .old_card
        .parse::<OldCard>()
        .map_err(|_| ApiError::of(ErrorCode::UnknownOldCard))?;
    let stored = by_ticket(&state, &principal, &ticket).await?;
    let ticket = parse_ticket(&ticket)?;
    let stored = desk::hand_over(&state, &principal.actor(), stored, ticket, old_card).await?;
    Ok(Json(ApplicationView::new(
        &stored.application,
        stored.version,
        today(&state),
    )))
}

// ---- administrator ----

#[derive(Debug, serde::Serialize, ToSchema)]
pub struct StaffView {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub region: Option<String>,
    pub point: Option<String>,
    pub active: bool,
    /// The person the account belongs to, when bound by IIN (an officer then signs with any
    /// trusted НУЦ РК certificate issued to this IIN).
    pub iin: Option<String>,
}

impl From<&StaffAccount> for StaffView {
    fn from(s: &StaffAccount) -> StaffView {
        StaffView {
            id: s.id.0,
            username: s.username.clone(),
            display_name: s.display_name.clone(),
            role: s.role.as_str().into(),
            region: s.region.map(|r| r.to_string()),
            point: s.point.as_ref().map(|p| p.to_string()),
            active: s.active,
            iin: s.iin.map(|i| i.to_string()),
        }
    }
}

/// Staff accounts.
#[utoipa::path(get, path = "/admin/staff", tag = "admin", responses((status = 200, body = [StaffView])))]
pub async fn list_staff(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<Vec<StaffView>>> {
    principal.staff(Role::Administrator)?;
    let staff = state.store.list_staff().await?;
    Ok(Json(staff.iter().map(StaffView::from).collect()))
}

/// Create a staff account with its role and scope.
#[utoipa::path(post, path = "/admin/staff", tag = "admin", request_body = NewStaff,
    responses((status = 201, body = StaffView), (status = 409, description = "username taken"), (status = 422, description = "invalid fields")))]
pub async fn add_staff(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonBody,
) -> ApiResult<(StatusCode, Json<StaffView>)> {
    principal.staff(Role::Administrator)?;
    let req: NewStaff = body.parse()?;
    let account = app::staff::add(
        &*state.store,
        &principal.actor(),
        req,
        (&state.regions, &state.points),
        state.clock.now(),
        None,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(StaffView::from(&account))))
}
