//! The security centre: MFA, second-factor sign-in, sessions, API tokens, events, policy.

use reqwest::StatusCode;

use crate::helpers::*;

fn no_store(res: &reqwest::Response) -> bool {
    res.headers()
        .get("cache-control")
        .is_some_and(|v| v == "no-store")
}

/// A customer tenant with an OWNER (signed in) and a MEMBER; returns (tenant, owner client).
async fn customer(app: &TestApp, staff: &TestClient, slug: &str) -> (String, TestClient) {
    let tenant = app.create_tenant(staff, slug).await;
    app.create_user(staff, &tenant, &format!("owner@{slug}.test"), "OWNER")
        .await;
    app.create_user(staff, &tenant, &format!("member@{slug}.test"), "MEMBER")
        .await;
    (tenant, app.signed_in(&format!("owner@{slug}.test")).await)
}

async fn all_text(app: &TestApp, sql: &str) -> String {
    let rows: Vec<String> = sqlx::query_scalar(sql)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    rows.join("\n")
}

/// Every stored value a secret could leak into.
async fn stored_text(app: &TestApp) -> String {
    let mut out = String::new();
    for sql in [
        "SELECT secret_enc FROM user_mfa",
        "SELECT code_hash FROM recovery_codes",
        "SELECT token_hash || ' ' || prefix || ' ' || last_four || ' ' || name FROM api_tokens",
        "SELECT summary || ' ' || email || ' ' || user_agent FROM security_events",
        "SELECT summary || ' ' || actor_email || ' ' || target_id FROM audit_log",
        "SELECT id FROM sessions",
        "SELECT id || ' ' || next_path FROM mfa_challenges",
    ] {
        out.push_str(&all_text(app, sql).await);
        out.push('\n');
    }
    out
}

#[tokio::test]
async fn enrolment_shows_a_qr_code_and_needs_a_correct_code() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let page = owner.get("/security/mfa").await.text().await.unwrap();
    assert!(page.contains("Status: off"));
    assert_eq!(
        owner.post("/security/mfa/setup", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
    let res = owner.get("/security/mfa").await;
    assert!(
        no_store(&res),
        "the page showing the secret is never cached"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains("<svg role=\"img\"") && html.contains("QR code"));
    let secret = between(
        &html,
        "id=\"totp-secret\" type=\"text\" readonly value=\"",
        "\"",
    )
    .unwrap()
    .to_string();
    assert!(secret.len() >= 32, "160-bit secret in base32: {secret}");
    // not on before a correct code
    let res = owner
        .post("/security/mfa/enable", &[("code", "000000")])
        .await;
    let wrong_ok = totp_code(&secret, 0) == "000000";
    if !wrong_ok {
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("does not match"));
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM user_mfa WHERE enabled = 1")
            .await,
        0
    );
    let res = owner
        .post("/security/mfa/enable", &[("code", &totp_code(&secret, 0))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        no_store(&res),
        "recovery codes are shown once, never cached"
    );
    let html = res.text().await.unwrap();
    let codes = recovery_codes_in(&html);
    assert_eq!(codes.len(), 10);
    assert!(html.contains("download=\"mpanel-recovery-codes.txt\"") && html.contains("data-print"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM user_mfa WHERE enabled = 1")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NULL")
            .await,
        10
    );
    // neither the secret nor a recovery code is stored in plain text
    let stored = stored_text(&app).await;
    assert!(!stored.contains(&secret));
    for code in &codes {
        assert!(!stored.contains(code) && !stored.contains(&code.replace('-', "")));
    }
    let page = owner.get("/security/mfa").await.text().await.unwrap();
    assert!(page.contains("Status: on") && !page.contains(&secret));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'MFA_ENABLED'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_password_alone_never_reaches_a_page_when_mfa_is_on() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    app.enrol_mfa(&owner).await;
    let sessions_before = app.count("SELECT COUNT(*) FROM sessions").await;
    let c = app.client();
    let res = c.login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login/mfa");
    assert!(c.cookie("mpanel_session").is_none(), "no session yet");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM sessions").await,
        sessions_before
    );
    for path in [
        "/",
        "/security",
        "/security/mfa",
        "/users",
        "/account/password",
    ] {
        let res = c.get(path).await;
        assert_eq!(location(&res), "/login", "{path} needs the second factor");
    }
    let res = c.get("/login/mfa").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Authentication code or recovery code")
    );
    // the challenge cookie is not a session, even if presented as one
    let challenge = {
        use reqwest::cookie::CookieStore;
        let url = format!("{}/login/mfa", app.base).parse().unwrap();
        let header = c.jar.cookies(&url).expect("challenge cookie");
        header
            .to_str()
            .unwrap()
            .trim_start_matches("mpanel_mfa=")
            .to_string()
    };
    assert!(!challenge.is_empty());
    let forged = app.client();
    forged.set_cookie("mpanel_session", &challenge);
    assert_eq!(location(&forged.get("/").await), "/login");
    // without a challenge, /login/mfa leads back to the password
    assert_eq!(location(&app.client().get("/login/mfa").await), "/login");
    let res = app.client().post("/login/mfa", &[("code", "123456")]).await;
    assert_eq!(location(&res), "/login");
}

