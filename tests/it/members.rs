use reqwest::StatusCode;

use crate::helpers::*;

/// A customer tenant with one user per role, plus staff users per role.
struct World {
    app: TestApp,
    owner: TestClient,
    tenant: String,
    other_tenant: String,
    ids: std::collections::HashMap<String, String>,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let other_tenant = app.create_tenant(&owner, "globex").await;
    let operator: String = sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let mut ids = std::collections::HashMap::new();
    for role in ["OWNER", "ADMIN", "BILLING", "MEMBER", "VIEWER"] {
        let lower = role.to_lowercase();
        let id = app
            .create_user(&owner, &tenant, &format!("{lower}@acme.test"), role)
            .await;
        ids.insert(format!("{lower}@acme.test"), id);
        if role != "OWNER" {
            let id = app
                .create_user(&owner, &operator, &format!("{lower}@staff.test"), role)
                .await;
            ids.insert(format!("{lower}@staff.test"), id);
        }
    }
    let id = app
        .create_user(&owner, &other_tenant, "owner@globex.test", "OWNER")
        .await;
    ids.insert("owner@globex.test".into(), id);
    World {
        app,
        owner,
        tenant,
        other_tenant,
        ids,
    }
}

#[tokio::test]
async fn role_boundaries_for_tenants_members_and_audit() {
    let w = world().await;
    // (who, GET /tenants, POST /tenants, GET /users, POST /users, GET /audit)
    let table: &[(&str, u16, u16, u16, u16, u16)] = &[
        ("admin@staff.test", 200, 303, 200, 303, 200),
        ("billing@staff.test", 200, 403, 403, 403, 403),
        ("member@staff.test", 200, 403, 403, 403, 403),
        ("viewer@staff.test", 200, 403, 403, 403, 403),
        ("owner@acme.test", 403, 403, 200, 303, 200),
        ("admin@acme.test", 403, 403, 200, 303, 403),
        ("billing@acme.test", 403, 403, 403, 403, 403),
        ("member@acme.test", 403, 403, 403, 403, 403),
        ("viewer@acme.test", 403, 403, 403, 403, 403),
    ];
    for (i, (who, list_t, create_t, list_u, create_u, audit)) in table.iter().enumerate() {
        let c = w.app.signed_in(who).await;
        assert_eq!(
            c.get("/tenants").await.status().as_u16(),
            *list_t,
            "{who} GET /tenants"
        );
        let slug = format!("new-{i}");
        let res = c
            .post(
                "/tenants",
                &[
                    ("name", "N"),
                    ("slug", &slug),
                    ("billing_email", "b@n.test"),
                    ("country", "US"),
                    ("region", "r"),
                    ("currency", "USD"),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), *create_t, "{who} POST /tenants");
        assert_eq!(
            c.get("/users").await.status().as_u16(),
            *list_u,
            "{who} GET /users"
        );
        let email = format!("made{i}@acme.test");
        let res = c
            .post(
                "/users",
                &[
                    ("tenant_id", &w.tenant),
                    ("email", &email),
                    ("name", "Made"),
                    ("role", "VIEWER"),
                ],
            )
            .await;
        assert_eq!(res.status().as_u16(), *create_u, "{who} POST /users");
        assert_eq!(
            c.get("/audit").await.status().as_u16(),
            *audit,
            "{who} GET /audit"
        );
    }
}

