//! A small typed client for the part of Stripe's REST API the panel uses: creating a
//! Checkout Session (`POST /v1/checkout/sessions`, form-encoded, `Authorization: Bearer
//! <secret key>`, an `Idempotency-Key`). The base URL is a setting, so tests run it against
//! a double that speaks the same protocol.

use std::time::Duration;

use serde::Deserialize;

#[derive(Clone)]
pub struct StripeClient {
    http: reqwest::Client,
    base: String,
    secret_key: String,
}

/// What a Checkout Session is created for.
pub struct CheckoutRequest<'a> {
    pub invoice_id: &'a str,
    pub invoice_number: &'a str,
    pub amount_minor: i64,
    /// ISO code; sent lower-case as Stripe expects.
    pub currency: &'a str,
    pub customer_email: &'a str,
    pub success_url: &'a str,
    pub cancel_url: &'a str,
    pub idempotency_key: &'a str,
}

#[derive(Debug, Clone, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub url: String,
}

#[derive(Deserialize)]
struct StripeErrorBody {
    error: StripeErrorDetail,
}

#[derive(Deserialize)]
struct StripeErrorDetail {
    #[serde(default)]
    message: String,
}

impl StripeClient {
    pub fn new(base: &str, secret_key: &str) -> anyhow::Result<StripeClient> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .user_agent(concat!("mpanel/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(StripeClient {
            http,
            base: base.trim_end_matches('/').to_string(),
            secret_key: secret_key.to_string(),
        })
    }

    /// The form Stripe's API takes for a one-off payment of the invoice's amount due; the
    /// invoice id goes in the session's and the payment intent's metadata, so every later
    /// event (session completed, payment succeeded, refunded, disputed) names it.
    pub fn checkout_form(r: &CheckoutRequest<'_>) -> Vec<(String, String)> {
        let mut f: Vec<(String, String)> = vec![
            ("mode".into(), "payment".into()),
            ("client_reference_id".into(), r.invoice_id.into()),
            ("success_url".into(), r.success_url.into()),
            ("cancel_url".into(), r.cancel_url.into()),
            ("line_items[0][quantity]".into(), "1".into()),
            (
                "line_items[0][price_data][currency]".into(),
                r.currency.to_lowercase(),
            ),
            (
                "line_items[0][price_data][unit_amount]".into(),
                r.amount_minor.to_string(),
            ),
            (
                "line_items[0][price_data][product_data][name]".into(),
                format!("Invoice {}", r.invoice_number),
            ),
            ("metadata[invoice_id]".into(), r.invoice_id.into()),
            ("metadata[invoice_number]".into(), r.invoice_number.into()),
            (
                "payment_intent_data[metadata][invoice_id]".into(),
                r.invoice_id.into(),
            ),
        ];
        if !r.customer_email.is_empty() {
            f.push(("customer_email".into(), r.customer_email.into()));
        }
        f
    }

    pub async fn create_checkout_session(
        &self,
        r: &CheckoutRequest<'_>,
    ) -> anyhow::Result<CheckoutSession> {
        let res = self
            .http
            .post(format!("{}/v1/checkout/sessions", self.base))
            .bearer_auth(&self.secret_key)
            .header("Idempotency-Key", r.idempotency_key)
            .form(&Self::checkout_form(r))
            .send()
            .await?;
        let status = res.status();
        if !status.is_success() {
            let text = res.text().await.unwrap_or_default();
            let message = serde_json::from_str::<StripeErrorBody>(&text)
                .map(|b| b.error.message)
                .unwrap_or_else(|_| text.chars().take(200).collect());
            anyhow::bail!("Stripe answered {status}: {message}");
        }
        let session: CheckoutSession = res.json().await?;
        anyhow::ensure!(
            session.url.starts_with("https://") || session.url.starts_with("http://"),
            "Stripe returned a session without a checkout URL"
        );
        Ok(session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_carries_amount_currency_and_invoice() {
        let f = StripeClient::checkout_form(&CheckoutRequest {
            invoice_id: "inv-1",
            invoice_number: "INV-2026-000001",
            amount_minor: 2499,
            currency: "EUR",
            customer_email: "",
            success_url: "https://panel/s",
            cancel_url: "https://panel/c",
            idempotency_key: "k",
        });
        let get = |k: &str| f.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("mode"), Some("payment"));
        assert_eq!(get("line_items[0][price_data][unit_amount]"), Some("2499"));
        assert_eq!(get("line_items[0][price_data][currency]"), Some("eur"));
        assert_eq!(get("metadata[invoice_id]"), Some("inv-1"));
        assert_eq!(
            get("payment_intent_data[metadata][invoice_id]"),
            Some("inv-1")
        );
        assert_eq!(get("customer_email"), None);
    }
}
