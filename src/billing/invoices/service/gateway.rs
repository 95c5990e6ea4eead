//! Money reported by a payment gateway (Stripe, or another through the generic webhook):
//! recorded exactly once per gateway reference, through the same amounts, status machine,
//! subscription jobs and audit as a staff entry. What is paid beyond the bill becomes the
//! tenant's account credit. Every function works inside the caller's transaction, so the
//! caller marks its webhook event processed in the same commit.

use super::payments::{apply, on_paid, save_amounts};
use super::{event, label};
use crate::audit::{self, AuditActor};
use crate::billing::invoices::model::gateway::{self as rules, overpaid};
use crate::billing::invoices::model::{self, InvoiceStatus, PaymentKind, PaymentStatus};
use crate::billing::invoices::store::{
    self, Amounts, CreditEntry, DisputeRow, InvoiceRow, PaymentRow,
};
use crate::billing::money;
use crate::db::{TenantScope, Timestamp, Tx, new_id};
use crate::web::{AppError, AppResult};

/// A payment a gateway reports for one of our invoices (named by the gateway's metadata,
/// never guessed from the amount).
pub struct GatewayPayment<'a> {
    pub invoice_id: &'a str,
    pub gateway: &'a str,
    pub reference: &'a str,
    pub amount_minor: i64,
    pub currency: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded now; `credit_minor` of it became account credit.
    New {
        payment_id: String,
        invoice_id: String,
        credit_minor: i64,
    },
    /// This reference was recorded before (another delivery, a staff entry, another worker).
    Already {
        payment_id: String,
        invoice_id: String,
    },
    /// A refund or dispute names a payment that is not recorded (yet).
    PaymentUnknown,
}

fn gateway_actor<'a>(gateway: &'a str, client: &'a crate::actor::ClientInfo) -> AuditActor<'a> {
    AuditActor {
        tenant_id: None,
        user_id: None,
        email: gateway,
        client,
    }
}