#[tokio::test]
async fn nobody_grants_a_role_above_their_own() {
    let w = world().await;
    let admin = w.app.signed_in("admin@acme.test").await;
    let res = admin
        .post(
            "/users",
            &[
                ("email", "boss@acme.test"),
                ("name", "Boss"),
                ("role", "OWNER"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("You cannot grant a role above your own."));
    assert!(
        html.contains("value=\"boss@acme.test\""),
        "form values kept"
    );
    let member = &w.ids["member@acme.test"];
    let res = admin
        .post(&format!("/users/{member}/role"), &[("role", "OWNER")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = admin
        .post(&format!("/users/{member}/role"), &[("role", "ADMIN")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // an ADMIN cannot demote an OWNER either
    let owner = &w.ids["owner@acme.test"];
    let res = admin
        .post(&format!("/users/{owner}/role"), &[("role", "VIEWER")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE id = $1")
        .bind(owner)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(role, "OWNER");
}

#[tokio::test]
async fn customers_get_404_for_another_tenants_objects() {
    let w = world().await;
    let acme_owner = w.app.signed_in("owner@acme.test").await;
    let globex_owner = &w.ids["owner@globex.test"];
    assert_eq!(
        acme_owner
            .get(&format!("/users/{globex_owner}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let res = acme_owner
        .post(
            &format!("/users/{globex_owner}/role"),
            &[("role", "VIEWER")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = acme_owner
        .post(
            &format!("/users/{globex_owner}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    // a customer cannot pick another tenant when inviting a member: it goes to their own
    let res = acme_owner
        .post(
            "/users",
            &[
                ("tenant_id", &w.other_tenant),
                ("email", "sneak@acme.test"),
                ("name", "Sneak"),
                ("role", "VIEWER"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let tenant: String =
        sqlx::query_scalar("SELECT tenant_id FROM invitations WHERE email = 'sneak@acme.test'")
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(tenant, w.tenant);
    // lists never show the other tenant
    let html = acme_owner.get("/users").await.text().await.unwrap();
    assert!(html.contains("member@acme.test") && !html.contains("globex"));
    let html = acme_owner.get("/audit").await.text().await.unwrap();
    assert!(!html.contains("globex"), "audit log scoped to the tenant");
    // staff see across tenants
    assert_eq!(
        w.owner
            .get(&format!("/users/{globex_owner}"))
            .await
            .status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_last_owner_cannot_be_demoted_or_deactivated() {
    let w = world().await;
    let acme_owner_id = w.ids["owner@acme.test"].clone();
    let owner = w.app.signed_in("owner@acme.test").await;
    let res = owner
        .post(
            &format!("/users/{acme_owner_id}/role"),
            &[("role", "ADMIN")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = owner
        .post_htmx(
            &format!("/users/{acme_owner_id}/role"),
            &[("role", "ADMIN")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.headers()["hx-retarget"], "#toasts");
    assert!(res.text().await.unwrap().contains("at least one owner"));
    // staff cannot deactivate it either
    let res = w
        .owner
        .post(
            &format!("/users/{acme_owner_id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // with a second owner, demotion is allowed
    let admin_id = w.ids["admin@acme.test"].clone();
    assert_eq!(
        owner
            .post(&format!("/users/{admin_id}/role"), &[("role", "OWNER")])
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        owner
            .post(
                &format!("/users/{acme_owner_id}/role"),
                &[("role", "ADMIN")]
            )
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM users WHERE role = 'OWNER' AND email LIKE '%@acme.test'")
            .await,
        1
    );
}

#[tokio::test]
async fn deactivation_needs_confirmation_and_ends_sessions() {
    let w = world().await;
    let member_id = w.ids["member@acme.test"].clone();
    let member = w.app.signed_in("member@acme.test").await;
    let admin = w.app.signed_in("admin@acme.test").await;
    let res = admin
        .post(&format!("/users/{member_id}/deactivate"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT, "no confirmation");
    let res = admin
        .post_htmx(
            &format!("/users/{member_id}/deactivate"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = res.text().await.unwrap();
    assert!(
        fragment.contains("Deactivated") && !fragment.contains("<html"),
        "member card fragment"
    );
    assert_eq!(location(&member.get("/").await), "/login", "signed out");
    assert_eq!(
        w.app
            .client()
            .login("member@acme.test", PASSWORD)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let res = admin
        .post(&format!("/users/{member_id}/activate"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        w.app
            .client()
            .login("member@acme.test", PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn tenant_form_errors_sit_beside_fields_and_keep_values() {
    let w = world().await;
    let res = w
        .owner
        .post(
            "/tenants",
            &[
                ("name", "Dup Co"),
                ("slug", "acme"),
                ("billing_email", "bill@dup.test"),
                ("country", "de"),
                ("region", "eu"),
                ("currency", "EUR"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("That slug is already taken."));
    assert!(html.contains("value=\"Dup Co\"") && html.contains("value=\"bill@dup.test\""));
    let res = w
        .owner
        .post(
            "/tenants",
            &[
                ("name", ""),
                ("slug", "Bad Slug"),
                ("billing_email", "x"),
                ("country", "Germany"),
                ("region", ""),
                ("currency", "XXX"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    for field in [
        "name",
        "slug",
        "billing_email",
        "country",
        "region",
        "currency",
    ] {
        assert!(
            html.contains(&format!("id=\"e-{field}\"")),
            "error for {field}"
        );
    }
    // the member form: syntax errors beside the field, values kept; an address already in
    // use is no error (that would reveal it), see invitations.rs
    let res = w
        .owner
        .post(
            "/users",
            &[
                ("tenant_id", &w.tenant),
                ("email", "owner at acme"),
                ("name", "Dup"),
                ("role", "NOBODY"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"e-email\"") && html.contains("id=\"e-role\""));
    assert!(html.contains("value=\"owner at acme\"") && html.contains("value=\"Dup\""));
    let res = w
        .owner
        .post(
            "/users",
            &[
                ("tenant_id", &w.tenant),
                ("email", "owner@acme.test"),
                ("name", "Dup"),
                ("role", "VIEWER"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn lists_paginate_and_filter() {
    let w = world().await;
    // acme has 5 users from world(); with 22 more the 25-row page overflows
    for i in 0..22 {
        w.app
            .create_user(
                &w.owner,
                &w.tenant,
                &format!("bulk{i:02}@acme.test"),
                "VIEWER",
            )
            .await;
    }
    let html = w
        .owner
        .get(&format!("/users?tenant_id={}", w.tenant))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 1 of 2"), "paginated");
    assert!(html.contains("rel=\"next\""));
    let html = w
        .owner
        .get(&format!("/users?tenant_id={}&page=2", w.tenant))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 2 of 2") && html.contains("rel=\"prev\""));
    let html = w.owner.get("/users?q=bulk07").await.text().await.unwrap();
    assert!(html.contains("bulk07@acme.test") && !html.contains("bulk08@acme.test"));
    let html = w.owner.get("/tenants?q=glob").await.text().await.unwrap();
    assert!(html.contains("Tenant globex") && !html.contains("Tenant acme"));
    assert_eq!(
        w.owner.get("/users?page=abc").await.status(),
        StatusCode::OK
    );
}
