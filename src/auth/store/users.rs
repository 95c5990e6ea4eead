//! Users: rows, lists, roles, activation and passwords.

use sqlx::{AnyPool, FromRow};

use crate::auth::model::TenantScope;
use crate::db::filter::Where;
use crate::db::{Scoped, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct UserRow {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub email: String,
    pub name: String,
    pub role: crate::actor::Role,
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

pub async fn count_users<'e, E>(ex: E) -> sqlx::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(ex)
        .await
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

/// A user in scope, with their tenant's name (`&db.pool`, or `&mut *tx` for the row an action
/// is about to change).
pub async fn get_user<'e, E>(ex: E, scope: &TenantScope, id: &str) -> sqlx::Result<Option<UserRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id \
         WHERE u.id = $1{}",
        scope.and("u.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(ex)
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

/// Users in the filter, newest first by `(created_at, id)`, after `after` (the API's cursor
/// paging).
pub async fn users_after(
    pool: &AnyPool,
    f: &UserFilter<'_>,
    after: Option<(i64, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<UserRow>> {
    let mut w = Where::new();
    w.scope("u.tenant_id", f.scope)
        .eq("u.tenant_id", f.tenant_id)
        .contains(&["u.email", "u.name"], f.search)
        .keyset_desc("u.created_at", "u.id", after);
    let n = w.next();
    sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS} FROM users u JOIN tenants t ON t.id = u.tenant_id \
         {} ORDER BY u.created_at DESC, u.id DESC LIMIT ${n}",
        w.sql()
    ))
    .bind_all(w.params())
    .bind(limit)
    .fetch_all(pool)
    .await
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
