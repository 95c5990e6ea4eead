//! What a verified webhook event asks for, read from its JSON, and the inbox's statuses.
//! Pure: the service acts on the [`Action`]; unit-tested on Stripe's documented shapes.

use serde_json::Value;

use crate::text_enum;

text_enum!(Provider {
    Stripe => "stripe" / "Stripe",
    Generic => "generic" / "Generic (Standard Webhooks)",
});

text_enum!(InboxStatus {
    Pending => "PENDING" / "Pending",
    Processed => "PROCESSED" / "Processed",
    Ignored => "IGNORED" / "Ignored",
    Waiting => "WAITING" / "Waiting for its payment",
    Failed => "FAILED" / "Failed",
    Rejected => "REJECTED" / "Rejected (signature)",
});

impl InboxStatus {
    /// Nothing more will happen to it unless staff replay it.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            InboxStatus::Processed | InboxStatus::Ignored | InboxStatus::Rejected
        )
    }
    /// Staff may replay a verified event (processing is idempotent, so even a processed one).
    pub fn can_replay(self) -> bool {
        self != InboxStatus::Rejected
    }
    /// Shown among the events that need a look.
    pub fn needs_attention(self) -> bool {
        matches!(self, InboxStatus::Failed)
    }
}

/// A pending event older than this is stuck (its job should have run long ago).
pub const STUCK_AFTER_SECS: i64 = 600;

/// What an event asks us to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Payment {
        invoice_id: String,
        amount_minor: i64,
        currency: String,
        reference: String,
        gateway: String,
    },
    Refund {
        gateway: String,
        payment_reference: String,
        reference: String,
        /// Stripe reports everything refunded on the charge so far.
        cumulative: bool,
        amount_minor: i64,
    },
    Dispute {
        gateway: String,
        payment_reference: String,
        reference: String,
        amount_minor: i64,
        reason: String,
    },
    /// Stored and ignored, with why.
    Ignore(String),
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn n(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// The id and type of a Stripe event (for the inbox), if the body is a Stripe event.
pub fn stripe_envelope(body: &Value) -> Option<(String, String)> {
    let id = s(body, "id");
    let kind = s(body, "type");
    (!id.is_empty() && !kind.is_empty() && id.len() <= 200 && kind.len() <= 200)
        .then(|| (id.to_string(), kind.to_string()))
}

/// A payment intent's id, whether the field holds the id or the expanded object.
fn intent_id(v: &Value) -> &str {
    match v.get("payment_intent") {
        Some(Value::String(id)) => id,
        Some(obj @ Value::Object(_)) => s(obj, "id"),
        _ => "",
    }
}

/// What a Stripe event asks for. Payments name our invoice in their metadata (set when the
/// Checkout Session was created); they are never matched by amount.
pub fn stripe_action(body: &Value) -> Result<Action, String> {
    let kind = s(body, "type");
    let obj = body
        .get("data")
        .and_then(|d| d.get("object"))
        .ok_or("the event has no data.object")?;
    let invoice = obj
        .get("metadata")
        .map(|m| s(m, "invoice_id"))
        .unwrap_or("");
    match kind {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            if s(obj, "payment_status") != "paid" {
                return Ok(Action::Ignore(format!(
                    "the session's payment status is {:?}: the money has not arrived yet",
                    s(obj, "payment_status")
                )));
            }
            if invoice.is_empty() {
                return Ok(Action::Ignore(
                    "no invoice_id in the session's metadata".into(),
                ));
            }
            let pi = intent_id(obj);
            Ok(Action::Payment {
                invoice_id: invoice.to_string(),
                amount_minor: n(obj, "amount_total").ok_or("the session has no amount_total")?,
                currency: s(obj, "currency").to_uppercase(),
                reference: if pi.is_empty() { s(obj, "id") } else { pi }.to_string(),
                gateway: "stripe".into(),
            })
        }
        "payment_intent.succeeded" => {
            if invoice.is_empty() {
                return Ok(Action::Ignore(
                    "no invoice_id in the payment's metadata".into(),
                ));
            }
            Ok(Action::Payment {
                invoice_id: invoice.to_string(),
                amount_minor: n(obj, "amount_received")
                    .or_else(|| n(obj, "amount"))
                    .ok_or("the payment has no amount")?,
                currency: s(obj, "currency").to_uppercase(),
                reference: s(obj, "id").to_string(),
                gateway: "stripe".into(),
            })
        }
        "charge.refunded" => {
            let pi = intent_id(obj);
            if pi.is_empty() {
                return Ok(Action::Ignore("the charge has no payment_intent".into()));
            }
            let total = n(obj, "amount_refunded").ok_or("the charge has no amount_refunded")?;
            Ok(Action::Refund {
                gateway: "stripe".into(),
                payment_reference: pi.to_string(),
                reference: format!("{}:refunded:{total}", s(obj, "id")),
                cumulative: true,
                amount_minor: total,
            })
        }
        "charge.dispute.created" => {
            let pi = intent_id(obj);
            if pi.is_empty() {
                return Ok(Action::Ignore("the dispute names no payment_intent".into()));
            }
            Ok(Action::Dispute {
                gateway: "stripe".into(),
                payment_reference: pi.to_string(),
                reference: s(obj, "id").to_string(),
                amount_minor: n(obj, "amount").unwrap_or(0),
                reason: s(obj, "reason").to_string(),
            })
        }
        other => Ok(Action::Ignore(format!("event type {other} is not used"))),
    }
}

