use reqwest::StatusCode;

use crate::helpers::*;

/// A tenant with a 19% tax rule for its region (eu-central) and a staff owner.
async fn billing_world() -> (TestApp, TestClient, String) {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let res = owner
        .post(
            "/billing/tax-rules",
            &[("name", "VAT"), ("rate", "19"), ("region", "eu-central")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    (app, owner, tenant)
}

async fn draft(owner: &TestClient, tenant: &str, currency: &str) -> String {
    let res = owner
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant), ("currency", currency)],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string()
}

async fn line(
    owner: &TestClient,
    id: &str,
    kind: &str,
    description: &str,
    quantity: &str,
    unit: &str,
) -> reqwest::Response {
    owner
        .post(
            &format!("/billing/invoices/{id}/lines"),
            &[
                ("kind", kind),
                ("description", description),
                ("quantity", quantity),
                ("unit_price", unit),
            ],
        )
        .await
}

async fn pay(c: &TestClient, id: &str, amount: &str, key: &str) -> reqwest::Response {
    c.post(
        &format!("/billing/invoices/{id}/pay"),
        &[
            ("amount", amount),
            ("method", "Bank transfer"),
            ("reference", "T-1"),
            ("paid_on", ""),
            ("status", "SUCCESS"),
            ("idempotency_key", key),
        ],
    )
    .await
}

/// The maintained per-(tenant, status, currency) summaries equal a full aggregate.
async fn assert_summaries_consistent(app: &TestApp) {
    let pool = &app.state.db.pool;
    let actual: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT tenant_id, status, currency, COUNT(*), CAST(SUM(total_minor) AS BIGINT), CAST(SUM(due_minor) AS BIGINT) \
         FROM invoices GROUP BY tenant_id, status, currency ORDER BY tenant_id, status, currency",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let kept: Vec<(String, String, String, i64, i64, i64)> = sqlx::query_as(
        "SELECT tenant_id, status, currency, count, total_minor, due_minor FROM invoice_summaries \
         WHERE count <> 0 OR total_minor <> 0 OR due_minor <> 0 ORDER BY tenant_id, status, currency",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(kept, actual);
}

fn key(i: usize) -> String {
    format!("test-key-{i:04}-{}", mpanel::db::new_id())
}

