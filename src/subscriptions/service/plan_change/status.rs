//! The plan section of a CloudPod subscription's page.

use super::*;

/// A subscription's pod as its plan section shows it.
pub struct PodView {
    pub plan_code: String,
    pub specs: Specs,
    /// A resize in flight: the plan asked for.
    pub target: Option<String>,
}

/// The plan section of a CloudPod subscription's page.
pub struct PlanStatus {
    pub subscription_id: String,
    pub plan_name: String,
    /// The pod's plan and specs now.
    pub pod: Option<PodView>,
    /// The change that waits, in words.
    pub pending: Option<String>,
    pub can_change: bool,
    /// A downgrade is scheduled and this person may withdraw it.
    pub can_withdraw: bool,
    /// Something is in flight: the section refreshes itself until it settles.
    pub live: bool,
}

/// The plan section of `s` (read with [`super::get`]); `None` for a subscription that is not
/// a CloudPod.
pub async fn plan_status(
    db: &Db,
    actor: &Actor,
    s: &SubscriptionRow,
) -> AppResult<Option<PlanStatus>> {
    let Some(plan) = current_plan(db, s).await? else {
        return Ok(None);
    };
    let mut tx = db.pool.begin().await?;
    let pending = pending_change(&mut tx, db, s).await?;
    drop(tx);
    let pod = match &s.cloudpod_id {
        Some(id) => pod_store::get(&db.pool, &actor.scope(), id).await?,
        None => None,
    };
    let resizing = pod.as_ref().is_some_and(|p| {
        p.status() != crate::cloudpods::model::PodStatus::Deleted
            && (p.plan_code != plan.code || p.target_plan_code.is_some())
    });
    let upgrade_waits = pending.is_some() && s.pending_product_id.is_none();
    Ok(Some(PlanStatus {
        subscription_id: s.id.clone(),
        plan_name: s.product_name.clone(),
        pod: pod.map(|p| PodView {
            specs: Specs {
                cpu_cores: p.cpu_cores,
                ram_mb: p.ram_mb,
                disk_gb: p.disk_gb,
            },
            plan_code: p.plan_code,
            target: p.target_plan_code,
        }),
        can_change: can_change_plan(actor)
            && pending.is_none()
            && matches!(
                s.status,
                SubscriptionStatus::Active | SubscriptionStatus::Suspended
            ),
        can_withdraw: can_change_plan(actor) && s.pending_product_id.is_some(),
        live: upgrade_waits || resizing,
        pending,
    }))
}
