//! SQL for the audit log.

use sqlx::{AnyPool, FromRow};

use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope};
use crate::db::{Timestamp, Tx};

pub struct NewEntry<'a> {
    pub id: &'a str,
    pub tenant_id: Option<&'a str>,
    pub actor_user_id: Option<&'a str>,
    pub actor_email: &'a str,
    pub action: &'a str,
    pub target_type: &'a str,
    pub target_id: &'a str,
    pub summary: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub at: Timestamp,
}

#[derive(Clone, Debug, FromRow)]
pub struct EntryRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub actor_email: String,
    pub action: String,
    pub target_type: String,
    pub target_id: String,
    pub summary: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: Timestamp,
}

pub async fn insert(tx: &mut Tx, e: &NewEntry<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (id, tenant_id, actor_user_id, actor_email, action, target_type, \
         target_id, summary, ip, user_agent, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(e.id)
    .bind(e.tenant_id)
    .bind(e.actor_user_id)
    .bind(e.actor_email)
    .bind(e.action)
    .bind(e.target_type)
    .bind(e.target_id)
    .bind(e.summary)
    .bind(e.ip)
    .bind(e.user_agent)
    .bind(e.at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// [`insert`] for many entries, in as few statements as the bind limit allows.
pub async fn insert_many(tx: &mut Tx, entries: &[NewEntry<'_>]) -> sqlx::Result<()> {
    use crate::db::bulk::{Val, insert_rows};
    let rows: Vec<Vec<Val>> = entries
        .iter()
        .map(|e| {
            vec![
                e.id.into(),
                e.tenant_id.into(),
                e.actor_user_id.into(),
                e.actor_email.into(),
                e.action.into(),
                e.target_type.into(),
                e.target_id.into(),
                e.summary.into(),
                e.ip.into(),
                e.user_agent.into(),
                e.at.0.into(),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "audit_log",
        &[
            "id",
            "tenant_id",
            "actor_user_id",
            "actor_email",
            "action",
            "target_type",
            "target_id",
            "summary",
            "ip",
            "user_agent",
            "created_at",
        ],
        &rows,
        "",
    )
    .await
    .map(|_| ())
}

pub struct Filter<'a> {
    pub scope: &'a TenantScope,
    /// Substring of the actor's e-mail ("" = any).
    pub actor: &'a str,
    /// Action prefix, e.g. `user.` or `user.role_changed` ("" = any).
    pub action: &'a str,
    pub from: Option<Timestamp>,
    /// Exclusive upper bound.
    pub until: Option<Timestamp>,
}

pub async fn list(
    pool: &AnyPool,
    f: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<EntryRow>, i64)> {
    let mut w = Where::new();
    w.scope("a.tenant_id", f.scope)
        .contains(&["a.actor_email"], f.actor)
        .starts_with("a.action", f.action)
        .since("a.created_at", f.from.map(|t| t.0))
        .before("a.created_at", f.until.map(|t| t.0));
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT a.id, a.tenant_id, t.name AS tenant_name, a.actor_email, a.action, \
         a.target_type, a.target_id, a.summary, a.ip, a.user_agent, a.created_at \
         FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id \
         {} ORDER BY a.created_at DESC, a.id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM audit_log a {}", w.sql()))
        .bind_all(w.params())
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// Distinct action names, for the filter's choices.
pub async fn actions(pool: &AnyPool, scope: &TenantScope) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(&format!(
        "SELECT DISTINCT action FROM audit_log{} ORDER BY action",
        scope.where_("tenant_id", 1)
    ))
    .scoped(scope)
    .fetch_all(pool)
    .await
}
