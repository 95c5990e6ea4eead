//! Pods that subscriptions order and act on: created by a subscription's activation job
//! (validated by the subscriptions service), suspended, resumed and deleted with their
//! subscription. Re-exported from `service`; each runs inside the caller's transaction.

use serde_json::json;

use super::model::{self, Action};
use super::service::{MAX_ATTEMPTS, enqueue_in, subject};
use super::store::{self, NewPod};
use crate::audit;
use crate::billing::catalog::store::PlanRow;
use crate::db::{Db, TenantScope, Timestamp, Tx, new_id};
use crate::jobs::{self, NewJob};
use crate::web::{AppError, AppResult};

/// A pod to create, already validated by its caller.
pub struct NewPodOrder<'a> {
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub region: &'a str,
    pub plan: &'a PlanRow,
    pub provisioner: &'a str,
    pub subscription_ref: Option<&'a str>,
    /// The subscription that ordered the pod (its activation job creates it).
    pub subscription_id: Option<&'a str>,
}

/// Inserts the pod (PROVISIONING, the plan's specs) and enqueues its provisioning job in the
/// caller's transaction. The caller checked permission, the name and the plan.
pub async fn create_in(tx: &mut Tx, o: &NewPodOrder<'_>) -> AppResult<String> {
    let id = new_id();
    let p = o.plan;
    let job = jobs::enqueue(
        tx,
        NewJob::new(
            Action::Provision.job_kind(),
            &json!({ "pod_id": id, "plan": p.code, "region": o.region }),
        )
        .unique_key(subject(&id))
        .subject(subject(&id))
        .tenant(o.tenant_id)
        .max_attempts(MAX_ATTEMPTS),
    )
    .await?;
    store::insert(
        tx,
        &NewPod {
            id: &id,
            tenant_id: o.tenant_id,
            name: o.name,
            region: o.region,
            plan_code: &p.code,
            subscription_ref: o.subscription_ref,
            subscription_id: o.subscription_id,
            cpu_cores: p.cpu_cores,
            ram_mb: p.ram_mb,
            disk_gb: p.disk_gb,
            max_websites: p.max_websites,
            max_email_accounts: p.max_email_accounts,
            provisioner: o.provisioner,
            job_id: &job.id,
            now: Timestamp::now(),
        },
    )
    .await?;
    super::backups::service::create_in(tx, &id, o.tenant_id, p, Timestamp::now()).await?;
    Ok(id)
}

/// Whether the tenant already has a pod (not deleted) with this name.
pub async fn name_taken(tx: &mut Tx, tenant_id: &str, name: &str) -> AppResult<bool> {
    Ok(store::name_taken(tx, tenant_id, name).await?)
}

/// Suspend, resume or delete a subscription's pod inside the subscription's transaction: the
/// subscriptions service decided who may; the pod's own status machine still applies.
pub async fn act_for_subscription<'a>(
    tx: &mut Tx,
    db: &Db,
    who: impl Into<audit::AuditActor<'a>>,
    id: &str,
    action: Action,
) -> AppResult<String> {
    if !matches!(action, Action::Suspend | Action::Resume | Action::Delete) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "{action} is not a subscription's action on its pod"
        )));
    }
    let pod = store::lock(tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    model::check_action(pod.status(), pod.power(), pod.busy(), action)
        .map_err(AppError::Refused)?;
    let payload = json!({ "pod_id": pod.id, "action": action.as_str() });
    let summary = format!("{} pod {} (its subscription)", action.label(), pod.name);
    enqueue_in(tx, who, &pod, action, payload, None, summary).await
}

/// Resizes a subscription's pod to `plan` inside the subscription's transaction (its plan
/// changed: an upgrade was paid, or a downgrade's period began). The subscriptions service
/// decided who may and billed the change; the pod's rules still apply (one action at a time,
/// not while suspended, disks never shrink). `Ok(None)` when the pod is on that plan already.
pub async fn resize_for_subscription<'a>(
    tx: &mut Tx,
    db: &Db,
    who: impl Into<audit::AuditActor<'a>>,
    id: &str,
    plan: &PlanRow,
) -> AppResult<Option<String>> {
    let pod = store::lock(tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if pod.plan_code == plan.code && pod.target_plan_code.is_none() {
        return Ok(None);
    }
    model::check_action(pod.status(), pod.power(), pod.busy(), Action::Resize)
        .map_err(AppError::Refused)?;
    let current = model::Specs {
        cpu_cores: pod.cpu_cores,
        ram_mb: pod.ram_mb,
        disk_gb: pod.disk_gb,
    };
    let target = model::Specs {
        cpu_cores: plan.cpu_cores,
        ram_mb: plan.ram_mb,
        disk_gb: plan.disk_gb,
    };
    model::check_resize(&pod.plan_code, current, &plan.code, target).map_err(AppError::Refused)?;
    let payload = json!({
        "pod_id": pod.id, "action": "resize", "from": pod.plan_code, "plan": plan.code
    });
    let summary = format!(
        "Resize pod {} from {} to {} (its subscription's plan changed)",
        pod.name, pod.plan_code, plan.code
    );
    enqueue_in(
        tx,
        who,
        &pod,
        Action::Resize,
        payload,
        Some(&plan.code),
        summary,
    )
    .await
    .map(Some)
}
