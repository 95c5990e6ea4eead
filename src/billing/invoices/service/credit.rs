//! Account credit: what a tenant overpaid, spent automatically on the next invoice issued to
//! it (a payment of method "Account credit" in the issuing transaction), and read by the pages.

use super::payments::{apply, on_paid, save_amounts};
use super::{event, label, require};
use crate::audit::{self, AuditActor};
use crate::auth::model::Actor;
use crate::billing::invoices::model::gateway::credit_to_apply;
use crate::billing::invoices::model::{InvoiceStatus, PaymentKind, PaymentStatus};
use crate::billing::invoices::store::{self, CreditEntry, InvoiceRow, PaymentRow};
use crate::billing::money;
use crate::db::{Db, TenantScope, Timestamp, Tx, new_id};
use crate::web::{AppError, AppResult};

pub const CREDIT_METHOD: &str = "Account credit";

/// Spends the tenant's credit on a just-issued invoice (in its issuing transaction).
pub(super) async fn apply_credit(
    tx: &mut Tx,
    who: AuditActor<'_>,
    invoice_id: &str,
) -> AppResult<()> {
    let backend = if tx.backend_name() == "PostgreSQL" {
        crate::db::Backend::Postgres
    } else {
        crate::db::Backend::Sqlite
    };
    let inv: InvoiceRow = store::lock_invoice(tx, backend, &TenantScope::All, invoice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if inv.status != InvoiceStatus::Issued || inv.due_minor <= 0 {
        return Ok(());
    }
    // Most tenants have none: one indexed sum, no lock.
    if store::credit_balance(&mut **tx, &inv.tenant_id, &inv.currency).await? <= 0 {
        return Ok(());
    }
    store::lock_credit(tx, backend, &inv.tenant_id).await?;
    let balance = store::credit_balance(&mut **tx, &inv.tenant_id, &inv.currency).await?;
    let amount = credit_to_apply(balance, inv.due_minor);
    if amount == 0 {
        return Ok(());
    }
    let payment = PaymentRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        kind: PaymentKind::Payment,
        status: PaymentStatus::Success,
        amount_minor: amount,
        method: CREDIT_METHOD.into(),
        reference: String::new(),
        paid_on: time::OffsetDateTime::now_utc().date().to_string(),
        refund_of: None,
        idempotency_key: new_id(),
        created_by: who.email.to_string(),
        created_at: Timestamp::now(),
        gateway: String::new(),
    };
    store::insert_payment(tx, &payment).await?;
    store::insert_credit(
        tx,
        &CreditEntry {
            id: new_id(),
            tenant_id: inv.tenant_id.clone(),
            currency: inv.currency.clone(),
            amount_minor: -amount,
            kind: "APPLIED".into(),
            invoice_id: inv.id.clone(),
            payment_id: Some(payment.id.clone()),
            note: format!("Applied to {}", label(&inv)),
            created_by: who.email.to_string(),
            created_at: Timestamp::now(),
        },
    )
    .await?;
    let (amounts, to) = apply(
        &inv,
        inv.paid_minor + amount,
        inv.refunded_minor,
        inv.credited_minor,
    );
    save_amounts(tx, &inv, inv.status, to, &amounts).await?;
    if to == InvoiceStatus::Paid {
        on_paid(tx, &inv).await?;
    }
    audit::record(
        tx,
        who,
        event(
            &inv,
            "invoice.credit_applied",
            format!(
                "Applied {} of account credit to {}",
                money::format_money(amount, &inv.currency),
                label(&inv)
            ),
        ),
    )
    .await?;
    Ok(())
}

/// A tenant's credit balances (non-zero, by currency), for the customer or staff.
pub async fn credit_balances(
    db: &Db,
    actor: &Actor,
    tenant_id: &str,
) -> AppResult<Vec<(String, i64)>> {
    require(super::can_read(actor))?;
    Ok(store::credit_balances(&db.pool, &actor.scope(), tenant_id).await?)
}

/// The tenant's balances as text, e.g. "€5.01" ("" without credit).
pub async fn credit_text(db: &Db, actor: &Actor, tenant_id: &str) -> AppResult<String> {
    if !super::can_read(actor) {
        return Ok(String::new());
    }
    let balances = credit_balances(db, actor, tenant_id).await?;
    Ok(balances
        .iter()
        .map(|(cur, amount)| money::format_money(*amount, cur))
        .collect::<Vec<_>>()
        .join(", "))
}

/// The newest entries of a tenant's credit ledger.
pub async fn credit_ledger(db: &Db, actor: &Actor, tenant_id: &str) -> AppResult<Vec<CreditEntry>> {
    require(super::can_read(actor))?;
    Ok(store::credit_entries(&db.pool, &actor.scope(), tenant_id, 50).await?)
}

/// Disputes a gateway reported on an invoice (staff see them on the invoice).
pub async fn disputes(db: &Db, inv: &InvoiceRow) -> AppResult<Vec<store::DisputeRow>> {
    Ok(store::disputes(&db.pool, &inv.id).await?)
}
