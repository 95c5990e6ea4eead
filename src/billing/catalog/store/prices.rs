//! Base prices per currency and period, and usage tiers.

use sqlx::{AnyPool, FromRow};

use super::placeholders;
use crate::billing::catalog::model::{Period, Tier};
use crate::db::Tx;

#[derive(Clone, Debug, FromRow)]
pub struct PriceRow {
    pub id: String,
    pub product_id: String,
    pub currency: String,
    pub period: Period,
    pub amount_minor: i64,
    pub setup_fee_minor: i64,
}

/// `ex` is `&db.pool` or a connection (`&mut **tx`).
pub async fn prices<'e, E>(ex: E, product_id: &str) -> sqlx::Result<Vec<PriceRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT id, product_id, currency, period, amount_minor, setup_fee_minor \
         FROM product_prices WHERE product_id = $1 ORDER BY currency, period",
    )
    .bind(product_id)
    .fetch_all(ex)
    .await
}

/// Base prices in one currency for a page of products (one query, not one per product).
pub async fn prices_for(
    pool: &AnyPool,
    product_ids: &[String],
    currency: &str,
) -> sqlx::Result<Vec<PriceRow>> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT id, product_id, currency, period, amount_minor, setup_fee_minor \
         FROM product_prices WHERE currency = $1 AND product_id IN ({})",
        placeholders(2, product_ids.len())
    );
    let mut q = sqlx::query_as(&sql).bind(currency);
    for id in product_ids {
        q = q.bind(id);
    }
    q.fetch_all(pool).await
}

pub async fn upsert_price(
    tx: &mut Tx,
    id: &str,
    product_id: &str,
    currency: &str,
    period: &str,
    amount_minor: i64,
    setup_fee_minor: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO product_prices (id, product_id, currency, period, amount_minor, setup_fee_minor) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (product_id, currency, period) \
         DO UPDATE SET amount_minor = excluded.amount_minor, setup_fee_minor = excluded.setup_fee_minor",
    )
    .bind(id)
    .bind(product_id)
    .bind(currency)
    .bind(period)
    .bind(amount_minor)
    .bind(setup_fee_minor)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn delete_price(
    tx: &mut Tx,
    product_id: &str,
    id: &str,
) -> sqlx::Result<Option<PriceRow>> {
    sqlx::query_as(
        "DELETE FROM product_prices WHERE id = $1 AND product_id = $2 \
         RETURNING id, product_id, currency, period, amount_minor, setup_fee_minor",
    )
    .bind(id)
    .bind(product_id)
    .fetch_optional(&mut **tx)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct TierRow {
    pub id: String,
    pub product_id: String,
    pub currency: String,
    pub up_to: i64,
    pub unit_minor: i64,
    pub flat_minor: i64,
}

impl TierRow {
    pub fn tier(&self) -> Tier {
        Tier {
            up_to: (self.up_to >= 0).then_some(self.up_to),
            unit_minor: self.unit_minor,
            flat_minor: self.flat_minor,
        }
    }
}

const TIER_COLUMNS: &str = "id, product_id, currency, up_to, unit_minor, flat_minor";

/// Tiers ordered for pricing: by currency, bounded ascending, the open-ended (-1) last.
pub async fn tiers(pool: &AnyPool, product_id: &str) -> sqlx::Result<Vec<TierRow>> {
    sqlx::query_as(&format!(
        "SELECT {TIER_COLUMNS} FROM product_tiers WHERE product_id = $1 \
         ORDER BY currency, CASE WHEN up_to < 0 THEN 1 ELSE 0 END, up_to"
    ))
    .bind(product_id)
    .fetch_all(pool)
    .await
}

pub async fn tiers_for(
    pool: &AnyPool,
    product_ids: &[String],
    currency: &str,
) -> sqlx::Result<Vec<TierRow>> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT {TIER_COLUMNS} FROM product_tiers WHERE currency = $1 AND product_id IN ({}) \
         ORDER BY product_id, CASE WHEN up_to < 0 THEN 1 ELSE 0 END, up_to",
        placeholders(2, product_ids.len())
    );
    let mut q = sqlx::query_as(&sql).bind(currency);
    for id in product_ids {
        q = q.bind(id);
    }
    q.fetch_all(pool).await
}

/// A product's tiers in one currency, lowest bound first ("and up" last); `ex` is
/// `&db.pool` or `&mut *tx`.
pub async fn tiers_in<'e, E>(ex: E, product_id: &str, currency: &str) -> sqlx::Result<Vec<TierRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {TIER_COLUMNS} FROM product_tiers WHERE product_id = $1 AND currency = $2 \
         ORDER BY CASE WHEN up_to < 0 THEN 1 ELSE 0 END, up_to"
    ))
    .bind(product_id)
    .bind(currency)
    .fetch_all(ex)
    .await
}

pub async fn insert_tier(tx: &mut Tx, row: &TierRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO product_tiers ({TIER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    ))
    .bind(&row.id)
    .bind(&row.product_id)
    .bind(&row.currency)
    .bind(row.up_to)
    .bind(row.unit_minor)
    .bind(row.flat_minor)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn delete_tier(tx: &mut Tx, product_id: &str, id: &str) -> sqlx::Result<Option<TierRow>> {
    sqlx::query_as(&format!(
        "DELETE FROM product_tiers WHERE id = $1 AND product_id = $2 RETURNING {TIER_COLUMNS}"
    ))
    .bind(id)
    .bind(product_id)
    .fetch_optional(&mut **tx)
    .await
}
