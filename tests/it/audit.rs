use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn every_change_is_audited_with_actor_and_client() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let user = app
        .create_user(&owner, &tenant, "ann@acme.test", "ADMIN")
        .await;
    owner
        .post(&format!("/users/{user}/role"), &[("role", "MEMBER")])
        .await;
    let row: (String, String, String, String, String) = sqlx::query_as(
        "SELECT actor_email, tenant_id, target_id, ip, user_agent FROM audit_log WHERE action = 'user.role_changed'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(row.0, OWNER_EMAIL);
    assert_eq!(row.1, tenant, "entry belongs to the customer tenant");
    assert_eq!(row.2, user);
    assert_eq!(row.3, "127.0.0.1");
    assert_eq!(row.4, "mpanel-it/1.0");
    for action in [
        "setup.completed",
        "tenant.created",
        "invitation.created",
        "invitation.accepted",
        "user.role_changed",
    ] {
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
            ))
            .await,
            1,
            "{action}"
        );
    }
}

#[tokio::test]
async fn audit_page_filters_by_actor_action_and_date() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "ann@acme.test", "OWNER")
        .await;
    let ann = app.signed_in("ann@acme.test").await;
    app.create_user(&ann, &tenant, "bob@acme.test", "VIEWER")
        .await;

    let html = owner
        .get("/audit?action=tenant.")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Created tenant Tenant acme"));
    assert!(!html.contains("Invited bob@acme.test"));
    let html = owner
        .get("/audit?actor=ann%40acme")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Invited bob@acme.test"));
    assert!(!html.contains("Created tenant"));
    let html = owner
        .get("/audit?from=2000-01-01&until=2000-01-02")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("No audit entries match"));
    let res = owner.get("/audit?from=yesterday").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.text().await.unwrap().contains("Use a date like"));
    // the tenant owner sees their tenant's entries, including staff actions on it
    let html = ann.get("/audit").await.text().await.unwrap();
    assert!(html.contains("Created tenant Tenant acme") && html.contains("Invited bob@acme.test"));
    assert!(
        !html.contains("setup.completed"),
        "operator entries hidden from customers"
    );
}

#[tokio::test]
async fn audit_log_paginates() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    for i in 0..30 {
        app.create_tenant(&owner, &format!("t{i:02}")).await;
    }
    let html = owner
        .get("/audit?action=tenant.created")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 1 of 2 · 30 in all"));
    let html = owner
        .get("/audit?action=tenant.created&page=2")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 2 of 2"));
    assert!(
        html.contains("action=tenant.created"),
        "pager keeps the filter"
    );
}