#[tokio::test]
async fn session_id_changes_after_the_second_factor_and_a_code_works_once() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let (secret, _) = app.enrol_mfa(&owner).await;
    let before = owner.cookie("mpanel_session").unwrap();
    // the same browser signs in again: password, then a code for the next step (±1 window)
    let res = owner.login(OWNER_EMAIL, PASSWORD).await;
    assert_eq!(location(&res), "/login/mfa");
    assert_eq!(
        location(&owner.get("/").await),
        "/login",
        "the old session ended at the password step"
    );
    let code = totp_code(&secret, 1);
    let res = owner.post("/login/mfa", &[("code", &code)]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let after = owner
        .cookie("mpanel_session")
        .expect("a session after the code");
    assert_ne!(before, after, "a new session id after the second factor");
    assert_eq!(owner.get("/").await.status(), StatusCode::OK);
    let replay = app.client();
    replay.set_cookie("mpanel_session", &before);
    assert_eq!(location(&replay.get("/").await), "/login");
    // the same code again (a replay within its window) is refused
    let (c, res) = app.login_with_code(OWNER_EMAIL, &code).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("already used"));
    assert!(c.cookie("mpanel_session").is_none());
    // so is the code of the enrolment step, and a wrong code
    let (_, res) = app
        .login_with_code(OWNER_EMAIL, &totp_code(&secret, 0))
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let (_, res) = app.login_with_code(OWNER_EMAIL, "not-a-code").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'MFA_REPLAY'")
            .await
            >= 1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'LOGIN_SUCCESS'")
            .await,
        1,
        "one sign-in completed; the refused codes signed nobody in"
    );
}

#[tokio::test]
async fn a_recovery_code_works_once() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let (_, codes) = app.enrol_mfa(&owner).await;
    let (c, res) = app
        .login_with_code(OWNER_EMAIL, &codes[3].to_lowercase())
        .await;
    assert_eq!(location(&res), "/", "a recovery code signs in (any case)");
    assert_eq!(c.get("/").await.status(), StatusCode::OK);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM recovery_codes WHERE used_at IS NOT NULL")
            .await,
        1
    );
    let (c, res) = app.login_with_code(OWNER_EMAIL, &codes[3]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("already used"));
    assert!(c.cookie("mpanel_session").is_none());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'RECOVERY_CODE_USED'")
            .await,
        1
    );
}

#[tokio::test]
async fn wrong_codes_are_rate_limited_like_passwords() {
    let app = TestApp::spawn_with(|c| {
        c.login_account_burst = 3;
        c.login_account_interval_secs = 60;
    })
    .await;
    let owner = app.setup_owner().await;
    let (secret, _) = app.enrol_mfa(&owner).await;
    let c = app.client();
    assert_eq!(
        location(&c.login(OWNER_EMAIL, PASSWORD).await),
        "/login/mfa"
    );
    let wrong = if totp_code(&secret, 1) == "111111" {
        "222222"
    } else {
        "111111"
    };
    for _ in 0..3 {
        let res = c.post("/login/mfa", &[("code", wrong)]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = c
        .post("/login/mfa", &[("code", &totp_code(&secret, 1))])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "even the right code waits"
    );
    assert!(res.headers().contains_key("retry-after"));
    assert!(c.cookie("mpanel_session").is_none());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'MFA_FAILED'")
            .await,
        3
    );
    assert!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'LOGIN_LOCKED'")
            .await
            >= 1
    );
}

