//! An invoice's state changes: drafts, issuing with a gapless number, money columns, void.
//! Each one moves the invoice's weight in the summaries in the same transaction.

use super::{InvoiceRow, adjust_summary, move_summary};
use crate::billing::invoices::model::InvoiceSource;
use crate::db::{Timestamp, Tx};

pub async fn insert_draft(
    tx: &mut Tx,
    id: &str,
    tenant_id: &str,
    currency: &str,
) -> sqlx::Result<()> {
    let now = Timestamp::now().0;
    sqlx::query(
        "INSERT INTO invoices (id, tenant_id, status, currency, created_at, updated_at) \
         VALUES ($1, $2, 'DRAFT', $3, $4, $4)",
    )
    .bind(id)
    .bind(tenant_id)
    .bind(currency)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    adjust_summary(tx, tenant_id, "DRAFT", currency, 1, 0, 0).await
}

/// A subscription's invoice, created as a draft and issued in the same transaction. The
/// unique key (subscription, period, reason) makes a second one for the same period fail.
pub struct SubscriptionDraft<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub currency: &'a str,
    pub subscription_id: &'a str,
    pub reason: &'a str,
    pub period_start: Option<Timestamp>,
    pub period_end: Option<Timestamp>,
    /// SUBSCRIPTION for a period's price, USAGE for metered usage.
    pub source: crate::billing::invoices::model::InvoiceSource,
}

pub async fn insert_subscription_draft(tx: &mut Tx, d: &SubscriptionDraft<'_>) -> sqlx::Result<()> {
    insert_linked_draft(tx, d, d.source).await
}

/// A subscription's adjustment (a late fee): source ADJUSTMENT whatever `d` says.
pub async fn insert_adjustment_draft(tx: &mut Tx, d: &SubscriptionDraft<'_>) -> sqlx::Result<()> {
    insert_linked_draft(tx, d, InvoiceSource::Adjustment).await
}

async fn insert_linked_draft(
    tx: &mut Tx,
    d: &SubscriptionDraft<'_>,
    source: InvoiceSource,
) -> sqlx::Result<()> {
    let now = Timestamp::now().0;
    sqlx::query(
        "INSERT INTO invoices (id, tenant_id, status, currency, source, subscription_id, \
         billing_reason, period_start, period_end, created_at, updated_at) \
         VALUES ($1, $2, 'DRAFT', $3, $9, $4, $5, $6, $7, $8, $8)",
    )
    .bind(d.id)
    .bind(d.tenant_id)
    .bind(d.currency)
    .bind(d.subscription_id)
    .bind(d.reason)
    .bind(d.period_start.map(|t| t.0))
    .bind(d.period_end.map(|t| t.0))
    .bind(now)
    .bind(source.as_str())
    .execute(&mut **tx)
    .await?;
    adjust_summary(tx, d.tenant_id, "DRAFT", d.currency, 1, 0, 0).await
}

/// Bumps the version of a draft (so a concurrent issue sees the change) and sets its totals.
pub async fn touch_draft(
    tx: &mut Tx,
    id: &str,
    version: i64,
    notes: Option<&str>,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE invoices SET version = version + 1, updated_at = $1, notes = COALESCE($2, notes) \
         WHERE id = $3 AND status = 'DRAFT' AND version = $4",
    )
    .bind(Timestamp::now().0)
    .bind(notes)
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

pub async fn delete_draft(tx: &mut Tx, inv: &InvoiceRow) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM invoice_lines WHERE invoice_id = $1")
        .bind(&inv.id)
        .execute(&mut **tx)
        .await?;
    let deleted =
        sqlx::query("DELETE FROM invoices WHERE id = $1 AND status = 'DRAFT' AND version = $2")
            .bind(&inv.id)
            .bind(inv.version)
            .execute(&mut **tx)
            .await?
            .rows_affected();
    if deleted == 1 {
        adjust_summary(tx, &inv.tenant_id, "DRAFT", &inv.currency, -1, 0, 0).await?;
    }
    Ok(deleted)
}

