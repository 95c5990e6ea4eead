//! Renewals, one subscription at a time (the bill run drives them): the next period's
//! invoice is issued `lead` days before the period starts (a trial's at its end), exactly once
//! per (subscription, period, reason) by the invoices' unique key; at the period's end the
//! subscription rolls over to the period that invoice bills, or ends if it was cancelled at
//! the period's end. Every instant is the caller's clock's.

use super::activation::system;
use super::{event, timeline};
use crate::audit;
use crate::billing::invoices::service::{self as invoices, IssueCache, OrderLine};
use crate::billing::money;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::subscriptions::model::{SubscriptionStatus, period_bounds};
use crate::subscriptions::store::{self, SubscriptionRow};
use crate::web::{AppError, AppResult};

/// The invoices' billing reason of a renewal.
pub const RENEWAL: &str = "RENEWAL";

/// What one renewal step found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Renewal {
    /// The next period's invoice was issued now: its number and total.
    Issued { number: String, total_minor: i64 },
    /// Another run (or an earlier attempt) had issued it.
    AlreadyBilled,
    /// Not yet due, or nothing renews (cancelled at period end, not live).
    NotDue,
}

/// What one period-end step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PeriodEnd {
    /// The subscription moved into its next period.
    Rolled,
    /// It was cancelled at the period's end: now CANCELLED, the pod on its way out.
    Ended,
    /// The period has not ended (or moved meanwhile).
    NotYet,
}

/// The period after the current one, `[start, end)`, counted from the anchor.
pub fn next_period(s: &SubscriptionRow) -> AppResult<Option<(Timestamp, Timestamp)>> {
    let Some(anchor) = s.billing_anchor else {
        return Ok(None);
    };
    period_bounds(anchor, s.period, s.period_number + 1)
        .map(Some)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("subscription {}: {e}", s.id)))
}

/// Whether the next period's invoice is due at `now`: `lead_days` before it starts, except
/// after a trial, which converts at its end.
pub fn renewal_due(
    s: &SubscriptionRow,
    next_start: Timestamp,
    now: Timestamp,
    lead_days: i64,
) -> bool {
    let lead = if s.period_number < 0 {
        0
    } else {
        lead_days.max(0)
    };
    let renews = s.auto_renew != 0
        && matches!(
            s.status,
            SubscriptionStatus::Active | SubscriptionStatus::Suspended
        );
    renews && now >= next_start.plus_secs(-lead * 86_400)
}

/// The lines that bill period `[start, end)`: each item at its price (usage-priced items
/// are billed by their usage instead); after a downgrade (a pending product), the main item
/// is the new plan at the price the catalog resolves for the tenant, currency and period when
/// the period starts.
pub async fn renewal_lines(
    db: &Db,
    s: &SubscriptionRow,
    (start, end): (Timestamp, Timestamp),
) -> AppResult<Vec<OrderLine>> {
    let items = store::items(&db.pool, &s.id).await?;
    // usage-priced items have no period price: their usage is billed as the period closes
    let metered = store::usage::metered_items(&db.pool, &s.id).await?;
    let pending = match &s.pending_product_id {
        Some(p) => Some(super::plan_change::pending_price(db, s, p, start).await?),
        None => None,
    };
    Ok(items
        .into_iter()
        .filter(|i| !metered.iter().any(|m| m.product_id == i.product_id))
        .map(|i| {
            let (name, code, unit, product_id) = match &pending {
                Some((p, unit)) if i.product_id == s.product_id => {
                    (p.name.clone(), p.code.clone(), *unit, p.id.clone())
                }
                _ => (
                    i.product_name,
                    i.product_code,
                    i.unit_price_minor,
                    i.product_id,
                ),
            };
            item_line(&name, &code, i.quantity, unit, product_id, (start, end))
        })
        .collect())
}

/// The line that bills `quantity` of a product for period `[start, end)`.
pub(super) fn item_line(
    name: &str,
    code: &str,
    quantity: i64,
    unit_price_minor: i64,
    product_id: String,
    (start, end): (Timestamp, Timestamp),
) -> OrderLine {
    OrderLine {
        description: format!("{name} ({code}), {} – {}", start.date(), end.date()),
        quantity,
        unit_price_minor,
        product_id,
    }
}

