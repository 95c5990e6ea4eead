//! The overview's core-nodes tile: every node, the worst first, with its last check and
//! pushed metrics (the worst twenty; the rest counted by status), and two 24-hour trends
//! (failed probes per hour, mean pushed CPU per clock hour).

use super::model::ShownStatus;
use super::probe_store;
use super::service::{self, NodeView};
use crate::actor::Actor;
use crate::db::{Db, Timestamp};
use crate::ops::model;
use crate::web::AppResult;

/// Nodes listed on the tile, the worst first; the rest are counted by status and listed on
/// `/ops/servers`.
pub const LISTED: usize = 20;

pub struct NodesTile {
    pub read_at: Timestamp,
    /// The first `LISTED` nodes, the worst first.
    pub nodes: Vec<NodeView>,
    /// Every node, by shown status, in the order of `ShownStatus::ALL` (statuses with none
    /// left out).
    pub by_status: Vec<(ShownStatus, usize)>,
    pub total: usize,
    /// Failed probes per hour, the last 24 hours, oldest first.
    pub failures: Vec<i64>,
    pub failures_total: i64,
    /// Mean pushed CPU % per hour (hours without samples: 0), and whether any sample exists.
    pub cpu: Vec<i64>,
    pub has_cpu: bool,
}

impl NodesTile {
    pub fn failure_points(&self) -> String {
        model::spark_points(&self.failures)
    }
    pub fn cpu_points(&self) -> String {
        model::spark_points_max(&self.cpu, 100)
    }
    /// Nodes shown DOWN.
    pub fn down(&self) -> usize {
        self.by_status
            .iter()
            .find(|(s, _)| *s == ShownStatus::Down)
            .map_or(0, |(_, n)| *n)
    }
    /// Registered nodes not listed on the tile.
    pub fn unlisted(&self) -> usize {
        self.total - self.nodes.len()
    }
    /// `/ops/servers` filtered to one shown status.
    pub fn status_href(&self, status: &ShownStatus) -> String {
        format!("/ops/servers?status={}", status.as_str())
    }
}

const HOUR_MS: i64 = 3_600_000;

pub async fn read(db: &Db, actor: &Actor, now: Timestamp) -> AppResult<NodesTile> {
    let mut nodes = service::list(db, actor, now).await?;
    let by_status = ShownStatus::ALL
        .iter()
        .map(|s| (*s, nodes.iter().filter(|n| n.shown == *s).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let total = nodes.len();
    nodes.truncate(LISTED);
    let scope = actor.scope();
    let hours = crate::ops::service::TREND_HOURS;
    let start = Timestamp(now.0 - hours as i64 * HOUR_MS + 1);
    let failures = model::hourly(
        &probe_store::failures_by_hour(&db.pool, &scope, start).await?,
        hours,
    );
    let cpu_rows = probe_store::cpu_by_hour(&db.pool, &scope, now, hours).await?;
    let has_cpu = !cpu_rows.is_empty();
    let cpu_x100 = model::hourly(&cpu_rows, hours);
    Ok(NodesTile {
        read_at: now,
        nodes,
        by_status,
        total,
        failures_total: failures.iter().sum(),
        failures,
        cpu: cpu_x100.iter().map(|v| (v + 50) / 100).collect(),
        has_cpu,
    })
}
