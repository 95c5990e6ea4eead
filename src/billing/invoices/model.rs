//! Invoice rules: line and total arithmetic, the status machine, payments, refunds, credit
//! notes and numbering. Pure functions only, unit-tested against hand-computed examples.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::text_enum;

pub mod gateway;

text_enum!(InvoiceStatus {
    Draft => "DRAFT" / "Draft",
    Issued => "ISSUED" / "Issued",
    Paid => "PAID" / "Paid",
    Void => "VOID" / "Void",
});

// Where an invoice came from: a subscription's period, metered usage, an adjustment of a
// subscription (plan change), or written by hand by staff.
text_enum!(InvoiceSource {
    Subscription => "SUBSCRIPTION" / "Subscription",
    Usage => "USAGE" / "Usage",
    Adjustment => "ADJUSTMENT" / "Adjustment",
    Manual => "MANUAL" / "Manual",
});

text_enum!(LineKind {
    Item => "ITEM" / "Item",
    Discount => "DISCOUNT" / "Discount",
    Tax => "TAX" / "Tax",
    Adjustment => "ADJUSTMENT" / "Adjustment",
});

text_enum!(PaymentKind {
    Payment => "PAYMENT" / "Payment",
    Refund => "REFUND" / "Refund",
});

text_enum!(PaymentStatus {
    Success => "SUCCESS" / "Succeeded",
    Failed => "FAILED" / "Failed",
});

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CalcError {
    Overflow,
    /// Discounts larger than the items they discount.
    NegativeBase,
}

impl std::fmt::Display for CalcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CalcError::Overflow => "The amounts are too large.",
            CalcError::NegativeBase => {
                "The discounts are larger than the items: the invoice would be negative."
            }
        })
    }
}

/// Quantities: positive decimals with at most 4 places ("1", "2.5", "0.0125").
pub fn parse_quantity(raw: &str) -> Result<Decimal, &'static str> {
    let s = raw.trim();
    if s.is_empty()
        || !s.chars().all(|c| c.is_ascii_digit() || c == '.')
        || s.matches('.').count() > 1
        || s == "."
    {
        return Err("Enter a quantity like 1 or 2.5.");
    }
    let q = Decimal::from_str(s).map_err(|_| "That quantity is too large.")?;
    if q.scale() > 4 {
        return Err("Use at most 4 decimal places.");
    }
    if q.is_zero() {
        return Err("The quantity must be more than zero.");
    }
    if q > Decimal::from(1_000_000_000i64) {
        return Err("That quantity is too large.");
    }
    Ok(q.normalize())
}

fn round_minor(d: Decimal) -> Result<i64, CalcError> {
    d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
        .ok_or(CalcError::Overflow)
}

/// quantity × unit price in minor units, rounded half away from zero to a whole minor unit
/// (so in the currency's exponent: cents for USD, yen for JPY, fils for KWD).
pub fn line_amount(quantity: Decimal, unit_minor: i64) -> Result<i64, CalcError> {
    let product = quantity
        .checked_mul(Decimal::from(unit_minor))
        .ok_or(CalcError::Overflow)?;
    round_minor(product)
}

/// Tax rates are percentages with up to 4 decimals, from 0 to 100 ("19", "7.7", "8.875").
pub fn parse_rate(raw: &str) -> Result<Decimal, &'static str> {
    let s = raw.trim().trim_end_matches('%').trim();
    let ok = !s.is_empty()
        && s.chars().all(|c| c.is_ascii_digit() || c == '.')
        && s.matches('.').count() <= 1;
    let rate = ok
        .then(|| Decimal::from_str(s).ok())
        .flatten()
        .ok_or("Enter a percentage like 19 or 7.7.")?;
    if rate.scale() > 4 || rate > Decimal::from(100) {
        return Err("Use a percentage from 0 to 100 with at most 4 decimals.");
    }
    Ok(rate.normalize())
}

