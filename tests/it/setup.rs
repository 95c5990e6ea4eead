use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn every_page_redirects_to_setup_until_an_owner_exists() {
    let app = TestApp::spawn().await;
    let c = app.client();
    for path in ["/", "/login", "/tenants", "/no-such-page"] {
        let res = c.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&res), "/setup", "{path}");
    }
    // health endpoints and assets work before setup
    assert_eq!(c.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(c.get("/readyz").await.status(), StatusCode::OK);
    assert_eq!(
        c.get("/static/vendor/htmx.min.js").await.status(),
        StatusCode::OK
    );
    let form = c.get("/setup").await;
    assert_eq!(form.status(), StatusCode::OK);
    assert!(form.text().await.unwrap().contains("name=\"company\""));
}

#[tokio::test]
async fn setup_creates_operator_owner_signs_in_and_then_answers_404() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let home = owner.get("/").await;
    assert_eq!(home.status(), StatusCode::OK);
    let html = home.text().await.unwrap();
    assert!(html.contains(OWNER_EMAIL), "signed in as the new owner");
    assert!(html.contains("OWNER of Operator Hosting"));
    assert_eq!(owner.get("/setup").await.status(), StatusCode::NOT_FOUND);
    let other = app.client();
    assert_eq!(other.get("/setup").await.status(), StatusCode::NOT_FOUND);
    let again = other
        .post(
            "/setup",
            &[
                ("company", "X"),
                ("email", "x@x.test"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(again.status(), StatusCode::NOT_FOUND);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM tenants WHERE kind = 'OPERATOR'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'setup.completed'")
            .await,
        1
    );
}

#[tokio::test]
async fn concurrent_setup_submissions_create_exactly_one_owner() {
    let app = TestApp::spawn().await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let c = app.client();
        tasks.push(tokio::spawn(async move {
            c.post(
                "/setup",
                &[
                    ("company", &format!("Company {i}")),
                    ("email", &format!("owner{i}@race.test")),
                    ("password", PASSWORD),
                ],
            )
            .await
            .status()
        }));
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::SEE_OTHER => created += 1,
            StatusCode::NOT_FOUND => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM tenants").await, 1);
}

#[tokio::test]
async fn setup_rejects_bad_input_beside_the_field_and_keeps_values() {
    let app = TestApp::spawn().await;
    let c = app.client();
    let res = c
        .post(
            "/setup",
            &[
                ("company", "Keep Me Inc"),
                ("email", "not-an-email"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("value=\"Keep Me Inc\""), "company kept");
    assert!(html.contains("value=\"not-an-email\""), "email kept");
    assert!(
        html.contains("id=\"e-email\""),
        "email error beside the field"
    );
    assert!(
        html.contains("Use at least 12 characters."),
        "password error"
    );
    let long = "x".repeat(5000);
    let res = c
        .post(
            "/setup",
            &[("company", &long), ("email", &long), ("password", &long)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, 0);
}
