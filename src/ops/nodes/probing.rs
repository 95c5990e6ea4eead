//! The probe loop's work: one pass over the due nodes (claimed, probed, recorded with the
//! status machine of `model`) and the history roll-up. `app::run_worker` runs them.

use std::sync::Arc;

use super::model::{self, ProbeSettings};
use super::probe;
use super::probe_store::{self, ProbeRecord};
use super::store::{self, NodeRow};
use crate::db::{Db, TenantScope, Timestamp};

/// Nodes claimed per pass.
pub const PASS_LIMIT: i64 = 500;

/// One pass of the probe loop at `now`: claims the nodes due (a node moved on by another
/// worker since it was read is left to that worker), probes them with at most `concurrency`
/// at once, and records each result with the node's new state. Returns how many it probed.
pub async fn probe_pass(
    db: &Db,
    settings: &ProbeSettings,
    now: Timestamp,
    concurrency: usize,
) -> anyhow::Result<usize> {
    let due = probe_store::due(&db.pool, now, PASS_LIMIT).await?;
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (id, seen) in due {
        if !probe_store::claim(&db.pool, &id, seen, now).await? {
            continue;
        }
        let Some(node) = store::get(&db.pool, &TenantScope::All, &id, now).await? else {
            continue;
        };
        let permit = limit.clone().acquire_owned().await?;
        tasks.spawn(async move {
            let outcome = probe::probe(&node).await;
            drop(permit);
            (node, outcome)
        });
    }
    let mut probed = 0;
    while let Some(joined) = tasks.join_next().await {
        let (node, outcome) = joined?;
        record(db, settings, &node, &outcome, now).await?;
        probed += 1;
    }
    Ok(probed)
}

async fn record(
    db: &Db,
    settings: &ProbeSettings,
    node: &NodeRow,
    outcome: &probe::Outcome,
    now: Timestamp,
) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    // The state as it is now (not as read before the probe): one writer per node per
    // interval, but a change of check may have reset it meanwhile.
    let Some(current) = store::get(&mut *tx, &TenantScope::All, &node.id, now).await? else {
        return Ok(());
    };
    let (state, changed) = model::after_probe(current.probe_state(), outcome.ok, settings);
    let reason = if outcome.ok {
        ""
    } else {
        outcome.error.as_str()
    };
    probe_store::record_probe(
        &mut tx,
        &ProbeRecord {
            node_id: &node.id,
            at: now,
            ok: outcome.ok,
            latency_ms: outcome.latency_ms,
            error: &outcome.error,
            state,
            changed,
            reason: if state.status == model::ProbeStatus::Down && outcome.ok {
                &current.status_reason
            } else {
                reason
            },
        },
    )
    .await?;
    let window_start = now.plus_secs(-settings.flap_window_secs);
    let changes = probe_store::changes_since(&mut tx, &node.id, window_start).await?;
    let flapping = model::is_flapping(changes, settings);
    if flapping != (current.flapping == 1) {
        probe_store::set_flapping(&mut tx, &node.id, flapping).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Full-resolution history is kept this long, then rolled up hourly.
pub const FULL_HISTORY_DAYS: i64 = 7;
/// Hourly roll-ups are kept this long.
pub const HOURLY_HISTORY_DAYS: i64 = 90;

/// Rolls probes older than 7 days (whole hours) into hourly rows and drops roll-ups older than
/// 90 days; pushed CPU samples are kept 7 days. Returns (probes rolled up, roll-ups dropped).
pub async fn prune_history(db: &Db, now: Timestamp) -> anyhow::Result<(u64, u64)> {
    const HOUR: i64 = 3_600_000;
    let cutoff = Timestamp((now.0 - FULL_HISTORY_DAYS * 24 * HOUR) / HOUR * HOUR);
    let keep_from = Timestamp(now.0 - HOURLY_HISTORY_DAYS * 24 * HOUR);
    let mut tx = db.begin_write().await?;
    let r = probe_store::prune(&mut tx, cutoff, keep_from).await?;
    tx.commit().await?;
    Ok(r)
}