/// One line as the arithmetic sees it: its kind and its rounded amount (positive; a DISCOUNT
/// amount is subtracted; an ADJUSTMENT may be negative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineAmount {
    pub kind: LineKind,
    pub amount: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Totals {
    /// Items and adjustments.
    pub subtotal: i64,
    pub discount: i64,
    /// subtotal − discount: what tax is charged on.
    pub taxable: i64,
    pub tax: i64,
    pub total: i64,
}

/// Line amounts → discounts → tax on the discounted base → total. TAX lines in `lines` are
/// ignored: tax is always recomputed from `rate_percent` (it is frozen as a TAX line at issue).
pub fn totals(lines: &[LineAmount], rate_percent: Decimal) -> Result<Totals, CalcError> {
    let mut subtotal = 0i64;
    let mut discount = 0i64;
    for l in lines {
        match l.kind {
            LineKind::Item | LineKind::Adjustment => {
                subtotal = subtotal.checked_add(l.amount).ok_or(CalcError::Overflow)?
            }
            LineKind::Discount => {
                discount = discount.checked_add(l.amount).ok_or(CalcError::Overflow)?
            }
            LineKind::Tax => {}
        }
    }
    let taxable = subtotal.checked_sub(discount).ok_or(CalcError::Overflow)?;
    if taxable < 0 {
        return Err(CalcError::NegativeBase);
    }
    let tax = round_minor(
        Decimal::from(taxable)
            .checked_mul(rate_percent)
            .ok_or(CalcError::Overflow)?
            / Decimal::from(100),
    )?;
    let total = taxable.checked_add(tax).ok_or(CalcError::Overflow)?;
    Ok(Totals {
        subtotal,
        discount,
        taxable,
        tax,
        total,
    })
}

/// What is still owed: total − credit notes − (payments − refunds), never below zero.
pub fn amount_due(total: i64, credited: i64, paid: i64, refunded: i64) -> i64 {
    (total - credited - (paid - refunded)).max(0)
}

/// Invoice status machine:
///
/// ```text
/// DRAFT → ISSUED                 issue (number, dates, snapshot and totals frozen)
/// ISSUED → PAID                  a payment or credit note leaves nothing due
/// PAID → ISSUED                  a refund makes something due again
/// ISSUED → VOID                  only while no successful, unrefunded payment remains
/// ```
/// Drafts can be edited and deleted; nothing else can. VOID is final and keeps its number.
pub fn transition_allowed(from: InvoiceStatus, to: InvoiceStatus) -> bool {
    use InvoiceStatus::*;
    matches!(
        (from, to),
        (Draft, Issued) | (Issued, Paid) | (Paid, Issued) | (Issued, Void)
    )
}

/// The stored status that matches the amounts of an issued invoice.
pub fn settled_status(due: i64) -> InvoiceStatus {
    if due == 0 {
        InvoiceStatus::Paid
    } else {
        InvoiceStatus::Issued
    }
}

pub fn check_payment(status: InvoiceStatus, amount: i64, due: i64) -> Result<(), String> {
    match status {
        InvoiceStatus::Issued => {}
        InvoiceStatus::Paid => return Err("This invoice is already paid in full.".into()),
        InvoiceStatus::Draft => return Err("Issue the invoice before recording payments.".into()),
        InvoiceStatus::Void => return Err("This invoice is void.".into()),
    }
    if amount <= 0 {
        return Err("The amount must be more than zero.".into());
    }
    if amount > due {
        return Err("That is more than the amount due.".into());
    }
    Ok(())
}

/// A refund of `amount` against a successful payment of `paid` of which `refunded` went back.
pub fn check_refund(payment_ok: bool, paid: i64, refunded: i64, amount: i64) -> Result<(), String> {
    if !payment_ok {
        return Err("Only successful payments can be refunded.".into());
    }
    if amount <= 0 {
        return Err("The amount must be more than zero.".into());
    }
    if amount > paid - refunded {
        return Err("That is more than what is left of this payment to refund.".into());
    }
    Ok(())
}

