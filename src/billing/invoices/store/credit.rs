//! The account credit ledger (append-only, per tenant and currency) and disputes flagged on
//! invoices.

use sqlx::FromRow;

use crate::db::scope::Scoped;
use crate::db::{Backend, TenantScope, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct CreditEntry {
    pub id: String,
    pub tenant_id: String,
    pub currency: String,
    pub amount_minor: i64,
    pub kind: String,
    pub invoice_id: String,
    pub payment_id: Option<String>,
    pub note: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

pub async fn insert_credit(tx: &mut Tx, e: &CreditEntry) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO account_credit (id, tenant_id, currency, amount_minor, kind, invoice_id, payment_id, note, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&e.id)
    .bind(&e.tenant_id)
    .bind(&e.currency)
    .bind(e.amount_minor)
    .bind(&e.kind)
    .bind(&e.invoice_id)
    .bind(e.payment_id.as_deref())
    .bind(&e.note)
    .bind(&e.created_by)
    .bind(e.created_at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Holds the tenant's row for the rest of the transaction (PostgreSQL), so two invoices
/// issued at once cannot both spend the same credit; SQLite's write transaction already does.
pub async fn lock_credit(tx: &mut Tx, backend: Backend, tenant_id: &str) -> sqlx::Result<()> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT id FROM tenants WHERE id = $1 FOR UPDATE")
            .bind(tenant_id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// The tenant's credit balance in `currency` (0 without entries).
pub async fn credit_balance<'e, E>(ex: E, tenant_id: &str, currency: &str) -> sqlx::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM account_credit WHERE tenant_id = $1 AND currency = $2",
    )
    .bind(tenant_id)
    .bind(currency)
    .fetch_one(ex)
    .await
}

/// Balances per currency of the tenants in `scope` (non-zero only), for a tenant page.
pub async fn credit_balances<'e, E>(
    ex: E,
    scope: &TenantScope,
    tenant_id: &str,
) -> sqlx::Result<Vec<(String, i64)>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT c.currency, CAST(SUM(c.amount_minor) AS BIGINT) FROM account_credit c \
         WHERE c.tenant_id = $1{} GROUP BY c.currency HAVING SUM(c.amount_minor) <> 0 ORDER BY c.currency",
        scope.and("c.tenant_id", 2)
    ))
    .bind(tenant_id)
    .scoped(scope)
    .fetch_all(ex)
    .await
}

/// The ledger of one tenant (newest first, at most `limit`).
pub async fn credit_entries<'e, E>(
    ex: E,
    scope: &TenantScope,
    tenant_id: &str,
    limit: i64,
) -> sqlx::Result<Vec<CreditEntry>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT c.id, c.tenant_id, c.currency, c.amount_minor, c.kind, c.invoice_id, c.payment_id, c.note, c.created_by, c.created_at \
         FROM account_credit c WHERE c.tenant_id = $1{} ORDER BY c.created_at DESC, c.id DESC LIMIT {limit}",
        scope.and("c.tenant_id", 2)
    ))
    .bind(tenant_id)
    .scoped(scope)
    .fetch_all(ex)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct DisputeRow {
    pub id: String,
    pub invoice_id: String,
    pub gateway: String,
    pub dispute_ref: String,
    pub payment_ref: String,
    pub amount_minor: i64,
    pub reason: String,
    pub created_at: Timestamp,
}

/// Records a dispute once per (gateway, dispute reference); false when it was known.
pub async fn insert_dispute(tx: &mut Tx, d: &DisputeRow) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO invoice_disputes (id, invoice_id, gateway, dispute_ref, payment_ref, amount_minor, reason, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (gateway, dispute_ref) DO NOTHING",
    )
    .bind(&d.id)
    .bind(&d.invoice_id)
    .bind(&d.gateway)
    .bind(&d.dispute_ref)
    .bind(&d.payment_ref)
    .bind(d.amount_minor)
    .bind(&d.reason)
    .bind(d.created_at.0)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn disputes<'e, E>(ex: E, invoice_id: &str) -> sqlx::Result<Vec<DisputeRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(
        "SELECT id, invoice_id, gateway, dispute_ref, payment_ref, amount_minor, reason, created_at \
         FROM invoice_disputes WHERE invoice_id = $1 ORDER BY created_at, id",
    )
    .bind(invoice_id)
    .fetch_all(ex)
    .await
}
