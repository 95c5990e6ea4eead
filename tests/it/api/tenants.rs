//! `/api/v1/tenants` and `/api/v1/users/{id}/…`: staff read and change tenants and members;
//! customers are refused.

use reqwest::StatusCode;
use serde_json::json;

use super::{Api, error_code, json as body};
use crate::cloudpods::pod_world_with;
use crate::helpers::{TestApp, location};

const SOME_ID: &str = "0190a0a0-0000-7000-8000-000000000000";

#[tokio::test]
async fn staff_list_create_and_edit_tenants_with_cursor_paging() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "ADMIN"]).await;
    let res = api
        .post(
            "/api/v1/tenants",
            &json!({"name": "Beta Company", "slug": "beta-co", "billing_email": "ap@beta.test",
                    "country": "de", "region": "eu-central", "currency": "eur"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let t = body(res).await;
    assert_eq!(t["kind"], "CUSTOMER");
    assert_eq!(t["slug"], "beta-co");
    assert_eq!(t["country"], "DE");
    assert_eq!(t["currency"], "EUR");
    assert_eq!(t["beta"], false);
    let id = t["id"].as_str().unwrap().to_string();
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'tenant.created'")
            .await,
        2
    );

    // Newest first, two at a time.
    let first = body(api.get("/api/v1/tenants?limit=2").await).await;
    let slugs: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["beta-co", "acme"]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = body(
        api.get(&format!("/api/v1/tenants?limit=2&cursor={cursor}"))
            .await,
    )
    .await;
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["kind"], "OPERATOR");
    assert!(rest.get("next_cursor").is_none());
    let found = body(api.get("/api/v1/tenants?q=beta").await).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1);

    let res = api
        .http
        .patch(format!("{}/api/v1/tenants/{id}", w.app.base))
        .bearer_auth(&api.token)
        .json(&json!({"name": "Beta Co. Ltd", "net_terms_days": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let t = body(res).await;
    assert_eq!(t["name"], "Beta Co. Ltd");
    assert_eq!(t["net_terms_days"], 30);
    assert_eq!(
        t["billing_email"], "ap@beta.test",
        "fields not given are kept"
    );
    let t = body(api.get(&format!("/api/v1/tenants/{id}")).await).await;
    assert_eq!(t["net_terms_days"], 30);

    // Rules keep their field; an unknown id is 404.
    for (b, field) in [
        (
            json!({"name": "X", "slug": "beta-co", "billing_email": "a@b.test",
                   "country": "DE", "region": "eu", "currency": "EUR"}),
            "slug",
        ),
        (
            json!({"name": "X", "slug": "Bad Slug!", "billing_email": "a@b.test",
                   "country": "DE", "region": "eu", "currency": "EUR"}),
            "slug",
        ),
        (
            json!({"name": "X", "slug": "x-co", "billing_email": "nope",
                   "country": "DE", "region": "eu", "currency": "EUR"}),
            "billing_email",
        ),
        (json!({"name": "X", "tax_id": "DE1"}), "tax_id"),
    ] {
        let res = api.post("/api/v1/tenants", &b).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{b}");
        assert_eq!(body(res).await["error"]["field"], field, "{b}");
    }
    let res = api
        .http
        .patch(format!("{}/api/v1/tenants/{id}", w.app.base))
        .bearer_auth(&api.token)
        .json(&json!({"net_terms_days": 400}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "net_terms_days");
    let res = api.get(&format!("/api/v1/tenants/{SOME_ID}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        w.app.count("SELECT COUNT(*) FROM tenants").await,
        3,
        "nothing created by the refused requests"
    );
}

#[tokio::test]
async fn staff_page_a_tenants_users_and_deactivate_reactivate_and_re_role_them() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let api = Api::new(&w.app, &w.staff, &["READ", "WRITE", "ADMIN"]).await;
    let admin_id = w
        .app
        .create_user(&w.staff, &w.tenant, "admin@acme.test", "ADMIN")
        .await;
    let member_id = w
        .app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    let first = body(
        api.get(&format!("/api/v1/tenants/{}/users?limit=1", w.tenant))
            .await,
    )
    .await;
    assert_eq!(first["items"][0]["email"], "member@acme.test");
    assert_eq!(first["items"][0]["role"], "MEMBER");
    assert_eq!(first["items"][0]["active"], true);
    assert_eq!(first["items"][0]["tenant_name"], "Tenant acme");
    let cursor = first["next_cursor"].as_str().unwrap();
    let next = body(
        api.get(&format!(
            "/api/v1/tenants/{}/users?limit=1&cursor={cursor}",
            w.tenant
        ))
        .await,
    )
    .await;
    assert_eq!(next["items"][0]["id"], admin_id.as_str());
    assert!(next.get("next_cursor").is_none());

    let member = w.app.signed_in("member@acme.test").await;
    let res = api
        .post(&format!("/api/v1/users/{member_id}/deactivate"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["active"], false);
    // Their session ended with it.
    let res = member.get("/").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/login");
    let res = api
        .post(&format!("/api/v1/users/{member_id}/reactivate"), &json!({}))
        .await;
    assert_eq!(body(res).await["active"], true);
    let res = api
        .post(
            &format!("/api/v1/users/{member_id}/role"),
            &json!({"role": "BILLING"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["role"], "BILLING");
    let res = api
        .post(
            &format!("/api/v1/users/{member_id}/role"),
            &json!({"role": "EMPEROR"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "role");
    for action in ["user.deactivated", "user.reactivated", "user.role_changed"] {
        assert_eq!(
            w.app
                .count(&format!(
                    "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
                ))
                .await,
            1,
            "{action}"
        );
    }
}

#[tokio::test]
async fn a_customers_token_is_refused_on_tenants_and_other_tenants_users_are_404() {
    let w = pod_world_with(TestApp::spawn().await).await;
    w.app
        .create_user(&w.staff, &w.tenant, "owner@acme.test", "OWNER")
        .await;
    let staff_id: String = sqlx::query_scalar("SELECT id FROM users WHERE email = $1")
        .bind(crate::helpers::OWNER_EMAIL)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    let customer = w.app.signed_in("owner@acme.test").await;
    let api = Api::new(&w.app, &customer, &["READ", "WRITE", "ADMIN"]).await;
    for path in [
        "/api/v1/tenants".to_string(),
        format!("/api/v1/tenants/{}", w.tenant),
        format!("/api/v1/tenants/{}/users", w.tenant),
    ] {
        let res = api.get(&path).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(error_code(res).await, "forbidden");
    }
    let res = api
        .post(
            "/api/v1/tenants",
            &json!({"name": "Mine", "slug": "mine", "billing_email": "a@b.test",
                    "country": "DE", "region": "eu", "currency": "EUR"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The staff owner is in another tenant: not found, not changed.
    let res = api
        .post(&format!("/api/v1/users/{staff_id}/deactivate"), &json!({}))
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM users WHERE active = 1")
            .await,
        2
    );
}
