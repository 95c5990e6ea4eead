use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn cross_site_post_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let res = owner
        .http
        .post(owner.url("/tenants"))
        .header("Sec-Fetch-Site", "cross-site")
        .header("Origin", "https://evil.example")
        .form(&[
            ("name", "Evil"),
            ("slug", "evil"),
            ("billing_email", "e@evil.test"),
            ("country", "US"),
            ("region", "x"),
            ("currency", "USD"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("sent from another site"));
    // an old browser without Sec-Fetch-Site, but with a foreign Origin
    let res = owner
        .http
        .post(owner.url("/logout"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM tenants WHERE slug = 'evil'")
            .await,
        0
    );
    assert_eq!(
        owner.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

#[tokio::test]
async fn security_headers_on_every_response() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    for path in [
        "/",
        "/login",
        "/no-such-page",
        "/static/app.css",
        "/healthz",
    ] {
        let res = owner.get(path).await;
        let h = res.headers();
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
                && !csp.contains("unsafe-eval"),
            "{path}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        assert!(h.contains_key("x-request-id"), "{path}");
    }
    assert_eq!(owner.get("/").await.headers()["cache-control"], "no-store");
}

#[tokio::test]
async fn pages_have_no_inline_scripts_or_styles() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    for path in [
        "/",
        "/tenants",
        "/tenants/new",
        "/users",
        "/users/new",
        "/audit",
        "/account/password",
    ] {
        let html = owner.get(path).await.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("style=\"") && !html.contains("onclick"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn full_page_or_fragment_by_hx_request() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let page = owner.get("/tenants").await.text().await.unwrap();
    assert!(page.starts_with("<!doctype html>") && page.contains("<h1>Tenants</h1>"));
    let fragment = owner.get_htmx("/tenants").await.text().await.unwrap();
    assert!(!fragment.contains("<html") && fragment.contains("<h1>Tenants</h1>"));
    // boosted navigation wants the whole page
    let boosted = owner
        .http
        .get(owner.url("/tenants"))
        .header("HX-Request", "true")
        .header("HX-Boosted", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(boosted.starts_with("<!doctype html>"));
}

#[tokio::test]
async fn error_pages_in_full_and_fragment_form() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let res = owner.get("/users/does-not-exist").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<!doctype html>") && html.contains("Not found"));
    let res = owner.get_htmx("/users/does-not-exist").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["hx-retarget"], "#toasts");
    let html = res.text().await.unwrap();
    assert!(html.contains("role=\"alert\"") && !html.contains("<html"));
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "viewer@acme.test", "VIEWER")
        .await;
    let viewer = app.signed_in("viewer@acme.test").await;
    let res = viewer.get("/tenants").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("Not allowed"));
    let res = viewer.get_htmx("/tenants").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("role=\"alert\""));
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_login() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let c = app.client();
    for path in ["/", "/tenants", "/users/x", "/audit", "/account/password"] {
        let res = c.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/login", "{path}");
    }
    let res = c.get_htmx("/tenants").await;
    assert_eq!(res.headers()["hx-redirect"], "/login");
}

#[tokio::test]
async fn junk_input_never_causes_a_server_error() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let long = "ß".repeat(3000);
    let junk: Vec<(&str, &str)> = vec![
        ("name", &long),
        ("slug", "\u{0}\u{1}"),
        ("email", "\u{202e}@x"),
        ("role", "GOD"),
        ("tenant_id", "' OR 1=1 --"),
        ("password", ""),
        ("page", "-1"),
        ("confirm", "maybe"),
    ];
    for path in [
        "/tenants",
        "/users",
        "/login",
        "/account/password",
        "/users/x/role",
        "/users/x/deactivate",
        "/users/x/activate",
        "/setup",
    ] {
        let res = owner.post(path, &junk).await;
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }
    for path in [
        "/tenants?q=%00%25_",
        "/users?tenant_id=%27&page=99999999999",
        "/audit?from=%00&until=9999-99-99&action=%25",
        "/tenants/%2e%2e",
    ] {
        let res = owner.get(path).await;
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }
    let res = owner
        .post("/login", &[("email", "a\u{0}b@x.test"), ("password", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        owner.get("/users/%00").await.status(),
        StatusCode::BAD_REQUEST
    );
    // a non-form body on a form route is a client error, not a crash
    let res = owner
        .http
        .post(owner.url("/tenants"))
        .header("Sec-Fetch-Site", "same-origin")
        .header("content-type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_client_error());
    let big = "a".repeat(2 * 1024 * 1024);
    let res = owner.post("/tenants", &[("name", big.as_str())]).await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c.get("/healthz").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "ok");
    let res = c.get("/readyz").await;
    assert_eq!(res.status(), StatusCode::OK);
    app.state.db.pool.close().await;
    assert_eq!(
        c.get("/readyz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        c.get("/healthz").await.status(),
        StatusCode::OK,
        "the process is still up"
    );
}

/// Error pages (404, 403) are rendered inside the shell: the navigation and Sign out stay.
#[tokio::test]
async fn error_pages_keep_the_navigation_and_sign_out() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let res = owner
        .get(&format!("/billing/invoices/{}", mpanel::db::new_id()))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let html = res.text().await.unwrap();
    assert!(html.contains("aria-label=\"Main\""), "{html}");
    assert!(html.contains("href=\"/billing/invoices\""), "{html}");
    assert!(
        html.contains("Sign out") && html.contains(OWNER_EMAIL),
        "{html}"
    );
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "viewer@acme.test", "VIEWER")
        .await;
    let viewer = app.signed_in("viewer@acme.test").await;
    let res = viewer.get("/tenants").await;
    assert!(
        matches!(res.status(), StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{}",
        res.status()
    );
    let html = res.text().await.unwrap();
    assert!(
        html.contains("Sign out") && html.contains("viewer@acme.test"),
        "{html}"
    );
    // signed out: the public shell, no Sign out
    let html = app
        .client()
        .get("/no-such-page")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Sign out"), "{html}");
}

#[tokio::test]
async fn reloading_an_action_address_is_a_page_in_the_shell_not_a_bare_405() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    // what a reload after generating recovery codes asks for
    let res = owner.get("/security/mfa/recovery-codes").await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    let html = res.text().await.unwrap();
    assert!(html.contains("nothing was done"), "{html}");
    assert!(html.contains("cannot be shown again"), "{html}");
    assert!(
        html.contains("aria-label=\"Main\"") && html.contains("Sign out"),
        "{html}"
    );
    // any action address behaves the same
    let res = owner.get("/security/sessions/revoke-others").await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert!(res.text().await.unwrap().contains("Not a page"));
}

#[tokio::test]
async fn the_tax_rules_page_is_in_the_navigation_of_those_who_may_open_it() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let operator = app.operator_tenant_id().await;
    app.create_user(&owner, &operator, "bill@operator.test", "BILLING")
        .await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "boss@acme.test", "OWNER")
        .await;
    let link = "href=\"/billing/tax-rules\"";
    let billing = app.signed_in("bill@operator.test").await;
    let html = billing.get("/").await.text().await.unwrap();
    assert!(html.contains(link), "billing staff see Tax rules");
    assert_eq!(
        billing.get("/billing/tax-rules").await.status(),
        StatusCode::OK
    );
    let customer = app.signed_in("boss@acme.test").await;
    let html = customer.get("/").await.text().await.unwrap();
    assert!(!html.contains(link), "customers do not");
}
