//! Corrections of an issued invoice: void (nothing paid) and credit notes.

use serde::Deserialize;

use super::payments::{apply, save_amounts};
use super::{can_correct, changed_underneath, event, label, lock, require};
use crate::audit;
use crate::auth::model::{Actor, required_text};
use crate::billing::invoices::model;
use crate::billing::invoices::store::{self, CreditNoteRow, InvoiceRow};
use crate::billing::money;
use crate::db::{Db, Timestamp, new_id};
use crate::web::{AppError, AppResult, FieldErrors};

pub async fn void(db: &Db, actor: &Actor, id: &str, confirmed: bool) -> AppResult<()> {
    require(can_correct(actor))?;
    if !confirmed {
        return Err(AppError::refused(
            "Tick the confirmation box to void this invoice.",
        ));
    }
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    model::check_void(inv.status, inv.paid_minor, inv.refunded_minor).map_err(AppError::Refused)?;
    if store::mark_void(&mut tx, &inv).await? == 0 {
        return Err(changed_underneath());
    }
    audit::record(
        &mut tx,
        actor,
        event(&inv, "invoice.voided", format!("Voided {}", label(&inv))),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Voids a subscription's unpaid invoice for the system (an unpaid order expiring), in the
/// caller's transaction. `Err(Refused)` when something was paid on it or it is not issued.
pub async fn void_unpaid_in(
    tx: &mut crate::db::Tx,
    db: &Db,
    who: audit::AuditActor<'_>,
    id: &str,
    why: &str,
) -> AppResult<String> {
    let inv = store::lock_invoice(tx, db.backend, &crate::db::TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    model::check_void(inv.status, inv.paid_minor, inv.refunded_minor).map_err(AppError::Refused)?;
    if store::mark_void(tx, &inv).await? == 0 {
        return Err(changed_underneath());
    }
    audit::record(
        tx,
        who,
        event(
            &inv,
            "invoice.voided",
            format!("Voided {}: {why}", label(&inv)),
        ),
    )
    .await?;
    Ok(label(&inv))
}

/// Closes an unpaid invoice of a subscription ended for non-payment, in the caller's
/// transaction: voided when nothing was paid on it; when part was paid (a paid amount is never
/// voided away) the rest is written off with a credit note for the amount due. An invoice that
/// is no longer open is left as it is. Returns the invoice's number.
pub async fn close_unpaid_in(
    tx: &mut crate::db::Tx,
    db: &Db,
    who: audit::AuditActor<'_>,
    id: &str,
    why: &str,
) -> AppResult<String> {
    let inv = store::lock_invoice(tx, db.backend, &crate::db::TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if inv.status != model::InvoiceStatus::Issued || inv.due_minor <= 0 {
        return Ok(label(&inv));
    }
    if model::check_void(inv.status, inv.paid_minor, inv.refunded_minor).is_ok() {
        return void_unpaid_in(tx, db, who, id, why).await;
    }
    let amount = inv.due_minor;
    let number = add_credit_note(
        tx,
        &inv,
        inv.status,
        amount,
        format!("Written off: {why}"),
        who.email.to_string(),
    )
    .await?;
    let summary = format!(
        "Credit note {number} writes off the {} still due on {}: {why}",
        money::format_money(amount, &inv.currency),
        label(&inv)
    );
    audit::record(tx, who, event(&inv, "invoice.credited", summary)).await?;
    Ok(label(&inv))
}

/// A credit note on a subscription's paid invoice for what the customer paid but will not
/// use (cancelling part-way through a period), in the caller's transaction. The credit is
/// owed to the customer; it never exceeds what was paid net of refunds and earlier credits.
pub async fn credit_unused_in(
    tx: &mut crate::db::Tx,
    db: &Db,
    who: audit::AuditActor<'_>,
    id: &str,
    amount: i64,
    reason: &str,
) -> AppResult<String> {
    let inv = store::lock_invoice(tx, db.backend, &crate::db::TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let creditable = inv.paid_minor - inv.refunded_minor - inv.credited_minor;
    if inv.status != model::InvoiceStatus::Paid || amount <= 0 || amount > creditable {
        return Err(AppError::refused(
            "Only what was paid on this invoice and not yet refunded or credited can be credited.",
        ));
    }
    let number = add_credit_note(
        tx,
        &inv,
        inv.status,
        amount,
        reason.to_string(),
        who.email.to_string(),
    )
    .await?;
    let summary = format!(
        "Credit note {number} for {} on {}: {reason}",
        money::format_money(amount, &inv.currency),
        label(&inv)
    );
    audit::record(tx, who, event(&inv, "invoice.credited", summary)).await?;
    Ok(number)
}

/// A credit note of `amount` on `inv` (locked by the caller, in state `from`): its own gapless
/// number, and the invoice's amounts and status moved. Returns the note's number.
async fn add_credit_note(
    tx: &mut crate::db::Tx,
    inv: &InvoiceRow,
    from: model::InvoiceStatus,
    amount: i64,
    reason: String,
    by: String,
) -> AppResult<String> {
    let year = time::OffsetDateTime::now_utc().year();
    let seq = store::next_document_number(tx, &inv.tenant_id, i64::from(year), "CN").await?;
    let number = model::document_number("CN", year, seq);
    store::insert_credit_note(
        tx,
        &CreditNoteRow {
            id: new_id(),
            invoice_id: inv.id.clone(),
            tenant_id: inv.tenant_id.clone(),
            number: number.clone(),
            amount_minor: amount,
            reason,
            created_by: by,
            created_at: Timestamp::now(),
        },
    )
    .await?;
    let (amounts, to) = apply(
        inv,
        inv.paid_minor,
        inv.refunded_minor,
        inv.credited_minor + amount,
    );
    save_amounts(tx, inv, from, to, &amounts).await?;
    Ok(number)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreditInput {
    pub amount: String,
    pub reason: String,
}

pub async fn credit(db: &Db, actor: &Actor, id: &str, input: &CreditInput) -> AppResult<String> {
    require(can_correct(actor))?;
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    let cur = money::currency(&inv.currency)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad currency")))?;
    let mut e = FieldErrors::new();
    let amount = money::parse_amount(&input.amount, cur)
        .map_err(|m| e.add("amount", m))
        .unwrap_or(0);
    let reason = required_text(&mut e, "reason", &input.reason, 500);
    e.into_result().map_err(AppError::Invalid)?;
    let from = inv.status;
    model::check_credit(from, amount, inv.due_minor)
        .map_err(|m| AppError::Invalid(FieldErrors::one("amount", m)))?;
    let number = add_credit_note(&mut tx, &inv, from, amount, reason, actor.email.clone()).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.credited",
            format!(
                "Credit note {number} for {} on {}",
                money::format_money(amount, &inv.currency),
                label(&inv)
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}
