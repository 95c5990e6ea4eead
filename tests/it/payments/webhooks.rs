//! The webhook endpoints: signatures checked on the raw body, each event stored once by id,
//! exactly once per gateway reference, order-independent processing, disputes, replay.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::*;
use crate::stripe_double::WEBHOOK_SECRET;

async fn count(app: &TestApp, sql: &str) -> i64 {
    app.count(sql).await
}

#[tokio::test]
async fn stripe_signatures_are_checked_before_anything_is_parsed() {
    let w = world().await;
    let inv = issued_invoice(&w, "24.99").await;
    let body = intent_succeeded("evt_sig_ok", "pi_sig", &inv, 2499).to_string();
    let now = now_secs();
    // stale, future, wrong secret: refused, kept as rejected deliveries, nothing processed
    for (t, secret, why) in [
        (now - 301, WEBHOOK_SECRET, "timestamp too old"),
        (now + 301, WEBHOOK_SECRET, "timestamp in the future"),
        (now, "whsec_wrong", "signature does not match"),
    ] {
        let res = post_stripe_at(&w.app, &body, secret, t).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert!(res.text().await.unwrap().contains(why));
    }
    // tampered body: signed one amount, sent another
    let header =
        mpanel::billing::payments::signature::sign_stripe(body.as_bytes(), WEBHOOK_SECRET, now);
    let tampered = body.replace("2499", "1");
    let http = reqwest::Client::new();
    let res = http
        .post(format!("{}/billing/webhooks/stripe", w.app.base))
        .header("stripe-signature", &header)
        .body(tampered)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    // missing header
    let res = http
        .post(format!("{}/billing/webhooks/stripe", w.app.base))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(res.text().await.unwrap().contains("no signature header"));
    assert_eq!(
        count(
            &w.app,
            "SELECT COUNT(*) FROM webhook_events WHERE verified = 0 AND status = 'REJECTED'"
        )
        .await,
        5
    );
    assert_eq!(
        count(
            &w.app,
            "SELECT COUNT(*) FROM webhook_events WHERE verified = 1"
        )
        .await,
        0
    );
    assert_eq!(invoice(&w.app, &inv).await.0, "ISSUED");
    // several v1 values (a rotated secret's first): accepted
    let good = header.split_once(",v1=").unwrap().1.to_string();
    let old = mpanel::billing::payments::signature::sign_stripe(body.as_bytes(), "whsec_old", now);
    let old = old.split_once(",v1=").unwrap().1;
    let res = http
        .post(format!("{}/billing/webhooks/stripe", w.app.base))
        .header("stripe-signature", format!("t={now},v1={old},v1={good}"))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(settled(&w.app, "evt_sig_ok").await, "PROCESSED");
    assert_eq!(invoice(&w.app, &inv).await, ("PAID".into(), 2499, 0, 0));
}

