//! Sign-in lookups and sessions: creating, finding live ones, touching, ending, purging.

use sqlx::{AnyPool, FromRow};

use crate::db::{Timestamp, Tx};

/// What a login needs to know about the account behind an e-mail address.
#[derive(Clone, Debug, FromRow)]
pub struct LoginRow {
    pub id: String,
    pub tenant_id: String,
    pub password_hash: String,
    pub active: i64,
}

/// A live session joined with its user and tenant: everything an [`Actor`](crate::auth::model::Actor) needs.
#[derive(Clone, Debug, FromRow, serde::Serialize, serde::Deserialize)]
pub struct SessionRow {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub role: crate::actor::Role,
    pub must_change_password: i64,
    pub tenant_id: String,
    pub tenant_name: String,
    pub tenant_kind: crate::actor::TenantKind,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    /// The tenant's security policy (see `security::model::Policy`); 0 / "" when it has none.
    pub policy_idle_minutes: i64,
    pub policy_absolute_minutes: i64,
    pub require_mfa: i64,
    pub ip_allowlist: String,
    /// An authenticator app or a passkey.
    pub mfa_enabled: i64,
    pub passkeys: i64,
    /// The tenant's `passkeys_min_role` ("" when none).
    pub passkeys_min_role: String,
}

pub struct NewSession<'a> {
    pub id: &'a str,
    /// The session record's data (axum-login's user id and auth hash, our meta), as JSON.
    pub data: &'a str,
    pub user_id: &'a str,
    pub tenant_id: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn find_login(pool: &AnyPool, email: &str) -> sqlx::Result<Option<LoginRow>> {
    sqlx::query_as("SELECT id, tenant_id, password_hash, active FROM users WHERE email = $1")
        .bind(email)
        .fetch_optional(pool)
        .await
}

/// Stores a new session; `false` when the id is taken (the caller draws another).
pub async fn insert_session(pool: &AnyPool, s: &NewSession<'_>) -> sqlx::Result<bool> {
    let inserted = sqlx::query(
        "INSERT INTO sessions (id, user_id, tenant_id, ip, user_agent, created_at, \
         last_seen_at, expires_at, data) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(s.id)
    .bind(s.user_id)
    .bind(s.tenant_id)
    .bind(s.ip)
    .bind(s.user_agent)
    .bind(s.now.0)
    .bind(s.expires_at.0)
    .bind(s.data)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Replaces a live session's record data; 0 when the session is gone (revoked meanwhile:
/// it is never brought back).
pub async fn save_session_data(pool: &AnyPool, id: &str, data: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query("UPDATE sessions SET data = $1 WHERE id = $2")
        .bind(data)
        .bind(id)
        .execute(pool)
        .await?
        .rows_affected())
}

/// A live session as the session store loads it: the joined row and the record's data.
#[derive(Clone, Debug, FromRow)]
pub struct LiveSession {
    #[sqlx(flatten)]
    pub row: SessionRow,
    pub data: String,
    pub expires_at: i64,
}

/// [`find_live_session`] with the record's data and expiry (one query per request).
pub async fn load_live_session(
    pool: &AnyPool,
    id: &str,
    now: Timestamp,
    idle_cutoff: Timestamp,
) -> sqlx::Result<Option<LiveSession>> {
    sqlx::query_as(&format!(
        "SELECT {LIVE_COLUMNS}, s.data, s.expires_at {LIVE_FROM}"
    ))
    .bind(id)
    .bind(now.0)
    .bind(idle_cutoff.0)
    .fetch_optional(pool)
    .await
}

const LIVE_COLUMNS: &str = "s.id, s.user_id, u.email, u.name, u.role, u.must_change_password, \
     s.tenant_id, t.name AS tenant_name, t.kind AS tenant_kind, s.created_at, s.last_seen_at, \
     COALESCE(p.idle_minutes, 0) AS policy_idle_minutes, \
     COALESCE(p.absolute_minutes, 0) AS policy_absolute_minutes, \
     COALESCE(p.require_mfa, 0) AS require_mfa, COALESCE(p.ip_allowlist, '') AS ip_allowlist, \
     CAST(CASE WHEN COALESCE(m.enabled, 0) = 1 OR EXISTS (SELECT 1 FROM passkeys k \
     WHERE k.user_id = s.user_id) THEN 1 ELSE 0 END AS BIGINT) AS mfa_enabled, \
     CAST((SELECT COUNT(*) FROM passkeys k WHERE k.user_id = s.user_id) AS BIGINT) AS passkeys, \
     COALESCE(p.passkeys_min_role, '') AS passkeys_min_role";

const LIVE_FROM: &str = "FROM sessions s JOIN users u ON u.id = s.user_id \
     JOIN tenants t ON t.id = s.tenant_id \
     LEFT JOIN tenant_security_policy p ON p.tenant_id = s.tenant_id \
     LEFT JOIN user_mfa m ON m.user_id = s.user_id \
     WHERE s.id = $1 AND s.expires_at > $2 AND s.last_seen_at > $3 AND u.active = 1";

/// When the session `id` was established (its sign-in); `None` when there is no such session.
pub async fn session_started_at(pool: &AnyPool, id: &str) -> sqlx::Result<Option<Timestamp>> {
    sqlx::query_scalar("SELECT created_at FROM sessions WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// What the sign-in backend needs of a user: active, and the password hash its sessions are
/// bound to.
pub async fn session_user(pool: &AnyPool, id: &str) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as("SELECT id, password_hash FROM users WHERE id = $1 AND active = 1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The session with this id if it has not expired (absolutely or by idleness) and its user
/// is still active, with the tenant policy every request must obey.
pub async fn find_live_session(
    pool: &AnyPool,
    id: &str,
    now: Timestamp,
    idle_cutoff: Timestamp,
) -> sqlx::Result<Option<SessionRow>> {
    sqlx::query_as(&format!("SELECT {LIVE_COLUMNS} {LIVE_FROM}"))
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

pub async fn delete_session<'e, E>(ex: E, id: &str) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(id)
        .execute(ex)
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
    crate::security::passkeys::store::purge_ceremonies(pool, now).await?;
    Ok(sessions)
}
