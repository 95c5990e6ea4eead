//! SQL for tenants, users, sessions and the login throttle. No rules here: only queries.
//! Every read of tenant-owned rows takes a [`TenantScope`].

use sqlx::{AnyPool, FromRow};

use super::model::TenantScope;
use crate::db::filter::Where;
use crate::db::{Scoped, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct TenantRow {
    pub id: String,
    pub kind: String,
    pub name: String,
    pub slug: String,
    pub billing_email: String,
    pub country: String,
    pub region: String,
    pub currency: String,
    /// Offered BETA products in the catalog.
    pub beta: i64,
    /// Postal address as printed on invoices (several lines).
    pub address: String,
    pub tax_id: String,
    /// Days between an invoice's issue date and its due date.
    pub net_terms_days: i64,
    pub created_at: Timestamp,
}

pub struct NewTenant<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub slug: &'a str,
    pub billing_email: &'a str,
    pub country: &'a str,
    pub region: &'a str,
    pub currency: &'a str,
}

#[derive(Clone, Debug, FromRow)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub active: i64,
    pub must_change_password: i64,
    pub created_at: Timestamp,
}

pub struct NewUser<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub password_hash: &'a str,
    pub role: &'a str,
    pub must_change_password: bool,
}

/// What a login needs to know about the account behind an e-mail address.
#[derive(Clone, Debug, FromRow)]
pub struct LoginRow {
    pub id: String,
    pub tenant_id: String,
    pub password_hash: String,
    pub active: i64,
}

/// A live session joined with its user and tenant: everything an [`super::model::Actor`] needs.
#[derive(Clone, Debug, FromRow)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub must_change_password: i64,
    pub tenant_id: String,
    pub tenant_name: String,
    pub tenant_kind: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The tenant's security policy (see `security::model::Policy`); 0 / "" when it has none.
    pub policy_idle_minutes: i64,
    pub policy_absolute_minutes: i64,
    pub require_mfa: i64,
    pub ip_allowlist: String,
    pub mfa_enabled: i64,
}

pub struct NewSession<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub tenant_id: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn count_users(pool: &AnyPool) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(pool)
        .await
}

pub async fn count_users_tx(tx: &mut Tx) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&mut **tx)
        .await
}

pub async fn get_tenant_tx(tx: &mut Tx, id: &str) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn operator_tenant(tx: &mut Tx) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE kind = 'OPERATOR'"
    ))
    .fetch_optional(&mut **tx)
    .await
}

pub struct TenantDetails<'a> {
    pub name: &'a str,
    pub billing_email: &'a str,
    pub country: &'a str,
    pub region: &'a str,
    pub currency: &'a str,
    pub address: &'a str,
    pub tax_id: &'a str,
    pub net_terms_days: i64,
}

pub async fn update_tenant(tx: &mut Tx, id: &str, d: &TenantDetails<'_>) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE tenants SET name = $1, billing_email = $2, country = $3, region = $4, currency = $5, \
         address = $6, tax_id = $7, net_terms_days = $8, updated_at = $9 WHERE id = $10",
    )
    .bind(d.name)
    .bind(d.billing_email)
    .bind(d.country)
    .bind(d.region)
    .bind(d.currency)
    .bind(d.address)
    .bind(d.tax_id)
    .bind(d.net_terms_days)
    .bind(Timestamp::now().0)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

pub async fn operator_tenant_id(tx: &mut Tx) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
        .fetch_optional(&mut **tx)
        .await
}

pub async fn insert_tenant(tx: &mut Tx, t: &NewTenant<'_>) -> sqlx::Result<()> {
    let now = Timestamp::now();
    sqlx::query(
        "INSERT INTO tenants (id, kind, name, slug, billing_email, country, region, currency, \
         beta, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)",
    )
    .bind(t.id)
    .bind(t.kind)
    .bind(t.name)
    .bind(t.slug)
    .bind(t.billing_email)
    .bind(t.country)
    .bind(t.region)
    .bind(t.currency)
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

const TENANT_COLUMNS: &str = "id, kind, name, slug, billing_email, country, region, currency, beta, address, tax_id, \
     net_terms_days, created_at";

pub async fn get_tenant(
    pool: &AnyPool,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1{}",
        scope.and("id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(pool)
    .await
}

/// Tenants and active users the scope sees (the dashboard's figures).
pub async fn dashboard_counts(pool: &AnyPool, scope: &TenantScope) -> sqlx::Result<(i64, i64)> {
    let tenants = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM tenants{}",
        scope.where_("id", 1)
    ))
    .scoped(scope)
    .fetch_one(pool)
    .await?;
    let users = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM users WHERE active = 1{}",
        scope.and("tenant_id", 1)
    ))
    .scoped(scope)
    .fetch_one(pool)
    .await?;
    Ok((tenants, users))
}

