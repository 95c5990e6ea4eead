//! Overdue invoices and the subscription: dunning suspends it with the reason OVERDUE and,
//! after the second grace, cancels it (no credit: the period was not paid; the pod deleted);
//! paying everything overdue resumes it, only when OVERDUE was the reason (a staff
//! suspension stays). All for the system actor, audited and on the timeline, inside the
//! caller's transaction (dunning records its step in the same one).

use super::activation::system;
use super::lifecycle::{finish, move_to, record};
use crate::cloudpods::model::Action;
use crate::cloudpods::service as pods;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::subscriptions::model::{Event, SuspendReason};
use crate::subscriptions::store::{self, OverdueInvoice, SubscriptionRow};
use crate::web::{AppError, AppResult};

async fn lock(tx: &mut Tx, db: &Db, id: &str) -> AppResult<SubscriptionRow> {
    store::lock(tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Suspends the subscription (and its pod) because `invoice` is overdue. `false` when it is
/// not active (already suspended, by staff or before; cancelled; …): nothing changes.
pub async fn suspend_overdue_in(tx: &mut Tx, db: &Db, id: &str, invoice: &str) -> AppResult<bool> {
    let s = lock(tx, db, id).await?;
    if !s.status.can(Event::Suspend) {
        return Ok(false);
    }
    move_to(tx, &s, Event::Suspend).await?;
    store::set_suspend_reason(tx, &s.id, SuspendReason::Overdue).await?;
    if let Some(pod) = &s.cloudpod_id {
        pods::act_for_subscription(tx, db, system(&s.tenant_id), pod, Action::Suspend).await?;
    }
    let summary = format!("Suspended: invoice {invoice} is overdue");
    record(
        tx,
        system(&s.tenant_id),
        &s,
        "subscription.suspended",
        summary,
    )
    .await?;
    Ok(true)
}

/// Cancels the subscription because `invoice` stayed unpaid past the second grace: no
/// credit, the pod deleted. `None` when it cannot be cancelled (already cancelled, expired).
pub async fn cancel_overdue_in(
    tx: &mut Tx,
    db: &Db,
    id: &str,
    invoice: &str,
    now: Timestamp,
) -> AppResult<Option<String>> {
    let s = lock(tx, db, id).await?;
    if !s.status.can(Event::CancelNow) {
        return Ok(None);
    }
    let head = format!("Cancelled: invoice {invoice} was not paid");
    let summary = finish(
        tx,
        db,
        system(&s.tenant_id),
        &s,
        Event::CancelNow,
        now,
        (false, &head),
    )
    .await?;
    Ok(Some(summary))
}

/// After a payment: a subscription suspended for an overdue invoice resumes (and its pod)
/// once none of its invoices is overdue on `today`. `true` when it resumed.
pub(super) async fn resume_if_settled(
    tx: &mut Tx,
    db: &Db,
    s: &SubscriptionRow,
    today: time::Date,
) -> AppResult<bool> {
    if !s.suspend_reason.waits_for_payment(s.status) {
        return Ok(false);
    }
    if !store::overdue_invoices(&mut **tx, &s.id, today)
        .await?
        .is_empty()
    {
        return Ok(false);
    }
    move_to(tx, s, Event::Resume).await?;
    store::set_suspend_reason(tx, &s.id, SuspendReason::NotSuspended).await?;
    if let Some(pod) = &s.cloudpod_id {
        match pods::act_for_subscription(tx, db, system(&s.tenant_id), pod, Action::Resume).await {
            Ok(_) => {}
            // the pod is busy: the job retries (a refusal would end it for good)
            Err(AppError::Refused(why)) => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "the pod cannot resume yet: {why}"
                )));
            }
            Err(e) => return Err(e),
        }
    }
    super::plan_change::resize_if_behind(tx, db, s).await?;
    let summary = "Resumed: the overdue invoices are paid".to_string();
    record(tx, system(&s.tenant_id), s, "subscription.resumed", summary).await?;
    Ok(true)
}

/// What the customer is told to pay: a subscription suspended for an overdue invoice, its
/// overdue invoices on `today` (none otherwise).
pub async fn overdue_to_pay(
    db: &Db,
    s: &SubscriptionRow,
    today: time::Date,
) -> AppResult<Vec<OverdueInvoice>> {
    if !s.suspend_reason.waits_for_payment(s.status) {
        return Ok(Vec::new());
    }
    Ok(store::overdue_invoices(&db.pool, &s.id, today).await?)
}
