//! SQL for backup policies (`backup_policies`) and runs (`backup_runs`). Reads of a tenant's
//! rows take its scope.

use sqlx::{AnyPool, FromRow};

use super::model::{Frequency, RunStatus};
use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct PolicyRow {
    pub pod_id: String,
    pub tenant_id: String,
    pub frequency: Frequency,
    pub retention: i64,
    pub next_run_at: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const POLICY_SELECT: &str = "SELECT p.pod_id, p.tenant_id, p.frequency, p.retention, \
     p.next_run_at, p.created_at, p.updated_at FROM backup_policies p";

pub struct NewPolicy<'a> {
    pub pod_id: &'a str,
    pub tenant_id: &'a str,
    pub frequency: Frequency,
    pub retention: i64,
    pub next_run_at: Timestamp,
    pub now: Timestamp,
}

pub async fn insert_policy(tx: &mut Tx, p: &NewPolicy<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO backup_policies (pod_id, tenant_id, frequency, retention, next_run_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
    )
    .bind(p.pod_id)
    .bind(p.tenant_id)
    .bind(p.frequency.as_str())
    .bind(p.retention)
    .bind(p.next_run_at.0)
    .bind(p.now.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The pod's policy in `scope`; `ex` is `&db.pool` or `&mut **tx`.
pub async fn policy<'e, E>(
    ex: E,
    scope: &TenantScope,
    pod_id: &str,
) -> sqlx::Result<Option<PolicyRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "{POLICY_SELECT} WHERE p.pod_id = $1{}",
        scope.and("p.tenant_id", 2)
    ))
    .bind(pod_id)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

