//! Who is acting: the signed-in user (or API token owner) making a request, their role and
//! their tenant's kind, and the client it came from. Shared ground: every feature reads it;
//! it imports nothing but the tenant scope.

use std::fmt;
use std::str::FromStr;

use crate::db::TenantScope;

/// Roles, highest first: OWNER > ADMIN > BILLING > MEMBER > VIEWER (the derive order is the rank).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Member,
    Billing,
    Admin,
    Owner,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Owner,
        Role::Admin,
        Role::Billing,
        Role::Member,
        Role::Viewer,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "OWNER",
            Role::Admin => "ADMIN",
            Role::Billing => "BILLING",
            Role::Member => "MEMBER",
            Role::Viewer => "VIEWER",
        }
    }

    /// The roles `self` may hand out: its own and those below it.
    pub fn grantable(self) -> Vec<Role> {
        Role::ALL.into_iter().filter(|r| *r <= self).collect()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = ();
    fn from_str(s: &str) -> Result<Role, ()> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantKind {
    /// The hosting company itself; its members are platform staff.
    Operator,
    Customer,
}

impl TenantKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TenantKind::Operator => "OPERATOR",
            TenantKind::Customer => "CUSTOMER",
        }
    }
    pub fn parse(s: &str) -> TenantKind {
        if s == "OPERATOR" {
            TenantKind::Operator
        } else {
            TenantKind::Customer
        }
    }
}

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
