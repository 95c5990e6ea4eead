//! SQL for API tokens: creation, listing, revocation and the bearer lookup.

use sqlx::{AnyPool, FromRow};

use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope};
use crate::db::{Timestamp, Tx};

pub struct NewToken<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub user_id: &'a str,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub prefix: &'a str,
    pub last_four: &'a str,
    pub scopes: &'a str,
    pub expires_at: i64,
}

pub async fn insert(tx: &mut Tx, t: &NewToken<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO api_tokens (id, tenant_id, user_id, name, token_hash, prefix, last_four, \
         scopes, expires_at, last_used_at, revoked_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, $10)",
    )
    .bind(t.id)
    .bind(t.tenant_id)
    .bind(t.user_id)
    .bind(t.name)
    .bind(t.token_hash)
    .bind(t.prefix)
    .bind(t.last_four)
    .bind(t.scopes)
    .bind(t.expires_at)
    .bind(Timestamp::now().0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[derive(Clone, Debug, FromRow)]
pub struct TokenRow {
    pub id: String,
    pub tenant_id: String,
    pub user_id: String,
    pub user_email: String,
    pub user_role: crate::actor::Role,
    pub name: String,
    pub prefix: String,
    pub last_four: String,
    pub scopes: String,
    pub expires_at: Timestamp,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: Timestamp,
}

impl TokenRow {
    /// "Active", "Expired" or "Revoked": the state as words, not only a colour.
    pub fn status(&self, now: &Timestamp) -> &'static str {
        if self.revoked_at.is_some() {
            "Revoked"
        } else if self.expires_at <= *now {
            "Expired"
        } else {
            "Active"
        }
    }

    /// Still usable: neither revoked nor expired.
    pub fn is_active(&self, now: &Timestamp) -> bool {
        self.revoked_at.is_none() && self.expires_at > *now
    }

    /// The last day the token works (it expires at the start of the next day, UTC).
    pub fn valid_until(&self) -> String {
        Timestamp(self.expires_at.0 - 1)
            .to_string()
            .chars()
            .take(10)
            .collect()
    }

    pub fn last_used(&self) -> String {
        self.last_used_at
            .map_or_else(|| "never".to_string(), |t| Timestamp(t).to_string())
    }

    pub fn scope_list(&self) -> String {
        self.scopes.replace(',', ", ")
    }
}

const TOKEN_COLUMNS: &str = "k.id, k.tenant_id, k.user_id, u.email AS user_email, \
     u.role AS user_role, k.name, k.prefix, k.last_four, k.scopes, k.expires_at, \
     k.last_used_at, k.revoked_at, k.created_at";

/// Tokens of one user, or (`user_id` = "") of every member in scope; newest first.
pub async fn list(
    pool: &AnyPool,
    scope: &TenantScope,
    user_id: &str,
) -> sqlx::Result<Vec<TokenRow>> {
    let mut w = Where::new();
    w.scope("k.tenant_id", scope).eq("k.user_id", user_id);
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens k JOIN users u ON u.id = k.user_id \
         {} ORDER BY k.created_at DESC, k.id DESC LIMIT 200",
        w.sql()
    ))
    .bind_all(w.params())
    .fetch_all(pool)
    .await
}

pub async fn get<'e, E>(ex: E, scope: &TenantScope, id: &str) -> sqlx::Result<Option<TokenRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {TOKEN_COLUMNS} FROM api_tokens k JOIN users u ON u.id = k.user_id \
         WHERE k.id = $1{}",
        scope.and("k.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

pub async fn revoke(tx: &mut Tx, id: &str) -> sqlx::Result<bool> {
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected() == 1)
}

/// Everything the bearer middleware needs in one indexed lookup: the token, its user and
/// tenant, and the tenant policy that applies to every request.
#[derive(Clone, Debug, FromRow)]
pub struct BearerRow {
    pub token_id: String,
    pub scopes: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: crate::actor::Role,
    pub active: i64,
    pub tenant_id: String,
    pub tenant_name: String,
    pub tenant_kind: crate::actor::TenantKind,
    pub ip_allowlist: String,
    pub require_mfa: i64,
    pub mfa_enabled: i64,
}

pub async fn bearer(pool: &AnyPool, token_hash: &str) -> sqlx::Result<Option<BearerRow>> {
    sqlx::query_as(
        "SELECT k.id AS token_id, k.scopes, k.expires_at, k.revoked_at, k.last_used_at, \
         u.id AS user_id, u.email, u.name, u.role, u.active, t.id AS tenant_id, \
         t.name AS tenant_name, t.kind AS tenant_kind, \
         COALESCE(p.ip_allowlist, '') AS ip_allowlist, COALESCE(p.require_mfa, 0) AS require_mfa, \
         CAST(CASE WHEN COALESCE(m.enabled, 0) = 1 OR EXISTS (SELECT 1 FROM passkeys pk \
         WHERE pk.user_id = u.id) THEN 1 ELSE 0 END AS BIGINT) AS mfa_enabled \
         FROM api_tokens k JOIN users u ON u.id = k.user_id JOIN tenants t ON t.id = u.tenant_id \
         LEFT JOIN tenant_security_policy p ON p.tenant_id = u.tenant_id \
         LEFT JOIN user_mfa m ON m.user_id = u.id \
         WHERE k.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await
}

pub async fn touch(pool: &AnyPool, id: &str, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
        .bind(now.0)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}
