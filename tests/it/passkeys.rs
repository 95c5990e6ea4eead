//! Passkeys over HTTP: registration, the second factor after the password, passwordless
//! sign-in, removal, the tenant policy — and every refusal path (bad signature, stale or
//! reused ceremony, unknown credential, another user's credential, another origin, a counter
//! that goes back), driven by a software authenticator.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::soft_authenticator::{SoftPasskey, Spoil};

async fn post_json(c: &TestClient, path: &str, body: &Value) -> (StatusCode, Value) {
    let res = c
        .http
        .post(c.url(path))
        .header("Origin", &c.base)
        .header("Sec-Fetch-Site", "same-origin")
        .json(body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    let text = res.text().await.unwrap();
    let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, value)
}

/// Registers a passkey named `name` for the signed-in `c`.
async fn register(app: &TestApp, c: &TestClient, key: &mut SoftPasskey, name: &str) {
    let (status, started) = post_json(
        c,
        "/security/mfa/passkeys/options",
        &json!({ "name": name }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let credential = key.register(&started["options"], &app.public_base());
    let body = json!({ "ceremony": started["ceremony"], "credential": credential });
    let (status, done) = post_json(c, "/security/mfa/passkeys", &body).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/security/mfa");
}

/// Password step for `email` in a new client: it now holds the challenge cookie.
async fn after_password(app: &TestApp, email: &str) -> TestClient {
    let c = app.client();
    let res = c.login(email, PASSWORD).await;
    assert_eq!(location(&res), "/login/mfa", "password step of {email}");
    c
}

async fn second_factor_options(c: &TestClient) -> Value {
    let (status, started) = post_json(c, "/login/mfa/passkey/options", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    started
}

async fn answer_second_factor(
    c: &TestClient,
    started: &Value,
    credential: Value,
) -> (StatusCode, Value) {
    let body = json!({ "ceremony": started["ceremony"], "credential": credential });
    post_json(c, "/login/mfa/passkey", &body).await
}

async fn events(app: &TestApp, kind: &str) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT summary FROM security_events WHERE event_type = $1 ORDER BY created_at",
    )
    .bind(kind)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn signed_in_as(c: &TestClient) -> bool {
    c.get("/security/mfa").await.status() == StatusCode::OK
}

#[tokio::test]
async fn a_registered_passkey_is_the_second_factor_after_the_password() {
    let app = TestApp::spawn_localhost().await;
    let owner = app.setup_owner().await;
    let mut key = SoftPasskey::new();
    register(&app, &owner, &mut key, "Soft key").await;
    let html = owner.get("/security/mfa").await.text().await.unwrap();
    assert!(html.contains("Soft key"), "the passkey is listed");
    assert!(
        html.contains("added. You can use it to sign in"),
        "the flash says so"
    );
    assert_eq!(events(&app, "PASSKEY_REGISTERED").await.len(), 1);
    // the home page's checklist counts it as the second factor
    let home = owner.get("/").await.text().await.unwrap();
    assert!(home.contains("A second factor (authenticator app or passkey) is asked at sign-in."));

    // The password alone no longer signs in: the passkey is asked for.
    let c = after_password(&app, OWNER_EMAIL).await;
    let page = c.get("/login/mfa").await.text().await.unwrap();
    assert!(page.contains("Use my passkey"));
    assert!(
        page.contains("needs JavaScript"),
        "says what happens without JavaScript"
    );
    assert!(!signed_in_as(&c).await);
    let started = second_factor_options(&c).await;
    let credential = key.assert(&started["options"], &app.public_base());
    let (status, done) = answer_second_factor(&c, &started, credential.clone()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/");
    assert!(signed_in_as(&c).await);
    assert_eq!(events(&app, "PASSKEY_USED").await.len(), 1);
    let used: Option<i64> = sqlx::query_scalar("SELECT last_used_at FROM passkeys")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert!(used.is_some(), "last use recorded");

    // The same answer again (a replay): the ceremony was used up, and the sign-in too.
    let again = after_password(&app, OWNER_EMAIL).await;
    let (status, refused) = answer_second_factor(&again, &started, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert!(refused["error"].as_str().unwrap().contains("already used"));
    assert!(!signed_in_as(&again).await);
}

#[tokio::test]
async fn the_second_factor_refuses_bad_answers() {
    // Every refused answer spends an attempt; room for all of them and the right one.
    let app = TestApp::spawn_with(|c| {
        c.base_url = Some(format!("http://localhost:{}", c.bind.port()));
        c.login_account_burst = 20;
    })
    .await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "ann@acme.test", "OWNER")
        .await;
    let ann = app.signed_in("ann@acme.test").await;
    let mut owner_key = SoftPasskey::new();
    let mut ann_key = SoftPasskey::new();
    register(&app, &owner, &mut owner_key, "Owner key").await;
    register(&app, &ann, &mut ann_key, "Ann key").await;
    let origin = app.public_base();
    let c = after_password(&app, OWNER_EMAIL).await;

    // a bad signature
    let started = second_factor_options(&c).await;
    let spoil = Spoil {
        bad_signature: true,
        ..Spoil::default()
    };
    let credential = owner_key.assert_spoiled(&started["options"], &origin, &spoil);
    let (status, refused) = answer_second_factor(&c, &started, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("could not be verified")
    );

    // another origin (a phishing site relaying the challenge)
    let started = second_factor_options(&c).await;
    let spoil = Spoil {
        origin: Some("https://panel.example.evil".into()),
        ..Spoil::default()
    };
    let credential = owner_key.assert_spoiled(&started["options"], &origin, &spoil);
    let (status, _) = answer_second_factor(&c, &started, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // a credential nobody registered
    let started = second_factor_options(&c).await;
    let credential = SoftPasskey::new().assert(&started["options"], &origin);
    let (status, refused) = answer_second_factor(&c, &started, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("not registered")
    );

    // another user's credential, valid for its own account
    let started = second_factor_options(&c).await;
    let credential = ann_key.assert(&started["options"], &origin);
    let (status, refused) = answer_second_factor(&c, &started, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("not registered")
    );

    // a stale ceremony: five minutes later by the app's clock
    let started = second_factor_options(&c).await;
    app.state.clock.advance(5 * 60);
    let credential = owner_key.assert(&started["options"], &origin);
    let (status, refused) = answer_second_factor(&c, &started, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(refused["error"].as_str().unwrap().contains("expired"));

    // an answer for a ceremony that never existed
    let credential = owner_key.assert(&started["options"], &origin);
    let fake = json!({ "ceremony": "no-such-ceremony" });
    let (status, _) = answer_second_factor(&c, &fake, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    assert!(!signed_in_as(&c).await, "no refusal signed in");
    let refusals = events(&app, "PASSKEY_REFUSED").await;
    assert!(refusals.len() >= 4, "{refusals:?}");
    assert!(refusals.iter().any(|s| s.contains("not registered")));

    // finally the right answer still works
    let started = second_factor_options(&c).await;
    let credential = owner_key.assert(&started["options"], &origin);
    let (status, _) = answer_second_factor(&c, &started, credential).await;
    assert_eq!(status, StatusCode::OK);
    assert!(signed_in_as(&c).await);
}

#[tokio::test]
async fn a_sign_count_that_goes_back_is_refused_as_a_possible_clone() {
    let app = TestApp::spawn_localhost().await;
    let owner = app.setup_owner().await;
    let mut key = SoftPasskey::new();
    register(&app, &owner, &mut key, "Counting key").await;
    let origin = app.public_base();
    for _ in 0..2 {
        let c = after_password(&app, OWNER_EMAIL).await;
        let started = second_factor_options(&c).await;
        let credential = key.assert(&started["options"], &origin);
        assert_eq!(
            answer_second_factor(&c, &started, credential).await.0,
            StatusCode::OK
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT sign_count FROM passkeys")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 2);
    // a copy of the key that stayed at 1
    let c = after_password(&app, OWNER_EMAIL).await;
    let started = second_factor_options(&c).await;
    let spoil = Spoil {
        counter: Some(1),
        ..Spoil::default()
    };
    let credential = key.assert_spoiled(&started["options"], &origin, &spoil);
    let (status, refused) = answer_second_factor(&c, &started, credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("counter went backwards")
    );
    let events = events(&app, "PASSKEY_REFUSED").await;
    assert!(events.iter().any(|s| s.contains("cloned")), "{events:?}");
    assert!(!signed_in_as(&c).await);
}

async fn passwordless(
    app: &TestApp,
    c: &TestClient,
    key: &mut SoftPasskey,
    spoil: &Spoil,
) -> (StatusCode, Value) {
    let (status, started) = post_json(c, "/login/passkey/options", &json!({})).await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert!(
        started["options"]["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(|a| a.is_empty()),
        "discoverable: the authenticator picks the credential"
    );
    let credential = key.assert_spoiled(&started["options"], &app.public_base(), spoil);
    let body =
        json!({ "ceremony": started["ceremony"], "credential": credential, "next": "/security" });
    post_json(c, "/login/passkey", &body).await
}

#[tokio::test]
async fn a_passkey_alone_signs_in_under_the_tenant_policy() {
    let app = TestApp::spawn_localhost().await;
    let owner = app.setup_owner().await;
    let login = app.client().get("/login").await.text().await.unwrap();
    assert!(login.contains("Sign in with a passkey"));
    let mut key = SoftPasskey::new();
    register(&app, &owner, &mut key, "Laptop").await;

    let c = app.client();
    let (status, done) = passwordless(&app, &c, &mut key, &Spoil::default()).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["redirect"], "/security");
    assert!(signed_in_as(&c).await);
    let how: Vec<String> = events(&app, "LOGIN_SUCCESS").await;
    assert!(how.iter().any(|s| s.contains("passkey")), "{how:?}");

    // unknown credential, bad signature: refused, not signed in
    let c = app.client();
    let (status, _) = passwordless(&app, &c, &mut SoftPasskey::new(), &Spoil::default()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let spoil = Spoil {
        bad_signature: true,
        ..Spoil::default()
    };
    let (status, _) = passwordless(&app, &c, &mut key, &spoil).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!signed_in_as(&c).await);

    // the tenant's allowlist applies as it does to a password
    sqlx::query("UPDATE tenant_security_policy SET ip_allowlist = '203.0.113.0/24'")
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let saved = sqlx::query(
        "INSERT INTO tenant_security_policy (tenant_id, min_password_length, \
         reject_common, require_mfa, ip_allowlist, idle_minutes, absolute_minutes, updated_at) \
         SELECT id, 12, 1, 0, '203.0.113.0/24', 0, 0, 0 FROM tenants \
         WHERE id NOT IN (SELECT tenant_id FROM tenant_security_policy)",
    )
    .execute(&app.state.db.pool)
    .await;
    saved.unwrap();
    let (status, refused) = passwordless(&app, &c, &mut key, &Spoil::default()).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(!signed_in_as(&c).await);
    assert_eq!(events(&app, "IP_BLOCKED").await.len(), 1);
}

#[tokio::test]
async fn passwordless_sign_in_is_rate_limited_by_address() {
    let app = TestApp::spawn_with(|c| {
        c.base_url = Some(format!("http://localhost:{}", c.bind.port()));
        c.login_ip_burst = 3;
        c.login_ip_interval_secs = 3600;
    })
    .await;
    let owner = app.setup_owner().await;
    let mut key = SoftPasskey::new();
    register(&app, &owner, &mut key, "Laptop").await;
    let c = app.client();
    let mut stranger = SoftPasskey::new();
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(
            passwordless(&app, &c, &mut stranger, &Spoil::default())
                .await
                .0,
        );
    }
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // throttled before it is checked: even the right passkey waits
    let (status, _) = passwordless(&app, &c, &mut key, &Spoil::default()).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn removing_a_passkey_needs_the_password_and_keeps_the_last_required_factor() {
    let app = TestApp::spawn_localhost().await;
    let owner = app.setup_owner().await;
    let mut key = SoftPasskey::new();
    register(&app, &owner, &mut key, "Only key").await;
    let id: String = sqlx::query_scalar("SELECT id FROM passkeys")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let path = format!("/security/mfa/passkeys/{id}/remove");
    let res = owner
        .post(&path, &[("password", "wrong password"), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("That is not your password")
    );

    // the tenant requires MFA: the only factor stays
    let res = owner
        .post(
            "/security/policy",
            &[
                ("min_password_length", "12"),
                ("reject_common", "on"),
                ("require_mfa", "on"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = owner
        .post(&path, &[("password", PASSWORD), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 1);

    // without that rule it goes, with its event
    let res = owner
        .post(
            "/security/policy",
            &[("min_password_length", "12"), ("reject_common", "on")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = owner
        .post(&path, &[("password", PASSWORD), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT COUNT(*) FROM passkeys").await, 0);
    assert_eq!(events(&app, "PASSKEY_REMOVED").await.len(), 1);
    // and the password alone signs in again
    let c = app.client();
    assert_eq!(location(&c.login(OWNER_EMAIL, PASSWORD).await), "/");
}

#[tokio::test]
async fn a_tenant_requiring_passkeys_refuses_codes_from_its_staff() {
    let app = TestApp::spawn_localhost().await;
    let owner = app.setup_owner().await;
    let (secret, _) = app.enrol_mfa(&owner).await;
    // requiring passkeys for owners and admins: the owner has none yet, so only the MFA page opens
    let res = owner
        .post(
            "/security/policy",
            &[
                ("min_password_length", "12"),
                ("reject_common", "on"),
                ("passkeys_min_role", "ADMIN"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&owner.get("/billing/invoices").await),
        "/security/mfa"
    );
    let mfa = owner.get("/security/mfa").await.text().await.unwrap();
    assert!(mfa.contains("requires a passkey for your role"));
    let mut key = SoftPasskey::new();
    register(&app, &owner, &mut key, "Work key").await;
    assert_eq!(
        owner.get("/billing/invoices").await.status(),
        StatusCode::OK
    );

    // an authenticator code is refused now
    let c = after_password(&app, OWNER_EMAIL).await;
    let page = c.get("/login/mfa").await.text().await.unwrap();
    assert!(!page.contains("name=\"code\""), "no code field offered");
    let res = c
        .post("/login/mfa", &[("code", &totp_code(&secret, 1))])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.text().await.unwrap().contains("requires a passkey"));
    assert!(!signed_in_as(&c).await);
    // the passkey works
    let started = second_factor_options(&c).await;
    let credential = key.assert(&started["options"], &app.public_base());
    assert_eq!(
        answer_second_factor(&c, &started, credential).await.0,
        StatusCode::OK
    );
    // and the last passkey cannot be removed while the rule stands (the app code is not enough)
    let id: String = sqlx::query_scalar("SELECT id FROM passkeys")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let res = c
        .post(
            &format!("/security/mfa/passkeys/{id}/remove"),
            &[
                ("password", PASSWORD),
                ("code", &totp_code(&secret, 1)),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn passkeys_are_off_without_a_domain_name() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let html = owner.get("/security/mfa").await.text().await.unwrap();
    assert!(html.contains("Passkeys are not available on this panel"));
    let (status, refused) = post_json(
        &owner,
        "/security/mfa/passkeys/options",
        &json!({ "name": "Key" }),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("MPANEL_BASE_URL")
    );
    assert!(
        !app.client()
            .get("/login")
            .await
            .text()
            .await
            .unwrap()
            .contains("Sign in with a passkey")
    );
}
