//! Renewing a batch of subscriptions in one transaction with a few statements for the lot
//! (the bill run's path): the subscriptions locked together, their billed periods and items
//! read together, the plain renewals issued through the invoices' batch issue, and the rest
//! (a pending downgrade, metered items, nothing to bill) taken one at a time behind savepoints
//! as [`super::renew_many`] does. If the batch fails as a whole (e.g. another run issued one
//! of its periods between our read and our insert), it is rolled back and taken one at a time.

use std::collections::{HashMap, HashSet};

use super::activation::system;
use super::renewal::{
    RENEWAL, Renewal, Renewed, issued_summary, item_line, next_period, renew_in_savepoint,
    renew_many, renewal_due,
};
use crate::billing::invoices::service::{
    self as invoices, IssueCache, OrderLine, SubscriptionInvoice,
};
use crate::db::{Db, Timestamp, Tx};
use crate::subscriptions::store::SubscriptionRow;
use crate::subscriptions::store::batch::{self, BatchItem};
use crate::web::{AppError, AppResult};

/// [`renew_many`]'s results for `ids`, in their order, with far fewer statements.
pub async fn renew_batch(
    db: &Db,
    ids: &[String],
    now: Timestamp,
    lead_days: i64,
    cache: &mut IssueCache,
) -> AppResult<Vec<AppResult<Renewed>>> {
    let mut tx = db.begin_write().await?;
    match renew_together(&mut tx, db, ids, now, lead_days, cache).await {
        Ok(out) => {
            tx.commit().await?;
            Ok(out)
        }
        Err(e) => {
            drop(tx);
            tracing::debug!(error = %e, "batch renewal fell back to one at a time");
            // The batch's reads may be stale now; the one-at-a-time path reads everything
            // again under its own locks.
            *cache = IssueCache::default();
            renew_many(db, ids, now, lead_days, cache).await
        }
    }
}

async fn renew_together(
    tx: &mut Tx,
    db: &Db,
    ids: &[String],
    now: Timestamp,
    lead_days: i64,
    cache: &mut IssueCache,
) -> AppResult<Vec<AppResult<Renewed>>> {
    let subs = batch::lock_many(tx, db.backend, ids).await?;
    let mut outcome: HashMap<&str, Renewed> = HashMap::new();
    let mut due: Vec<(&SubscriptionRow, (Timestamp, Timestamp))> = Vec::new();
    for s in &subs {
        match next_period(s)? {
            Some(next) if renewal_due(s, next.0, now, lead_days) => due.push((s, next)),
            _ => {
                outcome.insert(&s.id, renewed(s, Renewal::NotDue));
            }
        }
    }
    let due_ids: Vec<String> = due.iter().map(|(s, _)| s.id.clone()).collect();
    let billed: HashSet<(String, i64, i64)> = batch::billed_periods(tx, &due_ids, RENEWAL)
        .await?
        .into_iter()
        .map(|(id, start, end)| (id, start.0, end.0))
        .collect();
    let mut items: HashMap<String, Vec<BatchItem>> = HashMap::new();
    for i in batch::items_many(tx, &due_ids).await? {
        items.entry(i.subscription_id.clone()).or_default().push(i);
    }

    let mut mark: Vec<String> = Vec::new();
    let mut one_by_one: Vec<&str> = Vec::new();
    let mut plain: Vec<(&SubscriptionRow, (Timestamp, Timestamp), Vec<OrderLine>)> = Vec::new();
    for (s, next) in due {
        if billed.contains(&(s.id.clone(), next.0.0, next.1.0)) {
            mark.push(s.id.clone());
            outcome.insert(&s.id, renewed(s, Renewal::AlreadyBilled));
            continue;
        }
        let its = items.remove(&s.id).unwrap_or_default();
        if s.pending_product_id.is_some() || its.is_empty() || its.iter().any(BatchItem::metered) {
            one_by_one.push(&s.id);
            continue;
        }
        let lines = its
            .into_iter()
            .map(|i| {
                item_line(
                    &i.product_name,
                    &i.product_code,
                    i.quantity,
                    i.unit_price_minor,
                    i.product_id,
                    next,
                )
            })
            .collect();
        plain.push((s, next, lines));
    }

    let orders: Vec<SubscriptionInvoice<'_>> = plain
        .iter()
        .map(|(s, next, lines)| SubscriptionInvoice {
            tenant_id: &s.tenant_id,
            currency: &s.currency,
            subscription_id: &s.id,
            reason: RENEWAL,
            period: Some(*next),
            lines,
            issued_on: now.date(),
        })
        .collect();
    let issued = invoices::issue_many_for_subscriptions(tx, system, &orders, cache).await?;
    let mut events = Vec::with_capacity(issued.len());
    for ((s, next, _), (_, inv)) in plain.iter().zip(&issued) {
        mark.push(s.id.clone());
        events.push((
            s.id.as_str(),
            "invoice",
            issued_summary(s, *next, &inv.number, inv.total_minor),
            "system",
        ));
        outcome.insert(
            &s.id,
            renewed(
                s,
                Renewal::Issued {
                    number: inv.number.clone(),
                    total_minor: inv.total_minor,
                },
            ),
        );
    }
    batch::mark_billed_many(tx, &mark).await?;
    batch::add_events_many(tx, &events).await?;

    let mut rest: HashMap<&str, AppResult<Renewed>> = HashMap::new();
    for id in one_by_one {
        rest.insert(
            id,
            renew_in_savepoint(tx, db, id, now, lead_days, cache).await?,
        );
    }
    Ok(ids
        .iter()
        .map(|id| match rest.remove(id.as_str()) {
            Some(r) => r,
            None => outcome.remove(id.as_str()).ok_or(AppError::NotFound),
        })
        .collect())
}

fn renewed(s: &SubscriptionRow, renewal: Renewal) -> Renewed {
    Renewed {
        renewal,
        period_end: s.current_period_end,
    }
}
