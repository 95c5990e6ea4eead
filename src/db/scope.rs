//! Tenant scope: the one mechanism every query on tenant-owned rows goes through.
//!
//! A customer's actor is confined to its tenant: its queries carry `tenant_id = $n`. Staff act
//! across tenants: their queries carry no tenant condition at all. Nothing is ever written as a
//! catch-all `($n = '' OR tenant_id = $n)`: that defeats indexes, and an empty id bound by
//! mistake would open every tenant's rows instead of none.

use sqlx::Any;
use sqlx::any::AnyArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantScope {
    /// Staff: every tenant.
    All,
    /// Confined to one tenant.
    Tenant(String),
}

impl TenantScope {
    pub fn allows(&self, tenant_id: &str) -> bool {
        match self {
            TenantScope::All => true,
            TenantScope::Tenant(id) => id == tenant_id,
        }
    }

    /// The tenant a confined scope is held to.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            TenantScope::All => None,
            TenantScope::Tenant(id) => Some(id),
        }
    }

    /// ` AND {column} = ${n}` for a confined scope (bind it with [`Scoped::scoped`], after
    /// the parameters before `$n`); nothing for staff.
    pub fn and(&self, column: &str, n: usize) -> String {
        match self {
            TenantScope::All => String::new(),
            TenantScope::Tenant(_) => format!(" AND {column} = ${n}"),
        }
    }

    /// `WHERE {column} = ${n}` for a confined scope; nothing for staff.
    pub fn where_(&self, column: &str, n: usize) -> String {
        match self {
            TenantScope::All => String::new(),
            TenantScope::Tenant(_) => format!(" WHERE {column} = ${n}"),
        }
    }

    /// How many parameters the scope's condition binds (0 or 1): the number of the next one
    /// is `n + count`.
    pub fn params(&self) -> usize {
        usize::from(matches!(self, TenantScope::Tenant(_)))
    }
}

/// Binding helpers for the three kinds of sqlx query: a scope's tenant (when it has one,
/// for SQL built with [`TenantScope::and`]) and a [`super::filter::Where`]'s parameters.
pub trait Scoped<'q>: Sized {
    fn bind_text(self, value: &'q str) -> Self;

    fn scoped(self, scope: &'q TenantScope) -> Self {
        match scope.tenant() {
            Some(id) => self.bind_text(id),
            None => self,
        }
    }

    fn bind_all(mut self, params: &'q [String]) -> Self {
        for p in params {
            self = self.bind_text(p);
        }
        self
    }
}

impl<'q> Scoped<'q> for Query<'q, Any, AnyArguments<'q>> {
    fn bind_text(self, value: &'q str) -> Self {
        self.bind(value)
    }
}

impl<'q, O> Scoped<'q> for QueryAs<'q, Any, O, AnyArguments<'q>> {
    fn bind_text(self, value: &'q str) -> Self {
        self.bind(value)
    }
}

impl<'q, O> Scoped<'q> for QueryScalar<'q, Any, O, AnyArguments<'q>> {
    fn bind_text(self, value: &'q str) -> Self {
        self.bind(value)
    }
}

/// `%term%` for LIKE, lower-cased, with LIKE's wildcards taken literally.
pub fn like_pattern(term: &str) -> String {
    let escaped: String = term
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| *c != '%' && *c != '_' && *c != '\\')
        .collect();
    format!("%{escaped}%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_confined_scope_carries_its_tenant_and_staff_none() {
        let t = TenantScope::Tenant("t1".into());
        assert_eq!(t.and("c.tenant_id", 2), " AND c.tenant_id = $2");
        assert_eq!(t.where_("tenant_id", 1), " WHERE tenant_id = $1");
        assert_eq!((t.tenant(), t.params()), (Some("t1"), 1));
        assert_eq!(TenantScope::All.and("c.tenant_id", 2), "");
        assert_eq!(TenantScope::All.where_("tenant_id", 1), "");
        assert_eq!(
            (TenantScope::All.tenant(), TenantScope::All.params()),
            (None, 0)
        );
        assert!(t.allows("t1") && !t.allows("t2") && TenantScope::All.allows("t2"));
    }
}
