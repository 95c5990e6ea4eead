//! The worker side of the app: the job worker with every handler, and the schedules that run
//! beside it (bill runs, node probes, backup slots), each stopping when `stop` turns true.

use std::time::Duration;

use super::job_registry;
use crate::db::Timestamp;
use crate::state::AppState;
use crate::{billing, cloudpods, jobs, ops};

/// The job worker with every registered handler; in `serve` by default and in `mpanel worker`.
pub async fn run_worker(state: AppState, stop: tokio::sync::watch::Receiver<bool>) {
    let schedule = tokio::spawn(bill_run_schedule(state.clone(), stop.clone()));
    let probes = tokio::spawn(probe_loop(state.clone(), stop.clone()));
    let backups = tokio::spawn(backup_schedule(state.clone(), stop.clone()));
    let registry = job_registry(&state);
    let cfg = jobs::WorkerConfig::from_config(&state.config);
    jobs::Worker::new(state.db.clone(), registry, cfg)
        .with_telemetry(state.telemetry.clone())
        .run(stop)
        .await;
    schedule.abort();
    probes.abort();
    backups.abort();
}

/// Every minute, enqueues a `cloudpod.backup` job for each backup policy whose slot has
/// begun (each slot claimed once by a conditional update, its job under a per-pod-and-slot
/// unique key, so several workers never run it twice). Nothing with a driver that cannot
/// back up.
async fn backup_schedule(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if let Some(why) = state.provisioner.backup_unsupported() {
        tracing::info!(reason = %why, "pod backups are not scheduled");
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = state.clock.now();
                match cloudpods::backups::service::schedule_due(&state.db, &state.provisioner, now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "pod backups enqueued"),
                    Err(e) => tracing::warn!(error = %e, "could not schedule pod backups"),
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// The node probe loop: every second, a pass probes the nodes that are due (claimed one by one
/// with a conditional update, so several workers and overlapping passes share them without
/// probing one twice per interval); every ten minutes, roll up and prune the probe history.
async fn probe_loop(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let settings = match ops::nodes::model::ProbeSettings::from_config(&state.config) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "node probes not started");
            return;
        }
    };
    let concurrency = usize::try_from(state.config.ops.probe_concurrency).unwrap_or(32);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_prune: Option<Timestamp> = None;
    // Passes in flight at once (each probes at most `concurrency` nodes at a time).
    const MAX_PASSES: usize = 4;
    let mut passes = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            _ = tick.tick() => {
                let now = state.clock.now();
                // Each pass runs on its own, so a node slow to answer (up to its timeout)
                // delays no other node: the next pass claims whatever is due meanwhile.
                while let Some(done) = passes.try_join_next() {
                    if let Ok(Err(e)) = done {
                        tracing::warn!(error = %e, "node probe pass failed");
                    }
                }
                if passes.len() < MAX_PASSES {
                    let st = state.clone();
                    passes.spawn(async move {
                        let probed = ops::nodes::probing::probe_pass(&st.db, &settings, now, concurrency).await;
                        if let Err(e) = ops::nodes::hosts::read_pass(&st.db, &st.provisioner, now).await {
                            tracing::warn!(error = %e, "reading the hypervisor nodes' figures failed");
                        }
                        probed
                    });
                }
                if last_prune.is_none_or(|t| now.0 - t.0 >= 600_000) {
                    last_prune = Some(now);
                    match ops::nodes::probing::prune_history(&state.db, now).await {
                        Ok((0, 0)) => {}
                        Ok((rolled, dropped)) => tracing::info!(rolled, dropped, "probe history rolled up and pruned"),
                        Err(e) => tracing::warn!(error = %e, "could not prune the probe history"),
                    }
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Starts a bill run on the queue every `MPANEL_BILL_RUN_EVERY_SECS` (first at start-up). The
/// job's unique key keeps it to one waiting or running run however many workers tick.
async fn bill_run_schedule(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = state.config.bill_run_every_secs;
    if every == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = billing::automation::service::start(&state.db, "SCHEDULE").await {
                    tracing::warn!(error = %e, "could not start the scheduled bill run");
                }
            }
            _ = stop.changed() => return,
        }
    }
}
