//! The first invoice of an order, as lines: each item's first period (quantity × the
//! resolved price), then its setup fee (quantity × the fee) when it has one. The order page's
//! breakdown and the issued invoice are both built from these lines. Pure.

use crate::billing::catalog::model::Period;

/// One ordered product with its resolved price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Priced {
    pub product_id: String,
    pub name: String,
    pub code: String,
    pub quantity: i64,
    pub unit_minor: i64,
    pub setup_fee_minor: i64,
}

/// One line of the first invoice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    pub product_id: String,
    pub description: String,
    pub quantity: i64,
    pub unit_minor: i64,
}

impl Line {
    /// quantity × unit; `None` on overflow.
    pub fn amount(&self) -> Option<i64> {
        self.quantity.checked_mul(self.unit_minor)
    }
}

/// The lines of the first invoice for `items` billed `period`.
pub fn first_invoice_lines(items: &[Priced], period: Period) -> Vec<Line> {
    let mut lines = Vec::with_capacity(items.len() * 2);
    for i in items {
        lines.push(Line {
            product_id: i.product_id.clone(),
            description: format!("{} ({}), first period, {}", i.name, i.code, period.label()),
            quantity: i.quantity,
            unit_minor: i.unit_minor,
        });
        if i.setup_fee_minor > 0 {
            lines.push(Line {
                product_id: i.product_id.clone(),
                description: format!("{} ({}), setup fee", i.name, i.code),
                quantity: i.quantity,
                unit_minor: i.setup_fee_minor,
            });
        }
    }
    lines
}

/// The sum of the lines before discounts and tax; `None` on overflow.
pub fn subtotal(lines: &[Line]) -> Option<i64> {
    lines
        .iter()
        .try_fold(0i64, |acc, l| acc.checked_add(l.amount()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(code: &str, qty: i64, unit: i64, setup: i64) -> Priced {
        Priced {
            product_id: format!("id-{code}"),
            name: code.to_string(),
            code: code.to_string(),
            quantity: qty,
            unit_minor: unit,
            setup_fee_minor: setup,
        }
    }

    #[test]
    fn each_item_bills_its_first_period_then_its_setup_fee() {
        let lines = first_invoice_lines(
            &[item("PRO", 1, 1999, 500), item("IP", 2, 300, 0)],
            Period::Monthly,
        );
        let got: Vec<(i64, i64, Option<i64>)> = lines
            .iter()
            .map(|l| (l.quantity, l.unit_minor, l.amount()))
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1999, Some(1999)),
                (1, 500, Some(500)),
                (2, 300, Some(600))
            ]
        );
        assert!(lines[0].description.contains("per month"));
        assert!(lines[1].description.contains("setup fee"));
        assert_eq!(subtotal(&lines), Some(3099));
    }

    #[test]
    fn no_setup_fee_no_line_and_nothing_ordered_is_zero() {
        assert_eq!(
            first_invoice_lines(&[item("A", 3, 100, 0)], Period::Hourly).len(),
            1
        );
        assert_eq!(subtotal(&[]), Some(0));
    }

    #[test]
    fn an_overflowing_order_has_no_total() {
        let lines = first_invoice_lines(&[item("X", i64::MAX, 2, 0)], Period::Yearly);
        assert_eq!(lines[0].amount(), None);
        assert_eq!(subtotal(&lines), None);
    }
}
