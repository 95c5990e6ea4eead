//! "Pay now": a Stripe Checkout Session created against the API double with the amount due,
//! the currency and the invoice in its metadata; the customer is redirected to it; the signed
//! webhook marks the invoice paid and the order activates. Without Stripe: bank details.

use reqwest::StatusCode;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn pay_now_checkout_then_the_webhook_pays_and_the_order_activates() {
    let w = world().await;
    let (sub, inv) = order(&w, "web1", 1).await;
    assert_eq!(sub_status(&w.app, &sub).await, "PENDING_ACTIVATION");
    // the customer's invoice offers Pay now, and its CSP lets the form go to the payment page
    let page = w.owner.get(&format!("/billing/invoices/{inv}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let csp = page
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        csp.contains(&format!("form-action 'self' {}", w.stripe.base)),
        "{csp}"
    );
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Pay now") && !html.contains("id=\"bank-details\""),
        "{html}"
    );
    // the dashboard offers it beside the invoice due too
    let dash = w.owner.get("/").await;
    assert!(
        dash.headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap()
            .contains(&w.stripe.base)
    );
    let dash = dash.text().await.unwrap();
    assert!(
        dash.contains(&format!("action=\"/billing/invoices/{inv}/checkout\"")),
        "{dash}"
    );
    // staff see no Pay button
    let staff_html = w
        .staff
        .get(&format!("/billing/invoices/{inv}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!staff_html.contains("Pay now"));
    // Pay now: a session with the amount due, currency, metadata and URLs back; 303 to it
    let res = w
        .owner
        .post(&format!("/billing/invoices/{inv}/checkout"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = location(&res);
    let sessions = w.stripe.sessions();
    assert_eq!(sessions.len(), 1);
    let s = &sessions[0];
    assert_eq!(to, format!("{}/pay/{}", w.stripe.base, s.id));
    assert_eq!(s.param("mode"), "payment");
    assert_eq!(s.param("line_items[0][price_data][unit_amount]"), "2499");
    assert_eq!(s.param("line_items[0][price_data][currency]"), "eur");
    assert_eq!(s.param("metadata[invoice_id]"), inv);
    assert_eq!(s.param("payment_intent_data[metadata][invoice_id]"), inv);
    assert_eq!(s.param("customer_email"), "owner@acme.test");
    assert_eq!(
        s.param("success_url"),
        format!("{}/billing/invoices/{inv}?checkout=done", w.app.base)
    );
    assert_eq!(
        s.param("cancel_url"),
        format!("{}/billing/invoices/{inv}", w.app.base)
    );
    assert!(!s.idempotency_key.is_empty());
    // a second click before paying opens the same session (same idempotency key)
    let again = w
        .owner
        .post(&format!("/billing/invoices/{inv}/checkout"), &[])
        .await;
    assert_eq!(location(&again), to);
    assert_eq!(w.stripe.sessions().len(), 1);
    // the customer pays on the double's page: the signed webhook, then back to the invoice
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http.post(&to).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), s.param("success_url"));
    assert_eq!(settled(&w.app, &format!("evt_{}", s.id)).await, "PROCESSED");
    assert_eq!(invoice(&w.app, &inv).await, ("PAID".into(), 2499, 0, 0));
    let reference: String =
        sqlx::query_scalar("SELECT reference FROM payments WHERE invoice_id = $1")
            .bind(&inv)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(reference, format!("pi_{}", s.id));
    wait_until("the subscription active", 20, || async {
        (sub_status(&w.app, &sub).await == "ACTIVE").then_some(())
    })
    .await;
    // paid: no Pay now any more, and it cannot be started again
    let html = w
        .owner
        .get(&format!("/billing/invoices/{inv}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Pay now"));
    let res = w
        .owner
        .post(&format!("/billing/invoices/{inv}/checkout"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'invoice.checkout_started'")
            .await,
        2
    );
}

#[tokio::test]
async fn without_stripe_the_invoice_shows_bank_details_and_no_pay_button() {
    let app = TestApp::spawn_with(|c| {
        c.payments.bank_details = "IBAN DE89 3704 0044 0532 0130 00".into();
    })
    .await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = app.signed_in("owner@acme.test").await;
    let res = staff
        .post(
            "/billing/invoices",
            &[("tenant_id", &tenant), ("currency", "EUR")],
        )
        .await;
    let inv = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    staff
        .post(
            &format!("/billing/invoices/{inv}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Setup"),
                ("quantity", "1"),
                ("unit_price", "50.00"),
            ],
        )
        .await;
    staff
        .post(&format!("/billing/invoices/{inv}/issue"), &[])
        .await;
    let html = owner
        .get(&format!("/billing/invoices/{inv}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!html.contains("Pay now"), "{html}");
    assert!(
        html.contains("id=\"bank-details\"") && html.contains("IBAN DE89 3704 0044 0532 0130 00"),
        "{html}"
    );
    let res = owner
        .post(&format!("/billing/invoices/{inv}/checkout"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // and the Stripe endpoint accepts nothing
    let res = reqwest::Client::new()
        .post(format!("{}/billing/webhooks/stripe", app.base))
        .header("stripe-signature", "t=1,v1=00")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn another_tenants_invoice_cannot_be_paid() {
    let w = world().await;
    let other = w.app.create_tenant(&w.staff, "globex").await;
    let res = w
        .staff
        .post(
            "/billing/invoices",
            &[("tenant_id", &other), ("currency", "EUR")],
        )
        .await;
    let inv = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    w.staff
        .post(
            &format!("/billing/invoices/{inv}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "X"),
                ("quantity", "1"),
                ("unit_price", "5.00"),
            ],
        )
        .await;
    w.staff
        .post(&format!("/billing/invoices/{inv}/issue"), &[])
        .await;
    let res = w
        .owner
        .post(&format!("/billing/invoices/{inv}/checkout"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert!(w.stripe.sessions().is_empty());
}
