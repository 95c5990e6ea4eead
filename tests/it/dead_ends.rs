//! Dead ends: an action a person cannot take says why (who may, or what comes first), and the
//! forced password change does not ask again for the temporary password just typed.

use reqwest::StatusCode;

use crate::confirm::{invoice_status, issued_invoice};
use crate::helpers::*;

async fn pay(c: &TestClient, id: &str, amount: &str, key: &str) -> StatusCode {
    c.post(
        &format!("/billing/invoices/{id}/pay"),
        &[
            ("amount", amount),
            ("method", "Bank transfer"),
            ("reference", "T-1"),
            ("paid_on", ""),
            ("status", "SUCCESS"),
            ("idempotency_key", key),
        ],
    )
    .await
    .status()
}

#[tokio::test]
async fn billing_staff_are_told_who_makes_corrections() {
    let (app, owner, id) = issued_invoice().await;
    let operator = app.operator_tenant_id().await;
    app.create_user(&owner, &operator, "billing@staff.test", "BILLING")
        .await;
    let billing = app.signed_in("billing@staff.test").await;
    let html = billing
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("/void\""), "no void form");
    assert!(!html.contains("/credit\""), "no credit form");
    let why = between(&html, "id=\"corrections-need-admin\"", "</p>").expect("says why");
    assert!(
        why.contains("Refunds, credit notes and voiding") && why.contains("staff admin or owner"),
        "{why}"
    );
    // the line matches the rule: billing staff really are refused
    let res = billing
        .post(
            &format!("/billing/invoices/{id}/void"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // an admin sees the actions, not the line
    let html = owner
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("corrections-need-admin"));
    assert!(html.contains(&format!("/billing/invoices/{id}/void\"")));
}

#[tokio::test]
async fn void_is_not_offered_on_a_partly_paid_invoice_and_the_page_says_why() {
    let (app, owner, id) = issued_invoice().await;
    assert_eq!(
        pay(&owner, &id, "30", "test-payment-key-0001").await,
        StatusCode::SEE_OTHER
    );
    let html = owner
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Partially paid"), "partly paid");
    assert!(
        !html.contains(&format!("action=\"/billing/invoices/{id}/void\"")),
        "void not offered"
    );
    let why = between(&html, "id=\"why-not-void\"", "</p>").expect("says why");
    assert!(why.contains("Refund the payments first"), "{why}");
    // and the service agrees: refused, with or without confirmation
    for form in [vec![], vec![("confirm", "yes")]] {
        let res = owner
            .post(&format!("/billing/invoices/{id}/void"), &form)
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT);
        assert!(
            res.text()
                .await
                .unwrap()
                .contains("Refund the payments first")
        );
    }
    assert_eq!(invoice_status(&app, &id).await, "ISSUED");
}

/// A member flagged must-change-password, signed in with that (temporary) password.
async fn flagged_member(app: &TestApp) -> (String, TestClient) {
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let id = app
        .create_user(&owner, &tenant, "new@acme.test", "MEMBER")
        .await;
    sqlx::query("UPDATE users SET must_change_password = 1 WHERE id = $1")
        .bind(&id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let user = app.client();
    assert_eq!(
        user.login("new@acme.test", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    (id, user)
}

#[tokio::test]
async fn right_after_a_temporary_sign_in_the_password_is_not_asked_again() {
    let app = TestApp::spawn().await;
    let (_, user) = flagged_member(&app).await;
    let page = user.get("/account/password").await.text().await.unwrap();
    assert!(page.contains("temporary password"));
    assert!(
        !page.contains("name=\"current\""),
        "no current-password field"
    );
    // the temporary password may not be kept
    let res = user
        .post(
            "/account/password",
            &[("new", PASSWORD), ("confirm", PASSWORD)],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("different from the temporary one")
    );
    let res = user
        .post(
            "/account/password",
            &[
                ("new", "my own secret phrase"),
                ("confirm", "my own secret phrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(user.get("/").await.status(), StatusCode::OK, "free to go");
    assert_eq!(
        app.client()
            .login("new@acme.test", "my own secret phrase")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // once changed, the form asks for the current password again
    let page = user.get("/account/password").await.text().await.unwrap();
    assert!(page.contains("name=\"current\""));
}

#[tokio::test]
async fn a_session_older_than_fifteen_minutes_must_give_the_current_password() {
    let app = TestApp::spawn().await;
    let (id, user) = flagged_member(&app).await;
    let long_ago = mpanel::db::Timestamp::now().plus_secs(-16 * 60);
    sqlx::query("UPDATE sessions SET created_at = $1 WHERE user_id = $2")
        .bind(long_ago.0)
        .bind(&id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let page = user.get("/account/password").await.text().await.unwrap();
    assert!(page.contains("name=\"current\""), "asks again");
    let res = user
        .post(
            "/account/password",
            &[
                ("new", "my own secret phrase"),
                ("confirm", "my own secret phrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Enter your current password.")
    );
    let res = user
        .post(
            "/account/password",
            &[
                ("current", PASSWORD),
                ("new", "my own secret phrase"),
                ("confirm", "my own secret phrase"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
