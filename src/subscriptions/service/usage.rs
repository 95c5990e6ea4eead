//! Metered usage: staff BILLING+ record it (a client transaction id once per subscription;
//! a repeat answers the first record), the subscription page reads the open period's sums,
//! and a period's close bills it: the ended period's usage priced with the product's usage
//! price or tiers on its own USAGE invoice (exactly once: the invoices' unique key on
//! subscription, period and reason, and each record marked with the invoice that billed it).

use serde::Deserialize;

use super::timeline;
use crate::audit::{self, AuditActor};
use crate::auth::model::{Actor, Role};
use crate::billing::catalog::model::{BillingModel, PriceQuery, tiers_problem};
use crate::billing::catalog::{pricing, store as catalog_store};
use crate::billing::invoices::model::InvoiceSource;
use crate::billing::invoices::service::{self as invoices, IssueCache, OrderLine};
use crate::billing::money;
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::subscriptions::model::SubscriptionStatus;
use crate::subscriptions::model::usage::{
    UsagePrice, parse_at, parse_quantity, parse_txn_id, time_problem, usage_description, usage_line,
};
use crate::subscriptions::store::usage::{self as store, MeteredItem, UsageRow};
use crate::subscriptions::store::{self as subs_store, SubscriptionRow};
use crate::web::{AppError, AppResult, FieldErrors};

/// The invoices' billing reason of a period's usage.
pub const USAGE: &str = "USAGE";

/// Record usage: staff BILLING+ (an API token scope follows with the API).
pub fn can_record(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Billing)
}

/// The usage form (and the JSON body, read into the same fields).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct UsageInput {
    pub metric: String,
    pub quantity: String,
    /// Empty: now, by the clock.
    pub timestamp: String,
    pub client_txn_id: String,
}

/// What recording answered: the record, and whether this request created it (`false`: the
/// same client transaction id had recorded it before, and nothing was added).
#[derive(Clone, Debug)]
pub struct Recorded {
    pub record: UsageRow,
    pub created: bool,
}

