//! SQL for products, prices, tiers, overrides and CloudPod plans. Queries only.

use sqlx::{AnyPool, FromRow};

use super::model::{Override, Period, Tier};
use crate::db::filter::Where;
use crate::db::{Backend, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct ProductRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub billing_model: String,
    pub status: String,
    pub visibility: String,
    pub tax_category: String,
    pub unit_name: String,
    pub tier_mode: String,
    pub stripe_price_id: String,
    pub whmcs_product_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

const PRODUCT_COLUMNS: &str = "id, code, name, description, category, billing_model, status, \
     visibility, tax_category, unit_name, tier_mode, stripe_price_id, whmcs_product_id, \
     created_at, updated_at";

/// Every editable column of a product, validated by the service.
pub struct ProductFields<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub category: &'a str,
    pub billing_model: &'a str,
    pub visibility: &'a str,
    pub tax_category: &'a str,
    pub unit_name: &'a str,
    pub tier_mode: &'a str,
    pub stripe_price_id: &'a str,
    pub whmcs_product_id: &'a str,
}

pub async fn insert_product(
    tx: &mut Tx,
    id: &str,
    status: &str,
    f: &ProductFields<'_>,
) -> sqlx::Result<()> {
    let now = Timestamp::now().0;
    sqlx::query(
        "INSERT INTO products (id, code, name, description, category, billing_model, status, \
         visibility, tax_category, unit_name, tier_mode, stripe_price_id, whmcs_product_id, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14)",
    )
    .bind(id)
    .bind(f.code)
    .bind(f.name)
    .bind(f.description)
    .bind(f.category)
    .bind(f.billing_model)
    .bind(status)
    .bind(f.visibility)
    .bind(f.tax_category)
    .bind(f.unit_name)
    .bind(f.tier_mode)
    .bind(f.stripe_price_id)
    .bind(f.whmcs_product_id)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn update_product(tx: &mut Tx, id: &str, f: &ProductFields<'_>) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE products SET code = $1, name = $2, description = $3, category = $4, \
         billing_model = $5, visibility = $6, tax_category = $7, unit_name = $8, \
         tier_mode = $9, stripe_price_id = $10, whmcs_product_id = $11, updated_at = $12 \
         WHERE id = $13",
    )
    .bind(f.code)
    .bind(f.name)
    .bind(f.description)
    .bind(f.category)
    .bind(f.billing_model)
    .bind(f.visibility)
    .bind(f.tax_category)
    .bind(f.unit_name)
    .bind(f.tier_mode)
    .bind(f.stripe_price_id)
    .bind(f.whmcs_product_id)
    .bind(Timestamp::now().0)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// The status changes only if it is still `from`: a concurrent change makes this a no-op (0).
pub async fn set_status(tx: &mut Tx, id: &str, from: &str, to: &str) -> sqlx::Result<u64> {
    sqlx::query("UPDATE products SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4")
        .bind(to)
        .bind(Timestamp::now().0)
        .bind(id)
        .bind(from)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

pub async fn get_product(pool: &AnyPool, id: &str) -> sqlx::Result<Option<ProductRow>> {
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// Reads the product and, on PostgreSQL, locks its row until the transaction ends, so that
/// checks such as "no overlapping override" cannot race between two writers. (SQLite write
/// transactions are already serialised by BEGIN IMMEDIATE.)
pub async fn lock_product(
    tx: &mut Tx,
    backend: Backend,
    id: &str,
) -> sqlx::Result<Option<ProductRow>> {
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub struct ProductFilter<'a> {
    pub search: &'a str,
    pub category: &'a str,
    pub status: &'a str,
    pub visibility: &'a str,
}

/// Allowed sort keys → ORDER BY clauses (never interpolate user text into SQL).
pub fn order_by(sort: &str) -> &'static str {
    match sort {
        "code" => "code, id",
        "created" => "created_at DESC, id DESC",
        "updated" => "updated_at DESC, id DESC",
        "status" => "status, name, id",
        _ => "name, id",
    }
}

/// One page of products, and how many match in all. The total is kept for a few seconds in
/// `db.pages` (emptied by every catalog change through this process): counting ten thousand
/// products costs more than reading a page of them.
pub async fn list_products(
    db: &crate::db::Db,
    f: &ProductFilter<'_>,
    sort: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ProductRow>, i64)> {
    let mut w = Where::new();
    w.contains(&["name", "code"], f.search)
        .eq("category", f.category)
        .eq("status", f.status)
        .eq("visibility", f.visibility);
    let n = w.next();
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products {} ORDER BY {} LIMIT ${n} OFFSET ${}",
        w.sql(),
        order_by(sort),
        n + 1
    );
    let mut rows = sqlx::query_as(&sql);
    for p in w.params() {
        rows = rows.bind(p);
    }
    let rows = rows.bind(limit).bind(offset).fetch_all(&db.pool).await?;
    let key = format!("products-count|{}|{}", w.sql(), w.params().join("\u{1f}"));
    if let Some(total) = db.pages.get(&key).and_then(|t| t.parse::<i64>().ok()) {
        return Ok((rows, total));
    }
    let count_sql = format!("SELECT COUNT(*) FROM products {}", w.sql());
    let mut total = sqlx::query_scalar(&count_sql);
    for p in w.params() {
        total = total.bind(p);
    }
    let total: i64 = total.fetch_one(&db.pool).await?;
    db.pages
        .put(key, std::sync::Arc::from(total.to_string().as_str()));
    Ok((rows, total))
}

/// ACTIVE products that are PUBLIC (and BETA, for flagged tenants), by name: up to `limit`
/// of them from `offset`, and whether more follow. The public catalog is not counted:
/// counting thousands of index entries cost more than the rest of the page together.
pub async fn list_catalog(
    pool: &AnyPool,
    include_beta: bool,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<ProductRow>, bool)> {
    let mut w = Where::new();
    w.raw("status = 'ACTIVE'");
    if include_beta {
        w.any_of("visibility", &["PUBLIC", "BETA"]);
    } else {
        w.eq("visibility", "PUBLIC");
    }
    let n = w.next();
    let sql = format!(
        "SELECT {PRODUCT_COLUMNS} FROM products {} ORDER BY name, id LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    );
    let mut q = sqlx::query_as(&sql);
    for p in w.params() {
        q = q.bind(p);
    }
    let mut rows: Vec<ProductRow> = q.bind(limit + 1).bind(offset).fetch_all(pool).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit.max(0) as usize);
    Ok((rows, more))
}

#[derive(Clone, Debug, FromRow)]
pub struct PriceRow {
    pub id: String,
    pub product_id: String,
    pub currency: String,
    pub period: String,
    pub amount_minor: i64,
    pub setup_fee_minor: i64,
}

pub async fn prices(pool: &AnyPool, product_id: &str) -> sqlx::Result<Vec<PriceRow>> {
    sqlx::query_as(
        "SELECT id, product_id, currency, period, amount_minor, setup_fee_minor \
         FROM product_prices WHERE product_id = $1 ORDER BY currency, period",
    )
    .bind(product_id)
    .fetch_all(pool)
    .await
}

/// `$first, $first+1, …` placeholders for an IN list of `n` values.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
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

pub async fn tiers_tx(tx: &mut Tx, product_id: &str, currency: &str) -> sqlx::Result<Vec<TierRow>> {
    sqlx::query_as(&format!(
        "SELECT {TIER_COLUMNS} FROM product_tiers WHERE product_id = $1 AND currency = $2 \
         ORDER BY CASE WHEN up_to < 0 THEN 1 ELSE 0 END, up_to"
    ))
    .bind(product_id)
    .bind(currency)
    .fetch_all(&mut **tx)
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

#[derive(Clone, Debug, FromRow)]
pub struct OverrideRow {
    pub id: String,
    pub product_id: String,
    pub tenant_id: String,
    pub tenant_name: Option<String>,
    pub region: String,
    pub currency: String,
    pub period: String,
    pub amount_minor: i64,
    pub setup_fee_minor: i64,
    pub valid_from: i64,
    pub valid_until: i64,
}

impl OverrideRow {
    pub fn rule(&self) -> Option<Override> {
        Some(Override {
            id: self.id.clone(),
            tenant_id: self.tenant_id.clone(),
            region: self.region.clone(),
            currency: self.currency.clone(),
            period: Period::parse(&self.period)?,
            amount_minor: self.amount_minor,
            setup_fee_minor: self.setup_fee_minor,
            valid_from: self.valid_from,
            valid_until: self.valid_until,
        })
    }
}

const OVERRIDE_SELECT: &str = "SELECT o.id, o.product_id, o.tenant_id, t.name AS tenant_name, \
     o.region, o.currency, o.period, o.amount_minor, o.setup_fee_minor, o.valid_from, \
     o.valid_until FROM price_overrides o LEFT JOIN tenants t ON t.id = o.tenant_id";

pub async fn overrides(pool: &AnyPool, product_id: &str) -> sqlx::Result<Vec<OverrideRow>> {
    sqlx::query_as(&format!(
        "{OVERRIDE_SELECT} WHERE o.product_id = $1 \
         ORDER BY o.currency, o.period, o.tenant_id, o.region, o.valid_from"
    ))
    .bind(product_id)
    .fetch_all(pool)
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

#[derive(Clone, Debug, FromRow)]
pub struct PlanRow {
    pub code: String,
    pub product_id: String,
    pub product_name: String,
    pub product_status: String,
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub max_websites: i64,
    pub max_email_accounts: i64,
    pub updated_at: Timestamp,
}

const PLAN_SELECT: &str = "SELECT p.code, p.product_id, pr.name AS product_name, \
     pr.status AS product_status, p.cpu_cores, p.ram_mb, p.disk_gb, p.max_websites, \
     p.max_email_accounts, p.updated_at FROM cloudpod_plans p JOIN products pr ON pr.id = p.product_id";

pub async fn plans(pool: &AnyPool) -> sqlx::Result<Vec<PlanRow>> {
    sqlx::query_as(&format!("{PLAN_SELECT} ORDER BY p.sort_order, p.code"))
        .fetch_all(pool)
        .await
}

pub async fn plan_for_product(pool: &AnyPool, product_id: &str) -> sqlx::Result<Option<PlanRow>> {
    sqlx::query_as(&format!("{PLAN_SELECT} WHERE p.product_id = $1"))
        .bind(product_id)
        .fetch_optional(pool)
        .await
}

/// One plan by code, inside a transaction (a pod created or resized on it).
pub async fn plan_tx(tx: &mut Tx, code: &str) -> sqlx::Result<Option<PlanRow>> {
    sqlx::query_as(&format!("{PLAN_SELECT} WHERE p.code = $1"))
        .bind(code)
        .fetch_optional(&mut **tx)
        .await
}

pub struct PlanSpecs {
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub max_websites: i64,
    pub max_email_accounts: i64,
}

pub async fn update_plan(tx: &mut Tx, code: &str, s: &PlanSpecs) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE cloudpod_plans SET cpu_cores = $1, ram_mb = $2, disk_gb = $3, max_websites = $4, \
         max_email_accounts = $5, updated_at = $6 WHERE code = $7",
    )
    .bind(s.cpu_cores)
    .bind(s.ram_mb)
    .bind(s.disk_gb)
    .bind(s.max_websites)
    .bind(s.max_email_accounts)
    .bind(Timestamp::now().0)
    .bind(code)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}
