//! A customer orders a CloudPod and watches it come up: the order page's price breakdown, the
//! staff member recording the payment, and the services page updating itself without a reload.

use tokio::sync::watch;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp, location};

#[tokio::test]
async fn a_customer_orders_a_pro_pod_pays_and_watches_it_come_up() {
    // No worker until the payment is recorded: the customer first sees the order waiting.
    let app = TestApp::spawn_without_worker().await;
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

    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", "owner@acme.test").await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.follow("Services").await;
    b.expect_heading("Services").await;
    b.expect_text("No subscriptions yet.").await;
    b.follow("Order a service").await;
    b.expect_heading("Order a service").await;
    b.choose("Product", "CloudPod Pro (CLOUDPOD-PRO)").await;
    b.choose("Billing period", "Monthly").await;
    b.fill(
        "Pod name (CloudPod products; becomes the host name)",
        "shop",
    )
    .await;
    b.press("Review").await;
    // The breakdown before anything is created: the period's price, the setup fee, the total.
    b.expect_text("Review: CloudPod Pro for").await;
    b.expect_text("Setup fees (included above)").await;
    b.expect_text("19.00").await;
    b.expect_text("5.00").await;
    let total = b
        .client
        .find(fantoccini::Locator::Id("order-total"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(total.contains("24.00"), "total {total}");
    b.screenshot("order-review").await;
    b.press("Confirm order").await;
    b.expect_text("Pending activation").await;

    // Staff record the bank transfer on the order's invoice.
    let invoice: String = sqlx::query_scalar(
        "SELECT i.id FROM invoices i JOIN subscriptions s ON s.id = i.subscription_id \
         WHERE s.pod_name = 'shop'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    let res = staff
        .post(
            &format!("/billing/invoices/{invoice}/pay"),
            &[
                ("amount", "24.00"),
                ("method", "Bank transfer"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", "browser-order-payment"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        location(&res)
    );

    // The customer is on their services list; it refreshes itself while the order waits.
    b.follow("Services").await;
    b.expect_heading("Services").await;
    b.expect_text("Pending activation").await;
    let (stop, rx) = watch::channel(false);
    let worker = tokio::spawn(mpanel::app::run_worker(app.state.clone(), rx));
    // No reload: the row turns Active and links the pod once it is up.
    b.wait_xpath("//td/span[normalize-space(.)='Active']").await;
    b.follow("shop").await;
    b.expect_heading("CloudPod shop").await;
    b.expect_text("2 vCPU · 2 GB RAM · 50 GB disk").await;
    stop.send(true).unwrap();
    worker.await.unwrap();
}
