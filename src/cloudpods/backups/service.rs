//! Backup actions and reads: the policy made with a pod, the customer's change of it, the
//! scheduler's tick that enqueues each due slot once, and what the pod page, the staff list
//! and the ops tile read.

use serde::Deserialize;
use serde_json::json;

use super::model::{self, BACKUP_KIND, Frequency, RunStatus};
use super::store::{self, NewPolicy, PodBackupRow, PolicyRow, RunFilter, RunRow};
use crate::audit::{self, AuditEvent};
use crate::auth::model::Actor;
use crate::billing::catalog::store::PlanRow;
use crate::cloudpods::store::PodRow;
use crate::db::{Db, Timestamp, Tx};
use crate::jobs::{self, NewJob};
use crate::provision::Driver;
use crate::web::{AppError, AppResult};

/// Attempts of one backup job (a failed task is not retried: the next slot tries again).
pub const MAX_ATTEMPTS: i64 = 3;
/// Policies handled per scheduler tick.
const TICK_BATCH: i64 = 500;

/// The policy of a new pod, from its plan's defaults, in the pod's transaction; the first
/// run is at the start of the next slot.
pub async fn create_in(
    tx: &mut Tx,
    pod_id: &str,
    tenant_id: &str,
    plan: &PlanRow,
    now: Timestamp,
) -> AppResult<()> {
    let frequency = Frequency::parse(&plan.backup_frequency).ok_or_else(|| {
        AppError::Internal(anyhow::anyhow!(
            "plan {} has the unknown backup frequency {:?}",
            plan.code,
            plan.backup_frequency
        ))
    })?;
    store::insert_policy(
        tx,
        &NewPolicy {
            pod_id,
            tenant_id,
            frequency,
            retention: plan.backup_retention,
            next_run_at: Timestamp(frequency.next_slot(now.0)),
            now,
        },
    )
    .await?;
    Ok(())
}

/// The pod's policy and its latest runs; `pod` was read in the actor's scope.
pub async fn for_pod(
    db: &Db,
    actor: &Actor,
    pod: &PodRow,
    limit: i64,
) -> AppResult<(Option<PolicyRow>, Vec<RunRow>)> {
    let scope = actor.scope();
    let policy = store::policy(&db.pool, &scope, &pod.id).await?;
    let f = RunFilter {
        pod_id: &pod.id,
        ..RunFilter::default()
    };
    let (runs, _) = store::list_runs(&db.pool, &scope, &f, limit).await?;
    Ok((policy, runs))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PolicyInput {
    pub frequency: String,
    pub retention: String,
}

/// The version of a policy as read, for `If-Match`.
pub fn policy_version(p: &PolicyRow) -> String {
    format!("\"{}\"", p.updated_at.0)
}

/// Changes the pod's policy (customer ADMIN+ on their own pods, staff ADMIN+); audited.
pub async fn update_policy(
    db: &Db,
    actor: &Actor,
    pod_id: &str,
    input: &PolicyInput,
    now: Timestamp,
) -> AppResult<String> {
    update_policy_at(db, actor, pod_id, input, now, None).await
}

/// [`update_policy`], refused as stale when `version` is given and the policy has changed
/// since it was read (`policy_version`).
pub async fn update_policy_at(
    db: &Db,
    actor: &Actor,
    pod_id: &str,
    input: &PolicyInput,
    now: Timestamp,
    version: Option<&str>,
) -> AppResult<String> {
    let pod = crate::cloudpods::service::get(db, actor, pod_id).await?;
    if !model::can_edit_policy(actor) {
        return Err(AppError::Forbidden);
    }
    let v = model::check_policy(&input.frequency, &input.retention).map_err(AppError::Invalid)?;
    let scope = actor.scope();
    let mut tx = db.begin_write().await?;
    let old = store::policy(&mut *tx, &scope, &pod.id)
        .await?
        .ok_or(AppError::NotFound)?;
    if version.is_some_and(|v| v != policy_version(&old)) {
        return Err(AppError::Stale(
            "The backup policy was changed since you read it; read it again.".into(),
        ));
    }
    let next = if old.frequency == v.frequency {
        old.next_run_at
    } else {
        Timestamp(v.frequency.next_slot(now.0))
    };
    store::update_policy(&mut tx, &pod.id, v.frequency, v.retention, next, now).await?;
    let summary = format!(
        "Backup policy of pod {}: {}, keep {} (was {}, keep {})",
        pod.name,
        v.frequency.label().to_lowercase(),
        v.retention,
        old.frequency.label().to_lowercase(),
        old.retention
    );
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&pod.tenant_id),
            action: "backup_policy.updated",
            target_type: "cloudpod",
            target_id: &pod.id,
            summary,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(format!("Backup policy of {} saved.", pod.name))
}

