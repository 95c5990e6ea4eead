//! Activation, run by jobs: the first invoice is paid (or nothing was due) → a CLOUDPOD
//! product gets its pod (the plan's specs, provisioning enqueued), other products become
//! ACTIVE at once; the pod's provisioning ending → ACTIVE, or ACTIVATION_FAILED with the
//! reason. Each step is idempotent: a job delivered twice finds the work done.

use super::{event, timeline};
use crate::actor::ClientInfo;
use crate::audit::{self, AuditActor};
use crate::billing::catalog::model::Category;
use crate::billing::catalog::store as catalog_store;
use crate::cloudpods::model::PodStatus;
use crate::cloudpods::service::{self as pods, NewPodOrder};
use crate::cloudpods::store as pod_store;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::subscriptions::model::{Event, SubscriptionStatus, period_bounds};
use crate::subscriptions::store::{self, SubscriptionRow};
use crate::web::{AppError, AppResult};

const SYSTEM: &str = "system";

pub(super) fn system(tenant_id: &str) -> AuditActor<'_> {
    static CLIENT: std::sync::LazyLock<ClientInfo> = std::sync::LazyLock::new(ClientInfo::default);
    AuditActor {
        tenant_id: Some(tenant_id),
        user_id: None,
        email: SYSTEM,
        client: &CLIENT,
    }
}

async fn lock(tx: &mut Tx, db: &Db, id: &str) -> AppResult<SubscriptionRow> {
    store::lock(tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// PENDING_ACTIVATION → ACTIVE, the first period starting now (anniversary billing).
async fn go_active(tx: &mut Tx, s: &SubscriptionRow, why: &str) -> AppResult<()> {
    SubscriptionStatus::next(s.status, Event::Activate)
        .map_err(|r| AppError::refused(r.to_string()))?;
    let now = Timestamp::now();
    // A trial is period -1, [now, trial end); the paid periods count from the trial's end.
    let (bounds, anchor, number) = match s.trial_ends_at {
        Some(trial_end) if trial_end > now => ((now, trial_end), trial_end, -1),
        _ => {
            let bounds = period_bounds(now, s.period, 0)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("subscription {}: {e}", s.id)))?;
            (bounds, now, 0)
        }
    };
    if store::activate(tx, &s.id, s.status, bounds, anchor, number).await? == 0 {
        return Ok(());
    }
    timeline(tx, &s.id, "state", &format!("Active: {why}"), SYSTEM).await?;
    audit::record(
        tx,
        system(&s.tenant_id),
        event(
            &s.tenant_id,
            "subscription.activated",
            &s.id,
            format!("{} is active", s.product_name),
        ),
    )
    .await?;
    Ok(())
}

async fn go_failed(tx: &mut Tx, s: &SubscriptionRow, reason: &str) -> AppResult<()> {
    let to = SubscriptionStatus::next(s.status, Event::ActivationFails)
        .map_err(|r| AppError::refused(r.to_string()))?;
    if store::set_status(tx, &s.id, s.status, to, reason).await? == 0 {
        return Ok(());
    }
    timeline(
        tx,
        &s.id,
        "state",
        &format!("Activation failed: {reason}"),
        SYSTEM,
    )
    .await?;
    audit::record(
        tx,
        system(&s.tenant_id),
        event(
            &s.tenant_id,
            "subscription.activation_failed",
            &s.id,
            format!("{} could not be activated: {reason}", s.product_name),
        ),
    )
    .await?;
    Ok(())
}

/// The `subscription.activate` job: the first invoice is paid, or nothing was due.
pub async fn activate(db: &Db, provisioner: &str, id: &str) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    let s = lock(&mut tx, db, id).await?;
    if s.status != SubscriptionStatus::PendingActivation {
        return Ok(());
    }
    timeline(
        &mut tx,
        &s.id,
        "payment",
        "Nothing left to pay: activation started",
        SYSTEM,
    )
    .await?;
    let product = catalog_store::get_product(&db.pool, &s.product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if product.category != Category::Cloudpod {
        go_active(&mut tx, &s, "nothing to provision").await?;
        tx.commit().await?;
        return Ok(());
    }
    if s.cloudpod_id.is_some() {
        tx.commit().await?;
        return Ok(());
    }
    let Some(plan) = catalog_store::plan_for_product(&db.pool, &product.id).await? else {
        go_failed(&mut tx, &s, "the product has no CloudPod plan").await?;
        tx.commit().await?;
        return Ok(());
    };
    if pods::name_taken(&mut tx, &s.tenant_id, &s.pod_name).await? {
        go_failed(
            &mut tx,
            &s,
            &format!("a pod named {} exists already", s.pod_name),
        )
        .await?;
        tx.commit().await?;
        return Ok(());
    }
    let pod_id = pods::create_in(
        &mut tx,
        &NewPodOrder {
            tenant_id: &s.tenant_id,
            name: &s.pod_name,
            region: &s.region,
            plan: &plan,
            provisioner,
            subscription_ref: None,
            subscription_id: Some(&s.id),
        },
    )
    .await?;
    store::set_pod(&mut tx, &s.id, &pod_id).await?;
    timeline(
        &mut tx,
        &s.id,
        "pod",
        &format!(
            "Pod {} created ({} plan, {}); provisioning started",
            s.pod_name, plan.code, s.region
        ),
        SYSTEM,
    )
    .await?;
    audit::record(
        &mut tx,
        system(&s.tenant_id),
        crate::audit::AuditEvent {
            tenant_id: Some(&s.tenant_id),
            action: "cloudpod.created",
            target_type: "cloudpod",
            target_id: &pod_id,
            summary: format!("Created pod {} for subscription {}", s.pod_name, s.id),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The `subscription.pod_settled` job: the pod's provisioning ended.
pub async fn pod_settled(db: &Db, id: &str, pod_id: &str) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    let s = lock(&mut tx, db, id).await?;
    let pod = pod_store::get(&db.pool, &TenantScope::All, pod_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.status != SubscriptionStatus::PendingActivation || s.cloudpod_id.as_deref() != Some(pod_id)
    {
        return Ok(());
    }
    match pod.status() {
        PodStatus::Active => {
            timeline(
                &mut tx,
                &s.id,
                "pod",
                &format!("Pod {} is active", pod.name),
                SYSTEM,
            )
            .await?;
            go_active(&mut tx, &s, "the pod is up").await?;
        }
        PodStatus::Failed => {
            let reason = if pod.failure_reason.is_empty() {
                "provisioning failed".to_string()
            } else {
                pod.failure_reason.clone()
            };
            go_failed(&mut tx, &s, &reason).await?;
        }
        _ => return Ok(()),
    }
    tx.commit().await?;
    Ok(())
}
