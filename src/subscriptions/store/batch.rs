//! SQL for renewing a batch of subscriptions at once (the bill run): one statement per kind
//! of read or write for the whole batch.

use sqlx::FromRow;

use super::{SELECT, SubscriptionRow};
use crate::db::bulk::{Val, bind_all, in_list, insert_rows};
use crate::db::{Backend, Timestamp, Tx};

/// The subscriptions, locked for the rest of the transaction on PostgreSQL (SQLite's write
/// transaction holds the database). Missing ids are simply absent.
pub async fn lock_many(
    tx: &mut Tx,
    backend: Backend,
    ids: &[String],
) -> sqlx::Result<Vec<SubscriptionRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let lock = backend.row_lock(Some("s"));
    let values: Vec<Val> = ids.iter().map(|i| Val::from(i.as_str())).collect();
    let sql = format!(
        "{SELECT} WHERE s.id IN ({}) ORDER BY s.id{lock}",
        in_list(1, ids.len())
    );
    let q = bind_all(sqlx::query(&sql), &values);
    let rows = q.fetch_all(&mut **tx).await?;
    rows.iter().map(SubscriptionRow::from_row).collect()
}

/// One item of a subscription in a batch, with its product's billing model.
#[derive(Clone, Debug, FromRow)]
pub struct BatchItem {
    pub subscription_id: String,
    pub product_id: String,
    pub product_code: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub billing_model: String,
}

impl BatchItem {
    /// Billed by its usage as the period closes, not by a period price.
    pub fn metered(&self) -> bool {
        self.billing_model.starts_with("USAGE")
    }
}

/// The items of every subscription in `ids`, by subscription and position.
pub async fn items_many(tx: &mut Tx, ids: &[String]) -> sqlx::Result<Vec<BatchItem>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let values: Vec<Val> = ids.iter().map(|i| Val::from(i.as_str())).collect();
    let sql = format!(
        "SELECT i.subscription_id, i.product_id, p.code AS product_code, p.name AS product_name, \
         i.quantity, i.unit_price_minor, p.billing_model FROM subscription_items i \
         JOIN products p ON p.id = i.product_id WHERE i.subscription_id IN ({}) \
         ORDER BY i.subscription_id, i.position",
        in_list(1, ids.len())
    );
    let rows = bind_all(sqlx::query(&sql), &values)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter().map(BatchItem::from_row).collect()
}

/// The (subscription, period start, period end) of every invoice with `reason` billing one of
/// the subscriptions in `ids`.
pub async fn billed_periods(
    tx: &mut Tx,
    ids: &[String],
    reason: &str,
) -> sqlx::Result<Vec<(String, Timestamp, Timestamp)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut values: Vec<Val> = vec![Val::from(reason)];
    values.extend(ids.iter().map(|i| Val::from(i.as_str())));
    let sql = format!(
        "SELECT subscription_id, period_start, period_end FROM invoices \
         WHERE billing_reason = $1 AND period_start IS NOT NULL AND subscription_id IN ({})",
        in_list(2, ids.len())
    );
    let rows = bind_all(sqlx::query(&sql), &values)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            use sqlx::Row;
            Ok((
                r.try_get::<String, _>(0)?,
                Timestamp(r.try_get::<i64, _>(1)?),
                Timestamp(r.try_get::<i64, _>(2)?),
            ))
        })
        .collect()
}

/// Clears `next_bill_at` of every subscription in `ids` (their next period is invoiced).
pub async fn mark_billed_many(tx: &mut Tx, ids: &[String]) -> sqlx::Result<u64> {
    if ids.is_empty() {
        return Ok(0);
    }
    let values: Vec<Val> = ids.iter().map(|i| Val::from(i.as_str())).collect();
    let sql = format!(
        "UPDATE subscriptions SET next_bill_at = NULL WHERE id IN ({})",
        in_list(1, ids.len())
    );
    Ok(bind_all(sqlx::query(&sql), &values)
        .execute(&mut **tx)
        .await?
        .rows_affected())
}

/// Timeline entries (subscription, kind, summary, actor), one statement.
pub async fn add_events_many(
    tx: &mut Tx,
    events: &[(&str, &str, String, &str)],
) -> sqlx::Result<()> {
    let at = Timestamp::now().0;
    let rows: Vec<Vec<Val>> = events
        .iter()
        .map(|(id, kind, summary, actor)| {
            vec![
                crate::db::new_id().into(),
                (*id).into(),
                at.into(),
                (*kind).into(),
                summary.as_str().into(),
                (*actor).into(),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "subscription_events",
        &["id", "subscription_id", "at", "kind", "summary", "actor"],
        &rows,
        "",
    )
    .await
    .map(|_| ())
}
