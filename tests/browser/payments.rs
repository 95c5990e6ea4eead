//! A customer pays an order's invoice online: Pay now, the Stripe double's checkout page,
//! "Pay", back on the invoice, which turns Paid by itself, and the service activating.

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp, location};
use crate::stripe_double::StripeDouble;

#[tokio::test]
async fn a_customer_pays_an_invoice_online_and_the_service_activates() {
    let stripe = StripeDouble::start().await;
    let s = stripe.clone();
    let app = TestApp::spawn_with(move |c| s.configure(c)).await;
    stripe.set_panel(&app.base);
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    let res = staff
        .post(
            "/billing/products/0192f000-0000-7000-8000-000000000002/prices",
            &[
                ("currency", "EUR"),
                ("period", "MONTHLY"),
                ("amount", "19.00"),
                ("setup_fee", "5.00"),
            ],
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    // The customer's order (placed through HTTP; its page journey has its own test).
    let owner = app.signed_in("owner@acme.test").await;
    let res = owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("addon", ""),
                ("pod_name", "shop"),
                ("region", ""),
                ("idempotency_key", "browser-pay-order-0001"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        location(&res)
    );
    let invoice: String = sqlx::query_scalar(
        "SELECT i.id FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id \
         WHERE s.pod_name = 'shop'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();

    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", "owner@acme.test").await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.follow("Invoices").await;
    b.expect_heading("Invoices").await;
    b.goto(&format!("{}/billing/invoices/{invoice}", app.base))
        .await;
    b.expect_text("Pay this invoice").await;
    b.screenshot("invoice-pay-now").await;
    b.press("Pay now").await;
    // Stripe's hosted page (the double): the amount and the invoice it pays.
    b.expect_heading("Pay 2400 eur").await;
    assert!(
        b.client
            .current_url()
            .await
            .unwrap()
            .as_str()
            .starts_with(&stripe.base)
    );
    b.press("Pay").await;
    // Back on the invoice: it turns Paid by itself once the webhook is processed.
    b.wait_xpath("//p[@id='invoice-status']/strong[normalize-space(.)='Paid']")
        .await;
    assert_eq!(b.path().await, format!("/billing/invoices/{invoice}"));
    b.expect_gone("Pay now").await;
    b.screenshot("invoice-paid-online").await;
    // The order activates: the services list turns Active without a reload.
    b.follow("Services").await;
    b.expect_heading("Services").await;
    b.wait_xpath("//td/span[normalize-space(.)='Active']").await;
}
