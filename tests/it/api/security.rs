//! `/api/v1/security`: profile, sessions, tokens, events and the tenant policy.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Api, error_code, json as body};
use crate::cloudpods::pod_world_with;
use crate::helpers::{OWNER_EMAIL, TestApp, enrol_mfa};

fn in_days(days: i64) -> String {
    mpanel::db::Timestamp::now()
        .plus_secs(days * 86_400)
        .to_string()
        .chars()
        .take(10)
        .collect()
}

#[tokio::test]
async fn the_profile_shows_the_users_role_and_second_factor() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let api = Api::new(&app, &owner, &["READ"]).await;
    let p = body(api.get("/api/v1/security/profile").await).await;
    assert_eq!(p["email"], OWNER_EMAIL);
    assert_eq!(p["role"], "OWNER");
    assert_eq!(p["tenant"]["name"], "Operator Hosting");
    assert_eq!(p["mfa_enabled"], false);
    assert_eq!(p["mfa_required"], false);
    assert_eq!(p["recovery_codes_left"], 0);
    assert_eq!(p["passkeys"], 0);
    enrol_mfa(&owner).await;
    let p = body(api.get("/api/v1/security/profile").await).await;
    assert_eq!(p["mfa_enabled"], true);
    assert_eq!(p["recovery_codes_left"], 10);
}

