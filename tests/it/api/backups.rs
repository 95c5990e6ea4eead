//! `/api/v1/cloudpods/{id}/backups` and `…/backup-policy`: a pod's backup policy over the API,
//! with its version in `ETag` and `If-Match` on changes.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Api, error_code, json as body};
use crate::cloudpods::pod_world_with;
use crate::helpers::TestApp;

async fn patch(api: &Api, id: &str, body: Value, if_match: Option<&str>) -> reqwest::Response {
    let mut req = api
        .http
        .patch(format!("{}/api/v1/cloudpods/{id}/backup-policy", api.base))
        .bearer_auth(&api.token)
        .json(&body);
    if let Some(tag) = if_match {
        req = req.header("If-Match", tag);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn a_pods_backup_policy_is_read_and_changed_with_if_match() {
    let w = pod_world_with(TestApp::spawn_without_worker().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "PROVISIONING"]).await;
    let created = api
        .post(
            "/api/v1/cloudpods",
            &json!({"name": "web-01", "plan_code": "MINI"}),
        )
        .await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let id = body(created).await["id"].as_str().unwrap().to_string();

    let res = api.get(&format!("/api/v1/cloudpods/{id}/backups")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let read = body(res).await;
    // the plan's defaults; the manual provisioner says it cannot back up
    assert_eq!(read["policy"]["frequency"], "DAILY");
    assert_eq!(read["policy"]["retention"], 7);
    assert_eq!(read["runs"], json!([]));
    assert!(
        read["unsupported"]
            .as_str()
            .unwrap()
            .contains("manual provisioner"),
        "{read}"
    );

    // Bad values: a field error, nothing changed.
    let res = patch(&api, &id, json!({"retention": 0}), None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "retention");
    let res = patch(&api, &id, json!({"hourly": true}), None).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let res = patch(
        &api,
        &id,
        json!({"frequency": "WEEKLY", "retention": 3}),
        Some(&etag),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(res.headers()["etag"].to_str().unwrap(), etag);
    let changed = body(res).await;
    assert_eq!(changed["policy"]["frequency"], "WEEKLY");
    assert_eq!(changed["policy"]["retention"], 3);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'backup_policy.updated'")
            .await,
        1
    );
    // The version read before that change is stale now.
    let res = patch(&api, &id, json!({"retention": 5}), Some(&etag)).await;
    assert_eq!(res.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM backup_policies WHERE retention = 3")
            .await,
        1
    );

    // Scopes: reading alone cannot change it.
    let reader = Api::new(&w.app, &w.staff, &["READ"]).await;
    let res = patch(&reader, &id, json!({"retention": 5}), None).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "insufficient_scope");

    // Another tenant's member does not find the pod.
    w.app
        .create_user(&w.staff, &w.tenant, "admin@acme.test", "ADMIN")
        .await;
    let customer = w.app.signed_in("admin@acme.test").await;
    let other = Api::new(&w.app, &customer, &["READ", "WRITE", "PROVISIONING"]).await;
    let res = other.get(&format!("/api/v1/cloudpods/{id}/backups")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = patch(&other, &id, json!({"retention": 5}), None).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