pub async fn update_policy(
    tx: &mut Tx,
    pod_id: &str,
    frequency: Frequency,
    retention: i64,
    next_run_at: Timestamp,
    now: Timestamp,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE backup_policies SET frequency = $1, retention = $2, next_run_at = $3, \
         updated_at = $4 WHERE pod_id = $5",
    )
    .bind(frequency.as_str())
    .bind(retention)
    .bind(next_run_at.0)
    .bind(now.0)
    .bind(pod_id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Policies whose next slot has begun, of pods that have a VM to back up.
pub async fn due_policies(
    pool: &AnyPool,
    now: Timestamp,
    limit: i64,
) -> sqlx::Result<Vec<PolicyRow>> {
    sqlx::query_as(&format!(
        "{POLICY_SELECT} JOIN cloudpods c ON c.id = p.pod_id \
         WHERE p.next_run_at <= $1 AND c.deleted_at IS NULL \
         AND c.status IN ('ACTIVE', 'SUSPENDED') ORDER BY p.next_run_at, p.pod_id LIMIT $2"
    ))
    .bind(now.0)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Moves the policy's next run from `seen` to `next`; 0 when another scheduler did first.
pub async fn claim_slot(
    tx: &mut Tx,
    pod_id: &str,
    seen: Timestamp,
    next: Timestamp,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE backup_policies SET next_run_at = $1 WHERE pod_id = $2 AND next_run_at = $3",
    )
    .bind(next.0)
    .bind(pod_id)
    .bind(seen.0)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

#[derive(Clone, Debug, FromRow)]
pub struct RunRow {
    pub id: String,
    pub pod_id: String,
    pub pod_name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub slot: Timestamp,
    pub status: RunStatus,
    pub job_id: Option<String>,
    pub task_upid: Option<String>,
    pub volid: Option<String>,
    pub size_bytes: Option<i64>,
    pub error: String,
    pub removed: i64,
    pub removed_at: Option<Timestamp>,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
}

const RUN_SELECT: &str = "SELECT r.id, r.pod_id, c.name AS pod_name, r.tenant_id, \
     t.name AS tenant_name, r.slot, r.status, r.job_id, r.task_upid, r.volid, r.size_bytes, \
     r.error, r.removed, r.removed_at, r.started_at, r.finished_at FROM backup_runs r \
     JOIN cloudpods c ON c.id = r.pod_id JOIN tenants t ON t.id = r.tenant_id";

/// The run of `slot` for the pod, created RUNNING by `job_id` unless it exists.
pub async fn start_run(
    pool: &AnyPool,
    id: &str,
    pod_id: &str,
    tenant_id: &str,
    slot: Timestamp,
    job_id: &str,
    now: Timestamp,
) -> sqlx::Result<RunRow> {
    sqlx::query(
        "INSERT INTO backup_runs (id, pod_id, tenant_id, slot, status, job_id, started_at) \
         VALUES ($1, $2, $3, $4, 'RUNNING', $5, $6) ON CONFLICT (pod_id, slot) DO NOTHING",
    )
    .bind(id)
    .bind(pod_id)
    .bind(tenant_id)
    .bind(slot.0)
    .bind(job_id)
    .bind(now.0)
    .execute(pool)
    .await?;
    sqlx::query_as(&format!("{RUN_SELECT} WHERE r.pod_id = $1 AND r.slot = $2"))
        .bind(pod_id)
        .bind(slot.0)
        .fetch_one(pool)
        .await
}

/// Saves the task in flight on a running run.
pub async fn save_task(pool: &AnyPool, run_id: &str, upid: Option<&str>) -> sqlx::Result<u64> {
    sqlx::query("UPDATE backup_runs SET task_upid = $1 WHERE id = $2 AND status = 'RUNNING'")
        .bind(upid)
        .bind(run_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected())
}

pub async fn succeed(
    pool: &AnyPool,
    run_id: &str,
    volid: &str,
    size_bytes: i64,
    now: Timestamp,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE backup_runs SET status = 'SUCCEEDED', volid = $1, size_bytes = $2, \
         finished_at = $3, task_upid = NULL, error = '' WHERE id = $4 AND status = 'RUNNING'",
    )
    .bind(volid)
    .bind(size_bytes)
    .bind(now.0)
    .bind(run_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

pub async fn fail(pool: &AnyPool, run_id: &str, error: &str, now: Timestamp) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE backup_runs SET status = 'FAILED', error = $1, finished_at = $2 \
         WHERE id = $3 AND status = 'RUNNING'",
    )
    .bind(error)
    .bind(now.0)
    .bind(run_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

/// A note on the run (an attempt failed and will be retried; old copies not removed).
pub async fn note(pool: &AnyPool, run_id: &str, error: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE backup_runs SET error = $1 WHERE id = $2")
        .bind(error)
        .bind(run_id)
        .execute(pool)
        .await
        .map(|_| ())
}

/// Marks the pod's runs whose backup `volid` was removed by retention; counts them on `run_id`.
pub async fn mark_removed(
    tx: &mut Tx,
    pod_id: &str,
    run_id: &str,
    volid: &str,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE backup_runs SET removed_at = $1 WHERE pod_id = $2 AND volid = $3 \
         AND removed_at IS NULL",
    )
    .bind(now.0)
    .bind(pod_id)
    .bind(volid)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE backup_runs SET removed = removed + 1 WHERE id = $1")
        .bind(run_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// The filters of the staff list; empty strings are not filtered.
#[derive(Clone, Debug, Default)]
pub struct RunFilter<'a> {
    pub status: &'a str,
    pub pod_id: &'a str,
    /// Started at or after this instant.
    pub since: Option<i64>,
    /// Started before this instant.
    pub before: Option<i64>,
}

/// Runs in `scope`, newest first, at most `limit`; and how many match.
pub async fn list_runs(
    pool: &AnyPool,
    scope: &TenantScope,
    f: &RunFilter<'_>,
    limit: i64,
) -> sqlx::Result<(Vec<RunRow>, i64)> {
    let mut w = Where::new();
    w.scope("r.tenant_id", scope)
        .eq("r.status", f.status)
        .eq("r.pod_id", f.pod_id)
        .since("r.started_at", f.since)
        .before("r.started_at", f.before);
    let total: i64 = sqlx::query_scalar(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM backup_runs r {}",
        w.sql()
    ))
    .bind_all(w.params())
    .fetch_one(pool)
    .await?;
    let rows = sqlx::query_as(&format!(
        "{RUN_SELECT} {} ORDER BY r.started_at DESC, r.id DESC LIMIT ${}",
        w.sql(),
        w.next()
    ))
    .bind_all(w.params())
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok((rows, total))
}

/// Runs started since `since` in `scope`, by status.
pub async fn status_counts_since(
    pool: &AnyPool,
    scope: &TenantScope,
    since: Timestamp,
) -> sqlx::Result<Vec<(RunStatus, i64)>> {
    sqlx::query_as(&format!(
        "SELECT r.status, CAST(COUNT(*) AS BIGINT) FROM backup_runs r WHERE r.started_at >= $1{} \
         GROUP BY r.status",
        scope.and("r.tenant_id", 2)
    ))
    .bind(since.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// A pod under a policy and its last successful backup.
#[derive(Clone, Debug, FromRow)]
pub struct PodBackupRow {
    pub pod_id: String,
    pub pod_name: String,
    pub tenant_name: String,
    pub frequency: Frequency,
    pub policy_created_at: Timestamp,
    pub last_success: Option<Timestamp>,
}

/// Every live pod with a policy in `scope`, the least recently backed up first.
pub async fn pod_health(pool: &AnyPool, scope: &TenantScope) -> sqlx::Result<Vec<PodBackupRow>> {
    sqlx::query_as(&format!(
        "SELECT h.* FROM (SELECT c.id AS pod_id, c.name AS pod_name, t.name AS tenant_name, \
         p.frequency, p.created_at AS policy_created_at, \
         (SELECT MAX(r.finished_at) FROM backup_runs r WHERE r.pod_id = c.id \
          AND r.status = 'SUCCEEDED') AS last_success \
         FROM backup_policies p JOIN cloudpods c ON c.id = p.pod_id \
         JOIN tenants t ON t.id = c.tenant_id \
         WHERE c.deleted_at IS NULL AND c.status IN ('ACTIVE', 'SUSPENDED'){}) h \
         ORDER BY CASE WHEN h.last_success IS NULL THEN 0 ELSE 1 END, h.last_success, \
         h.pod_name, h.pod_id",
        scope.and("p.tenant_id", 1)
    ))
    .scoped(scope)
    .fetch_all(pool)
    .await
}
