//! Invoice actions. Staff BILLING+ create drafts, issue and record payments; staff ADMIN+
//! refund, void and credit; a customer's BILLING+ members read their own tenant's issued
//! invoices. Every state change is one conditional UPDATE: if the invoice changed underneath,
//! nothing happens and the person is told so.

mod corrections;
mod credit;
mod drafts;
pub mod gateway;
mod issuing;
mod issuing_batch;
pub use issuing_batch::issue_many_for_subscriptions;
mod late_fee;
mod mail;
pub use mail::{INVOICE_MAIL_KIND, invoice_mail};
mod payments;
pub mod reads;
mod tax_rules;

pub use late_fee::{LateFeeInvoice, issue_late_fee_in};

pub use corrections::{
    CreditInput, close_unpaid_in, credit, credit_unused_in, void, void_unpaid_in,
};
pub use credit::{CREDIT_METHOD, credit_balances, credit_ledger, credit_text, disputes};
pub use drafts::{
    LineInput, ProductLineInput, add_line, add_product_line, create_draft, delete_draft,
    delete_line, invoice_version, preview_totals, set_notes, set_notes_at,
};
pub use issuing::{
    BATCH, IssueCache, Issued, OrderLine, Party, SubscriptionInvoice, issue, issue_all_drafts,
    issue_batch, issue_for_subscription, issue_for_subscription_as, issue_in, quote_totals,
};
pub use payments::{
    METHODS, PaymentInput, RefundInput, SUBSCRIPTION_INVOICE_PAID_KIND, SUBSCRIPTION_PAID_KIND,
    record_payment, refund,
};
pub use tax_rules::{TaxRuleInput, add_tax_rule, delete_tax_rule};

use rust_decimal::Decimal;

use super::model;
use super::store::{self, InvoiceRow, TaxRuleRow, Visibility};
use crate::audit::AuditEvent;
use crate::auth::model::{Actor, Role, TenantScope};
use crate::db::{Db, Tx};
use crate::web::{AppError, AppResult};

pub fn can_read(actor: &Actor) -> bool {
    actor.at_least(Role::Billing)
}

/// Staff BILLING+: drafts, issuing, payments.
pub fn can_bill(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Billing)
}

/// Staff ADMIN+: refunds, voids, credit notes, tax rules.
pub fn can_correct(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

fn require(allowed: bool) -> AppResult<()> {
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn visibility(actor: &Actor) -> (TenantScope, bool) {
    (actor.scope(), !actor.is_staff)
}

/// The rate of the tax rule that applies (none: 0 %). A stored rate that does not parse is
/// a bad row: an internal error naming the rule, never a silent 0 %.
fn rule_rate(rule: Option<&TaxRuleRow>) -> AppResult<Decimal> {
    let Some(r) = rule else {
        return Ok(Decimal::ZERO);
    };
    model::stored_rate(&r.rate).map_err(|e| {
        tracing::error!(tax_rule_id = %r.id, error = %e, "bad stored tax rate");
        AppError::Internal(anyhow::anyhow!("tax rule {}: {e}", r.id))
    })
}

fn changed_underneath() -> AppError {
    AppError::refused(
        "The invoice changed meanwhile (someone else acted on it). Reload and try again.",
    )
}

fn event<'a>(inv: &'a InvoiceRow, action: &'a str, summary: String) -> AuditEvent<'a> {
    AuditEvent {
        tenant_id: Some(&inv.tenant_id),
        action,
        target_type: "invoice",
        target_id: &inv.id,
        summary,
    }
}

fn label(inv: &InvoiceRow) -> String {
    inv.number.clone().unwrap_or_else(|| "draft".into())
}

/// Loads the invoice for a change: locked, in scope (404 otherwise).
async fn lock(tx: &mut Tx, db: &Db, actor: &Actor, id: &str) -> AppResult<InvoiceRow> {
    store::lock_invoice(tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> AppResult<InvoiceRow> {
    require(can_read(actor))?;
    let (scope, hide_drafts) = visibility(actor);
    store::get_invoice(
        &db.pool,
        &Visibility {
            scope: &scope,
            hide_drafts,
        },
        id,
    )
    .await?
    .ok_or(AppError::NotFound)
}
