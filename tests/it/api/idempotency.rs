//! `Idempotency-Key`: a repeat gets the first answer, another request under the same key is
//! 422, and concurrent repeats wait for the first and run nothing twice.

use reqwest::StatusCode;
use serde_json::json;

use super::{Api, json as body};
use crate::cloudpods::pod_world_with;
use crate::helpers::TestApp;

#[tokio::test]
async fn a_repeated_post_gets_the_first_answer_and_a_different_one_is_refused() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "PROVISIONING"]).await;
    let input = json!({"name": "web-01", "plan_code": "MINI"});
    let first = api
        .post_keyed("/api/v1/cloudpods", &input, Some("create-web-01"))
        .await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first = body(first).await;
    let again = api
        .post_keyed("/api/v1/cloudpods", &input, Some("create-web-01"))
        .await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(body(again).await, first, "the same answer, byte for byte");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM cloudpods").await, 1);

    // The same key for another request: 422, nothing done.
    let res = api
        .post_keyed(
            "/api/v1/cloudpods",
            &json!({"name": "web-02", "plan_code": "MINI"}),
            Some("create-web-01"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let e = body(res).await;
    assert_eq!(e["error"]["code"], "idempotency_key_reused");
    assert_eq!(e["error"]["field"], "Idempotency-Key");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM cloudpods").await, 1);

    // Keys are per token: another token's same key is a new request.
    let other = Api::new(&w.app, &w.staff, &["READ", "WRITE", "PROVISIONING"]).await;
    let res = other
        .post_keyed(
            "/api/v1/cloudpods",
            &json!({"name": "web-03", "plan_code": "MINI"}),
            Some("create-web-01"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // A refusal is an answer too, and replayed as such.
    let dup = json!({"name": "web-03", "plan_code": "MINI"});
    let res = api.post_keyed("/api/v1/cloudpods", &dup, Some("dup")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "name taken");
    let res = api.post_keyed("/api/v1/cloudpods", &dup, Some("dup")).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    // A malformed key is refused with the header named.
    let res = api.post_keyed("/api/v1/cloudpods", &dup, Some(" ")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(res).await["error"]["field"], "Idempotency-Key");
    // Without a key, a POST simply runs.
    let res = api
        .post(
            "/api/v1/cloudpods",
            &json!({"name": "web-04", "plan_code": "MINI"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM cloudpods").await, 3);
    // Kept a day: an answer older than 24 h is forgotten and the key may be used again.
    sqlx::query("UPDATE api_idempotency SET created_at = created_at - 86400001")
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = api
        .post_keyed(
            "/api/v1/cloudpods",
            &json!({"name": "web-05", "plan_code": "MINI"}),
            Some("create-web-01"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert!(!res.headers().contains_key("idempotent-replayed"));
}

#[tokio::test]
async fn concurrent_repeats_wait_for_the_first_and_all_get_its_answer() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "PROVISIONING"]).await;
    let input = json!({"name": "race-01", "plan_code": "MINI"});
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, token, input) = (api.http.clone(), api.token.clone(), input.clone());
        let url = format!("{}/api/v1/cloudpods", w.app.base);
        tasks.spawn(async move {
            let res = http
                .post(url)
                .bearer_auth(token)
                .header("Idempotency-Key", "race")
                .json(&input)
                .send()
                .await
                .unwrap();
            (res.status(), res.json::<serde_json::Value>().await.unwrap())
        });
    }
    let mut bodies = vec![];
    while let Some(done) = tasks.join_next().await {
        let (status, body) = done.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    assert_eq!(w.app.count("SELECT COUNT(*) FROM cloudpods").await, 1);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM api_idempotency WHERE status = 201")
            .await,
        1
    );
}

#[tokio::test]
async fn a_non_post_ignores_the_key() {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let api = Api::new(&app, &staff, &["READ"]).await;
    let res = api
        .http
        .get(format!("{}/api/v1/me", app.base))
        .bearer_auth(&api.token)
        .header("Idempotency-Key", "k")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.count("SELECT COUNT(*) FROM api_idempotency").await, 0);
}
