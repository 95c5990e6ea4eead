//! SQL for the security events log.

use sqlx::{AnyPool, FromRow};

use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope};
use crate::db::{Timestamp, Tx};

pub struct NewEvent<'a> {
    pub tenant_id: Option<&'a str>,
    pub user_id: Option<&'a str>,
    pub subject_user_id: Option<&'a str>,
    pub email: &'a str,
    pub event_type: &'a str,
    pub summary: &'a str,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

pub async fn insert_event(tx: &mut Tx, e: &NewEvent<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO security_events (id, tenant_id, user_id, subject_user_id, email, \
         event_type, summary, ip, user_agent, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(crate::db::new_id())
    .bind(e.tenant_id)
    .bind(e.user_id)
    .bind(e.subject_user_id)
    .bind(e.email)
    .bind(e.event_type)
    .bind(e.summary)
    .bind(e.ip)
    .bind(e.user_agent)
    .bind(Timestamp::now().0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[derive(Clone, Debug, FromRow)]
pub struct EventRow {
    pub id: String,
    pub tenant_id: Option<String>,
    pub tenant_name: Option<String>,
    pub email: String,
    pub event_type: super::model::EventKind,
    pub summary: String,
    pub ip: String,
    pub user_agent: String,
    pub created_at: Timestamp,
}

pub struct EventFilter<'a> {
    pub scope: &'a TenantScope,
    pub event_type: &'a str,
    /// Substring of the e-mail recorded with the event ("" = anyone).
    pub user: &'a str,
    pub from: Option<Timestamp>,
    /// Exclusive upper bound.
    pub until: Option<Timestamp>,
    /// Only events after this `(created_at, id)` in the list's order (an API cursor).
    pub after: Option<(i64, &'a str)>,
}

const EVENT_COLUMNS: &str = "e.id, e.tenant_id, t.name AS tenant_name, e.email, e.event_type, \
     e.summary, e.ip, e.user_agent, e.created_at";

pub async fn list_events(
    pool: &AnyPool,
    f: &EventFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<EventRow>, i64)> {
    let mut w = Where::new();
    w.scope("e.tenant_id", f.scope)
        .eq("e.event_type", f.event_type.trim())
        .contains(&["e.email"], f.user)
        .since("e.created_at", f.from.map(|t| t.0))
        .before("e.created_at", f.until.map(|t| t.0))
        .keyset_desc("e.created_at", "e.id", f.after);
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM security_events e LEFT JOIN tenants t ON t.id = e.tenant_id \
         {} ORDER BY e.created_at DESC, e.id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM security_events e {}",
        w.sql()
    ))
    .bind_all(w.params())
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// The latest events by or about one user (their own security page).
pub async fn recent_user_events(
    pool: &AnyPool,
    user_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM security_events e LEFT JOIN tenants t ON t.id = e.tenant_id \
         WHERE e.user_id = $1 OR e.subject_user_id = $1 \
         ORDER BY e.created_at DESC, e.id DESC LIMIT $2"
    ))
    .bind(user_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
