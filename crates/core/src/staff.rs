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