#[tokio::test]
async fn sessions_are_listed_and_a_revoked_browser_session_is_refused() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let laptop = w.app.signed_in(OWNER_EMAIL).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "SECURITY"]).await;
    let list = body(api.get("/api/v1/security/sessions").await).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{list}");
    assert!(items.iter().all(|s| s["user_agent"] == "mpanel-it/1.0"));
    assert!(items.iter().all(|s| s["ip"] == "127.0.0.1"));
    let laptop_id =
        mpanel::auth::service::session_id_for(&laptop.cookie("mpanel_session").unwrap());
    assert!(items.iter().any(|s| s["id"] == laptop_id.as_str()));

    // A customer's admin does not reach the staff's sessions: 404.
    w.app
        .create_user(&w.staff, &w.tenant, "admin@acme.test", "ADMIN")
        .await;
    let customer = w.app.signed_in("admin@acme.test").await;
    let theirs = Api::new(&w.app, &customer, &["READ", "WRITE", "SECURITY"]).await;
    let res = theirs
        .post(
            &format!("/api/v1/security/sessions/{laptop_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    let res = api
        .post(
            &format!("/api/v1/security/sessions/{laptop_id}/revoke"),
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, json!({"ended": 1}));
    let res = laptop.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(crate::helpers::location(&res), "/login");
    assert_eq!(w.staff.get("/").await.status(), StatusCode::OK);
    let list = body(api.get("/api/v1/security/sessions").await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM security_events WHERE event_type = 'SESSION_REVOKED'")
            .await,
        1
    );

    // Signing out everywhere ends the browser session the token's user still has.
    let res = api
        .post("/api/v1/security/sessions/revoke-others", &json!({}))
        .await;
    assert_eq!(body(res).await, json!({"ended": 1}));
    assert_eq!(w.staff.get("/").await.status(), StatusCode::SEE_OTHER);
    let list = body(api.get("/api/v1/security/sessions").await).await;
    assert_eq!(list["items"], json!([]));
    // The token itself goes on working.
    assert_eq!(api.get("/api/v1/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_token_mints_tokens_only_within_its_own_scopes_and_a_revoked_one_is_refused() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let api = Api::new(&app, &owner, &["READ", "WRITE", "SECURITY"]).await;
    let tokens_before = app.count("SELECT COUNT(*) FROM api_tokens").await;
    let new = |scopes: Value| json!({"name": "ci", "expires_on": in_days(30), "scopes": scopes});

    // Above its own scopes (the OWNER's role would allow BILLING): 403, nothing created.
    let res = api
        .post("/api/v1/security/tokens", &new(json!(["READ", "BILLING"])))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let e = body(res).await;
    assert_eq!(e["error"]["code"], "scope_not_held");
    assert_eq!(e["error"]["field"], "scopes");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens").await,
        tokens_before
    );

    // Validation keeps its field.
    for (b, field) in [
        (
            json!({"name": "", "expires_on": in_days(3), "scopes": ["READ"]}),
            "name",
        ),
        (new(json!(["NOPE"])), "scopes"),
        (new(json!([])), "scopes"),
        (
            json!({"name": "x", "expires_on": "soon", "scopes": ["READ"]}),
            "expires_on",
        ),
    ] {
        let res = api.post("/api/v1/security/tokens", &b).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(body(res).await["error"]["field"], field, "{b}");
    }

    // Within them: 201 with the secret, once.
    let res = api
        .post_keyed(
            "/api/v1/security/tokens",
            &new(json!(["READ"])),
            Some("mint-1"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let created = body(res).await;
    assert_eq!(created["name"], "ci");
    assert_eq!(created["scopes"], json!(["READ"]));
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["user_email"], OWNER_EMAIL);
    let secret = created["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("mpn_"));
    let id = created["id"].as_str().unwrap().to_string();
    // A repeat with the same key creates nothing and does not show the secret again; the
    // secret is not kept in the idempotency store.
    let res = api
        .post_keyed(
            "/api/v1/security/tokens",
            &new(json!(["READ"])),
            Some("mint-1"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "secret_shown_once");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens").await,
        tokens_before + 1
    );
    let kept: Vec<Vec<u8>> = sqlx::query_scalar("SELECT body FROM api_idempotency")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert!(
        kept.iter()
            .all(|b| !String::from_utf8_lossy(b).contains(&secret))
    );

    // The new token works with its scopes, and cannot mint or change anything.
    let minted = Api {
        token: secret.clone(),
        ..Api::new(&app, &owner, &["READ"]).await
    };
    let me = body(minted.get("/api/v1/me").await).await;
    assert_eq!(me["token"]["scopes"], json!(["READ"]));
    let res = minted
        .post("/api/v1/security/tokens", &new(json!(["READ"])))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "insufficient_scope");

    let list = body(api.get("/api/v1/security/tokens").await).await;
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pods api", "ci", "pods api"]);
    assert!(list["items"][0].get("secret").is_none());

    // Revoked: refused from the next request on (401); a second revocation is 409.
    let res = api
        .post(&format!("/api/v1/security/tokens/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["status"], "REVOKED");
    let res = minted.get("/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(error_code(res).await, "invalid_token");
    let res = api
        .post(&format!("/api/v1/security/tokens/{id}/revoke"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'security.token_revoked'")
            .await,
        1
    );
}

#[tokio::test]
async fn events_page_with_a_cursor_and_are_for_admins() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ"]).await;
    Api::new(&w.app, &w.staff, &["READ"]).await;
    Api::new(&w.app, &w.staff, &["READ"]).await;
    let first = body(
        api.get("/api/v1/security/events?event_type=TOKEN_CREATED&limit=2")
            .await,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    assert_eq!(first["items"][0]["event_type"], "TOKEN_CREATED");
    assert_eq!(first["items"][0]["email"], OWNER_EMAIL);
    assert!(
        first["items"][0]["created_at"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = body(
        api.get(&format!(
            "/api/v1/security/events?event_type=TOKEN_CREATED&limit=2&cursor={cursor}"
        ))
        .await,
    )
    .await;
    assert_eq!(next["items"].as_array().unwrap().len(), 1);
    assert!(next.get("next_cursor").is_none());

    // The whole log, walked two at a time, is the table in order, each event once.
    let mut walked: Vec<String> = vec![];
    let mut path = "/api/v1/security/events?limit=2".to_string();
    loop {
        let page = body(api.get(&path).await).await;
        for e in page["items"].as_array().unwrap() {
            walked.push(e["id"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/security/events?limit=2&cursor={c}"),
            None => break,
        }
    }
    let all: Vec<String> =
        sqlx::query_scalar("SELECT id FROM security_events ORDER BY created_at DESC, id DESC")
            .fetch_all(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(walked, all);

    let res = api.get("/api/v1/security/events?event_type=NOPE").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(res).await["error"]["field"], "event_type");

    // A member may not read the log.
    w.app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    let member = w.app.signed_in("member@acme.test").await;
    let theirs = Api::new(&w.app, &member, &["READ"]).await;
    let res = theirs.get("/api/v1/security/events").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "forbidden");
}

#[tokio::test]
async fn the_policy_is_patched_with_if_match_and_a_stale_version_is_412() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "SECURITY", "ADMIN"]).await;
    let res = api.get("/api/v1/security/policy").await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        body(res).await,
        json!({"min_password_length": 12, "reject_common": true, "require_mfa": false,
               "ip_allowlist": [], "idle_minutes": 0, "absolute_minutes": 0})
    );
    let patch = |tag: Option<&str>, b: Value| {
        let mut req = api
            .http
            .patch(format!("{}/api/v1/security/policy", w.app.base))
            .bearer_auth(&api.token)
            .json(&b);
        if let Some(t) = tag {
            req = req.header("If-Match", t);
        }
        req.send()
    };
    let res = patch(
        Some(&etag),
        json!({"min_password_length": 14, "idle_minutes": 30,
               "ip_allowlist": ["127.0.0.0/8"]}),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let new_tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_tag, etag);
    assert_eq!(
        body(res).await,
        json!({"min_password_length": 14, "reject_common": true, "require_mfa": false,
               "ip_allowlist": ["127.0.0.0/8"], "idle_minutes": 30, "absolute_minutes": 0})
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'security.policy_updated'")
            .await,
        1
    );
    // The old version is stale: 412, nothing saved.
    let res = patch(Some(&etag), json!({"min_password_length": 20}))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let e = body(res).await;
    assert_eq!(e["error"]["code"], "stale");
    assert_eq!(e["error"]["field"], "If-Match");
    let res = api.get("/api/v1/security/policy").await;
    assert_eq!(res.headers()["etag"].to_str().unwrap(), new_tag);
    assert_eq!(body(res).await["min_password_length"], 14);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'security.policy_updated'")
            .await,
        1
    );
    // Rules keep their field.
    for (b, field) in [
        (json!({"min_password_length": 3}), "min_password_length"),
        (json!({"idle_minutes": -5}), "idle_minutes"),
        (json!({"ip_allowlist": ["10.0.0.0/8"]}), "ip_allowlist"),
        (json!({"passkeys_min_role": "KING"}), "passkeys_min_role"),
    ] {
        let res = patch(Some(&new_tag), b.clone()).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(body(res).await["error"]["field"], field, "{b}");
    }

    // A member: the policy is not theirs to read (403), and their token cannot hold ADMIN.
    w.app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    let member = w.app.signed_in("member@acme.test").await;
    let theirs = Api::new(&w.app, &member, &["READ", "WRITE", "SECURITY"]).await;
    let res = theirs.get("/api/v1/security/policy").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = theirs
        .http
        .patch(format!("{}/api/v1/security/policy", w.app.base))
        .bearer_auth(&theirs.token)
        .json(&json!({"require_mfa": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "insufficient_scope");
}