/// Records one usage record on subscription `id` at `now` (the clock's).
pub async fn record(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &UsageInput,
    now: Timestamp,
) -> AppResult<Recorded> {
    let mut tx = db.begin_write().await?;
    // Locked: a period closing at the same moment either bills this record or sees it refused.
    let s = subs_store::lock(&mut tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !can_record(actor) {
        return Err(AppError::Forbidden);
    }
    let mut e = FieldErrors::new();
    let txn = parse_txn_id(&input.client_txn_id)
        .map_err(|m| e.add("client_txn_id", m))
        .ok();
    if let Some(txn) = &txn
        && let Some(first) = store::by_txn(&mut tx, &s.id, txn).await?
    {
        return Ok(Recorded {
            record: first,
            created: false,
        });
    }
    let (Some(start), Some(end), true) = (
        s.current_period_start,
        s.current_period_end,
        s.status.is_live(),
    ) else {
        return Err(AppError::refused(format!(
            "Usage is recorded only on a live subscription; this one is {}.",
            s.status.phrase()
        )));
    };
    let quantity = parse_quantity(&input.quantity)
        .map_err(|m| e.add("quantity", m))
        .ok();
    let at = match parse_at(&input.timestamp, now) {
        Ok(at) => {
            let ends = s.status == SubscriptionStatus::CancelAtPeriodEnd;
            match time_problem(at, (start, end), ends, now) {
                Some(m) => {
                    e.add("timestamp", m);
                    None
                }
                None => Some(at),
            }
        }
        Err(m) => {
            e.add("timestamp", m);
            None
        }
    };
    let items = store::metered_items(&mut *tx, &s.id).await?;
    let metric = input.metric.trim();
    let item = items
        .iter()
        .find(|i| !i.unit_name.is_empty() && i.unit_name.eq_ignore_ascii_case(metric));
    if item.is_none() {
        let priced: Vec<&str> = items.iter().map(|i| i.unit_name.as_str()).collect();
        e.add(
            "metric",
            if priced.is_empty() {
                "No item of this subscription is priced by usage.".to_string()
            } else if metric.is_empty() {
                format!("Name the metric: {}.", priced.join(", "))
            } else {
                format!(
                    "No usage-priced item of this subscription prices \u{201c}{}\u{201d}; it prices {}.",
                    metric.chars().take(50).collect::<String>(),
                    priced.join(", ")
                )
            },
        );
    }
    e.into_result().map_err(AppError::Invalid)?;
    let (Some(txn), Some(quantity), Some(at), Some(item)) = (txn, quantity, at, item) else {
        unreachable!("errors returned above");
    };
    let row = UsageRow {
        id: new_id(),
        subscription_id: s.id.clone(),
        product_id: item.product_id.clone(),
        metric: item.unit_name.clone(),
        quantity,
        at,
        client_txn_id: txn.clone(),
        invoice_id: None,
        created_by: actor.email.clone(),
        created_at: now,
    };
    if !store::insert(&mut tx, &row).await? {
        // a concurrent request with the same id committed first: answer its record
        let first = store::by_txn(&mut tx, &s.id, &txn)
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("usage record vanished")))?;
        return Ok(Recorded {
            record: first,
            created: false,
        });
    }
    audit::record(
        &mut tx,
        actor,
        super::event(
            &s.tenant_id,
            "subscription.usage_recorded",
            &s.id,
            format!(
                "Recorded {quantity} {} of {} at {at} (transaction {txn})",
                row.metric, item.name
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(Recorded {
        record: row,
        created: true,
    })
}

/// One metric's usage in the open period, not yet billed.
#[derive(Clone, Debug)]
pub struct MetricUsage {
    pub metric: String,
    pub product_name: String,
    pub units: i64,
    pub records: i64,
}

/// The open period's unbilled usage per metered item of a subscription read with
/// [`super::get`] (every metered item, zero when nothing was recorded).
pub async fn current_usage(db: &Db, s: &SubscriptionRow) -> AppResult<Vec<MetricUsage>> {
    let items = store::metered_items(&db.pool, &s.id).await?;
    let sums = match s.current_period_start {
        Some(start) => store::unbilled_sums(&db.pool, &s.id, start, None).await?,
        None => Vec::new(),
    };
    Ok(items
        .into_iter()
        .map(|i| {
            let (units, records) = sums
                .iter()
                .filter(|(p, _, _, _)| *p == i.product_id)
                .fold((0i64, 0i64), |(u, r), (_, _, n, c)| {
                    (u.saturating_add(*n), r + c)
                });
            MetricUsage {
                metric: i.unit_name,
                product_name: i.name,
                units,
                records,
            }
        })
        .collect())
}

/// The latest records of a subscription read with [`super::get`].
pub async fn recent_records(db: &Db, s: &SubscriptionRow, limit: i64) -> AppResult<Vec<UsageRow>> {
    Ok(store::recent(&db.pool, &s.id, limit).await?)
}

/// A page of the records of a subscription read with [`super::get`], newest first, after the
/// `(at, id)` of the previous page's last record (the API's cursor).
pub async fn records_page(
    db: &Db,
    s: &SubscriptionRow,
    after: Option<(i64, &str)>,
    limit: i64,
) -> AppResult<Vec<UsageRow>> {
    Ok(store::page(&db.pool, &s.id, after, limit).await?)
}

/// How the catalog prices `item` for the subscription's period `start`: the resolved usage
/// price (overrides considered) or the tiers in the subscription's currency.
async fn usage_price(
    tx: &mut Tx,
    s: &SubscriptionRow,
    item: &MeteredItem,
    at: Timestamp,
) -> AppResult<UsagePrice> {
    let missing = |what: &str| {
        AppError::refused(format!(
            "{} ({}) has no {what} in {}: its usage cannot be billed",
            item.name, item.code, s.currency
        ))
    };
    match item.billing_model {
        BillingModel::UsageTiered => {
            let mut tiers: Vec<_> =
                catalog_store::tiers_in(&mut **tx, &item.product_id, &s.currency)
                    .await?
                    .iter()
                    .map(catalog_store::TierRow::tier)
                    .collect();
            crate::billing::catalog::model::sort_tiers(&mut tiers);
            if let Some(problem) = tiers_problem(&tiers) {
                return Err(missing(&format!("valid tiers ({problem})")));
            }
            Ok(UsagePrice::Tiered {
                tiers,
                mode: item.tier_mode,
            })
        }
        _ => {
            let q = PriceQuery {
                tenant_id: &s.tenant_id,
                region: &s.region,
                currency: &s.currency,
                period: s.period,
                at: at.0,
            };
            let r = pricing::resolve_one(tx, &item.product_id, &q)
                .await?
                .ok_or_else(|| missing(&format!("usage price {}", s.period.label())))?;
            Ok(UsagePrice::PerUnit {
                unit_minor: r.amount_minor,
            })
        }
    }
}

/// Bills the unbilled usage recorded in `[start, until)` (`until` `None`: everything from
/// `start`, for a final invoice) on one USAGE invoice for `period`, inside the caller's
/// transaction, and marks the records with it. Nothing recorded, or nothing that costs
/// anything: no invoice. Returns the invoice's number and total when one was issued.
pub(super) async fn bill_usage(
    tx: &mut Tx,
    db: &Db,
    who: AuditActor<'_>,
    s: &SubscriptionRow,
    period: (Timestamp, Timestamp),
    until: Option<Timestamp>,
    now: Timestamp,
) -> AppResult<Option<(String, i64)>> {
    let start = period.0;
    if subs_store::period_invoice(tx, &s.id, USAGE, period)
        .await?
        .is_some()
    {
        return Ok(None);
    }
    let sums = store::unbilled_sums(&mut **tx, &s.id, start, until).await?;
    if sums.is_empty() {
        return Ok(None);
    }
    let items = store::metered_items(&mut **tx, &s.id).await?;
    let mut lines = Vec::new();
    let mut billed = Vec::new();
    for item in &items {
        let units = sums
            .iter()
            .filter(|(p, _, _, _)| *p == item.product_id)
            .try_fold(0i64, |acc, (_, _, n, _)| acc.checked_add(*n))
            .ok_or_else(|| AppError::refused(format!("the usage of {} overflows", item.code)))?;
        if units == 0 {
            continue;
        }
        let price = usage_price(tx, s, item, start).await?;
        let (quantity, unit) = usage_line(units, &price).map_err(|e| {
            AppError::refused(format!("the usage of {} cannot be priced: {e}", item.code))
        })?;
        billed.push(item.product_id.clone());
        if quantity.saturating_mul(unit) == 0 {
            // inside a free tier, or a zero price: nothing to bill for it
            continue;
        }
        lines.push(OrderLine {
            description: usage_description(
                &item.name,
                &item.code,
                units,
                &item.unit_name,
                period,
                &price,
            ),
            quantity,
            unit_price_minor: unit,
            product_id: item.product_id.clone(),
        });
    }
    if lines.is_empty() {
        return Ok(None);
    }
    let (invoice_id, issued) = invoices::issue_for_subscription_as(
        tx,
        db,
        who,
        &invoices::SubscriptionInvoice {
            tenant_id: &s.tenant_id,
            currency: &s.currency,
            subscription_id: &s.id,
            reason: USAGE,
            period: Some(period),
            lines: &lines,
            issued_on: now.date(),
        },
        InvoiceSource::Usage,
        &mut IssueCache::default(),
    )
    .await?;
    for product in &billed {
        store::mark_billed(tx, &s.id, product, start, until, &invoice_id).await?;
    }
    timeline(
        tx,
        &s.id,
        "invoice",
        &format!(
            "Usage invoice {} issued for {} – {}: {}",
            issued.number,
            period.0.date(),
            period.1.date(),
            money::format_money(issued.total_minor, &s.currency)
        ),
        who.email,
    )
    .await?;
    Ok(Some((issued.number, issued.total_minor)))
}

/// The current period's usage billed as the period closes (`[start, end)`), before the
/// subscription rolls over to its next period.
pub(super) async fn bill_closing_period(
    tx: &mut Tx,
    db: &Db,
    who: AuditActor<'_>,
    s: &SubscriptionRow,
    now: Timestamp,
) -> AppResult<Option<(String, i64)>> {
    let (Some(start), Some(end)) = (s.current_period_start, s.current_period_end) else {
        return Ok(None);
    };
    bill_usage(tx, db, who, s, (start, end), Some(end), now).await
}

/// The final usage invoice of a subscription that ends at `now`: everything not yet billed
/// since the current period started, for `[start, min(now, end))`.
pub(super) async fn bill_final(
    tx: &mut Tx,
    db: &Db,
    who: AuditActor<'_>,
    s: &SubscriptionRow,
    now: Timestamp,
) -> AppResult<Option<(String, i64)>> {
    let (Some(start), Some(end)) = (s.current_period_start, s.current_period_end) else {
        return Ok(None);
    };
    let until = now.min(end).max(start);
    bill_usage(tx, db, who, s, (start, until), None, now).await
}
