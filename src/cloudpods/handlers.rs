//! The `cloudpod.*` job handlers: carry out the action named on the pod through the
//! configured driver, then settle the pod (status, power, specs, usage) in one transaction.
//!
//! A job acts only while the pod names it as its operation (`operation_job_id`): a job that
//! was superseded (cancelled, then the action asked again) finds that and does nothing.

use std::time::Duration;

use serde::Deserialize;
use sqlx::AnyPool;

use super::model::{self, Action, PowerState};
use super::store::{self, PodRow, Settled};
use crate::auth::model::TenantScope;
use crate::billing::catalog::store as catalog_store;
use crate::jobs::{HandlerOptions, HandlerResult, JobContext, JobError, Registry};
use crate::provision::{
    Checkpoint, CheckpointFuture, Driver, PowerAction, ProvisionError, VmSpec, VmState, VmStatus,
};
use crate::state::AppState;

pub const KINDS: &[&str] = &[
    "cloudpod.provision",
    "cloudpod.resize",
    "cloudpod.suspend",
    "cloudpod.resume",
    "cloudpod.delete",
    "cloudpod.power",
];

/// Enqueued, in the transaction that settles it, when the provisioning of a pod that a
/// subscription ordered ends (either way). The subscriptions feature handles this kind; this
/// feature only names it, so it never imports subscriptions.
pub const POD_SETTLED_KIND: &str = "subscription.pod_settled";

/// Tells the pod's subscription, if it has one, that provisioning ended.
async fn tell_subscription(tx: &mut crate::db::Tx, pod: &PodRow, action: Action) -> HandlerResult {
    let (Some(sub), Action::Provision | Action::Retry) = (pod.subscription_id.as_deref(), action)
    else {
        return Ok(());
    };
    crate::jobs::enqueue(
        tx,
        crate::jobs::NewJob::new(
            POD_SETTLED_KIND,
            &serde_json::json!({ "subscription_id": sub, "pod_id": pod.id }),
        )
        .subject(format!("subscription:{sub}"))
        .tenant(&pod.tenant_id),
    )
    .await?;
    Ok(())
}

pub fn register(r: &mut Registry, state: &AppState) {
    // A provision waits on several hypervisor tasks (clone, resize, start), each up to the
    // task timeout.
    let timeout = Duration::from_secs(300.max(state.config.proxmox_task_timeout_secs * 5 + 60));
    for kind in KINDS {
        let driver = state.provisioner.clone();
        r.register_with(kind, HandlerOptions { timeout }, move |ctx| {
            let driver = driver.clone();
            async move { run(ctx, driver).await }
        });
    }
}

#[derive(Deserialize)]
struct Payload {
    pod_id: String,
}

/// Saves the driver's progress on the pod row, while this job owns the pod's operation.
struct PodCheckpoint {
    pool: AnyPool,
    pod_id: String,
    job_id: String,
}

impl Checkpoint for PodCheckpoint {
    fn save<'a>(&'a self, state: &'a VmState) -> CheckpointFuture<'a> {
        Box::pin(async move {
            let saved = store::save_vm_state(
                &self.pool,
                &self.pod_id,
                &self.job_id,
                state.vmid,
                state.node.as_deref(),
                state.task.as_deref(),
            )
            .await
            .map_err(|e| ProvisionError::Retryable(format!("could not save the VM state: {e}")))?;
            if saved == 0 {
                return Err(ProvisionError::Permanent(
                    "the pod no longer names this job as its operation".into(),
                ));
            }
            Ok(())
        })
    }
}

fn spec(pod: &PodRow) -> VmSpec {
    VmSpec {
        name: pod.name.clone(),
        cpu_cores: pod.cpu_cores,
        ram_mb: pod.ram_mb,
        disk_gb: pod.disk_gb,
    }
}

async fn run(ctx: JobContext, driver: Driver) -> HandlerResult {
    let payload: Payload = ctx.parse()?;
    let pool = ctx.db.pool.clone();
    let Some(pod) = store::get(&pool, &TenantScope::All, &payload.pod_id).await? else {
        return Err(JobError::permanent(format!(
            "pod {} does not exist",
            payload.pod_id
        )));
    };
    if pod.operation_job_id.as_deref() != Some(ctx.job.id.as_str()) {
        tracing::info!(pod = %pod.id, job = %ctx.job.id, "superseded cloudpod job: nothing to do");
        return Ok(());
    }
    let Some(action) = pod.operation else {
        return Err(JobError::permanent("the pod names no operation"));
    };
    let outcome = if pod.provisioner == driver.name() {
        ctx.progress(&format!(
            "{} ({} provisioner)",
            action.label(),
            driver.name()
        ))
        .await?;
        perform(&ctx, &driver, &pod, action).await
    } else {
        Err(ProvisionError::Permanent(format!(
            "this pod was created with the {} provisioner, but the panel now runs the {} one",
            pod.provisioner,
            driver.name()
        )))
    };
    match outcome {
        Ok(done) => settle_success(&ctx, &driver, &pod, action, done).await,
        Err(e) => {
            let message = e.to_string();
            let permanent = matches!(e, ProvisionError::Permanent(_));
            if permanent || ctx.is_last_attempt() {
                let mut tx = ctx.db.begin_write().await?;
                store::settle_failure(
                    &mut tx,
                    &pod.id,
                    &ctx.job.id,
                    model::after_failure(action, pod.status()),
                    &message,
                )
                .await?;
                crate::jobs::release_key(&mut tx, &ctx.job.id).await?;
                tell_subscription(&mut tx, &pod, action).await?;
                tx.commit().await?;
            } else {
                let note = format!(
                    "Attempt {} of {} failed, retrying: {message}",
                    ctx.job.attempt, ctx.job.max_attempts
                );
                store::note_error(&pool, &pod.id, &ctx.job.id, &note).await?;
            }
            Err(if permanent {
                JobError::permanent(message)
            } else {
                JobError::retry(message)
            })
        }
    }
}

