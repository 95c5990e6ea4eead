use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn session_id_changes_at_login_and_old_one_is_dead() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let c = app.client();
    assert_eq!(
        c.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let first = c.cookie("mpanel_session").expect("session cookie");
    assert_eq!(
        c.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let second = c.cookie("mpanel_session").expect("session cookie");
    assert_ne!(first, second, "a new session id at login");
    let replay = app.client();
    replay.set_cookie("mpanel_session", &first);
    let res = replay.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    // only the hash of the token is stored
    let stored = app
        .count(&format!(
            "SELECT COUNT(*) FROM sessions WHERE id = '{second}'"
        ))
        .await;
    assert_eq!(stored, 0);
}

#[tokio::test]
async fn session_cookie_is_http_only_and_same_site() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let res = app.client().login(OWNER_EMAIL, PASSWORD).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("mpanel_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http base URL: {cookie}");
}

#[tokio::test]
async fn secure_cookie_when_base_url_is_https() {
    let app = TestApp::spawn_with(|c| c.base_url = Some("https://panel.example.com".into())).await;
    app.setup_owner().await;
    let res = app.client().login(OWNER_EMAIL, PASSWORD).await;
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|v| v.starts_with("__Host-mpanel_session="))
        .expect("__Host- cookie over https");
    assert!(
        cookie.contains("Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );
}

#[tokio::test]
async fn logged_out_cookie_is_refused_by_the_server() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let token = owner.cookie("mpanel_session").unwrap();
    let res = owner.post("/logout", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    let replay = app.client();
    replay.set_cookie("mpanel_session", &token);
    let res = replay.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let c = app.client();
    let wrong = c.login(OWNER_EMAIL, "wrong password here").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = c.login("nobody@nowhere.test", "wrong password here").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    let message = "The e-mail address or password is incorrect.";
    assert!(wrong.contains(message) && unknown.contains(message));
    assert!(c.cookie("mpanel_session").is_none());
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'auth.login_failed'")
            .await,
        2
    );
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_and_the_limit_lifts() {
    let app = TestApp::spawn_with(|c| {
        c.login_account_burst = 3;
        c.login_account_interval_secs = 1;
    })
    .await;
    app.setup_owner().await;
    let attacker = app.client();
    for _ in 0..3 {
        assert_eq!(
            attacker
                .login(OWNER_EMAIL, "guess guess guess")
                .await
                .status(),
            StatusCode::UNAUTHORIZED
        );
    }
    let limited = attacker.login(OWNER_EMAIL, "guess guess guess").await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "retry-after {retry}");
    // even the right password waits while limited (no oracle for the attacker) …
    let fresh = app.client();
    assert_eq!(
        fresh.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // … but not forever
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(
        fresh.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn a_known_device_signs_in_while_strangers_hammer_the_account() {
    let app = TestApp::spawn_with(|c| {
        c.login_account_burst = 2;
        c.login_account_interval_secs = 3600;
    })
    .await;
    let owner = app.setup_owner().await;
    // a successful sign-in gives this browser a device cookie
    assert_eq!(
        owner.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    owner.post("/logout", &[]).await;
    let attacker = app.client();
    for _ in 0..2 {
        attacker.login(OWNER_EMAIL, "guess guess guess").await;
    }
    assert_eq!(
        attacker.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(
        owner.login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn failed_logins_are_limited_per_client_ip_across_accounts() {
    let app = TestApp::spawn_with(|c| {
        c.login_ip_burst = 4;
        c.login_ip_interval_secs = 60;
    })
    .await;
    app.setup_owner().await;
    let c = app.client();
    for i in 0..4 {
        let res = c
            .login(&format!("user{i}@spray.test"), "spray spray spray")
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = c.login("user9@spray.test", "spray spray spray").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn changing_password_needs_the_old_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    let first = app.setup_owner().await;
    let second = app.signed_in(OWNER_EMAIL).await;
    let res = first
        .post(
            "/account/password",
            &[
                ("current", "not my password"),
                ("new", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("That is not your current password.")
    );
    let res = first
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a brand new passphrase"),
                ("confirm", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        first.get("/").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        location(&second.get("/").await),
        "/login",
        "the other session ended"
    );
    assert_eq!(
        app.client().login(OWNER_EMAIL, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.client()
            .login(OWNER_EMAIL, "a brand new passphrase")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn temporary_password_must_be_changed_at_first_login() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    // Members now choose their own password through an invitation; the flag remains for
    // accounts that carry it (e.g. migrated ones), and the rule below still applies to them.
    let id = app
        .create_user(&owner, &tenant, "new@acme.test", "MEMBER")
        .await;
    sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
        .bind(&id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let temp = PASSWORD.to_string();
    let user = app.client();
    assert_eq!(
        user.login("new@acme.test", &temp).await.status(),
        StatusCode::SEE_OTHER
    );
    for path in ["/", "/users", "/audit"] {
        let res = user.get(path).await;
        assert_eq!(location(&res), "/account/password", "{path} redirects");
    }
    let page = user.get("/account/password").await.text().await.unwrap();
    assert!(page.contains("temporary password"));
    let res = user
        .post(
            "/account/password",
            &[
                ("current", &temp),
                ("new", "my own secret phrase"),
                ("confirm", "my own secret phrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(user.get("/").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn post_login_redirect_stays_on_this_site() {
    let app = TestApp::spawn().await;
    app.setup_owner().await;
    let c = app.client();
    let res = c
        .post(
            "/login",
            &[
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
                ("next", "//evil.example/x"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/");
    let res = c
        .post(
            "/login",
            &[
                ("email", OWNER_EMAIL),
                ("password", PASSWORD),
                ("next", "/users"),
            ],
        )
        .await;
    assert_eq!(location(&res), "/users");
}

#[tokio::test]
async fn expired_and_idle_sessions_are_refused_and_purged() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let idle = app.signed_in(OWNER_EMAIL).await;
    let pool = &app.state.db.pool;
    let now = mpanel::db::Timestamp::now();
    // one session past its absolute expiry, one unused for longer than the idle limit
    let owner_id = mpanel::auth::service::session_id_for(&owner.cookie("mpanel_session").unwrap());
    let idle_id = mpanel::auth::service::session_id_for(&idle.cookie("mpanel_session").unwrap());
    sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id = $2")
        .bind(now.0 - 1)
        .bind(&owner_id)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id = $2")
        .bind(now.plus_secs(-121 * 60).0)
        .bind(&idle_id)
        .execute(pool)
        .await
        .unwrap();
    for c in [&owner, &idle] {
        let res = c.get("/").await;
        assert_eq!(location(&res), "/login");
        let cleared = res
            .headers()
            .get_all("set-cookie")
            .iter()
            .any(|v| v.to_str().unwrap().starts_with("mpanel_session=;"));
        assert!(cleared, "the dead cookie is cleared");
    }
    let removed = mpanel::auth::store::purge_expired(pool, now, now.plus_secs(-120 * 60))
        .await
        .unwrap();
    assert_eq!(removed, 2);
    assert_eq!(app.count("SELECT COUNT(*) FROM sessions").await, 0);
}
