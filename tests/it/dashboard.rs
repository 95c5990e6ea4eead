//! The dashboard (`GET /`) by role: each role's figures, figures that follow the data, the
//! list behind every figure showing the same number of rows, and customers confined to their
//! own tenant.

use reqwest::StatusCode;

use crate::cloudpods::settled;
use crate::helpers::*;

/// The figure `fig-{id}`: its big value's text and its link (`None` when not shown).
fn figure(html: &str, id: &str) -> Option<(String, String)> {
    let at = html.find(&format!("id=\"fig-{id}\""))?;
    let rest = &html[at..];
    let rest = &rest[rest.find("class=\"big\"")?..];
    let h = rest.find("href=\"")? + 6;
    let h_end = h + rest[h..].find('"')?;
    let href = rest[h..h_end].replace("&amp;", "&").replace("&#38;", "&");
    let t = h_end + rest[h_end..].find('>')? + 1;
    let t_end = t + rest[t..].find('<')?;
    Some((rest[t..t_end].to_string(), href))
}

/// The "N in all" of a counted list page.
async fn list_count(c: &TestClient, href: &str) -> i64 {
    let res = c.get(href).await;
    assert_eq!(res.status(), StatusCode::OK, "{href}");
    let html = res.text().await.unwrap();
    let end = html
        .find(" in all</span>")
        .unwrap_or_else(|| panic!("{href} is not counted: {html}"));
    let start = html[..end].rfind(' ').unwrap() + 1;
    html[start..end].parse().unwrap()
}

