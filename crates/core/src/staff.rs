//! A staff account's scope (domain.md §3): an УМС officer acts for one region, a
//! registration-point operator for one point; the production centre and administrators are
//! national. An account has exactly the scope of its role — never a guessed one: an officer
//! stored without a region acts as nobody, not as an administrator.

use crate::lifecycle::{Actor, Role, StaffId};
use crate::region::{PointId, RegionCode};

/// What part of the service a staff account acts on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StaffScope {
    Officer(RegionCode),
    PointOperator(PointId),
    ProductionOperator,
    Administrator,
}

/// Why an account's role and scope do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    #[error("an officer needs a region")]
    OfficerWithoutRegion,
    #[error("a point operator needs a registration point")]
    PointOperatorWithoutPoint,
    #[error("only officers have a region")]
    RegionForAnotherRole,
    #[error("only point operators have a registration point")]
    PointForAnotherRole,
    #[error("{0} is not a staff role")]
    NotAStaffRole(Role),
}

impl ScopeError {
    pub fn code(&self) -> &'static str {
        match self {
            ScopeError::OfficerWithoutRegion => "officer_without_region",
            ScopeError::PointOperatorWithoutPoint => "point_operator_without_point",
            ScopeError::RegionForAnotherRole => "region_for_another_role",
            ScopeError::PointForAnotherRole => "point_for_another_role",
            ScopeError::NotAStaffRole(_) => "not_a_staff_role",
        }
    }
}

impl StaffScope {
    /// The scope of an account with `role`, `region` and `point` as stored: each role has
    /// its own and no other.
    pub fn of(
        role: Role,
        region: Option<RegionCode>,
        point: Option<PointId>,
    ) -> Result<StaffScope, ScopeError> {
        if region.is_some() && role != Role::Officer {
            return Err(ScopeError::RegionForAnotherRole);
        }
        if point.is_some() && role != Role::PointOperator {
            return Err(ScopeError::PointForAnotherRole);
        }
        match role {
            Role::Officer => region
                .map(StaffScope::Officer)
                .ok_or(ScopeError::OfficerWithoutRegion),
            Role::PointOperator => point
                .map(StaffScope::PointOperator)
                .ok_or(ScopeError::PointOperatorWithoutPoint),
            Role::ProductionOperator => Ok(StaffScope::ProductionOperator),
            Role::Administrator => Ok(StaffScope::Administrator),
            Role::Citizen | Role::System => Err(ScopeError::NotAStaffRole(role)),
        }
    }

    pub fn role(&self) -> Role {
        match self {
            StaffScope::Officer(_) => Role::Officer,
            StaffScope::PointOperator(_) => Role::PointOperator,
            StaffScope::ProductionOperator => Role::ProductionOperator,
            StaffScope::Administrator => Role::Administrator,
        }
    }

    /// The actor the life cycle's rules see when `staff` acts within this scope.
    pub fn actor(&self, staff: StaffId) -> Actor {
        match self {
            StaffScope::Officer(region) => Actor::Officer {
                staff,
                region: *region,
            },
            StaffScope::PointOperator(point) => Actor::PointOperator {
                staff,
                point: point.clone(),
            },
            StaffScope::ProductionOperator => Actor::ProductionOperator { staff },
            StaffScope::Administrator => Actor::Administrator { staff },
        }
    }
}

/// The shortest password a staff account may have (staff sign in with it and a second
/// factor is not yet required, so it is long rather than complex).
pub const MIN_PASSWORD_CHARS: usize = 12;

/// A new staff account's fields as an administrator gives them.
#[derive(Debug, Clone, Copy)]
pub struct AccountRequest<'a> {
    pub username: &'a str,
    pub password: &'a str,
    pub role: &'a str,
    pub region: Option<&'a str>,
    pub point: Option<&'a str>,
    /// The person the account belongs to (officers who sign with their НУЦ РК certificate).
    pub iin: Option<&'a str>,
}

