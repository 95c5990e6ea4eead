//! Auth, scopes, errors and paging, checked over every operation of the OpenAPI document (so a
//! new endpoint is covered as soon as it is documented).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Api, error_code, json as body};
use crate::cloudpods::{PodWorld, create_pod, pod_world_with};
use crate::helpers::TestApp;

const SOME_ID: &str = "0190a0a0-0000-7000-8000-000000000000";

/// (method, concrete path, the scopes it documents) for every operation.
async fn operations(app: &TestApp) -> Vec<(Method, String, String)> {
    let doc: Value = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut ops = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let description = op["description"].as_str().unwrap_or_default();
            let scopes = description
                .split_once("Scope")
                .map(|(_, rest)| rest.split('.').next().unwrap_or_default().to_string())
                .unwrap_or_default();
            assert!(
                !scopes.is_empty(),
                "{method} {path} documents its scopes: {description}"
            );
            let concrete = path.replace("{id}", SOME_ID);
            ops.push((method, concrete, scopes));
        }
    }
    assert!(ops.len() >= 10, "{ops:?}");
    ops
}

async fn world() -> PodWorld {
    pod_world_with(TestApp::spawn().await).await
}

#[tokio::test]
async fn every_endpoint_refuses_missing_bad_expired_and_revoked_tokens() {
    let w = world().await;
    let ops = operations(&w.app).await;
    let all = [
        "READ",
        "WRITE",
        "ADMIN",
        "BILLING",
        "PROVISIONING",
        "SECURITY",
    ];
    let expired = Api::new(&w.app, &w.staff, &all).await;
    let revoked = Api::new(&w.app, &w.staff, &all).await;
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = (SELECT id FROM api_tokens ORDER BY created_at, id LIMIT 1)")
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let revoked_id: String =
        sqlx::query_scalar("SELECT id FROM api_tokens ORDER BY created_at DESC, id DESC LIMIT 1")
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    let res = w
        .staff
        .post(
            &format!("/security/tokens/{revoked_id}/revoke"),
            &[("confirm", "yes")],
        )
        .await;
    assert!(res.status().is_redirection() || res.status().is_success());
    let bad = Api {
        token: "mpn_notarealtokennotarealtokennotarealtoken00".into(),
        ..Api::new(&w.app, &w.staff, &["READ"]).await
    };
    let http = reqwest::Client::new();
    for (method, path, _) in &ops {
        let res = http
            .request(method.clone(), format!("{}{path}", w.app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
        assert!(res.headers().contains_key("www-authenticate"));
        assert_eq!(error_code(res).await, "invalid_token");
        for api in [&bad, &expired, &revoked] {
            let res = api.send(method.clone(), path).await;
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{method} {path}");
            assert_eq!(error_code(res).await, "invalid_token");
        }
    }
}

#[tokio::test]
async fn every_endpoint_refuses_each_missing_scope() {
    let w = world().await;
    let ops = operations(&w.app).await;
    let areas = ["ADMIN", "BILLING", "PROVISIONING", "SECURITY"];
    // The staff OWNER may hold every scope: only the token limits them here.
    let mut without = vec![];
    for missing in [
        "READ",
        "WRITE",
        "ADMIN",
        "BILLING",
        "PROVISIONING",
        "SECURITY",
    ] {
        let scopes: Vec<&str> = ["READ", "WRITE"]
            .into_iter()
            .chain(areas)
            .filter(|s| *s != missing)
            .collect();
        without.push((missing, Api::new(&w.app, &w.staff, &scopes).await));
    }
    for (method, path, scopes) in &ops {
        for (missing, api) in &without {
            if !scopes.contains(missing) {
                continue;
            }
            let res = api.send(method.clone(), path).await;
            assert_eq!(
                res.status(),
                StatusCode::FORBIDDEN,
                "{method} {path} without {missing}"
            );
            assert_eq!(error_code(res).await, "insufficient_scope");
        }
        if *method != Method::GET {
            assert!(
                scopes.contains("WRITE"),
                "{method} {path} is a change: {scopes}"
            );
        }
    }
}

#[tokio::test]
async fn a_token_never_does_more_than_its_users_role_allows_today() {
    let w = world().await;
    w.app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    let member = w.app.signed_in("member@acme.test").await;
    let api = Api::new(&w.app, &member, &["READ", "WRITE", "PROVISIONING"]).await;
    let me = body(api.get("/api/v1/me").await).await;
    assert_eq!(
        me["token"]["scopes"],
        json!(["READ", "WRITE", "PROVISIONING"])
    );
    sqlx::query("UPDATE users SET role = 'VIEWER' WHERE email = 'member@acme.test'")
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let me = body(api.get("/api/v1/me").await).await;
    assert_eq!(me["role"], "VIEWER");
    assert_eq!(me["token"]["scopes"], json!(["READ"]));
    let res = api
        .post(
            &format!("/api/v1/cloudpods/{SOME_ID}/power"),
            &json!({"action": "start"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "insufficient_scope");
}

#[tokio::test]
async fn errors_are_json_with_their_field_and_status() {
    let w = world().await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "PROVISIONING"]).await;
    let id = create_pod(&w, "web-01", "MINI").await;
    // A body member breaking a rule: 422 with the field.
    let res = api
        .post(
            &format!("/api/v1/cloudpods/{id}/power"),
            &json!({"action": "explode"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = body(res).await;
    assert_eq!(e["error"]["code"], "invalid");
    assert_eq!(e["error"]["field"], "action");
    // A service's field error keeps its field.
    let res = api
        .post(
            "/api/v1/cloudpods",
            &json!({"name": "", "plan_code": "MINI"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "name");
    // Malformed query parameters: 400 with the parameter.
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=abc", ""),
        ("cursor=nonsense", "cursor"),
        ("status=EXPLODED", "status"),
    ] {
        let res = api.get(&format!("/api/v1/cloudpods?{q}")).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{q}");
        let e = body(res).await;
        assert!(e["error"]["message"].is_string(), "{q}: {e}");
        if !field.is_empty() {
            assert_eq!(e["error"]["field"], field, "{q}");
        }
    }
    // A NUL in the query is refused before the routes, in the API's shape too.
    let res = api.get("/api/v1/cloudpods?q=a%00b").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(error_code(res).await, "bad_request");
    // Not JSON: 415; broken JSON: 400; unknown id: 404; unknown endpoint: 404.
    let res = api
        .http
        .post(format!("{}/api/v1/cloudpods", w.app.base))
        .bearer_auth(&api.token)
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let res = api
        .http
        .post(format!("{}/api/v1/cloudpods", w.app.base))
        .bearer_auth(&api.token)
        .header("Content-Type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(res).await, "malformed_json");
    let res = api.get(&format!("/api/v1/cloudpods/{SOME_ID}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(res).await, "not_found");
    assert_eq!(
        api.get("/api/v1/nothing").await.status(),
        StatusCode::NOT_FOUND
    );
    // A state rule refusing the action: 409.
    let res = api
        .post(&format!("/api/v1/cloudpods/{id}/retry"), &json!({}))
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "retrying a pod that did not fail"
    );
    assert_eq!(error_code(res).await, "refused");
}

async fn names(api: &Api, first: &str) -> Vec<String> {
    let mut names = vec![];
    let mut path = first.to_string();
    loop {
        let page = body(api.get(&path).await).await;
        for p in page["items"].as_array().unwrap() {
            names.push(p["name"].as_str().unwrap().to_string());
        }
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/v1/cloudpods?limit=2&cursor={c}"),
            None => return names,
        }
    }
}

#[tokio::test]
async fn cursor_paging_never_repeats_or_skips_a_row_while_rows_are_inserted() {
    let w = world().await;
    let api = Api::new(&w.app, &w.staff, &["READ"]).await;
    for n in 1..=5 {
        create_pod(&w, &format!("pod-{n}"), "MINI").await;
    }
    let first = body(api.get("/api/v1/cloudpods?limit=2").await).await;
    let got: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["pod-5", "pod-4"]);
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    // Two pods arrive while the client pages on.
    create_pod(&w, "pod-6", "MINI").await;
    create_pod(&w, "pod-7", "MINI").await;
    let rest = names(&api, &format!("/api/v1/cloudpods?limit=2&cursor={cursor}")).await;
    assert_eq!(rest, ["pod-3", "pod-2", "pod-1"]);
    // A fresh walk sees everything, once, newest first.
    let all = names(&api, "/api/v1/cloudpods?limit=2").await;
    assert_eq!(
        all,
        [
            "pod-7", "pod-6", "pod-5", "pod-4", "pod-3", "pod-2", "pod-1"
        ]
    );
}

#[tokio::test]
async fn each_token_is_rate_limited_with_429_retry_after_and_ratelimit_headers() {
    let app = TestApp::spawn_with(|c| {
        c.api_rate_burst = 3;
        c.api_rate_per_minute = 1;
    })
    .await;
    let staff = app.setup_owner().await;
    let api = Api::new(&app, &staff, &["READ"]).await;
    let other = Api::new(&app, &staff, &["READ"]).await;
    let mut remaining = vec![];
    for _ in 0..3 {
        let res = api.get("/api/v1/me").await;
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()["ratelimit-limit"], "3");
        remaining.push(
            res.headers()["ratelimit-remaining"]
                .to_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(remaining, ["2", "1", "0"]);
    let res = api.get("/api/v1/me").await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(res.headers().contains_key("ratelimit-reset"));
    assert_eq!(error_code(res).await, "rate_limited");
    // Another token has its own allowance.
    assert_eq!(other.get("/api/v1/me").await.status(), StatusCode::OK);
}
