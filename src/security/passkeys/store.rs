//! SQL for passkeys and WebAuthn ceremonies. A user's passkeys are read and removed in the
//! actor's tenant scope; the sign-in looks a credential up by its id (nobody is signed in yet).

use sqlx::{AnyPool, FromRow};

use super::model::CeremonyKind;
use crate::db::{Scoped, TenantScope, Timestamp, Tx};

// ---------------------------------------------------------------- ceremonies

pub struct NewCeremony<'a> {
    pub id: &'a str,
    pub kind: CeremonyKind,
    pub user_id: Option<&'a str>,
    pub challenge_id: Option<&'a str>,
    pub label: &'a str,
    pub state_json: &'a str,
    pub now: Timestamp,
    pub expires_at: Timestamp,
}

pub async fn insert_ceremony(pool: &AnyPool, c: &NewCeremony<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO webauthn_ceremonies (id, kind, user_id, challenge_id, label, state_json, \
         created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(c.id)
    .bind(c.kind.as_str())
    .bind(c.user_id)
    .bind(c.challenge_id)
    .bind(c.label)
    .bind(c.state_json)
    .bind(c.now.0)
    .bind(c.expires_at.0)
    .execute(pool)
    .await
    .map(|_| ())
}

#[derive(Clone, Debug, FromRow)]
pub struct CeremonyRow {
    pub kind: CeremonyKind,
    pub user_id: Option<String>,
    pub challenge_id: Option<String>,
    pub label: String,
    pub state_json: String,
    pub expires_at: Timestamp,
}

/// Removes the ceremony and returns it: only the first of two racing answers gets it.
pub async fn take_ceremony(pool: &AnyPool, id: &str) -> sqlx::Result<Option<CeremonyRow>> {
    sqlx::query_as(
        "DELETE FROM webauthn_ceremonies WHERE id = $1 \
         RETURNING kind, user_id, challenge_id, label, state_json, expires_at",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Removes ceremonies past their five minutes (called by the periodic purge).
pub async fn purge_ceremonies(pool: &AnyPool, now: Timestamp) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM webauthn_ceremonies WHERE expires_at <= $1")
        .bind(now.0)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}

// ---------------------------------------------------------------- passkeys

#[derive(Clone, Debug, FromRow)]
pub struct PasskeyRow {
    pub id: String,
    pub user_id: String,
    pub tenant_id: String,
    pub credential_id: String,
    pub name: String,
    pub passkey_json: String,
    pub sign_count: i64,
    pub transports: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, user_id, tenant_id, credential_id, name, passkey_json, sign_count, \
     transports, created_at, last_used_at";

pub struct NewPasskey<'a> {
    pub id: &'a str,
    pub user_id: &'a str,
    pub tenant_id: &'a str,
    pub credential_id: &'a str,
    pub name: &'a str,
    pub passkey_json: &'a str,
    pub sign_count: i64,
    pub transports: &'a str,
    pub now: Timestamp,
}

/// Stores a new passkey; `false` when the credential id is already registered (to anyone).
pub async fn insert_passkey(tx: &mut Tx, p: &NewPasskey<'_>) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "INSERT INTO passkeys (id, user_id, tenant_id, credential_id, name, passkey_json, \
         sign_count, transports, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL) ON CONFLICT (credential_id) DO NOTHING",
    )
    .bind(p.id)
    .bind(p.user_id)
    .bind(p.tenant_id)
    .bind(p.credential_id)
    .bind(p.name)
    .bind(p.passkey_json)
    .bind(p.sign_count)
    .bind(p.transports)
    .bind(p.now.0)
    .execute(&mut **tx)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// A user's passkeys, oldest first; `ex` is `&db.pool` or `&mut *tx`.
pub async fn user_passkeys<'e, E>(
    ex: E,
    scope: &TenantScope,
    user_id: &str,
) -> sqlx::Result<Vec<PasskeyRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1{} ORDER BY created_at, id",
        scope.and("tenant_id", 2)
    ))
    .bind(user_id)
    .scoped(scope)
    .fetch_all(ex)
    .await
}

/// The passkeys of a user who is signing in (no actor yet, so no scope: the user id came
/// from a live sign-in challenge).
pub async fn signin_passkeys(pool: &AnyPool, user_id: &str) -> sqlx::Result<Vec<PasskeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(pool)
    .await
}

/// The passkey with this credential id, whoever it belongs to (the sign-in checks the owner).
pub async fn by_credential(
    pool: &AnyPool,
    credential_id: &str,
) -> sqlx::Result<Option<PasskeyRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1"
    ))
    .bind(credential_id)
    .fetch_optional(pool)
    .await
}

pub async fn count_for_user<'e, E>(ex: E, user_id: &str) -> sqlx::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(ex)
        .await
}

/// After a verified use: the updated credential (counter, backup flags) and when.
pub async fn record_use(
    pool: &AnyPool,
    id: &str,
    passkey_json: &str,
    sign_count: i64,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE passkeys SET passkey_json = $1, sign_count = $2, last_used_at = $3 WHERE id = $4",
    )
    .bind(passkey_json)
    .bind(sign_count)
    .bind(now.0)
    .bind(id)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Removes one of the user's passkeys in the scope; the removed row, or `None`.
pub async fn delete_passkey(
    tx: &mut Tx,
    scope: &TenantScope,
    user_id: &str,
    id: &str,
) -> sqlx::Result<Option<PasskeyRow>> {
    sqlx::query_as(&format!(
        "DELETE FROM passkeys WHERE id = $1 AND user_id = $2{} RETURNING {COLUMNS}",
        scope.and("tenant_id", 3)
    ))
    .bind(id)
    .bind(user_id)
    .scoped(scope)
    .fetch_optional(&mut **tx)
    .await
}