#[tokio::test]
async fn generic_webhooks_are_verified_and_record_a_payment() {
    let w = world().await;
    let inv = issued_invoice(&w, "10.00").await;
    let body = json!({"type": "payment.succeeded", "invoice_id": inv, "amount_minor": 1000,
        "currency": "EUR", "gateway": "paypal", "reference": "PAYPAL-1"});
    // a wrong signature and a stale timestamp are refused
    let text = body.to_string();
    let t = now_secs();
    let http = reqwest::Client::new();
    for (ts, sig) in [
        (
            t,
            "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_string(),
        ),
        (
            t - 400,
            mpanel::billing::payments::signature::sign_standard(
                "msg_1",
                t - 400,
                text.as_bytes(),
                GENERIC_SECRET,
            ),
        ),
    ] {
        let res = http
            .post(format!("{}/billing/webhooks/generic", w.app.base))
            .header("webhook-id", "msg_1")
            .header("webhook-timestamp", ts.to_string())
            .header("webhook-signature", sig)
            .body(text.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    }
    assert_eq!(
        send_generic(&w.app, "msg_1", &body).await.status(),
        StatusCode::OK
    );
    assert_eq!(settled(&w.app, "msg_1").await, "PROCESSED");
    assert_eq!(invoice(&w.app, &inv).await, ("PAID".into(), 1000, 0, 0));
    let method: String = sqlx::query_scalar("SELECT method FROM payments WHERE invoice_id = $1")
        .bind(&inv)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(method, "PayPal");
    // an unknown type is stored and ignored
    assert_eq!(
        send_generic(&w.app, "msg_2", &json!({"type": "gateway.ping"}))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(settled(&w.app, "msg_2").await, "IGNORED");
}

#[tokio::test]
async fn a_repeated_event_id_is_stored_once_and_a_replay_records_nothing_twice() {
    let w = world().await;
    let inv = issued_invoice(&w, "24.99").await;
    let ev = intent_succeeded("evt_repeat", "pi_repeat", &inv, 2499);
    let res = send_stripe(&w.app, &ev).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "stored");
    let res = send_stripe(&w.app, &ev).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "already received");
    assert_eq!(settled(&w.app, "evt_repeat").await, "PROCESSED");
    assert_eq!(
        count(
            &w.app,
            "SELECT COUNT(*) FROM webhook_events WHERE event_id = 'evt_repeat'"
        )
        .await,
        1
    );
    // staff replay it from the inbox: processed again, still one payment
    let row: String =
        sqlx::query_scalar("SELECT id FROM webhook_events WHERE event_id = 'evt_repeat'")
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    let page = w.staff.get(&format!("/billing/webhooks/{row}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("pi_repeat") && html.contains("Replay event"),
        "{html}"
    );
    let res = w
        .staff
        .post(&format!("/billing/webhooks/{row}/replay"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_until("the replay processed", 20, || async {
        let attempts: i64 = sqlx::query_scalar(
            "SELECT attempts FROM webhook_events WHERE id = $1 AND status = 'PROCESSED'",
        )
        .bind(&row)
        .fetch_optional(&w.app.state.db.pool)
        .await
        .unwrap()
        .unwrap_or(0);
        (attempts == 2).then_some(())
    })
    .await;
    assert_eq!(successful_payments(&w.app, &inv).await, 1);
    assert_eq!(invoice(&w.app, &inv).await, ("PAID".into(), 2499, 0, 0));
    assert_eq!(
        count(
            &w.app,
            "SELECT COUNT(*) FROM audit_log WHERE action = 'payments.webhook_replayed'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_refund_arriving_before_its_payment_waits_for_it() {
    let w = world().await;
    let inv = issued_invoice(&w, "24.99").await;
    // the full refund first: nothing to refund yet, it waits
    send_stripe(&w.app, &charge_refunded("evt_refund", "pi_ooo", 2499)).await;
    assert_eq!(settled(&w.app, "evt_refund").await, "WAITING");
    assert_eq!(invoice(&w.app, &inv).await, ("ISSUED".into(), 0, 0, 2499));
    // then the payment: recorded, and the refund follows it
    send_stripe(&w.app, &intent_succeeded("evt_pay", "pi_ooo", &inv, 2499)).await;
    assert_eq!(settled(&w.app, "evt_pay").await, "PROCESSED");
    wait_until("the waiting refund processed", 20, || async {
        let s: String =
            sqlx::query_scalar("SELECT status FROM webhook_events WHERE event_id = 'evt_refund'")
                .fetch_one(&w.app.state.db.pool)
                .await
                .unwrap();
        (s == "PROCESSED").then_some(())
    })
    .await;
    assert_eq!(
        invoice(&w.app, &inv).await,
        ("ISSUED".into(), 2499, 2499, 2499)
    );
    // a late, smaller cumulative refund event adds nothing
    send_stripe(&w.app, &charge_refunded("evt_refund_old", "pi_ooo", 1000)).await;
    assert_eq!(settled(&w.app, "evt_refund_old").await, "PROCESSED");
    assert_eq!(
        invoice(&w.app, &inv).await,
        ("ISSUED".into(), 2499, 2499, 2499)
    );
    assert_eq!(
        count(
            &w.app,
            "SELECT COUNT(*) FROM payments WHERE kind = 'REFUND'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn the_same_payment_by_webhook_and_by_staff_is_recorded_once() {
    let w = world().await;
    let pay = |inv: String, reference: &'static str, key: &'static str| {
        let staff = &w.staff;
        async move {
            staff
                .post(
                    &format!("/billing/invoices/{inv}/pay"),
                    &[
                        ("amount", "10.00"),
                        ("method", "Stripe"),
                        ("reference", reference),
                        ("paid_on", ""),
                        ("status", "SUCCESS"),
                        ("idempotency_key", key),
                    ],
                )
                .await
        }
    };
    // webhook first, then staff type it in
    let a = issued_invoice(&w, "20.00").await;
    send_stripe(&w.app, &intent_succeeded("evt_a", "pi_same_a", &a, 1000)).await;
    assert_eq!(settled(&w.app, "evt_a").await, "PROCESSED");
    let res = pay(a.clone(), "pi_same_a", "staff-key-0000000001").await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("already recorded"));
    assert_eq!(successful_payments(&w.app, &a).await, 1);
    assert_eq!(invoice(&w.app, &a).await, ("ISSUED".into(), 1000, 0, 1000));
    // staff first, then the webhook
    let b = issued_invoice(&w, "20.00").await;
    let res = pay(b.clone(), "pi_same_b", "staff-key-0000000002").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    send_stripe(&w.app, &intent_succeeded("evt_b", "pi_same_b", &b, 1000)).await;
    assert_eq!(settled(&w.app, "evt_b").await, "PROCESSED");
    assert_eq!(successful_payments(&w.app, &b).await, 1);
    assert_eq!(invoice(&w.app, &b).await, ("ISSUED".into(), 1000, 0, 1000));
    let outcome: String =
        sqlx::query_scalar("SELECT outcome FROM webhook_events WHERE event_id = 'evt_b'")
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert!(outcome.contains("recorded already"), "{outcome}");
}

#[tokio::test]
async fn concurrent_deliveries_of_one_payment_record_it_once() {
    let w = world().await;
    let inv = issued_invoice(&w, "24.99").await;
    // Stripe sends both events for one Checkout payment; each may be delivered twice, at once.
    let session = json!({"id": "cs_conc", "object": "checkout.session", "payment_status": "paid",
        "amount_total": 2499, "currency": "eur", "payment_intent": "pi_conc",
        "metadata": {"invoice_id": inv}});
    let completed = stripe_event("evt_conc_1", "checkout.session.completed", session);
    let succeeded = intent_succeeded("evt_conc_2", "pi_conc", &inv, 2499);
    let (r1, r2, r3, r4) = tokio::join!(
        send_stripe(&w.app, &completed),
        send_stripe(&w.app, &succeeded),
        send_stripe(&w.app, &completed),
        send_stripe(&w.app, &succeeded),
    );
    for r in [r1, r2, r3, r4] {
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(settled(&w.app, "evt_conc_1").await, "PROCESSED");
    assert_eq!(settled(&w.app, "evt_conc_2").await, "PROCESSED");
    assert_eq!(
        count(
            &w.app,
            "SELECT COUNT(*) FROM webhook_events WHERE verified = 1"
        )
        .await,
        2
    );
    assert_eq!(successful_payments(&w.app, &inv).await, 1);
    assert_eq!(invoice(&w.app, &inv).await, ("PAID".into(), 2499, 0, 0));
    assert_eq!(credit_balance(&w.app, &w.tenant).await, 0);
}

#[tokio::test]
async fn a_dispute_flags_the_invoice_for_staff_and_unknown_invoices_fail_visibly() {
    let w = world().await;
    let inv = issued_invoice(&w, "24.99").await;
    // the dispute before its payment waits, then flags the invoice
    send_stripe(
        &w.app,
        &stripe_event(
            "evt_dispute",
            "charge.dispute.created",
            json!({"id": "dp_1", "object": "dispute", "charge": "ch_1", "payment_intent": "pi_disp",
                   "amount": 2499, "reason": "fraudulent", "currency": "eur"}),
        ),
    )
    .await;
    assert_eq!(settled(&w.app, "evt_dispute").await, "WAITING");
    send_stripe(
        &w.app,
        &intent_succeeded("evt_disp_pay", "pi_disp", &inv, 2499),
    )
    .await;
    wait_until("the dispute processed", 20, || async {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM invoice_disputes WHERE invoice_id = $1")
                .bind(&inv)
                .fetch_one(&w.app.state.db.pool)
                .await
                .unwrap();
        (n == 1).then_some(())
    })
    .await;
    let html = w
        .staff
        .get(&format!("/billing/invoices/{inv}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"invoice-disputes\"") && html.contains("fraudulent"),
        "{html}"
    );
    // a payment for an invoice that does not exist: failed, shown on the inbox and ops
    send_stripe(
        &w.app,
        &intent_succeeded("evt_nowhere", "pi_nowhere", "no-such-invoice", 100),
    )
    .await;
    assert_eq!(settled(&w.app, "evt_nowhere").await, "FAILED");
    let inbox = w.staff.get("/billing/webhooks?status=FAILED").await;
    assert_eq!(inbox.status(), StatusCode::OK);
    let html = inbox.text().await.unwrap();
    assert!(
        html.contains("evt_nowhere") && html.contains("does not exist"),
        "{html}"
    );
    assert!(!html.contains("evt_disp_pay"));
    let tile = w
        .staff
        .get("/ops/tiles/billing")
        .await
        .text()
        .await
        .unwrap();
    let figure = between(&tile, "id=\"bill-webhooks\">", "</dd>").unwrap();
    assert!(figure.contains(">1<"), "{figure}");
    // customers and staff below ADMIN do not see the inbox
    assert_eq!(
        w.owner.get("/billing/webhooks").await.status(),
        StatusCode::FORBIDDEN
    );
    let op = w.app.operator_tenant_id().await;
    w.app
        .create_user(&w.staff, &op, "billing@operator.test", "BILLING")
        .await;
    let billing = w.app.signed_in("billing@operator.test").await;
    assert_eq!(
        billing.get("/billing/webhooks").await.status(),
        StatusCode::FORBIDDEN
    );
}
