//! SQL for dunning: the unpaid invoices it looks at, and its steps done once per invoice.

use sqlx::{AnyPool, FromRow};

use crate::db::{Timestamp, Tx};

/// An issued invoice with something due, as dunning reads it.
#[derive(Clone, Debug, FromRow)]
pub struct DunningRow {
    pub id: String,
    pub tenant_id: String,
    pub number: Option<String>,
    pub issue_date: String,
    pub due_date: String,
    pub due_minor: i64,
    pub total_minor: i64,
    pub currency: String,
    pub subscription_id: Option<String>,
    pub billing_reason: String,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
}

/// Issued invoices with something due on or before `until` (YYYY-MM-DD), in (due date, id)
/// order after `after`, a page at a time. An order's invoice still waiting for its
/// activation is left to the order's expiry.
pub async fn work(
    pool: &AnyPool,
    until: &str,
    after: Option<(&str, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<DunningRow>> {
    let (after_date, after_id) = after.unwrap_or(("", ""));
    sqlx::query_as(
        "SELECT i.id, i.tenant_id, i.number, i.issue_date, i.due_date, i.due_minor, \
         i.total_minor, i.currency, i.subscription_id, i.billing_reason, i.period_start, \
         i.period_end FROM invoices i LEFT JOIN subscriptions s ON s.id = i.subscription_id \
         WHERE i.status = 'ISSUED' AND i.due_minor > 0 AND i.due_date <> '' \
         AND i.due_date <= $1 \
         AND (s.id IS NULL OR s.status NOT IN ('PENDING_ACTIVATION', 'ACTIVATION_FAILED', 'EXPIRED')) \
         AND (i.due_date > $2 OR (i.due_date = $2 AND i.id > $3)) \
         ORDER BY i.due_date, i.id LIMIT $4",
    )
    .bind(until)
    .bind(after_date)
    .bind(after_id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The steps already done on an invoice.
pub async fn done(pool: &AnyPool, invoice_id: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT step FROM dunning_steps WHERE invoice_id = $1")
        .bind(invoice_id)
        .fetch_all(pool)
        .await
}

/// Claims a step for this transaction: 1 when it is ours to do, 0 when another worker or an
/// earlier run did it (the primary key; on PostgreSQL a concurrent claim waits for ours).
pub async fn claim(tx: &mut Tx, invoice_id: &str, step: &str, now: Timestamp) -> sqlx::Result<u64> {
    sqlx::query(
        "INSERT INTO dunning_steps (invoice_id, step, done_at) VALUES ($1, $2, $3) \
         ON CONFLICT (invoice_id, step) DO NOTHING",
    )
    .bind(invoice_id)
    .bind(step)
    .bind(now.0)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Whether the invoice still has something due (read in the step's transaction).
pub async fn still_due(tx: &mut Tx, invoice_id: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invoices WHERE id = $1 AND status = 'ISSUED' AND due_minor > 0",
    )
    .bind(invoice_id)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// A subscription's issued invoices on which nothing was paid (voided when it is cancelled
/// for not paying).
pub async fn unpaid_of_subscription(
    tx: &mut Tx,
    subscription_id: &str,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT id FROM invoices WHERE subscription_id = $1 AND status = 'ISSUED' \
         ORDER BY created_at, id",
    )
    .bind(subscription_id)
    .fetch_all(&mut **tx)
    .await
}
