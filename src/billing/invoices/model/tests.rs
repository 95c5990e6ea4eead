//! Unit tests of the invoice rules, against hand-computed examples.

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

#[test]
fn offered_actions_follow_the_service_rules() {
    use InvoiceStatus::*;
    assert!(can_pay(Issued));
    assert!(!can_pay(Paid) && !can_pay(Draft) && !can_pay(Void));
    assert!(can_credit(Issued) && !can_credit(Paid));
    // Void: issued and nothing paid net; a partly paid invoice is refused, so not offered.
    assert!(can_void(Issued, 0, 0));
    assert!(can_void(Issued, 500, 500));
    assert!(!can_void(Issued, 500, 0));
    assert!(!can_void(Issued, 500, 200));
    assert!(!can_void(Draft, 0, 0) && !can_void(Paid, 0, 0) && !can_void(Void, 0, 0));
    for s in InvoiceStatus::ALL {
        for (paid, refunded) in [(0, 0), (100, 0), (100, 100)] {
            assert_eq!(
                can_void(*s, paid, refunded),
                check_void(*s, paid, refunded).is_ok()
            );
        }
    }
}

#[test]
fn refundable_is_the_payment_less_its_successful_refunds() {
    use PaymentStatus::*;
    let refunds = [
        (Some("p1"), Success, 300),
        (Some("p1"), Failed, 200),
        (Some("p2"), Success, 50),
        (None, Success, 1000),
    ];
    assert_eq!(refunded_of("p1", refunds), 300);
    assert_eq!(
        refundable("p1", PaymentKind::Payment, Success, 1000, refunds),
        700
    );
    assert_eq!(
        refundable("p1", PaymentKind::Payment, Failed, 1000, refunds),
        0
    );
    assert_eq!(
        refundable("r1", PaymentKind::Refund, Success, 300, refunds),
        0
    );
}

#[test]
fn a_bad_stored_rate_is_an_error() {
    assert_eq!(stored_rate("7.7"), Ok(d("7.7")));
    assert_eq!(stored_rate("0"), Ok(Decimal::ZERO));
    assert!(stored_rate("").is_err());
    assert!(stored_rate("abc").is_err());
}