async fn lock_any(tx: &mut Tx, id: &str) -> AppResult<InvoiceRow> {
    let backend = if tx.backend_name() == "PostgreSQL" {
        crate::db::Backend::Postgres
    } else {
        crate::db::Backend::Sqlite
    };
    store::lock_invoice(tx, backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The overpayment's change as a ledger entry (nothing when it did not change).
pub(super) async fn move_credit(
    tx: &mut Tx,
    inv: &InvoiceRow,
    payment_id: &str,
    delta: i64,
    by: &str,
) -> AppResult<()> {
    if delta == 0 {
        return Ok(());
    }
    let (kind, note) = if delta > 0 {
        ("OVERPAYMENT", format!("Overpayment of {}", label(inv)))
    } else {
        (
            "REFUND",
            format!("Overpaid money of {} refunded", label(inv)),
        )
    };
    store::insert_credit(
        tx,
        &CreditEntry {
            id: new_id(),
            tenant_id: inv.tenant_id.clone(),
            currency: inv.currency.clone(),
            amount_minor: delta,
            kind: kind.into(),
            invoice_id: inv.id.clone(),
            payment_id: Some(payment_id.to_string()),
            note,
            created_by: by.to_string(),
            created_at: Timestamp::now(),
        },
    )
    .await?;
    Ok(())
}

fn over(inv: &InvoiceRow, paid: i64, refunded: i64) -> i64 {
    overpaid(
        inv.status,
        inv.total_minor,
        inv.credited_minor,
        paid,
        refunded,
    )
}

/// Records a gateway's successful payment once per (gateway, reference).
pub async fn record_gateway_payment(
    tx: &mut Tx,
    client: &crate::actor::ClientInfo,
    p: &GatewayPayment<'_>,
) -> AppResult<Recorded> {
    let inv = lock_any(tx, p.invoice_id).await?;
    // Under the invoice's lock: a staff entry or another worker recording this reference
    // waits for us, or we see theirs.
    if let Some(earlier) =
        store::payment_by_reference(tx, p.gateway, PaymentKind::Payment, p.reference).await?
    {
        return Ok(Recorded::Already {
            payment_id: earlier.id,
            invoice_id: earlier.invoice_id,
        });
    }
    if inv.status == InvoiceStatus::Draft {
        return Err(AppError::refused(
            "The invoice is a draft: nothing can be paid on it.",
        ));
    }
    if !inv.currency.eq_ignore_ascii_case(p.currency) {
        return Err(AppError::refused(format!(
            "The payment is in {}, the invoice in {}.",
            p.currency.to_uppercase(),
            inv.currency
        )));
    }
    if p.amount_minor <= 0 || p.reference.trim().is_empty() {
        return Err(AppError::refused(
            "A gateway payment needs an amount and a reference.",
        ));
    }
    let payment = PaymentRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        kind: PaymentKind::Payment,
        status: PaymentStatus::Success,
        amount_minor: p.amount_minor,
        method: rules::method_of_gateway(p.gateway),
        reference: p.reference.chars().take(200).collect(),
        paid_on: time::OffsetDateTime::now_utc().date().to_string(),
        refund_of: None,
        idempotency_key: new_id(),
        created_by: p.gateway.to_string(),
        created_at: Timestamp::now(),
        gateway: p.gateway.to_string(),
    };
    store::insert_payment(tx, &payment).await?;
    let from = inv.status;
    let paid = inv.paid_minor + p.amount_minor;
    let (amounts, to) = if from == InvoiceStatus::Issued || from == InvoiceStatus::Paid {
        apply(&inv, paid, inv.refunded_minor, inv.credited_minor)
    } else {
        // VOID stays void: the money is all credit.
        (
            Amounts {
                paid,
                refunded: inv.refunded_minor,
                credited: inv.credited_minor,
                due: 0,
            },
            from,
        )
    };
    save_amounts(tx, &inv, from, to, &amounts).await?;
    if to == InvoiceStatus::Paid && from != InvoiceStatus::Paid {
        on_paid(tx, &inv).await?;
    }
    let credit = rules::credit_delta(
        over(&inv, inv.paid_minor, inv.refunded_minor),
        over(&inv, paid, inv.refunded_minor),
    );
    move_credit(tx, &inv, &payment.id, credit, p.gateway).await?;
    let mut summary = format!(
        "{} payment of {} on {} (reference {})",
        payment.method,
        money::format_money(p.amount_minor, &inv.currency),
        label(&inv),
        payment.reference
    );
    if credit > 0 {
        summary.push_str(&format!(
            "; {} became account credit",
            money::format_money(credit, &inv.currency)
        ));
    }
    audit::record(
        tx,
        gateway_actor(p.gateway, client),
        event(&inv, "invoice.payment_recorded", summary),
    )
    .await?;
    Ok(Recorded::New {
        payment_id: payment.id,
        invoice_id: inv.id,
        credit_minor: credit,
    })
}

/// How a gateway states a refund.
pub enum RefundAmount {
    /// Everything refunded on the payment so far (Stripe's `amount_refunded`).
    Cumulative(i64),
    /// This one refund, with its own reference.
    Exact(i64),
}

pub struct GatewayRefund<'a> {
    pub gateway: &'a str,
    /// The reference of the payment refunded.
    pub payment_reference: &'a str,
    /// This refund's reference (unique per gateway).
    pub reference: &'a str,
    pub amount: RefundAmount,
}