/// The generic gateway's payload (documented in the README):
///
/// ```json
/// {"type": "payment.succeeded", "invoice_id": "…", "amount_minor": 2499, "currency": "EUR",
///  "gateway": "paypal", "reference": "PAY-123"}
/// {"type": "payment.refunded", "amount_minor": 500, "currency": "EUR", "gateway": "paypal",
///  "reference": "REF-9", "payment_reference": "PAY-123"}
/// ```
pub fn generic_type(body: &Value) -> String {
    s(body, "type").chars().take(200).collect()
}

pub fn generic_action(body: &Value) -> Result<Action, String> {
    let gateway = s(body, "gateway").trim().to_lowercase();
    let valid_gateway = !gateway.is_empty()
        && gateway.len() <= 40
        && gateway
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let amount = n(body, "amount_minor");
    let reference = s(body, "reference").trim();
    match s(body, "type") {
        "payment.succeeded" => {
            if !valid_gateway {
                return Err("gateway must be a short name such as \"paypal\"".into());
            }
            let invoice = s(body, "invoice_id");
            if invoice.is_empty() || reference.is_empty() {
                return Err("invoice_id and reference are required".into());
            }
            Ok(Action::Payment {
                invoice_id: invoice.to_string(),
                amount_minor: amount
                    .filter(|a| *a > 0)
                    .ok_or("amount_minor must be a positive integer")?,
                currency: s(body, "currency").to_uppercase(),
                reference: reference.to_string(),
                gateway,
            })
        }
        "payment.refunded" => {
            if !valid_gateway {
                return Err("gateway must be a short name such as \"paypal\"".into());
            }
            let of = s(body, "payment_reference");
            if of.is_empty() || reference.is_empty() {
                return Err("payment_reference and reference are required".into());
            }
            Ok(Action::Refund {
                gateway,
                payment_reference: of.to_string(),
                reference: reference.to_string(),
                cumulative: false,
                amount_minor: amount
                    .filter(|a| *a > 0)
                    .ok_or("amount_minor must be a positive integer")?,
            })
        }
        other => Ok(Action::Ignore(format!("event type {other:?} is not used"))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn checkout_session_completed_pays_the_invoice_in_its_metadata() {
        let ev = json!({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {
            "id": "cs_1", "object": "checkout.session", "payment_status": "paid",
            "amount_total": 2499, "currency": "eur", "payment_intent": "pi_1",
            "metadata": {"invoice_id": "inv-1"}}}});
        assert_eq!(
            stripe_envelope(&ev),
            Some(("evt_1".into(), "checkout.session.completed".into()))
        );
        assert_eq!(
            stripe_action(&ev),
            Ok(Action::Payment {
                invoice_id: "inv-1".into(),
                amount_minor: 2499,
                currency: "EUR".into(),
                reference: "pi_1".into(),
                gateway: "stripe".into()
            })
        );
        let unpaid = json!({"id": "evt_2", "type": "checkout.session.completed", "data": {"object": {
            "payment_status": "unpaid", "amount_total": 2499, "metadata": {"invoice_id": "inv-1"}}}});
        assert!(matches!(stripe_action(&unpaid), Ok(Action::Ignore(_))));
    }

    #[test]
    fn payment_intent_refund_dispute_and_unknown() {
        let pi = json!({"id": "evt_3", "type": "payment_intent.succeeded", "data": {"object": {
            "id": "pi_1", "amount": 2499, "amount_received": 2499, "currency": "eur",
            "metadata": {"invoice_id": "inv-1"}}}});
        assert!(
            matches!(stripe_action(&pi), Ok(Action::Payment { ref reference, .. }) if reference == "pi_1")
        );
        let refund = json!({"id": "evt_4", "type": "charge.refunded", "data": {"object": {
            "id": "ch_1", "payment_intent": "pi_1", "amount": 2499, "amount_refunded": 500}}});
        assert_eq!(
            stripe_action(&refund),
            Ok(Action::Refund {
                gateway: "stripe".into(),
                payment_reference: "pi_1".into(),
                reference: "ch_1:refunded:500".into(),
                cumulative: true,
                amount_minor: 500
            })
        );
        let dispute = json!({"id": "evt_5", "type": "charge.dispute.created", "data": {"object": {
            "id": "dp_1", "charge": "ch_1", "payment_intent": "pi_1", "amount": 2499, "reason": "fraudulent"}}});
        assert!(
            matches!(stripe_action(&dispute), Ok(Action::Dispute { ref reason, .. }) if reason == "fraudulent")
        );
        let other = json!({"id": "evt_6", "type": "customer.created", "data": {"object": {}}});
        assert!(matches!(stripe_action(&other), Ok(Action::Ignore(_))));
        assert!(stripe_action(&json!({"id": "evt_7", "type": "x"})).is_err());
        assert_eq!(stripe_envelope(&json!({"type": "x"})), None);
    }

    #[test]
    fn generic_payloads() {
        let pay = json!({"type": "payment.succeeded", "invoice_id": "inv-1", "amount_minor": 2499,
            "currency": "eur", "gateway": "PayPal", "reference": "PAY-1"});
        assert!(
            matches!(generic_action(&pay), Ok(Action::Payment { ref gateway, .. }) if gateway == "paypal")
        );
        let refund = json!({"type": "payment.refunded", "amount_minor": 500, "gateway": "paypal",
            "reference": "R-1", "payment_reference": "PAY-1"});
        assert!(matches!(
            generic_action(&refund),
            Ok(Action::Refund {
                cumulative: false,
                ..
            })
        ));
        assert!(
            generic_action(&json!({"type": "payment.succeeded", "gateway": "paypal"})).is_err()
        );
        assert!(
            generic_action(
                &json!({"type": "payment.succeeded", "invoice_id": "i", "reference": "r",
            "amount_minor": 1.5, "gateway": "paypal"})
            )
            .is_err()
        );
        assert!(
            generic_action(
                &json!({"type": "payment.succeeded", "invoice_id": "i", "reference": "r",
            "amount_minor": 10, "gateway": "pay pal"})
            )
            .is_err()
        );
        assert!(matches!(
            generic_action(&json!({"type": "ping"})),
            Ok(Action::Ignore(_))
        ));
    }

    #[test]
    fn statuses() {
        assert!(InboxStatus::Processed.is_final());
        assert!(!InboxStatus::Waiting.is_final());
        assert!(!InboxStatus::Rejected.can_replay());
        assert!(InboxStatus::Failed.needs_attention());
    }
}
