use reqwest::StatusCode;

use crate::helpers::*;

async fn create_product(staff: &TestClient, code: &str, visibility: &str, model: &str) -> String {
    let res = staff
        .post(
            "/billing/products",
            &[
                ("code", code),
                ("name", &format!("Product {code}")),
                ("description", "A test product"),
                ("category", "ADDON"),
                ("billing_model", model),
                ("status", "ACTIVE"),
                ("visibility", visibility),
                ("tax_category", "STANDARD"),
                (
                    "unit_name",
                    if model.starts_with("USAGE") { "GB" } else { "" },
                ),
                ("tier_mode", "GRADUATED"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "create {code}: {}",
        res.text().await.unwrap_or_default()
    );
    location(&res)
        .trim_start_matches("/billing/products/")
        .to_string()
}

async fn set_price(
    staff: &TestClient,
    id: &str,
    currency: &str,
    period: &str,
    amount: &str,
) -> reqwest::Response {
    staff
        .post(
            &format!("/billing/products/{id}/prices"),
            &[
                ("currency", currency),
                ("period", period),
                ("amount", amount),
                ("setup_fee", ""),
            ],
        )
        .await
}

#[tokio::test]
async fn seeded_cloudpod_plans_are_on_the_public_catalog() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let visitor = app.client();
    let res = visitor.get("/catalog").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    for (name, price) in [
        ("CloudPod Mini", "USD 9.99 per month"),
        ("CloudPod Pro", "USD 19.99 per month"),
        ("CloudPod Business", "USD 39.99 per month"),
        ("CloudPod Enterprise", "USD 79.99 per month"),
    ] {
        assert!(html.contains(name), "{name}");
        assert!(html.contains(price), "{price}");
    }
    let eur = visitor
        .get("/catalog?currency=EUR")
        .await
        .text()
        .await
        .unwrap();
    assert!(eur.contains("Not available in EUR."));
    assert_eq!(app.count("SELECT COUNT(*) FROM cloudpod_plans").await, 4);
    let unlimited: i64 =
        sqlx::query_scalar("SELECT max_websites FROM cloudpod_plans WHERE code = 'ENTERPRISE'")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(unlimited, -1);
}

#[tokio::test]
async fn product_crud_with_field_errors_and_money_rules() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let id = create_product(&owner, "backup-daily", "PUBLIC", "RECURRING").await;
    // codes are normalised and unique
    let code: String = sqlx::query_scalar("SELECT code FROM products WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(code, "BACKUP-DAILY");
    let res = owner
        .post(
            "/billing/products",
            &[
                ("code", "Backup-Daily"),
                ("name", "Dup"),
                ("category", "ADDON"),
                ("billing_model", "RECURRING"),
                ("visibility", "PUBLIC"),
                ("tax_category", "STANDARD"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Another product already uses this code.") && html.contains("value=\"Dup\"")
    );
    let res = owner
        .post(
            "/billing/products",
            &[
                ("code", "x y"),
                ("name", ""),
                ("category", "FOOD"),
                ("billing_model", "USAGE_BASED"),
                ("visibility", "SECRET"),
                ("tax_category", "?"),
                ("stripe_price_id", "prod_123"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    for field in [
        "code",
        "name",
        "category",
        "visibility",
        "tax_category",
        "unit_name",
        "stripe_price_id",
    ] {
        assert!(
            html.contains(&format!("id=\"e-{field}\"")),
            "error beside {field}"
        );
    }

    // money: the currency's exponent decides what is acceptable
    for (currency, amount, message) in [
        ("USD", "9.999", "USD has 2 decimal places at most."),
        ("JPY", "12.5", "JPY has no decimal places."),
        ("USD", "-5", "Amounts cannot be negative."),
        ("KWD", "1.2345", "KWD has 3 decimal places at most."),
        ("XYZ", "5", "Choose a supported currency"),
        ("USD", "five", "Enter a number like 12.50."),
    ] {
        let res = set_price(&owner, &id, currency, "MONTHLY", amount).await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{currency} {amount}"
        );
        let html = res.text().await.unwrap();
        assert!(html.contains(message), "{currency} {amount}: {message}");
        assert!(
            html.contains(&format!("value=\"{amount}\"")),
            "typed amount kept"
        );
    }
    assert_eq!(
        set_price(&owner, &id, "USD", "MONTHLY", "9.99")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        set_price(&owner, &id, "JPY", "MONTHLY", "1200")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        set_price(&owner, &id, "KWD", "MONTHLY", "1.234")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // a recurring product has no one-time price
    let res = set_price(&owner, &id, "USD", "ONCE", "5").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let stored: Vec<(String, i64)> = sqlx::query_as(
        "SELECT currency, amount_minor FROM product_prices WHERE product_id = $1 ORDER BY currency",
    )
    .bind(&id)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        stored,
        vec![
            ("JPY".into(), 1200),
            ("KWD".into(), 1234),
            ("USD".into(), 999)
        ]
    );
    let page = owner
        .get(&format!("/billing/products/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("JPY 1,200") && page.contains("KWD 1.234") && page.contains("USD 9.99"));
    // replacing a price keeps one row per currency and period
    assert_eq!(
        set_price(&owner, &id, "USD", "MONTHLY", "10")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM product_prices WHERE product_id = '{id}' AND currency = 'USD'"
        ))
        .await,
        1
    );

    // edit
    let res = owner
        .post(
            &format!("/billing/products/{id}"),
            &[
                ("code", "BACKUP-DAILY"),
                ("name", "Daily backups"),
                ("category", "BACKUP"),
                ("billing_model", "RECURRING"),
                ("visibility", "PUBLIC"),
                ("tax_category", "DIGITAL"),
                ("whmcs_product_id", "42"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = owner
        .get(&format!("/billing/products/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("<h1>Daily backups</h1>")
            && page.contains("Digital services")
            && page.contains("42")
    );
    assert!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'product.%'")
            .await
            >= 5
    );
}

#[tokio::test]
async fn status_machine_inline_and_deprecated_is_final() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let id = create_product(&owner, "SSL", "PUBLIC", "RECURRING").await;
    // inline via htmx: the response is the table row
    let res = owner
        .post_htmx(
            &format!("/billing/products/{id}/status"),
            &[("status", "INACTIVE"), ("from", "ACTIVE")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let row = res.text().await.unwrap();
    assert!(
        row.starts_with("<tr id=\"product-")
            && row.contains("<option value=\"INACTIVE\" selected>")
    );
    // a stale form (the person saw ACTIVE) is refused cleanly
    let res = owner
        .post(
            &format!("/billing/products/{id}/status"),
            &[("status", "DEPRECATED"), ("from", "ACTIVE")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("changed meanwhile"));
    let res = owner
        .post(
            &format!("/billing/products/{id}/status"),
            &[
                ("status", "DEPRECATED"),
                ("from", "INACTIVE"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for to in ["ACTIVE", "INACTIVE"] {
        let res = owner
            .post(
                &format!("/billing/products/{id}/status"),
                &[("status", to), ("from", "DEPRECATED")],
            )
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "DEPRECATED → {to}");
    }
    // a deprecated product stays readable (what was sold keeps it) but leaves the catalog
    assert_eq!(
        owner.get(&format!("/billing/products/{id}")).await.status(),
        StatusCode::OK
    );
    assert!(
        !app.client()
            .get("/catalog")
            .await
            .text()
            .await
            .unwrap()
            .contains("Product SSL")
    );
    let res = owner
        .post(
            "/billing/products",
            &[
                ("code", "OLD"),
                ("name", "Old"),
                ("category", "ADDON"),
                ("billing_model", "RECURRING"),
                ("status", "DEPRECATED"),
                ("visibility", "PUBLIC"),
                ("tax_category", "STANDARD"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn catalog_permissions() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let operator: String = sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let tenant = app.create_tenant(&owner, "acme").await;
    let product = create_product(&owner, "P1", "PUBLIC", "RECURRING").await;
    for (email, tenant_id, role) in [
        ("billing@staff.test", &operator, "BILLING"),
        ("member@staff.test", &operator, "MEMBER"),
        ("admin@staff.test", &operator, "ADMIN"),
        ("owner@acme.test", &tenant, "OWNER"),
    ] {
        app.create_user(&owner, tenant_id, email, role).await;
    }
    // (who, read list/product/pricing/plans, write)
    for (who, read, write) in [
        ("admin@staff.test", 200, 303),
        ("billing@staff.test", 200, 403),
        ("member@staff.test", 403, 403),
        ("owner@acme.test", 403, 403),
    ] {
        let c = app.signed_in(who).await;
        for path in [
            "/billing/products".to_string(),
            format!("/billing/products/{product}"),
            format!("/billing/products/{product}/pricing"),
            "/billing/plans".to_string(),
        ] {
            assert_eq!(
                c.get(&path).await.status().as_u16(),
                read,
                "{who} GET {path}"
            );
        }
        let code = format!("NEW-{}", who.len());
        let res = c
            .post(
                "/billing/products",
                &[
                    ("code", &code),
                    ("name", "N"),
                    ("category", "ADDON"),
                    ("billing_model", "RECURRING"),
                    ("visibility", "PUBLIC"),
                    ("tax_category", "STANDARD"),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), write, "{who} create");
        let res = set_price(&c, &product, "USD", "MONTHLY", "1").await;
        assert_eq!(
            res.status().as_u16(),
            if write == 303 { 303 } else { 403 },
            "{who} set price"
        );
        let res = c
            .post(
                "/billing/plans/MINI",
                &[
                    ("cpu_cores", "1"),
                    ("ram_mb", "1024"),
                    ("disk_gb", "25"),
                    ("max_websites", "5"),
                    ("max_email_accounts", "10"),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), write, "{who} edit plan");
        assert_eq!(
            c.get("/catalog").await.status(),
            StatusCode::OK,
            "{who} reads the catalog"
        );
    }
    // unknown product: 404 for staff
    assert_eq!(
        owner.get("/billing/products/nope").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn public_catalog_shows_public_active_and_beta_only_to_flagged_tenants() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let public = create_product(&owner, "PUB", "PUBLIC", "RECURRING").await;
    let private = create_product(&owner, "PRIV", "PRIVATE", "RECURRING").await;
    let beta = create_product(&owner, "BETA", "BETA", "RECURRING").await;
    let inactive = create_product(&owner, "OFF", "PUBLIC", "RECURRING").await;
    for id in [&public, &private, &beta, &inactive] {
        assert_eq!(
            set_price(&owner, id, "USD", "MONTHLY", "5").await.status(),
            StatusCode::SEE_OTHER
        );
    }
    owner
        .post(
            &format!("/billing/products/{inactive}/status"),
            &[("status", "INACTIVE"), ("from", "ACTIVE")],
        )
        .await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "owner@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("owner@acme.test").await;

    let shows = |html: &str, code: &str| html.contains(&format!("Product {code}"));
    let anonymous = app.client().get("/catalog").await.text().await.unwrap();
    assert!(
        shows(&anonymous, "PUB")
            && !shows(&anonymous, "PRIV")
            && !shows(&anonymous, "BETA")
            && !shows(&anonymous, "OFF")
    );
    let html = customer.get("/catalog").await.text().await.unwrap();
    assert!(
        shows(&html, "PUB") && !shows(&html, "BETA"),
        "not flagged yet"
    );
    assert_eq!(
        owner
            .post(&format!("/tenants/{tenant}/beta"), &[("beta", "1")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let html = customer.get("/catalog").await.text().await.unwrap();
    assert!(
        shows(&html, "PUB") && shows(&html, "BETA") && !shows(&html, "PRIV"),
        "flagged tenant sees beta"
    );
    let anonymous = app.client().get("/catalog").await.text().await.unwrap();
    assert!(!shows(&anonymous, "BETA"), "still hidden from the public");
    // customers cannot flag themselves
    assert_eq!(
        customer
            .post(&format!("/tenants/{tenant}/beta"), &[("beta", "0")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn overrides_resolve_tenant_region_currency_base_and_refuse_overlaps() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let id = create_product(&owner, "VPS", "PUBLIC", "RECURRING").await;
    set_price(&owner, &id, "EUR", "MONTHLY", "10").await;
    let acme = app.create_tenant(&owner, "acme").await; // region eu-central, EUR
    let globex = app.create_tenant(&owner, "globex").await;
    let add = |tenant: &str, region: &str, amount: &str, from: &str, until: &str| {
        let (tenant, region, amount, from, until) = (
            tenant.to_string(),
            region.to_string(),
            amount.to_string(),
            from.to_string(),
            until.to_string(),
        );
        let owner = &owner;
        let id = id.clone();
        async move {
            owner
                .post(
                    &format!("/billing/products/{id}/overrides"),
                    &[
                        ("tenant_id", tenant.as_str()),
                        ("region", region.as_str()),
                        ("currency", "EUR"),
                        ("period", "MONTHLY"),
                        ("amount", amount.as_str()),
                        ("setup_fee", ""),
                        ("valid_from", from.as_str()),
                        ("valid_until", until.as_str()),
                    ],
                )
                .await
        }
    };
    assert_eq!(
        add("", "", "9", "", "").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        add("", "eu-central", "8", "", "").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        add(&acme, "", "7", "2020-01-01", "").await.status(),
        StatusCode::SEE_OTHER
    );
    // the same scope again with an overlapping window
    let res = add(&acme, "", "6", "2025-06-01", "2025-06-30").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("overlaps an existing override")
    );
    // before the tenant window: the region rule applies
    assert_eq!(
        add(&acme, "", "5", "2019-01-01", "2019-12-31")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let res = add(&acme, "", "5", "2019-12-31", "2020-01-05").await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "touching the last day overlaps"
    );
    let res = add("", "", "1", "2026-02-01", "2026-01-01").await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("must not be before the first day")
    );

    let resolve = |query: String| {
        let owner = &owner;
        let id = id.clone();
        async move {
            owner
                .get(&format!("/billing/products/{id}/pricing?{query}"))
                .await
                .text()
                .await
                .unwrap()
        }
    };
    let html = resolve(format!("tenant_id={acme}&currency=EUR&period=MONTHLY")).await;
    assert!(
        html.contains("EUR 7.00 per month") && html.contains("tenant override"),
        "tenant first"
    );
    let html = resolve(format!(
        "tenant_id={acme}&currency=EUR&period=MONTHLY&at=2019-06-01"
    ))
    .await;
    assert!(
        html.contains("EUR 5.00 per month") && html.contains("2019-01-01 → 2019-12-31"),
        "windowed tenant rule"
    );
    let html = resolve(format!(
        "tenant_id={acme}&currency=EUR&period=MONTHLY&at=2018-06-01"
    ))
    .await;
    assert!(
        html.contains("EUR 8.00 per month") && html.contains("region override"),
        "then region"
    );
    let html = resolve(format!(
        "tenant_id={globex}&region=us-east&currency=EUR&period=MONTHLY"
    ))
    .await;
    assert!(
        html.contains("EUR 9.00 per month") && html.contains("currency override"),
        "then currency"
    );
    let html = resolve("currency=USD&period=MONTHLY".into()).await;
    assert!(html.contains("No price per month in USD."));
    let html = resolve("currency=EUR&period=MONTHLY&at=someday".into()).await;
    assert!(html.contains("Use a date like"));

    // a customer of acme sees their own price in the catalog
    app.create_user(&owner, &acme, "owner@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("owner@acme.test").await;
    let html = customer.get("/catalog").await.text().await.unwrap();
    assert!(
        html.contains("EUR 7.00 per month") && html.contains("(tenant override)"),
        "tenant currency is the default"
    );
    let html = app
        .client()
        .get("/catalog?currency=EUR")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("EUR 9.00 per month") && !html.contains("EUR 7.00"),
        "visitors get the currency-wide price"
    );
}

#[tokio::test]
async fn tiered_usage_pricing_through_the_pricing_page() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let id = create_product(&owner, "BANDWIDTH", "PUBLIC", "USAGE_TIERED").await;
    for (up_to, unit, flat) in [("10", "1.00", ""), ("50", "0.80", "5"), ("", "0.50", "10")] {
        let res = owner
            .post(
                &format!("/billing/products/{id}/tiers"),
                &[
                    ("currency", "USD"),
                    ("up_to", up_to),
                    ("unit_price", unit),
                    ("flat_fee", flat),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "tier {up_to}");
    }
    let res = owner
        .post(
            &format!("/billing/products/{id}/tiers"),
            &[("currency", "USD"), ("up_to", "10"), ("unit_price", "2")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "duplicate bound"
    );
    let price = |q: &str| {
        let owner = &owner;
        let url = format!("/billing/products/{id}/pricing?currency=USD&quantity={q}");
        async move { owner.get(&url).await.text().await.unwrap() }
    };
    assert!(price("10").await.contains("10 GB cost USD 10.00"));
    assert!(price("11").await.contains("11 GB cost USD 15.80"));
    assert!(price("51").await.contains("51 GB cost USD 57.50"));
    let html = app.client().get("/catalog").await.text().await.unwrap();
    assert!(html.contains("from USD 0.50 per GB (3 tiers, graduated)"));
}

#[tokio::test]
async fn plans_are_editable_by_admins_with_validation() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let res = owner
        .post(
            "/billing/plans/PRO",
            &[
                ("cpu_cores", "3"),
                ("ram_mb", "3072"),
                ("disk_gb", "60"),
                ("max_websites", "-1"),
                ("max_email_accounts", "75"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let html = owner.get("/billing/plans").await.text().await.unwrap();
    assert!(
        html.contains(
            "3 vCPU · 3072 MB RAM · 60 GB disk · unlimited websites · 75 e-mail accounts"
        )
    );
    let res = owner
        .post(
            "/billing/plans/PRO",
            &[
                ("cpu_cores", "0"),
                ("ram_mb", "lots"),
                ("disk_gb", "60"),
                ("max_websites", "-2"),
                ("max_email_accounts", "1"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("PRO-e-cpu_cores")
            && html.contains("PRO-e-ram_mb")
            && html.contains("PRO-e-max_websites")
    );
    assert!(html.contains("value=\"lots\""), "typed values kept");
    assert_eq!(
        owner
            .post(
                "/billing/plans/GIGA",
                &[
                    ("cpu_cores", "1"),
                    ("ram_mb", "1024"),
                    ("disk_gb", "1"),
                    ("max_websites", "1"),
                    ("max_email_accounts", "1")
                ]
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn product_list_filters_sorts_and_paginates() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    for i in 0..27 {
        create_product(
            &owner,
            &format!("BULK-{i:02}"),
            if i % 3 == 0 { "PRIVATE" } else { "PUBLIC" },
            "RECURRING",
        )
        .await;
    }
    let html = owner
        .get("/billing/products?q=bulk")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 1 of 2 · 27 in all"));
    let html = owner
        .get("/billing/products?visibility=PRIVATE")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("9 in all"));
    let html = owner
        .get("/billing/products?category=CLOUDPOD&sort=code")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("4 in all"));
    let first = html.find("CLOUDPOD-BUSINESS").unwrap();
    let last = html.find("CLOUDPOD-PRO").unwrap();
    assert!(first < last, "sorted by code");
    let html = owner
        .get("/billing/products?q=bulk&page=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 2 of 2") && html.contains("q=bulk"));
    let html = owner.get("/billing/products?status=BOGUS&sort=;DROP").await;
    assert_eq!(html.status(), StatusCode::OK);

    // The public catalog pages without counting: 18 public BULK products + 4 plans fit one
    // page; four more make a second.
    let html = app.client().get("/catalog").await.text().await.unwrap();
    assert!(
        html.contains("Page 1<") && !html.contains("Next page"),
        "{html}"
    );
    for i in 0..4 {
        create_product(&owner, &format!("MORE-{i:02}"), "PUBLIC", "RECURRING").await;
    }
    let html = app.client().get("/catalog").await.text().await.unwrap();
    assert!(html.contains("Page 1<") && html.contains("Next page"));
    let html = app
        .client()
        .get("/catalog?page=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("Page 2<") && !html.contains("Next page") && html.contains("Previous page")
    );
    assert_eq!(
        html.matches("<article").count(),
        1,
        "26 on offer: one on page 2"
    );
}