/// A new staff account whose fields hold: its sign-in name (lowercase) and its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAccount {
    pub username: String,
    pub scope: StaffScope,
    pub iin: Option<crate::iin::Iin>,
}

/// Why a new staff account is refused, each with the form field it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("username: 1-64 letters, digits, '.', '_' or '-'")]
    Username,
    #[error("password: at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("role: officer, production_operator, point_operator or administrator")]
    UnknownRole,
    #[error("region: not a region code")]
    UnknownRegion,
    #[error("point: not a registration point")]
    UnknownPoint,
    #[error("iin: {0}")]
    Iin(crate::iin::IinError),
    #[error("{0}")]
    Scope(ScopeError),
}

impl AccountError {
    /// A stable code for the refusal (its text is looked up by it).
    pub fn code(&self) -> &'static str {
        match self {
            AccountError::Username => "username",
            AccountError::PasswordTooShort => "password_too_short",
            AccountError::UnknownRole => "unknown_role",
            AccountError::UnknownRegion => "unknown_region",
            AccountError::UnknownPoint => "unknown_point",
            AccountError::Iin(_) => "iin",
            AccountError::Scope(e) => e.code(),
        }
    }

    /// The field of the account form the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            AccountError::Username => "username",
            AccountError::PasswordTooShort => "password",
            AccountError::Iin(_) => "iin",
            AccountError::UnknownRole | AccountError::Scope(ScopeError::NotAStaffRole(_)) => "role",
            AccountError::UnknownRegion
            | AccountError::Scope(ScopeError::OfficerWithoutRegion)
            | AccountError::Scope(ScopeError::RegionForAnotherRole) => "region",
            AccountError::UnknownPoint
            | AccountError::Scope(ScopeError::PointOperatorWithoutPoint)
            | AccountError::Scope(ScopeError::PointForAnotherRole) => "point",
        }
    }
}