/// Tenants matching `search` in name or slug, newest first.
pub async fn list_tenants(
    pool: &AnyPool,
    search: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<TenantRow>, i64)> {
    let mut w = Where::new();
    w.contains(&["name", "slug"], search);
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants {} \
         ORDER BY kind DESC, created_at DESC, id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tenants {}", w.sql()))
        .bind_all(w.params())
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// All tenants by name, for pickers (small: a hosting company has customers, not millions).
pub async fn tenant_choices(pool: &AnyPool) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT id, name FROM tenants ORDER BY kind DESC, name")
        .fetch_all(pool)
        .await
}

/// (id, name) of every customer tenant, for "which customer" selects.
pub async fn customer_tenant_choices(pool: &AnyPool) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT id, name FROM tenants WHERE kind = 'CUSTOMER' ORDER BY name")
        .fetch_all(pool)
        .await
}

pub async fn set_tenant_beta(tx: &mut Tx, id: &str, beta: bool) -> sqlx::Result<u64> {
    sqlx::query("UPDATE tenants SET beta = $1, updated_at = $2 WHERE id = $3 AND kind = 'CUSTOMER'")
        .bind(i64::from(beta))
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

pub async fn insert_user(tx: &mut Tx, u: &NewUser<'_>) -> sqlx::Result<()> {
    let now = Timestamp::now();
    sqlx::query(
        "INSERT INTO users (id, tenant_id, email, name, password_hash, role, active, \
         must_change_password, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8)",
    )
    .bind(u.id)
    .bind(u.tenant_id)
    .bind(u.email)
    .bind(u.name)
    .bind(u.password_hash)
    .bind(u.role)
    .bind(i64::from(u.must_change_password))
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

const USER_COLUMNS: &str = "u.id, u.tenant_id, t.name AS tenant_name, u.email, u.name, u.role, \
     u.active, u.must_change_password, u.created_at";

pub async fn get_user(
    pool: &AnyPool,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id \
         WHERE u.id = $1{}",
        scope.and("u.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(pool)
    .await
}

/// Same as [`get_user`] inside a write transaction (the row the action is about to change).
pub async fn get_user_tx(
    tx: &mut Tx,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id \
         WHERE u.id = $1{}",
        scope.and("u.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(&mut **tx)
    .await
}

pub struct UserFilter<'a> {
    pub scope: &'a TenantScope,
    /// Narrow further to one tenant ("" = all the scope allows).
    pub tenant_id: &'a str,
    pub search: &'a str,
}

pub async fn list_users(
    pool: &AnyPool,
    f: &UserFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<UserRow>, i64)> {
    let mut w = Where::new();
    w.scope("u.tenant_id", f.scope)
        .eq("u.tenant_id", f.tenant_id)
        .contains(&["u.email", "u.name"], f.search);
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id \
         {} ORDER BY t.name, u.email LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM users u {}", w.sql()))
        .bind_all(w.params())
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// Locks the tenant's row until `tx` ends (PostgreSQL `FOR UPDATE`; a SQLite write
/// transaction already holds the database's only write lock).
pub async fn lock_tenant(tx: &mut Tx, tenant_id: &str) -> sqlx::Result<()> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Active OWNERs of a tenant other than `except_user_id`.
pub async fn count_other_active_owners(
    tx: &mut Tx,
    tenant_id: &str,
    except_user_id: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE tenant_id = $1 AND id <> $2 \
         AND role = 'OWNER' AND active = 1",
    )
    .bind(tenant_id)
    .bind(except_user_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn set_user_role(tx: &mut Tx, id: &str, role: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET role = $1, updated_at = $2 WHERE id = $3")
        .bind(role)
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn set_user_active(tx: &mut Tx, id: &str, active: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE users SET active = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(active))
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

pub async fn password_hash(tx: &mut Tx, user_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1 AND active = 1")
        .bind(user_id)
        .fetch_optional(&mut **tx)
        .await
}

pub async fn set_password(
    tx: &mut Tx,
    user_id: &str,
    hash: &str,
    must_change: bool,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE users SET password_hash = $1, must_change_password = $2, updated_at = $3 \
         WHERE id = $4",
    )
    .bind(hash)
    .bind(i64::from(must_change))
    .bind(Timestamp::now().0)
    .bind(user_id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn find_login(pool: &AnyPool, email: &str) -> sqlx::Result<Option<LoginRow>> {
    sqlx::query_as("SELECT id, tenant_id, password_hash, active FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(pool)
        .await
}

pub async fn insert_session(tx: &mut Tx, s: &NewSession<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO sessions (id, user_id, tenant_id, ip, user_agent, created_at, \
         last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.tenant_id)
    .bind(s.ip)
    .bind(s.user_agent)
    .bind(s.now.0)
    .bind(s.expires_at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The session with this id if it has not expired (absolutely or by idleness) and its user
/// is still active, with the tenant policy every request must obey (one query per request).
pub async fn find_live_session(
    pool: &AnyPool,
    id: &str,
    now: Timestamp,
    idle_cutoff: Timestamp,
) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(
        "SELECT s.id, s.user_id, u.email, u.name, u.role, u.must_change_password, \
         s.tenant_id, t.name AS tenant_name, t.kind AS tenant_kind, s.created_at, s.last_seen_at, \
         COALESCE(p.idle_minutes, 0) AS policy_idle_minutes, \
         COALESCE(p.absolute_minutes, 0) AS policy_absolute_minutes, \
         COALESCE(p.require_mfa, 0) AS require_mfa, COALESCE(p.ip_allowlist, '') AS ip_allowlist, \
         COALESCE(m.enabled, 0) AS mfa_enabled \
         FROM sessions s JOIN users u ON u.id = s.user_id JOIN tenants t ON t.id = s.tenant_id \
         LEFT JOIN tenant_security_policy p ON p.tenant_id = s.tenant_id \
         LEFT JOIN user_mfa m ON m.user_id = s.user_id \
         WHERE s.id = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.active = 1",
    )
    .bind(id)
    .bind(now.0)
    .bind(idle_cutoff.0)
    .fetch_optional(pool)
    .await
}

pub async fn touch_session(pool: &AnyPool, id: &str, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now.0)
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn delete_session(pool: &AnyPool, id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Ends a user's sessions, keeping `keep` (the caller's own) when given.
pub async fn delete_user_sessions(tx: &mut Tx, user_id: &str, keep: &str) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user_id)
        .bind(keep)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

/// Removes sessions past their absolute expiry or idle limit, and spent throttle rows.
pub async fn purge_expired(
    pool: &AnyPool,
    now: Timestamp,
    idle_cutoff: Timestamp,
) -> sqlx::Result<u64> {
    let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
        .bind(now.0)
        .bind(idle_cutoff.0)
        .execute(pool)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM login_throttle WHERE tat_ms <= $1")
        .bind(now.0)
        .execute(pool)
        .await?;
    crate::security::store::purge_challenges(pool, now).await?;
    Ok(sessions)
}

pub async fn throttle_tat(pool: &AnyPool, key: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT tat_ms FROM login_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
}

/// Reserves one attempt under `key` before it is verified: TAT = max(TAT, now) + interval, but
/// only while the new TAT stays within `limit_ms` of now. One conditional upsert, so N
/// concurrent attempts take N slots (or are refused) on both backends; returns whether this
/// attempt got one. A refused attempt changes nothing.
pub async fn throttle_reserve(
    pool: &AnyPool,
    key: &str,
    now_ms: i64,
    interval_ms: i64,
    limit_ms: i64,
) -> sqlx::Result<bool> {
    let reserved: Option<i64> = sqlx::query_scalar(
        "INSERT INTO login_throttle (key, tat_ms) VALUES ($1, $2 + $3) \
         ON CONFLICT (key) DO UPDATE SET tat_ms = \
         CASE WHEN login_throttle.tat_ms > $2 THEN login_throttle.tat_ms ELSE $2 END + $3 \
         WHERE CASE WHEN login_throttle.tat_ms > $2 THEN login_throttle.tat_ms ELSE $2 END + $3 \
         <= $2 + $4 \
         RETURNING tat_ms",
    )
    .bind(key)
    .bind(now_ms)
    .bind(interval_ms)
    .bind(limit_ms)
    .fetch_optional(pool)
    .await?;
    Ok(reserved.is_some())
}

/// Gives back one reserved attempt (the attempt succeeded, or another key refused it).
pub async fn throttle_refund(pool: &AnyPool, key: &str, interval_ms: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE login_throttle SET tat_ms = tat_ms - $1 WHERE key = $2")
        .bind(interval_ms)
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn throttle_clear(pool: &AnyPool, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ())
}

pub use crate::db::like_pattern;
