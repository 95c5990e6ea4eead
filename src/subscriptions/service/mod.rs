//! Subscription actions and reads. A customer's OWNER/ADMIN/BILLING members order for their
//! tenant and read its subscriptions; staff BILLING+ order for any tenant; staff ADMIN+
//! retry a failed activation. Every change is audited and written on the timeline.

mod activation;
mod check;
mod expiry;
mod lifecycle;
mod order;
mod overdue;
mod paid;
mod plan_change;
mod renewal;
mod renewal_batch;
pub use renewal_batch::renew_batch;
mod usage;

pub use activation::{activate, pod_settled};
pub use expiry::{EXPIRE_KIND, expire};
pub use lifecycle::{
    PERIOD_END_KIND, POD_CLEANUP_KIND, ReasonInput, can_cancel, can_suspend, cancel_at_period_end,
    cancel_credit_preview, cancel_now, delete_pod_of_cancelled, end_period, resume, suspend,
    undo_cancel,
};
pub use order::{
    ACTIVATE_KIND, MAX_QUANTITY, OrderInput, OrderSettings, Quote, QuoteLine, order, quote,
};
pub use overdue::{cancel_overdue_in, overdue_to_pay, suspend_overdue_in};
pub use paid::invoice_paid;
pub use plan_change::{
    PLAN_CHANGE, PLAN_RESIZE_KIND, PlanChangeInput, PlanChoice, PlanQuote, PlanStatus, PodView,
    can_change_plan, change_plan, plan_choices, plan_quote, plan_status, resize_to_plan,
    withdraw_downgrade,
};
pub use renewal::{
    PeriodEnd, RENEWAL, Renewal, Renewed, count_lagging, end_of_period, expired_orders, for_system,
    next_period, period_end_work, renew, renew_many, renewal_due, renewal_lines, renewal_work,
    unbilled_current_periods,
};
pub use usage::{
    MetricUsage, Recorded, USAGE, UsageInput, can_record, current_usage, recent_records,
    record as record_usage, records_page,
};

use crate::audit::AuditEvent;
use crate::auth::model::{Actor, Role};
use crate::db::{Db, Tx};
use crate::jobs::read::JobRow;
use crate::subscriptions::model::SubscriptionStatus;
use crate::subscriptions::store::{self, EventRow, ItemRow, SubscriptionFilter, SubscriptionRow};
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult};

/// Customers' OWNER/ADMIN/BILLING; staff BILLING+.
pub fn can_order(actor: &Actor) -> bool {
    actor.at_least(Role::Billing)
}

/// Everyone signed in reads the subscriptions in their scope.
pub fn can_read(_actor: &Actor) -> bool {
    true
}

/// Retry a failed activation: staff ADMIN+.
pub fn can_manage(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

pub fn subject(id: &str) -> String {
    format!("subscription:{id}")
}

fn event<'a>(tenant_id: &'a str, action: &'a str, id: &'a str, summary: String) -> AuditEvent<'a> {
    AuditEvent {
        tenant_id: Some(tenant_id),
        action,
        target_type: "subscription",
        target_id: id,
        summary,
    }
}

async fn timeline(tx: &mut Tx, id: &str, kind: &str, summary: &str, who: &str) -> AppResult<()> {
    Ok(store::add_event(tx, id, kind, summary, who).await?)
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> AppResult<SubscriptionRow> {
    if !can_read(actor) {
        return Err(AppError::Forbidden);
    }
    store::get(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    f: &SubscriptionFilter<'_>,
    req: PageRequest,
) -> AppResult<(Vec<SubscriptionRow>, i64)> {
    if !can_read(actor) {
        return Err(AppError::Forbidden);
    }
    let f = SubscriptionFilter {
        tenant_id: if actor.is_staff { f.tenant_id } else { "" },
        ..*f
    };
    Ok(store::list(&db.pool, &actor.scope(), &f, req.size, req.offset()).await?)
}

/// An invoice of the subscription as its page lists it.
pub struct InvoiceLink {
    pub id: String,
    pub number: String,
    pub status: String,
    pub total: String,
    pub due: String,
    /// `total` and `due` in minor units of `currency` (for the JSON API).
    pub total_minor: i64,
    pub due_minor: i64,
    pub currency: String,
}

/// Everything the detail page shows of a subscription read with [`get`].
pub struct Detail {
    pub items: Vec<ItemRow>,
    pub events: Vec<EventRow>,
    pub invoices: Vec<InvoiceLink>,
    pub jobs: Vec<JobRow>,
}

pub async fn detail(db: &Db, actor: &Actor, s: &SubscriptionRow) -> AppResult<Detail> {
    let invoices = store::invoices(&db.pool, &s.id)
        .await?
        .into_iter()
        .map(|(id, number, status, total, due, cur)| InvoiceLink {
            id,
            number: number.unwrap_or_else(|| "draft".into()),
            status,
            total: crate::billing::money::format_money(total, &cur),
            due: crate::billing::money::format_money(due, &cur),
            total_minor: total,
            due_minor: due,
            currency: cur,
        })
        .collect();
    Ok(Detail {
        items: store::items(&db.pool, &s.id).await?,
        events: store::events(&db.pool, &s.id).await?,
        invoices,
        jobs: crate::jobs::read::list_for_subject(&db.pool, &actor.scope(), &subject(&s.id), 20)
            .await?,
    })
}

/// Staff ADMIN+ retry a failed activation: the pod's provisioning again when there is a pod,
/// else the activation job.
pub async fn retry(db: &Db, actor: &Actor, id: &str) -> AppResult<()> {
    if !can_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let s = get(db, actor, id).await?;
    if !s.status.can_retry() {
        return Err(AppError::refused(
            crate::subscriptions::model::SubscriptionStatus::next(
                s.status,
                crate::subscriptions::model::Event::RetryActivation,
            )
            .err()
            .map_or_else(String::new, |r| r.to_string()),
        ));
    }
    // The subscription waits (PENDING_ACTIVATION) before the pod's retry job exists: that job
    // commits on its own and may settle the pod at once, and its settle message must find the
    // subscription waiting for it.
    let mut tx = db.begin_write().await?;
    if store::set_status(
        &mut tx,
        id,
        SubscriptionStatus::ActivationFailed,
        SubscriptionStatus::PendingActivation,
        "",
    )
    .await?
        == 0
    {
        return Err(AppError::refused(
            "The subscription changed meanwhile. Reload and try again.",
        ));
    }
    if s.cloudpod_id.is_none() {
        order::enqueue_activation(&mut tx, id, &s.tenant_id).await?;
    }
    tx.commit().await?;
    if let Some(pod) = &s.cloudpod_id
        && let Err(e) =
            crate::cloudpods::service::act(db, actor, pod, crate::cloudpods::model::Action::Retry)
                .await
    {
        // The pod refused the retry (busy, or no longer failed): the activation stays failed
        // with its reason, and the staff member sees why.
        let mut tx = db.begin_write().await?;
        store::set_status(
            &mut tx,
            id,
            SubscriptionStatus::PendingActivation,
            SubscriptionStatus::ActivationFailed,
            &s.failure_reason,
        )
        .await?;
        tx.commit().await?;
        return Err(e);
    }
    let mut tx = db.begin_write().await?;
    timeline(&mut tx, id, "state", "Activation retried", &actor.email).await?;
    crate::audit::record(
        &mut tx,
        actor,
        event(
            &s.tenant_id,
            "subscription.retried",
            id,
            format!("Retried the activation of {}", s.product_name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
