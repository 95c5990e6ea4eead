//! SQL for the probe loop: claiming due nodes, recording probes and the node's new state,
//! flapping, the hourly roll-up, and the history and trends people read.

use sqlx::{AnyPool, FromRow};

use super::model::ProbeState;
use crate::db::{Scoped, TenantScope, Timestamp, Tx, new_id};

const HOUR_MS: i64 = 3_600_000;

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
    sqlx::query("DELETE FROM ops_node_cpu_hourly WHERE hour_start < $1")
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

/// Mean CPU % ×100 per clock hour over the scope's nodes' pushed samples, for the `hours`
/// clock hours up to and including the one `now` is in: `(hour index, oldest 0, mean)`.
/// Read from the hourly sums kept as samples arrive (`record_metrics`), not the samples.
pub async fn cpu_by_hour(
    pool: &AnyPool,
    scope: &TenantScope,
    now: Timestamp,
    hours: usize,
) -> sqlx::Result<Vec<(i64, i64)>> {
    let first = (now.0.div_euclid(HOUR_MS) - hours as i64 + 1) * HOUR_MS;
    sqlx::query_as(&format!(
        "SELECT CAST((c.hour_start - $1) / 3600000 AS BIGINT) AS hour, \
         CAST(SUM(c.cpu_sum_x100) / SUM(c.samples) AS BIGINT) \
         FROM ops_node_cpu_hourly c JOIN ops_nodes n ON n.id = c.node_id \
         WHERE c.hour_start >= $1{} GROUP BY c.hour_start ORDER BY c.hour_start",
        scope.and("n.tenant_id", 2)
    ))
    .bind(first)
    .scoped(scope)
    .fetch_all(pool)
    .await
}
