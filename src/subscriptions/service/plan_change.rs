//! Plan changes of a CloudPod subscription. An upgrade (the new plan costs more per period)
//! invoices the difference for the rest of the period at once (credit for the old plan's
//! unused time, charge for the new plan's, `model::proration`), and the subscription, its item
//! and its pod switch when that invoice is paid (at once when nothing is due). A downgrade
//! takes effect at the next period: the renewal bills the new plan, and the roll switches the
//! item and resizes the pod. One change at a time; disks never shrink. Who: the customer's
//! OWNER/ADMIN/BILLING and staff BILLING+ (as ordering).

use serde::Deserialize;
use serde_json::json;

use super::activation::system;
use super::order::QuoteLine;
use super::renewal::{RENEWAL, next_period};
use super::{can_order, event, subject, timeline};
use crate::audit::{self, AuditActor};
use crate::auth::model::Actor;
use crate::auth::store::TenantRow;
use crate::billing::catalog::model::{self as catalog, PriceQuery, Viewer};
use crate::billing::catalog::pricing;
use crate::billing::catalog::store::{self as catalog_store, PlanRow, ProductRow};
use crate::billing::invoices::service::{self as invoices, IssueCache, OrderLine};
use crate::billing::money;
use crate::cloudpods::model::Specs;
use crate::cloudpods::service as pods;
use crate::cloudpods::store as pod_store;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::jobs::{self, NewJob};
use crate::subscriptions::model::SubscriptionStatus;
use crate::subscriptions::model::proration::{ChangeKind, may_change, prorate};
use crate::subscriptions::store::{self, SubscriptionRow};
use crate::web::{AppError, AppResult, FieldErrors};

/// The invoices' billing reason of an upgrade's difference.
pub const PLAN_CHANGE: &str = "PLAN_CHANGE";
/// The job that resizes a subscription's pod to its (changed) plan.
pub const PLAN_RESIZE_KIND: &str = "subscription.plan_resize";
/// How long a reviewed upgrade may be confirmed at the reviewed amounts.
const REVIEW_VALID_SECS: i64 = 15 * 60;

