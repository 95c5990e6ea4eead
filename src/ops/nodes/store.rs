//! SQL for core nodes, their probes, maintenance windows and pushed metrics. Nodes belong to
//! the operator tenant: every read takes the actor's scope, so a customer's scope finds none.

use sqlx::{AnyPool, FromRow};

use super::model::{CheckKind, NodeInput, NodeType, ProbeState, ProbeStatus};
use crate::db::{Scoped, TenantScope, Timestamp, Tx, new_id};

#[derive(Clone, Debug, FromRow)]
pub struct NodeRow {
    pub id: String,
    pub tenant_id: String,
    pub hostname: String,
    pub node_type: NodeType,
    pub region: String,
    pub address: String,
    pub check_kind: CheckKind,
    pub check_port: Option<i64>,
    pub check_url: String,
    pub expected_status: Option<i64>,
    pub interval_secs: i64,
    pub timeout_ms: i64,
    pub status: ProbeStatus,
    pub status_reason: String,
    pub status_since: Option<Timestamp>,
    pub fails_in_row: i64,
    pub oks_in_row: i64,
    pub flapping: i64,
    pub last_check_at: Option<Timestamp>,
    pub last_latency_ms: Option<i64>,
    pub next_probe_at: Timestamp,
    pub cpu_pct_x100: Option<i64>,
    pub mem_used_bytes: Option<i64>,
    pub mem_total_bytes: Option<i64>,
    pub disk_used_bytes: Option<i64>,
    pub disk_total_bytes: Option<i64>,
    pub load1_x100: Option<i64>,
    pub metrics_at: Option<Timestamp>,
    /// The end of the maintenance window the node is in at the time of the read, if any.
    pub maintenance_until: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl NodeRow {
    pub fn probe_state(&self) -> ProbeState {
        ProbeState {
            status: self.status,
            fails_in_row: self.fails_in_row,
            oks_in_row: self.oks_in_row,
        }
    }
}

const NODE_COLUMNS: &str = "n.id, n.tenant_id, n.hostname, n.node_type, n.region, n.address, \
    n.check_kind, n.check_port, n.check_url, n.expected_status, n.interval_secs, n.timeout_ms, \
    n.status, n.status_reason, n.status_since, n.fails_in_row, n.oks_in_row, n.flapping, \
    n.last_check_at, n.last_latency_ms, n.next_probe_at, n.cpu_pct_x100, n.mem_used_bytes, \
    n.mem_total_bytes, n.disk_used_bytes, n.disk_total_bytes, n.load1_x100, n.metrics_at";

/// `(SELECT MAX(ends_at) …)` of the windows open at `$1`.
const MAINTENANCE: &str = "(SELECT MAX(m.ends_at) FROM ops_node_maintenance m \
    WHERE m.node_id = n.id AND m.starts_at <= $1 AND m.ends_at > $1) AS maintenance_until";

/// Every node the scope sees, by hostname.
pub async fn list(
    pool: &AnyPool,
    scope: &TenantScope,
    now: Timestamp,
) -> sqlx::Result<Vec<NodeRow>> {
    sqlx::query_as(&format!(
        "SELECT {NODE_COLUMNS}, {MAINTENANCE}, n.created_at FROM ops_nodes n \
         WHERE 1 = 1{} ORDER BY n.hostname",
        scope.and("n.tenant_id", 2)
    ))
    .bind(now.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

pub async fn get<'e, E>(
    ex: E,
    scope: &TenantScope,
    id: &str,
    now: Timestamp,
) -> sqlx::Result<Option<NodeRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {NODE_COLUMNS}, {MAINTENANCE}, n.created_at FROM ops_nodes n \
         WHERE n.id = $2{}",
        scope.and("n.tenant_id", 3)
    ))
    .bind(now.0)
    .bind(id)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

/// A node by its id or host name (the metrics push names either).
pub async fn find<'e, E>(
    ex: E,
    scope: &TenantScope,
    key: &str,
    now: Timestamp,
) -> sqlx::Result<Option<NodeRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {NODE_COLUMNS}, {MAINTENANCE}, n.created_at FROM ops_nodes n \
         WHERE (n.id = $2 OR n.hostname = $2){}",
        scope.and("n.tenant_id", 3)
    ))
    .bind(now.0)
    .bind(key)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

fn check_columns(i: &NodeInput) -> (Option<i64>, String, Option<i64>) {
    match &i.check {
        super::model::Check::Tcp { port } => (Some(i64::from(*port)), String::new(), None),
        super::model::Check::Http {
            url,
            expected_status,
        } => (None, url.clone(), Some(i64::from(*expected_status))),
    }
}

pub async fn insert(
    tx: &mut Tx,
    tenant_id: &str,
    i: &NodeInput,
    now: Timestamp,
) -> sqlx::Result<String> {
    let id = new_id();
    let (port, url, expected) = check_columns(i);
    sqlx::query(
        "INSERT INTO ops_nodes (id, tenant_id, hostname, node_type, region, address, check_kind, \
         check_port, check_url, expected_status, interval_secs, timeout_ms, next_probe_at, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $13)",
    )
    .bind(&id)
    .bind(tenant_id)
    .bind(&i.hostname)
    .bind(i.node_type.as_str())
    .bind(&i.region)
    .bind(&i.address)
    .bind(i.check.kind().as_str())
    .bind(port)
    .bind(url)
    .bind(expected)
    .bind(i.interval_secs)
    .bind(i.timeout_ms)
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    Ok(id)
}

