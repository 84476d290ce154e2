//! A citizen's contact details for notices: the phone SMS notices go to and their language.
//!
//! The register's phone and language are the defaults and stay the channel for one-time
//! codes — a code must reach the person the register knows, or anyone who took over an
//! account could move its codes to their own phone. What a citizen changes here is only where
//! and in which language they are told about their applications.

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use kuelik_core::lang::Lang;
use kuelik_core::register::Phone;
use kuelik_store::{Changes, ContactDetails};

use crate::app::audit;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::extract::JsonBody;
use crate::AppState;

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactView {
    /// Where SMS notices go: the citizen's own number, else the register's.
    pub notice_phone: String,
    /// Notices' language: the citizen's choice, else the register's.
    pub notice_language: String,
    /// True when the citizen chose the phone (false: the register's).
    pub phone_chosen: bool,
    /// True when the citizen chose the language.
    pub language_chosen: bool,
    /// The register's phone, masked: where one-time codes always go.
    pub code_phone: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactChange {
    /// `+7XXXXXXXXXX` (spaces, dashes, brackets and a leading 8 are accepted); empty or
    /// absent: the register's phone.
    pub phone: Option<String>,
    /// `kk`, `ru` or `en`; empty or absent: the register's language.
    #[schema(pattern = "^(kk|ru|en)?$")]
    pub language: Option<String>,
}

async fn view(state: &AppState, principal: &Principal) -> ApiResult<ContactView> {
    let iin = principal.citizen()?;
    let person = state
        .register
        .person(&iin)
        .await?
        .ok_or_else(ApiError::not_found)?;
    let contact = state.store.contact_details(&iin).await?;
    let phone = contact.as_ref().and_then(|c| c.phone.clone());
    let language = contact.as_ref().and_then(|c| c.language);
    Ok(ContactView {
        notice_phone: phone.as_ref().unwrap_or(&person.phone).as_str().to_string(),
        notice_language: language.unwrap_or(person.language).tag().to_string(),
        phone_chosen: phone.is_some(),
        language_chosen: language.is_some(),
        code_phone: person.phone.masked(),
    })
}

/// Where and in which language the signed-in citizen is told about their applications.
#[utoipa::path(get, path = "/me/contact", tag = "citizen", responses((status = 200, body = ContactView)))]
pub async fn get_contact(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<ContactView>> {
    Ok(Json(view(&state, &principal).await?))
}

/// Changes the phone and language of notices (audited; the number itself is not written to
/// the audit log). One-time codes keep going to the register's phone.
#[utoipa::path(put, path = "/me/contact", tag = "citizen", request_body = ContactChange,
    responses((status = 200, body = ContactView), (status = 422, description = "not a phone number or an unknown language")))]
pub async fn set_contact(
    State(state): State<AppState>,
    principal: Principal,
    body: JsonBody,
) -> ApiResult<Json<ContactView>> {
    let iin = principal.citizen()?;
    let req: ContactChange = body.parse()?;
    let given = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let phone = given(&req.phone)
        .map(|p| Phone::parse(&p))
        .transpose()
        .map_err(|_| ApiError::of(ErrorCode::BadPhone))?;
    let language = given(&req.language)
        .map(|l| l.parse::<Lang>())
        .transpose()
        .map_err(|_| ApiError::of(ErrorCode::BadLanguage))?;
    let now = state.clock.now();
    let details = json!({
        "phone": if phone.is_some() { "own" } else { "register" },
        "language": language.map(Lang::tag),
    });
    state
        .store
        .commit(Changes {
            contacts: vec![ContactDetails {
                iin,
                phone,
                language,
                updated_at: now,
            }],
            audit: vec![audit(
                &principal.actor(),
                now,
                "contact.changed",
                None,
                details,
            )],
            ..Changes::default()
        })
        .await?;
    Ok(Json(view(&state, &principal).await?))
}