/// Records a gateway's refund once: `PaymentUnknown` until its payment is recorded (the
/// caller waits for it), nothing when what it says is refunded is recorded already.
pub async fn record_gateway_refund(
    tx: &mut Tx,
    client: &crate::actor::ClientInfo,
    r: &GatewayRefund<'_>,
) -> AppResult<Recorded> {
    let Some(original) =
        store::payment_by_reference(tx, r.gateway, PaymentKind::Payment, r.payment_reference)
            .await?
    else {
        return Ok(Recorded::PaymentUnknown);
    };
    let inv = lock_any(tx, &original.invoice_id).await?;
    if let Some(earlier) =
        store::payment_by_reference(tx, r.gateway, PaymentKind::Refund, r.reference).await?
    {
        return Ok(Recorded::Already {
            payment_id: earlier.id,
            invoice_id: earlier.invoice_id,
        });
    }
    let all = store::payments(&mut **tx, &inv.id).await?;
    let recorded = model::refunded_of(
        &original.id,
        all.iter()
            .map(|p| (p.refund_of.as_deref(), p.status, p.amount_minor)),
    );
    let amount = match r.amount {
        RefundAmount::Cumulative(total) => {
            rules::refund_still_due(total, recorded, original.amount_minor)
        }
        RefundAmount::Exact(a) => a.min(original.amount_minor - recorded).max(0),
    };
    if amount == 0 {
        return Ok(Recorded::Already {
            payment_id: original.id,
            invoice_id: inv.id,
        });
    }
    let refund = PaymentRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        kind: PaymentKind::Refund,
        status: PaymentStatus::Success,
        amount_minor: amount,
        method: original.method.clone(),
        reference: r.reference.chars().take(200).collect(),
        paid_on: time::OffsetDateTime::now_utc().date().to_string(),
        refund_of: Some(original.id.clone()),
        idempotency_key: new_id(),
        created_by: r.gateway.to_string(),
        created_at: Timestamp::now(),
        gateway: r.gateway.to_string(),
    };
    store::insert_payment(tx, &refund).await?;
    let from = inv.status;
    let refunded = inv.refunded_minor + amount;
    let (amounts, to) = if from == InvoiceStatus::Void {
        (
            Amounts {
                paid: inv.paid_minor,
                refunded,
                credited: inv.credited_minor,
                due: 0,
            },
            from,
        )
    } else {
        apply(&inv, inv.paid_minor, refunded, inv.credited_minor)
    };
    save_amounts(tx, &inv, from, to, &amounts).await?;
    let credit = rules::credit_delta(
        over(&inv, inv.paid_minor, inv.refunded_minor),
        over(&inv, inv.paid_minor, refunded),
    );
    move_credit(tx, &inv, &refund.id, credit, r.gateway).await?;
    audit::record(
        tx,
        gateway_actor(r.gateway, client),
        event(
            &inv,
            "invoice.refunded",
            format!(
                "{} refunded {} of payment {} on {}",
                refund.method,
                money::format_money(amount, &inv.currency),
                original.reference,
                label(&inv)
            ),
        ),
    )
    .await?;
    Ok(Recorded::New {
        payment_id: refund.id,
        invoice_id: inv.id,
        credit_minor: credit,
    })
}

pub struct GatewayDispute<'a> {
    pub gateway: &'a str,
    pub payment_reference: &'a str,
    pub reference: &'a str,
    pub amount_minor: i64,
    pub reason: &'a str,
}

/// Flags the invoice of a disputed payment for staff (once per dispute reference).
pub async fn flag_dispute(
    tx: &mut Tx,
    client: &crate::actor::ClientInfo,
    d: &GatewayDispute<'_>,
) -> AppResult<Recorded> {
    let Some(original) =
        store::payment_by_reference(tx, d.gateway, PaymentKind::Payment, d.payment_reference)
            .await?
    else {
        return Ok(Recorded::PaymentUnknown);
    };
    let inv = lock_any(tx, &original.invoice_id).await?;
    let row = DisputeRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        gateway: d.gateway.to_string(),
        dispute_ref: d.reference.chars().take(200).collect(),
        payment_ref: d.payment_reference.to_string(),
        amount_minor: d.amount_minor,
        reason: d.reason.chars().take(200).collect(),
        created_at: Timestamp::now(),
    };
    if !store::insert_dispute(tx, &row).await? {
        return Ok(Recorded::Already {
            payment_id: original.id,
            invoice_id: inv.id,
        });
    }
    audit::record(
        tx,
        gateway_actor(d.gateway, client),
        event(
            &inv,
            "invoice.disputed",
            format!(
                "The customer disputed payment {} ({}) on {}: {}",
                d.payment_reference,
                money::format_money(d.amount_minor, &inv.currency),
                label(&inv),
                row.reason
            ),
        ),
    )
    .await?;
    Ok(Recorded::New {
        payment_id: original.id,
        invoice_id: inv.id,
        credit_minor: 0,
    })
}
