//! Shared page components over HTTP: breadcrumbs on every detail page, sortable headers where
//! the list sorts, long ids shortened with the full value kept, numbers right-aligned.

use reqwest::StatusCode;

use crate::cloudpods::{create_pod, pod_world_with, settled};
use crate::helpers::*;

fn crumbs(html: &str) -> &str {
    between(html, "<nav aria-label=\"Breadcrumb\"", "</nav>").expect("breadcrumbs")
}

#[tokio::test]
async fn detail_pages_have_breadcrumbs_to_their_list() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let (app, staff, tenant) = (&w.app, &w.staff, &w.tenant);
    let pod = create_pod(&w, "web-01", "MINI").await;
    settled(app, &pod).await;
    let job: String = sqlx::query_scalar("SELECT id FROM jobs ORDER BY created_at LIMIT 1")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let member = app
        .create_user(staff, tenant, "member@acme.test", "MEMBER")
        .await;
    let res = staff
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant.as_str()), ("currency", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let invoice = location(&res);
    let product: String = sqlx::query_scalar("SELECT id FROM products ORDER BY code LIMIT 1")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    for (path, list, current) in [
        (invoice.clone(), "/billing/invoices", "Draft invoice"),
        (
            format!("/billing/products/{product}"),
            "/billing/products",
            "",
        ),
        (
            format!("/billing/products/{product}/edit"),
            "/billing/products",
            "Edit",
        ),
        (
            format!("/billing/products/{product}/pricing"),
            "/billing/products",
            "Check a price",
        ),
        (format!("/cloudpods/{pod}"), "/cloudpods", "web-01"),
        (
            format!("/ops/jobs/{job}"),
            "/ops/jobs",
            "cloudpod.provision",
        ),
        (format!("/tenants/{tenant}"), "/tenants", "acme"),
        (format!("/tenants/{tenant}/edit"), "/tenants", "Edit"),
        (format!("/users/{member}"), "/users", "Test User"),
        (
            "/security/mfa".to_string(),
            "/security",
            "Two-factor authentication",
        ),
        ("/security/sessions".to_string(), "/security", "Sessions"),
        ("/security/tokens".to_string(), "/security", "API tokens"),
        (
            "/security/events".to_string(),
            "/security",
            "Security events",
        ),
        (
            "/security/policy".to_string(),
            "/security",
            "Security policy",
        ),
    ] {
        let res = staff.get(&path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        let html = res.text().await.unwrap();
        let nav = crumbs(&html);
        assert!(
            nav.contains(&format!("<a href=\"{list}\">")),
            "{path}: {nav}"
        );
        let here = between(nav, "aria-current=\"page\">", "<").unwrap();
        assert!(here.contains(current), "{path}: {here:?}");
    }
}

#[tokio::test]
async fn the_product_list_sorts_by_its_headers_and_job_ids_are_shortened() {
    let w = pod_world_with(TestApp::spawn().await).await;
    let owner = &w.staff;
    let html = owner
        .get("/billing/products?sort=code&q=mini")
        .await
        .text()
        .await
        .unwrap();
    let head = between(&html, "<thead>", "</thead>").unwrap();
    assert!(
        head.contains("aria-sort=\"ascending\"><a href=\"/billing/products?q=mini&#38;sort=code\""),
        "the current sort is marked: {head}"
    );
    assert_eq!(head.matches("aria-sort=").count(), 1, "{head}");
    for key in ["name", "status", "updated"] {
        assert!(
            head.contains(&format!("href=\"/billing/products?q=mini&#38;sort={key}\"")),
            "{key} keeps the filters: {head}"
        );
    }
    let html = owner
        .get("/billing/products?sort=updated")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("aria-sort=\"descending\""),
        "newest changes first"
    );

    let pod = create_pod(&w, "web-01", "MINI").await;
    settled(&w.app, &pod).await;
    let job: String = sqlx::query_scalar("SELECT id FROM jobs ORDER BY created_at LIMIT 1")
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    let html = owner.get("/ops/jobs").await.text().await.unwrap();
    let cell = between(&html, "<td class=\"job-id\">", "</td>").unwrap();
    assert!(
        cell.contains(&format!("class=\"short-id\" title=\"{job}\"")),
        "{cell}"
    );
    assert!(
        cell.contains(&format!("data-copy-text=\"{job}\" hidden")),
        "{cell}"
    );
    assert!(html.contains("<th scope=\"col\" class=\"num\">Attempts</th>"));
}