struct Done {
    /// A resize: the new plan's code and specs, and whether CPU/RAM wait for a reboot.
    resized: Option<(String, [i64; 5], bool)>,
    ip_address: Option<String>,
    state: VmState,
}

async fn perform(
    ctx: &JobContext,
    driver: &Driver,
    pod: &PodRow,
    action: Action,
) -> Result<Done, ProvisionError> {
    let cp = PodCheckpoint {
        pool: ctx.db.pool.clone(),
        pod_id: pod.id.clone(),
        job_id: ctx.job.id.clone(),
    };
    let mut state = VmState {
        vmid: pod.vmid,
        node: pod.node.clone(),
        task: pod.task_upid.clone(),
    };
    let mut done = Done {
        resized: None,
        ip_address: None,
        state: VmState::default(),
    };
    match action {
        Action::Provision | Action::Retry => {
            let p = driver.provision(&spec(pod), &mut state, &cp).await?;
            done.ip_address = p.ip_address;
        }
        Action::Resize => {
            let code = pod.target_plan_code.clone().ok_or_else(|| {
                ProvisionError::Permanent("the resize names no target plan".into())
            })?;
            let mut tx = ctx
                .db
                .pool
                .begin()
                .await
                .map_err(|e| ProvisionError::Retryable(e.to_string()))?;
            let plan = catalog_store::plan(&mut *tx, &code)
                .await
                .map_err(|e| ProvisionError::Retryable(e.to_string()))?
                .ok_or_else(|| ProvisionError::Permanent(format!("plan {code} does not exist")))?;
            drop(tx);
            let new = VmSpec {
                cpu_cores: plan.cpu_cores,
                ram_mb: plan.ram_mb,
                disk_gb: plan.disk_gb,
                ..spec(pod)
            };
            let r = driver.resize(&spec(pod), &new, &mut state, &cp).await?;
            done.resized = Some((
                plan.code.clone(),
                [
                    plan.cpu_cores,
                    plan.ram_mb,
                    plan.disk_gb,
                    plan.max_websites,
                    plan.max_email_accounts,
                ],
                r.pending_reboot,
            ));
        }
        Action::Suspend => driver.power(PowerAction::Stop, &mut state, &cp).await?,
        Action::Resume | Action::Start => {
            driver.power(PowerAction::Start, &mut state, &cp).await?;
        }
        Action::Stop => driver.power(PowerAction::Shutdown, &mut state, &cp).await?,
        Action::Reboot => driver.power(PowerAction::Reboot, &mut state, &cp).await?,
        Action::Delete => driver.delete(&mut state, &cp).await?,
    }
    done.state = state;
    Ok(done)
}

async fn settle_success(
    ctx: &JobContext,
    driver: &Driver,
    pod: &PodRow,
    action: Action,
    done: Done,
) -> HandlerResult {
    // What the hypervisor says now (usage, address); a failure to ask does not undo the work.
    let measured: Option<VmStatus> = if action == Action::Delete {
        None
    } else {
        match driver.status(&done.state).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(pod = %pod.id, error = %e, "could not read the VM status");
                None
            }
        }
    };
    let resize_pending = done.resized.as_ref().is_some_and(|r| r.2);
    let mut after = model::after_success(action, pod.status(), pod.power(), resize_pending);
    if let Some(m) = &measured
        && action != Action::Delete
    {
        after.power = if m.running {
            PowerState::Running
        } else {
            PowerState::Stopped
        };
    }
    let ip = done
        .ip_address
        .clone()
        .or_else(|| measured.as_ref().and_then(|m| m.ip_address.clone()));
    let mut tx = ctx.db.begin_write().await?;
    let n = store::settle_success(
        &mut tx,
        &pod.id,
        &ctx.job.id,
        &Settled {
            status: after.status,
            power: after.power,
            pending_reboot: after.pending_reboot,
            plan: done
                .resized
                .as_ref()
                .map(|(code, specs, _)| (code.as_str(), *specs)),
            ip_address: ip.as_deref(),
            mem_used_mb: measured.as_ref().and_then(|m| m.mem_used_mb),
            disk_used_gb: measured.as_ref().and_then(|m| m.disk_used_gb),
            measured: measured.is_some(),
        },
    )
    .await?;
    if n > 0 {
        // The pod is free once this commits; the next action need not wait for this job to be
        // marked done.
        crate::jobs::release_key(&mut tx, &ctx.job.id).await?;
        tell_subscription(&mut tx, pod, action).await?;
    }
    tx.commit().await?;
    if n == 0 {
        tracing::info!(pod = %pod.id, job = %ctx.job.id, "pod moved on while its job ran");
    }
    Ok(())
}
