//! A late fee on a subscription's overdue invoice, issued as an invoice of its own.

use super::issuing::{IssueCache, Issued, issue_locked};
use crate::audit;
use crate::billing::invoices::model;
use crate::billing::invoices::store::{self, LineRow};
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::web::{AppError, AppResult};

/// A late fee on a subscription's overdue invoice. An issued invoice is frozen, so the fee is
/// an invoice of its own.
pub struct LateFeeInvoice<'a> {
    pub tenant_id: &'a str,
    pub currency: &'a str,
    pub subscription_id: &'a str,
    /// The overdue invoice's period: with the reason, the unique key allows one fee per
    /// period's invoice.
    pub period: Option<(Timestamp, Timestamp)>,
    pub reason: &'a str,
    pub description: String,
    pub amount_minor: i64,
    pub issued_on: time::Date,
}

/// Creates and issues a late fee's invoice (source ADJUSTMENT, one line without a product)
/// inside the caller's transaction; mailed and audited like any issued invoice.
pub async fn issue_late_fee_in<'a>(
    tx: &mut Tx,
    db: &Db,
    who: impl Into<audit::AuditActor<'a>>,
    fee: &LateFeeInvoice<'_>,
) -> AppResult<(String, Issued)> {
    let id = new_id();
    store::insert_adjustment_draft(
        tx,
        &store::SubscriptionDraft {
            id: &id,
            tenant_id: fee.tenant_id,
            currency: fee.currency,
            subscription_id: fee.subscription_id,
            reason: fee.reason,
            period_start: fee.period.map(|p| p.0),
            period_end: fee.period.map(|p| p.1),
            source: crate::billing::invoices::model::InvoiceSource::Adjustment,
        },
    )
    .await?;
    store::insert_line(
        tx,
        &LineRow {
            id: new_id(),
            invoice_id: id.clone(),
            position: 0,
            kind: model::LineKind::Item,
            description: fee.description.clone(),
            quantity: "1".into(),
            unit_price_minor: fee.amount_minor,
            amount_minor: fee.amount_minor,
            product_id: None,
        },
    )
    .await?;
    let inv = store::lock_invoice(tx, db.backend, &crate::db::TenantScope::All, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let issued = issue_locked(
        tx,
        who.into(),
        inv,
        &mut IssueCache::default(),
        fee.issued_on,
    )
    .await?;
    Ok((id, issued))
}
