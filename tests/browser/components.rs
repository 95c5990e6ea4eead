//! Shared components with JavaScript: the confirm dialog (focus in, Escape cancels and focus
//! returns, confirming sends the action once), Copy buttons for secrets shown once, and
//! breadcrumbs.

use std::time::Duration;

use fantoccini::Locator;
use fantoccini::key::Key;
use reqwest::StatusCode;

use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp, TestClient, location};

/// An operator owner and an issued invoice of a customer tenant.
async fn world() -> (TestApp, TestClient, String) {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let res = owner
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant.as_str()), ("currency", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let invoice = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    let res = owner
        .post(
            &format!("/billing/invoices/{invoice}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Hosting"),
                ("quantity", "1"),
                ("unit_price", "40"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = owner
        .post(&format!("/billing/invoices/{invoice}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    (app, owner, invoice)
}

async fn sign_in(b: &Browser, base: &str) {
    b.goto(&format!("{base}/login")).await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_text("Sign out").await;
}

async fn js(b: &Browser, script: &str) -> serde_json::Value {
    b.client.execute(script, vec![]).await.unwrap()
}

async fn status_of(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn dialog_open(b: &Browser) -> bool {
    js(
        b,
        "var d = document.querySelector('dialog.confirm-dialog'); return !!(d && d.open);",
    )
    .await
    .as_bool()
    .unwrap()
}

#[tokio::test]
async fn destructive_actions_ask_once_in_a_dialog() {
    let (app, _owner, invoice) = world().await;
    let b = Browser::start().await;
    sign_in(&b, &app.base).await;
    b.goto(&format!("{}/billing/invoices/{invoice}", app.base))
        .await;
    let number: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = $1")
        .bind(&invoice)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    b.expect_heading(&format!("Invoice {number}")).await;
    // breadcrumbs: the list, then this page
    let crumbs = js(
        &b,
        "var n = document.querySelector('nav[aria-label=Breadcrumb]'); \
         return n ? [n.querySelector('a').textContent, n.querySelector('[aria-current=page]').textContent] : null;",
    )
    .await;
    assert_eq!(crumbs[0], "Invoices");
    assert_eq!(crumbs[1], format!("Invoice {number}").as_str());
    // the destructive button is red with white text
    let colours = js(
        &b,
        "var s = getComputedStyle([...document.querySelectorAll('button')].find(x => x.textContent.trim() === 'Void invoice')); \
         return [s.backgroundColor, s.color];",
    )
    .await;
    assert_eq!(colours[1], "rgb(255, 255, 255)", "{colours}");
    assert!(
        colours[0].as_str().unwrap().starts_with("rgb(1"),
        "red background: {colours}"
    );

    // Escape cancels: nothing sent, focus back on the button
    b.press("Void invoice").await;
    assert!(dialog_open(&b).await, "the dialog asks");
    b.expect_text("It keeps its number and cannot be undone.")
        .await;
    let focused = js(
        &b,
        "return !!document.activeElement.closest('dialog.confirm-dialog');",
    )
    .await;
    assert_eq!(focused, true, "focus moves into the dialog");
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&Key::Escape.to_string())
        .await
        .unwrap();
    for _ in 0..20 {
        if !dialog_open(&b).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!dialog_open(&b).await, "Escape closes it");
    let back = js(&b, "return document.activeElement.textContent.trim();").await;
    assert_eq!(back, "Void invoice", "focus returns to the button");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        status_of(&app, &invoice).await,
        "ISSUED",
        "nothing was sent"
    );

    // confirming sends it once, with confirm=yes (no confirmation page in between)
    b.press("Void invoice").await;
    b.press("Yes, void").await;
    b.expect_text("Invoice voided. It keeps its number.").await;
    assert_eq!(status_of(&app, &invoice).await, "VOID");
    assert!(
        b.client.find(Locator::Id("confirm-step")).await.is_err(),
        "no server-side confirmation page when the dialog asked"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'invoice.voided'")
            .await,
        1,
        "sent once"
    );
    b.stop().await;
}

#[tokio::test]
async fn secrets_shown_once_have_a_copy_button() {
    let (app, _owner, _) = world().await;
    let b = Browser::start().await;
    sign_in(&b, &app.base).await;
    b.goto(&format!("{}/security/tokens", app.base)).await;
    b.fill("Token name", "deploy").await;
    js(
        &b,
        "document.getElementById('f-scope-READ').checked = true; return true;",
    )
    .await;
    b.press("Create token").await;
    b.expect_heading("API token created").await;
    let visible = js(
        &b,
        "var c = [...document.querySelectorAll('button.copy')].find(x => x.textContent.trim() === 'Copy the token'); \
         return !!c && !c.hidden && c.offsetParent !== null;",
    )
    .await;
    assert_eq!(visible, true, "the Copy button shows with JavaScript");
    // clipboard access may be refused to a headless browser: stand in for it, as a page
    // cannot grant itself the permission
    js(
        &b,
        "window.copied = null; navigator.clipboard.writeText = function (t) { window.copied = t; return Promise.resolve(); }; return true;",
    )
    .await;
    b.press("Copy the token").await;
    b.expect_text("Copied").await;
    let copied = js(&b, "return window.copied;").await;
    let token = js(&b, "return document.getElementById('new-token').value;").await;
    assert_eq!(copied, token, "the token itself was copied");
    let status = js(
        &b,
        "var s = document.getElementById('copy-status'); return s ? s.getAttribute('role') : null;",
    )
    .await;
    assert_eq!(status, "status", "announced politely");
    b.stop().await;
}