async fn home(c: &TestClient) -> String {
    let res = c.get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

/// Asserts the figure shows `n` and that its list shows `n` rows too.
async fn assert_count(c: &TestClient, html: &str, id: &str, n: i64) {
    let (text, href) = figure(html, id).unwrap_or_else(|| panic!("no figure {id}: {html}"));
    assert_eq!(text, n.to_string(), "figure {id}");
    assert_eq!(
        list_count(c, &href).await,
        n,
        "the list behind {id}: {href}"
    );
}

pub(crate) async fn issued_invoice(staff: &TestClient, tenant: &str, unit: &str) -> String {
    issued_invoice_in(staff, tenant, "EUR", unit).await
}

pub(crate) async fn issued_invoice_in(
    staff: &TestClient,
    tenant: &str,
    currency: &str,
    unit: &str,
) -> String {
    let res = staff
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant), ("currency", currency)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    let res = staff
        .post(
            &format!("/billing/invoices/{id}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Hosting"),
                ("quantity", "1"),
                ("unit_price", unit),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = staff
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    id
}

fn key() -> String {
    format!("dash-key-{}", mpanel::db::new_id())
}

async fn pay(staff: &TestClient, id: &str, amount: &str) {
    let res = staff
        .post(
            &format!("/billing/invoices/{id}/pay"),
            &[
                ("amount", amount),
                ("method", "Bank transfer"),
                ("reference", "T-1"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", &key()),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

/// A pod of the operator's own (customers' pods come from subscriptions: `order_pod`).
async fn create_pod(staff: &TestClient, name: &str) -> String {
    let res = staff
        .post(
            "/cloudpods",
            &[("name", name), ("plan_code", "MINI"), ("region", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    location(&res).trim_start_matches("/cloudpods/").to_string()
}

#[tokio::test]
async fn staff_figures_follow_the_data_and_match_their_lists() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let operator = app.operator_tenant_id().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &operator, "bill@operator.test", "BILLING")
        .await;
    app.create_user(&owner, &operator, "ops@operator.test", "VIEWER")
        .await;
    let billing = app.signed_in("bill@operator.test").await;
    let ops = app.signed_in("ops@operator.test").await;

    let html = home(&owner).await;
    assert!(html.contains("Welcome, "), "{html}");
    for id in [
        "open",
        "overdue",
        "pods-active",
        "pods-failing",
        "jobs-failed",
    ] {
        assert_count(&owner, &html, id, 0).await;
    }
    assert_eq!(figure(&html, "revenue").unwrap().0, "0");
    assert!(html.contains("href=\"/cloudpods/new\""), "empty state");
    let (events, href) = figure(&html, "events").unwrap();
    assert_eq!(list_count(&owner, &href).await.to_string(), events);
    for id in ["drafts", "payments-today"] {
        assert!(figure(&html, id).is_none(), "{id} is the billing desk's");
    }

    // An issued invoice is open; a payment is revenue and today's payment.
    let inv = issued_invoice(&owner, &tenant, "100.00").await;
    assert_count(&owner, &home(&owner).await, "open", 1).await;
    pay(&owner, &inv, "40.00").await;
    let html = home(&owner).await;
    let (revenue, href) = figure(&html, "revenue").unwrap();
    assert_eq!(revenue, "EUR 40.00");
    assert_eq!(list_count(&owner, &href).await, 1);
    assert!(html.contains("EUR 60.00"), "the amount still due");

    // A refund is taken off the revenue.
    let payment: String = sqlx::query_scalar("SELECT id FROM payments WHERE invoice_id = $1")
        .bind(&inv)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let res = owner
        .post(
            &format!("/billing/invoices/{inv}/refund"),
            &[
                ("payment_id", payment.as_str()),
                ("amount", "15.00"),
                ("reference", "R"),
                ("idempotency_key", &key()),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (revenue, href) = figure(&home(&owner).await, "revenue").unwrap();
    assert_eq!(revenue, "EUR 25.00");
    assert_eq!(list_count(&owner, &href).await, 2, "a payment and a refund");

    // Money in another currency is its own figure, never added to the euros.
    let usd = issued_invoice_in(&owner, &tenant, "USD", "7.00").await;
    pay(&owner, &usd, "5.00").await;
    let html = home(&owner).await;
    let revenue = &html[html.find("id=\"fig-revenue\"").unwrap()..];
    let revenue = &revenue[..revenue.find("</article>").unwrap()];
    assert!(
        revenue.contains(">EUR 25.00<") && revenue.contains(">USD 5.00<"),
        "{revenue}"
    );
    assert!(revenue.contains("3 payment(s) and refund(s)"));
    assert_count(&owner, &html, "open", 2).await;

    // The billing desk: drafts to issue, overdue, payments today.
    let html = home(&billing).await;
    assert_count(&billing, &html, "drafts", 0).await;
    assert_count(&billing, &html, "payments-today", 3).await;
    assert_count(&billing, &html, "overdue", 0).await;
    assert!(figure(&html, "jobs-failed").is_none() && figure(&html, "pods-active").is_none());
    let res = billing
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant.as_str()), ("currency", "EUR")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_count(&billing, &home(&billing).await, "drafts", 1).await;

    // Past its due date the invoice is overdue, and still open.
    sqlx::query("UPDATE invoices SET due_date = '2000-01-31' WHERE id = $1")
        .bind(&inv)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_count(&billing, &home(&billing).await, "overdue", 1).await;
    let html = home(&owner).await;
    assert_count(&owner, &html, "overdue", 1).await;
    assert_count(&owner, &html, "open", 2).await;
    assert_eq!(list_count(&owner, "/billing/invoices").await, 3);

    // A pod whose provisioning fails: a failing pod and a failed job.
    let pod = create_pod(&owner, "web-01").await;
    sqlx::query("UPDATE cloudpods SET provisioner = 'proxmox' WHERE id = $1")
        .bind(&pod)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(mpanel::app::run_worker(app.state.clone(), rx));
    assert_eq!(settled(&app, &pod).await, "FAILED");
    stop.send(true).unwrap();
    worker.await.unwrap();
    let html = home(&owner).await;
    assert_count(&owner, &html, "pods-failing", 1).await;
    assert_count(&owner, &html, "pods-active", 0).await;
    assert_count(&owner, &html, "jobs-failed", 1).await;
    assert!(!html.contains("Create the first pod"));

    // Staff viewers see the platform's pods and jobs, not money.
    let html = home(&ops).await;
    assert_count(&ops, &html, "pods-failing", 1).await;
    assert_count(&ops, &html, "jobs-failed", 1).await;
    assert_count(&ops, &html, "jobs-retrying", 0).await;
    for id in ["revenue", "open", "overdue", "events", "drafts"] {
        assert!(figure(&html, id).is_none(), "viewer sees no {id}");
    }
    assert_eq!(
        ops.get("/billing/payments").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn customers_see_their_own_pods_invoices_and_checklist_only() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let acme = app.create_tenant(&staff, "acme").await;
    let beta = app.create_tenant(&staff, "beta").await;
    let boss = app
        .create_user(&staff, &acme, "boss@acme.test", "OWNER")
        .await;
    app.create_user(&staff, &acme, "dev@acme.test", "MEMBER")
        .await;
    app.create_user(&staff, &beta, "boss@beta.test", "OWNER")
        .await;
    let acme_boss = app.signed_in("boss@acme.test").await;
    let acme_dev = app.signed_in("dev@acme.test").await;
    let beta_boss = app.signed_in("boss@beta.test").await;

    let html = home(&beta_boss).await;
    assert!(html.contains("No pods yet"), "{html}");
    assert!(html.contains("href=\"/catalog\""));
    assert!(
        !html.contains("/cloudpods/new"),
        "customers cannot create pods"
    );
    assert!(html.contains("Nothing to pay"));

    let acme_pod = app.order_pod(&staff, &acme, "acme-web", "MINI").await;
    let beta_pod = app.order_pod(&staff, &beta, "beta-web", "MINI").await;
    assert_eq!(settled(&app, &acme_pod).await, "ACTIVE");
    assert_eq!(settled(&app, &beta_pod).await, "ACTIVE");
    let acme_inv = issued_invoice(&staff, &acme, "100.00").await;
    let beta_inv = issued_invoice(&staff, &beta, "200.00").await;

    let html = home(&acme_boss).await;
    assert!(
        html.contains("acme-web") && !html.contains("beta-web"),
        "{html}"
    );
    assert!(html.contains("badge-ok\">Active</span>"));
    assert!(html.contains(&format!("/billing/invoices/{acme_inv}")));
    assert!(!html.contains(&beta_inv) && !html.contains("EUR 200.00"));
    assert!(html.contains("EUR 100.00"));
    assert!(html.contains("All invoices due (1)"));
    assert_eq!(
        list_count(&acme_boss, "/billing/invoices?status=ISSUED").await,
        1
    );
    assert!(html.contains("All your pods (1)"));
    assert_eq!(list_count(&acme_boss, "/cloudpods").await, 1);
    assert!(!html.to_lowercase().contains("pay online"));
    for id in ["revenue", "open", "pods-active", "jobs-failed", "events"] {
        assert!(figure(&html, id).is_none(), "customers see no {id}");
    }
    assert!(!html.contains("dash-tiles"), "no empty figure grid");
    assert!(html.contains("Turn on MFA") && html.contains("badge-muted\">Off</span>"));

    // A member may see pods, not invoices.
    let html = home(&acme_dev).await;
    assert!(html.contains("acme-web"));
    assert!(!html.contains("Invoices due") && !html.contains(&acme_inv));

    // MFA on with two recovery codes left: the checklist warns.
    let now = mpanel::db::Timestamp::now().0;
    sqlx::query(
        "INSERT INTO user_mfa (user_id, secret_enc, enabled, last_step, enabled_at, created_at, updated_at) \
         VALUES ($1, 'sealed', 1, 0, $2, $2, $2)",
    )
    .bind(&boss)
    .bind(now)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    for i in 0..3 {
        sqlx::query(
            "INSERT INTO recovery_codes (id, user_id, code_hash, used_at, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(mpanel::db::new_id())
        .bind(&boss)
        .bind(format!("hash-{i}"))
        .bind(if i == 0 { Some(now) } else { None })
        .bind(now)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    }
    let html = home(&acme_boss).await;
    assert!(html.contains("badge-ok\">Enabled</span>"), "{html}");
    assert!(html.contains("badge-warn\">Low</span>") && html.contains("Only 2 left"));
    assert!(
        html.contains("href=\"/security/policy\""),
        "owners fix the policy"
    );
}

#[tokio::test]
async fn the_invoice_list_filters_overdue_and_the_payments_list_is_scoped() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let acme = app.create_tenant(&staff, "acme").await;
    let beta = app.create_tenant(&staff, "beta").await;
    app.create_user(&staff, &acme, "boss@acme.test", "OWNER")
        .await;
    let late = issued_invoice(&staff, &acme, "10.00").await;
    issued_invoice(&staff, &acme, "20.00").await;
    let other = issued_invoice(&staff, &beta, "30.00").await;
    sqlx::query("UPDATE invoices SET due_date = '2000-01-31' WHERE id IN ($1, $2)")
        .bind(&late)
        .bind(&other)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        list_count(&staff, "/billing/invoices?status=OVERDUE").await,
        2
    );
    assert_eq!(
        list_count(&staff, "/billing/invoices?status=overdue").await,
        2
    );
    assert_eq!(
        list_count(&staff, "/billing/invoices?status=ISSUED").await,
        3
    );
    let page = staff
        .get("/billing/invoices?status=OVERDUE")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("value=\"OVERDUE\" selected"),
        "the form keeps the choice"
    );
    let customer = app.signed_in("boss@acme.test").await;
    assert_eq!(
        list_count(&customer, "/billing/invoices?status=OVERDUE").await,
        1
    );

    pay(&staff, &late, "10.00").await;
    pay(&staff, &other, "5.00").await;
    assert_eq!(list_count(&staff, "/billing/payments").await, 2);
    assert_eq!(list_count(&customer, "/billing/payments").await, 1);
    let page = customer
        .get("/billing/payments")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("EUR 10.00") && !page.contains("EUR 5.00"),
        "{page}"
    );
    assert_eq!(
        list_count(&customer, &format!("/billing/payments?tenant_id={beta}")).await,
        1,
        "a customer's tenant filter is ignored, never widened"
    );
    assert_eq!(
        list_count(&staff, "/billing/invoices?status=OVERDUE").await,
        1
    );
    assert_eq!(
        list_count(&staff, "/billing/payments?from=2000-01-01&until=2000-12-31").await,
        0
    );
}
