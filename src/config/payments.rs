//! Online payments' settings (Stripe Checkout, payment webhooks, bank details).

use clap::Args;

/// Online payments: Stripe Checkout and the signed payment webhooks.
#[derive(Args, Debug, Clone, Default)]
pub struct PaymentConfig {
    /// Stripe secret API key (sk_live_… / sk_test_…). Without it the Pay button is not shown
    /// and invoices show the bank details instead.
    #[arg(
        long,
        env = "MPANEL_STRIPE_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub stripe_secret_key: Option<String>,

    /// Signing secret of the Stripe webhook endpoint (whsec_…) that posts to
    /// `/billing/webhooks/stripe`.
    #[arg(
        long,
        env = "MPANEL_STRIPE_WEBHOOK_SECRET",
        hide_env_values = true,
        global = true
    )]
    pub stripe_webhook_secret: Option<String>,

    /// Base URL of the Stripe API (tests point it at a double).
    #[arg(
        long,
        env = "MPANEL_STRIPE_API_URL",
        default_value = "https://api.stripe.com",
        global = true
    )]
    pub stripe_api_url: String,

    /// Origin of Stripe's hosted payment page: "Pay now" is redirected there, so the invoice
    /// page's Content-Security-Policy allows its forms to go there.
    #[arg(
        long,
        env = "MPANEL_STRIPE_CHECKOUT_ORIGIN",
        default_value = "https://checkout.stripe.com",
        global = true
    )]
    pub stripe_checkout_origin: String,

    /// Standard Webhooks secrets (whsec_<base64>) for `/billing/webhooks/generic`,
    /// comma-separated: during a key rotation both the old and the new one are accepted.
    #[arg(
        long,
        env = "MPANEL_GENERIC_WEBHOOK_SECRETS",
        hide_env_values = true,
        value_delimiter = ',',
        global = true
    )]
    pub generic_webhook_secrets: Vec<String>,

    /// How to pay by bank transfer, shown on issued invoices when Stripe is not configured
    /// (e.g. "IBAN DE89 3704 0044 0532 0130 00, BIC COBADEFFXXX").
    #[arg(long, env = "MPANEL_BANK_DETAILS", default_value = "", global = true)]
    pub bank_details: String,
}

impl PaymentConfig {
    /// Stripe Checkout is offered (a secret key is set).
    pub fn stripe_enabled(&self) -> bool {
        self.stripe_secret_key
            .as_deref()
            .is_some_and(|k| !k.trim().is_empty())
    }
}
