//! `/api/v1/billing/products`: staff read and edit the catalog; `ETag` / `If-Match`.

use reqwest::StatusCode;
use serde_json::json;

use super::{Api, error_code, json as body};
use crate::cloudpods::pod_world_with;
use crate::helpers::TestApp;

#[tokio::test]
async fn staff_read_create_and_edit_products_with_if_match() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "BILLING"]).await;
    let res = api
        .post_keyed(
            "/api/v1/billing/products",
            &json!({"code": "API-1", "name": "Api one", "category": "OTHER",
                    "billing_model": "RECURRING", "status": "ACTIVE", "visibility": "PUBLIC",
                    "tax_category": "STANDARD", "tier_mode": "GRADUATED", "trial_days": 14}),
            Some("new-api-1"),
        )
        .await;
    let status = res.status();
    let created = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["trial_days"], 14);
    let id = created["id"].as_str().unwrap().to_string();

    // The newest product comes first, and paging follows the cursor.
    let page = body(api.get("/api/v1/billing/products?limit=1").await).await;
    assert_eq!(page["items"][0]["code"], "API-1");
    let cursor = page["next_cursor"].as_str().expect("more products follow");
    let next = body(
        api.get(&format!("/api/v1/billing/products?limit=1&cursor={cursor}"))
            .await,
    )
    .await;
    assert_ne!(next["items"][0]["id"], id);

    let res = api.get(&format!("/api/v1/billing/products/{id}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(body(res).await["prices"], json!([]));

    // An edit with the current version goes through and changes the version.
    let patch = |name: &str| json!({"name": name});
    let edit = |tag: Option<String>, name: &'static str| {
        let mut req = api
            .http
            .patch(format!("{}/api/v1/billing/products/{id}", w.app.base))
            .bearer_auth(&api.token)
            .json(&patch(name));
        if let Some(t) = tag {
            req = req.header("If-Match", t);
        }
        req.send()
    };
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = edit(Some(etag.clone()), "Api one, renamed").await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let new_tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_tag, etag);
    let p = body(res).await;
    assert_eq!(p["name"], "Api one, renamed");
    assert_eq!(p["code"], "API-1", "fields not given are kept");
    // The old version is stale: 412, nothing changed.
    let res = edit(Some(etag), "Lost update").await.unwrap();
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    let e = body(res).await;
    assert_eq!(e["error"]["code"], "stale");
    assert_eq!(e["error"]["field"], "If-Match");
    let p = body(api.get(&format!("/api/v1/billing/products/{id}")).await).await;
    assert_eq!(p["name"], "Api one, renamed");
    // Validation keeps its field.
    let res = api
        .http
        .patch(format!("{}/api/v1/billing/products/{id}", w.app.base))
        .bearer_auth(&api.token)
        .json(&json!({"code": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "code");

    // A customer's token, whatever its scopes, is refused by the role rule.
    w.app
        .create_user(&w.staff, &w.tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = w.app.signed_in("owner@acme.test").await;
    let customer = Api::new(&w.app, &owner, &["READ", "WRITE", "BILLING"]).await;
    let res = customer
        .get(&format!("/api/v1/billing/products/{id}"))
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "forbidden");
}
