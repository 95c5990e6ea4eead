//! Hypervisor figures of CLOUD nodes: with a driver that has hosts (Proxmox), a CLOUD node
//! whose host name is the hypervisor's node name has its CPU, memory, root disk and load
//! read from the driver (`/nodes/{node}/status`) once per probe interval, and stored as the
//! node's metrics exactly as pushed ones are (`store::record_metrics`).

use sqlx::AnyPool;

use super::store::{self, Metrics};
use crate::db::{Db, Timestamp};
use crate::provision::{Driver, HostStatus};

/// Nodes read per pass.
const PASS_LIMIT: i64 = 200;

/// The CLOUD nodes whose figures are due: `(id, hostname, last read)`.
async fn due(pool: &AnyPool, now: Timestamp) -> sqlx::Result<Vec<(String, String, Option<i64>)>> {
    sqlx::query_as(
        "SELECT id, hostname, host_read_at FROM ops_nodes WHERE node_type = 'CLOUD' \
         AND (host_read_at IS NULL OR host_read_at + interval_secs * 1000 <= $1) \
         ORDER BY host_read_at, id LIMIT $2",
    )
    .bind(now.0)
    .bind(PASS_LIMIT)
    .fetch_all(pool)
    .await
}

/// Takes the node's read for this interval; false when another worker took it.
async fn claim(pool: &AnyPool, id: &str, seen: Option<i64>, now: Timestamp) -> sqlx::Result<bool> {
    let r = match seen {
        Some(seen) => {
            sqlx::query(
                "UPDATE ops_nodes SET host_read_at = $1 WHERE id = $2 AND host_read_at = $3",
            )
            .bind(now.0)
            .bind(id)
            .bind(seen)
            .execute(pool)
            .await?
        }
        None => {
            sqlx::query(
                "UPDATE ops_nodes SET host_read_at = $1 WHERE id = $2 AND host_read_at IS NULL",
            )
            .bind(now.0)
            .bind(id)
            .execute(pool)
            .await?
        }
    };
    Ok(r.rows_affected() == 1)
}

/// The figures as the node's metrics: CPU and load in hundredths, the root disk as disk.
pub fn metrics(s: &HostStatus, at: Timestamp) -> Metrics {
    Metrics {
        at,
        cpu_pct_x100: (s.cpu_fraction.clamp(0.0, 1.0) * 10_000.0).round() as i64,
        mem_used_bytes: s.mem_used_bytes,
        mem_total_bytes: s.mem_total_bytes,
        disk_used_bytes: s.rootfs_used_bytes,
        disk_total_bytes: s.rootfs_total_bytes,
        load1_x100: (s.load1.max(0.0) * 100.0).round() as i64,
    }
}

/// One pass at `now`: reads and stores the figures of every due CLOUD node. Nothing with a
/// driver that has no hosts. Answers how many nodes' figures were stored.
pub async fn read_pass(db: &Db, driver: &Driver, now: Timestamp) -> anyhow::Result<usize> {
    if matches!(driver, Driver::Manual(_)) {
        return Ok(0);
    }
    let mut stored = 0;
    for (id, hostname, seen) in due(&db.pool, now).await? {
        if !claim(&db.pool, &id, seen, now).await? {
            continue;
        }
        match driver.host_status(&hostname).await {
            Ok(Some(s)) => {
                let mut tx = db.begin_write().await?;
                store::record_metrics(&mut tx, &id, &metrics(&s, now)).await?;
                tx.commit().await?;
                stored += 1;
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(node = %hostname, error = %e, "could not read the hypervisor's figures");
            }
        }
    }
    Ok(stored)
}
