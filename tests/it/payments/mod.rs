//! Online payments: signed webhooks (Stripe, Standard Webhooks) into the inbox, exactly once
//! per gateway reference, order-independent processing, account credit, Stripe Checkout
//! against the API double, the inbox page and the ops figure.

mod checkout;
mod credit;
mod webhooks;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::stripe_double::{self, StripeDouble};

pub const GENERIC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub struct World {
    pub app: TestApp,
    pub staff: TestClient,
    pub tenant: String,
    pub owner: TestClient,
    pub stripe: StripeDouble,
}

/// A panel using the Stripe double and a generic webhook secret, an operator owner, tenant
/// acme (EUR prices for the seeded CloudPod products) and its customer owner.
pub async fn world() -> World {
    let stripe = StripeDouble::start().await;
    let s = stripe.clone();
    let app = TestApp::spawn_with(move |c| {
        s.configure(c);
        c.payments.generic_webhook_secrets = vec![GENERIC_SECRET.into()];
        c.payments.bank_details = "IBAN DE89 3704 0044 0532 0130 00".into();
    })
    .await;
    stripe.set_panel(&app.base);
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    for (product, amount, setup) in [
        ("0192f000-0000-7000-8000-000000000001", "9.99", ""),
        ("0192f000-0000-7000-8000-000000000002", "19.99", "5.00"),
    ] {
        let res = staff
            .post(
                &format!("/billing/products/{product}/prices"),
                &[
                    ("currency", "EUR"),
                    ("period", "MONTHLY"),
                    ("amount", amount),
                    ("setup_fee", setup),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "price {product}");
    }
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = app.signed_in("owner@acme.test").await;
    World {
        app,
        staff,
        tenant,
        owner,
        stripe,
    }
}

/// The customer orders a CloudPod Pro (24.99 EUR first invoice); returns (subscription,
/// invoice).
pub async fn order(w: &World, pod: &str, n: u32) -> (String, String) {
    let key = format!("order-key-{n:08}-payments");
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("addon", ""),
                ("pod_name", pod),
                ("region", ""),
                ("idempotency_key", &key),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "order {pod}");
    let sub = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let inv: String = sqlx::query_scalar("SELECT id FROM invoices WHERE subscription_id = $1")
        .bind(&sub)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    (sub, inv)
}

/// A manual invoice of `amount` (e.g. "10.00") for the tenant, issued by staff.
pub async fn issued_invoice(w: &World, amount: &str) -> String {
    let res = w
        .staff
        .post(
            "/billing/invoices",
            &[("tenant_id", &w.tenant), ("currency", "EUR")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{id}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Consulting"),
                ("quantity", "1"),
                ("unit_price", amount),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = w
        .staff
        .post(&format!("/billing/invoices/{id}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    id
}

/// (status, paid, refunded, due) of an invoice.
pub async fn invoice(app: &TestApp, id: &str) -> (String, i64, i64, i64) {
    sqlx::query_as(
        "SELECT status, paid_minor, refunded_minor, due_minor FROM invoices WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

pub async fn sub_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM subscriptions WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// A Stripe event as Stripe shapes it.
pub fn stripe_event(id: &str, kind: &str, object: Value) -> Value {
    json!({"id": id, "object": "event", "type": kind, "data": {"object": object}})
}

pub fn intent_succeeded(evt: &str, pi: &str, invoice: &str, amount: i64) -> Value {
    stripe_event(
        evt,
        "payment_intent.succeeded",
        json!({"id": pi, "object": "payment_intent", "amount": amount, "amount_received": amount,
               "currency": "eur", "status": "succeeded", "metadata": {"invoice_id": invoice}}),
    )
}

pub fn charge_refunded(evt: &str, pi: &str, refunded: i64) -> Value {
    stripe_event(
        evt,
        "charge.refunded",
        json!({"id": format!("ch_{pi}"), "object": "charge", "payment_intent": pi,
               "amount": 2499, "amount_refunded": refunded, "refunded": true, "currency": "eur"}),
    )
}

/// Posts a Stripe event signed at `t` (Unix seconds) with `secret`.
pub async fn post_stripe_at(app: &TestApp, body: &str, secret: &str, t: i64) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/billing/webhooks/stripe", app.base))
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            mpanel::billing::payments::signature::sign_stripe(body.as_bytes(), secret, t),
        )
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

pub fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

pub async fn send_stripe(app: &TestApp, event: &Value) -> reqwest::Response {
    stripe_double::deliver(&app.base, event).await
}

/// Posts a generic (Standard Webhooks) event with message id `id`.
pub async fn send_generic(app: &TestApp, id: &str, body: &Value) -> reqwest::Response {
    let body = body.to_string();
    let t = now_secs();
    reqwest::Client::new()
        .post(format!("{}/billing/webhooks/generic", app.base))
        .header("content-type", "application/json")
        .header("webhook-id", id)
        .header("webhook-timestamp", t.to_string())
        .header(
            "webhook-signature",
            mpanel::billing::payments::signature::sign_standard(
                id,
                t,
                body.as_bytes(),
                GENERIC_SECRET,
            ),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Waits until the stored event with this gateway id leaves PENDING; returns its status.
pub async fn settled(app: &TestApp, event_id: &str) -> String {
    wait_until(&format!("event {event_id} processed"), 20, || async {
        let s: Option<String> = sqlx::query_scalar(
            "SELECT status FROM webhook_events WHERE event_id = $1 AND verified = 1",
        )
        .bind(event_id)
        .fetch_optional(&app.state.db.pool)
        .await
        .unwrap();
        s.filter(|s| s != "PENDING")
    })
    .await
}

pub async fn credit_balance(app: &TestApp, tenant: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM account_credit WHERE tenant_id = $1",
    )
    .bind(tenant)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

pub async fn successful_payments(app: &TestApp, invoice: &str) -> i64 {
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payments WHERE invoice_id = $1 AND kind = 'PAYMENT' AND status = 'SUCCESS'",
    )
    .bind(invoice)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}
