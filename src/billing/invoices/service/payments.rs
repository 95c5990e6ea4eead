//! Payments and refunds: append-only rows, the invoice's amounts and status recomputed
//! from them.

use serde::Deserialize;

use super::{can_bill, can_correct, changed_underneath, event, label, lock, require};
use crate::audit;
use crate::auth::model::Actor;
use crate::billing::invoices::model::{self, InvoiceStatus, PaymentKind, PaymentStatus};
use crate::billing::invoices::store::{self, Amounts, InvoiceRow, PaymentRow};
use crate::billing::money;
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::web::forms::OnUnique;
use crate::web::{AppError, AppResult, FieldErrors};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PaymentInput {
    pub amount: String,
    pub method: String,
    pub reference: String,
    /// `YYYY-MM-DD`; today when empty.
    pub paid_on: String,
    /// SUCCESS or FAILED (a failed attempt is recorded, not counted).
    pub status: String,
    /// Generated into the form when it is rendered: a double submit records one payment.
    pub idempotency_key: String,
}

impl PaymentInput {
    /// The form asks to record a failed attempt (the status select's choice).
    pub fn records_failure(&self) -> bool {
        PaymentStatus::parse(&self.status) == Some(PaymentStatus::Failed)
    }
}

impl PaymentRow {
    pub fn is_refund(&self) -> bool {
        self.kind == PaymentKind::Refund
    }
    pub fn succeeded(&self) -> bool {
        self.status == PaymentStatus::Success
    }
    /// What is left of this payment to refund, given every row of its invoice.
    pub fn refundable(&self, all: &[PaymentRow]) -> i64 {
        model::refundable(
            &self.id,
            self.kind,
            self.status,
            self.amount_minor,
            refunds(all),
        )
    }
}

/// (refund_of, status, amount) of each row, as `model::refunded_of` reads them.
fn refunds(all: &[PaymentRow]) -> impl Iterator<Item = (Option<&str>, PaymentStatus, i64)> {
    all.iter()
        .map(|p| (p.refund_of.as_deref(), p.status, p.amount_minor))
}

/// A gateway payment with this reference exists (by its webhook, or typed in before).
fn already_recorded(method: &str, reference: &str) -> String {
    format!(
        "A {method} payment with reference {reference} is already recorded: the same money is never counted twice."
    )
}

pub const METHODS: &[&str] = &["Bank transfer", "Card", "Cash", "PayPal", "Stripe", "Other"];

fn parse_day(e: &mut FieldErrors, field: &'static str, raw: &str) -> String {
    match raw.trim() {
        "" => time::OffsetDateTime::now_utc().date().to_string(),
        d if Timestamp::from_date(d).is_some() => d.to_string(),
        _ => {
            e.add(field, "Use a date like 2026-11-21.");
            String::new()
        }
    }
}

fn idempotency_key(e: &mut FieldErrors, raw: &str) -> String {
    let key = raw.trim();
    if key.len() < 16
        || key.len() > 64
        || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        e.add(
            "amount",
            "This form has expired. Reload the page and try again.",
        );
    }
    key.to_string()
}

pub(crate) fn apply(
    tx_inv: &InvoiceRow,
    paid: i64,
    refunded: i64,
    credited: i64,
) -> (Amounts, InvoiceStatus) {
    let due = model::amount_due(tx_inv.total_minor, credited, paid, refunded);
    (
        Amounts {
            paid,
            refunded,
            credited,
            due,
        },
        model::settled_status(due),
    )
}

pub(crate) async fn save_amounts(
    tx: &mut Tx,
    inv: &InvoiceRow,
    from: InvoiceStatus,
    to: InvoiceStatus,
    a: &Amounts,
) -> AppResult<()> {
    if from != to && !model::transition_allowed(from, to) {
        return Err(AppError::refused(format!(
            "A {} invoice cannot become {}.",
            from.label().to_lowercase(),
            to.label().to_lowercase()
        )));
    }
    if store::set_amounts(tx, inv, to.as_str(), a).await? == 0 {
        return Err(changed_underneath());
    }
    Ok(())
}

