//! Who is acting: the signed-in user (or API token owner) making a request, their role and
//! their tenant's kind, and the client it came from. Shared ground: every feature reads it;
//! it imports nothing but the tenant scope.

use std::str::FromStr;

use crate::db::TenantScope;

// Roles, highest first: OWNER > ADMIN > BILLING > MEMBER > VIEWER (`ALL` order is the rank).
crate::text_enum!(Role {
    Owner => "OWNER" / "Owner",
    Admin => "ADMIN" / "Admin",
    Billing => "BILLING" / "Billing",
    Member => "MEMBER" / "Member",
    Viewer => "VIEWER" / "Viewer",
});

impl Role {
    /// Higher roles rank higher (VIEWER is 0).
    fn rank(self) -> usize {
        Role::ALL.len() - 1 - Role::ALL.iter().position(|r| *r == self).unwrap_or(0)
    }

    /// The roles `self` may hand out: its own and those below it.
    pub fn grantable(self) -> Vec<Role> {
        Role::ALL.iter().copied().filter(|r| *r <= self).collect()
    }
}

impl PartialOrd for Role {
    fn partial_cmp(&self, other: &Role) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Role {
    fn cmp(&self, other: &Role) -> std::cmp::Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Role, ()> {
        Role::parse(s).ok_or(())
    }
}

// The operator tenant is the hosting company itself (its members are platform staff); every
// other tenant is a customer. An unknown stored kind is an error, never a customer.
crate::text_enum!(TenantKind {
    Operator => "OPERATOR" / "Operator",
    Customer => "CUSTOMER" / "Customer",
});

/// The signed-in user making a request, with where the request came from.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub role: Role,
    /// Member of the operator tenant: acts across tenants.
    pub is_staff: bool,
    pub session_id: String,
    pub must_change_password: bool,
    pub client: ClientInfo,
}

/// Client address and user agent, recorded with audit entries and sessions.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    pub ip: String,
    pub user_agent: String,
}

impl Actor {
    pub fn scope(&self) -> TenantScope {
        if self.is_staff {
            TenantScope::All
        } else {
            TenantScope::Tenant(self.tenant_id.clone())
        }
    }

    pub fn at_least(&self, role: Role) -> bool {
        self.role >= role
    }

    pub fn is_staff_at_least(&self, role: Role) -> bool {
        self.is_staff && self.role >= role
    }

    /// Staff ADMIN+ create customer tenants.
    pub fn can_manage_tenants(&self) -> bool {
        self.is_staff_at_least(Role::Admin)
    }

    /// Any staff member can see the tenant list.
    pub fn can_view_tenants(&self) -> bool {
        self.is_staff
    }

    /// OWNER/ADMIN of a tenant manage its members; staff ADMIN+ manage members of any tenant.
    pub fn can_manage_members_of(&self, tenant_id: &str) -> bool {
        self.at_least(Role::Admin) && (self.is_staff || self.tenant_id == tenant_id)
    }

    /// Who sees member lists: ADMIN+ (their tenant, or any for staff).
    pub fn can_view_members(&self) -> bool {
        self.at_least(Role::Admin)
    }

    /// The audit log: staff ADMIN+ see everything, a customer OWNER sees their tenant.
    pub fn can_view_audit(&self) -> bool {
        if self.is_staff {
            self.at_least(Role::Admin)
        } else {
            self.role == Role::Owner
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_tenant_kinds_round_trip_their_stored_text() {
        for r in Role::ALL {
            assert_eq!(Role::from_stored(r.as_str()).unwrap(), *r);
        }
        for k in TenantKind::ALL {
            assert_eq!(TenantKind::from_stored(k.as_str()).unwrap(), *k);
        }
        // an unknown kind is an error, never a customer
        assert!(TenantKind::from_stored("PARTNER").is_err());
        assert!(Role::from_stored("ROOT").is_err());
        // ALL is highest first, and the order is the rank
        assert!(Role::ALL.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(
            Role::Admin.grantable(),
            [Role::Admin, Role::Billing, Role::Member, Role::Viewer]
        );
    }
}
