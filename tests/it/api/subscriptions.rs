//! `/api/v1/billing/subscriptions`: ordering (the first invoice in minor units, an idempotent
//! replay), cancelling now and at the period's end, suspend and resume by staff, a plan
//! change's proration, usage records, tenant isolation, validation, scopes and paging.

use mpanel::db::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Api, error_code, json as body};
use crate::bill_runs::{World, active_subscription, period, world};
use crate::helpers::*;

const ALL: &str = "/api/v1/billing/subscriptions";
const BILLING: &[&str] = &["READ", "WRITE", "BILLING"];

fn ms(rfc: &str) -> i64 {
    let d = OffsetDateTime::parse(rfc, &Rfc3339).unwrap();
    (d.unix_timestamp_nanos() / 1_000_000) as i64
}

fn rfc(t: Timestamp) -> String {
    t.rfc3339()
}

async fn ordered(api: &Api, key: &str) -> Value {
    let res = api
        .post_keyed(
            ALL,
            &json!({"product": "SUPPORT-PLUS", "period": "MONTHLY", "quantity": 1}),
            Some(key),
        )
        .await;
    let status = res.status();
    let v = body(res).await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v
}

async fn subscriptions(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM subscriptions").await
}

/// Another customer tenant with its OWNER, and a token for them.
async fn other_tenant(w: &World) -> Api {
    let t = w.app.create_tenant(&w.staff, "globex").await;
    w.app
        .create_user(&w.staff, &t, "owner@globex.test", "OWNER")
        .await;
    let other = w.app.signed_in("owner@globex.test").await;
    Api::new(&w.app, &other, BILLING).await
}

