//! The OpenAPI document, served without a token, and the reference page built from it.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::TestApp;

#[tokio::test]
async fn the_openapi_document_describes_every_operation_and_its_conventions() {
    let app = TestApp::spawn().await;
    let res = reqwest::get(format!("{}/api/v1/openapi.json", app.base))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/me",
        "/api/v1/cloudpods",
        "/api/v1/cloudpods/{id}/power",
    ] {
        assert!(paths.contains_key(p), "{p}");
    }
    let mut posts = 0;
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            for code in ["401", "403", "429"] {
                assert_eq!(
                    responses[code]["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorBody",
                    "{method} {path} {code}"
                );
            }
            if method == "post" {
                posts += 1;
                let params = op["parameters"].as_array().unwrap();
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                    "{method} {path}"
                );
            }
        }
    }
    assert!(posts >= 5);
    // Instants and amounts are documented as the API writes them.
    let pod = &doc["components"]["schemas"]["Pod"];
    assert!(
        pod["properties"]["created_at"]["description"]
            .as_str()
            .unwrap()
            .contains("RFC 3339")
    );
    let money = &doc["components"]["schemas"]["ApiMoney"]["properties"];
    assert_eq!(money["amount"]["type"], "integer");
}

#[tokio::test]
async fn the_reference_page_lists_the_operations_and_is_linked_from_the_token_page() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tokens = owner.get("/security/tokens").await.text().await.unwrap();
    assert!(
        tokens.contains("href=\"/api/docs\""),
        "linked from the token page"
    );
    let res = owner.get("/api/docs").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<code>GET /api/v1/cloudpods</code>"),
        "{html}"
    );
    assert!(html.contains("<code>POST /api/v1/cloudpods/{id}/power</code>"));
    assert!(html.contains("Idempotency-Key"));
    assert!(html.contains("Scopes: WRITE + PROVISIONING."));
    assert!(!html.contains("cdn."), "nothing from a CDN");
    // Readable signed out too: it describes, it shows no data.
    let res = app.client().get("/api/docs").await;
    assert_eq!(res.status(), StatusCode::OK);
}
