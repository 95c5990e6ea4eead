//! SQL for the periods: which subscriptions a bill run has work on, rolling a period over,
//! the invoice that bills a period, and why a subscription is suspended.

use sqlx::{AnyPool, FromRow};

use crate::db::{Timestamp, Tx};
use crate::subscriptions::model::SuspendReason;

/// Subscriptions whose next period is not invoiced yet and starts by `until`, in
/// (start, id) order after `after`: the bill run's renewal work list.
pub async fn renewal_work(
    pool: &AnyPool,
    until: Timestamp,
    after: Option<(Timestamp, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<(Timestamp, String)>> {
    let (at, id) = after.map_or((i64::MIN, ""), |(t, id)| (t.0, id));
    sqlx::query_as(
        "SELECT next_bill_at, id FROM subscriptions \
         WHERE next_bill_at <= $1 AND status IN ('ACTIVE', 'SUSPENDED') AND auto_renew = 1 \
         AND (next_bill_at > $2 OR (next_bill_at = $2 AND id > $3)) \
         ORDER BY next_bill_at, id LIMIT $4",
    )
    .bind(until.0)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Live subscriptions whose current period has ended by `now`, in (end, id) order after
/// `after`: the bill run's roll-over work list.
pub async fn period_end_work(
    pool: &AnyPool,
    now: Timestamp,
    after: Option<(Timestamp, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<(Timestamp, String)>> {
    let (end, id) = after.map_or((i64::MIN, ""), |(t, id)| (t.0, id));
    sqlx::query_as(
        "SELECT current_period_end, id FROM subscriptions \
         WHERE current_period_end <= $1 \
         AND status IN ('ACTIVE', 'SUSPENDED', 'CANCEL_AT_PERIOD_END') \
         AND (current_period_end > $2 OR (current_period_end = $2 AND id > $3)) \
         ORDER BY current_period_end, id LIMIT $4",
    )
    .bind(now.0)
    .bind(end)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The next period's invoice is issued: the subscription leaves the renewal work list.
pub async fn mark_billed(tx: &mut Tx, id: &str) -> sqlx::Result<u64> {
    sqlx::query("UPDATE subscriptions SET next_bill_at = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

/// Orders still waiting for their first payment past their expiry instant, in (expiry, id)
/// order after `after`.
pub async fn expired_orders(
    pool: &AnyPool,
    now: Timestamp,
    after: Option<(Timestamp, &str)>,
    limit: i64,
) -> sqlx::Result<Vec<(Timestamp, String)>> {
    let (at, id) = after.map_or((i64::MIN, ""), |(t, id)| (t.0, id));
    sqlx::query_as(
        "SELECT expires_at, id FROM subscriptions WHERE status = 'PENDING_ACTIVATION' \
         AND expires_at IS NOT NULL AND expires_at <= $1 \
         AND (expires_at > $2 OR (expires_at = $2 AND id > $3)) \
         ORDER BY expires_at, id LIMIT $4",
    )
    .bind(now.0)
    .bind(at)
    .bind(id)
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// Moves the subscription from period `from` to period `from + 1`, `[start, end)`; switches
/// to a pending plan (downgrade) at the same time. 0 rows when it moved meanwhile.
pub async fn roll(
    tx: &mut Tx,
    id: &str,
    from: i64,
    (start, end): (Timestamp, Timestamp),
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE subscriptions SET current_period_start = $1, current_period_end = $2, \
         period_number = period_number + 1, next_bill_at = $2, \
         product_id = COALESCE(pending_product_id, product_id), pending_product_id = NULL, \
         updated_at = $3 WHERE id = $4 AND period_number = $5",
    )
    .bind(start.0)
    .bind(end.0)
    .bind(Timestamp::now().0)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// The invoice that bills the subscription's period `[start, end)` for `reason`, if issued.
pub async fn period_invoice(
    tx: &mut Tx,
    subscription_id: &str,
    reason: &str,
    (start, end): (Timestamp, Timestamp),
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT id FROM invoices WHERE subscription_id = $1 AND billing_reason = $2 \
         AND period_start = $3 AND period_end = $4",
    )
    .bind(subscription_id)
    .bind(reason)
    .bind(start.0)
    .bind(end.0)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn set_suspend_reason(tx: &mut Tx, id: &str, reason: SuspendReason) -> sqlx::Result<u64> {
    sqlx::query("UPDATE subscriptions SET suspend_reason = $1, updated_at = $2 WHERE id = $3")
        .bind(reason.as_str())
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

/// Live subscriptions whose current period has no invoice though it should have one: the
/// period is paid for (not the trial), costs something, and no invoice bills it (the order's
/// first invoice bills period 0). Rows: (id, tenant name, product name, period start, end).
pub async fn unbilled_current_periods(
    pool: &AnyPool,
    limit: i64,
) -> sqlx::Result<Vec<(String, String, String, Timestamp, Timestamp)>> {
    sqlx::query_as(
        "SELECT s.id, t.name, p.name, s.current_period_start, s.current_period_end \
         FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id \
         JOIN products p ON p.id = s.product_id \
         WHERE s.status IN ('ACTIVE', 'SUSPENDED', 'CANCEL_AT_PERIOD_END') \
         AND s.current_period_start IS NOT NULL AND s.period_number >= 0 \
         AND (SELECT COALESCE(SUM(i.quantity * i.unit_price_minor), 0) \
              FROM subscription_items i WHERE i.subscription_id = s.id) > 0 \
         AND NOT EXISTS (SELECT 1 FROM invoices v WHERE v.subscription_id = s.id \
              AND v.status <> 'DRAFT' AND ((s.period_number = 0 AND v.billing_reason = 'FIRST') \
              OR (v.billing_reason = 'RENEWAL' AND v.period_start = s.current_period_start \
                  AND v.period_end = s.current_period_end))) \
         ORDER BY s.current_period_end, s.id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await
}

/// The order no longer expires (part of its first invoice was paid).
pub async fn clear_expiry(tx: &mut Tx, id: &str) -> sqlx::Result<u64> {
    sqlx::query("UPDATE subscriptions SET expires_at = NULL, updated_at = $1 WHERE id = $2")
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

/// An invoice's number, total and currency.
pub async fn invoice_summary(
    tx: &mut Tx,
    invoice_id: &str,
) -> sqlx::Result<Option<(Option<String>, i64, String)>> {
    sqlx::query_as("SELECT number, total_minor, currency FROM invoices WHERE id = $1")
        .bind(invoice_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Live subscriptions whose period has ended without a new one starting (the bill run is
/// behind, or a renewal failed).
pub async fn count_lagging(pool: &AnyPool, now: Timestamp) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscriptions WHERE current_period_end <= $1 \
         AND status IN ('ACTIVE', 'SUSPENDED', 'CANCEL_AT_PERIOD_END')",
    )
    .bind(now.0)
    .fetch_one(pool)
    .await
}

/// An unpaid invoice of a subscription past its due date.
#[derive(Clone, Debug, FromRow)]
pub struct OverdueInvoice {
    pub id: String,
    pub number: Option<String>,
    pub due_date: String,
    pub due_minor: i64,
    pub currency: String,
}

impl OverdueInvoice {
    pub fn label(&self) -> &str {
        self.number.as_deref().unwrap_or("")
    }
    pub fn amount(&self) -> String {
        crate::billing::money::format_money(self.due_minor, &self.currency)
    }
}

/// The subscription's issued invoices with something due and a due date before `today`.
pub async fn overdue_invoices<'e, E: sqlx::Executor<'e, Database = sqlx::Any>>(
    ex: E,
    subscription_id: &str,
    today: time::Date,
) -> sqlx::Result<Vec<OverdueInvoice>> {
    sqlx::query_as(
        "SELECT id, number, due_date, due_minor, currency FROM invoices \
         WHERE subscription_id = $1 AND status = 'ISSUED' AND due_minor > 0 \
         AND due_date <> '' AND due_date < $2 ORDER BY due_date, id",
    )
    .bind(subscription_id)
    .bind(today.to_string())
    .fetch_all(ex)
    .await
}