/// The timeline entry of an issued renewal invoice.
pub(super) fn issued_summary(
    s: &SubscriptionRow,
    next: (Timestamp, Timestamp),
    number: &str,
    total_minor: i64,
) -> String {
    let what = if s.period_number < 0 {
        "Trial ends: first paid period"
    } else {
        "Renewal"
    };
    format!(
        "{what} invoice {number} issued for {} – {}: {}",
        next.0.date(),
        next.1.date(),
        money::format_money(total_minor, &s.currency)
    )
}

/// What renewing one subscription found, and when its current period ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Renewed {
    pub renewal: Renewal,
    pub period_end: Option<Timestamp>,
}

/// Issues the renewal invoice of the subscription's next period if it is due at `now`.
pub async fn renew(
    db: &Db,
    id: &str,
    now: Timestamp,
    lead_days: i64,
    cache: &mut IssueCache,
) -> AppResult<Renewed> {
    renew_many(db, &[id.to_string()], now, lead_days, cache)
        .await?
        .pop()
        .unwrap_or(Err(AppError::NotFound))
}

/// [`renew`] for several subscriptions in one transaction (one durable commit for the lot),
/// each behind a savepoint: one subscription's failure, or a concurrent run's invoice for
/// the same period (a unique violation: "already billed"), undoes only its own part. The
/// results are in the order of `ids`.
pub async fn renew_many(
    db: &Db,
    ids: &[String],
    now: Timestamp,
    lead_days: i64,
    cache: &mut IssueCache,
) -> AppResult<Vec<AppResult<Renewed>>> {
    let mut tx = db.begin_write().await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(renew_in_savepoint(&mut tx, db, id, now, lead_days, cache).await?);
    }
    tx.commit().await?;
    Ok(out)
}

/// One renewal behind a savepoint in the caller's transaction: its failure undoes only its
/// own part; a concurrent run's invoice for the same period (a unique violation) is "already
/// billed". The outer error is the transaction's own.
pub(super) async fn renew_in_savepoint(
    tx: &mut Tx,
    db: &Db,
    id: &str,
    now: Timestamp,
    lead_days: i64,
    cache: &mut IssueCache,
) -> AppResult<AppResult<Renewed>> {
    sqlx::query("SAVEPOINT renewal").execute(&mut **tx).await?;
    let out = match renew_one(tx, db, id, now, lead_days, cache).await {
        Ok(r) => Ok(r),
        Err(e) => {
            sqlx::query("ROLLBACK TO SAVEPOINT renewal")
                .execute(&mut **tx)
                .await?;
            if is_unique_violation(&e) {
                // Another run inserted this period's invoice between our check and our
                // insert: the unique key kept it to one.
                Ok(Renewed {
                    renewal: Renewal::AlreadyBilled,
                    period_end: None,
                })
            } else {
                Err(e)
            }
        }
    };
    sqlx::query("RELEASE SAVEPOINT renewal")
        .execute(&mut **tx)
        .await?;
    Ok(out)
}

