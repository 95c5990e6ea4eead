//! CloudPod actions. Each one checks permission and the status machine, enqueues its job in
//! the same transaction as the pod change and the audit entry, and returns; the job does the
//! hypervisor work (`handlers.rs`). One action at a time per pod: the job's unique key is
//! `cloudpod:<id>` and the pod row names the running operation.
//!
//! Staff ADMIN+ do everything (create, suspend, resume, retry); a customer tenant's MEMBER+
//! resize, power-cycle and delete their own pods; everyone else in scope reads.

use serde::Deserialize;
use serde_json::json;

use super::model::{self, Action, PodStatus, Specs};
pub use super::ordered::{
    NewPodOrder, act_for_subscription, create_in, name_taken, resize_for_subscription,
};
use super::store::{self, PodRow};
use crate::audit::{self, AuditEvent};
use crate::auth::model::{Actor, Role, TenantScope};
use crate::billing::catalog::model as catalog;
use crate::billing::catalog::store::{self as catalog_store, PlanRow};
use crate::db::{Db, Tx};
use crate::jobs::{self, NewJob};
use crate::web::{AppError, AppResult, FieldErrors};

/// Everyone signed in reads the pods in their scope.
pub fn can_read(_actor: &Actor) -> bool {
    true
}

/// Resize, power and delete: a customer's MEMBER+ on their own pods; staff ADMIN+.
pub fn can_operate(actor: &Actor) -> bool {
    if actor.is_staff {
        actor.at_least(Role::Admin)
    } else {
        actor.at_least(Role::Member)
    }
}

