//! Defects found by probing the panel as an attacker would (issue "Hardening"): each test here
//! failed on the code before its fix.

use reqwest::StatusCode;

use crate::helpers::*;

/// Another handle on the same browser (same cookies), for requests sent at the same moment.
fn share(c: &TestClient) -> TestClient {
    TestClient {
        base: c.base.clone(),
        http: c.http.clone(),
        jar: c.jar.clone(),
    }
}

/// Sends `n` copies of a request at once; returns their statuses.
async fn all_at_once<F, Fut>(n: usize, send: F) -> Vec<StatusCode>
where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response> + Send + 'static,
{
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let fut = send(i);
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                fut.await.status()
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    statuses
}

fn count(statuses: &[StatusCode], status: StatusCode) -> usize {
    statuses.iter().filter(|s| **s == status).count()
}

#[tokio::test]
async fn parallel_password_guesses_use_up_the_account_allowance() {
    // the documented defaults: 5 per account, 20 per address
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    // the rightful owner signed in from this browser before (its device cookie)
    owner.post("/logout", &[]).await;
    assert_eq!(
        owner.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    owner.post("/logout", &[]).await;

    let attacker = app.client();
    let statuses = all_at_once(30, |_| {
        let c = share(&attacker);
        async move { c.login(OWNER_EMAIL, "guess guess guess").await }
    })
    .await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(checked <= 5, "{checked} of 30 guesses were checked");
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        30 - checked
    );
    let failures = app
        .count("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed'")
        .await;
    assert!(failures <= 5, "{failures} failures recorded");
    // the attacker's browser stays limited, even with the right password …
    assert_eq!(
        attacker.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // … while the owner's known device still signs in
    assert_eq!(
        owner.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn parallel_guesses_from_one_address_use_up_its_allowance() {
    let app = TestApp::spawn_with(|c| {
        c.login_ip_burst = 20;
        c.login_account_burst = 100;
    })
    .await;
    app.setup_owner().await;
    let c = app.client();
    let statuses = all_at_once(60, |i| {
        let c = share(&c);
        async move {
            c.login(&format!("user{i}@spray.test"), "spray spray spray")
                .await
        }
    })
    .await;
    let checked = count(&statuses, StatusCode::UNAUTHORIZED);
    assert!(checked <= 20, "{checked} of 60 guesses were checked");
    assert_eq!(
        count(&statuses, StatusCode::TOO_MANY_REQUESTS),
        60 - checked
    );
}

#[tokio::test]
async fn parallel_wrong_codes_use_up_the_second_factor_allowance() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let (secret, _) = app.enrol_mfa(&owner).await;
    let c = app.client();
    assert_eq!(
        location(&c.login(OWNER_EMAIL, PASSWORD).await),
        "/login/mfa"
    );
    // codes that are certainly wrong: not this step's, nor its neighbours'
    let right: Vec<String> = (-1..=1).map(|s| totp_code(&secret, s)).collect();
    let wrong: Vec<String> = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .filter(|code| !right.contains(code))
        .take(50)
        .collect();
    let statuses = all_at_once(50, |i| {
        let c = share(&c);
        let code = wrong[i].clone();
        async move { c.post("/login/mfa", &[("code", &code)]).await }
    })
    .await;
    let limited = count(&statuses, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        50 - limited <= 5,
        "{} of 50 codes were checked: {statuses:?}",
        50 - limited
    );
    let checked = app
        .count("SELECT COUNT(*) FROM security_events WHERE event_type = 'MFA_FAILED'")
        .await;
    assert!(checked <= 5, "{checked} wrong codes checked");
}

#[tokio::test]
async fn next_never_leads_to_another_host_nor_breaks_the_response() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    for next in [
        "/%09/evil.example",
        "/%0d%0aSet-Cookie:%20x=1",
        "/%5C/evil.example",
        "/%2F/evil.example",
    ] {
        // signed in: straight to the destination
        let res = owner.get(&format!("/login?next={next}")).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next}");
        assert_eq!(location(&res), "/", "{next}");
        // signed out: the form carries only a safe destination
        let html = app
            .client()
            .get(&format!("/login?next={next}"))
            .await
            .text()
            .await
            .unwrap();
        assert!(!html.contains("evil.example"), "{next}");
    }
    for next in [
        "/\t/evil.example",
        "/\n/x",
        "/\r\nSet-Cookie: x=1",
        "//evil.example",
    ] {
        let c = app.client();
        let res = c
            .post(
                "/login",
                &[
                    ("email", OWNER_EMAIL),
                    ("password", PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(location(&res), "/", "{next:?}");
        assert!(res.headers().get("x").is_none());
    }
    // a local destination still works
    let c = app.client();
    let res = c
        .post(
            "/login",
            &[
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
                ("next", "/billing/invoices?status=ISSUED"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/billing/invoices?status=ISSUED");
}

#[tokio::test]
async fn huge_amounts_are_a_field_error_in_every_money_field() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let huge = "9999999999999999999999999999";
    let res = owner
        .post(
            "/billing/invoices",
            &[("tenant_id", &tenant), ("currency", "USD")],
        )
        .await;
    let id = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    // a line's unit price
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Server"),
                ("quantity", "1"),
                ("unit_price", huge),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("Amount too large"));
    owner
        .post(
            &format!("/billing/invoices/{id}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Server"),
                ("quantity", "1"),
                ("unit_price", "100"),
            ],
        )
        .await;
    owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    // a payment
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/pay"),
            &[
                ("amount", huge),
                ("method", "Bank transfer"),
                ("reference", "T-1"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", &format!("huge-{}", mpanel::db::new_id())),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Amount too large"), "{html}");
    // a product price
    let res = owner
        .post(
            "/billing/products",
            &[
                ("code", "HUGE"),
                ("name", "Huge"),
                ("description", "A product with a huge price"),
                ("category", "ADDON"),
                ("billing_model", "RECURRING"),
                ("status", "ACTIVE"),
                ("visibility", "PUBLIC"),
                ("tax_category", "STANDARD"),
                ("unit_name", ""),
                ("tier_mode", "GRADUATED"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let product = location(&res)
        .trim_start_matches("/billing/products/")
        .to_string();
    let res = owner
        .post(
            &format!("/billing/products/{product}/prices"),
            &[
                ("currency", "USD"),
                ("period", "MONTHLY"),
                ("amount", huge),
                ("setup_fee", huge),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{product}");
    let html = res.text().await.unwrap();
    assert!(html.matches("Amount too large").count() >= 2, "{html}");
    assert_eq!(app.count("SELECT COUNT(*) FROM payments").await, 0);
}

#[tokio::test]
async fn a_nul_character_in_api_json_is_a_422_naming_the_field() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let token = token_for(&owner, &["READ", "WRITE", "PROVISIONING"]).await;
    let http = reqwest::Client::new();
    let send = |path: &str, body: String| {
        http.post(format!("{}{path}", app.base))
            .bearer_auth(&token)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
    };
    let res = send(
        "/api/v1/cloudpods",
        format!(
            r#"{{"tenant_id":"{tenant}\u0000b","name":"web-01","plan_code":"MINI","region":"eu-central"}}"#
        ),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["field"], "tenant_id");
    let res = send(
        "/api/v1/cloudpods/0190a0a0-0000-7000-8000-000000000000/resize",
        r#"{"plan_code":"P\u0000RO"}"#.to_string(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["field"], "plan_code");
    assert_eq!(app.count("SELECT COUNT(*) FROM cloudpods").await, 0);
}

/// Two OWNERs demote (or deactivate) each other at the same moment, many times over: exactly
/// one change goes through each time and the tenant keeps an OWNER.
#[tokio::test]
async fn two_owners_racing_to_demote_each_other_leave_one_owner() {
    let app = TestApp::spawn_with(|c| c.login_ip_burst = 1000).await;
    let first = app.setup_owner().await;
    let operator = app.operator_tenant_id().await;
    let second_email = "second-owner@operator.test";
    let second_id = app
        .create_user(&first, &operator, second_email, "OWNER")
        .await;
    let first_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(OWNER_EMAIL)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let owners = "SELECT COUNT(*) FROM users WHERE role = 'OWNER' AND active = 1";
    for round in 0..6 {
        let (path_a, path_b, form): (String, String, Vec<(&str, &str)>) = if round % 2 == 0 {
            (
                format!("/users/{second_id}/role"),
                format!("/users/{first_id}/role"),
                vec![("role", "ADMIN")],
            )
        } else {
            (
                format!("/users/{second_id}/deactivate"),
                format!("/users/{first_id}/deactivate"),
                vec![("confirm", "yes")],
            )
        };
        // fresh sessions each round: a deactivation ends the member's sessions
        let (a, b) = (
            app.signed_in(OWNER_EMAIL).await,
            app.signed_in(second_email).await,
        );
        let (fa, fb) = (form.clone(), form.clone());
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let (ba, bb) = (barrier.clone(), barrier.clone());
        // What each request did: changed the member, was refused, or found its own session
        // already ended by the other's deactivation (a redirect to sign in).
        let outcome = |res: reqwest::Response| match res.status() {
            StatusCode::SEE_OTHER if location(&res).starts_with("/login") => "signed out",
            StatusCode::SEE_OTHER => "changed",
            _ => "refused",
        };
        let ta = tokio::spawn(async move {
            ba.wait().await;
            outcome(a.post(&path_a, &fa).await)
        });
        let tb = tokio::spawn(async move {
            bb.wait().await;
            outcome(b.post(&path_b, &fb).await)
        });
        let outcomes = [ta.await.unwrap(), tb.await.unwrap()];
        assert_eq!(app.count(owners).await, 1, "round {round}: {outcomes:?}");
        assert_eq!(
            outcomes.iter().filter(|o| **o == "changed").count(),
            1,
            "round {round}: {outcomes:?}"
        );
        // back to two active owners for the next round
        sqlx::query("UPDATE users SET role = 'OWNER', active = 1")
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_the_security_headers() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let c = app.client();
    let big = "x".repeat(2 * 1024 * 1024);
    let res = c
        .post("/login", &[("email", &big), ("password", "x")])
        .await;
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    for header in [
        "content-security-policy",
        "x-content-type-options",
        "referrer-policy",
    ] {
        assert!(res.headers().contains_key(header), "{header} missing");
    }
}

/// A stored allowlist that no longer parses refuses sign-in (it never reads as "no list").
#[tokio::test]
async fn an_unreadable_stored_allowlist_fails_closed() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let tenant = app.operator_tenant_id().await;
    sqlx::query(
        "INSERT INTO tenant_security_policy (tenant_id, min_password_length, reject_common, \
         require_mfa, ip_allowlist, idle_minutes, absolute_minutes, updated_at, updated_by) \
         VALUES ($1, 12, 1, 0, 'not an address', 0, 0, 0, '')",
    )
    .bind(&tenant)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let c = app.client();
    let res = c.login(OWNER_EMAIL, PASSWORD).await;
    assert_ne!(res.status(), StatusCode::SEE_OTHER);
    assert!(c.cookie("mpanel_session").is_none(), "no session");
}
