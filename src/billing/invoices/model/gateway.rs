//! Rules for money that arrives through a payment gateway: which gateway a staff entry names,
//! and how much of an invoice's payments is overpaid (the account credit it gives).

use super::InvoiceStatus;

/// The gateway a payment method names: a staff entry "Stripe" with reference `pi_…` is the
/// same money as Stripe's webhook for `pi_…`. Methods without a gateway (bank transfer, cash,
/// card at the counter, other) give "" and their references are not unique.
pub fn gateway_of_method(method: &str) -> &'static str {
    match method.trim() {
        "Stripe" => "stripe",
        "PayPal" => "paypal",
        _ => "",
    }
}

/// The method shown for a payment recorded by a gateway's webhook.
pub fn method_of_gateway(gateway: &str) -> String {
    match gateway {
        "stripe" => "Stripe".into(),
        "paypal" => "PayPal".into(),
        other => other.to_string(),
    }
}

/// What an invoice has received beyond what it asks for: the net of its payments minus what
/// is billed (total less credit notes). A void invoice asks for nothing, so all of its net
/// payments are over. Never negative.
pub fn overpaid(status: InvoiceStatus, total: i64, credited: i64, paid: i64, refunded: i64) -> i64 {
    let net = paid - refunded;
    let asked = if status == InvoiceStatus::Void {
        0
    } else {
        total - credited
    };
    (net - asked).max(0)
}

/// The account credit an invoice's change moves: the overpayment after less the one before
/// (positive: credit added; negative: a refund took overpaid money back).
pub fn credit_delta(before: i64, after: i64) -> i64 {
    after - before
}

/// How much of a tenant's credit balance an invoice with `due` left spends.
pub fn credit_to_apply(balance: i64, due: i64) -> i64 {
    balance.min(due).max(0)
}

/// The refund a gateway's cumulative "amount refunded" on a payment still needs, given what is
/// recorded already (events may arrive twice or out of order: never negative, never twice).
pub fn refund_still_due(cumulative: i64, recorded: i64, payment: i64) -> i64 {
    (cumulative.min(payment) - recorded).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_name_their_gateway() {
        assert_eq!(gateway_of_method("Stripe"), "stripe");
        assert_eq!(gateway_of_method("PayPal"), "paypal");
        assert_eq!(gateway_of_method("Bank transfer"), "");
        assert_eq!(method_of_gateway("stripe"), "Stripe");
        assert_eq!(method_of_gateway("mollie"), "mollie");
    }

    #[test]
    fn overpayment_is_what_is_paid_beyond_the_bill() {
        use InvoiceStatus::*;
        assert_eq!(overpaid(Issued, 2499, 0, 2000, 0), 0);
        assert_eq!(overpaid(Paid, 2499, 0, 3000, 0), 501);
        assert_eq!(overpaid(Paid, 2499, 499, 3000, 0), 1000);
        assert_eq!(overpaid(Paid, 2499, 0, 3000, 501), 0);
        assert_eq!(overpaid(Issued, 2499, 0, 3000, 1000), 0);
        assert_eq!(overpaid(Void, 2499, 0, 3000, 1000), 2000);
        assert_eq!(credit_delta(501, 0), -501);
    }

    #[test]
    fn credit_spends_at_most_what_is_due() {
        assert_eq!(credit_to_apply(501, 2499), 501);
        assert_eq!(credit_to_apply(5000, 2499), 2499);
        assert_eq!(credit_to_apply(-10, 2499), 0);
        assert_eq!(credit_to_apply(100, 0), 0);
    }

    #[test]
    fn cumulative_refunds_converge() {
        // 500 then 1000 cumulative: 500 and 500
        assert_eq!(refund_still_due(500, 0, 2499), 500);
        assert_eq!(refund_still_due(1000, 500, 2499), 500);
        // out of order: 1000 first, the late 500 adds nothing
        assert_eq!(refund_still_due(1000, 0, 2499), 1000);
        assert_eq!(refund_still_due(500, 1000, 2499), 0);
        // repeated
        assert_eq!(refund_still_due(1000, 1000, 2499), 0);
        // never more than the payment
        assert_eq!(refund_still_due(9999, 0, 2499), 2499);
    }
}
