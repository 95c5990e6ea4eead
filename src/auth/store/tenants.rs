//! Tenants: rows, details, the operator tenant, lists and pickers, the row lock.

use sqlx::{AnyPool, FromRow};

use crate::auth::model::{TenantKind, TenantScope};
use crate::db::filter::Where;
use crate::db::{Scoped, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct TenantRow {
    pub id: String,
    pub kind: TenantKind,
    pub name: String,
    pub slug: String,
    pub billing_email: String,
    pub country: String,
    pub region: String,
    pub currency: String,
    /// Offered BETA products in the catalog.
    pub beta: i64,
    /// Postal address as printed on invoices (several lines).
    pub address: String,
    pub tax_id: String,
    /// Days between an invoice's issue date and its due date.
    pub net_terms_days: i64,
    pub created_at: Timestamp,
}

impl TenantRow {
    /// The operator's own tenant (platform staff), not a customer.
    pub fn is_operator(&self) -> bool {
        self.kind == TenantKind::Operator
    }
}

pub struct NewTenant<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub name: &'a str,
    pub slug: &'a str,
    pub billing_email: &'a str,
    pub country: &'a str,
    pub region: &'a str,
    pub currency: &'a str,
}

pub async fn operator_tenant(tx: &mut Tx) -> sqlx::Result<Option<TenantRow>> {
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE kind = 'OPERATOR'"
    ))
    .fetch_optional(&mut **tx)
    .await
}

pub struct TenantDetails<'a> {
    pub name: &'a str,
    pub billing_email: &'a str,
    pub country: &'a str,
    pub region: &'a str,
    pub currency: &'a str,
    pub address: &'a str,
    pub tax_id: &'a str,
    pub net_terms_days: i64,
}

pub async fn update_tenant(tx: &mut Tx, id: &str, d: &TenantDetails<'_>) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE tenants SET name = $1, billing_email = $2, country = $3, region = $4, currency = $5, \
         address = $6, tax_id = $7, net_terms_days = $8, updated_at = $9 WHERE id = $10",
    )
    .bind(d.name)
    .bind(d.billing_email)
    .bind(d.country)
    .bind(d.region)
    .bind(d.currency)
    .bind(d.address)
    .bind(d.tax_id)
    .bind(d.net_terms_days)
    .bind(Timestamp::now().0)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

pub async fn operator_tenant_id(tx: &mut Tx) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
        .fetch_optional(&mut **tx)
        .await
}

pub async fn insert_tenant(tx: &mut Tx, t: &NewTenant<'_>) -> sqlx::Result<()> {
    let now = Timestamp::now();
    sqlx::query(
        "INSERT INTO tenants (id, kind, name, slug, billing_email, country, region, currency, \
         beta, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9)",
    )
    .bind(t.id)
    .bind(t.kind)
    .bind(t.name)
    .bind(t.slug)
    .bind(t.billing_email)
    .bind(t.country)
    .bind(t.region)
    .bind(t.currency)
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

const TENANT_COLUMNS: &str = "id, kind, name, slug, billing_email, country, region, currency, beta, address, tax_id, \
     net_terms_days, created_at";

/// One tenant in the scope (`TenantScope::All` for any); `ex` is `&db.pool` or `&mut *tx`.
pub async fn get_tenant<'e, E>(
    ex: E,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<TenantRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants WHERE id = $1{}",
        scope.and("id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

/// Tenants matching `search` in name or slug, newest first.
pub async fn list_tenants(
    pool: &AnyPool,
    search: &str,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<TenantRow>, i64)> {
    let mut w = Where::new();
    w.contains(&["name", "slug"], search);
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants {} \
         ORDER BY kind DESC, created_at DESC, id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM tenants {}", w.sql()))
        .bind_all(w.params())
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// Tenants matching `search`, newest first by `(created_at, id)`, after `after` (the API's
/// cursor paging).
pub async fn tenants_after(
    pool: &AnyPool,
    search: &str,
    after: Option<(i64, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<TenantRow>> {
    let mut w = Where::new();
    w.contains(&["name", "slug"], search)
        .keyset_desc("created_at", "id", after);
    let n = w.next();
    sqlx::query_as(&format!(
        "SELECT {TENANT_COLUMNS} FROM tenants {} ORDER BY created_at DESC, id DESC LIMIT ${n}",
        w.sql()
    ))
    .bind_all(w.params())
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// All tenants by name, for pickers (small: a hosting company has customers, not millions).
pub async fn tenant_choices(pool: &AnyPool) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT id, name FROM tenants ORDER BY kind DESC, name")
        .fetch_all(pool)
        .await
}

/// (id, name) of every customer tenant, for "which customer" selects.
pub async fn customer_tenant_choices(pool: &AnyPool) -> sqlx::Result<Vec<(String, String)>> {
    sqlx::query_as("SELECT id, name FROM tenants WHERE kind = 'CUSTOMER' ORDER BY name")
        .fetch_all(pool)
        .await
}

pub async fn set_tenant_beta(tx: &mut Tx, id: &str, beta: bool) -> sqlx::Result<u64> {
    sqlx::query("UPDATE tenants SET beta = $1, updated_at = $2 WHERE id = $3 AND kind = 'CUSTOMER'")
        .bind(i64::from(beta))
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

/// Locks the tenant's row until `tx` ends (PostgreSQL `FOR UPDATE`; a SQLite write
/// transaction already holds the database's only write lock).
pub async fn lock_tenant(tx: &mut Tx, tenant_id: &str) -> sqlx::Result<()> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant_id)
            .fetch_optional(&mut **tx)
            .await?;
    }
    Ok(())
}
