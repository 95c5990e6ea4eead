//! Products: rows, edits, status changes, the staff list and the public catalog.

use sqlx::{AnyPool, FromRow};

use super::super::model::{
    BillingModel, Category, ProductStatus, TaxCategory, TierMode, Visibility,
};
use crate::db::filter::Where;
use crate::db::{Backend, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct ProductRow {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
    pub category: Category,
    pub billing_model: BillingModel,
    pub status: ProductStatus,
    pub visibility: Visibility,
    pub tax_category: TaxCategory,
    pub unit_name: String,
    pub tier_mode: TierMode,
    pub stripe_price_id: String,
    pub whmcs_product_id: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// A subscription to it starts with this many free days (0: none).
    pub trial_days: i64,
}

const PRODUCT_COLUMNS: &str = "id, code, name, description, category, billing_model, status, \
     visibility, tax_category, unit_name, tier_mode, stripe_price_id, whmcs_product_id, \
     created_at, updated_at, trial_days";

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
    pub trial_days: i64,
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
         trial_days, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15)",
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
    .bind(f.trial_days)
    .bind(now)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn update_product(tx: &mut Tx, id: &str, f: &ProductFields<'_>) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE products SET code = $1, name = $2, description = $3, category = $4, \
         billing_model = $5, visibility = $6, tax_category = $7, unit_name = $8, \
         tier_mode = $9, stripe_price_id = $10, whmcs_product_id = $11, updated_at = $12, \
         trial_days = $13 WHERE id = $14",
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
    .bind(f.trial_days)
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

/// Active products as (id, "Name (CODE)") for a pick list, by name (at most 500).
pub async fn active_product_choices(pool: &AnyPool) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as(
        "SELECT id, name || ' (' || code || ')' FROM products WHERE status = 'ACTIVE' \
         ORDER BY name LIMIT 500",
    )
    .fetch_all(pool)
    .await
}

pub async fn get_product(pool: &AnyPool, id: &str) -> sqlx::Result<Option<ProductRow>> {
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn product_by_code<'e, E>(ex: E, code: &str) -> sqlx::Result<Option<ProductRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE code = $1"
    ))
    .bind(code)
    .fetch_optional(ex)
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
    let lock = backend.row_lock(None);
    sqlx::query_as(&format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

#[derive(Default)]
pub struct ProductFilter<'a> {
    pub search: &'a str,
    pub category: &'a str,
    pub status: &'a str,
    pub visibility: &'a str,
    /// Keyset paging (the API's cursor, with sort `created`): products after this
    /// `(created_at, id)`, newest first.
    pub after: Option<(i64, &'a str)>,
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
        .eq("visibility", f.visibility)
        .keyset_desc("created_at", "id", f.after);
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