/// Change plans: whoever may order for the tenant.
pub fn can_change_plan(actor: &Actor) -> bool {
    can_order(actor)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanChangeInput {
    /// The new plan's product code.
    pub plan: String,
    /// The reviewed instant (ms): the confirmed upgrade bills the amounts that were shown.
    pub at: String,
    /// The plan the review was for: a confirm for another plan is reviewed first.
    pub reviewed: String,
    /// `yes` once the person confirmed the review.
    pub confirm: String,
}

/// A plan the subscription may change to, for the form.
pub struct PlanChoice {
    pub code: String,
    pub label: String,
}

/// What a change does, as the review shows it (from the lines the invoice is issued with).
pub struct PlanQuote {
    pub kind: ChangeKind,
    pub from_name: String,
    pub to_name: String,
    pub to_code: String,
    /// The instant the upgrade is priced at.
    pub at: Timestamp,
    /// When the change takes effect: the upgrade's instant, the downgrade's next period.
    pub effective: Timestamp,
    pub lines: Vec<QuoteLine>,
    pub credit: String,
    pub charge: String,
    pub difference: String,
    pub tax_name: String,
    pub tax: String,
    pub total: String,
    pub total_minor: i64,
    /// The new plan's price per period ("€39.99 per month").
    pub new_price: String,
}

impl PlanQuote {
    pub fn is_upgrade(&self) -> bool {
        self.kind == ChangeKind::Upgrade
    }
    pub fn at_ms(&self) -> i64 {
        self.at.0
    }
}

/// The new plan's product and its price for the subscription.
struct Target {
    product: ProductRow,
    unit_minor: i64,
}

/// A checked change, ready to be made.
struct Prepared {
    kind: ChangeKind,
    target: Target,
    lines: Vec<OrderLine>,
    quote: PlanQuote,
    period_end: Timestamp,
}

fn field(msg: impl Into<String>) -> AppError {
    AppError::Invalid(FieldErrors::one("plan", msg))
}

fn offered(p: &ProductRow, tenant: &TenantRow) -> bool {
    catalog::can_be_sold(p.status)
        && catalog::offered_to(
            p.visibility,
            Viewer::Tenant {
                beta: tenant.beta == 1,
            },
        )
}

async fn tenant_of(tx: &mut Tx, s: &SubscriptionRow) -> AppResult<TenantRow> {
    crate::auth::store::get_tenant(&mut **tx, &TenantScope::All, &s.tenant_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The price of one period of `product_id` for the subscription's tenant, currency, period
/// and region at `at`, as the catalog resolves it.
async fn price_for(
    db: &Db,
    s: &SubscriptionRow,
    product_id: &str,
    at: Timestamp,
) -> AppResult<Option<i64>> {
    let q = PriceQuery {
        tenant_id: &s.tenant_id,
        region: &s.region,
        currency: &s.currency,
        period: s.period,
        at: at.0,
    };
    Ok(pricing::resolve_one(db, product_id, &q)
        .await?
        .map(|r| r.amount_minor))
}

/// The unit price a pending product is billed at for the period starting `start`
/// (`renewal_lines`): its name, code and price; refused when the catalog has none.
pub(super) async fn pending_price(
    db: &Db,
    s: &SubscriptionRow,
    product_id: &str,
    start: Timestamp,
) -> AppResult<(ProductRow, i64)> {
    let p = catalog_store::get_product(&db.pool, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    match price_for(db, s, product_id, start).await? {
        Some(unit) => Ok((p, unit)),
        None => Err(AppError::refused(format!(
            "{} has no price {} in {} for the new plan",
            p.name,
            s.period.label(),
            s.currency
        ))),
    }
}

/// The plan the subscription's product is (None: not a CloudPod subscription).
async fn current_plan(db: &Db, s: &SubscriptionRow) -> AppResult<Option<PlanRow>> {
    Ok(catalog_store::plan_for_product(&db.pool, &s.product_id).await?)
}

/// The change that waits: an unpaid upgrade invoice, or a scheduled downgrade.
async fn pending_change(tx: &mut Tx, db: &Db, s: &SubscriptionRow) -> AppResult<Option<String>> {
    if let Some((inv, number)) = store::open_plan_change(tx, &s.id, PLAN_CHANGE).await? {
        let to = match store::charged_product(tx, &inv, &s.product_id).await? {
            Some(p) => catalog_store::get_product(&db.pool, &p)
                .await?
                .map_or_else(|| "another plan".to_string(), |p| p.name),
            None => "another plan".to_string(),
        };
        return Ok(Some(format!(
            "An upgrade to {to} waits for invoice {} to be paid; the pod is resized then.",
            number.unwrap_or_default()
        )));
    }
    if let Some(p) = &s.pending_product_id {
        let name = catalog_store::get_product(&db.pool, p)
            .await?
            .map_or_else(|| "another plan".to_string(), |p| p.name);
        let when = s
            .current_period_end
            .map_or_else(|| "the next period".to_string(), |t| t.to_string());
        return Ok(Some(format!(
            "A downgrade to {name} takes effect on {when}."
        )));
    }
    Ok(None)
}

/// Checks a change of `s` to `input.plan` at `at` and prices it (nothing is written).
async fn prepare(
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
            })
            .collect(),
        credit: fmt(credit),
        charge: fmt(charge),
        difference: fmt(charge - credit),
        tax_name,
        tax: fmt(totals.tax),
        total: fmt(totals.total),
        total_minor: totals.total,
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

/// The subscription and the plans it may change to (each with its price), for the form.
pub async fn plan_choices(
    db: &Db,
    actor: &Actor,
    id: &str,
) -> AppResult<(SubscriptionRow, Vec<PlanChoice>)> {
    if !can_change_plan(actor) {
        return Err(AppError::Forbidden);
    }
    let s = super::get(db, actor, id).await?;
    if current_plan(db, &s).await?.is_none() {
        return Err(AppError::refused(
            "Only CloudPod subscriptions change plans.",
        ));
    }
    let mut tx = db.pool.begin().await?;
    let tenant = tenant_of(&mut tx, &s).await?;
    drop(tx);
    let mut out = Vec::new();
    for plan in catalog_store::plans(&db.pool).await? {
        if plan.product_id == s.product_id {
            continue;
        }
        let Some(p) = catalog_store::get_product(&db.pool, &plan.product_id).await? else {
            continue;
        };
        if !offered(&p, &tenant) {
            continue;
        }
        let Some(unit) = price_for(db, &s, &p.id, Timestamp::now()).await? else {
            continue;
        };
        out.push(PlanChoice {
            label: format!(
                "{}: {} vCPU, {} MB RAM, {} GB disk, {} {}",
                p.name,
                plan.cpu_cores,
                plan.ram_mb,
                plan.disk_gb,
                money::format_money(unit.saturating_mul(s.quantity), &s.currency),
                s.period.label()
            ),
            code: p.code,
        });
    }
    Ok((s, out))
}

/// The review of a change at `now` (nothing is written).
pub async fn plan_quote(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &PlanChangeInput,
    now: Timestamp,
) -> AppResult<PlanQuote> {
    if !can_change_plan(actor) {
        return Err(AppError::Forbidden);
    }
    let s = super::get(db, actor, id).await?;
    let mut tx = db.pool.begin().await?;
    let p = prepare(&mut tx, db, &s, input, now).await?;
    drop(tx);
    Ok(p.quote)
}

/// The reviewed instant: within the last [`REVIEW_VALID_SECS`] and not in the future.
fn reviewed_at(input: &PlanChangeInput, now: Timestamp) -> AppResult<Timestamp> {
    let at = input.at.trim().parse::<i64>().ok().map(Timestamp);
    match at {
        Some(at) if at <= now && at >= now.plus_secs(-REVIEW_VALID_SECS) => Ok(at),
        _ => Err(field(
            "This review has expired: review the change again before confirming.",
        )),
    }
}

/// Makes the reviewed change: an upgrade's invoice (or the switch at once when nothing is
/// due), or a downgrade scheduled for the next period. Returns the message for the person.
pub async fn change_plan(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &PlanChangeInput,
    now: Timestamp,
) -> AppResult<String> {
    if !can_change_plan(actor) {
        return Err(AppError::Forbidden);
    }
    let at = reviewed_at(input, now)?;
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = prepare(&mut tx, db, &s, input, at).await?;
    let q = &p.quote;
    let message = match p.kind {
        ChangeKind::Upgrade if q.total_minor > 0 => {
            let (_, issued) = invoices::issue_for_subscription(
                &mut tx,
                db,
                actor,
                &invoices::SubscriptionInvoice {
                    tenant_id: &s.tenant_id,
                    currency: &s.currency,
                    subscription_id: &s.id,
                    reason: PLAN_CHANGE,
                    period: Some((at, p.period_end)),
                    lines: &p.lines,
                    issued_on: now.date(),
                },
                &mut IssueCache::default(),
            )
            .await?;
            let summary = format!(
                "Upgrade from {} to {}: invoice {} issued for {} (credit {}, charge {}); the \
                 pod is resized when it is paid",
                q.from_name, q.to_name, issued.number, q.total, q.credit, q.charge
            );
            timeline(&mut tx, &s.id, "plan", &summary, &actor.email).await?;
            audit::record(
                &mut tx,
                actor,
                event(
                    &s.tenant_id,
                    "subscription.upgrade_invoiced",
                    &s.id,
                    summary,
                ),
            )
            .await?;
            format!(
                "Invoice {} issued for {}: the plan changes to {} when it is paid.",
                issued.number, q.total, q.to_name
            )
        }
        ChangeKind::Upgrade => {
            switch_plan(
                &mut tx,
                actor.into(),
                &s,
                &p.target.product,
                p.target.unit_minor,
                "nothing to pay",
            )
            .await?;
            format!("Upgraded to {}: nothing to pay.", q.to_name)
        }
        ChangeKind::Downgrade => {
            store::set_pending_product(&mut tx, &s.id, Some(&p.target.product.id)).await?;
            let summary = format!(
                "Downgrade from {} to {} scheduled for {}: the renewal from then bills {}",
                q.from_name, q.to_name, q.effective, q.new_price
            );
            timeline(&mut tx, &s.id, "plan", &summary, &actor.email).await?;
            audit::record(
                &mut tx,
                actor,
                event(
                    &s.tenant_id,
                    "subscription.downgrade_scheduled",
                    &s.id,
                    summary,
                ),
            )
            .await?;
            format!("The plan changes to {} on {}.", q.to_name, q.effective)
        }
    };
    tx.commit().await?;
    Ok(message)
}

/// Switches the subscription (its product and item) to `to` at `unit` per period now, and
/// resizes its pod: an upgrade paid, or one with nothing to pay.
async fn switch_plan(
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

/// A plan-change invoice of `s` is paid (`invoice_paid`): the upgrade happens now. A job
/// delivered twice finds the subscription switched already.
pub(super) async fn upgrade_paid(
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
pub(super) async fn switch_at_roll(
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
        live: upgrade_waits || resizing,
        pending,
    }))
}
