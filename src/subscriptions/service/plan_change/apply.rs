//! Making a change happen: the switch of product and item, the pod's resize job, an upgrade
//! paid, a downgrade's period beginning.

use super::*;

/// Switches the subscription (its product and item) to `to` at `unit` per period now, and
/// resizes its pod: an upgrade paid, or one with nothing to pay.
pub(super) async fn switch_plan(
    tx: &mut Tx,
    who: AuditActor<'_>,
    s: &SubscriptionRow,
    to: &ProductRow,
    unit: i64,
    why: &str,
) -> AppResult<()> {
    if store::switch_product(tx, &s.id, &s.product_id, &to.id, unit).await? == 0 {
        return Err(AppError::refused(
            "The subscription changed meanwhile. Reload and try again.",
        ));
    }
    if s.cloudpod_id.is_some() {
        enqueue_resize(tx, s).await?;
    }
    let summary = format!(
        "Plan changed from {} to {} ({why}); the pod is being resized",
        s.product_name, to.name
    );
    timeline(tx, &s.id, "plan", &summary, who.email).await?;
    audit::record(
        tx,
        who,
        event(&s.tenant_id, "subscription.plan_changed", &s.id, summary),
    )
    .await?;
    Ok(())
}

async fn enqueue_resize(tx: &mut Tx, s: &SubscriptionRow) -> AppResult<()> {
    jobs::enqueue(
        tx,
        NewJob::new(PLAN_RESIZE_KIND, &json!({ "subscription_id": s.id }))
            .unique_key(format!("subscription-plan-resize:{}", s.id))
            .subject(subject(&s.id))
            .tenant(&s.tenant_id),
    )
    .await?;
    Ok(())
}

/// After a resume: a pod left on another plan than its subscription's (a downgrade that took
/// effect while it was suspended, whose resize was refused then) is resized now, by the same
/// job (its unique key keeps it to one).
pub(in crate::subscriptions::service) async fn resize_if_behind(
    tx: &mut Tx,
    db: &Db,
    s: &SubscriptionRow,
) -> AppResult<()> {
    let Some(pod) = &s.cloudpod_id else {
        return Ok(());
    };
    let Some(plan) = current_plan(db, s).await? else {
        return Ok(());
    };
    let behind = pod_store::get(&db.pool, &TenantScope::All, pod)
        .await?
        .is_some_and(|p| p.plan_code != plan.code && p.target_plan_code.is_none());
    if behind {
        enqueue_resize(tx, s).await?;
    }
    Ok(())
}

/// A plan-change invoice of `s` is paid (`invoice_paid`): the upgrade happens now. A job
/// delivered twice finds the subscription switched already.
pub(in crate::subscriptions::service) async fn upgrade_paid(
    tx: &mut Tx,
    db: &Db,
    s: &SubscriptionRow,
    invoice_id: &str,
) -> AppResult<()> {
    let Some(to) = store::charged_product(tx, invoice_id, &s.product_id).await? else {
        return Ok(());
    };
    if !matches!(
        s.status,
        SubscriptionStatus::Active
            | SubscriptionStatus::Suspended
            | SubscriptionStatus::CancelAtPeriodEnd
    ) {
        timeline(
            tx,
            &s.id,
            "plan",
            "The upgrade was paid after the subscription ended: the plan stays as it was",
            "system",
        )
        .await?;
        return Ok(());
    }
    let now = Timestamp::now();
    let (product, unit) = pending_price(db, s, &to, now).await?;
    switch_plan(
        tx,
        system(&s.tenant_id),
        s,
        &product,
        unit,
        "the upgrade invoice is paid",
    )
    .await?;
    // A renewal issued after the upgrade was invoiced billed the old plan: the rest of its
    // period on the new plan is invoiced now (from its start, or from now once it runs).
    let quantity = s.quantity.max(1);
    for (renewal, start, end, old_unit) in
        store::renewals_after(tx, &s.id, invoice_id, now, &s.product_id).await?
    {
        let at = now.max(start);
        let p = prorate(
            old_unit.saturating_mul(quantity),
            unit.saturating_mul(quantity),
            start,
            end,
            at,
        );
        if p.difference() <= 0 {
            continue;
        }
        let span = format!("{} – {}", at.date(), end.date());
        let lines = [
            OrderLine {
                description: format!(
                    "Credit: {} ({}) invoiced for {span}",
                    s.product_name, s.product_code
                ),
                quantity: 1,
                unit_price_minor: -p.credit,
                product_id: s.product_id.clone(),
            },
            OrderLine {
                description: format!("{} ({}), {span}", product.name, product.code),
                quantity: 1,
                unit_price_minor: p.charge,
                product_id: product.id.clone(),
            },
        ];
        let (_, issued) = invoices::issue_for_subscription(
            tx,
            db,
            system(&s.tenant_id),
            &invoices::SubscriptionInvoice {
                tenant_id: &s.tenant_id,
                currency: &s.currency,
                subscription_id: &s.id,
                reason: PLAN_CHANGE,
                period: Some((at, end)),
                lines: &lines,
                issued_on: now.date(),
            },
            &mut IssueCache::default(),
        )
        .await?;
        timeline(
            tx,
            &s.id,
            "plan",
            &format!(
                "Renewal {renewal} billed {} for {span}: invoice {} issued for the difference                  to {}, {}",
                s.product_name,
                issued.number,
                product.name,
                money::format_money(issued.total_minor, &s.currency)
            ),
            "system",
        )
        .await?;
    }
    Ok(())
}

/// The period of `s` rolled over to a pending (downgraded) product `to`, billed by the
/// renewal `invoice_id`: the item follows at the price that invoice billed, the pod is
/// resized, and the change is on the timeline.
pub(in crate::subscriptions::service) async fn switch_at_roll(
    tx: &mut Tx,
    db: &Db,
    s: &SubscriptionRow,
    to: &str,
    invoice_id: &str,
    start: Timestamp,
) -> AppResult<()> {
    let (product, resolved) = pending_price(db, s, to, start).await?;
    let unit = store::billed_unit_price(tx, invoice_id, to)
        .await?
        .unwrap_or(resolved);
    store::switch_item(tx, &s.id, &s.product_id, to, unit).await?;
    if s.cloudpod_id.is_some() {
        enqueue_resize(tx, s).await?;
    }
    let summary = format!(
        "Plan changed from {} to {} for the new period; the pod is being resized",
        s.product_name, product.name
    );
    timeline(tx, &s.id, "plan", &summary, "system").await?;
    audit::record(
        tx,
        system(&s.tenant_id),
        event(&s.tenant_id, "subscription.plan_changed", &s.id, summary),
    )
    .await?;
    Ok(())
}

/// The `subscription.plan_resize` job: the pod follows the subscription's plan. `Ok(false)`
/// while the pod cannot take the resize yet (another action runs; the job retries).
pub async fn resize_to_plan(db: &Db, id: &str) -> AppResult<bool> {
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(pod) = s.cloudpod_id.clone() else {
        return Ok(true);
    };
    if !s.status.is_live() {
        return Ok(true);
    }
    let Some(plan) = current_plan(db, &s).await? else {
        return Ok(true);
    };
    match pods::resize_for_subscription(&mut tx, db, system(&s.tenant_id), &pod, &plan).await {
        Ok(None) => Ok(true),
        Ok(Some(_)) => {
            timeline(
                &mut tx,
                &s.id,
                "pod",
                &format!(
                    "Pod {} is being resized to the {} plan",
                    s.pod_name, plan.code
                ),
                "system",
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        }
        Err(AppError::Refused(_)) => Ok(false),
        Err(e) => Err(e),
    }
}
