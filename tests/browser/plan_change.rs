//! A customer upgrades their PRO pod to BUSINESS: the plan form, the review with the credit,
//! the charge and the difference, the confirmation; staff record the payment over HTTP; the
//! customer watches the subscription's plan section turn to the BUSINESS pod without a reload.

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp, TestClient, location, wait_until};

async fn pay(app: &TestApp, staff: &TestClient, invoice: &str, key: &str) {
    let due: i64 = sqlx::query_scalar("SELECT due_minor FROM invoices WHERE id = $1")
        .bind(invoice)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let amount = format!("{}.{:02}", due / 100, due % 100);
    let res = staff
        .post(
            &format!("/billing/invoices/{invoice}/pay"),
            &[
                ("amount", amount.as_str()),
                ("method", "Bank transfer"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", key),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::SEE_OTHER,
        "{}",
        location(&res)
    );
}

#[tokio::test]
async fn a_customer_upgrades_pro_to_business_pays_and_watches_the_pod_resize() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    for (product, amount) in [
        ("0192f000-0000-7000-8000-000000000002", "19.99"),
        ("0192f000-0000-7000-8000-000000000003", "39.99"),
    ] {
        let res = staff
            .post(
                &format!("/billing/products/{product}/prices"),
                &[
                    ("currency", "EUR"),
                    ("period", "MONTHLY"),
                    ("amount", amount),
                    ("setup_fee", ""),
                ],
            )
            .await;
        assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    }
    // The customer's PRO pod, ordered and paid, up and running.
    let owner = app.signed_in("owner@acme.test").await;
    let res = owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("pod_name", "shop"),
                ("region", ""),
                ("idempotency_key", "browser-plan-order-0001"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let sub = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let first: String = sqlx::query_scalar("SELECT id FROM invoices WHERE subscription_id = $1")
        .bind(&sub)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    pay(&app, &staff, &first, "browser-plan-first").await;
    let a = &app;
    wait_until("the PRO pod is up and idle", 30, || async {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT s.status, c.operation FROM subscriptions s \
             JOIN cloudpods c ON c.id = s.cloudpod_id WHERE s.id = $1",
        )
        .bind(&sub)
        .fetch_optional(&a.state.db.pool)
        .await
        .unwrap();
        row.filter(|(s, op)| s == "ACTIVE" && op.is_empty())
            .map(|_| ())
    })
    .await;
    // A week into the period.
    let start: i64 =
        sqlx::query_scalar("SELECT current_period_start FROM subscriptions WHERE id = $1")
            .bind(&sub)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    app.state
        .clock
        .advance_to(mpanel::db::Timestamp(start).plus_secs(7 * 86_400));

    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", "owner@acme.test").await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.follow("Services").await;
    b.expect_heading("Services").await;
    b.follow("CloudPod Pro").await;
    b.expect_heading("CloudPod Pro").await;
    b.expect_text("PRO plan: 2 vCPU, 2048 MB RAM, 50 GB disk")
        .await;
    b.follow("Change plan").await;
    b.expect_heading("Change the plan of CloudPod Pro").await;
    b.field("New plan")
        .await
        .select_by_value("CLOUDPOD-BUSINESS")
        .await
        .unwrap();
    b.press("Review").await;
    // The two lines and the difference before anything is written.
    b.expect_text("Review: CloudPod Pro → CloudPod Business")
        .await;
    b.expect_text("Credit: unused CloudPod Pro").await;
    b.expect_text("Total due now").await;
    let text = |id: &'static str| {
        let b = &b;
        async move {
            b.client
                .find(fantoccini::Locator::Id(id))
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    let (credit, charge, total) = (
        text("change-credit").await,
        text("change-charge").await,
        text("change-total").await,
    );
    let minor = |s: &str| -> i64 {
        s.chars()
            .filter(|c| c.is_ascii_digit())
            .collect::<String>()
            .parse()
            .unwrap()
    };
    assert!(minor(&credit) > 0 && minor(&charge) > minor(&credit));
    assert_eq!(minor(&total), minor(&charge) - minor(&credit), "{total}");
    b.screenshot("plan-change-review").await;
    b.press("Confirm plan change").await;
    b.expect_text("An upgrade to CloudPod Business waits for invoice")
        .await;
    let (invoice, invoice_total): (String, i64) = sqlx::query_as(
        "SELECT id, total_minor FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'PLAN_CHANGE'",
    )
    .bind(&sub)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(invoice_total, minor(&total));
    b.expect_text("PRO plan: 2 vCPU, 2048 MB RAM, 50 GB disk")
        .await;

    // Staff record the payment; the customer's page follows without a reload.
    pay(&app, &staff, &invoice, "browser-plan-upgrade").await;
    b.expect_text("BUSINESS plan: 4 vCPU, 4096 MB RAM, 100 GB disk")
        .await;
    b.expect_gone("waits for invoice").await;
    b.expect_text("CloudPod Business").await;
    b.screenshot("plan-change-done").await;
}