/// Changes the definition; a changed check starts its status afresh, probed at once.
pub async fn update(
    tx: &mut Tx,
    id: &str,
    i: &NodeInput,
    reset: bool,
    now: Timestamp,
) -> sqlx::Result<u64> {
    let (port, url, expected) = check_columns(i);
    let reset_sql = if reset {
        ", status = 'UNKNOWN', status_reason = '', status_since = NULL, fails_in_row = 0, \
         oks_in_row = 0, flapping = 0, next_probe_at = $12"
    } else {
        ""
    };
    Ok(sqlx::query(&format!(
        "UPDATE ops_nodes SET hostname = $1, node_type = $2, region = $3, address = $4, \
         check_kind = $5, check_port = $6, check_url = $7, expected_status = $8, \
         interval_secs = $9, timeout_ms = $10, updated_at = $12{reset_sql} WHERE id = $11"
    ))
    .bind(&i.hostname)
    .bind(i.node_type.as_str())
    .bind(&i.region)
    .bind(&i.address)
    .bind(i.check.kind().as_str())
    .bind(port)
    .bind(url)
    .bind(expected)
    .bind(i.interval_secs)
    .bind(i.timeout_ms)
    .bind(id)
    .bind(now.0)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

pub async fn delete(tx: &mut Tx, id: &str) -> sqlx::Result<u64> {
    for sql in [
        "DELETE FROM ops_probe_results WHERE node_id = $1",
        "DELETE FROM ops_probe_hourly WHERE node_id = $1",
        "DELETE FROM ops_node_samples WHERE node_id = $1",
        "DELETE FROM ops_node_cpu_hourly WHERE node_id = $1",
        "DELETE FROM ops_node_maintenance WHERE node_id = $1",
    ] {
        sqlx::query(sql).bind(id).execute(&mut **tx).await?;
    }
    Ok(sqlx::query("DELETE FROM ops_nodes WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

pub async fn add_maintenance(
    tx: &mut Tx,
    node_id: &str,
    starts: Timestamp,
    ends: Timestamp,
    reason: &str,
    by: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO ops_node_maintenance (id, node_id, starts_at, ends_at, reason, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $3)",
    )
    .bind(new_id())
    .bind(node_id)
    .bind(starts.0)
    .bind(ends.0)
    .bind(reason)
    .bind(by)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Ends every window of the node open at `now`.
pub async fn end_maintenance(tx: &mut Tx, node_id: &str, now: Timestamp) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE ops_node_maintenance SET ends_at = $2 WHERE node_id = $1 AND starts_at <= $2 AND ends_at > $2",
    )
    .bind(node_id)
    .bind(now.0)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// Pushed metrics, checked.
pub struct Metrics {
    pub at: Timestamp,
    pub cpu_pct_x100: i64,
    pub mem_used_bytes: i64,
    pub mem_total_bytes: i64,
    pub disk_used_bytes: i64,
    pub disk_total_bytes: i64,
    pub load1_x100: i64,
}

/// Stores the metrics on the node (unless newer ones are there) and as a CPU sample.
pub async fn record_metrics(tx: &mut Tx, node_id: &str, m: &Metrics) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE ops_nodes SET cpu_pct_x100 = $1, mem_used_bytes = $2, mem_total_bytes = $3, \
         disk_used_bytes = $4, disk_total_bytes = $5, load1_x100 = $6, metrics_at = $7 \
         WHERE id = $8 AND (metrics_at IS NULL OR metrics_at <= $7)",
    )
    .bind(m.cpu_pct_x100)
    .bind(m.mem_used_bytes)
    .bind(m.mem_total_bytes)
    .bind(m.disk_used_bytes)
    .bind(m.disk_total_bytes)
    .bind(m.load1_x100)
    .bind(m.at.0)
    .bind(node_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO ops_node_samples (id, node_id, at, cpu_pct_x100) VALUES ($1, $2, $3, $4)",
    )
    .bind(new_id())
    .bind(node_id)
    .bind(m.at.0)
    .bind(m.cpu_pct_x100)
    .execute(&mut **tx)
    .await?;
    sqlx::query(
        "INSERT INTO ops_node_cpu_hourly (node_id, hour_start, samples, cpu_sum_x100) \
         VALUES ($1, $2, 1, $3) ON CONFLICT (node_id, hour_start) DO UPDATE SET \
         samples = ops_node_cpu_hourly.samples + 1, \
         cpu_sum_x100 = ops_node_cpu_hourly.cpu_sum_x100 + excluded.cpu_sum_x100",
    )
    .bind(node_id)
    .bind(m.at.0.div_euclid(3_600_000) * 3_600_000)
    .bind(m.cpu_pct_x100)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