/// The unique key of one pod's slot: several schedulers never enqueue it twice.
pub fn job_key(pod_id: &str, slot: Timestamp) -> String {
    format!("cloudpod-backup:{pod_id}:{}", slot.0)
}

/// The scheduler's tick: for every policy whose slot has begun, claims the slot (moving the
/// policy's next run one slot ahead with a conditional update, so two schedulers never both
/// take it) and enqueues `cloudpod.backup` for it in the same transaction. Nothing when the
/// driver cannot back up. Answers the jobs enqueued.
pub async fn schedule_due(db: &Db, driver: &Driver, now: Timestamp) -> anyhow::Result<usize> {
    if driver.backup_unsupported().is_some() {
        return Ok(0);
    }
    let mut enqueued = 0;
    for p in store::due_policies(&db.pool, now, TICK_BATCH).await? {
        let slot = Timestamp(p.frequency.slot_of(now.0));
        let next = Timestamp(p.frequency.next_slot(now.0));
        let mut tx = db.begin_write().await?;
        if store::claim_slot(&mut tx, &p.pod_id, p.next_run_at, next).await? == 0 {
            continue;
        }
        let job = jobs::enqueue(
            &mut tx,
            NewJob::new(BACKUP_KIND, &json!({ "pod_id": p.pod_id, "slot": slot.0 }))
                .unique_key(job_key(&p.pod_id, slot))
                .subject(format!("cloudpod:{}", p.pod_id))
                .tenant(&p.tenant_id)
                .max_attempts(MAX_ATTEMPTS),
        )
        .await?;
        tx.commit().await?;
        if !job.duplicate {
            enqueued += 1;
        }
    }
    Ok(enqueued)
}

fn require_staff(actor: &Actor) -> AppResult<()> {
    if actor.is_staff {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// The staff list of runs (any staff role), newest first.
pub async fn list(
    db: &Db,
    actor: &Actor,
    f: &RunFilter<'_>,
    limit: i64,
) -> AppResult<(Vec<RunRow>, i64)> {
    require_staff(actor)?;
    Ok(store::list_runs(&db.pool, &actor.scope(), f, limit).await?)
}

/// Runs started since `since`, by status (all three, in order).
pub async fn counts_since(
    db: &Db,
    actor: &Actor,
    since: Timestamp,
) -> AppResult<Vec<(RunStatus, i64)>> {
    require_staff(actor)?;
    let rows = store::status_counts_since(&db.pool, &actor.scope(), since).await?;
    Ok(RunStatus::ALL
        .iter()
        .map(|s| {
            let n = rows.iter().filter(|(r, _)| r == s).map(|(_, n)| n).sum();
            (*s, n)
        })
        .collect())
}

/// Every pod under a policy with its last success, the least recently backed up first.
pub async fn pod_health(db: &Db, actor: &Actor) -> AppResult<Vec<PodBackupRow>> {
    require_staff(actor)?;
    Ok(store::pod_health(&db.pool, &actor.scope()).await?)
}