/// Checks a new account's fields against the rules and the reference data: a sign-in name
/// of safe characters, a long enough password, a staff role, a real region or point, and
/// exactly the scope of the role.
pub fn check_account(
    req: AccountRequest<'_>,
    regions: &crate::region::Regions,
    points: &crate::region::RegistrationPoints,
) -> Result<CheckedAccount, AccountError> {
    let username = req.username.trim().to_lowercase();
    if username.is_empty()
        || username.len() > 64
        || !username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    {
        return Err(AccountError::Username);
    }
    if req.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooShort);
    }
    let role = Role::ALL
        .into_iter()
        .find(|r| r.as_str() == req.role && !matches!(r, Role::Citizen | Role::System))
        .ok_or(AccountError::UnknownRole)?;
    let region = req
        .region
        .map(|r| {
            r.parse::<RegionCode>()
                .ok()
                .filter(|c| regions.get(*c).is_some())
                .ok_or(AccountError::UnknownRegion)
        })
        .transpose()?;
    let point = req
        .point
        .map(|p| {
            p.parse::<PointId>()
                .ok()
                .filter(|p| points.get(p).is_some())
                .ok_or(AccountError::UnknownPoint)
        })
        .transpose()?;
    let scope = StaffScope::of(role, region, point).map_err(AccountError::Scope)?;
    // Blank is no IIN: the field is optional on the form.
    let iin = req
        .iin
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<crate::iin::Iin>().map_err(AccountError::Iin))
        .transpose()?;
    Ok(CheckedAccount {
        username,
        scope,
        iin,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    #[test]
    fn each_role_has_its_own_scope_and_no_other() {
        let region: RegionCode = "71".parse().unwrap();
        let point: PointId = "71-01".parse().unwrap();
        let of = |role, r: Option<RegionCode>, p: Option<PointId>| StaffScope::of(role, r, p);
        let scoped = [
            (
                Role::Officer,
                Some(region),
                None,
                StaffScope::Officer(region),
            ),
            (
                Role::PointOperator,
                None,
                Some(point.clone()),
                StaffScope::PointOperator(point.clone()),
            ),
            (
                Role::ProductionOperator,
                None,
                None,
                StaffScope::ProductionOperator,
            ),
            (Role::Administrator, None, None, StaffScope::Administrator),
        ];
        for (role, r, p, scope) in scoped {
            assert_eq!(of(role, r, p), Ok(scope));
        }
        // Never a guessed scope: an officer without a region is refused, not an administrator.
        let refused = [
            (Role::Officer, None, None, ScopeError::OfficerWithoutRegion),
            (
                Role::PointOperator,
                None,
                None,
                ScopeError::PointOperatorWithoutPoint,
            ),
            (
                Role::Administrator,
                Some(region),
                None,
                ScopeError::RegionForAnotherRole,
            ),
            (
                Role::Officer,
                Some(region),
                Some(point),
                ScopeError::PointForAnotherRole,
            ),
            (
                Role::Citizen,
                None,
                None,
                ScopeError::NotAStaffRole(Role::Citizen),
            ),
        ];
        for (role, r, p, error) in refused {
            assert_eq!(of(role, r, p), Err(error), "{role:?}");
        }
    }

    #[test]
    fn a_new_account_is_refused_on_the_field_that_is_wrong() {
        let regions = crate::region::Regions::builtin();
        let points = crate::region::RegistrationPoints::builtin(&regions);
        let good = AccountRequest {
            username: " Officer.Aigerim ",
            password: "twelve-chars",
            role: "officer",
            region: Some("71"),
            point: None,
            iin: Some(" 900515301234 "),
        };
        let checked = check_account(good, &regions, &points).unwrap();
        assert_eq!(checked.username, "officer.aigerim");
        assert_eq!(
            checked.iin.map(|i| i.to_string()),
            Some("900515301234".into())
        );
        let without = AccountRequest {
            iin: Some(""),
            ..good
        };
        assert_eq!(check_account(without, &regions, &points).unwrap().iin, None);
        assert_eq!(checked.scope, StaffScope::Officer("71".parse().unwrap()));
        let refused = [
            (
                AccountRequest {
                    username: "a b",
                    ..good
                },
                "username",
            ),
            (
                AccountRequest {
                    username: "  ",
                    ..good
                },
                "username",
            ),
            (
                AccountRequest {
                    password: "eleven-char",
                    ..good
                },
                "password",
            ),
            (
                AccountRequest {
                    role: "citizen",
                    ..good
                },
                "role",
            ),
            (
                AccountRequest {
                    region: Some("99"),
                    ..good
                },
                "region",
            ),
            (
                AccountRequest {
                    region: None,
                    ..good
                },
                "region",
            ),
            (
                AccountRequest {
                    point: Some("71-01"),
                    ..good
                },
                "point",
            ),
            (
                AccountRequest {
                    role: "point_operator",
                    region: None,
                    point: Some("71-99"),
                    ..good
                },
                "point",
            ),
        ];
        let refused = refused.into_iter().chain([(
            AccountRequest {
                iin: Some("900515301235"),
                ..good
            },
            "iin",
        )]);
        for (req, field) in refused {
            let error = check_account(req, &regions, &points).unwrap_err();
            assert_eq!(error.field(), field, "{req:?}: {error}");
        }
    }

    #[test]
    fn the_actor_carries_the_scope() {
        let staff = StaffId(Uuid::nil());
        let region: RegionCode = "75".parse().unwrap();
        assert_eq!(
            StaffScope::Officer(region).actor(staff),
            Actor::Officer { staff, region }
        );
        for scope in [
            StaffScope::Officer(region),
            StaffScope::PointOperator("75-01".parse().unwrap()),
            StaffScope::ProductionOperator,
            StaffScope::Administrator,
        ] {
            assert_eq!(scope.actor(staff).role(), scope.role());
        }
    }
}