async fn invoice_row(app: &TestApp, id: &str) -> (String, Option<String>, i64, i64, i64) {
    sqlx::query_as(
        "SELECT status, number, total_minor, due_minor, paid_minor FROM invoices WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn draft_to_issued_with_frozen_totals_snapshot_and_number() {
    let (app, owner, tenant) = billing_world().await;
    let id = draft(&owner, &tenant, "").await;
    assert_eq!(
        line(&owner, &id, "ITEM", "Hosting", "2", "49.99")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        line(&owner, &id, "ITEM", "Setup", "1", "10").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        line(&owner, &id, "DISCOUNT", "Loyalty", "1", "9.98")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // bad lines: message beside the field, values kept
    let res = line(&owner, &id, "ITEM", "Oops", "0", "9.999").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("The quantity must be more than zero.")
            && html.contains("EUR has 2 decimal places at most.")
            && html.contains("value=\"Oops\"")
    );
    assert_eq!(
        line(&owner, &id, "TAX", "Manual tax", "1", "5")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let page = owner
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("total EUR 119.00"),
        "draft preview with 19% VAT"
    );

    let res = owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let year = time::OffsetDateTime::now_utc().year();
    let (status, number, total, due, _) = invoice_row(&app, &id).await;
    assert_eq!((status.as_str(), total, due), ("ISSUED", 11900, 11900));
    assert_eq!(number.unwrap(), format!("INV-{year}-000001"));
    let tax_line: i64 = sqlx::query_scalar(
        "SELECT amount_minor FROM invoice_lines WHERE invoice_id = $1 AND kind = 'TAX'",
    )
    .bind(&id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(tax_line, 1900);

    // frozen: no more edits; the buyer snapshot survives a rename
    let res = line(&owner, &id, "ITEM", "Late", "1", "1").await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("can no longer be edited")
    );
    assert_eq!(
        owner
            .post(&format!("/billing/invoices/{id}/issue"), &[])
            .await
            .status(),
        StatusCode::CONFLICT
    );
    let res = owner
        .post(
            &format!("/tenants/{tenant}"),
            &[
                ("name", "Renamed Ltd"),
                ("billing_email", "b@acme.test"),
                ("country", "DE"),
                ("region", "eu-central"),
                ("currency", "EUR"),
                ("address", "1 New Street"),
                ("tax_id", "DE1"),
                ("net_terms_days", "30"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = owner
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Tenant acme") && page.contains("Operator Hosting"),
        "snapshot keeps the names at issue"
    );
    let pdf = owner.get(&format!("/billing/invoices/{id}/pdf")).await;
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains(&format!("INV-{year}-000001"))
            && text.contains("EUR 119.00")
            && text.contains("Tenant acme")
    );
    // the next invoice of the tenant takes the next number and the new terms
    let id2 = draft(&owner, &tenant, "").await;
    line(&owner, &id2, "ITEM", "More", "1", "1").await;
    owner
        .post(&format!("/billing/invoices/{id2}/issue"), &[])
        .await;
    let (_, number2, ..) = invoice_row(&app, &id2).await;
    assert_eq!(number2.unwrap(), format!("INV-{year}-000002"));
    let (issue, due_date): (String, String) =
        sqlx::query_as("SELECT issue_date, due_date FROM invoices WHERE id = $1")
            .bind(&id2)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    let issue = time::Date::parse(
        &issue,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    assert_eq!(due_date, (issue + time::Duration::days(30)).to_string());
}

#[tokio::test]
async fn fifty_concurrent_issues_get_fifty_consecutive_numbers() {
    let (app, owner, tenant) = billing_world().await;
    let mut ids = Vec::new();
    for _ in 0..50 {
        let id = draft(&owner, &tenant, "").await;
        line(&owner, &id, "ITEM", "Hosting", "1", "5").await;
        ids.push(id);
    }
    let mut tasks = Vec::new();
    for id in ids.clone() {
        let c = app.signed_in(OWNER_EMAIL).await;
        tasks.push(tokio::spawn(async move {
            c.post(&format!("/billing/invoices/{id}/issue"), &[])
                .await
                .status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::SEE_OTHER);
    }
    let year = time::OffsetDateTime::now_utc().year();
    let mut numbers: Vec<String> =
        sqlx::query_scalar("SELECT number FROM invoices WHERE tenant_id = $1")
            .bind(&tenant)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    numbers.sort();
    let expected: Vec<String> = (1..=50).map(|n| format!("INV-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected);
    assert_summaries_consistent(&app).await;
}

#[tokio::test]
async fn twenty_concurrent_payments_never_exceed_the_total() {
    let (app, owner, tenant) = billing_world().await;
    let id = draft(&owner, &tenant, "USD").await;
    line(&owner, &id, "ITEM", "Server", "1", "84.03").await; // + 19% = 100.00
    owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    assert_eq!(invoice_row(&app, &id).await.2, 10000);
    let mut tasks = Vec::new();
    for i in 0..20 {
        let c = app.signed_in(OWNER_EMAIL).await;
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            pay(&c, &id, "10.00", &key(i)).await.status()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::SEE_OTHER => ok += 1,
            StatusCode::UNPROCESSABLE_ENTITY => {}
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(ok, 10);
    let (status, _, total, due, paid) = invoice_row(&app, &id).await;
    assert_eq!(
        (status.as_str(), total, due, paid),
        ("PAID", 10000, 0, 10000)
    );
    let sum: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM payments WHERE invoice_id = $1",
    )
    .bind(&id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(sum, 10000);
    assert_summaries_consistent(&app).await;
}

#[tokio::test]
async fn partial_then_full_payment_idempotent_refund_void_and_credit_notes() {
    let (app, owner, tenant) = billing_world().await;
    let id = draft(&owner, &tenant, "").await;
    line(&owner, &id, "ITEM", "Server", "1", "84.03").await;
    owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    let k = key(1);
    assert_eq!(
        pay(&owner, &id, "30", &k).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        pay(&owner, &id, "30", &k).await.status(),
        StatusCode::SEE_OTHER,
        "same key: same payment"
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM payments WHERE invoice_id = '{id}'"
        ))
        .await,
        1
    );
    let page = owner
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Partially paid") && page.contains("EUR 70.00"));
    let res = pay(&owner, &id, "70.01", &key(2)).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("more than the amount due")
    );
    // a failed attempt is recorded but not counted
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/pay"),
            &[
                ("amount", "70"),
                ("method", "Card"),
                ("status", "FAILED"),
                ("idempotency_key", &key(3)),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(invoice_row(&app, &id).await.3, 7000);
    // htmx: the invoice fragment comes back with the new status
    let res = owner
        .post_htmx(
            &format!("/billing/invoices/{id}/pay"),
            &[
                ("amount", "70"),
                ("method", "Card"),
                ("status", "SUCCESS"),
                ("idempotency_key", &key(4)),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = res.text().await.unwrap();
    assert!(
        fragment.contains("id=\"invoice\"")
            && fragment.contains("Status: <strong>Paid</strong>")
            && !fragment.contains("<html")
    );
    assert_eq!(invoice_row(&app, &id).await.0, "PAID");

    // void is refused while money is kept; refund, then void keeps the number
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/void"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let payments: Vec<(String, i64)> = sqlx::query_as("SELECT id, amount_minor FROM payments WHERE invoice_id = $1 AND status = 'SUCCESS' ORDER BY amount_minor").bind(&id).fetch_all(&app.state.db.pool).await.unwrap();
    let refund = |payment: String, amount: &'static str, k: String| {
        let owner = &owner;
        let id = id.clone();
        async move {
            owner
                .post(
                    &format!("/billing/invoices/{id}/refund"),
                    &[
                        ("payment_id", payment.as_str()),
                        ("amount", amount),
                        ("reference", "R"),
                        ("idempotency_key", k.as_str()),
                        ("confirm", "yes"),
                    ],
                )
                .await
                .status()
        }
    };
    assert_eq!(
        refund(payments[0].0.clone(), "30.01", key(5)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "more than the payment"
    );
    assert_eq!(
        refund(payments[0].0.clone(), "30", key(6)).await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        invoice_row(&app, &id).await.0,
        "ISSUED",
        "a refund makes money due again"
    );
    assert_eq!(
        refund(payments[1].0.clone(), "70", key(7)).await,
        StatusCode::SEE_OTHER
    );
    let res = owner
        .post(&format!("/billing/invoices/{id}/void"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "confirmation needed");
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/void"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (status, number, ..) = invoice_row(&app, &id).await;
    assert_eq!(status, "VOID");
    assert!(number.unwrap().starts_with("INV-"));
    assert_eq!(
        pay(&owner, &id, "1", &key(8)).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // credit notes: own gapless numbers, never more than due, down to PAID
    let id = draft(&owner, &tenant, "").await;
    line(&owner, &id, "ITEM", "Server", "1", "84.03").await;
    owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    let credit = |amount: &'static str| {
        let owner = &owner;
        let id = id.clone();
        async move {
            owner
                .post(
                    &format!("/billing/invoices/{id}/credit"),
                    &[("amount", amount), ("reason", "Outage"), ("confirm", "yes")],
                )
                .await
        }
    };
    assert_eq!(
        credit("100.01").await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(credit("40").await.status(), StatusCode::SEE_OTHER);
    assert_eq!(credit("60").await.status(), StatusCode::SEE_OTHER);
    let year = time::OffsetDateTime::now_utc().year();
    let mut numbers: Vec<String> =
        sqlx::query_scalar("SELECT number FROM credit_notes WHERE invoice_id = $1")
            .bind(&id)
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    numbers.sort();
    assert_eq!(
        numbers,
        vec![format!("CN-{year}-000001"), format!("CN-{year}-000002")]
    );
    let (status, _, _, due, _) = invoice_row(&app, &id).await;
    assert_eq!((status.as_str(), due), ("PAID", 0));
    assert_eq!(credit("1").await.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // 2 drafts, 2 lines, 2 issues, 3 payments (the repeat is not one), 2 refunds, 1 void, 2 credits
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'invoice.%'")
            .await,
        14
    );
}

#[tokio::test]
async fn invoice_permissions_and_tenant_isolation() {
    let (app, owner, tenant) = billing_world().await;
    let other = app.create_tenant(&owner, "globex").await;
    let operator: String = sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    for (email, t, role) in [
        ("billing@staff.test", &operator, "BILLING"),
        ("viewer@staff.test", &operator, "VIEWER"),
        ("billing@acme.test", &tenant, "BILLING"),
        ("member@acme.test", &tenant, "MEMBER"),
        ("billing@globex.test", &other, "BILLING"),
    ] {
        app.create_user(&owner, t, email, role).await;
    }
    let issued = draft(&owner, &tenant, "").await;
    line(&owner, &issued, "ITEM", "Server", "1", "10").await;
    owner
        .post(&format!("/billing/invoices/{issued}/issue"), &[])
        .await;
    let drafted = draft(&owner, &tenant, "").await;

    // staff BILLING: drafts, issue, payments; not refunds, voids, credits
    let billing = app.signed_in("billing@staff.test").await;
    let id = draft(&billing, &tenant, "").await;
    line(&billing, &id, "ITEM", "X", "1", "10").await;
    assert_eq!(
        billing
            .post(&format!("/billing/invoices/{id}/issue"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        pay(&billing, &id, "1", &key(1)).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        billing
            .post(
                &format!("/billing/invoices/{id}/void"),
                &[("confirm", "yes")]
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        billing
            .post(
                &format!("/billing/invoices/{id}/credit"),
                &[("amount", "1"), ("reason", "x")]
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let viewer = app.signed_in("viewer@staff.test").await;
    assert_eq!(
        viewer.get("/billing/invoices").await.status(),
        StatusCode::FORBIDDEN
    );

    // customer BILLING: own issued invoices only, read-only
    let customer = app.signed_in("billing@acme.test").await;
    assert_eq!(
        customer
            .get(&format!("/billing/invoices/{issued}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert!(
        customer
            .get(&format!("/billing/invoices/{issued}/pdf"))
            .await
            .bytes()
            .await
            .unwrap()
            .starts_with(b"%PDF")
    );
    assert_eq!(
        customer
            .get(&format!("/billing/invoices/{drafted}"))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "no drafts for customers"
    );
    let list = customer
        .get("/billing/invoices")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(">INV-") && !list.contains(">Draft<"));
    assert_eq!(
        pay(&customer, &issued, "1", &key(2)).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        customer
            .post("/billing/invoices", &[("tenant_id", &tenant)])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let member = app.signed_in("member@acme.test").await;
    assert_eq!(
        member.get("/billing/invoices").await.status(),
        StatusCode::FORBIDDEN
    );
    // another tenant's invoice is 404, also for its PDF and actions
    let stranger = app.signed_in("billing@globex.test").await;
    assert_eq!(
        stranger
            .get(&format!("/billing/invoices/{issued}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        stranger
            .get(&format!("/billing/invoices/{issued}/pdf"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert!(
        !stranger
            .get("/billing/invoices")
            .await
            .text()
            .await
            .unwrap()
            .contains(">INV-")
    );
}

#[tokio::test]
async fn catalog_products_priced_for_the_tenant_and_list_filters() {
    let (app, owner, tenant) = billing_world().await;
    // CloudPod Mini: USD 9.99 base; a tenant override of USD 7.50
    let mini = "0192f000-0000-7000-8000-000000000001";
    let res = owner
        .post(
            &format!("/billing/products/{mini}/overrides"),
            &[
                ("tenant_id", tenant.as_str()),
                ("currency", "USD"),
                ("period", "MONTHLY"),
                ("amount", "7.50"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = draft(&owner, &tenant, "USD").await;
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/lines/product"),
            &[
                ("product_id", mini),
                ("period", "MONTHLY"),
                ("quantity", "2"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let amount: i64 =
        sqlx::query_scalar("SELECT amount_minor FROM invoice_lines WHERE invoice_id = $1")
            .bind(&id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(amount, 1500);
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/lines/product"),
            &[
                ("product_id", mini),
                ("period", "YEARLY"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("has no price per year in USD")
    );
    owner
        .post(
            &format!("/billing/products/{mini}/status"),
            &[
                ("status", "DEPRECATED"),
                ("from", "ACTIVE"),
                ("confirm", "yes"),
            ],
        )
        .await;
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/lines/product"),
            &[
                ("product_id", mini),
                ("period", "MONTHLY"),
                ("quantity", "1"),
            ],
        )
        .await;
    assert!(res.text().await.unwrap().contains("can no longer be sold"));
    owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    let eur = draft(&owner, &tenant, "").await;
    line(&owner, &eur, "ITEM", "X", "1", "10").await;
    owner
        .post(&format!("/billing/invoices/{eur}/issue"), &[])
        .await;

    let html = owner.get("/billing/invoices").await.text().await.unwrap();
    assert!(
        html.contains("invoice(s) in EUR: total <strong>EUR 11.90</strong>"),
        "sums per currency"
    );
    assert!(html.contains("invoice(s) in USD: total <strong>USD 17.85</strong>"));
    let year = time::OffsetDateTime::now_utc().year();
    let html = owner
        .get(&format!("/billing/invoices?number=inv-{year}-000002"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("1 invoice(s) in EUR") && !html.contains("in USD"));
    let html = owner
        .get("/billing/invoices?status=DRAFT")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No invoices match"));
    let html = owner
        .get("/billing/invoices?from=2000-01-01&until=2000-12-31")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No invoices match"));
    assert_eq!(
        owner.get("/billing/invoices?from=garbage").await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn two_refund_forms_on_one_page_are_two_refunds() {
    let (app, owner, tenant) = billing_world().await;
    let id = draft(&owner, &tenant, "").await;
    line(&owner, &id, "ITEM", "Server", "1", "84.03").await;
    owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    pay(&owner, &id, "40", &key(1)).await;
    pay(&owner, &id, "60", &key(2)).await;
    let page = owner
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    // the keys and payment ids as the page renders them, in order
    let fields = |name: &str| -> Vec<String> {
        page.match_indices(&format!("name=\"{name}\" value=\""))
            .map(|(i, m)| page[i + m.len()..].split('"').next().unwrap().to_string())
            .collect()
    };
    let (payments, keys) = (fields("payment_id"), fields("idempotency_key"));
    assert_eq!(payments.len(), 2);
    assert_ne!(keys[0], keys[1], "each refund form has its own key");
    for (payment, k) in payments.iter().zip(&keys) {
        let res = owner
            .post(
                &format!("/billing/invoices/{id}/refund"),
                &[
                    ("payment_id", payment.as_str()),
                    ("amount", "10"),
                    ("idempotency_key", k.as_str()),
                    ("confirm", "yes"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM payments WHERE invoice_id = '{id}' AND kind = 'REFUND'"
        ))
        .await,
        2
    );
    assert_eq!(invoice_row(&app, &id).await.3, 2000);
}

#[tokio::test]
async fn a_billing_run_issues_every_draft_with_items_in_order() {
    let (app, owner, tenant) = billing_world().await;
    let other = app.create_tenant(&owner, "globex").await;
    let mut drafts = Vec::new();
    for t in [&tenant, &other, &tenant] {
        let id = draft(&owner, t, "").await;
        line(&owner, &id, "ITEM", "Monthly hosting", "1", "10").await;
        drafts.push(id);
    }
    let empty = draft(&owner, &tenant, "").await;
    assert_eq!(
        owner
            .post("/billing/invoices/issue-drafts", &[])
            .await
            .status(),
        StatusCode::CONFLICT,
        "needs confirmation"
    );
    let res = owner
        .post(
            "/billing/invoices/issue-drafts",
            &[("tenant_id", ""), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let year = time::OffsetDateTime::now_utc().year();
    let numbers: Vec<Option<String>> = {
        let mut v = Vec::new();
        for id in &drafts {
            v.push(invoice_row(&app, id).await.1);
        }
        v
    };
    assert_eq!(
        numbers,
        vec![
            Some(format!("INV-{year}-000001")),
            Some(format!("INV-{year}-000001")),
            Some(format!("INV-{year}-000002"))
        ]
    );
    assert_eq!(
        invoice_row(&app, &empty).await.0,
        "DRAFT",
        "a draft without items stays a draft"
    );
    assert_summaries_consistent(&app).await;
    app.create_user(&owner, &tenant, "owner@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("owner@acme.test").await;
    assert_eq!(
        customer
            .post("/billing/invoices/issue-drafts", &[("confirm", "yes")])
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "customers cannot run billing"
    );
}

#[tokio::test]
async fn issuing_sends_the_invoice_email_with_its_pdf_to_a_real_smtp_listener() {
    let smtp = crate::mail::fake_smtp("250 2.1.5 ok\r\n").await;
    let url = smtp.url.clone();
    let app = TestApp::spawn_with(|c| c.smtp_url = Some(url)).await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let id = draft(&owner, &tenant, "").await;
    line(&owner, &id, "ITEM", "Hosting", "1", "10").await;
    // a draft sends nothing
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(smtp.received.lock().unwrap().is_empty());
    assert_eq!(
        owner
            .post(&format!("/billing/invoices/{id}/issue"), &[])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let year = time::OffsetDateTime::now_utc().year();
    let number = format!("INV-{year}-000001");
    wait_until("the invoice e-mail", 15, || async {
        (!smtp.received.lock().unwrap().is_empty()).then_some(())
    })
    .await;
    let (rcpts, data) = smtp.received.lock().unwrap()[0].clone();
    assert_eq!(rcpts, vec!["<billing@acme.test>".to_string()]);
    assert!(
        data.contains(&format!("Subject: Invoice {number} from Operator Hosting")),
        "{data}"
    );
    assert!(
        data.contains(&format!("filename=\"{number}.pdf\"")),
        "PDF attached"
    );
    assert!(data.contains("EUR 10.00"), "amount in the text");
}
