//! Ordering: what the tenant may buy, the price breakdown, and the order itself (the
//! subscription, its items and its first invoice in one transaction).

use serde::Deserialize;
use serde_json::json;

use super::check::{Checked, check};
use super::{event, timeline};
use crate::audit;
use crate::auth::model::Actor;
use crate::billing::catalog::model::Period;
use crate::billing::invoices::service as invoices;
use crate::billing::money;
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::jobs::{self, NewJob};
use crate::subscriptions::lines;
use crate::subscriptions::model::SubscriptionStatus;
use crate::subscriptions::store::{self, ItemRow, NewSubscription};
use crate::web::{AppError, AppResult};

/// The largest quantity one order may ask for.
pub const MAX_QUANTITY: i64 = 100;
/// Add-ons one order may carry.
pub const MAX_ADDONS: usize = 10;

/// The job that activates a subscription (also enqueued by invoices when the first invoice
/// is paid, under the same kind name).
pub const ACTIVATE_KIND: &str = invoices::SUBSCRIPTION_PAID_KIND;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OrderInput {
    /// Staff only: the tenant ordered for.
    pub tenant_id: String,
    pub product: String,
    pub period: String,
    pub quantity: String,
    /// ADDON products' codes (none or several; the form's checkboxes repeat the field).
    pub addon: Vec<String>,
    pub pod_name: String,
    pub region: String,
    /// Generated into the form when it is rendered: a double submit creates one subscription.
    pub idempotency_key: String,
    /// `yes` once the person confirmed the reviewed breakdown.
    pub confirm: String,
}

/// One line of the breakdown as the order page shows it.
#[derive(Clone, Debug)]
pub struct QuoteLine {
    pub description: String,
    pub quantity: i64,
    pub unit: String,
    pub amount: String,
    /// `unit` and `amount` in minor units (for the JSON API).
    pub unit_minor: i64,
    pub amount_minor: i64,
}

/// The price breakdown of an order, from the same lines its first invoice is issued with.
#[derive(Clone, Debug)]
pub struct Quote {
    pub tenant_name: String,
    pub product_name: String,
    pub currency: String,
    pub period: Period,
    pub lines: Vec<QuoteLine>,
    pub setup_fee: String,
    pub subtotal: String,
    pub discount: String,
    pub tax_name: String,
    pub tax: String,
    pub total: String,
    pub total_minor: i64,
    /// The amounts above in minor units (for the JSON API).
    pub setup_fee_minor: i64,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub trial_days: i64,
}

fn invoice_lines(c: &Checked) -> Vec<invoices::OrderLine> {
    lines::first_invoice_lines(&c.items, c.period)
        .into_iter()
        // a usage-priced item has no first-period price (only, perhaps, a setup fee)
        .filter(|l| !(l.unit_minor == 0 && c.metered.contains(&l.product_id)))
        .map(|l| invoices::OrderLine {
            description: l.description,
            quantity: l.quantity,
            unit_price_minor: l.unit_minor,
            product_id: l.product_id,
        })
        .collect()
}

async fn quote_of(tx: &mut Tx, c: &Checked) -> AppResult<Quote> {
    let order_lines = invoice_lines(c);
    let (totals, tax_name) = invoices::quote_totals(tx, &c.tenant.region, &order_lines).await?;
    let cur = &c.tenant.currency;
    let fmt = |m: i64| money::format_money(m, cur);
    let setup: i64 = c.items.iter().map(|i| i.setup_fee_minor * i.quantity).sum();
    Ok(Quote {
        tenant_name: c.tenant.name.clone(),
        product_name: c.product.name.clone(),
        currency: cur.clone(),
        period: c.period,
        lines: order_lines
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
        setup_fee: fmt(setup),
        subtotal: fmt(totals.subtotal),
        discount: fmt(totals.discount),
        tax_name,
        tax: fmt(totals.tax),
        total: fmt(totals.total),
        total_minor: totals.total,
        setup_fee_minor: setup,
        subtotal_minor: totals.subtotal,
        discount_minor: totals.discount,
        tax_minor: totals.tax,
        trial_days: c.product.trial_days,
    })
}

/// The breakdown the order page shows before the person confirms (nothing is written).
pub async fn quote(db: &Db, actor: &Actor, input: &OrderInput) -> AppResult<Quote> {
    let mut tx = db.pool.begin().await?;
    let c = check(&mut tx, actor, input).await?;
    let q = quote_of(&mut tx, &c).await?;
    drop(tx);
    Ok(q)
}

/// How long an unpaid order waits for its first payment.
pub struct OrderSettings {
    pub expiry_days: i64,
}

