//! SQL for plan changes: the upgrade waiting for its invoice, the downgrade waiting for the
//! next period, and switching a subscription (and its item) to another product.

use crate::db::{Timestamp, Tx};

/// The plan-change invoice of the subscription still waiting for payment: (id, number).
pub async fn open_plan_change(
    tx: &mut Tx,
    subscription_id: &str,
    reason: &str,
) -> sqlx::Result<Option<(String, Option<String>)>> {
    sqlx::query_as(
        "SELECT id, number FROM invoices WHERE subscription_id = $1 AND billing_reason = $2 \
         AND status = 'ISSUED' ORDER BY created_at DESC, id DESC LIMIT 1",
    )
    .bind(subscription_id)
    .bind(reason)
    .fetch_optional(&mut **tx)
    .await
}

/// An invoice's billing reason ('' for one no subscription caused).
pub async fn invoice_reason(tx: &mut Tx, invoice_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT billing_reason FROM invoices WHERE id = $1")
        .bind(invoice_id)
        .fetch_optional(&mut **tx)
        .await
}

/// The product a plan-change invoice charges for: its item line with a positive amount for
/// another product than `current`.
pub async fn charged_product(
    tx: &mut Tx,
    invoice_id: &str,
    current: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT product_id FROM invoice_lines WHERE invoice_id = $1 AND kind = 'ITEM' \
         AND amount_minor > 0 AND product_id IS NOT NULL AND product_id <> $2 \
         ORDER BY position, id LIMIT 1",
    )
    .bind(invoice_id)
    .bind(current)
    .fetch_optional(&mut **tx)
    .await
}

/// The unit price an invoice billed `product_id` at, if it has a line for it.
pub async fn billed_unit_price(
    tx: &mut Tx,
    invoice_id: &str,
    product_id: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "SELECT unit_price_minor FROM invoice_lines WHERE invoice_id = $1 AND kind = 'ITEM' \
         AND product_id = $2 ORDER BY position, id LIMIT 1",
    )
    .bind(invoice_id)
    .bind(product_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Schedules (or clears, with `None`) the product the next period switches to.
pub async fn set_pending_product(
    tx: &mut Tx,
    id: &str,
    product_id: Option<&str>,
) -> sqlx::Result<u64> {
    sqlx::query("UPDATE subscriptions SET pending_product_id = $1, updated_at = $2 WHERE id = $3")
        .bind(product_id)
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

/// Switches the subscription from product `from` to `to`: the subscription's product and its
/// item for `from`, now billed at `unit_price_minor`. 0 rows when it moved meanwhile.
pub async fn switch_product(
    tx: &mut Tx,
    id: &str,
    from: &str,
    to: &str,
    unit_price_minor: i64,
) -> sqlx::Result<u64> {
    let n = sqlx::query(
        "UPDATE subscriptions SET product_id = $1, updated_at = $2 \
         WHERE id = $3 AND product_id = $4",
    )
    .bind(to)
    .bind(Timestamp::now().0)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    switch_item(tx, id, from, to, unit_price_minor).await?;
    Ok(n)
}

/// The subscription's item for product `from` becomes `to` at `unit_price_minor`.
pub async fn switch_item(
    tx: &mut Tx,
    id: &str,
    from: &str,
    to: &str,
    unit_price_minor: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE subscription_items SET product_id = $1, unit_price_minor = $2 \
         WHERE subscription_id = $3 AND product_id = $4",
    )
    .bind(to)
    .bind(unit_price_minor)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Renewal invoices of the subscription issued after invoice `after` for a period ending
/// after `since`, with the unit price they billed `product_id` at:
/// (id, period start, period end, unit price).
pub async fn renewals_after(
    tx: &mut Tx,
    subscription_id: &str,
    after: &str,
    since: Timestamp,
    product_id: &str,
) -> sqlx::Result<Vec<(String, Timestamp, Timestamp, i64)>> {
    sqlx::query_as(
        "SELECT v.id, v.period_start, v.period_end, l.unit_price_minor FROM invoices v \
         JOIN invoice_lines l ON l.invoice_id = v.id \
         WHERE v.subscription_id = $1 AND v.billing_reason = 'RENEWAL' AND v.status <> 'VOID' \
         AND v.created_at > (SELECT a.created_at FROM invoices a WHERE a.id = $2) \
         AND v.period_end > $3 AND l.kind = 'ITEM' AND l.product_id = $4 \
         ORDER BY v.period_start, v.id",
    )
    .bind(subscription_id)
    .bind(after)
    .bind(since.0)
    .bind(product_id)
    .fetch_all(&mut **tx)
    .await
}
