//! Invoice rules: line and total arithmetic, the status machine, payments, refunds, credit
//! notes and numbering. Pure functions only, unit-tested against hand-computed examples.

use std::str::FromStr;

use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::text_enum;

text_enum!(InvoiceStatus {
    Draft => "DRAFT" / "Draft",
    Issued => "ISSUED" / "Issued",
    Paid => "PAID" / "Paid",
    Void => "VOID" / "Void",
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
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    fn item(amount: i64) -> LineAmount {
        LineAmount {
            kind: LineKind::Item,
            amount,
        }
    }

    #[test]
    fn lines_round_half_away_from_zero() {
        // USD: 1.5 h × $33.33 = 4999.5 cents → 5000; 2.5 × 15 cents = 37.5 → 38
        assert_eq!(line_amount(d("3"), 13), Ok(39));
        assert_eq!(line_amount(d("2.5"), 15), Ok(38)); // 37.5 → 38
        assert_eq!(line_amount(d("1.5"), 3333), Ok(5000));
        assert_eq!(line_amount(d("0.5"), -5), Ok(-3)); // -2.5 → -3 (away from zero)
        assert_eq!(line_amount(d("0.5"), 3), Ok(2)); // 1.5 → 2
        // JPY (exponent 0): 2.5 × ¥333 = 832.5 → ¥833
        assert_eq!(line_amount(d("2.5"), 333), Ok(833));
        // KWD (exponent 3): 0.3 × 1.2345? unit is whole fils: 0.3 × 1235 fils = 370.5 → 371
        assert_eq!(line_amount(d("0.3"), 1235), Ok(371));
        assert_eq!(
            line_amount(d("1000000000"), i64::MAX),
            Err(CalcError::Overflow)
        );
    }

    #[test]
    fn usd_invoice_by_hand() {
        // 2 × $49.99 = 99.98; 1 × $10.00 = 10.00 → subtotal 109.98
        // discount $9.98 → taxable 100.00; tax 19% = 19.00; total 119.00
        let lines = [
            item(9998),
            item(1000),
            LineAmount {
                kind: LineKind::Discount,
                amount: 998,
            },
        ];
        let t = totals(&lines, d("19")).unwrap();
        assert_eq!(
            t,
            Totals {
                subtotal: 10998,
                discount: 998,
                taxable: 10000,
                tax: 1900,
                total: 11900
            }
        );
        // 8.875% of $10.01 = 0.8838… → 0.89
        assert_eq!(totals(&[item(1001)], d("8.875")).unwrap().tax, 89);
        // 7.5% of $0.10 = 0.75 cents → 1 cent (half away from zero)
        assert_eq!(totals(&[item(10)], d("7.5")).unwrap().tax, 1);
    }

    #[test]
    fn jpy_invoice_by_hand() {
        // 3 × ¥1,980 = ¥5,940; discount ¥500 → ¥5,440; 10% tax = ¥544; total ¥5,984
        let lines = [
            item(5940),
            LineAmount {
                kind: LineKind::Discount,
                amount: 500,
            },
        ];
        let t = totals(&lines, d("10")).unwrap();
        assert_eq!((t.taxable, t.tax, t.total), (5440, 544, 5984));
        // 8% of ¥1,005 = 80.4 → ¥80; of ¥1,006.25? not possible: yen are whole. 8% of ¥1,019 = 81.52 → 82
        assert_eq!(totals(&[item(1005)], d("8")).unwrap().tax, 80);
        assert_eq!(totals(&[item(1019)], d("8")).unwrap().tax, 82);
    }

    #[test]
    fn kwd_invoice_by_hand() {
        // 2 × KWD 1.250 = 2.500; adjustment −0.125 → 2.375; 5% tax = 0.11875 → 0.119; total 2.494
        let lines = [
            item(2500),
            LineAmount {
                kind: LineKind::Adjustment,
                amount: -125,
            },
        ];
        let t = totals(&lines, d("5")).unwrap();
        assert_eq!(
            t,
            Totals {
                subtotal: 2375,
                discount: 0,
                taxable: 2375,
                tax: 119,
                total: 2494
            }
        );
    }

    #[test]
    fn tax_lines_are_recomputed_and_discounts_cannot_exceed_items() {
        let lines = [
            item(1000),
            LineAmount {
                kind: LineKind::Tax,
                amount: 999_999,
            },
        ];
        assert_eq!(totals(&lines, d("20")).unwrap().total, 1200);
        let over = [
            item(1000),
            LineAmount {
                kind: LineKind::Discount,
                amount: 1001,
            },
        ];
        assert_eq!(totals(&over, d("0")), Err(CalcError::NegativeBase));
        assert_eq!(totals(&[], d("19")).unwrap(), Totals::default());
    }

    #[test]
    fn parsing_quantities_and_rates() {
        assert_eq!(parse_quantity("2.50"), Ok(d("2.5")));
        assert_eq!(parse_quantity("0.0125"), Ok(d("0.0125")));
        for bad in ["", "0", "-1", "1.23456", "abc", "1e3", "1,5", "99999999999"] {
            assert!(parse_quantity(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_rate("19"), Ok(d("19")));
        assert_eq!(parse_rate("7.70 %"), Ok(d("7.7")));
        for bad in ["", "-5", "101", "1.23456", "ten"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_transition() {
        use InvoiceStatus::*;
        let allowed: Vec<_> = InvoiceStatus::ALL
            .iter()
            .flat_map(|a| InvoiceStatus::ALL.iter().map(move |b| (*a, *b)))
            .filter(|(a, b)| transition_allowed(*a, *b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Draft, Issued),
                (Issued, Paid),
                (Issued, Void),
                (Paid, Issued)
            ]
        );
        assert_eq!(settled_status(0), Paid);
        assert_eq!(settled_status(1), Issued);
    }

    #[test]
    fn payments_refunds_voids_and_credits() {
        use InvoiceStatus::*;
        assert!(check_payment(Issued, 500, 1000).is_ok());
        assert!(check_payment(Issued, 1000, 1000).is_ok());
        assert!(
            check_payment(Issued, 1001, 1000)
                .unwrap_err()
                .contains("more than the amount due")
        );
        assert!(check_payment(Issued, 0, 1000).is_err());
        assert!(check_payment(Draft, 1, 1000).is_err());
        assert!(check_payment(Paid, 1, 0).is_err());
        assert!(check_payment(Void, 1, 1000).is_err());

        assert!(check_refund(true, 1000, 0, 1000).is_ok());
        assert!(check_refund(true, 1000, 600, 400).is_ok());
        assert!(check_refund(true, 1000, 600, 401).is_err());
        assert!(check_refund(false, 1000, 0, 1).is_err());
        assert!(check_refund(true, 1000, 0, 0).is_err());

        assert!(check_void(Issued, 0, 0).is_ok());
        assert!(check_void(Issued, 500, 500).is_ok(), "fully refunded");
        assert!(
            check_void(Issued, 500, 0)
                .unwrap_err()
                .contains("Refund the payments first")
        );
        assert!(check_void(Paid, 1000, 0).is_err());
        assert!(check_void(Void, 0, 0).is_err());
        assert!(check_void(Draft, 0, 0).is_err());

        assert!(check_credit(Issued, 300, 300).is_ok());
        assert!(
            check_credit(Issued, 301, 300)
                .unwrap_err()
                .contains("cannot exceed")
        );
        assert!(check_credit(Paid, 1, 0).is_err());
        assert!(check_credit(Draft, 1, 1).is_err());
        assert!(check_credit(Void, 1, 1).is_err());

        assert_eq!(amount_due(1000, 0, 0, 0), 1000);
        assert_eq!(amount_due(1000, 200, 500, 100), 400);
        assert_eq!(amount_due(1000, 600, 500, 0), 0, "never below zero");
    }

    #[test]
    fn numbers_and_display_status() {
        assert_eq!(document_number("INV", 2026, 42), "INV-2026-000042");
        assert_eq!(document_number("CN", 2026, 1_234_567), "CN-2026-1234567");
        use InvoiceStatus::*;
        assert_eq!(
            display_status(Issued, 100, 0, "2026-12-01", "2026-11-21"),
            "Issued"
        );
        assert_eq!(
            display_status(Issued, 100, 50, "2026-12-01", "2026-11-21"),
            "Partially paid"
        );
        assert_eq!(
            display_status(Issued, 100, 0, "2026-11-20", "2026-11-21"),
            "Overdue"
        );
        assert_eq!(
            display_status(Issued, 100, 50, "2026-11-20", "2026-11-21"),
            "Partially paid, overdue"
        );
        assert_eq!(
            display_status(Issued, 100, 0, "2026-11-21", "2026-11-21"),
            "Issued",
            "due today is not overdue"
        );
        assert_eq!(
            display_status(Paid, 0, 100, "2026-11-20", "2026-11-21"),
            "Paid"
        );
        assert_eq!(
            display_status(Void, 100, 0, "2026-11-20", "2026-11-21"),
            "Void"
        );
    }
}
