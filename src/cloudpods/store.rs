//! SQL for CloudPods. Every query a person's request runs takes a `TenantScope`; the job
//! handlers act for the system and use `TenantScope::All`.

use sqlx::{AnyPool, FromRow};

use super::model::{Action, PodStatus, PowerState};
use crate::db::filter::Where;
use crate::db::{Backend, Scoped, TenantScope, Timestamp, Tx};
use crate::jobs::model::JobState;

#[derive(Clone, Debug, FromRow)]
pub struct PodRow {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub name: String,
    pub region: String,
    pub plan_code: String,
    pub target_plan_code: Option<String>,
    /// A free-text reference staff typed on the pod form (pods made before subscriptions).
    pub subscription_ref: Option<String>,
    /// The subscription that ordered this pod.
    pub subscription_id: Option<String>,
    pub status: PodStatus,
    pub failure_reason: String,
    /// The running operation (stored as '' when idle, read as `None`).
    pub operation: Option<Action>,
    pub operation_job_id: Option<String>,
    pub last_error: String,
    pub power_state: PowerState,
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub max_websites: i64,
    pub max_email_accounts: i64,
    pub pending_reboot: i64,
    pub provisioner: String,
    pub vmid: Option<i64>,
    pub node: Option<String>,
    pub task_upid: Option<String>,
    pub ip_address: Option<String>,
    pub mem_used_mb: Option<i64>,
    pub disk_used_gb: Option<i64>,
    pub usage_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub deleted_at: Option<Timestamp>,
    /// State of the job named by `operation_job_id` (NULL when idle).
    pub op_job_state: Option<JobState>,
    pub op_attempt: Option<i64>,
    pub op_max_attempts: Option<i64>,
    pub op_progress: Option<String>,
}

impl PodRow {
    pub fn status(&self) -> PodStatus {
        self.status
    }
    pub fn power(&self) -> PowerState {
        self.power_state
    }
    /// The action whose job is still open; an operation whose job ended without reporting
    /// back (cancelled on /ops/jobs, out of attempts after timeouts) no longer blocks.
    pub fn busy(&self) -> Option<Action> {
        if self.op_job_state.is_some_and(JobState::is_open) {
            self.operation
        } else {
            None
        }
    }
    /// The operation's job ended without the handler settling the pod.
    pub fn stale_operation(&self) -> bool {
        self.operation.is_some() && self.busy().is_none()
    }
}

const POD_SELECT: &str = "SELECT c.id, c.tenant_id, t.name AS tenant_name, c.name, c.region, \
    c.plan_code, c.target_plan_code, c.subscription_ref, c.subscription_id, c.status, c.failure_reason, NULLIF(c.operation, '') AS operation, \
    c.operation_job_id, c.last_error, c.power_state, c.cpu_cores, c.ram_mb, c.disk_gb, \
    c.max_websites, c.max_email_accounts, c.pending_reboot, c.provisioner, c.vmid, c.node, \
    c.task_upid, c.ip_address, c.mem_used_mb, c.disk_used_gb, c.usage_at, c.created_at, \
    c.updated_at, c.deleted_at, j.state AS op_job_state, j.attempt AS op_attempt, \
    j.max_attempts AS op_max_attempts, j.progress AS op_progress \
    FROM cloudpods c JOIN tenants t ON t.id = c.tenant_id \
    LEFT JOIN jobs j ON j.id = c.operation_job_id";

pub struct NewPod<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub region: &'a str,
    pub plan_code: &'a str,
    pub subscription_ref: Option<&'a str>,
    pub subscription_id: Option<&'a str>,
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub max_websites: i64,
    pub max_email_accounts: i64,
    pub provisioner: &'a str,
    pub job_id: &'a str,
    pub now: Timestamp,
}

