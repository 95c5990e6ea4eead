//! SQL for usage records: insert once per client transaction id, the current period's sums,
//! the unbilled records of a period, marking them billed, and the metered items.

use sqlx::{AnyPool, FromRow};

use crate::billing::catalog::model::{BillingModel, TierMode};
use crate::db::filter::Where;
use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct UsageRow {
    pub id: String,
    pub subscription_id: String,
    pub product_id: String,
    pub metric: String,
    pub quantity: i64,
    pub at: Timestamp,
    pub client_txn_id: String,
    pub invoice_id: Option<String>,
    pub created_by: String,
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, subscription_id, product_id, metric, quantity, at, client_txn_id, \
    invoice_id, created_by, created_at";

/// Inserts the record; `false` when the subscription already has this client transaction id
/// (the unique key decides, also between concurrent requests).
pub async fn insert(tx: &mut Tx, r: &UsageRow) -> sqlx::Result<bool> {
    let n = sqlx::query(&format!(
        "INSERT INTO usage_records ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9) \
         ON CONFLICT (subscription_id, client_txn_id) DO NOTHING"
    ))
    .bind(&r.id)
    .bind(&r.subscription_id)
    .bind(&r.product_id)
    .bind(&r.metric)
    .bind(r.quantity)
    .bind(r.at.0)
    .bind(&r.client_txn_id)
    .bind(&r.created_by)
    .bind(r.created_at.0)
    .execute(&mut **tx)
    .await?;
    Ok(n.rows_affected() == 1)
}

/// The record a client transaction id created on the subscription.
pub async fn by_txn(
    tx: &mut Tx,
    subscription_id: &str,
    client_txn_id: &str,
) -> sqlx::Result<Option<UsageRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM usage_records WHERE subscription_id = $1 AND client_txn_id = $2"
    ))
    .bind(subscription_id)
    .bind(client_txn_id)
    .fetch_optional(&mut **tx)
    .await
}

/// A usage-priced item of a subscription: its product and how the catalog prices it.
#[derive(Clone, Debug, FromRow)]
pub struct MeteredItem {
    pub product_id: String,
    pub code: String,
    pub name: String,
    pub billing_model: BillingModel,
    /// The metric the product prices.
    pub unit_name: String,
    pub tier_mode: TierMode,
}

/// The subscription's usage-priced items, in item order.
pub async fn metered_items<'e, E>(ex: E, subscription_id: &str) -> sqlx::Result<Vec<MeteredItem>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT p.id AS product_id, p.code, p.name, p.billing_model, p.unit_name, p.tier_mode \
         FROM subscription_items i JOIN products p ON p.id = i.product_id \
         WHERE i.subscription_id = $1 AND p.billing_model IN ('USAGE_BASED', 'USAGE_TIERED') \
         ORDER BY i.position",
    )
    .bind(subscription_id)
    .fetch_all(ex)
    .await
}

/// Unbilled usage of the subscription from `from` (and before `until`, when given), summed
/// per product and metric: (product id, metric, units, records).
pub async fn unbilled_sums<'e, E>(
    ex: E,
    subscription_id: &str,
    from: Timestamp,
    until: Option<Timestamp>,
) -> sqlx::Result<Vec<(String, String, i64, i64)>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT product_id, metric, CAST(SUM(quantity) AS BIGINT), COUNT(*) FROM usage_records \
         WHERE subscription_id = $1 AND invoice_id IS NULL AND at >= $2 AND at < $3 \
         GROUP BY product_id, metric ORDER BY metric, product_id",
    )
    .bind(subscription_id)
    .bind(from.0)
    .bind(until.map_or(i64::MAX, |t| t.0))
    .fetch_all(ex)
    .await
}

/// Marks the unbilled records `[from, until)` of one product billed by `invoice_id`.
pub async fn mark_billed(
    tx: &mut Tx,
    subscription_id: &str,
    product_id: &str,
    from: Timestamp,
    until: Option<Timestamp>,
    invoice_id: &str,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE usage_records SET invoice_id = $1 WHERE subscription_id = $2 AND product_id = $3 \
         AND invoice_id IS NULL AND at >= $4 AND at < $5",
    )
    .bind(invoice_id)
    .bind(subscription_id)
    .bind(product_id)
    .bind(from.0)
    .bind(until.map_or(i64::MAX, |t| t.0))
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// A page of a subscription's records, newest first (by `at`, then id), after the
/// `(at, id)` of the last record of the previous page (the API's cursor).
pub async fn page(
    pool: &AnyPool,
    subscription_id: &str,
    after: Option<(i64, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<UsageRow>> {
    let mut w = Where::new();
    w.eq("subscription_id", subscription_id)
        .keyset_desc("at", "id", after);
    let n = w.next();
    let sql = format!(
        "SELECT {COLUMNS} FROM usage_records {} ORDER BY at DESC, id DESC LIMIT ${n}",
        w.sql()
    );
    let mut q = sqlx::query_as(&sql);
    for p in w.params() {
        q = q.bind(p);
    }
    q.bind(limit).fetch_all(pool).await
}

/// The latest records of a subscription, newest first.
pub async fn recent(
    pool: &AnyPool,
    subscription_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<UsageRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM usage_records WHERE subscription_id = $1 \
         ORDER BY at DESC, id DESC LIMIT $2"
    ))
    .bind(subscription_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}
