//! Staff accounts: an administrator (in the console, or the service's operator with
//! `kuelik staff add`) creates one with its role and scope; the account and its audit entry
//! are written together.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::lifecycle::{Actor, StaffId};
use kuelik_core::region::{Regions, RegistrationPoints};
use kuelik_core::staff::{check_account, AccountError, AccountRequest, StaffScope};
use kuelik_store::{Changes, StaffAccount, Store};

use super::audit;
use crate::auth::hash_password;
use crate::error::{ApiError, ApiResult, ErrorCode};

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStaff {
    pub username: String,
    pub display_name: String,
    /// At least 12 characters.
    pub password: String,
    /// `officer`, `production_operator`, `point_operator` or `administrator`.
    pub role: String,
    /// Officers: their region code.
    pub region: Option<String>,
    /// Point operators: their registration point.
    pub point: Option<String>,
    /// The person's IIN (12 digits), optional: an officer bound by IIN signs with any
    /// trusted НУЦ РК certificate issued to them, not only one bound certificate.
    #[serde(default)]
    #[schema(pattern = "^[0-9]{12}$")]
    pub iin: Option<String>,
}

/// Checks a new account's fields (the core's rules) and builds it with its password hash.
pub fn new_staff_account(
    req: NewStaff,
    regions: &Regions,
    points: &RegistrationPoints,
    now: jiff::Timestamp,
) -> ApiResult<StaffAccount> {
    let checked = check_account(
        AccountRequest {
            username: &req.username,
            password: &req.password,
            role: &req.role,
            region: req.region.as_deref(),
            point: req.point.as_deref(),
            iin: req.iin.as_deref(),
        },
        regions,
        points,
    )
    .map_err(refusal)?;
    let password_hash =
        hash_password(&req.password).map_err(|e| ApiError::plain(ErrorCode::InternalError, e))?;
    let (region, point) = match &checked.scope {
        StaffScope::Officer(region) => (Some(*region), None),
        StaffScope::PointOperator(point) => (None, Some(point.clone())),
        StaffScope::ProductionOperator | StaffScope::Administrator => (None, None),
    };
    Ok(StaffAccount {
        id: StaffId(Uuid::now_v7()),
        username: checked.username,
        display_name: req.display_name.trim().to_string(),
        password_hash,
        role: checked.scope.role(),
        region,
        point,
        active: true,
        created_at: now,
        iin: checked.iin,
    })
}

/// `invalid_staff` in the reader's language, naming the field (`field`) and the rule
/// (`reason`) so a form can show it where it belongs.
fn refusal(e: AccountError) -> ApiError {
    let detail = crate::error::catalogued_text(&format!("error-invalid_staff-{}", e.code()))
        .unwrap_or_else(|| kuelik_core::lang::Localized::from_fn(|_| e.to_string()));
    ApiError::new(ErrorCode::InvalidStaff, detail)
        .with_extra(json!({ "field": e.field(), "reason": e.code() }))
}

/// Creates a staff account with its role and scope, and its audit entry, in one
/// transaction. `via` names the command line when the service's operator made it there.
pub async fn add(
    store: &dyn Store,
    actor: &Actor,
    req: NewStaff,
    (regions, points): (&Regions, &RegistrationPoints),
    now: jiff::Timestamp,
    via: Option<&str>,
) -> ApiResult<StaffAccount> {
    let account = new_staff_account(req, regions, points, now)?;
    let mut details = json!({ "role": account.role.as_str() });
    if let Some(via) = via {
        details["via"] = json!(via);
    }
    store
        .commit(Changes {
            audit: vec![audit(
                actor,
                now,
                "staff.add",
                Some(account.id.to_string()),
                details,
            )],
            staff: vec![account.clone()],
            ..Changes::default()
        })
        .await?;
    Ok(account)
}

#[cfg(test)]
mod tests {
    use kuelik_core::lifecycle::Role;
    use kuelik_core::staff::ScopeError;

    use super::*;

    /// Every refusal of a new account is worded in kk, ru and en (never the English
    /// developer text the fallback would show).
    #[test]
    fn every_refusal_of_a_new_account_has_its_text_in_each_language() {
        let all = [
            AccountError::Username,
            AccountError::PasswordTooShort,
            AccountError::UnknownRole,
            AccountError::UnknownRegion,
            AccountError::UnknownPoint,
            AccountError::Iin(kuelik_core::iin::IinError::CheckDigitUndefined),
            AccountError::Scope(ScopeError::OfficerWithoutRegion),
            AccountError::Scope(ScopeError::PointOperatorWithoutPoint),
            AccountError::Scope(ScopeError::RegionForAnotherRole),
            AccountError::Scope(ScopeError::PointForAnotherRole),
            AccountError::Scope(ScopeError::NotAStaffRole(Role::Citizen)),
        ];
        for e in all {
            let id = format!("error-invalid_staff-{}", e.code());
            assert!(
                crate::error::catalogued_text(&id).is_some(),
                "{id} is missing in a language"
            );
            let answer = refusal(e.clone());
            assert_eq!(answer.extra.as_ref().unwrap()["field"], e.field());
        }
    }
}