pub async fn insert(tx: &mut Tx, p: &NewPod<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO cloudpods (id, tenant_id, name, region, plan_code, subscription_ref, subscription_id, \
         status, operation, operation_job_id, cpu_cores, ram_mb, disk_gb, max_websites, \
         max_email_accounts, provisioner, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'PROVISIONING', 'provision', $8, $9, $10, $11, $12, $13, $14, $15, $15)",
    )
    .bind(p.id)
    .bind(p.tenant_id)
    .bind(p.name)
    .bind(p.region)
    .bind(p.plan_code)
    .bind(p.subscription_ref)
    .bind(p.subscription_id)
    .bind(p.job_id)
    .bind(p.cpu_cores)
    .bind(p.ram_mb)
    .bind(p.disk_gb)
    .bind(p.max_websites)
    .bind(p.max_email_accounts)
    .bind(p.provisioner)
    .bind(p.now.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A name is taken while another pod of the tenant that is not deleted has it.
pub async fn name_taken(tx: &mut Tx, tenant_id: &str, name: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM cloudpods WHERE tenant_id = $1 AND name = $2 AND status <> 'DELETED'",
    )
    .bind(tenant_id)
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

pub async fn get(pool: &AnyPool, scope: &TenantScope, id: &str) -> sqlx::Result<Option<PodRow>> {
    sqlx::query_as(&format!(
        "{POD_SELECT} WHERE c.id = $1{}",
        scope.and("c.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(pool)
    .await
}

/// The pod for a change, in scope; locked on PostgreSQL (SQLite's write transaction already
/// holds the database lock).
pub async fn lock(
    tx: &mut Tx,
    backend: Backend,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<PodRow>> {
    let lock = backend.row_lock(Some("c"));
    sqlx::query_as(&format!(
        "{POD_SELECT} WHERE c.id = $1{}{lock}",
        scope.and("c.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(&mut **tx)
    .await
}

#[derive(Debug, Default)]
pub struct PodFilter<'a> {
    pub tenant_id: &'a str,
    pub status: &'a str,
    pub q: &'a str,
    /// Deleted pods are listed only when asked for by status.
    pub include_deleted: bool,
    /// Keyset paging (the API's cursor): pods after this `(created_at, id)`, newest first.
    pub after: Option<(i64, &'a str)>,
}

pub async fn list(
    pool: &AnyPool,
    scope: &TenantScope,
    f: &PodFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<PodRow>, i64)> {
    let mut w = Where::new();
    w.scope("c.tenant_id", scope)
        .eq("c.tenant_id", f.tenant_id)
        .eq("c.status", f.status)
        .contains(&["c.name"], f.q)
        .keyset_desc("c.created_at", "c.id", f.after);
    if !f.include_deleted && f.status.is_empty() {
        w.raw("c.status <> 'DELETED'");
    }
    let n = w.next();
    let sql = format!(
        "{POD_SELECT} {} ORDER BY c.created_at DESC, c.id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    );
    let mut q = sqlx::query_as(&sql);
    for p in w.params() {
        q = q.bind(p);
    }
    let rows = q.bind(limit).bind(offset).fetch_all(pool).await?;
    let count_sql = format!("SELECT COUNT(*) FROM cloudpods c {}", w.sql());
    let mut q = sqlx::query_scalar(&count_sql);
    for p in w.params() {
        q = q.bind(p);
    }
    let total: i64 = q.fetch_one(pool).await?;
    Ok((rows, total))
}

/// Marks `action` as running on the pod with its job. `status` moves the pod at once
/// (a retry goes back to PROVISIONING); the task of an earlier operation is forgotten.
pub async fn start_operation(
    tx: &mut Tx,
    id: &str,
    action: Action,
    job_id: &str,
    target_plan: Option<&str>,
    status: Option<PodStatus>,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE cloudpods SET operation = $1, operation_job_id = $2, target_plan_code = $3, \
         status = COALESCE($4, status), task_upid = NULL, last_error = '', \
         failure_reason = CASE WHEN $4 IS NULL THEN failure_reason ELSE '' END, updated_at = $5 \
         WHERE id = $6 AND status <> 'DELETED'",
    )
    .bind(action.as_str())
    .bind(job_id)
    .bind(target_plan)
    .bind(status.map(PodStatus::as_str))
    .bind(Timestamp::now().0)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Saves the VM state a driver reached, if `job_id` still owns the pod's operation.
pub async fn save_vm_state(
    pool: &AnyPool,
    id: &str,
    job_id: &str,
    vmid: Option<i64>,
    node: Option<&str>,
    task: Option<&str>,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE cloudpods SET vmid = $1, node = $2, task_upid = $3, updated_at = $4 \
         WHERE id = $5 AND operation_job_id = $6",
    )
    .bind(vmid)
    .bind(node)
    .bind(task)
    .bind(Timestamp::now().0)
    .bind(id)
    .bind(job_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

/// The pod after its operation succeeded.
pub struct Settled<'a> {
    pub status: PodStatus,
    pub power: PowerState,
    pub pending_reboot: Option<bool>,
    /// A resize: the new plan and its specs.
    pub plan: Option<(&'a str, [i64; 5])>,
    pub ip_address: Option<&'a str>,
    pub mem_used_mb: Option<i64>,
    pub disk_used_gb: Option<i64>,
    pub measured: bool,
}

pub async fn settle_success(
    tx: &mut Tx,
    id: &str,
    job_id: &str,
    s: &Settled<'_>,
) -> sqlx::Result<u64> {
    let now = Timestamp::now().0;
    let (plan, specs) = match s.plan {
        Some((code, specs)) => (Some(code), Some(specs)),
        None => (None, None),
    };
    let spec = |i: usize| specs.map(|v| v[i]);
    sqlx::query(
        "UPDATE cloudpods SET status = $1, power_state = $2, \
         pending_reboot = COALESCE($3, pending_reboot), plan_code = COALESCE($4, plan_code), \
         cpu_cores = COALESCE($5, cpu_cores), ram_mb = COALESCE($6, ram_mb), \
         disk_gb = COALESCE($7, disk_gb), max_websites = COALESCE($8, max_websites), \
         max_email_accounts = COALESCE($9, max_email_accounts), \
         ip_address = COALESCE($10, ip_address), \
         mem_used_mb = CASE WHEN $11 = 1 THEN $12 ELSE mem_used_mb END, \
         disk_used_gb = CASE WHEN $11 = 1 THEN $13 ELSE disk_used_gb END, \
         usage_at = CASE WHEN $11 = 1 THEN $14 ELSE usage_at END, \
         deleted_at = CASE WHEN $1 = 'DELETED' THEN $14 ELSE deleted_at END, \
         operation = '', operation_job_id = NULL, target_plan_code = NULL, task_upid = NULL, \
         last_error = '', failure_reason = '', updated_at = $14 \
         WHERE id = $15 AND operation_job_id = $16",
    )
    .bind(s.status.as_str())
    .bind(s.power.as_str())
    .bind(s.pending_reboot.map(i64::from))
    .bind(plan)
    .bind(spec(0))
    .bind(spec(1))
    .bind(spec(2))
    .bind(spec(3))
    .bind(spec(4))
    .bind(s.ip_address)
    .bind(i64::from(s.measured))
    .bind(s.mem_used_mb)
    .bind(s.disk_used_gb)
    .bind(now)
    .bind(id)
    .bind(job_id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// The operation gave up: the pod keeps (or, for provisioning, fails with) `status`.
pub async fn settle_failure(
    tx: &mut Tx,
    id: &str,
    job_id: &str,
    status: PodStatus,
    error: &str,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE cloudpods SET status = $1, last_error = $2, \
         failure_reason = CASE WHEN $1 = 'FAILED' THEN $2 ELSE failure_reason END, \
         operation = '', operation_job_id = NULL, target_plan_code = NULL, updated_at = $3 \
         WHERE id = $4 AND operation_job_id = $5",
    )
    .bind(status.as_str())
    .bind(error)
    .bind(Timestamp::now().0)
    .bind(id)
    .bind(job_id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// An attempt failed and the job will retry: show why meanwhile.
pub async fn note_error(pool: &AnyPool, id: &str, job_id: &str, error: &str) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE cloudpods SET last_error = $1, updated_at = $2 WHERE id = $3 AND operation_job_id = $4",
    )
    .bind(error)
    .bind(Timestamp::now().0)
    .bind(id)
    .bind(job_id)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

/// Pods per status for one scope (list page summary).
pub async fn status_counts(
    pool: &AnyPool,
    scope: &TenantScope,
) -> sqlx::Result<Vec<(PodStatus, i64)>> {
    let mut w = Where::new();
    w.scope("tenant_id", scope);
    sqlx::query_as(&format!(
        "SELECT status, COUNT(*) FROM cloudpods {} GROUP BY status ORDER BY status",
        w.sql()
    ))
    .bind_all(w.params())
    .fetch_all(pool)
    .await
}

/// Whether the subscription that owns a pod still delivers it (ACTIVE, SUSPENDED, or
/// cancelling at the period's end): such a pod is deleted by cancelling the subscription.
pub async fn subscription_is_live(tx: &mut Tx, subscription_id: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscriptions WHERE id = $1 \
         AND status IN ('ACTIVE', 'SUSPENDED', 'CANCEL_AT_PERIOD_END')",
    )
    .bind(subscription_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}
