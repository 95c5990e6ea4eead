//! Price overrides, scoped to a tenant and/or region and a validity window.

use sqlx::{AnyPool, FromRow};

use super::placeholders;
use crate::billing::catalog::model::{Override, Period};
use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct OverrideRow {
    pub id: String,
    pub product_id: String,
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub region: String,
    pub currency: String,
    pub period: Period,
    pub amount_minor: i64,
    pub setup_fee_minor: i64,
    pub valid_from: i64,
    pub valid_until: i64,
}

impl OverrideRow {
    pub fn rule(&self) -> Override {
        Override {
            id: self.id.clone(),
            tenant_id: self.tenant_id.clone(),
            region: self.region.clone(),
            currency: self.currency.clone(),
            period: self.period,
            amount_minor: self.amount_minor,
            setup_fee_minor: self.setup_fee_minor,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        }
    }
}

const OVERRIDE_SELECT: &str = "SELECT o.id, o.product_id, o.tenant_id, t.name AS tenant_name, \
     o.region, o.currency, o.period, o.amount_minor, o.setup_fee_minor, o.valid_from, \
     o.valid_until FROM price_overrides o LEFT JOIN tenants t ON t.id = o.tenant_id";

/// `ex` is `&db.pool` or a connection (`&mut **tx`).
pub async fn overrides<'e, E>(ex: E, product_id: &str) -> sqlx::Result<Vec<OverrideRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "{OVERRIDE_SELECT} WHERE o.product_id = $1 \
         ORDER BY o.currency, o.period, o.tenant_id, o.region, o.valid_from"
    ))
    .bind(product_id)
    .fetch_all(ex)
    .await
}

/// Overrides that can apply to a viewer now: in `currency`, valid at `at`, and scoped to no
/// tenant or to `tenant_id`, and to no region or to `region`.
pub async fn overrides_for(
    pool: &AnyPool,
    product_ids: &[String],
    currency: &str,
    tenant_id: &str,
    region: &str,
    at: i64,
) -> sqlx::Result<Vec<OverrideRow>> {
    if product_ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "{OVERRIDE_SELECT} WHERE o.currency = $1 AND o.valid_from <= $2 AND o.valid_until > $2 \
         AND (o.tenant_id = '' OR o.tenant_id = $3) AND (o.region = '' OR o.region = $4) \
         AND o.product_id IN ({})",
        placeholders(5, product_ids.len())
    );
    let mut q = sqlx::query_as(&sql)
        .bind(currency)
        .bind(at)
        .bind(tenant_id)
        .bind(region);
    for id in product_ids {
        q = q.bind(id);
    }
    q.fetch_all(pool).await
}

pub async fn overrides_in_scope(
    tx: &mut Tx,
    o: &Override,
    product_id: &str,
) -> sqlx::Result<Vec<OverrideRow>> {
    sqlx::query_as(&format!(
        "{OVERRIDE_SELECT} WHERE o.product_id = $1 AND o.tenant_id = $2 AND o.region = $3 \
         AND o.currency = $4 AND o.period = $5"
    ))
    .bind(product_id)
    .bind(&o.tenant_id)
    .bind(&o.region)
    .bind(&o.currency)
    .bind(o.period.as_str())
    .fetch_all(&mut **tx)
    .await
}

pub async fn insert_override(tx: &mut Tx, product_id: &str, o: &Override) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO price_overrides (id, product_id, tenant_id, region, currency, period, \
         amount_minor, setup_fee_minor, valid_from, valid_until, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&o.id)
    .bind(product_id)
    .bind(&o.tenant_id)
    .bind(&o.region)
    .bind(&o.currency)
    .bind(o.period.as_str())
    .bind(o.amount_minor)
    .bind(o.setup_fee_minor)
    .bind(o.valid_from)
    .bind(o.valid_until)
    .bind(Timestamp::now().0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn delete_override(tx: &mut Tx, product_id: &str, id: &str) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM price_overrides WHERE id = $1 AND product_id = $2")
        .bind(id)
        .bind(product_id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}