#[tokio::test]
async fn turning_mfa_off_or_new_codes_need_the_password_and_a_code_and_end_other_sessions() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let other = app.signed_in(OWNER_EMAIL).await;
    let (secret, codes) = app.enrol_mfa(&owner).await;
    assert_eq!(
        location(&other.get("/").await),
        "/login",
        "enabling ended the other session"
    );
    let res = owner
        .post(
            "/security/mfa/recovery-codes",
            &[
                ("password", "wrong password!"),
                ("code", &totp_code(&secret, 1)),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("That is not your password.")
    );
    let res = owner
        .post(
            "/security/mfa/recovery-codes",
            &[("password", PASSWORD), ("code", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = owner
        .post(
            "/security/mfa/recovery-codes",
            &[("password", PASSWORD), ("code", &codes[0])],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(no_store(&res));
    let fresh = recovery_codes_in(&res.text().await.unwrap());
    assert_eq!(fresh.len(), 10);
    // the old set is gone
    let (_, res) = app.login_with_code(OWNER_EMAIL, &codes[1]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let second = app.login_with_code(OWNER_EMAIL, &fresh[0]).await.0;
    assert_eq!(second.get("/").await.status(), StatusCode::OK);
    // turning off needs the confirmation box, the password and a code
    let res = owner
        .post(
            "/security/mfa/disable",
            &[("password", PASSWORD), ("code", &fresh[1])],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = owner
        .post(
            "/security/mfa/disable",
            &[
                ("password", PASSWORD),
                ("code", &fresh[1]),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&second.get("/").await),
        "/login",
        "other sessions ended"
    );
    assert_eq!(owner.get("/").await.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM user_mfa").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM recovery_codes").await, 0);
    assert_eq!(
        location(&app.client().login(OWNER_EMAIL, PASSWORD).await),
        "/",
        "password only again"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'MFA_DISABLED'")
            .await,
        1
    );
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_and_a_revoked_cookie_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let laptop = app.client();
    let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    let res = laptop
        .http
        .post(laptop.url("/login"))
        .header("Sec-Fetch-Site", "same-origin")
        .header("User-Agent", firefox)
        .form(&[("email", OWNER_EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let third = app.signed_in(OWNER_EMAIL).await;
    let html = owner.get("/security/sessions").await.text().await.unwrap();
    assert!(
        html.contains("Firefox") && html.contains("Linux"),
        "browser and OS"
    );
    assert!(html.contains("127.0.0.1") && html.contains("(this device)"));
    assert_eq!(html.matches("(this device)").count(), 1);
    let laptop_id =
        mpanel::auth::service::session_id_for(&laptop.cookie("mpanel_session").unwrap());
    let res = owner
        .post(
            &format!("/security/sessions/{laptop_id}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&laptop.get("/").await),
        "/login",
        "revoked cookie refused"
    );
    assert_eq!(third.get("/").await.status(), StatusCode::OK);
    let res = owner
        .post("/security/sessions/revoke-others", &[("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&third.get("/").await), "/login");
    assert_eq!(
        owner.get("/security/sessions").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'SESSION_REVOKED'")
            .await,
        2
    );
}

#[tokio::test]
async fn owners_end_members_sessions_but_never_another_tenants() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (tenant_a, owner_a) = customer(&app, &staff, "alpha").await;
    let (_tenant_b, owner_b) = customer(&app, &staff, "bravo").await;
    let _ = tenant_a;
    let member_a = app.signed_in("member@alpha.test").await;
    let member_b = app.signed_in("member@bravo.test").await;
    let id_of = |email: &str| format!("SELECT id FROM users WHERE email = '{email}'");
    let member_a_id = all_text(&app, &id_of("member@alpha.test")).await;
    let member_b_id = all_text(&app, &id_of("member@bravo.test")).await;
    let html = owner_a
        .get(&format!("/security/sessions?user_id={member_a_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Sessions of member@alpha.test"));
    // tenant B's member, sessions and session ids are invisible to tenant A
    assert_eq!(
        owner_a
            .get(&format!("/security/sessions?user_id={member_b_id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let b_session =
        mpanel::auth::service::session_id_for(&member_b.cookie("mpanel_session").unwrap());
    assert_eq!(
        owner_a
            .post(&format!("/security/sessions/{b_session}/revoke"), &[])
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        owner_a
            .post(
                &format!("/security/users/{member_b_id}/sessions/revoke"),
                &[("confirm", "yes")]
            )
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(member_b.get("/").await.status(), StatusCode::OK);
    // a member cannot end a colleague's sessions
    let owner_a_id = all_text(&app, &id_of("owner@alpha.test")).await;
    assert_eq!(
        member_a
            .post(
                &format!("/security/users/{owner_a_id}/sessions/revoke"),
                &[("confirm", "yes")]
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let res = owner_a
        .post(
            &format!("/security/users/{member_a_id}/sessions/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&member_a.get("/").await), "/login");
    assert_eq!(owner_b.get("/").await.status(), StatusCode::OK);
    // the member sees who ended it among their own events
    let again = app.signed_in("member@alpha.test").await;
    let html = again.get("/security").await.text().await.unwrap();
    assert!(html.contains("Ended all 1 session(s) of member@alpha.test"));
}

#[tokio::test]
async fn security_events_are_scoped_filtered_and_paginated() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (_, owner_a) = customer(&app, &staff, "alpha").await;
    let (_, _owner_b) = customer(&app, &staff, "bravo").await;
    app.client()
        .login("member@bravo.test", "wrong password!")
        .await;
    app.client()
        .login("member@alpha.test", "wrong password!")
        .await;
    let html = owner_a.get("/security/events").await.text().await.unwrap();
    assert!(html.contains("owner@alpha.test") && html.contains("member@alpha.test"));
    assert!(
        !html.contains("bravo"),
        "tenant A sees none of tenant B's events"
    );
    assert!(html.contains("127.0.0.1") && html.contains("mpanel-it/1.0"));
    let html = owner_a
        .get("/security/events?event_type=LOGIN_FAILED")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("member@alpha.test") && !html.contains("LOGIN_SUCCESS</code>"));
    let html = owner_a
        .get("/security/events?user=owner%40alpha&from=2000-01-01&until=2999-12-31")
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("member@alpha.test") && html.contains("owner@alpha.test"));
    let res = owner_a
        .get("/security/events?from=yesterday&page=abc")
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Use a date like"));
    // staff see every tenant
    let html = staff.get("/security/events").await.text().await.unwrap();
    assert!(html.contains("member@bravo.test") && html.contains("member@alpha.test"));
    // members do not see the log; everyone sees their own events on /security
    let member = app.signed_in("member@alpha.test").await;
    assert_eq!(
        member.get("/security/events").await.status(),
        StatusCode::FORBIDDEN
    );
    let html = member.get("/security").await.text().await.unwrap();
    assert!(html.contains("LOGIN_FAILED") && html.contains("LOGIN_SUCCESS"));
    // pagination: 25 per page
    for _ in 0..30 {
        app.client()
            .login("member@alpha.test", "wrong password!")
            .await;
    }
    let html = owner_a
        .get("/security/events?user=member%40alpha&page=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 2 of 2"), "{html}");
}

// ---------------------------------------------------------------- API tokens

fn in_days(days: i64) -> String {
    let t = mpanel::db::Timestamp::now().plus_secs(days * 86_400);
    t.to_string().chars().take(10).collect()
}

/// Creates a token through the UI; returns the token shown once.
async fn create_token(c: &TestClient, name: &str, scopes: &[&str], expires_on: &str) -> String {
    let mut form: Vec<(String, String)> = vec![
        ("name".into(), name.into()),
        ("expires_on".into(), expires_on.into()),
    ];
    for s in scopes {
        form.push((format!("scope_{}", s.to_lowercase()), "on".into()));
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = c.post("/security/tokens", &form).await;
    assert_eq!(res.status(), StatusCode::OK, "token created");
    assert!(no_store(&res), "the page showing the token is never cached");
    let html = res.text().await.unwrap();
    between(
        &html,
        "id=\"new-token\" type=\"text\" readonly value=\"",
        "\"",
    )
    .unwrap()
    .to_string()
}

async fn api_get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let c = reqwest::Client::new();
    let mut req = c.get(format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    req.send().await.unwrap()
}

async fn error_code(res: reqwest::Response) -> String {
    let body: serde_json::Value = res.json().await.unwrap();
    body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn api_tokens_are_shown_once_stored_hashed_and_checked_for_expiry_and_scope() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (_, owner) = customer(&app, &staff, "alpha").await;
    let token = create_token(&owner, "deploy script", &["READ", "SECURITY"], &in_days(30)).await;
    assert!(token.starts_with("mpn_") && token.len() > 40);
    assert!(
        !stored_text(&app).await.contains(&token[4..]),
        "only a hash is stored"
    );
    let html = owner.get("/security/tokens").await.text().await.unwrap();
    assert!(
        !html.contains(&token),
        "the list never shows the token again"
    );
    assert!(html.contains(&format!("{}…{}", &token[..8], &token[token.len() - 4..])));
    assert!(html.contains("READ, SECURITY") && html.contains("never") && html.contains("Active"));

    let res = api_get(&app, "/api/v1/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/json");
    let me: serde_json::Value = res.json().await.unwrap();
    assert_eq!(me["email"], "owner@alpha.test");
    assert_eq!(me["tenant"]["name"], "Tenant alpha");
    assert_eq!(
        me["token"]["scopes"],
        serde_json::json!(["READ", "SECURITY"])
    );
    let html = owner.get("/security/tokens").await.text().await.unwrap();
    assert!(!html.contains(">never<"), "last use recorded");

    // no token, junk, unknown: 401 JSON with a Bearer challenge
    for bad in [
        None,
        Some("junk"),
        Some("mpn_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
    ] {
        let res = api_get(&app, "/api/v1/me", bad).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{bad:?}");
        assert!(
            res.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with("Bearer")
        );
        assert_eq!(error_code(res).await, "invalid_token");
    }
    // a browser session does not authenticate the API
    let res = owner.get("/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = api_get(&app, "/api/v1/nothing-here", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "not_found");

    // wrong scope: 403
    let billing = create_token(&owner, "billing only", &["BILLING"], &in_days(1)).await;
    let res = api_get(&app, "/api/v1/me", Some(&billing)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "insufficient_scope");

    // expired: 401
    let expiring = create_token(&owner, "short lived", &["READ"], &in_days(0)).await;
    assert_eq!(
        api_get(&app, "/api/v1/me", Some(&expiring)).await.status(),
        StatusCode::OK
    );
    sqlx::query("UPDATE api_tokens SET expires_at = $1 WHERE name = 'short lived'")
        .bind(mpanel::db::Timestamp::now().0 - 1)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        api_get(&app, "/api/v1/me", Some(&expiring)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let html = owner.get("/security/tokens").await.text().await.unwrap();
    assert!(html.contains("Expired"));

    // revoked: 401
    let id = all_text(
        &app,
        "SELECT id FROM api_tokens WHERE name = 'deploy script'",
    )
    .await;
    let res = owner
        .post(
            &format!("/security/tokens/{id}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = api_get(&app, "/api/v1/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        owner
            .get("/security/tokens")
            .await
            .text()
            .await
            .unwrap()
            .contains("Revoked")
    );
    // a deactivated user's tokens stop working too
    let member_token = {
        let member = app.signed_in("member@alpha.test").await;
        create_token(&member, "member", &["READ"], &in_days(2)).await
    };
    assert_eq!(
        api_get(&app, "/api/v1/me", Some(&member_token))
            .await
            .status(),
        StatusCode::OK
    );
    let member_id = all_text(
        &app,
        "SELECT id FROM users WHERE email = 'member@alpha.test'",
    )
    .await;
    owner
        .post(
            &format!("/users/{member_id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(
        api_get(&app, "/api/v1/me", Some(&member_token))
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    for kind in ["TOKEN_CREATED", "TOKEN_REVOKED"] {
        assert!(
            app.count(&format!(
                "SELECT COUNT(*) FROM security_events WHERE event_type = '{kind}'"
            ))
            .await
                >= 1
        );
    }
}

#[tokio::test]
async fn token_form_requires_an_expiry_within_a_year_and_scopes_within_the_role() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    customer(&app, &staff, "alpha").await;
    let member = app.signed_in("member@alpha.test").await;
    for (form, message) in [
        (
            vec![("name", "x"), ("scope_read", "on"), ("expires_on", "")],
            "tokens always expire",
        ),
        (
            vec![
                ("name", "x"),
                ("scope_read", "on"),
                ("expires_on", &in_days(400)),
            ],
            "within one year",
        ),
        (
            vec![("name", "x"), ("expires_on", &in_days(3))],
            "at least one scope",
        ),
        (
            vec![
                ("name", "x"),
                ("scope_admin", "on"),
                ("expires_on", &in_days(3)),
            ],
            "cannot grant the ADMIN scope",
        ),
        (
            vec![
                ("name", ""),
                ("scope_read", "on"),
                ("expires_on", &in_days(3)),
            ],
            "This field is required.",
        ),
    ] {
        let res = member.post("/security/tokens", &form).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(res.text().await.unwrap().contains(message), "{message}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM api_tokens").await, 0);
}

#[tokio::test]
async fn another_tenants_tokens_are_invisible_and_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (_, owner_a) = customer(&app, &staff, "alpha").await;
    let (_, owner_b) = customer(&app, &staff, "bravo").await;
    let member_a = app.signed_in("member@alpha.test").await;
    let token_b = create_token(&owner_b, "bravo ci", &["READ"], &in_days(5)).await;
    create_token(&member_a, "alpha member ci", &["READ"], &in_days(5)).await;
    let id_b = all_text(&app, "SELECT id FROM api_tokens WHERE name = 'bravo ci'").await;
    let html = owner_a.get("/security/tokens").await.text().await.unwrap();
    assert!(!html.contains("bravo ci") && html.contains("alpha member ci"));
    let res = owner_a
        .post(
            &format!("/security/tokens/{id_b}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        api_get(&app, "/api/v1/me", Some(&token_b)).await.status(),
        StatusCode::OK
    );
    // an OWNER revokes a member's token; a member cannot revoke the owner's
    let id_a = all_text(
        &app,
        "SELECT id FROM api_tokens WHERE name = 'alpha member ci'",
    )
    .await;
    create_token(&owner_a, "owner ci", &["READ"], &in_days(5)).await;
    let owner_token = all_text(&app, "SELECT id FROM api_tokens WHERE name = 'owner ci'").await;
    assert_eq!(
        member_a
            .post(
                &format!("/security/tokens/{owner_token}/revoke"),
                &[("confirm", "yes")]
            )
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        owner_a
            .post(
                &format!("/security/tokens/{id_a}/revoke"),
                &[("confirm", "yes")]
            )
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

// ---------------------------------------------------------------- tenant policy

async fn save_policy(c: &TestClient, fields: &[(&str, &str)]) -> reqwest::Response {
    let mut form = vec![("min_password_length", "12"), ("reject_common", "on")];
    for (k, v) in fields {
        form.retain(|(key, _)| key != k);
        form.push((k, v));
    }
    c.post("/security/policy", &form).await
}

#[tokio::test]
async fn password_policy_applies_wherever_a_password_is_set() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (tenant, owner) = customer(&app, &staff, "alpha").await;
    // defaults: 12 characters and no common password, even at setup
    let res = owner
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "unbelievable"),
                ("confirm", "unbelievable"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("10,000 most common passwords")
    );
    let res = save_policy(&owner, &[("min_password_length", "16")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = owner.get("/account/password").await.text().await.unwrap();
    assert!(page.contains("New password (at least 16 characters)"));
    let res = owner
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "fifteen chars!!"),
                ("confirm", "fifteen chars!!"),
            ],
        )
        .await;
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Use at least 16 characters.")
    );
    // the password an invited member chooses, invited by its owner or by staff
    for admin in [&owner, &staff] {
        let res = admin
            .post(
                "/users",
                &[
                    ("tenant_id", tenant.as_str()),
                    ("email", "new@alpha.test"),
                    ("name", "New"),
                    ("role", "MEMBER"),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let link = app.queued_invite_link("new@alpha.test").await.unwrap();
        let page = app.client().get(&link).await.text().await.unwrap();
        assert!(page.contains("Password (at least 16 characters)"));
        let res = app.accept_invitation(&link, "only fifteen ch").await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Use at least 16 characters.")
        );
    }
    // a shorter minimum, without the common-password list
    save_policy(
        &owner,
        &[("min_password_length", "8"), ("reject_common", "")],
    )
    .await;
    let res = owner
        .post("/security/policy", &[("min_password_length", "8")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = owner
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "sunshine"),
                ("confirm", "sunshine"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "common allowed when the tenant says so"
    );
    // the policy form refuses nonsense with messages beside the fields
    let res = save_policy(
        &owner,
        &[("min_password_length", "7"), ("idle_minutes", "-3")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("Enter a whole number from 8 to 64.") && html.contains("Enter minutes"));
    // only OWNER/ADMIN edit it; the change is a security event
    let member = app.signed_in("member@alpha.test").await;
    assert_eq!(
        member.get("/security/policy").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        save_policy(&member, &[]).await.status(),
        StatusCode::FORBIDDEN
    );
    assert!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'POLICY_UPDATED'")
            .await
            >= 2
    );
}

#[tokio::test]
async fn required_mfa_sends_members_to_enrol_before_anything_else() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (_, owner) = customer(&app, &staff, "alpha").await;
    let member = app.signed_in("member@alpha.test").await;
    let token = create_token(&member, "ci", &["READ"], &in_days(3)).await;
    let res = save_policy(&owner, &[("require_mfa", "on")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    for path in [
        "/",
        "/security",
        "/security/tokens",
        "/users",
        "/account/password",
    ] {
        assert_eq!(location(&member.get(path).await), "/security/mfa", "{path}");
    }
    let res = api_get(&app, "/api/v1/me", Some(&token)).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "mfa_required");
    assert_eq!(member.get("/security/mfa").await.status(), StatusCode::OK);
    app.enrol_mfa(&member).await;
    assert_eq!(member.get("/").await.status(), StatusCode::OK);
    assert_eq!(
        api_get(&app, "/api/v1/me", Some(&token)).await.status(),
        StatusCode::OK
    );
    // other tenants are not affected
    let (_, other) = customer(&app, &staff, "bravo").await;
    assert_eq!(other.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_ip_allowlist_is_checked_on_every_request_and_ignores_spoofed_forwarded_for() {
    // the panel behind a proxy at 127.0.0.1, whose X-Forwarded-For is believed
    let app = TestApp::spawn_with(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let staff = app.setup_owner().await;
    let (_, owner) = customer(&app, &staff, "alpha").await;
    let member = app.signed_in("member@alpha.test").await;
    let token = create_token(&member, "ci", &["READ"], &in_days(3)).await;
    // saving a list without your own address is refused (no self lock-out)
    let res = save_policy(&owner, &[("ip_allowlist", "203.0.113.0/24")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("lock you out"));
    let res = owner
        .http
        .post(owner.url("/security/policy"))
        .header("Sec-Fetch-Site", "same-origin")
        .header("X-Forwarded-For", "203.0.113.9")
        .form(&[
            ("min_password_length", "12"),
            ("ip_allowlist", "203.0.113.0/24\n2001:db8::/32"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let from = |xff: &'static str| {
        let member = &member;
        async move {
            member
                .http
                .get(member.url("/"))
                .header("X-Forwarded-For", xff)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(from("203.0.113.20").await.status(), StatusCode::OK);
    // the proxy appends the real client; a spoofed left-most entry does not help
    let res = from("203.0.113.20, 198.51.100.7").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("198.51.100.7"));
    // no header: the proxy itself (127.0.0.1) is the client, not in the list
    assert_eq!(member.get("/").await.status(), StatusCode::FORBIDDEN);
    // API tokens obey the same list
    let api = |xff: &'static str| {
        let token = token.clone();
        let base = app.base.clone();
        async move {
            reqwest::Client::new()
                .get(format!("{base}/api/v1/me"))
                .header("Authorization", format!("Bearer {token}"))
                .header("X-Forwarded-For", xff)
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(api("203.0.113.20").await.status(), StatusCode::OK);
    let res = api("203.0.113.20, 198.51.100.7").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "ip_not_allowed");
    // sign-in from outside is refused and logged
    let res = app.client().login("member@alpha.test", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("does not allow sign-in from this network")
    );
    assert!(
        app.count("SELECT COUNT(*) FROM security_events WHERE event_type = 'IP_BLOCKED'")
            .await
            >= 1
    );
    // staff (another tenant) are not limited by this tenant's list
    assert_eq!(staff.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_a_direct_client_is_ignored() {
    // no trusted proxies: X-Forwarded-For is never believed
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (tenant, _) = customer(&app, &staff, "alpha").await;
    let member = app.signed_in("member@alpha.test").await;
    sqlx::query(
        "INSERT INTO tenant_security_policy (tenant_id, min_password_length, reject_common, \
         require_mfa, ip_allowlist, idle_minutes, absolute_minutes, updated_at, updated_by) \
         VALUES ($1, 12, 1, 0, '203.0.113.0/24', 0, 0, 0, NULL)",
    )
    .bind(&tenant)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
    let res = member
        .http
        .get(member.url("/"))
        .header("X-Forwarded-For", "203.0.113.20")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("127.0.0.1"));
    // signing out still works from anywhere
    assert_eq!(
        member.post("/logout", &[]).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn tenant_idle_and_absolute_timeouts_are_enforced() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let (_, owner) = customer(&app, &staff, "alpha").await;
    let res = save_policy(
        &owner,
        &[("idle_minutes", "10"), ("absolute_minutes", "60")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let idle = app.signed_in("member@alpha.test").await;
    let old = app.signed_in("member@alpha.test").await;
    let fresh = app.signed_in("member@alpha.test").await;
    let id = |c: &TestClient| {
        mpanel::auth::service::session_id_for(&c.cookie("mpanel_session").unwrap())
    };
    let now = mpanel::db::Timestamp::now();
    let pool = &app.state.db.pool;
    // 11 minutes idle: past the tenant's 10 (the server allows 120)
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now.plus_secs(-11 * 60).0)
        .bind(id(&idle))
        .execute(pool)
        .await
        .unwrap();
    // signed in 61 minutes ago, active a moment ago: past the tenant's 60 (the server allows 720)
    sqlx::query("UPDATE sessions SET created_at = $1, last_seen_at = $2 WHERE id = $3")
        .bind(now.plus_secs(-61 * 60).0)
        .bind(now.plus_secs(-30).0)
        .bind(id(&old))
        .execute(pool)
        .await
        .unwrap();
    // the member's sessions list already leaves them out
    let member_id = all_text(
        &app,
        "SELECT id FROM users WHERE email = 'member@alpha.test'",
    )
    .await;
    let html = owner
        .get(&format!("/security/sessions?user_id={member_id}"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(html.matches(">End session<").count(), 1, "{html}");
    assert_eq!(location(&idle.get("/").await), "/login");
    assert_eq!(location(&old.get("/").await), "/login");
    assert_eq!(fresh.get("/").await.status(), StatusCode::OK);
    // the server's own limit still applies when stricter than the tenant's
    save_policy(&owner, &[("idle_minutes", "600")]).await;
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now.plus_secs(-121 * 60).0)
        .bind(id(&fresh))
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(location(&fresh.get("/").await), "/login");
}

/// The real binary at TRACE level (every crate, SQL statements included) through enrolment,
/// a recovery-code sign-in and an API call: none of the secrets may appear in its output.
#[tokio::test]
async fn no_secret_reaches_the_logs_or_the_database() {
    let dir = std::env::temp_dir().join(format!("mpanel-logs-{}", mpanel::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = test_database_url(&dir)
        .await
        .unwrap_or_else(|| format!("sqlite://{}/mpanel.db", dir.display()));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log_path = dir.join("server.log");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mpanel"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MPANEL_DATA_DIR", &dir)
        .env("DATABASE_URL", &database_url)
        .env("MPANEL_BIND", format!("127.0.0.1:{port}"))
        .env(
            "MPANEL_SECRET_KEY",
            "log-test-secret-key-log-test-secret-key",
        )
        .env("MPANEL_LOG", "trace")
        .stdout(std::fs::File::create(&log_path).unwrap())
        .stderr(std::fs::File::create(dir.join("server.err")).unwrap())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let started = std::time::Instant::now();
    while reqwest::get(format!("{base}/readyz")).await.is_err() {
        assert!(started.elapsed().as_secs() < 30, "server did not start");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let owner = client_for(&base);
    let res = owner
        .post(
            "/setup",
            &[
                ("company", "Logs"),
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (secret, codes) = enrol_mfa(&owner).await;
    let (_, res) = login_with_code_at(&base, OWNER_EMAIL, &codes[0]).await;
    assert_eq!(location(&res), "/");
    let token = create_token(&owner, "ci", &["READ"], &in_days(3)).await;
    let me = reqwest::Client::new()
        .get(format!("{base}/api/v1/me"))
        .header("Authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    let mut logs = std::fs::read_to_string(&log_path).unwrap();
    logs.push_str(&std::fs::read_to_string(dir.join("server.err")).unwrap());
    assert!(logs.contains("/security/mfa/enable"), "requests are traced");
    assert!(logs.contains("INSERT INTO api_tokens"), "SQL is traced");
    let needles = [
        secret.clone(),
        codes[0].clone(),
        codes[0].replace('-', ""),
        codes[5].replace('-', ""),
        token.clone(),
        token[4..].to_string(),
        PASSWORD.to_string(),
    ];
    for needle in &needles {
        assert!(
            !logs.contains(needle.as_str()),
            "{needle} leaked into the logs"
        );
    }
    // the database, read directly
    let db = mpanel::db::Db::connect(&database_url, 1).await.unwrap();
    let mut stored = String::new();
    for sql in [
        "SELECT secret_enc FROM user_mfa",
        "SELECT code_hash FROM recovery_codes",
        "SELECT token_hash || prefix || last_four || name FROM api_tokens",
        "SELECT summary || email FROM security_events",
        "SELECT summary || target_id FROM audit_log",
        "SELECT password_hash FROM users",
    ] {
        let rows: Vec<String> = sqlx::query_scalar(sql).fetch_all(&db.pool).await.unwrap();
        stored.push_str(&rows.join("\n"));
    }
    assert!(
        stored.contains("v1."),
        "the sealed secret is there, encrypted"
    );
    for needle in &needles {
        assert!(
            !stored.contains(needle.as_str()),
            "{needle} stored in plain text"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn security_pages_have_no_inline_code_and_junk_never_fails_the_server() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    owner.post("/security/mfa/setup", &[]).await;
    for path in [
        "/security",
        "/security/mfa",
        "/security/sessions",
        "/security/tokens",
        "/security/events",
        "/security/policy",
    ] {
        let res = owner.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        assert!(
            !html.contains("<script>") && !html.contains("style=\"") && !html.contains("onclick"),
            "{path}"
        );
        let fragment = owner.get_htmx(path).await.text().await.unwrap();
        assert!(!fragment.contains("<html"), "{path} as a fragment");
    }
    let long = "ß".repeat(3000);
    let junk: Vec<(&str, &str)> = vec![
        ("code", &long),
        ("password", "\u{202e}"),
        ("confirm", "maybe"),
        ("name", &long),
        ("expires_on", "9999-99-99"),
        ("scope_read", "x"),
        ("min_password_length", "99999999999999999999"),
        ("ip_allowlist", &long),
        ("idle_minutes", "-1"),
        ("absolute_minutes", "1e9"),
    ];
    for path in [
        "/security/mfa/setup",
        "/security/mfa/enable",
        "/security/mfa/disable",
        "/security/mfa/recovery-codes",
        "/security/tokens",
        "/security/tokens/x/revoke",
        "/security/sessions/x/revoke",
        "/security/sessions/revoke-others",
        "/security/users/x/sessions/revoke",
        "/security/policy",
        "/login/mfa",
    ] {
        let res = owner.post(path, &junk).await;
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }
    for path in [
        "/security/events?event_type=%27&user=%25_&from=x&until=9999-99-99&page=-4",
        "/security/sessions?user_id=%27%20OR%201%3D1",
        "/login/mfa",
    ] {
        let res = owner.get(path).await;
        assert!(res.status().as_u16() < 500, "{path}: {}", res.status());
    }
    let res = reqwest::Client::new()
        .get(format!("{}/api/v1/me", app.base))
        .header("Authorization", format!("Bearer mpn_{long}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_changed_secret_key_refuses_totp_codes_without_failing_and_recovery_codes_still_work() {
    let dir = std::env::temp_dir().join(format!("mpanel-key-{}", mpanel::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database_url = test_database_url(&dir).await;
    let first = {
        let (dir, url) = (dir.clone(), database_url.clone());
        TestApp::spawn_with(move |c| {
            c.data_dir = dir;
            c.database_url = url;
        })
        .await
    };
    let owner = first.setup_owner().await;
    let (secret, codes) = first.enrol_mfa(&owner).await;
    // the same database served with another secret key
    let second = TestApp::spawn_with(move |c| {
        c.data_dir = dir;
        c.database_url = database_url;
        c.secret_key = Some("another-secret-key-another-secret-key-xx".into());
    })
    .await;
    let (_, res) = second
        .login_with_code(OWNER_EMAIL, &totp_code(&secret, 1))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "refused, not a server error"
    );
    let (c, res) = second.login_with_code(OWNER_EMAIL, &codes[0]).await;
    assert_eq!(location(&res), "/");
    assert_eq!(c.get("/security/mfa").await.status(), StatusCode::OK);
    drop(first);
}

#[tokio::test]
async fn the_token_form_offers_an_expiry_90_days_ahead() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let html = owner.get("/security/tokens").await.text().await.unwrap();
    let expected: String = mpanel::db::Timestamp::now()
        .plus_secs(90 * 86_400)
        .to_string()
        .chars()
        .take(10)
        .collect();
    let field = between(&html, "id=\"f-expires_on\"", ">").expect("expiry field");
    assert!(field.contains(&format!("value=\"{expected}\"")), "{field}");
}
