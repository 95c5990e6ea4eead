//! The `cloudpod.backup` job: one slot of one pod's policy. It records the run (one row per
//! pod and slot, so a retry resumes it), backs the VM up through the driver (the task's UPID
//! is saved on the run before it is waited on), records size or error, then removes the
//! backups beyond the policy's retention.

use std::time::Duration;

use serde::Deserialize;
use sqlx::AnyPool;

use super::model::{BACKUP_KIND, RunStatus};
use super::store;
use crate::auth::model::TenantScope;
use crate::clock::Clock;
use crate::cloudpods::model::PodStatus;
use crate::cloudpods::store as pod_store;
use crate::db::{Timestamp, new_id};
use crate::jobs::{HandlerOptions, HandlerResult, JobContext, JobError, Registry};
use crate::provision::{Checkpoint, CheckpointFuture, Driver, ProvisionError, VmState};
use crate::state::AppState;

pub fn register(r: &mut Registry, state: &AppState) {
    // One vzdump task, then the removals, each up to the task timeout.
    let timeout = Duration::from_secs(300.max(state.config.proxmox_task_timeout_secs * 3 + 60));
    let driver = state.provisioner.clone();
    let clock = state.clock.clone();
    r.register_with(BACKUP_KIND, HandlerOptions { timeout }, move |ctx| {
        let driver = driver.clone();
        let clock = clock.clone();
        async move { run(ctx, driver, clock).await }
    });
}

#[derive(Deserialize)]
struct Payload {
    pod_id: String,
    slot: i64,
}

/// Saves the backup task in flight on the run.
struct RunCheckpoint {
    pool: AnyPool,
    run_id: String,
}

impl Checkpoint for RunCheckpoint {
    fn save<'a>(&'a self, state: &'a VmState) -> CheckpointFuture<'a> {
        Box::pin(async move {
            let n = store::save_task(&self.pool, &self.run_id, state.task.as_deref())
                .await
                .map_err(|e| ProvisionError::Retryable(format!("could not save the task: {e}")))?;
            if n == 0 {
                return Err(ProvisionError::Permanent(
                    "the backup run has already ended".into(),
                ));
            }
            Ok(())
        })
    }
}

async fn run(ctx: JobContext, driver: Driver, clock: Clock) -> HandlerResult {
    let p: Payload = ctx.parse()?;
    let pool = ctx.db.pool.clone();
    let Some(pod) = pod_store::get(&pool, &TenantScope::All, &p.pod_id).await? else {
        return Err(JobError::permanent(format!(
            "pod {} does not exist",
            p.pod_id
        )));
    };
    if pod.status() == PodStatus::Deleted {
        tracing::info!(pod = %pod.id, "the pod was deleted: no backup");
        return Ok(());
    }
    let Some(policy) = store::policy(&pool, &TenantScope::All, &pod.id).await? else {
        return Err(JobError::permanent(format!(
            "pod {} has no backup policy",
            pod.id
        )));
    };
    let run = store::start_run(
        &pool,
        &new_id(),
        &pod.id,
        &pod.tenant_id,
        Timestamp(p.slot),
        &ctx.job.id,
        clock.now(),
    )
    .await?;
    if run.status != RunStatus::Running {
        tracing::info!(run = %run.id, "this slot's backup has already ended");
        return Ok(());
    }
    let outcome = if let Some(why) = driver.backup_unsupported() {
        Err(ProvisionError::Permanent(why))
    } else if pod.provisioner != driver.name() {
        Err(ProvisionError::Permanent(format!(
            "this pod was created with the {} provisioner, but the panel now runs the {} one",
            pod.provisioner,
            driver.name()
        )))
    } else {
        ctx.progress(&format!("backing up pod {}", pod.name))
            .await?;
        let cp = RunCheckpoint {
            pool: pool.clone(),
            run_id: run.id.clone(),
        };
        let mut state = VmState {
            vmid: pod.vmid,
            node: pod.node.clone(),
            task: run.task_upid.clone(),
        };
        driver
            .backup(&mut state, &cp)
            .await
            .map(|copy| (copy, state))
    };
    let (copy, state) = match outcome {
        Ok(done) => done,
        Err(e) => {
            let message = e.to_string();
            let permanent = matches!(e, ProvisionError::Permanent(_));
            if permanent || ctx.is_last_attempt() {
                store::fail(&pool, &run.id, &message, clock.now()).await?;
                return Err(JobError::permanent(message));
            }
            let note = format!(
                "Attempt {} of {} failed, retrying: {message}",
                ctx.job.attempt, ctx.job.max_attempts
            );
            store::note(&pool, &run.id, &note).await?;
            return Err(JobError::retry(message));
        }
    };
    store::succeed(&pool, &run.id, &copy.volid, copy.size_bytes, clock.now()).await?;

    // Retention: a failure here does not undo the backup; it is noted on the run and the
    // next run removes what is left.
    let keep = usize::try_from(policy.retention.max(1)).unwrap_or(1);
    match driver.prune_backups(&state, keep).await {
        Ok(removed) => {
            if !removed.is_empty() {
                let mut tx = ctx.db.begin_write().await?;
                for c in &removed {
                    store::mark_removed(&mut tx, &pod.id, &run.id, &c.volid, clock.now()).await?;
                }
                tx.commit().await?;
            }
        }
        Err(e) => {
            tracing::warn!(pod = %pod.id, error = %e, "removing old backups failed");
            store::note(
                &pool,
                &run.id,
                &format!("The backup was made; removing older backups failed: {e}"),
            )
            .await?;
        }
    }
    Ok(())
}
