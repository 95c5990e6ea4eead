//! Reading payments across invoices: the payments list (`/billing/payments`) and the
//! dashboard's money figures, which are sums of exactly that list.
//!
//! Only successful payments and refunds count: a failed payment moved no money. Days are the
//! `paid_on` date people entered (when the money moved), compared as `YYYY-MM-DD` text.

use sqlx::{AnyPool, FromRow};

use crate::billing::invoices::model::PaymentKind;
use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope};

#[derive(Clone, Debug, FromRow)]
pub struct PaymentListRow {
    pub id: String,
    pub invoice_id: String,
    pub invoice_number: Option<String>,
    pub tenant_name: String,
    pub currency: String,
    pub kind: PaymentKind,
    pub amount_minor: i64,
    pub method: String,
    pub reference: String,
    pub paid_on: String,
}

/// Per currency: how many payments and refunds, the money received and refunded.
#[derive(Clone, Debug, FromRow)]
pub struct PaymentSum {
    pub currency: String,
    pub count: i64,
    pub received_minor: i64,
    pub refunded_minor: i64,
}

impl PaymentSum {
    /// Received less refunded.
    pub fn net_minor(&self) -> i64 {
        self.received_minor - self.refunded_minor
    }
}

#[derive(Clone, Copy)]
pub struct PaymentFilter<'a> {
    /// `YYYY-MM-DD` bounds on `paid_on`, inclusive ("" = open).
    pub from: &'a str,
    pub until: &'a str,
    pub tenant_id: &'a str,
}

fn payment_where(scope: &TenantScope, f: &PaymentFilter<'_>) -> Where {
    let mut w = Where::new();
    w.scope("i.tenant_id", scope)
        .eq("i.tenant_id", f.tenant_id)
        .raw("p.status = 'SUCCESS'");
    if !f.from.is_empty() {
        w.at_least("p.paid_on", f.from);
    }
    if !f.until.is_empty() {
        w.at_most("p.paid_on", f.until);
    }
    w
}

/// Successful payments and refunds in the filter, newest day first, and their sums per currency.
pub async fn list_payments(
    pool: &AnyPool,
    scope: &TenantScope,
    f: &PaymentFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<PaymentListRow>, Vec<PaymentSum>)> {
    let w = payment_where(scope, f);
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT p.id, p.invoice_id, i.number AS invoice_number, t.name AS tenant_name, \
         i.currency, p.kind, p.amount_minor, p.method, p.reference, p.paid_on \
         FROM payments p JOIN invoices i ON i.id = p.invoice_id JOIN tenants t ON t.id = i.tenant_id \
         {} ORDER BY p.paid_on DESC, p.created_at DESC, p.id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    Ok((rows, payment_sums(pool, scope, f).await?))
}

/// The sums of [`list_payments`] alone (the dashboard's figures).
pub async fn payment_sums(
    pool: &AnyPool,
    scope: &TenantScope,
    f: &PaymentFilter<'_>,
) -> sqlx::Result<Vec<PaymentSum>> {
    let w = payment_where(scope, f);
    sqlx::query_as(&format!(
        "SELECT i.currency, CAST(COUNT(*) AS BIGINT) AS count, \
         CAST(COALESCE(SUM(CASE WHEN p.kind = 'PAYMENT' THEN p.amount_minor ELSE 0 END), 0) AS BIGINT) AS received_minor, \
         CAST(COALESCE(SUM(CASE WHEN p.kind = 'REFUND' THEN p.amount_minor ELSE 0 END), 0) AS BIGINT) AS refunded_minor \
         FROM payments p JOIN invoices i ON i.id = p.invoice_id {} \
         GROUP BY i.currency ORDER BY i.currency",
        w.sql()
    ))
    .bind_all(w.params())
    .fetch_all(pool)
    .await
}
