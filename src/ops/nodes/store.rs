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

// ------------------------------------------------------------------ the probe loop

/// `(id, next_probe_at)` of up to `limit` nodes due at `now`, the longest due first.
pub async fn due(pool: &AnyPool, now: Timestamp, limit: i64) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as(
        "SELECT id, next_probe_at FROM ops_nodes WHERE next_probe_at <= $1 \
         ORDER BY next_probe_at, id LIMIT $2",
    )
    .bind(now.0)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Claims a due node for one probe: moves its next probe one interval past `now`, only if
/// nobody moved it since it was read (`seen`). True when this caller won it.
pub async fn claim(pool: &AnyPool, id: &str, seen: i64, now: Timestamp) -> sqlx::Result<bool> {
    Ok(sqlx::query(
        "UPDATE ops_nodes SET next_probe_at = $1 + interval_secs * 1000 \
         WHERE id = $2 AND next_probe_at = $3",
    )
    .bind(now.0)
    .bind(id)
    .bind(seen)
    .execute(pool)
    .await?
    .rows_affected()
        == 1)
}

/// One probe's result, recorded with the node's new state.
pub struct ProbeRecord<'a> {
    pub node_id: &'a str,
    pub at: Timestamp,
    pub ok: bool,
    pub latency_ms: i64,
    pub error: &'a str,
    pub state: ProbeState,
    pub changed: bool,
    pub reason: &'a str,
}

pub async fn record_probe(tx: &mut Tx, r: &ProbeRecord<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO ops_probe_results (id, node_id, at, ok, latency_ms, error, changed) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(r.node_id)
    .bind(r.at.0)
    .bind(i64::from(r.ok))
    .bind(r.latency_ms)
    .bind(r.error)
    .bind(i64::from(r.changed))
    .execute(&mut **tx)
    .await?;
    let since = if r.changed { ", status_since = $8" } else { "" };
    sqlx::query(&format!(
        "UPDATE ops_nodes SET status = $1, fails_in_row = $2, oks_in_row = $3, status_reason = $4, \
         last_check_at = $5, last_latency_ms = $6, updated_at = $5{since} WHERE id = $7"
    ))
    .bind(r.state.status.as_str())
    .bind(r.state.fails_in_row)
    .bind(r.state.oks_in_row)
    .bind(r.reason)
    .bind(r.at.0)
    .bind(r.latency_ms)
    .bind(r.node_id)
    .bind(r.at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// UP/DOWN changes recorded for the node at or after `since`.
pub async fn changes_since(tx: &mut Tx, node_id: &str, since: Timestamp) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM ops_probe_results WHERE node_id = $1 AND at >= $2 AND changed = 1",
    )
    .bind(node_id)
    .bind(since.0)
    .fetch_one(&mut **tx)
    .await
}

pub async fn set_flapping(tx: &mut Tx, node_id: &str, flapping: bool) -> sqlx::Result<()> {
    sqlx::query("UPDATE ops_nodes SET flapping = $1 WHERE id = $2")
        .bind(i64::from(flapping))
        .bind(node_id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Rolls probes before `cutoff` (a whole hour) into hourly rows and deletes them; deletes
/// hourly rows before `keep_hourly_from`. Returns (probes rolled up, hourly rows deleted).
pub async fn prune(
    tx: &mut Tx,
    cutoff: Timestamp,
    keep_hourly_from: Timestamp,
) -> sqlx::Result<(u64, u64)> {
    sqlx::query(
        "INSERT INTO ops_probe_hourly (node_id, hour_start, probes, failures, latency_sum_ms, latency_max_ms) \
         SELECT node_id, (at / 3600000) * 3600000 AS hour_start, CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(1 - ok) AS BIGINT), CAST(SUM(latency_ms) AS BIGINT), CAST(MAX(latency_ms) AS BIGINT) \
         FROM ops_probe_results WHERE at < $1 GROUP BY node_id, (at / 3600000) * 3600000 \
         ON CONFLICT (node_id, hour_start) DO UPDATE SET probes = ops_probe_hourly.probes + excluded.probes, \
         failures = ops_probe_hourly.failures + excluded.failures, \
         latency_sum_ms = ops_probe_hourly.latency_sum_ms + excluded.latency_sum_ms, \
         latency_max_ms = CASE WHEN excluded.latency_max_ms > ops_probe_hourly.latency_max_ms \
         THEN excluded.latency_max_ms ELSE ops_probe_hourly.latency_max_ms END",
    )
    .bind(cutoff.0)
    .execute(&mut **tx)
    .await?;
    let rolled = sqlx::query("DELETE FROM ops_probe_results WHERE at < $1")
        .bind(cutoff.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM ops_node_samples WHERE at < $1")
        .bind(cutoff.0)
        .execute(&mut **tx)
        .await?;
    let dropped = sqlx::query("DELETE FROM ops_probe_hourly WHERE hour_start < $1")
        .bind(keep_hourly_from.0)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    Ok((rolled, dropped))
}

#[derive(Clone, Debug, FromRow)]
pub struct ProbeRow {
    pub at: Timestamp,
    pub ok: i64,
    pub latency_ms: i64,
    pub error: String,
    pub changed: i64,
}

/// The node's latest probes, newest first.
pub async fn recent_probes(
    pool: &AnyPool,
    node_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<ProbeRow>> {
    sqlx::query_as(
        "SELECT at, ok, latency_ms, error, changed FROM ops_probe_results WHERE node_id = $1 \
         ORDER BY at DESC, id DESC LIMIT $2",
    )
    .bind(node_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct HourRow {
    pub hour_start: i64,
    pub probes: i64,
    pub failures: i64,
    pub latency_sum_ms: i64,
    pub latency_max_ms: i64,
}

pub async fn hourly(pool: &AnyPool, node_id: &str, limit: i64) -> sqlx::Result<Vec<HourRow>> {
    sqlx::query_as(
        "SELECT hour_start, probes, failures, latency_sum_ms, latency_max_ms FROM ops_probe_hourly \
         WHERE node_id = $1 ORDER BY hour_start DESC LIMIT $2",
    )
    .bind(node_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Failed probes per hour since `start` over the scope's nodes: `(hour index, count)`.
pub async fn failures_by_hour(
    pool: &AnyPool,
    scope: &TenantScope,
    start: Timestamp,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(&format!(
        "SELECT CAST((r.at - $1) / 3600000 AS BIGINT) AS hour, CAST(COUNT(*) AS BIGINT) \
         FROM ops_probe_results r JOIN ops_nodes n ON n.id = r.node_id \
         WHERE r.at >= $1 AND r.ok = 0{} GROUP BY hour ORDER BY hour",
        scope.and("n.tenant_id", 2)
    ))
    .bind(start.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// Mean CPU % ×100 per hour since `start` over the scope's nodes' pushed samples.
pub async fn cpu_by_hour(
    pool: &AnyPool,
    scope: &TenantScope,
    start: Timestamp,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(&format!(
        "SELECT CAST((s.at - $1) / 3600000 AS BIGINT) AS hour, \
         CAST(SUM(s.cpu_pct_x100) / COUNT(*) AS BIGINT) \
         FROM ops_node_samples s JOIN ops_nodes n ON n.id = s.node_id \
         WHERE s.at >= $1{} GROUP BY hour ORDER BY hour",
        scope.and("n.tenant_id", 2)
    ))
    .bind(start.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
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
    .await
    .map(|_| ())
}
