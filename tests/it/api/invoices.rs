//! `/api/v1/billing/invoices`: the whole journey in minor units, scopes and roles, tenant
//! isolation, field errors, `If-Match`, idempotent payments and cursor paging.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{Api, error_code, json as body};
use crate::helpers::{TestApp, TestClient};

const BASE: &str = "/api/v1/billing/invoices";

/// Staff owner, customer tenant `acme` (EUR, eu-central) with a 19 % VAT rule, and a staff
/// token with READ + WRITE + BILLING.
struct World {
    app: TestApp,
    staff: TestClient,
    tenant: String,
    api: Api,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    let res = staff
        .post(
            "/billing/tax-rules",
            &[("name", "VAT"), ("rate", "19"), ("region", "eu-central")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let api = Api::new(&app, &staff, &["READ", "WRITE", "BILLING"]).await;
    World {
        app,
        staff,
        tenant,
        api,
    }
}

/// Asserts the status and returns the body.
async fn expect(res: reqwest::Response, status: StatusCode) -> Value {
    let got = res.status();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn eur(amount: i64) -> Value {
    json!({"amount": amount, "currency": "EUR"})
}

async fn new_draft(api: &Api, tenant: &str) -> String {
    let inv = expect(
        api.post(BASE, &json!({"tenant_id": tenant})).await,
        StatusCode::CREATED,
    )
    .await;
    inv["id"].as_str().unwrap().to_string()
}

/// A draft with one line of 2 × EUR 50.00, issued: total EUR 119.00 with 19 % VAT.
async fn issued(api: &Api, tenant: &str) -> Value {
    let id = new_draft(api, tenant).await;
    let line = json!({"kind": "ITEM", "description": "Hosting", "quantity": 2, "unit_price": 5000});
    expect(
        api.post(&format!("{BASE}/{id}/lines"), &line).await,
        StatusCode::CREATED,
    )
    .await;
    expect(
        api.post(&format!("{BASE}/{id}/issue"), &json!({})).await,
        StatusCode::OK,
    )
    .await
}

async fn patch(w: &World, id: &str, tag: Option<&str>, notes: &str) -> reqwest::Response {
    let mut req = w
        .api
        .http
        .patch(format!("{}{BASE}/{id}", w.app.base))
        .bearer_auth(&w.api.token)
        .json(&json!({"notes": notes}));
    if let Some(t) = tag {
        req = req.header("If-Match", t);
    }
    req.send().await.unwrap()
}

async fn count(app: &TestApp, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn draft_lines_notes_issue_pay_refund_and_pdf_in_minor_units() {
    let w = world().await;
    let api = &w.api;
    let res = api
        .post_keyed(BASE, &json!({"tenant_id": w.tenant}), Some("draft-1"))
        .await;
    let draft = expect(res, StatusCode::CREATED).await;
    assert_eq!(draft["status"], "DRAFT");
    assert_eq!(draft["currency"], "EUR");
    assert_eq!(draft["number"], Value::Null);
    assert_eq!(draft["lines"], json!([]));
    let id = draft["id"].as_str().unwrap().to_string();
    let lines = format!("{BASE}/{id}/lines");

    let line = json!({"kind": "ITEM", "description": "Hosting", "quantity": 2, "unit_price": 5000});
    let inv = expect(api.post(&lines, &line).await, StatusCode::CREATED).await;
    assert_eq!(inv["lines"][0]["amount"], eur(10000));
    assert_eq!(inv["lines"][0]["unit_price"], eur(5000));
    let setup =
        json!({"kind": "ITEM", "description": "Setup", "quantity": "1.5", "unit_price": 1000});
    let inv = expect(api.post(&lines, &setup).await, StatusCode::CREATED).await;
    assert_eq!(inv["lines"][1]["quantity"], "1.5");
    assert_eq!(inv["lines"][1]["amount"], eur(1500));
    let p = &inv["preview"];
    assert_eq!(
        (&p["subtotal"], &p["tax"], &p["total"]),
        (&eur(11500), &eur(2185), &eur(13685))
    );
    assert_eq!(p["tax_rate"], "19");
    // Removing a line.
    let setup_id = inv["lines"][1]["id"].as_str().unwrap();
    let res = api
        .send(Method::DELETE, &format!("{lines}/{setup_id}"))
        .await;
    let inv = expect(res, StatusCode::OK).await;
    assert_eq!(inv["lines"].as_array().unwrap().len(), 1);
    assert_eq!(inv["preview"]["total"], eur(11900));

    // Notes with If-Match: the current version goes through, a stale one is 412.
    let res = api.get(&format!("{BASE}/{id}")).await;
    let etag = res.headers()["etag"].to_str().unwrap().to_string();
    let res = patch(&w, &id, Some(&etag), "Thank you").await;
    let new_tag = res.headers()["etag"].to_str().unwrap().to_string();
    assert_ne!(new_tag, etag);
    assert_eq!(expect(res, StatusCode::OK).await["notes"], "Thank you");
    let e = expect(
        patch(&w, &id, Some(&etag), "Lost update").await,
        StatusCode::PRECONDITION_FAILED,
    )
    .await;
    assert_eq!(e["error"]["code"], "stale");
    assert_eq!(e["error"]["field"], "If-Match");
    let inv = body(api.get(&format!("{BASE}/{id}")).await).await;
    assert_eq!(inv["notes"], "Thank you");

    // Issue: number, frozen totals, tax line.
    let inv = expect(
        api.post(&format!("{BASE}/{id}/issue"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inv["status"], "ISSUED");
    assert!(inv["number"].as_str().unwrap().starts_with("INV-"), "{inv}");
    assert_eq!(
        (&inv["subtotal"], &inv["tax"], &inv["total"], &inv["due"]),
        (&eur(10000), &eur(1900), &eur(11900), &eur(11900))
    );
    assert_eq!(inv["buyer"]["name"], "Tenant acme");
    assert_eq!(inv.get("preview"), None);
    // An issued invoice takes no more lines: 409.
    let res = api.post(&lines, &line).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(error_code(res).await, "refused");

    // A payment, replayed with the same key: one payment.
    let pay = json!({"amount": 5000, "method": "Bank transfer", "reference": "T-1"});
    let payments = format!("{BASE}/{id}/payments");
    let first = expect(
        api.post_keyed(&payments, &pay, Some("pay-1")).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(first["amount"], eur(5000));
    assert_eq!(first["status"], "SUCCESS");
    assert_eq!(first["refundable"], eur(5000));
    let res = api.post_keyed(&payments, &pay, Some("pay-1")).await;
    assert_eq!(res.headers()["idempotent-replayed"], "true");
    let again = expect(res, StatusCode::CREATED).await;
    assert_eq!(again["id"], first["id"]);
    let n = count(
        &w.app,
        "SELECT COUNT(*) FROM payments WHERE invoice_id = $1",
        &id,
    )
    .await;
    assert_eq!(n, 1);
    let inv = body(api.get(&format!("{BASE}/{id}")).await).await;
    assert_eq!((&inv["paid"], &inv["due"]), (&eur(5000), &eur(6900)));
    // The rest pays it.
    let rest = json!({"amount": 6900, "method": "Card", "paid_on": "2026-11-20"});
    let second = expect(api.post(&payments, &rest).await, StatusCode::CREATED).await;
    assert_eq!(second["paid_on"], "2026-11-20");
    let inv = body(api.get(&format!("{BASE}/{id}")).await).await;
    assert_eq!(inv["status"], "PAID");
    assert_eq!(inv["due"], eur(0));

    // A refund of part of the first payment makes EUR 20.00 due again.
    let refund = json!({"payment_id": first["id"], "amount": 2000, "reference": "R-1"});
    let r = expect(
        api.post(&format!("{BASE}/{id}/refunds"), &refund).await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!((&r["kind"], &r["amount"]), (&json!("REFUND"), &eur(2000)));
    assert_eq!(r["refund_of"], first["id"]);
    let inv = body(api.get(&format!("{BASE}/{id}")).await).await;
    assert_eq!(inv["status"], "ISSUED");
    assert_eq!(
        (&inv["paid"], &inv["refunded"], &inv["due"]),
        (&eur(11900), &eur(2000), &eur(2000))
    );
    assert_eq!(inv["payments"].as_array().unwrap().len(), 3);
    assert_eq!(inv["payments"][0]["refundable"], eur(3000));
    // More than is left of the payment: a field error.
    let too_much = json!({"payment_id": first["id"], "amount": 3001});
    let e = expect(
        api.post(&format!("{BASE}/{id}/refunds"), &too_much).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["field"], "amount");

    // The PDF.
    let res = api.get(&format!("{BASE}/{id}/pdf")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let bytes = res.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"%PDF"),
        "{:?}",
        &bytes[..8.min(bytes.len())]
    );
}

#[tokio::test]
async fn credit_notes_void_delete_and_field_errors() {
    let w = world().await;
    let api = &w.api;
    let inv = issued(api, &w.tenant).await;
    let id = inv["id"].as_str().unwrap();
    // Field errors keep their field.
    let e = expect(
        api.post(
            &format!("{BASE}/{id}/credit-notes"),
            &json!({"reason": "x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["code"], "invalid");
    assert_eq!(e["error"]["field"], "amount");
    let e = expect(
        api.post(
            &format!("{BASE}/{id}/payments"),
            &json!({"amount": 100, "method": "Barter"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["field"], "method");
    let e = expect(
        api.post(BASE, &json!({"tenant_id": w.tenant, "currency": "XYZ"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(e["error"]["field"], "currency");

    // A credit note of EUR 19.00.
    let note = expect(
        api.post(
            &format!("{BASE}/{id}/credit-notes"),
            &json!({"amount": 1900, "reason": "Goodwill"}),
        )
        .await,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(note["amount"], eur(1900));
    assert_eq!(note["reason"], "Goodwill");
    let inv = body(api.get(&format!("{BASE}/{id}")).await).await;
    assert_eq!((&inv["credited"], &inv["due"]), (&eur(1900), &eur(10000)));
    assert_eq!(inv["credit_notes"][0]["number"], note["number"]);

    // Void: nothing was paid.
    let inv = expect(
        api.post(&format!("{BASE}/{id}/void"), &json!({})).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inv["status"], "VOID");
    assert_eq!(inv["due"], eur(0));
    let res = api.post(&format!("{BASE}/{id}/void"), &json!({})).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // A draft is deleted; an issued invoice is not.
    let draft = new_draft(api, &w.tenant).await;
    let res = api.send(Method::DELETE, &format!("{BASE}/{draft}")).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = api.get(&format!("{BASE}/{draft}")).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = api.send(Method::DELETE, &format!("{BASE}/{id}")).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn scopes_roles_and_tenants_are_enforced() {
    let w = world().await;
    let other = w.app.create_tenant(&w.staff, "globex").await;
    let mine = issued(&w.api, &w.tenant).await;
    let mine = mine["id"].as_str().unwrap();
    let theirs = issued(&w.api, &other).await;
    let theirs = theirs["id"].as_str().unwrap();
    let my_draft = new_draft(&w.api, &w.tenant).await;

    // A READ-only token reads but cannot write; WRITE without BILLING cannot either.
    let read_only = Api::new(&w.app, &w.staff, &["READ"]).await;
    assert_eq!(read_only.get(BASE).await.status(), StatusCode::OK);
    let res = read_only.post(BASE, &json!({"tenant_id": w.tenant})).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "insufficient_scope");
    let no_billing = Api::new(&w.app, &w.staff, &["READ", "WRITE", "PROVISIONING"]).await;
    let res = no_billing
        .post(
            &format!("{BASE}/{mine}/payments"),
            &json!({"amount": 100, "method": "Cash"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "insufficient_scope");
    let paid = count(
        &w.app,
        "SELECT COUNT(*) FROM payments WHERE invoice_id = $1",
        mine,
    )
    .await;
    assert_eq!(paid, 0);

    // A customer's owner sees their own tenant's issued invoices only.
    w.app
        .create_user(&w.staff, &w.tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = w.app.signed_in("owner@acme.test").await;
    let customer = Api::new(&w.app, &owner, &["READ", "WRITE", "BILLING"]).await;
    let inv = expect(
        customer.get(&format!("{BASE}/{mine}")).await,
        StatusCode::OK,
    )
    .await;
    assert_eq!(inv["total"], eur(11900));
    for hidden in [theirs, my_draft.as_str()] {
        let res = customer.get(&format!("{BASE}/{hidden}")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "{hidden}");
        assert_eq!(error_code(res).await, "not_found");
        let res = customer.get(&format!("{BASE}/{hidden}/pdf")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
    }
    let list = body(customer.get(BASE).await).await;
    let ids: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [mine]);
    // Even asking for the other tenant by id shows nothing of it.
    let list = body(customer.get(&format!("{BASE}?tenant_id={other}")).await).await;
    assert_eq!(list["items"], json!([]));
    // The role decides, whatever the token's scopes: a customer records no payment.
    let res = customer
        .post(
            &format!("{BASE}/{mine}/payments"),
            &json!({"amount": 100, "method": "Cash"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "forbidden");
    // Another tenant's invoice does not exist for them, for a change either.
    let res = customer
        .post(
            &format!("{BASE}/{theirs}/payments"),
            &json!({"amount": 100, "method": "Cash"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

/// Every page of `query` from `cursor` (the first page when `None`), as ids.
async fn walk(api: &Api, query: &str, cursor: Option<&str>) -> Vec<String> {
    let mut ids = vec![];
    let mut path = match cursor {
        Some(c) => format!("{query}&cursor={c}"),
        None => query.to_string(),
    };
    loop {
        let page = expect(api.get(&path).await, StatusCode::OK).await;
        let items = page["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        ids.extend(items.iter().map(|i| i["id"].as_str().unwrap().to_string()));
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("{query}&cursor={c}"),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn the_list_pages_by_cursor_and_filters_like_the_pages() {
    let w = world().await;
    let api = &w.api;
    let other = w.app.create_tenant(&w.staff, "globex").await;
    let mut drafts = vec![];
    for _ in 0..5 {
        drafts.push(new_draft(api, &w.tenant).await);
    }
    let issued_inv = issued(api, &other).await;
    let number = issued_inv["number"].as_str().unwrap().to_string();

    // Newest first, as the store orders them; paging gives the same rows once each.
    let expected: Vec<String> = sqlx::query_scalar(
        "SELECT id FROM invoices WHERE tenant_id = $1 ORDER BY created_at DESC, id DESC",
    )
    .bind(&w.tenant)
    .fetch_all(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(expected.len(), 5);
    let query = format!("{BASE}?limit=2&status=DRAFT&tenant_id={}", w.tenant);
    let got = walk(api, &query, None).await;
    assert_eq!(got, expected);
    let mut sorted = got.clone();
    sorted.sort();
    drafts.sort();
    assert_eq!(sorted, drafts);

    // A row inserted while paging does not shift the pages.
    let first = body(api.get(&query).await).await;
    let cursor = first["next_cursor"].as_str().unwrap().to_string();
    new_draft(api, &w.tenant).await;
    let rest = walk(api, &query, Some(&cursor)).await;
    assert_eq!(rest, expected[2..]);

    // Filters: status, number prefix, issue dates.
    let list = body(api.get(&format!("{BASE}?status=ISSUED")).await).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert_eq!(list["items"][0]["number"], number.as_str());
    let prefix = &number[..number.len() - 2];
    let list = body(api.get(&format!("{BASE}?number={prefix}")).await).await;
    assert_eq!(list["items"][0]["id"], issued_inv["id"]);
    let list = body(api.get(&format!("{BASE}?number=NOPE-")).await).await;
    assert_eq!(list["items"], json!([]));
    let day = issued_inv["issue_date"].as_str().unwrap();
    let list = body(
        api.get(&format!("{BASE}?from={day}&until={day}&status=ISSUED"))
            .await,
    )
    .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = body(
        api.get(&format!("{BASE}?until=2000-01-01&status=ISSUED"))
            .await,
    )
    .await;
    assert_eq!(list["items"], json!([]));

    // Malformed parameters: 400 with the parameter.
    for (q, field) in [
        ("status=EXPLODED", "status"),
        ("from=yesterday", "from"),
        ("limit=0", "limit"),
        ("cursor=nonsense", "cursor"),
    ] {
        let e = expect(
            api.get(&format!("{BASE}?{q}")).await,
            StatusCode::BAD_REQUEST,
        )
        .await;
        assert_eq!(e["error"]["field"], field, "{q}");
    }
}