/// Records a payment. A repeated submission with the same idempotency key returns the first
/// payment instead of recording another.
pub async fn record_payment(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &PaymentInput,
) -> AppResult<PaymentRow> {
    require(can_bill(actor))?;
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    let mut e = FieldErrors::new();
    let key = idempotency_key(&mut e, &input.idempotency_key);
    if let Some(earlier) = replayed(&mut tx, &inv.id, &key).await? {
        return Ok(earlier);
    }
    let amount = form_amount(&mut e, &inv.currency, &input.amount)?;
    let method = input.method.trim().to_string();
    if !METHODS.contains(&method.as_str()) {
        e.add("method", "Choose a payment method.");
    }
    let reference: String = input.reference.trim().chars().take(200).collect();
    let paid_on = parse_day(&mut e, "paid_on", &input.paid_on);
    let status = PaymentStatus::parse(if input.status.is_empty() {
        "SUCCESS"
    } else {
        &input.status
    })
    .unwrap_or_else(|| {
        e.add("status", "Choose whether the payment succeeded.");
        PaymentStatus::Success
    });
    e.into_result().map_err(AppError::Invalid)?;
    let from = inv.status;
    if status == PaymentStatus::Success {
        model::check_payment(from, amount, inv.due_minor)
            .map_err(|m| AppError::Invalid(FieldErrors::one("amount", m)))?;
    } else if amount <= 0 {
        return Err(AppError::Invalid(FieldErrors::one(
            "amount",
            "The amount must be more than zero.",
        )));
    }
    let gateway = model::gateway::gateway_of_method(&method).to_string();
    if status == PaymentStatus::Success
        && !gateway.is_empty()
        && !reference.is_empty()
        && store::payment_by_reference(&mut tx, &gateway, PaymentKind::Payment, &reference)
            .await?
            .is_some()
    {
        return Err(AppError::Invalid(FieldErrors::one(
            "reference",
            already_recorded(&method, &reference),
        )));
    }
    let payment = PaymentRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        kind: PaymentKind::Payment,
        status,
        amount_minor: amount,
        method,
        reference,
        paid_on,
        refund_of: None,
        idempotency_key: key,
        created_by: actor.email.clone(),
        created_at: Timestamp::now(),
        gateway,
    };
    store::insert_payment(&mut tx, &payment)
        .await
        .unique_field(
            "reference",
            &already_recorded(&payment.method, &payment.reference),
        )?;
    if status == PaymentStatus::Success {
        let (amounts, to) = apply(
            &inv,
            inv.paid_minor + amount,
            inv.refunded_minor,
            inv.credited_minor,
        );
        save_amounts(&mut tx, &inv, from, to, &amounts).await?;
        if to == InvoiceStatus::Paid && from != InvoiceStatus::Paid {
            on_paid(&mut tx, &inv).await?;
        }
    }
    let summary = format!(
        "{} payment of {} on {} ({})",
        status.label(),
        money::format_money(amount, &inv.currency),
        label(&inv),
        payment.method
    );
    audit::record(
        &mut tx,
        actor,
        event(&inv, "invoice.payment_recorded", summary),
    )
    .await?;
    tx.commit().await?;
    Ok(payment)
}

/// Enqueued, in the payment's transaction, when the first invoice of a subscription becomes
/// fully paid. The subscriptions feature handles this kind; invoices only name it.
pub const SUBSCRIPTION_PAID_KIND: &str = "subscription.activate";

/// Enqueued, in the payment's transaction, when any other invoice of a subscription (a
/// renewal, a plan change, usage) becomes fully paid. The subscriptions feature handles it.
pub const SUBSCRIPTION_INVOICE_PAID_KIND: &str = "subscription.invoice_paid";

