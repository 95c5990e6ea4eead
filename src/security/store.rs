//! SQL for MFA, recovery codes, login challenges, sessions and tenant policy. API tokens are
//! in `token_store.rs`, security events in `event_store.rs`. Queries on tenant-owned rows
//! take a [`TenantScope`].

use sqlx::{AnyPool, FromRow};

use super::model::{Policy, parse_allowlist};
use crate::db::{Scoped, TenantScope};
use crate::db::{Timestamp, Tx};

// ---------------------------------------------------------------- MFA

#[derive(Clone, Debug, FromRow)]
pub struct MfaRow {
    pub user_id: String,
    pub secret_enc: String,
    pub enabled: i64,
    pub last_step: i64,
    pub enabled_at: Option<i64>,
}

const MFA_COLUMNS: &str = "user_id, secret_enc, enabled, last_step, enabled_at";

pub async fn mfa<'e, E>(ex: E, user_id: &str) -> sqlx::Result<Option<MfaRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {MFA_COLUMNS} FROM user_mfa WHERE user_id = $1"
    ))
    .bind(user_id)
    .fetch_optional(ex)
    .await
}

/// Stores a new pending (not yet enabled) secret, replacing an earlier pending one.
pub async fn set_pending_secret(tx: &mut Tx, user_id: &str, sealed: &str) -> sqlx::Result<()> {
    let now = Timestamp::now().0;
    sqlx::query(
        "INSERT INTO user_mfa (user_id, secret_enc, enabled, last_step, created_at, updated_at) \
         VALUES ($1, $2, 0, 0, $3, $3) \
         ON CONFLICT (user_id) DO UPDATE SET secret_enc = $2, enabled = 0, last_step = 0, \
         enabled_at = NULL, updated_at = $3",
    )
    .bind(user_id)
    .bind(sealed)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Turns MFA on, recording the step of the confirming code as used. False if already on.
pub async fn enable_mfa(tx: &mut Tx, user_id: &str, step: i64) -> sqlx::Result<bool> {
    let now = Timestamp::now().0;
    sqlx::query(
        "UPDATE user_mfa SET enabled = 1, last_step = $1, enabled_at = $2, updated_at = $2 \
         WHERE user_id = $3 AND enabled = 0",
    )
    .bind(step)
    .bind(now)
    .bind(user_id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected() == 1)
}

pub async fn delete_mfa(tx: &mut Tx, user_id: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("DELETE FROM user_mfa WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Accepts TOTP step `step` once: true only if it is later than the last accepted step. The
/// compare-and-set in one statement keeps two racing requests from both using a code.
pub async fn consume_step(pool: &AnyPool, user_id: &str, step: i64) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE user_mfa SET last_step = $1, updated_at = $2 \
         WHERE user_id = $3 AND enabled = 1 AND last_step < $1",
    )
    .bind(step)
    .bind(Timestamp::now().0)
    .bind(user_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
}

// ---------------------------------------------------------------- recovery codes

/// Replaces the user's recovery codes with these hashes (the old set stops working).
pub async fn replace_recovery_codes(
    tx: &mut Tx,
    user_id: &str,
    hashes: &[String],
) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let now = Timestamp::now().0;
    for hash in hashes {
        sqlx::query(
            "INSERT INTO recovery_codes (id, user_id, code_hash, used_at, created_at) \
             VALUES ($1, $2, $3, NULL, $4)",
        )
        .bind(crate::db::new_id())
        .bind(user_id)
        .bind(hash)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Marks an unused code as used; false when there is no such unused code.
pub async fn consume_recovery_code(
    pool: &AnyPool,
    user_id: &str,
    hash: &str,
) -> sqlx::Result<bool> {
    sqlx::query(
        "UPDATE recovery_codes SET used_at = $1 \
         WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
    )
    .bind(Timestamp::now().0)
    .bind(user_id)
    .bind(hash)
    .execute(pool)
    .await
    .map(|r| r.rows_affected() == 1)
}

/// Whether this code exists but was already used (a replay worth its own event).
pub async fn recovery_code_used(pool: &AnyPool, user_id: &str, hash: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM recovery_codes \
         WHERE user_id = $1 AND code_hash = $2 AND used_at IS NOT NULL",
    )
    .bind(user_id)
    .bind(hash)
    .fetch_one(pool)
    .await?;
    Ok(n > 0)
}

pub async fn unused_recovery_codes(pool: &AnyPool, user_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
        .bind(user_id)
        .fetch_one(pool)
        .await
}

// ---------------------------------------------------------------- second-factor challenges

#[derive(Clone, Debug, FromRow)]
pub struct ChallengeRow {
    pub id: String,
    pub user_id: String,
    pub email: String,
    pub tenant_id: String,
    pub next_path: String,
}

pub async fn insert_challenge(
    tx: &mut Tx,
    id: &str,
    user_id: &str,
    tenant_id: &str,
    next_path: &str,
    expires_at: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO mfa_challenges (id, user_id, tenant_id, next_path, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(user_id)
    .bind(tenant_id)
    .bind(next_path)
    .bind(Timestamp::now().0)
    .bind(expires_at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A challenge that has not expired, for a user who is still active.
pub async fn live_challenge(pool: &AnyPool, id: &str) -> sqlx::Result<Option<ChallengeRow>> {
    sqlx::query_as(
        "SELECT c.id, c.user_id, u.email, c.tenant_id, c.next_path FROM mfa_challenges c \
         JOIN users u ON u.id = c.user_id \
         WHERE c.id = $1 AND c.expires_at > $2 AND u.active = 1",
    )
    .bind(id)
    .bind(Timestamp::now().0)
    .fetch_optional(pool)
    .await
}

/// Deletes a challenge; true if this call removed it (so only one request completes it).
pub async fn take_challenge(tx: &mut Tx, id: &str) -> sqlx::Result<bool> {
    sqlx::query("DELETE FROM mfa_challenges WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected() == 1)
}

// ---------------------------------------------------------------- sessions

#[derive(Clone, Debug, FromRow)]
pub struct SessionListRow {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
}

/// A user's live sessions, most recently active first.
pub async fn user_sessions(
    pool: &AnyPool,
    scope: &TenantScope,
    user_id: &str,
    now: Timestamp,
    idle_cutoff: Timestamp,
) -> sqlx::Result<Vec<SessionListRow>> {
    sqlx::query_as(&format!(
        "SELECT id, user_id, tenant_id, ip, user_agent, created_at, last_seen_at FROM sessions \
         WHERE user_id = $1 AND expires_at > $2 AND last_seen_at > $3{} \
         ORDER BY last_seen_at DESC, id",
        scope.and("tenant_id", 4)
    ))
    .bind(user_id)
    .bind(now.0)
    .bind(idle_cutoff.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// One session in the scope; `ex` is `&db.pool` or `&mut *tx`.
pub async fn session<'e, E>(
    ex: E,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<SessionListRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT id, user_id, tenant_id, ip, user_agent, created_at, last_seen_at FROM sessions \
         WHERE id = $1{}",
        scope.and("tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

// ---------------------------------------------------------------- tenant policy

#[derive(Clone, Debug, FromRow)]
struct PolicyRow {
    min_password_length: i64,
    reject_common: i64,
    require_mfa: i64,
    ip_allowlist: String,
    idle_minutes: i64,
    absolute_minutes: i64,
    passkeys_min_role: String,
}

impl TryFrom<PolicyRow> for Policy {
    type Error = sqlx::Error;

    /// The allowlist is written only after validation; one that no longer parses is an error
    /// (never an empty list, which would allow every address).
    fn try_from(r: PolicyRow) -> sqlx::Result<Policy> {
        let ip_allowlist = parse_allowlist(&r.ip_allowlist).map_err(|e| {
            tracing::error!(error = %e, "a tenant's stored IP allowlist is unreadable");
            sqlx::Error::Decode(format!("unreadable stored IP allowlist: {e}").into())
        })?;
        Ok(Policy {
            min_password_length: r.min_password_length,
            reject_common: r.reject_common == 1,
            require_mfa: r.require_mfa == 1,
            ip_allowlist,
            idle_minutes: r.idle_minutes,
            absolute_minutes: r.absolute_minutes,
            passkeys_min_role: match r.passkeys_min_role.as_str() {
                "" => None,
                stored => Some(crate::actor::Role::from_stored(stored).map_err(|e| {
                    sqlx::Error::Decode(format!("stored passkey policy role: {e}").into())
                })?),
            },
        })
    }
}

const POLICY_SQL: &str = "SELECT min_password_length, reject_common, require_mfa, ip_allowlist, \
     idle_minutes, absolute_minutes, passkeys_min_role FROM tenant_security_policy \
     WHERE tenant_id = $1";

/// The tenant's policy, or the defaults when it never saved one.
pub async fn policy<'e, E>(ex: E, tenant_id: &str) -> sqlx::Result<Policy>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<PolicyRow> = sqlx::query_as(POLICY_SQL)
        .bind(tenant_id)
        .fetch_optional(ex)
        .await?;
    row.map_or(Ok(Policy::default()), Policy::try_from)
}

pub async fn save_policy(
    tx: &mut Tx,
    tenant_id: &str,
    p: &Policy,
    updated_by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tenant_security_policy (tenant_id, min_password_length, reject_common, \
         require_mfa, ip_allowlist, idle_minutes, absolute_minutes, updated_at, updated_by, \
         passkeys_min_role) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id) DO UPDATE SET min_password_length = $2, reject_common = $3, \
         require_mfa = $4, ip_allowlist = $5, idle_minutes = $6, absolute_minutes = $7, \
         updated_at = $8, updated_by = $9, passkeys_min_role = $10",
    )
    .bind(tenant_id)
    .bind(p.min_password_length)
    .bind(i64::from(p.reject_common))
    .bind(i64::from(p.require_mfa))
    .bind(p.allowlist_text())
    .bind(p.idle_minutes)
    .bind(p.absolute_minutes)
    .bind(Timestamp::now().0)
    .bind(updated_by)
    .bind(p.passkeys_min_role.map_or("", |r| r.as_str()))
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Removes spent second-factor challenges (called by the periodic purge).
pub async fn purge_challenges(pool: &AnyPool, now: Timestamp) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM mfa_challenges WHERE expires_at <= $1")
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}
