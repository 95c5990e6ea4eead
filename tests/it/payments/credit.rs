//! Account credit: an overpayment becomes credit on the tenant (append-only ledger), shown to
//! the customer and staff, and the next invoice issued spends it in its issuing transaction.

use reqwest::StatusCode;
use serde_json::json;

use super::*;
use crate::helpers::*;

#[tokio::test]
async fn an_overpayment_becomes_credit_and_pays_the_next_invoice() {
    let w = world().await;
    let first = issued_invoice(&w, "10.00").await;
    // 15.00 arrive for a 10.00 invoice
    send_generic(
        &w.app,
        "msg_over",
        &json!({"type": "payment.succeeded", "invoice_id": first, "amount_minor": 1500,
                "currency": "EUR", "gateway": "mollie", "reference": "tr_over"}),
    )
    .await;
    assert_eq!(settled(&w.app, "msg_over").await, "PROCESSED");
    assert_eq!(invoice(&w.app, &first).await, ("PAID".into(), 1500, 0, 0));
    assert_eq!(credit_balance(&w.app, &w.tenant).await, 500);
    // the customer and staff see it
    let html = w
        .owner
        .get(&format!("/billing/invoices/{first}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("id=\"account-credit\"") && html.contains("5.00"),
        "{html}"
    );
    let html = w
        .staff
        .get(&format!("/billing/invoices/{first}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("id=\"account-credit\""), "{html}");
    let dash = w.owner.get("/").await.text().await.unwrap();
    assert!(dash.contains("id=\"dash-account-credit\""), "{dash}");
    // the next invoice (8.00) is issued: 5.00 of credit pays part of it, at once
    let next = issued_invoice(&w, "8.00").await;
    assert_eq!(invoice(&w.app, &next).await, ("ISSUED".into(), 500, 0, 300));
    assert_eq!(credit_balance(&w.app, &w.tenant).await, 0);
    let method: String = sqlx::query_scalar("SELECT method FROM payments WHERE invoice_id = $1")
        .bind(&next)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(method, "Account credit");
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'invoice.credit_applied'")
            .await,
        1
    );
    // the ledger is append-only: an entry in, an entry out
    let kinds: Vec<(String, i64)> = sqlx::query_as(
        "SELECT kind, amount_minor FROM account_credit WHERE tenant_id = $1 ORDER BY created_at, id",
    )
    .bind(&w.tenant)
    .fetch_all(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        kinds,
        vec![("OVERPAYMENT".into(), 500), ("APPLIED".into(), -500)]
    );
    // a third invoice finds no credit left
    let third = issued_invoice(&w, "1.00").await;
    assert_eq!(invoice(&w.app, &third).await, ("ISSUED".into(), 0, 0, 100));
}

#[tokio::test]
async fn credit_pays_a_whole_first_invoice_and_the_order_activates() {
    let w = world().await;
    let first = issued_invoice(&w, "10.00").await;
    send_generic(
        &w.app,
        "msg_big",
        &json!({"type": "payment.succeeded", "invoice_id": first, "amount_minor": 5000,
                "currency": "EUR", "gateway": "mollie", "reference": "tr_big"}),
    )
    .await;
    assert_eq!(settled(&w.app, "msg_big").await, "PROCESSED");
    assert_eq!(credit_balance(&w.app, &w.tenant).await, 4000);
    // the order's 24.99 first invoice is paid by credit when it is issued
    let (sub, inv) = order(&w, "web2", 2).await;
    assert_eq!(invoice(&w.app, &inv).await, ("PAID".into(), 2499, 0, 0));
    assert_eq!(credit_balance(&w.app, &w.tenant).await, 1501);
    wait_until("the subscription active", 20, || async {
        (sub_status(&w.app, &sub).await == "ACTIVE").then_some(())
    })
    .await;
    // refunding the overpaid money takes the credit back
    send_generic(
        &w.app,
        "msg_refund",
        &json!({"type": "payment.refunded", "amount_minor": 1501, "currency": "EUR",
                "gateway": "mollie", "reference": "re_1", "payment_reference": "tr_big"}),
    )
    .await;
    assert_eq!(settled(&w.app, "msg_refund").await, "PROCESSED");
    assert_eq!(credit_balance(&w.app, &w.tenant).await, 0);
    assert_eq!(
        invoice(&w.app, &first).await,
        ("PAID".into(), 5000, 1501, 0)
    );
    let res = w.owner.get("/billing/invoices").await;
    assert_eq!(res.status(), StatusCode::OK);
}
