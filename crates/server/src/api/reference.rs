//! Public, anonymous answers: the rules in force, the registration points, and the
//! eligibility check for someone not signed in (who gives their card's expiry date).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use kuelik_core::document::{DocumentFacts, DocumentKind};
use kuelik_core::eligibility;
use kuelik_core::region::RegionCode;
use kuelik_core::rules::Reason;

use crate::api::views::{EligibilityView, Text};
use crate::app::rules_at;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::{ApiJson, ApiQuery};
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct PointView {
    pub id: String,
    pub region: String,
    pub name: Text,
    /// The address in kk, ru and en.
    pub address: Text,
    /// When documents are handed over there, in kk, ru and en.
    pub hours: Text,
}

#[derive(Debug, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PointsQuery {
    /// Only this region (two-digit code).
    #[param(pattern = "^[0-9]{2}$")]
    pub region: Option<String>,
}

/// Registration points where documents are collected.
#[utoipa::path(get, path = "/reference/registration-points", tag = "reference", params(PointsQuery),
    responses((status = 200, body = [PointView])))]
pub async fn registration_points(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<PointsQuery>,
) -> ApiResult<Json<Vec<PointView>>> {
    let region: Option<RegionCode> =
        match &q.region {
            Some(r) => Some(r.parse().map_err(|_| {
                ApiError::plain(ErrorCode::BadRegion, "a region code is two digits")
            })?),
            None => None,
        };
    Ok(Json(
        state
            .points
            .iter()
            .filter(|p| region.is_none_or(|r| p.region == r))
            .map(|p| PointView {
                id: p.id.to_string(),
                region: p.region.to_string(),
                name: p.name.clone().into(),
                address: p.address.clone().into(),
                hours: p.hours.clone().into(),
            })
            .collect(),
    ))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RulesView {
    pub version: String,
    /// In kk, ru and en.
    pub title: Text,
    /// True when the rule set is this project's assumption, not law.
    pub assumption: bool,
    pub in_force: bool,
    pub effective_from: String,
    pub effective_until: Option<String>,
    pub window_days_before_expiry: u16,
    pub window_days_after_expiry: u16,
    pub processing_working_days: u16,
}

/// The rule set deciding today (Almaty date).
#[utoipa::path(get, path = "/rules", tag = "reference", responses((status = 200, body = RulesView)))]
pub async fn rules(State(state): State<AppState>) -> ApiResult<Json<RulesView>> {
    let now = state.clock.now();
    let r = rules_at(&state, now)?;
    Ok(Json(RulesView {
        version: r.version.clone(),
        title: r.title.clone().into(),
        assumption: r.assumption,
        in_force: r.in_force_on(kuelik_core::time::almaty_date(now)),
        effective_from: r.effective_from.to_string(),
        effective_until: r.effective_until.map(|d| d.to_string()),
        window_days_before_expiry: r.window_days_before_expiry,
        window_days_after_expiry: r.window_days_after_expiry,
        processing_working_days: r.processing_working_days,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EligibilityCheck {
    /// The document's last valid day, `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub expires: String,
    /// `expiring` (default), `name-change`, `loss`, `damage` or `other`.
    #[schema(pattern = "^(expiring|name-change|loss|damage|other)$")]
    pub reason: Option<String>,
    /// `identity-card` (default) or `passport`.
    #[schema(pattern = "^(identity-card|passport)$")]
    pub document: Option<String>,
}

/// May a document with this expiry date be renewed online today? (Anonymous; the signed-in
/// answer at `/me/eligibility` uses the register's facts instead.)
#[utoipa::path(post, path = "/eligibility", tag = "reference", request_body = EligibilityCheck,
    responses((status = 200, body = EligibilityView), (status = 422, description = "bad date, reason or document")))]
pub async fn check_eligibility(
    State(state): State<AppState>,
    ApiJson(req): ApiJson<EligibilityCheck>,
) -> ApiResult<Json<EligibilityView>> {
    let last_valid_day = req.expires.trim().parse().map_err(|_| {
        ApiError::plain(
            ErrorCode::BadDate,
            format!("{:?} is not a date (YYYY-MM-DD)", req.expires),
        )
    })?;
    let reason: Reason = match &req.reason {
        Some(r) => r.parse().map_err(|e: kuelik_core::rules::UnknownReason| {
            ApiError::plain(ErrorCode::UnknownReason, e.to_string())
        })?,
        None => Reason::Expiring,
    };
    let kind: DocumentKind = match &req.document {
        Some(d) => d
            .parse()
            .map_err(|e: kuelik_core::document::UnknownDocumentKind| {
                ApiError::plain(ErrorCode::UnknownDocumentKind, e.to_string())
            })?,
        None => DocumentKind::IdentityCard,
    };
    let now = state.clock.now();
    let rules = rules_at(&state, now)?;
    let decision = eligibility::decide(
        &DocumentFacts {
            kind,
            last_valid_day,
        },
        reason,
        now,
        &rules,
    );
    Ok(Json(EligibilityView::new(decision, rules.assumption)))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImageProfileView {
    pub name: String,
    /// True until the migration authority confirms the values.
    pub provisional: bool,
    /// Each measure's thresholds: `fail_below`, `warn_below`, `warn_above`, `fail_above`.
    #[schema(value_type = Object)]
    pub bands: serde_json::Value,
}

/// The thresholds of the automatic photo and signature checks (shown to officers and in
/// the docs; provisional until the authority confirms them).
#[utoipa::path(get, path = "/reference/image-profile", tag = "reference", responses((status = 200, body = ImageProfileView)))]
pub async fn image_profile(State(state): State<AppState>) -> Json<ImageProfileView> {
    let profile = &state.image_profile;
    let bands: serde_json::Map<String, serde_json::Value> = profile
        .bands()
        .into_iter()
        .map(|(name, band)| (name, serde_json::to_value(band).unwrap_or_default()))
        .collect();
    Json(ImageProfileView {
        name: profile.name.clone(),
        provisional: profile.provisional,
        bands: serde_json::Value::Object(bands),
    })
}