/// Places the order: the subscription (PENDING_ACTIVATION) with its items and its first
/// invoice, issued at once; a trial or a zero total skips the invoice and activation starts
/// at once. A repeated submit of the same form answers the subscription it created.
pub async fn order(
    db: &Db,
    actor: &Actor,
    settings: &OrderSettings,
    input: &OrderInput,
) -> AppResult<String> {
    let mut tx = db.begin_write().await?;
    if let Some((id, tenant)) = store::by_key(&mut tx, input.idempotency_key.trim()).await? {
        return replay(actor, id, &tenant);
    }
    let c = match check(&mut tx, actor, input).await {
        Ok(c) => c,
        Err(AppError::Invalid(errors)) => {
            // A concurrent submit of the same form may have committed meanwhile (its pod name
            // now reads as taken): answer that order rather than the error.
            drop(tx);
            let mut tx = db.begin_write().await?;
            if let Some((id, tenant)) = store::by_key(&mut tx, input.idempotency_key.trim()).await?
            {
                return replay(actor, id, &tenant);
            }
            return Err(AppError::Invalid(errors));
        }
        Err(e) => return Err(e),
    };
    let quote = quote_of(&mut tx, &c).await?;
    let now = Timestamp::now();
    let trial = c.product.trial_days > 0;
    let free = trial || quote.total_minor == 0;
    let id = new_id();
    let expires_at = (!free).then(|| now.plus_secs(settings.expiry_days.max(1) * 86_400));
    let inserted = store::insert(
        &mut tx,
        &NewSubscription {
            id: &id,
            tenant_id: &c.tenant.id,
            product_id: &c.product.id,
            status: SubscriptionStatus::PendingActivation,
            period: c.period,
            quantity: c.quantity,
            currency: &c.tenant.currency,
            pod_name: &c.pod_name,
            region: &c.region,
            trial_ends_at: trial.then(|| now.plus_secs(c.product.trial_days * 86_400)),
            expires_at,
            idempotency_key: &c.key,
            created_by: &actor.email,
            now,
        },
    )
    .await?;
    if !inserted {
        // a concurrent submit of the same form committed first
        drop(tx);
        let mut tx = db.begin_write().await?;
        let (id, tenant) = store::by_key(&mut tx, &c.key)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("order key vanished")))?;
        return replay(actor, id, &tenant);
    }
    for (n, i) in c.items.iter().enumerate() {
        let item = ItemRow {
            product_id: i.product_id.clone(),
            product_code: i.code.clone(),
            product_name: i.name.clone(),
            quantity: i.quantity,
            unit_price_minor: i.unit_minor,
            setup_fee_minor: i.setup_fee_minor,
        };
        store::insert_item(&mut tx, &new_id(), &id, n as i64, &item).await?;
    }
    let summary = format!(
        "Ordered {} × {} ({}) for {}: {}",
        c.quantity,
        c.product.name,
        c.period.label(),
        c.tenant.name,
        quote.total
    );
    timeline(&mut tx, &id, "order", &summary, &actor.email).await?;
    if free {
        let why = if trial {
            format!("{}-day trial: nothing to pay now", c.product.trial_days)
        } else {
            "Nothing to pay: activation starts at once".to_string()
        };
        timeline(&mut tx, &id, "invoice", &why, &actor.email).await?;
        enqueue_activation(&mut tx, &id, &c.tenant.id).await?;
    } else {
        let order_lines = invoice_lines(&c);
        let (_invoice_id, issued) = invoices::issue_for_subscription(
            &mut tx,
            db,
            actor,
            &invoices::SubscriptionInvoice {
                tenant_id: &c.tenant.id,
                currency: &c.tenant.currency,
                subscription_id: &id,
                reason: "FIRST",
                period: None,
                lines: &order_lines,
                issued_on: now.date(),
            },
            &mut invoices::IssueCache::default(),
        )
        .await?;
        if let Some(at) = expires_at {
            super::expiry::enqueue_expiry(&mut tx, &id, &c.tenant.id, at).await?;
        }
        timeline(
            &mut tx,
            &id,
            "invoice",
            &format!(
                "Invoice {} issued for {}; the service starts when it is paid",
                issued.number,
                money::format_money(issued.total_minor, &c.tenant.currency)
            ),
            &actor.email,
        )
        .await?;
    }
    audit::record(
        &mut tx,
        actor,
        event(&c.tenant.id, "subscription.ordered", &id, summary),
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

fn replay(actor: &Actor, id: String, tenant: &str) -> AppResult<String> {
    if actor.scope().allows(tenant) {
        Ok(id)
    } else {
        Err(AppError::refused("This form belongs to another order."))
    }
}

pub(super) async fn enqueue_activation(tx: &mut Tx, id: &str, tenant_id: &str) -> AppResult<()> {
    jobs::enqueue(
        tx,
        NewJob::new(ACTIVATE_KIND, &json!({ "subscription_id": id }))
            .unique_key(format!("subscription-activate:{id}"))
            .subject(format!("subscription:{id}"))
            .tenant(tenant_id),
    )
    .await?;
    Ok(())
}
