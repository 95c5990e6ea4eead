//! Confirm once, without JavaScript: a destructive action posted without `confirm=yes` is not
//! done; it answers a confirmation page inside the shell whose button posts the same fields
//! again with `confirm=yes`. The same refusals as the action come first (role, state).

use reqwest::StatusCode;

use crate::cloudpods::{PodWorld, create_pod, pod_row, pod_world_with, settled};
use crate::helpers::*;

/// An issued invoice of 100.00 for a new customer tenant; (app, staff owner, invoice id).
pub(crate) async fn issued_invoice() -> (TestApp, TestClient, String) {
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
    let id = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Server"),
                ("quantity", "1"),
                ("unit_price", "100"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = owner
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    (app, owner, id)
}

pub(crate) async fn invoice_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// The confirmation page: 409, in the shell, a form re-posting to `action` with confirm=yes.
async fn assert_confirmation_page(res: reqwest::Response, action: &str, question: &str) -> String {
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "not done without confirmation"
    );
    let html = res.text().await.unwrap();
    assert!(html.contains(question), "asks {question:?}: {html}");
    assert!(html.contains("Sign out"), "inside the signed-in shell");
    let form = between(&html, "id=\"confirm-step\"", "</article>").expect("confirmation step");
    assert!(
        form.contains(&format!("action=\"{action}\"")),
        "re-posts to {action}: {form}"
    );
    assert!(form.contains("name=\"confirm\" value=\"yes\""), "{form}");
    assert!(form.contains("Cancel"), "a way back");
    html
}

