//! Checking and pricing a plan change (nothing is written).

use super::*;

/// Checks a change of `s` to `input.plan` at `at` and prices it (nothing is written).
pub(super) async fn prepare(
    tx: &mut Tx,
    db: &Db,
    s: &SubscriptionRow,
    input: &PlanChangeInput,
    at: Timestamp,
) -> AppResult<Prepared> {
    let Some(from_plan) = current_plan(db, s).await? else {
        return Err(AppError::refused(
            "Only CloudPod subscriptions change plans.",
        ));
    };
    let tenant = tenant_of(tx, s).await?;
    let code = input.plan.trim();
    if code.is_empty() {
        return Err(field("Choose the new plan."));
    }
    let product = catalog_store::product_by_code(&mut **tx, code)
        .await?
        .filter(|p| offered(p, &tenant));
    let Some(product) = product else {
        return Err(field("Choose a plan your account can order."));
    };
    if product.id == s.product_id {
        return Err(field(format!(
            "The subscription is on the {} plan already.",
            product.name
        )));
    }
    let Some(plan) = catalog_store::plan_for_product(&db.pool, &product.id).await? else {
        return Err(field(format!("{} is not a CloudPod plan.", product.name)));
    };
    if let Some(why) = pending_change(tx, db, s).await? {
        return Err(field(format!(
            "{why} Another change can be made once it is done."
        )));
    }
    let Some(unit) = price_for(db, s, &product.id, at).await? else {
        return Err(field(format!(
            "{} has no price {} in {}.",
            product.name,
            s.period.label(),
            s.currency
        )));
    };
    let item = store::items(&db.pool, &s.id)
        .await?
        .into_iter()
        .find(|i| i.product_id == s.product_id)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("subscription {} has no item", s.id)))?;
    let old = item.quantity.saturating_mul(item.unit_price_minor);
    let new = item.quantity.saturating_mul(unit);
    let kind = ChangeKind::of(old, new);
    may_change(s.status, kind).map_err(field)?;
    // Disks never shrink: the pod's disk (or the current plan's) against the new plan's.
    let disk = match &s.cloudpod_id {
        Some(pod) => pod_store::get(&db.pool, &TenantScope::All, pod)
            .await?
            .map_or(from_plan.disk_gb, |p| p.disk_gb),
        None => from_plan.disk_gb,
    };
    if plan.disk_gb < disk {
        return Err(field(format!(
            "The {} plan has a {} GB disk, smaller than this pod's {} GB. Disks never shrink: \
             choose a plan with at least {} GB of disk.",
            product.name, plan.disk_gb, disk, disk
        )));
    }
    let (Some(start), Some(end)) = (s.current_period_start, s.current_period_end) else {
        return Err(field("The subscription has no current period yet."));
    };
    if at >= end {
        return Err(field(
            "The current period is ending; change the plan once the next one has started.",
        ));
    }
    let cur = &s.currency;
    let fmt = |m: i64| money::format_money(m, cur);
    let mut lines = Vec::new();
    let (mut credit, mut charge, mut effective) = (0, 0, at);
    match kind {
        ChangeKind::Upgrade => {
            // A trial is not paid for: nothing to credit and nothing to charge until it ends.
            if s.period_number >= 0 {
                let p = prorate(old, new, start, end, at);
                (credit, charge) = (p.credit, p.charge);
            }
            let span = format!("{} – {}", at.date(), end.date());
            if credit > 0 {
                lines.push(OrderLine {
                    description: format!(
                        "Credit: unused {} ({}), {span}",
                        s.product_name, s.product_code
                    ),
                    quantity: 1,
                    unit_price_minor: -credit,
                    product_id: s.product_id.clone(),
                });
            }
            if charge > 0 {
                lines.push(OrderLine {
                    description: format!("{} ({}), {span}", product.name, product.code),
                    quantity: 1,
                    unit_price_minor: charge,
                    product_id: product.id.clone(),
                });
            }
            // The next period is invoiced already (the renewal lead) on the old plan: its
            // difference is part of this change, so the new plan is never billed at the old
            // price.
            if let Some(next) = next_period(s)?
                && store::period_invoice(tx, &s.id, RENEWAL, next)
                    .await?
                    .is_some()
            {
                let span = format!("{} – {}", next.0.date(), next.1.date());
                credit += old;
                charge += new;
                lines.push(OrderLine {
                    description: format!(
                        "Credit: {} ({}) already invoiced for {span}",
                        s.product_name, s.product_code
                    ),
                    quantity: 1,
                    unit_price_minor: -old,
                    product_id: s.product_id.clone(),
                });
                lines.push(OrderLine {
                    description: format!("{} ({}), {span}", product.name, product.code),
                    quantity: 1,
                    unit_price_minor: new,
                    product_id: product.id.clone(),
                });
            }
        }
        ChangeKind::Downgrade => {
            effective = end;
            if let Some(next) = next_period(s)?
                && store::period_invoice(tx, &s.id, RENEWAL, next)
                    .await?
                    .is_some()
            {
                return Err(field(format!(
                    "The next period ({} – {}) is already invoiced on the {} plan; the \
                     downgrade can be scheduled once it has started.",
                    next.0.date(),
                    next.1.date(),
                    s.product_name
                )));
            }
        }
    }
    let (totals, tax_name) = if lines.is_empty() {
        (Default::default(), "No tax".to_string())
    } else {
        invoices::quote_totals(tx, &tenant.region, &lines).await?
    };
    let quote = PlanQuote {
        kind,
        from_name: s.product_name.clone(),
        to_name: product.name.clone(),
        to_code: product.code.clone(),
        at,
        effective,
        lines: lines
            .iter()
            .map(|l| QuoteLine {
                description: l.description.clone(),
                quantity: l.quantity,
                unit: fmt(l.unit_price_minor),
                amount: fmt(l.quantity * l.unit_price_minor),
                unit_minor: l.unit_price_minor,
                amount_minor: l.quantity * l.unit_price_minor,
            })
            .collect(),
        credit: fmt(credit),
        charge: fmt(charge),
        difference: fmt(charge - credit),
        tax_name,
        tax: fmt(totals.tax),
        total: fmt(totals.total),
        total_minor: totals.total,
        credit_minor: credit,
        charge_minor: charge,
        tax_minor: totals.tax,
        new_price_minor: new,
        new_price: format!("{} {}", fmt(new), s.period.label()),
    };
    Ok(Prepared {
        kind,
        target: Target {
            product,
            unit_minor: unit,
        },
        lines,
        quote,
        period_end: end,
    })
}