/// The next number of a tenant's yearly sequence. The counter row is incremented in the
/// caller's transaction: concurrent issuers queue on the row, and a rollback gives the number
/// back, so the sequence has no gaps and no duplicates.
pub async fn next_document_number(
    tx: &mut Tx,
    tenant_id: &str,
    year: i64,
    kind: &str,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "INSERT INTO document_counters (tenant_id, year, kind, last) VALUES ($1, $2, $3, 1) \
         ON CONFLICT (tenant_id, year, kind) DO UPDATE SET last = document_counters.last + 1 \
         RETURNING last",
    )
    .bind(tenant_id)
    .bind(year)
    .bind(kind)
    .fetch_one(&mut **tx)
    .await
}

pub struct Issue<'a> {
    pub inv: &'a InvoiceRow,
    pub number: &'a str,
    pub issue_date: &'a str,
    pub due_date: &'a str,
    pub tax_name: &'a str,
    pub tax_rate: &'a str,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    pub buyer: &'a str,
    pub seller: &'a str,
}

/// DRAFT → ISSUED, only if the draft is unchanged since it was read.
pub async fn mark_issued(tx: &mut Tx, i: &Issue<'_>, status: &str) -> sqlx::Result<u64> {
    let updated = sqlx::query(
        "UPDATE invoices SET status = $1, number = $2, issue_date = $3, due_date = $4, tax_name = $5, \
         tax_rate = $6, subtotal_minor = $7, discount_minor = $8, tax_minor = $9, total_minor = $10, \
         due_minor = $10, buyer_snapshot = $11, seller_snapshot = $12, version = version + 1, updated_at = $13 \
         WHERE id = $14 AND status = 'DRAFT' AND version = $15",
    )
    .bind(status)
    .bind(i.number)
    .bind(i.issue_date)
    .bind(i.due_date)
    .bind(i.tax_name)
    .bind(i.tax_rate)
    .bind(i.subtotal)
    .bind(i.discount)
    .bind(i.tax)
    .bind(i.total)
    .bind(i.buyer)
    .bind(i.seller)
    .bind(Timestamp::now().0)
    .bind(&i.inv.id)
    .bind(i.inv.version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 1 {
        move_summary(tx, i.inv, status, i.total, i.total).await?;
    }
    Ok(updated)
}

pub struct Amounts {
    pub paid: i64,
    pub refunded: i64,
    pub credited: i64,
    pub due: i64,
}

/// Moves an issued invoice's money columns and status, only from the state that was read.
pub async fn set_amounts(
    tx: &mut Tx,
    inv: &InvoiceRow,
    to_status: &str,
    a: &Amounts,
) -> sqlx::Result<u64> {
    let updated = sqlx::query(
        "UPDATE invoices SET status = $1, paid_minor = $2, refunded_minor = $3, credited_minor = $4, \
         due_minor = $5, version = version + 1, updated_at = $6 \
         WHERE id = $7 AND status = $8 AND version = $9",
    )
    .bind(to_status)
    .bind(a.paid)
    .bind(a.refunded)
    .bind(a.credited)
    .bind(a.due)
    .bind(Timestamp::now().0)
    .bind(&inv.id)
    .bind(inv.status.as_str())
    .bind(inv.version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 1 {
        move_summary(tx, inv, to_status, inv.total_minor, a.due).await?;
    }
    Ok(updated)
}

pub async fn mark_void(tx: &mut Tx, inv: &InvoiceRow) -> sqlx::Result<u64> {
    let updated = sqlx::query(
        "UPDATE invoices SET status = 'VOID', due_minor = 0, version = version + 1, updated_at = $1 \
         WHERE id = $2 AND status = 'ISSUED' AND version = $3",
    )
    .bind(Timestamp::now().0)
    .bind(&inv.id)
    .bind(inv.version)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if updated == 1 {
        move_summary(tx, inv, "VOID", inv.total_minor, 0).await?;
    }
    Ok(updated)
}