/// What happens when an invoice becomes fully paid: a subscription's first invoice starts
/// its activation; its other invoices tell it they are paid (jobs, so this feature never
/// imports subscriptions).
pub(super) async fn on_paid(tx: &mut Tx, inv: &InvoiceRow) -> AppResult<()> {
    let Some(sub) = inv.subscription_id.as_deref() else {
        return Ok(());
    };
    let payload = serde_json::json!({
        "subscription_id": sub,
        "invoice_id": inv.id,
        "reason": inv.billing_reason,
    });
    let job = if inv.billing_reason == "FIRST" {
        crate::jobs::NewJob::new(SUBSCRIPTION_PAID_KIND, &payload)
            .unique_key(format!("subscription-activate:{sub}"))
    } else {
        crate::jobs::NewJob::new(SUBSCRIPTION_INVOICE_PAID_KIND, &payload)
            .unique_key(format!("subscription-invoice-paid:{}", inv.id))
    };
    crate::jobs::enqueue(
        tx,
        job.subject(format!("subscription:{sub}"))
            .tenant(&inv.tenant_id),
    )
    .await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RefundInput {
    pub payment_id: String,
    pub amount: String,
    pub reference: String,
    pub idempotency_key: String,
}

/// The payment or refund this form already recorded (a repeated submit answers it again);
/// refused when the key belongs to another invoice's form.
async fn replayed(tx: &mut Tx, invoice_id: &str, key: &str) -> AppResult<Option<PaymentRow>> {
    match store::payment_by_key(tx, key).await? {
        Some(existing) if existing.invoice_id == invoice_id => Ok(Some(existing)),
        Some(_) => Err(AppError::refused("This form belongs to another invoice.")),
        None => Ok(None),
    }
}

/// The form's amount in the invoice's currency (0 with a field error when it does not parse).
fn form_amount(e: &mut FieldErrors, currency: &str, raw: &str) -> AppResult<i64> {
    let cur = money::currency(currency)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad currency {currency}")))?;
    Ok(money::parse_amount(raw, cur)
        .map_err(|m| e.add("amount", m))
        .unwrap_or(0))
}

pub async fn refund(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &RefundInput,
) -> AppResult<PaymentRow> {
    require(can_correct(actor))?;
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    let mut e = FieldErrors::new();
    let key = idempotency_key(&mut e, &input.idempotency_key);
    if let Some(earlier) = replayed(&mut tx, &inv.id, &key).await? {
        return Ok(earlier);
    }
    let amount = form_amount(&mut e, &inv.currency, &input.amount)?;
    e.into_result().map_err(AppError::Invalid)?;
    let all = store::payments(&mut *tx, &inv.id).await?;
    let original = all
        .iter()
        .find(|p| p.id == input.payment_id && p.kind == PaymentKind::Payment)
        .ok_or(AppError::NotFound)?;
    let already = model::refunded_of(&original.id, refunds(&all));
    model::check_refund(original.succeeded(), original.amount_minor, already, amount)
        .map_err(|m| AppError::Invalid(FieldErrors::one("amount", m)))?;
    let refund = PaymentRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        kind: PaymentKind::Refund,
        status: PaymentStatus::Success,
        amount_minor: amount,
        method: original.method.clone(),
        reference: input.reference.trim().chars().take(200).collect(),
        paid_on: time::OffsetDateTime::now_utc().date().to_string(),
        refund_of: Some(original.id.clone()),
        idempotency_key: key,
        created_by: actor.email.clone(),
        created_at: Timestamp::now(),
        gateway: String::new(),
    };
    store::insert_payment(&mut tx, &refund).await?;
    let from = inv.status;
    let (amounts, to) = if from == InvoiceStatus::Void {
        (
            Amounts {
                paid: inv.paid_minor,
                refunded: inv.refunded_minor + amount,
                credited: inv.credited_minor,
                due: 0,
            },
            InvoiceStatus::Void,
        )
    } else {
        apply(
            &inv,
            inv.paid_minor,
            inv.refunded_minor + amount,
            inv.credited_minor,
        )
    };
    save_amounts(&mut tx, &inv, from, to, &amounts).await?;
    // Refunding overpaid money takes it back from the account credit it became.
    let over = |refunded| {
        model::gateway::overpaid(
            inv.status,
            inv.total_minor,
            inv.credited_minor,
            inv.paid_minor,
            refunded,
        )
    };
    super::gateway::move_credit(
        &mut tx,
        &inv,
        &refund.id,
        over(inv.refunded_minor + amount) - over(inv.refunded_minor),
        &actor.email,
    )
    .await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.refunded",
            format!(
                "Refunded {} of a payment on {}",
                money::format_money(amount, &inv.currency),
                label(&inv)
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(refund)
}
