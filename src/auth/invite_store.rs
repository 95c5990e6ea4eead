//! SQL for invitations. No rules here: only queries. Reads of invitations an actor manages
//! take a [`TenantScope`]; the link lookup goes by token hash alone (the link is the key).

use sqlx::{Any, AnyPool, FromRow};

use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct InvitationRow {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub email: String,
    pub name: String,
    pub role: crate::actor::Role,
    pub invited_by_email: String,
    pub expires_at: i64,
    pub accepted_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub created_at: i64,
}

pub struct NewInvitation<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub token_hash: &'a str,
    pub invited_by: &'a str,
    pub invited_by_email: &'a str,
    pub expires_at: i64,
    pub now: i64,
}

const COLUMNS: &str = "i.id, i.tenant_id, t.name AS tenant_name, i.email, i.name, i.role, \
     i.invited_by_email, i.expires_at, i.accepted_at, i.revoked_at, i.created_at";

/// Whether any user, in any tenant, has this (normalised) address.
pub async fn email_has_account(tx: &mut Tx, email: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&mut **tx)
        .await?;
    Ok(n > 0)
}

/// The open (neither accepted nor revoked) invitation of `email` to `tenant_id`, if any.
pub async fn find_open(tx: &mut Tx, tenant_id: &str, email: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT id FROM invitations WHERE tenant_id = $1 AND email = $2 \
         AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(tenant_id)
    .bind(email)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert(tx: &mut Tx, n: &NewInvitation<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO invitations (id, tenant_id, email, name, role, token_hash, invited_by, \
         invited_by_email, expires_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
    )
    .bind(n.id)
    .bind(n.tenant_id)
    .bind(n.email)
    .bind(n.name)
    .bind(n.role)
    .bind(n.token_hash)
    .bind(n.invited_by)
    .bind(n.invited_by_email)
    .bind(n.expires_at)
    .bind(n.now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A new token and expiry for an open invitation (the old link stops working), with the
/// role, name and inviter of the latest invitation.
pub async fn renew(tx: &mut Tx, n: &NewInvitation<'_>) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE invitations SET name = $2, role = $3, token_hash = $4, invited_by = $5, \
         invited_by_email = $6, expires_at = $7, updated_at = $8 \
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(n.id)
    .bind(n.name)
    .bind(n.role)
    .bind(n.token_hash)
    .bind(n.invited_by)
    .bind(n.invited_by_email)
    .bind(n.expires_at)
    .bind(n.now)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Open invitations the scope may see, optionally of one tenant, newest first.
pub async fn list_open(
    pool: &AnyPool,
    scope: &TenantScope,
    tenant_id: &str,
) -> sqlx::Result<Vec<InvitationRow>> {
    let mut w = Where::new();
    w.raw("i.accepted_at IS NULL AND i.revoked_at IS NULL")
        .scope("i.tenant_id", scope)
        .eq("i.tenant_id", tenant_id);
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations i JOIN tenants t ON t.id = i.tenant_id \
         {} ORDER BY i.created_at DESC, i.id DESC LIMIT 200",
        w.sql()
    ))
    .bind_all(w.params())
    .fetch_all(pool)
    .await
}

pub async fn get(
    tx: &mut Tx,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<InvitationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations i JOIN tenants t ON t.id = i.tenant_id \
         WHERE i.id = $1{}",
        scope.and("i.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(&mut **tx)
    .await
}

/// The invitation behind a link, whatever its state.
pub async fn by_token<'e, E>(ex: E, token_hash: &str) -> sqlx::Result<Option<InvitationRow>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM invitations i JOIN tenants t ON t.id = i.tenant_id \
         WHERE i.token_hash = $1"
    ))
    .bind(token_hash)
    .fetch_optional(ex)
    .await
}

pub async fn revoke(tx: &mut Tx, id: &str, now: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE invitations SET revoked_at = $2, updated_at = $2 \
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Uses up a pending invitation: 0 rows when it was accepted, revoked or expired meanwhile.
pub async fn mark_accepted(tx: &mut Tx, id: &str, user_id: &str, now: i64) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE invitations SET accepted_at = $3, user_id = $2, updated_at = $3 \
         WHERE id = $1 AND accepted_at IS NULL AND revoked_at IS NULL AND expires_at > $3",
    )
    .bind(id)
    .bind(user_id)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}