async fn renew_one(
    tx: &mut Tx,
    db: &Db,
    id: &str,
    now: Timestamp,
    lead_days: i64,
    cache: &mut IssueCache,
) -> AppResult<Renewed> {
    let s = store::lock(tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let done = |renewal| {
        Ok(Renewed {
            renewal,
            period_end: s.current_period_end,
        })
    };
    let Some(next) = next_period(&s)? else {
        return done(Renewal::NotDue);
    };
    if !renewal_due(&s, next.0, now, lead_days) {
        return done(Renewal::NotDue);
    }
    if store::period_invoice(tx, &s.id, RENEWAL, next)
        .await?
        .is_some()
    {
        store::mark_billed(tx, &s.id).await?;
        return done(Renewal::AlreadyBilled);
    }
    let lines = renewal_lines(db, &s, next).await?;
    if lines.is_empty() {
        return Err(AppError::refused("the subscription has no items to bill"));
    }
    let (_, issued) = invoices::issue_for_subscription(
        tx,
        db,
        system(&s.tenant_id),
        &invoices::SubscriptionInvoice {
            tenant_id: &s.tenant_id,
            currency: &s.currency,
            subscription_id: &s.id,
            reason: RENEWAL,
            period: Some(next),
            lines: &lines,
            issued_on: now.date(),
        },
        cache,
    )
    .await?;
    store::mark_billed(tx, &s.id).await?;
    timeline(
        tx,
        &s.id,
        "invoice",
        &issued_summary(&s, next, &issued.number, issued.total_minor),
        "system",
    )
    .await?;
    done(Renewal::Issued {
        number: issued.number,
        total_minor: issued.total_minor,
    })
}

/// Moves the subscription into its next period once the current one has ended at `now`; a
/// subscription cancelled at the period's end ends instead. A live period is rolled only when
/// its renewal invoice exists: a period nobody was billed for never starts silently.
pub async fn end_of_period(db: &Db, id: &str, now: Timestamp) -> AppResult<PeriodEnd> {
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if s.current_period_end.is_none_or(|end| end > now) {
        return Ok(PeriodEnd::NotYet);
    }
    if s.status == SubscriptionStatus::CancelAtPeriodEnd {
        drop(tx);
        return Ok(if super::end_period(db, id, now).await? {
            PeriodEnd::Ended
        } else {
            PeriodEnd::NotYet
        });
    }
    if !matches!(
        s.status,
        SubscriptionStatus::Active | SubscriptionStatus::Suspended
    ) {
        return Ok(PeriodEnd::NotYet);
    }
    let Some(next) = next_period(&s)? else {
        return Ok(PeriodEnd::NotYet);
    };
    let Some(invoice) = store::period_invoice(&mut tx, &s.id, RENEWAL, next).await? else {
        return Err(AppError::refused(format!(
            "the period ending {} has no renewal invoice for the next one",
            next.0
        )));
    };
    // The ended period's usage, on its own invoice, before the period moves on.
    super::usage::bill_closing_period(&mut tx, db, system(&s.tenant_id), &s, now).await?;
    if store::roll(&mut tx, &s.id, s.period_number, next).await? == 0 {
        return Ok(PeriodEnd::NotYet);
    }
    if let Some(to) = &s.pending_product_id {
        super::plan_change::switch_at_roll(&mut tx, db, &s, to, &invoice, next.0).await?;
    }
    let summary = if s.period_number < 0 {
        format!(
            "Trial ended; first paid period {} – {}",
            next.0.date(),
            next.1.date()
        )
    } else {
        format!("New period {} – {}", next.0.date(), next.1.date())
    };
    timeline(&mut tx, &s.id, "state", &summary, "system").await?;
    audit::record(
        &mut tx,
        system(&s.tenant_id),
        event(&s.tenant_id, "subscription.renewed", &s.id, summary),
    )
    .await?;
    tx.commit().await?;
    Ok(PeriodEnd::Rolled)
}

fn is_unique_sqlx(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

pub(super) fn is_unique_violation(e: &AppError) -> bool {
    match e {
        AppError::Internal(e) => e.downcast_ref::<sqlx::Error>().is_some_and(is_unique_sqlx),
        _ => false,
    }
}

/// The bill run's work lists: subscriptions whose next period is to be invoiced by `until`,
/// and those whose period has ended by `now`.
pub async fn renewal_work(
    db: &Db,
    until: Timestamp,
    after: Option<(Timestamp, &str)>,
    limit: i64,
) -> AppResult<Vec<(Timestamp, String)>> {
    Ok(store::renewal_work(&db.pool, until, after, limit).await?)
}

pub async fn period_end_work(
    db: &Db,
    now: Timestamp,
    after: Option<(Timestamp, &str)>,
    limit: i64,
) -> AppResult<Vec<(Timestamp, String)>> {
    Ok(store::period_end_work(&db.pool, now, after, limit).await?)
}

pub async fn expired_orders(
    db: &Db,
    now: Timestamp,
    after: Option<(Timestamp, &str)>,
    limit: i64,
) -> AppResult<Vec<(Timestamp, String)>> {
    Ok(store::expired_orders(&db.pool, now, after, limit).await?)
}

/// Live subscriptions whose current period should have an invoice and has none:
/// (id, tenant, product, period start, period end).
pub async fn unbilled_current_periods(
    db: &Db,
    limit: i64,
) -> AppResult<Vec<(String, String, String, Timestamp, Timestamp)>> {
    Ok(store::unbilled_current_periods(&db.pool, limit).await?)
}

/// The subscription, for the system (the bill run); `None` if it does not exist.
pub async fn for_system(db: &Db, id: &str) -> AppResult<Option<SubscriptionRow>> {
    Ok(store::get(&db.pool, &TenantScope::All, id).await?)
}

/// How many live subscriptions are past their period's end without a new one.
pub async fn count_lagging(db: &Db, now: Timestamp) -> AppResult<i64> {
    Ok(store::count_lagging(&db.pool, now).await?)
}
