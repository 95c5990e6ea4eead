//! SQL for invoices, lines, payments, credit notes, tax rules and document counters.
//! Invoice reads take a [`TenantScope`]; customers also never see drafts (`hide_drafts`).
//!
//! Split by responsibility: `reads` (one invoice, filtered lists and sums), `lifecycle`
//! (drafts, issuing, amounts, void), `lines`, `payments`, `credit_notes`, `tax_rules`.
//! The invoice row, its SELECT and the summary bookkeeping they share stay here.

pub mod batch;
mod credit;
mod credit_notes;
mod lifecycle;
mod lines;
mod payment_list;
mod payments;
mod reads;
mod tax_rules;

pub use credit::{
    CreditEntry, DisputeRow, credit_balance, credit_balances, credit_entries, disputes,
    insert_credit, insert_dispute, lock_credit,
};
pub use credit_notes::{CreditNoteRow, credit_notes, insert_credit_note};
pub use lifecycle::{
    Amounts, Issue, SubscriptionDraft, delete_draft, insert_adjustment_draft, insert_draft,
    insert_subscription_draft, mark_issued, mark_void, next_document_number, set_amounts,
    touch_draft,
};
pub use lines::{LineRow, delete_line, insert_line, lines};
pub use payment_list::{PaymentFilter, PaymentListRow, PaymentSum, list_payments, payment_sums};
pub use payments::{PaymentRow, insert_payment, payment_by_key, payment_by_reference, payments};
pub use reads::{
    CurrencySum, InvoiceFilter, get_invoice, issuable_draft_ids, list_invoices, lock_invoice,
};
pub use tax_rules::{TaxRuleRow, delete_tax_rule, insert_tax_rule, tax_rule_for, tax_rules};

use sqlx::FromRow;

use super::model::{InvoiceSource, InvoiceStatus};
use crate::db::{TenantScope, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct InvoiceRow {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub status: InvoiceStatus,
    pub number: Option<String>,
    pub currency: String,
    pub issue_date: String,
    pub due_date: String,
    pub tax_name: String,
    pub tax_rate: String,
    pub subtotal_minor: i64,
    pub discount_minor: i64,
    pub tax_minor: i64,
    pub total_minor: i64,
    pub paid_minor: i64,
    pub refunded_minor: i64,
    pub credited_minor: i64,
    pub due_minor: i64,
    pub buyer_snapshot: String,
    pub seller_snapshot: String,
    pub notes: String,
    pub version: i64,
    pub created_at: Timestamp,
    pub source: InvoiceSource,
    /// The subscription this invoice bills, and why (`FIRST`, …).
    pub subscription_id: Option<String>,
    pub billing_reason: String,
}

pub(super) const INVOICE_SELECT: &str = "SELECT i.id, i.tenant_id, t.name AS tenant_name, i.status, i.number, \
     i.currency, i.issue_date, i.due_date, i.tax_name, i.tax_rate, i.subtotal_minor, \
     i.discount_minor, i.tax_minor, i.total_minor, i.paid_minor, i.refunded_minor, \
     i.credited_minor, i.due_minor, i.buyer_snapshot, i.seller_snapshot, i.notes, i.version, \
     i.created_at, i.source, i.subscription_id, i.billing_reason FROM invoices i JOIN tenants t ON t.id = i.tenant_id";

/// Who may see which invoices: the tenant scope, and whether drafts are hidden (customers).
pub struct Visibility<'a> {
    pub scope: &'a TenantScope,
    pub hide_drafts: bool,
}

/// Adds to the summary row of (tenant, status, currency); called by every function here that
/// creates, deletes or moves an invoice, inside the same transaction.
pub(super) async fn adjust_summary(
    tx: &mut Tx,
    tenant_id: &str,
    status: &str,
    currency: &str,
    count: i64,
    total: i64,
    due: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO invoice_summaries (tenant_id, status, currency, count, total_minor, due_minor) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, status, currency) DO UPDATE SET \
         count = invoice_summaries.count + excluded.count, \
         total_minor = invoice_summaries.total_minor + excluded.total_minor, \
         due_minor = invoice_summaries.due_minor + excluded.due_minor",
    )
    .bind(tenant_id)
    .bind(status)
    .bind(currency)
    .bind(count)
    .bind(total)
    .bind(due)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Moves one invoice's weight in the summaries from its old state to its new one.
pub(super) async fn move_summary(
    tx: &mut Tx,
    inv: &InvoiceRow,
    to_status: &str,
    to_total: i64,
    to_due: i64,
) -> sqlx::Result<()> {
    adjust_summary(
        tx,
        &inv.tenant_id,
        inv.status.as_str(),
        &inv.currency,
        -1,
        -inv.total_minor,
        -inv.due_minor,
    )
    .await?;
    adjust_summary(
        tx,
        &inv.tenant_id,
        to_status,
        &inv.currency,
        1,
        to_total,
        to_due,
    )
    .await
}
