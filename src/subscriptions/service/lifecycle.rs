//! The lifecycle after activation: suspend and resume (staff ADMIN+, with a reason), cancel
//! now (a credit note for the unused, paid part of the period; the pod deleted), cancel at
//! the period's end (undoable until then; a job ends it). Each action moves the status by the
//! model's machine, reaches the pod through its jobs, and is audited and on the timeline.

use serde::Deserialize;

use super::activation::system;
use super::{event, timeline};
use crate::audit::{self, AuditActor};
use crate::auth::model::{Actor, Role};
use crate::billing::invoices::service as invoices;
use crate::billing::money;
use crate::cloudpods::model::Action;
use crate::cloudpods::service as pods;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::jobs::{self, NewJob};
use crate::subscriptions::model::{Event, SubscriptionStatus, SuspendReason, unused_credit};
use crate::subscriptions::store::{self, SubscriptionRow};
use crate::web::{AppError, AppResult, FieldErrors};

pub const PERIOD_END_KIND: &str = "subscription.period_end";
pub const POD_CLEANUP_KIND: &str = "subscription.pod_cleanup";

/// Suspend and resume: staff ADMIN+.
pub fn can_suspend(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

/// Cancel: the customer's OWNER/ADMIN/BILLING on their own; staff ADMIN+.
pub fn can_cancel(actor: &Actor) -> bool {
    if actor.is_staff {
        actor.at_least(Role::Admin)
    } else {
        actor.at_least(Role::Billing)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ReasonInput {
    pub reason: String,
    pub confirm: String,
}

fn refused(s: &SubscriptionRow, e: Event) -> AppError {
    match s.status.next(e) {
        Err(r) => AppError::refused(r.to_string()),
        Ok(_) => AppError::refused("The subscription changed meanwhile. Reload and try again."),
    }
}

async fn begin(db: &Db, actor: &Actor, id: &str, e: Event) -> AppResult<(Tx, SubscriptionRow)> {
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !s.status.can(e) {
        return Err(refused(&s, e));
    }
    Ok((tx, s))
}

pub(super) async fn move_to(
    tx: &mut Tx,
    s: &SubscriptionRow,
    e: Event,
) -> AppResult<SubscriptionStatus> {
    let to = s
        .status
        .next(e)
        .map_err(|r| AppError::refused(r.to_string()))?;
    if store::set_status(tx, &s.id, s.status, to, "").await? == 0 {
        return Err(refused(s, e));
    }
    Ok(to)
}

pub(super) async fn record(
    tx: &mut Tx,
    who: AuditActor<'_>,
    s: &SubscriptionRow,
    action: &str,
    summary: String,
) -> AppResult<()> {
    timeline(tx, &s.id, "state", &summary, who.email).await?;
    audit::record(tx, who, event(&s.tenant_id, action, &s.id, summary)).await?;
    Ok(())
}

/// Staff suspend an active subscription (and its pod), with a reason.
pub async fn suspend(db: &Db, actor: &Actor, id: &str, input: &ReasonInput) -> AppResult<()> {
    if !can_suspend(actor) {
        return Err(AppError::Forbidden);
    }
    let reason = input.reason.trim();
    if reason.is_empty() || reason.chars().count() > 500 {
        return Err(AppError::Invalid(FieldErrors::one(
            "reason",
            "Say why, in at most 500 characters.",
        )));
    }
    let (mut tx, s) = begin(db, actor, id, Event::Suspend).await?;
    move_to(&mut tx, &s, Event::Suspend).await?;
    store::set_suspend_reason(&mut tx, &s.id, SuspendReason::Staff).await?;
    if let Some(pod) = &s.cloudpod_id {
        pods::act_for_subscription(&mut tx, db, actor, pod, Action::Suspend).await?;
    }
    let summary = format!("Suspended: {reason}");
    record(&mut tx, actor.into(), &s, "subscription.suspended", summary).await?;
    tx.commit().await?;
    Ok(())
}

/// Staff resume a suspended subscription (and its pod).
pub async fn resume(db: &Db, actor: &Actor, id: &str, input: &ReasonInput) -> AppResult<()> {
    if !can_suspend(actor) {
        return Err(AppError::Forbidden);
    }
    let (mut tx, s) = begin(db, actor, id, Event::Resume).await?;
    move_to(&mut tx, &s, Event::Resume).await?;
    store::set_suspend_reason(&mut tx, &s.id, SuspendReason::NotSuspended).await?;
    if let Some(pod) = &s.cloudpod_id {
        pods::act_for_subscription(&mut tx, db, actor, pod, Action::Resume).await?;
        super::plan_change::resize_if_behind(&mut tx, db, &s).await?;
    }
    let reason = input.reason.trim();
    let summary = if reason.is_empty() {
        "Resumed".to_string()
    } else {
        format!("Resumed: {reason}")
    };
    record(&mut tx, actor.into(), &s, "subscription.resumed", summary).await?;
    tx.commit().await?;
    Ok(())
}

/// What cancelling now credits: each item's share of the current period not yet used, in
/// exact seconds, rounded once per item; nothing when the period was not paid (a trial, or
/// an unpaid invoice). Returns (amount, the paid invoice it is credited on).
async fn credit_due(
    tx: &mut Tx,
    db: &Db,
    s: &SubscriptionRow,
    now: Timestamp,
) -> AppResult<(i64, Option<String>)> {
    let (Some(start), Some(end)) = (s.current_period_start, s.current_period_end) else {
        return Ok((0, None));
    };
    let Some(inv) = store::first_invoice(tx, &s.id).await? else {
        return Ok((0, None));
    };
    if !store::invoice_is_paid(tx, &inv).await? {
        return Ok((0, None));
    }
    let mut total = 0i64;
    for i in store::items(&db.pool, &s.id).await? {
        let paid = i.quantity.saturating_mul(i.unit_price_minor);
        total = total.saturating_add(unused_credit(paid, start, end, now));
    }
    Ok((total, Some(inv)))
}

/// The credit cancelling now would give, formatted, for the confirmation.
pub async fn cancel_credit_preview(
    db: &Db,
    actor: &Actor,
    id: &str,
    now: Timestamp,
) -> AppResult<String> {
    let mut tx = db.pool.begin().await?;
    let s = store::get(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (credit, _) = credit_due(&mut tx, db, &s, now).await?;
    Ok(money::format_money(credit, &s.currency))
}

/// Cancel now (at `now`, the clock's): CANCELLED, a credit note for the unused paid part, the
/// pod deleted.
pub async fn cancel_now(db: &Db, actor: &Actor, id: &str, now: Timestamp) -> AppResult<String> {
    if !can_cancel(actor) {
        return Err(AppError::Forbidden);
    }
    let (mut tx, s) = begin(db, actor, id, Event::CancelNow).await?;
    let text = finish(
        &mut tx,
        db,
        actor.into(),
        &s,
        Event::CancelNow,
        now,
        (true, "Cancelled"),
    )
    .await?;
    tx.commit().await?;
    Ok(text)
}

/// Cancels: the credit for the unused paid part (when `credit`), the pod deleted, on the
/// timeline as `head` and what followed.
pub(super) async fn finish(
    tx: &mut Tx,
    db: &Db,
    who: AuditActor<'_>,
    s: &SubscriptionRow,
    e: Event,
    now: Timestamp,
    (credit, head): (bool, &str),
) -> AppResult<String> {
    let (credit, inv) = if credit {
        credit_due(tx, db, s, now).await?
    } else {
        (0, None)
    };
    move_to(tx, s, e).await?;
    let mut summary = head.to_string();
    // the usage not billed yet goes on the final invoice
    if let Some((number, total)) = super::usage::bill_final(tx, db, who, s, now).await? {
        summary.push_str(&format!(
            "; final usage invoice {number} for {}",
            money::format_money(total, &s.currency)
        ));
    }
    if let (true, Some(inv)) = (credit > 0, inv) {
        let who2 = AuditActor {
            tenant_id: who.tenant_id,
            user_id: who.user_id,
            email: who.email,
            client: who.client,
        };
        let number = invoices::credit_unused_in(
            tx,
            db,
            who2,
            &inv,
            credit,
            "unused part of the period after cancelling",
        )
        .await?;
        summary.push_str(&format!(
            "; credit note {number} for {}",
            money::format_money(credit, &s.currency)
        ));
    }
    if let Some(pod) = &s.cloudpod_id {
        let who3 = AuditActor {
            tenant_id: who.tenant_id,
            user_id: who.user_id,
            email: who.email,
            client: who.client,
        };
        match pods::act_for_subscription(tx, db, who3, pod, Action::Delete).await {
            Ok(_) => summary.push_str("; the pod is being deleted"),
            Err(AppError::Refused(why)) => {
                // another action still runs on the pod: a job deletes it once that ends
                jobs::enqueue(
                    tx,
                    NewJob::new(
                        POD_CLEANUP_KIND,
                        &serde_json::json!({ "subscription_id": s.id, "pod_id": pod }),
                    )
                    .unique_key(format!("subscription-pod-cleanup:{}", s.id))
                    .subject(super::subject(&s.id))
                    .tenant(&s.tenant_id),
                )
                .await?;
                summary.push_str(&format!("; the pod is deleted when it is free ({why})"));
            }
            Err(e) => return Err(e),
        }
    }
    record(tx, who, s, "subscription.cancelled", summary.clone()).await?;
    Ok(summary)
}

/// Stop renewing: the service runs until the period ends, then a job cancels it.
pub async fn cancel_at_period_end(db: &Db, actor: &Actor, id: &str) -> AppResult<()> {
    if !can_cancel(actor) {
        return Err(AppError::Forbidden);
    }
    let (mut tx, s) = begin(db, actor, id, Event::CancelAtPeriodEnd).await?;
    move_to(&mut tx, &s, Event::CancelAtPeriodEnd).await?;
    store::set_auto_renew(&mut tx, &s.id, false).await?;
    let end = s.current_period_end.unwrap_or_else(Timestamp::now);
    jobs::enqueue(
        &mut tx,
        NewJob::new(
            PERIOD_END_KIND,
            &serde_json::json!({ "subscription_id": s.id }),
        )
        .unique_key(format!("subscription-period-end:{}", s.id))
        .subject(super::subject(&s.id))
        .tenant(&s.tenant_id)
        .run_at(end),
    )
    .await?;
    let summary = format!("Set to cancel when the period ends ({end})");
    record(
        &mut tx,
        actor.into(),
        &s,
        "subscription.cancel_scheduled",
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Undo a cancel-at-period-end before the period ends.
pub async fn undo_cancel(db: &Db, actor: &Actor, id: &str) -> AppResult<()> {
    if !can_cancel(actor) {
        return Err(AppError::Forbidden);
    }
    let (mut tx, s) = begin(db, actor, id, Event::UndoCancel).await?;
    move_to(&mut tx, &s, Event::UndoCancel).await?;
    store::set_auto_renew(&mut tx, &s.id, true).await?;
    let summary = "Kept: it renews again".to_string();
    record(
        &mut tx,
        actor.into(),
        &s,
        "subscription.cancel_undone",
        summary,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The `subscription.period_end` job: a cancel-at-period-end whose period is over ends.
pub async fn end_period(db: &Db, id: &str, now: Timestamp) -> AppResult<bool> {
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let over = s.current_period_end.is_some_and(|end| end <= now);
    if s.status != SubscriptionStatus::CancelAtPeriodEnd || !over {
        return Ok(false);
    }
    finish(
        &mut tx,
        db,
        system(&s.tenant_id),
        &s,
        Event::PeriodEnds,
        now,
        (true, "Cancelled"),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The `subscription.pod_cleanup` job: deletes the pod of a cancelled subscription once no
/// other action runs on it. `Ok(false)` while it is still busy (the job retries).
pub async fn delete_pod_of_cancelled(db: &Db, id: &str, pod: &str) -> AppResult<bool> {
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.status != SubscriptionStatus::Cancelled || s.cloudpod_id.as_deref() != Some(pod) {
        return Ok(true);
    }
    match pods::act_for_subscription(&mut tx, db, system(&s.tenant_id), pod, Action::Delete).await {
        Ok(_) => {
            timeline(&mut tx, &s.id, "pod", "The pod is being deleted", "system").await?;
            tx.commit().await?;
            Ok(true)
        }
        Err(AppError::Refused(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