/// Create, suspend, resume, retry: staff ADMIN+.
pub fn can_manage(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

fn may(actor: &Actor, action: Action) -> bool {
    if action.staff_only() {
        can_manage(actor)
    } else {
        can_operate(actor)
    }
}

/// Attempts per pod job: with `attempt⁴ s` backoff, 8 attempts give up after about 2½ hours,
/// so a stuck hypervisor shows up as a failed pod the same day rather than days later.
pub const MAX_ATTEMPTS: i64 = 8;

pub fn subject(pod_id: &str) -> String {
    format!("cloudpod:{pod_id}")
}

fn pod_event<'a>(pod: &'a PodRow, action: &'a str, summary: String) -> AuditEvent<'a> {
    AuditEvent {
        tenant_id: Some(&pod.tenant_id),
        action,
        target_type: "cloudpod",
        target_id: &pod.id,
        summary,
    }
}

/// The pod, in the actor's scope (another tenant's pod is 404). An operation whose job ended
/// without settling the pod (cancelled, or out of attempts on timeouts) is settled here.
pub async fn get(db: &Db, actor: &Actor, id: &str) -> AppResult<PodRow> {
    let scope = actor.scope();
    let pod = store::get(&db.pool, &scope, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !pod.stale_operation() {
        return Ok(pod);
    }
    settle_stale(db, &pod).await?;
    store::get(&db.pool, &scope, id)
        .await?
        .ok_or(AppError::NotFound)
}

async fn settle_stale(db: &Db, pod: &PodRow) -> AppResult<()> {
    let Some(job_id) = pod.operation_job_id.as_deref() else {
        return Ok(());
    };
    let job = jobs::read::get(&db.pool, &TenantScope::All, job_id).await?;
    let (state, why) = job.map_or(("missing", String::new()), |j| {
        (j.state.as_str(), j.last_error.unwrap_or_default())
    });
    let action = pod.operation.unwrap_or(Action::Provision);
    let mut message = format!("{} stopped: its job was {state}", action.label());
    if !why.is_empty() {
        message.push_str(&format!(" (last error: {why})"));
    }
    message.push('.');
    let mut tx = db.begin_write().await?;
    store::settle_failure(
        &mut tx,
        &pod.id,
        job_id,
        model::after_failure(action, pod.status()),
        &message,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn plan(tx: &mut Tx, code: &str) -> sqlx::Result<Option<PlanRow>> {
    catalog_store::plan(&mut **tx, code).await
}

fn plan_specs(p: &PlanRow) -> Specs {
    Specs {
        cpu_cores: p.cpu_cores,
        ram_mb: p.ram_mb,
        disk_gb: p.disk_gb,
    }
}

fn sellable(p: &PlanRow) -> bool {
    catalog::can_be_sold(p.product_status)
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct CreateInput {
    /// Empty, or the operator's own tenant: other tenants' pods come from subscriptions.
    pub tenant_id: String,
    pub name: String,
    pub region: String,
    pub plan_code: String,
}

/// Staff ADMIN+ create a pod for the operator's own tenant, without a subscription; it starts
/// PROVISIONING with its job. A customer's pods come from their subscriptions only, so naming a
/// customer tenant here is refused with a pointer to ordering.
pub async fn create(
    db: &Db,
    actor: &Actor,
    provisioner: &str,
    input: &CreateInput,
) -> AppResult<String> {
    if !can_manage(actor) || !actor.is_staff {
        return Err(AppError::Forbidden);
    }
    let mut e = FieldErrors::new();
    let name = model::pod_name(&input.name)
        .map_err(|m| e.add("name", m))
        .unwrap_or_default();
    let wanted = input.tenant_id.trim();
    if !wanted.is_empty() && wanted != actor.tenant_id {
        e.add(
            "tenant_id",
            "A customer's pods come from their subscriptions: order one for them at \
             /billing/subscriptions/new. Pods created here belong to your own organisation.",
        );
    }
    let mut tx = db.begin_write().await?;
    let tenant =
        crate::auth::store::get_tenant(&mut *tx, &crate::db::TenantScope::All, &actor.tenant_id)
            .await?
            .ok_or(AppError::Forbidden)?;
    let region_raw = if input.region.trim().is_empty() {
        tenant.region.clone()
    } else {
        input.region.clone()
    };
    let region = model::region_code(&region_raw)
        .map_err(|m| e.add("region", m))
        .unwrap_or_default();
    let chosen = plan(&mut tx, input.plan_code.trim()).await?;
    match &chosen {
        None => e.add("plan_code", "Choose a plan."),
        Some(p) if !sellable(p) => e.add(
            "plan_code",
            format!("The {} plan is no longer sold; choose another.", p.code),
        ),
        Some(_) => {}
    }
    if !name.is_empty() && store::name_taken(&mut tx, &tenant.id, &name).await? {
        e.add("name", "You already have a pod with that name.");
    }
    e.into_result().map_err(AppError::Invalid)?;
    let Some(p) = chosen else {
        unreachable!("errors returned above");
    };
    let id = create_in(
        &mut tx,
        &NewPodOrder {
            tenant_id: &tenant.id,
            name: &name,
            region: &region,
            plan: &p,
            provisioner,
            subscription_ref: None,
            subscription_id: None,
        },
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&tenant.id),
            action: "cloudpod.created",
            target_type: "cloudpod",
            target_id: &id,
            summary: format!(
                "Created pod {name} ({} plan, {region}) for {}",
                p.code, tenant.name
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Locks the pod and checks that `actor` may take `action` on it now.
async fn begin(db: &Db, actor: &Actor, id: &str, action: Action) -> AppResult<(Tx, PodRow)> {
    if !can_read(actor) {
        return Err(AppError::Forbidden);
    }
    // Settle a stale operation first, so that it does not block this action.
    let current = get(db, actor, id).await?;
    if !may(actor, action) {
        return Err(AppError::Forbidden);
    }
    let _ = current;
    let mut tx = db.begin_write().await?;
    let pod = store::lock(&mut tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    model::check_action(pod.status(), pod.power(), pod.busy(), action)
        .map_err(AppError::Refused)?;
    Ok((tx, pod))
}

/// Enqueues the action's job and marks it running on the pod, with its audit entry.
async fn enqueue(
    mut tx: Tx,
    actor: &Actor,
    pod: &PodRow,
    action: Action,
    payload: serde_json::Value,
    target_plan: Option<&str>,
    summary: String,
) -> AppResult<String> {
    let job = enqueue_in(&mut tx, actor, pod, action, payload, target_plan, summary).await?;
    tx.commit().await?;
    Ok(job)
}

pub(super) async fn enqueue_in<'a>(
    tx: &mut Tx,
    who: impl Into<audit::AuditActor<'a>>,
    pod: &PodRow,
    action: Action,
    payload: serde_json::Value,
    target_plan: Option<&str>,
    summary: String,
) -> AppResult<String> {
    let job = jobs::enqueue(
        tx,
        NewJob::new(action.job_kind(), &payload)
            .unique_key(subject(&pod.id))
            .subject(subject(&pod.id))
            .tenant(&pod.tenant_id)
            .max_attempts(MAX_ATTEMPTS),
    )
    .await?;
    if job.duplicate {
        return Err(AppError::refused(
            "Another action on this pod is still running; wait until it finishes.",
        ));
    }
    let status = (action == Action::Retry).then_some(PodStatus::Provisioning);
    if store::start_operation(tx, &pod.id, action, &job.id, target_plan, status).await? == 0 {
        return Err(AppError::refused(
            "The pod changed meanwhile. Reload and try again.",
        ));
    }
    let audit_action = format!("cloudpod.{}", action.as_str());
    audit::record(tx, who, pod_event(pod, &audit_action, summary)).await?;
    Ok(job.id)
}

/// Suspend, resume, retry, start, stop, reboot: actions without input.
pub async fn act(db: &Db, actor: &Actor, id: &str, action: Action) -> AppResult<String> {
    if matches!(action, Action::Resize | Action::Delete | Action::Provision) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "{action} has its own service function"
        )));
    }
    let (tx, pod) = begin(db, actor, id, action).await?;
    let payload = json!({ "pod_id": pod.id, "action": action.as_str() });
    let summary = format!("{} pod {}", action.label(), pod.name);
    enqueue(tx, actor, &pod, action, payload, None, summary).await
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ResizeInput {
    pub plan_code: String,
}

pub async fn resize(db: &Db, actor: &Actor, id: &str, input: &ResizeInput) -> AppResult<String> {
    let (mut tx, pod) = begin(db, actor, id, Action::Resize).await?;
    // A subscription's pod changes plan through the subscription, which bills the difference.
    if let Some(sub) = pod.subscription_id.as_deref()
        && store::subscription_is_live(&mut tx, sub).await?
    {
        return Err(AppError::Invalid(FieldErrors::one(
            "plan_code",
            format!(
                "Pod {} belongs to a subscription: change its plan on the subscription \
                 (/billing/subscriptions/{sub}/plan), which bills the difference.",
                pod.name
            ),
        )));
    }
    let Some(target) = plan(&mut tx, input.plan_code.trim()).await? else {
        return Err(AppError::Invalid(FieldErrors::one(
            "plan_code",
            "Choose a plan.",
        )));
    };
    if !sellable(&target) {
        return Err(AppError::Invalid(FieldErrors::one(
            "plan_code",
            format!(
                "The {} plan is no longer sold; choose another.",
                target.code
            ),
        )));
    }
    let current = Specs {
        cpu_cores: pod.cpu_cores,
        ram_mb: pod.ram_mb,
        disk_gb: pod.disk_gb,
    };
    model::check_resize(&pod.plan_code, current, &target.code, plan_specs(&target))
        .map_err(|m| AppError::Invalid(FieldErrors::one("plan_code", m)))?;
    let payload =
        json!({ "pod_id": pod.id, "action": "resize", "from": pod.plan_code, "plan": target.code });
    let summary = format!(
        "Resize pod {} from {} to {}",
        pod.name, pod.plan_code, target.code
    );
    enqueue(
        tx,
        actor,
        &pod,
        Action::Resize,
        payload,
        Some(&target.code),
        summary,
    )
    .await
}

#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DeleteInput {
    /// The pod's name, typed again to confirm.
    pub confirm_name: String,
}

pub async fn delete(db: &Db, actor: &Actor, id: &str, input: &DeleteInput) -> AppResult<String> {
    let (mut tx, pod) = begin(db, actor, id, Action::Delete).await?;
    if let Some(sub) = pod.subscription_id.as_deref()
        && store::subscription_is_live(&mut tx, sub).await?
    {
        return Err(AppError::refused(format!(
            "Pod {} belongs to a subscription: cancel the subscription instead \
             (/billing/subscriptions/{sub}); its pod is deleted with it.",
            pod.name
        )));
    }
    if input.confirm_name.trim() != pod.name {
        return Err(AppError::Invalid(FieldErrors::one(
            "confirm_name",
            format!("Type the pod's name, {}, to confirm.", pod.name),
        )));
    }
    let payload = json!({ "pod_id": pod.id, "action": "delete" });
    let summary = format!("Delete pod {} and its disks", pod.name);
    enqueue(tx, actor, &pod, Action::Delete, payload, None, summary).await
}

/// Plans a pod may be created on or resized to (sellable ones), for the forms.
pub async fn plan_choices(db: &Db) -> AppResult<Vec<PlanRow>> {
    Ok(catalog_store::plans(&db.pool)
        .await?
        .into_iter()
        .filter(sellable)
        .collect())
}