#[tokio::test]
async fn an_order_issues_its_first_invoice_once_in_minor_units() {
    let w = world().await;
    let api = Api::new(&w.app, &w.owner, BILLING).await;
    // The breakdown first: nothing is written.
    let res = api
        .post(
            &format!("{ALL}/quote"),
            &json!({"product": "SUPPORT-PLUS", "period": "MONTHLY"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let q = body(res).await;
    assert_eq!(
        q["lines"][0]["unit_price"],
        json!({"amount": 1000, "currency": "EUR"})
    );
    assert_eq!(q["subtotal"], json!({"amount": 1000, "currency": "EUR"}));
    let total = q["total"]["amount"].as_i64().unwrap();
    assert_eq!(total, 1000 + q["tax"]["amount"].as_i64().unwrap());
    assert_eq!(subscriptions(&w.app).await, 0);

    let first = ordered(&api, "order-1").await;
    let s = &first["subscription"];
    assert_eq!(s["status"], "PENDING_ACTIVATION");
    assert_eq!(s["product"]["code"], "SUPPORT-PLUS");
    assert_eq!(s["current_period"], Value::Null);
    assert_eq!(
        s["items"][0]["unit_price"],
        json!({"amount": 1000, "currency": "EUR"})
    );
    let invoice = first["first_invoice_id"].as_str().unwrap();
    assert_eq!(s["invoices"][0]["id"], invoice);
    assert_eq!(s["invoices"][0]["status"], "ISSUED");
    assert_eq!(
        s["invoices"][0]["total"],
        json!({"amount": total, "currency": "EUR"})
    );
    let (db_total, reason): (i64, String) =
        sqlx::query_as("SELECT total_minor, billing_reason FROM invoices WHERE id = $1")
            .bind(invoice)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!((db_total, reason.as_str()), (total, "FIRST"));
    assert!(s["created_at"].as_str().unwrap().ends_with('Z'));

    // The same Idempotency-Key again: the first answer, one subscription, one invoice.
    let res = api
        .post_keyed(
            ALL,
            &json!({"product": "SUPPORT-PLUS", "period": "MONTHLY", "quantity": 1}),
            Some("order-1"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    assert_eq!(body(res).await, first);
    assert_eq!(subscriptions(&w.app).await, 1);
    assert_eq!(w.app.count("SELECT COUNT(*) FROM invoices").await, 1);

    // Each bad field is named.
    for (order, field) in [
        (json!({"product": "NOPE", "period": "MONTHLY"}), "product"),
        (
            json!({"product": "SUPPORT-PLUS", "period": "WEEKLY"}),
            "period",
        ),
        (
            json!({"product": "SUPPORT-PLUS", "period": "MONTHLY", "quantity": 0}),
            "quantity",
        ),
    ] {
        let res = api.post(ALL, &order).await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{order}");
        let e = body(res).await;
        assert_eq!(e["error"]["code"], "invalid");
        assert_eq!(e["error"]["field"], field, "{e}");
    }
    assert_eq!(subscriptions(&w.app).await, 1);

    // Another tenant's token sees none of it.
    let id = s["id"].as_str().unwrap();
    let other = other_tenant(&w).await;
    for res in [
        other.get(&format!("{ALL}/{id}")).await,
        other.get(&format!("{ALL}/{id}/usage")).await,
        other
            .post(&format!("{ALL}/{id}/cancel"), &json!({"when": "now"}))
            .await,
    ] {
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(error_code(res).await, "not_found");
    }
    let list = body(other.get(ALL).await).await;
    assert_eq!(list["items"], json!([]));
    assert_eq!(sub_status(&w.app, id).await, "PENDING_ACTIVATION");
}

async fn sub_status(app: &TestApp, id: &str) -> String {
    crate::bill_runs::status(app, id).await
}

#[tokio::test]
async fn cancel_at_period_end_undo_then_cancel_now_with_the_exact_credit() {
    let w = world().await;
    let id = active_subscription(&w, "cancel-api-0000001").await;
    let api = Api::new(&w.app, &w.owner, BILLING).await;
    let url = format!("{ALL}/{id}/cancel");
    let res = api.post(&url, &json!({"when": "period_end"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = body(res).await;
    assert_eq!(a["subscription"]["status"], "CANCEL_AT_PERIOD_END");
    assert_eq!(a["subscription"]["auto_renew"], false);
    let res = api.post(&format!("{url}/undo"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = body(res).await;
    assert_eq!(a["subscription"]["status"], "ACTIVE");
    assert_eq!(a["subscription"]["auto_renew"], true);
    // Nothing to undo now: refused in this state.
    let res = api.post(&format!("{url}/undo"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "refused");
    let res = api.post(&url, &json!({"when": "tomorrow"})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "when");

    // Half-way through the period, cancelling now credits half of the 10.00 paid.
    let (start, end, _) = period(&w.app, &id).await;
    let s = body(api.get(&format!("{ALL}/{id}")).await).await;
    assert_eq!(
        s["current_period"],
        json!({"start": rfc(start), "end": rfc(end)})
    );
    w.app
        .state
        .clock
        .advance_to(Timestamp(start.0 + (end.0 - start.0) / 2));
    let res = api.post(&url, &json!({"when": "now"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = body(res).await;
    assert_eq!(a["subscription"]["status"], "CANCELLED");
    assert!(
        a["message"].as_str().unwrap().contains("credit note"),
        "{a}"
    );
    let credit: i64 = sqlx::query_scalar(
        "SELECT c.amount_minor FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id \
         WHERE i.subscription_id = $1",
    )
    .bind(&id)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(credit, 500);
    let res = api.post(&url, &json!({"when": "now"})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn staff_suspend_and_resume_and_a_customer_token_is_refused() {
    let w = world().await;
    let id = active_subscription(&w, "suspend-api-000001").await;
    let owner = Api::new(&w.app, &w.owner, BILLING).await;
    let staff = Api::new(&w.app, &w.staff, BILLING).await;
    let url = format!("{ALL}/{id}/suspend");
    let res = owner.post(&url, &json!({"reason": "mine"})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "forbidden");
    let res = staff.post(&url, &json!({"reason": ""})).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "reason");
    assert_eq!(sub_status(&w.app, &id).await, "ACTIVE");
    let res = staff.post(&url, &json!({"reason": "unpaid bills"})).await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = body(res).await;
    assert_eq!(a["subscription"]["status"], "SUSPENDED");
    assert_eq!(a["subscription"]["suspend_reason"], "STAFF");
    let events: Vec<&str> = a["subscription"]["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["summary"].as_str().unwrap())
        .collect();
    assert!(events.contains(&"Suspended: unpaid bills"), "{events:?}");
    let res = owner.post(&format!("{ALL}/{id}/resume"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = staff
        .post(&format!("{ALL}/{id}/resume"), &json!({"reason": "paid"}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let a = body(res).await;
    assert_eq!(a["subscription"]["status"], "ACTIVE");
    assert_eq!(a["subscription"]["suspend_reason"], Value::Null);
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE target_id = '{id}' \
                 AND action IN ('subscription.suspended', 'subscription.resumed')"
            ))
            .await,
        2
    );
    // Retrying an activation that did not fail is refused in this state.
    let res = staff.post(&format!("{ALL}/{id}/retry"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn scopes_are_enforced_and_lists_page_by_cursor() {
    let w = world().await;
    let api = Api::new(&w.app, &w.owner, BILLING).await;
    let mut ids = vec![];
    for n in 1..=3 {
        let o = ordered(&api, &format!("page-{n}")).await;
        ids.push(o["subscription"]["id"].as_str().unwrap().to_string());
    }
    // READ alone reads, but changes nothing; WRITE without BILLING neither.
    let reader = Api::new(&w.app, &w.owner, &["READ"]).await;
    let writer = Api::new(&w.app, &w.owner, &["READ", "WRITE"]).await;
    assert_eq!(reader.get(ALL).await.status(), StatusCode::OK);
    for who in [&reader, &writer] {
        for (path, b) in [
            (
                ALL.to_string(),
                json!({"product": "SUPPORT-PLUS", "period": "MONTHLY"}),
            ),
            (format!("{ALL}/{}/cancel", ids[0]), json!({"when": "now"})),
        ] {
            let res = who.post(&path, &b).await;
            assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
            assert_eq!(error_code(res).await, "insufficient_scope");
        }
    }
    assert_eq!(subscriptions(&w.app).await, 3);

    // Newest first, two at a time, following next_cursor.
    let page = body(api.get(&format!("{ALL}?limit=2")).await).await;
    let got: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(got, [ids[2].as_str(), ids[1].as_str()]);
    assert!(
        page["items"][0].get("items").is_none(),
        "no detail in a list"
    );
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = body(api.get(&format!("{ALL}?limit=2&cursor={cursor}")).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0]["id"], ids[0].as_str());
    assert!(page.get("next_cursor").is_none());
    // Filters.
    let page = body(api.get(&format!("{ALL}?status=ACTIVE")).await).await;
    assert_eq!(page["items"], json!([]));
    let page = body(api.get(&format!("{ALL}?status=PENDING_ACTIVATION")).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let res = api.get(&format!("{ALL}?status=EXPLODED")).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(body(res).await["error"]["field"], "status");
    // Staff see every tenant's, and filter by tenant.
    let tenant: String = sqlx::query_scalar("SELECT tenant_id FROM subscriptions LIMIT 1")
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    let staff = Api::new(&w.app, &w.staff, &["READ"]).await;
    let page = body(staff.get(&format!("{ALL}?tenant_id={tenant}")).await).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let page = body(staff.get(&format!("{ALL}?tenant_id=nobody")).await).await;
    assert_eq!(page["items"], json!([]));
}

#[tokio::test]
async fn usage_records_are_posted_once_and_read_back_exactly() {
    let w = crate::usage::metered_world().await;
    let id = crate::usage::subscription_with(&w, "API", "usage-api-00000001").await;
    let (start, _, _) = period(&w.app, &id).await;
    let staff = Api::new(&w.app, &w.staff, BILLING).await;
    let url = format!("{ALL}/{id}/usage");
    let mut first = Value::Null;
    for (n, qty) in [(1, 7), (2, 5), (3, 11)] {
        let res = staff
            .post(
                &url,
                &json!({"metric": "requests", "quantity": qty,
                        "timestamp": rfc(start.plus_secs(n)), "client_txn_id": format!("t-{n}")}),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "record {n}");
        let r = body(res).await;
        assert_eq!(r["created"], true);
        assert_eq!(r["record"]["quantity"], qty);
        assert_eq!(ms(r["record"]["at"].as_str().unwrap()), start.0 + n * 1000);
        if n == 1 {
            first = r;
        }
    }
    // The same client transaction id: the first record, nothing added.
    let res = staff
        .post(
            &url,
            &json!({"metric": "requests", "quantity": 99, "client_txn_id": "t-1"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let again = body(res).await;
    assert_eq!(again["created"], false);
    assert_eq!(again["record"], first["record"]);
    // A metric no item prices: refused beside the field; a customer may not record.
    let res = staff
        .post(
            &url,
            &json!({"metric": "bogus", "quantity": 1, "client_txn_id": "t-9"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "metric");
    let owner = Api::new(&w.app, &w.owner, BILLING).await;
    let res = owner
        .post(
            &url,
            &json!({"metric": "requests", "quantity": 1, "client_txn_id": "t-8"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Read back (the customer reads too): the sum, and the records newest first by page.
    let page = body(owner.get(&format!("{url}?limit=2")).await).await;
    assert_eq!(
        page["metrics"],
        json!([{"metric": "requests", "product_name": "Metered API", "units": 23, "records": 3}])
    );
    let qty = |p: &Value| -> Vec<i64> {
        p["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["quantity"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(qty(&page), [11, 5]);
    let cursor = page["next_cursor"].as_str().unwrap();
    let page = body(owner.get(&format!("{url}?limit=2&cursor={cursor}")).await).await;
    assert_eq!(qty(&page), [7]);
    assert!(page.get("next_cursor").is_none());
    let s = body(owner.get(&format!("{ALL}/{id}")).await).await;
    assert_eq!(s["usage"][0]["units"], 23);
}

#[tokio::test]
async fn a_plan_change_answers_its_proration_and_invoices_exactly_that() {
    use crate::plan_changes::{PRO, active_pro, share, world};
    let w = world().await;
    let sub = active_pro(&w, "apishop").await;
    let (start, end, _) = period(&w.app, &sub).await;
    w.app.state.clock.advance_to(start.plus_secs(10 * 86_400));
    let api = Api::new(&w.app, &w.owner, BILLING).await;
    let url = format!("{ALL}/{sub}/plan");
    let res = api
        .post(&url, &json!({"plan": "CLOUDPOD-BUSINESS", "preview": true}))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let p = body(res).await;
    assert_eq!(p["message"], Value::Null);
    let preview = &p["preview"];
    assert_eq!(preview["kind"], "UPGRADE");
    let at = preview["at"].as_str().unwrap().to_string();
    let secs = |t: i64| t.div_euclid(1000);
    let length = secs(end.0) - secs(start.0);
    let left = secs(end.0) - secs(ms(&at));
    let credit = share(1999, left, length);
    let charge = share(3999, left, length);
    assert_eq!(
        preview["credit"],
        json!({"amount": credit, "currency": "EUR"})
    );
    assert_eq!(
        preview["charge"],
        json!({"amount": charge, "currency": "EUR"})
    );
    assert_eq!(
        preview["new_price"],
        json!({"amount": 3999, "currency": "EUR"})
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invoices WHERE billing_reason = 'PLAN_CHANGE'")
            .await,
        0,
        "a preview writes nothing"
    );
    // Confirmed at the previewed instant: exactly the previewed difference is invoiced.
    let res = api
        .post(&url, &json!({"plan": "CLOUDPOD-BUSINESS", "at": at}))
        .await;
    let status = res.status();
    let done = body(res).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["preview"]["total"], preview["total"]);
    assert!(
        done["message"].as_str().unwrap().contains("Invoice"),
        "{done}"
    );
    let total: i64 = sqlx::query_scalar(
        "SELECT total_minor FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'PLAN_CHANGE'",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(total, charge - credit);
    assert_eq!(preview["total"]["amount"], total);
    let s = &done["subscription"];
    assert_eq!(s["product"]["id"], PRO, "it switches when paid");
    assert!(
        s["pending_change"]
            .as_str()
            .unwrap()
            .contains("An upgrade to CloudPod Business waits for invoice"),
        "{s}"
    );
    assert!(
        s["invoices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["total"]["amount"] == total)
    );
    // One change at a time: refused beside the plan.
    let res = api
        .post(&url, &json!({"plan": "CLOUDPOD-BUSINESS", "preview": true}))
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body(res).await["error"]["field"], "plan");
}
