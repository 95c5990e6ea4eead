//! SQL for guardian findings, always in the actor's tenant scope.

use sqlx::{AnyPool, FromRow};

use super::model::{FindingStatus, Severity};
use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope, Timestamp, Tx, new_id};

#[derive(Clone, Debug, FromRow)]
pub struct FindingRow {
    pub id: String,
    pub tenant_id: String,
    pub pod_id: String,
    pub pod_name: String,
    pub finding_key: String,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub status: FindingStatus,
    pub status_reason: String,
    pub seen_count: i64,
    pub first_seen_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<String>,
}

const COLUMNS: &str = "f.id, f.tenant_id, f.pod_id, p.name AS pod_name, f.finding_key, \
    f.severity, f.title, f.detail, f.status, f.status_reason, f.seen_count, f.first_seen_at, \
    f.last_seen_at, f.closed_at, f.closed_by";

pub struct NewFinding<'a> {
    pub tenant_id: &'a str,
    pub pod_id: &'a str,
    pub key: &'a str,
    pub severity: Severity,
    pub title: &'a str,
    pub detail: &'a str,
    pub now: Timestamp,
}

/// Records a finding, or — the same pod and key again — updates the one there: last seen,
/// how often, what it says now, and its status after a repeat. True when a row was added.
pub async fn upsert(tx: &mut Tx, f: &NewFinding<'_>) -> sqlx::Result<(String, bool)> {
    let existing: Option<(String, FindingStatus)> = sqlx::query_as(
        "SELECT id, status FROM guardian_findings WHERE pod_id = $1 AND finding_key = $2",
    )
    .bind(f.pod_id)
    .bind(f.key)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some((id, status)) = existing {
        let next = status.on_repeat();
        let reopen = if next != status {
            ", status_reason = '', closed_at = NULL, closed_by = NULL"
        } else {
            ""
        };
        sqlx::query(&format!(
            "UPDATE guardian_findings SET severity = $1, title = $2, detail = $3, status = $4, \
             seen_count = seen_count + 1, last_seen_at = CASE WHEN last_seen_at > $5 THEN last_seen_at ELSE $5 END, \
             updated_at = $5{reopen} WHERE id = $6"
        ))
        .bind(f.severity.as_str())
        .bind(f.title)
        .bind(f.detail)
        .bind(next.as_str())
        .bind(f.now.0)
        .bind(&id)
        .execute(&mut **tx)
        .await?;
        return Ok((id, false));
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO guardian_findings (id, tenant_id, pod_id, finding_key, severity, title, detail, \
         first_seen_at, last_seen_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $8)",
    )
    .bind(&id)
    .bind(f.tenant_id)
    .bind(f.pod_id)
    .bind(f.key)
    .bind(f.severity.as_str())
    .bind(f.title)
    .bind(f.detail)
    .bind(f.now.0)
    .execute(&mut **tx)
    .await?;
    Ok((id, true))
}

pub async fn get<'e, E>(ex: E, scope: &TenantScope, id: &str) -> sqlx::Result<Option<FindingRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guardian_findings f JOIN cloudpods p ON p.id = f.pod_id \
         WHERE f.id = $1{}",
        scope.and("f.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

#[derive(Default)]
pub struct Filter<'a> {
    pub status: &'a str,
    pub severity: &'a str,
    pub pod_id: &'a str,
    pub tenant_id: &'a str,
}

/// One page of findings, the latest seen first, and their total.
pub async fn list(
    pool: &AnyPool,
    scope: &TenantScope,
    f: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<FindingRow>, i64)> {
    let mut w = Where::new();
    w.scope("f.tenant_id", scope)
        .eq("f.status", f.status)
        .eq("f.severity", f.severity)
        .eq("f.pod_id", f.pod_id)
        .eq("f.tenant_id", f.tenant_id);
    let sql_where = format!(" {}", w.sql());
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM guardian_findings f JOIN cloudpods p ON p.id = f.pod_id{sql_where} \
         ORDER BY f.last_seen_at DESC, f.id DESC LIMIT ${n} OFFSET ${}",
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM guardian_findings f{sql_where}"
    ))
    .bind_all(w.params())
    .fetch_one(pool)
    .await?;
    Ok((rows, total))
}

/// Open findings by severity.
pub async fn open_by_severity(
    pool: &AnyPool,
    scope: &TenantScope,
) -> sqlx::Result<Vec<(Severity, i64)>> {
    sqlx::query_as(&format!(
        "SELECT severity, CAST(COUNT(*) AS BIGINT) FROM guardian_findings \
         WHERE status = 'OPEN'{} GROUP BY severity",
        scope.and("tenant_id", 1)
    ))
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// Closes an open finding (resolved or ignored) with the reason; 0 when it was not open.
pub async fn close(
    tx: &mut Tx,
    id: &str,
    to: FindingStatus,
    reason: &str,
    by: &str,
    now: Timestamp,
) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE guardian_findings SET status = $1, status_reason = $2, closed_by = $3, closed_at = $4, \
         updated_at = $4 WHERE id = $5 AND status = 'OPEN'",
    )
    .bind(to.as_str())
    .bind(reason)
    .bind(by)
    .bind(now.0)
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}