#[tokio::test]
async fn voiding_without_confirmation_asks_first_then_voids() {
    let (app, owner, id) = issued_invoice().await;
    let url = format!("/billing/invoices/{id}/void");
    let res = owner.post(&url, &[]).await;
    assert_confirmation_page(res, &url, "Void invoice INV-").await;
    assert_eq!(
        invoice_status(&app, &id).await,
        "ISSUED",
        "nothing happened yet"
    );

    // an htmx form that reached the server unconfirmed gets the step in place of the page
    let res = owner.post_htmx(&url, &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(res.headers()["hx-retarget"], "#main");
    let fragment = res.text().await.unwrap();
    assert!(fragment.contains("Void invoice INV-") && !fragment.contains("<html"));
    assert_eq!(invoice_status(&app, &id).await, "ISSUED");

    let res = owner.post(&url, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(invoice_status(&app, &id).await, "VOID");
}

#[tokio::test]
async fn the_invoice_page_asks_in_a_dialog_and_has_no_tick_box_any_more() {
    let (_app, owner, id) = issued_invoice().await;
    let html = owner
        .get(&format!("/billing/invoices/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let void = between(
        &html,
        &format!("action=\"/billing/invoices/{id}/void\""),
        "</form>",
    )
    .expect("void offered");
    assert!(void.contains("data-confirm=\"Void invoice INV-"), "{void}");
    assert!(void.contains("class=\"destructive\""), "{void}");
    assert!(
        !void.contains("type=\"checkbox\""),
        "one confirmation, not two"
    );
    assert!(!html.contains("hx-confirm"), "no window.confirm");
    let credit = between(
        &html,
        &format!("action=\"/billing/invoices/{id}/credit\""),
        "</form>",
    )
    .expect("credit offered");
    assert!(credit.contains("data-confirm="), "{credit}");
}

#[tokio::test]
async fn credit_and_refund_ask_first_and_keep_what_was_typed() {
    let (app, owner, id) = issued_invoice().await;
    let url = format!("/billing/invoices/{id}/credit");
    let res = owner
        .post(&url, &[("amount", "12.50"), ("reason", "Outage")])
        .await;
    let html = assert_confirmation_page(res, &url, "Issue a credit note on INV-").await;
    assert!(html.contains("EUR 12.50"), "the amount, formatted: {html}");
    assert!(html.contains("name=\"amount\" value=\"12.50\""));
    assert!(html.contains("name=\"reason\" value=\"Outage\""));
    assert_eq!(app.count("SELECT COUNT(*) FROM credit_notes").await, 0);
    let res = owner
        .post(
            &url,
            &[
                ("amount", "12.50"),
                ("reason", "Outage"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT COUNT(*) FROM credit_notes").await, 1);

    // a payment, then its refund
    let res = owner
        .post(
            &format!("/billing/invoices/{id}/pay"),
            &[
                ("amount", "20"),
                ("method", "Bank transfer"),
                ("reference", "T-1"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", "test-payment-key-0001"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let payment: String = sqlx::query_scalar("SELECT id FROM payments WHERE invoice_id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let url = format!("/billing/invoices/{id}/refund");
    let form = [
        ("payment_id", payment.as_str()),
        ("amount", "5"),
        ("reference", "R"),
        ("idempotency_key", "test-refund-key-0001"),
    ];
    let res = owner.post(&url, &form).await;
    let html = assert_confirmation_page(res, &url, "Refund a payment of INV-").await;
    assert!(html.contains(&format!("name=\"payment_id\" value=\"{payment}\"")));
    assert!(html.contains("name=\"idempotency_key\" value=\"test-refund-key-0001\""));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE kind = 'REFUND'")
            .await,
        0
    );
    let mut confirmed = form.to_vec();
    confirmed.push(("confirm", "yes"));
    let res = owner.post(&url, &confirmed).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM payments WHERE kind = 'REFUND'")
            .await,
        1
    );
}

#[tokio::test]
async fn stopping_rebooting_and_suspending_a_pod_ask_first() {
    let w: PodWorld = pod_world_with(TestApp::spawn().await).await;
    let id = create_pod(&w, "web-01", "MINI").await;
    assert_eq!(settled(&w.app, &id).await, "ACTIVE");
    let jobs_sql = format!("SELECT COUNT(*) FROM jobs WHERE subject = 'cloudpod:{id}'");
    let jobs_before = w.app.count(&jobs_sql).await;
    let url = format!("/cloudpods/{id}/power");
    for (action, question) in [("stop", "Stop web-01?"), ("reboot", "Reboot web-01?")] {
        let res = w.staff.post(&url, &[("action", action)]).await;
        let html = assert_confirmation_page(res, &url, question).await;
        assert!(html.contains(&format!("name=\"action\" value=\"{action}\"")));
    }
    let suspend = format!("/cloudpods/{id}/suspend");
    let res = w.staff.post(&suspend, &[]).await;
    assert_confirmation_page(res, &suspend, "Suspend web-01?").await;
    assert_eq!(
        w.app.count(&jobs_sql).await,
        jobs_before,
        "no job queued before confirming"
    );
    assert_eq!(pod_row(&w.app, &id).await.4, "RUNNING");
    // starting is not disruptive: no question
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    let stop = between(&page, "value=\"stop\"", "</form>").expect("stop offered");
    assert!(stop.contains("destructive"), "{stop}");
    assert!(page.contains("data-confirm=\"Stop web-01?"));

    let res = w
        .staff
        .post(&url, &[("action", "stop"), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    settled(&w.app, &id).await;
    assert_eq!(pod_row(&w.app, &id).await.4, "STOPPED");
    // a refusal comes before the question: a stopped pod cannot be stopped again
    let res = w.staff.post(&url, &[("action", "stop")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(!res.text().await.unwrap().contains("id=\"confirm-step\""));
}

#[tokio::test]
async fn deprecating_a_product_asks_first_and_the_list_saves_only_on_save() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let res = owner
        .post(
            "/billing/products",
            &[
                ("code", "SSL"),
                ("name", "Certificate"),
                ("description", ""),
                ("category", "ADDON"),
                ("billing_model", "RECURRING"),
                ("status", "ACTIVE"),
                ("visibility", "PUBLIC"),
                ("tax_category", "STANDARD"),
                ("unit_name", ""),
                ("tier_mode", "GRADUATED"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = location(&res)
        .trim_start_matches("/billing/products/")
        .to_string();
    let list = owner.get("/billing/products").await.text().await.unwrap();
    let row = between(&list, &format!("<tr id=\"product-{id}\""), "</tr>").unwrap();
    assert!(
        !row.contains("hx-trigger=\"change\""),
        "no save on change: {row}"
    );
    assert!(
        row.contains("<button type=\"submit\""),
        "an explicit Save: {row}"
    );
    assert!(row.contains("data-confirm=\"Deprecate SSL?"), "{row}");

    let url = format!("/billing/products/{id}/status");
    let res = owner
        .post(&url, &[("status", "DEPRECATED"), ("from", "ACTIVE")])
        .await;
    let html = assert_confirmation_page(res, &url, "Deprecate Certificate (SSL)?").await;
    assert!(html.contains("cannot be undone"));
    let status = || async {
        sqlx::query_scalar::<_, String>("SELECT status FROM products WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap()
    };
    assert_eq!(status().await, "ACTIVE");
    // reversible changes need no question
    let res = owner
        .post(&url, &[("status", "INACTIVE"), ("from", "ACTIVE")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status().await, "INACTIVE");
    let res = owner
        .post(
            &url,
            &[
                ("status", "DEPRECATED"),
                ("from", "INACTIVE"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status().await, "DEPRECATED");
}

#[tokio::test]
async fn revoking_and_deactivating_ask_first() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let member = app
        .create_user(&owner, &tenant, "member@acme.test", "MEMBER")
        .await;

    let url = format!("/users/{member}/deactivate");
    let res = owner.post(&url, &[]).await;
    assert_confirmation_page(res, &url, "Deactivate member@acme.test?").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM users WHERE email = 'member@acme.test' AND active = 1")
            .await,
        1
    );
    let page = owner
        .get(&format!("/users/{member}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("data-confirm=\"Deactivate member@acme.test?"));
    assert!(
        !page.contains("Yes, deactivate member@acme.test and sign"),
        "no tick box"
    );

    token_for(&owner, &["READ"]).await;
    let token: String = sqlx::query_scalar("SELECT id FROM api_tokens")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    let url = format!("/security/tokens/{token}/revoke");
    let res = owner.post(&url, &[]).await;
    assert_confirmation_page(res, &url, "Revoke the token &#34;pods api&#34;?").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM api_tokens WHERE revoked_at IS NULL")
            .await,
        1
    );
    let res = owner.post(&url, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    let other = app.client();
    other.login(OWNER_EMAIL, PASSWORD).await;
    // one other session: asked first; the session in use signs out without a question
    let other_id = mpanel::auth::service::session_id_for(&other.cookie("mpanel_session").unwrap());
    let url = format!("/security/sessions/{other_id}/revoke");
    let res = owner.post(&url, &[]).await;
    assert_confirmation_page(res, &url, "End this session?").await;
    assert_eq!(
        other.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let url = "/security/sessions/revoke-others";
    let res = owner.post(url, &[]).await;
    assert_confirmation_page(res, url, "Sign out all your other sessions?").await;
    assert_eq!(
        other.get("/").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    let res = owner.post(url, &[("confirm", "yes")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&other.get("/").await), "/login");
}