pub fn check_void(status: InvoiceStatus, paid: i64, refunded: i64) -> Result<(), String> {
    if status == InvoiceStatus::Draft {
        return Err("A draft is deleted, not voided.".into());
    }
    if !transition_allowed(status, InvoiceStatus::Void) {
        return Err(format!(
            "A {} invoice cannot be voided.",
            status.label().to_lowercase()
        ));
    }
    if paid - refunded > 0 {
        return Err("Refund the payments first: a paid invoice cannot be voided.".into());
    }
    Ok(())
}

/// The "Record a payment" form is offered while the invoice is issued (not paid, void or a
/// draft); `check_payment` decides the amount.
pub fn can_pay(status: InvoiceStatus) -> bool {
    status == InvoiceStatus::Issued
}

/// Void is offered exactly when `check_void` would accept it: issued, nothing paid net.
pub fn can_void(status: InvoiceStatus, paid: i64, refunded: i64) -> bool {
    check_void(status, paid, refunded).is_ok()
}

/// A credit note is offered while something may be due (issued); `check_credit` decides.
pub fn can_credit(status: InvoiceStatus) -> bool {
    status == InvoiceStatus::Issued
}

/// What is left of one payment to refund: its amount less its successful refunds; nothing
/// for refunds themselves or failed payments. `refunds` are (refund_of, status, amount).
pub fn refundable<'a>(
    payment_id: &str,
    kind: PaymentKind,
    status: PaymentStatus,
    amount: i64,
    refunds: impl IntoIterator<Item = (Option<&'a str>, PaymentStatus, i64)>,
) -> i64 {
    if kind != PaymentKind::Payment || status != PaymentStatus::Success {
        return 0;
    }
    amount - refunded_of(payment_id, refunds)
}

/// The successful refunds recorded against one payment.
pub fn refunded_of<'a>(
    payment_id: &str,
    refunds: impl IntoIterator<Item = (Option<&'a str>, PaymentStatus, i64)>,
) -> i64 {
    refunds
        .into_iter()
        .filter(|(of, status, _)| *of == Some(payment_id) && *status == PaymentStatus::Success)
        .map(|(_, _, amount)| amount)
        .sum()
}

/// A stored tax rate (written by `parse_rate`); anything else is a bad row, not 0 %.
pub fn stored_rate(raw: &str) -> Result<Decimal, String> {
    Decimal::from_str(raw.trim()).map_err(|e| format!("unreadable tax rate {raw:?}: {e}"))
}

pub fn check_credit(status: InvoiceStatus, amount: i64, due: i64) -> Result<(), String> {
    if status != InvoiceStatus::Issued {
        return Err(match status {
            InvoiceStatus::Paid => "Nothing is due on this invoice: refund instead.".into(),
            s => format!("A {} invoice cannot be credited.", s.label().to_lowercase()),
        });
    }
    if amount <= 0 {
        return Err("The amount must be more than zero.".into());
    }
    if amount > due {
        return Err("A credit note cannot exceed the amount due.".into());
    }
    Ok(())
}

/// `INV-2026-000042`. More than a million invoices in a year simply get more digits.
pub fn document_number(prefix: &str, year: i32, sequence: i64) -> String {
    format!("{prefix}-{year}-{sequence:06}")
}

/// What people see: the stored status refined by amounts and dates.
pub fn display_status(
    status: InvoiceStatus,
    due: i64,
    paid_net: i64,
    due_date: &str,
    today: &str,
) -> String {
    match status {
        InvoiceStatus::Issued => {
            let overdue = !due_date.is_empty() && due_date < today && due > 0;
            match (paid_net > 0, overdue) {
                (true, true) => "Partially paid, overdue".into(),
                (true, false) => "Partially paid".into(),
                (false, true) => "Overdue".into(),
                (false, false) => "Issued".into(),
            }
        }
        s => s.label().into(),
    }
}

#[cfg(test)]
mod tests;
