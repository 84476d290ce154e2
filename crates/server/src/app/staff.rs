//! Staff accounts: an administrator (in the console, or the service's operator with
//! `kuelik staff add`) creates one with its role and scope; the account and its audit entry
//! are written together.

use serde::Deserialize;
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use kuelik_core::lifecycle::{Actor, Role, StaffId};
use kuelik_core::region::{PointId, RegionCode, Regions, RegistrationPoints};
use kuelik_core::staff::{ScopeError, StaffScope};
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
}

/// Checks a new account's fields and builds it.
pub fn new_staff_account(
    req: NewStaff,
    regions: &Regions,
    points: &RegistrationPoints,
    now: jiff::Timestamp,
) -> Result<StaffAccount, String> {
    let username = req.username.trim().to_lowercase();
    if username.is_empty()
        || username.len() > 64
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err("username: 1-64 letters, digits, '.', '_' or '-'".into());
    }
    if req.password.chars().count() < 12 {
        return Err("password: at least 12 characters".into());
    }
    let role = Role::ALL
        .into_iter()
        .find(|r| r.as_str() == req.role && !matches!(r, Role::Citizen | Role::System))
        .ok_or("role: officer, production_operator, point_operator or administrator")?;
    // The region and the point must be real ones; which role has which is the core's rule.
    let region: Option<RegionCode> = match &req.region {
        Some(r) => Some(
            r.parse()
                .ok()
                .filter(|c| regions.get(*c).is_some())
                .ok_or("region: not a region code")?,
        ),
        None => None,
    };
    let point: Option<PointId> = match &req.point {
        Some(p) => Some(
            p.parse()
                .ok()
                .filter(|p| points.get(p).is_some())
                .ok_or("point: not a registration point")?,
        ),
        None => None,
    };
    StaffScope::of(role, region, point.clone()).map_err(|e| match e {
        ScopeError::OfficerWithoutRegion => "an officer needs --region".to_string(),
        ScopeError::PointOperatorWithoutPoint => "a point operator needs --point".to_string(),
        other => other.to_string(),
    })?;
    let password_hash = hash_password(&req.password)?;
    Ok(StaffAccount {
        id: StaffId(Uuid::now_v7()),
        username,
        display_name: req.display_name.trim().to_string(),
        password_hash,
        role,
        region,
        point,
        active: true,
        created_at: now,
    })
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
    let account = new_staff_account(req, regions, points, now)
        .map_err(|e| ApiError::plain(ErrorCode::InvalidStaff, e))?;
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
