//! Usage: recorded once per client transaction id (also concurrently), refused with the reason
//! (on the page and as JSON), priced at the period's end with the catalog's tiers or unit
//! price on one USAGE invoice however often the bill run runs, and billed on the final invoice
//! when the subscription is cancelled.

use mpanel::db::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::bill_runs::{World, bill_run, open_invoices, pay, period, status, world};
use crate::helpers::*;

/// An ADDON product priced by usage of `metric`: `tiers` (up_to, unit, flat) in EUR for a
/// USAGE_TIERED one, else a monthly EUR unit price.
async fn usage_addon(
    w: &World,
    code: &str,
    metric: &str,
    mode: &str,
    tiers: &[(&str, &str, &str)],
    unit_price: &str,
) {
    let model = if tiers.is_empty() {
        "USAGE_BASED"
    } else {
        "USAGE_TIERED"
    };
    let res = w
        .staff
        .post(
            "/billing/products",
            &[
                ("code", code),
                ("name", &format!("Metered {code}")),
                ("description", "Billed by usage"),
                ("category", "ADDON"),
                ("billing_model", model),
                ("status", "ACTIVE"),
                ("visibility", "PUBLIC"),
                ("tax_category", "STANDARD"),
                ("unit_name", metric),
                ("tier_mode", mode),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "create {code}");
    let id = location(&res)
        .trim_start_matches("/billing/products/")
        .to_string();
    for (up_to, unit, flat) in tiers {
        let res = w
            .staff
            .post(
                &format!("/billing/products/{id}/tiers"),
                &[
                    ("currency", "EUR"),
                    ("up_to", up_to),
                    ("unit_price", unit),
                    ("flat_fee", flat),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "tier {up_to}");
    }
    if tiers.is_empty() {
        let res = w
            .staff
            .post(
                &format!("/billing/products/{id}/prices"),
                &[
                    ("currency", "EUR"),
                    ("period", "MONTHLY"),
                    ("amount", unit_price),
                    ("setup_fee", ""),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "price {code}");
    }
}

/// 1–100 GB at 0.10, 101–1000 at 0.05 (+1.00 when reached), above at 0.01.
const TIERS: &[(&str, &str, &str)] = &[
    ("100", "0.10", ""),
    ("1000", "0.05", "1.00"),
    ("", "0.01", ""),
];

/// The world with three metered add-ons: BW-GRAD and BW-VOL (GB, tiered) and API (requests,
/// 0.02 each).
pub(crate) async fn metered_world() -> World {
    let w = world().await;
    usage_addon(&w, "BW-GRAD", "GB", "GRADUATED", TIERS, "").await;
    usage_addon(&w, "BW-VOL", "GB", "VOLUME", TIERS, "").await;
    usage_addon(&w, "API", "requests", "GRADUATED", &[], "0.02").await;
    w
}

/// SUPPORT-PLUS with `addon`, ordered, paid and active. The first invoice bills the plan only.
pub(crate) async fn subscription_with(w: &World, addon: &str, key: &str) -> String {
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "SUPPORT-PLUS"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("addon", addon),
                ("idempotency_key", key),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    let id = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let invoices = open_invoices(&w.app, &id).await;
    assert_eq!(invoices.len(), 1);
    let lines = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM invoice_lines WHERE invoice_id = '{}' AND kind = 'ITEM'",
            invoices[0].0
        ))
        .await;
    assert_eq!(lines, 1, "no flat price for the usage add-on");
    pay(w, &invoices[0].0, &invoices[0].1).await;
    mpanel::subscriptions::service::activate(&w.app.state.db, "manual", &id)
        .await
        .unwrap();
    assert_eq!(status(&w.app, &id).await, "ACTIVE");
    id
}

async fn post_json(c: &TestClient, path: &str, body: &Value) -> reqwest::Response {
    c.http
        .post(c.url(path))
        .header("Origin", &c.base)
        .header("Sec-Fetch-Site", "same-origin")
        .json(body)
        .send()
        .await
        .unwrap()
}

fn rfc3339(t: Timestamp) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
        .unwrap()
        .format(&Rfc3339)
        .unwrap()
}

async fn record(w: &World, sub: &str, metric: &str, qty: i64, txn: &str) -> Value {
    let res = post_json(
        &w.staff,
        &format!("/billing/subscriptions/{sub}/usage"),
        &json!({"metric": metric, "quantity": qty, "client_txn_id": txn}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::CREATED, "record {txn}");
    res.json().await.unwrap()
}

async fn records(app: &TestApp, sub: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM usage_records WHERE subscription_id = '{sub}'"
    ))
    .await
}

/// The subscription's USAGE invoices: (id, period start, period end, source, item amounts).
async fn usage_invoices(
    app: &TestApp,
    sub: &str,
) -> Vec<(String, Timestamp, Timestamp, String, Vec<i64>)> {
    let rows: Vec<(String, Timestamp, Timestamp, String)> = sqlx::query_as(
        "SELECT id, period_start, period_end, source FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'USAGE' ORDER BY created_at, id",
    )
    .bind(sub)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    let mut out = Vec::new();
    for (id, a, b, source) in rows {
        let amounts: Vec<i64> = sqlx::query_scalar(
            "SELECT amount_minor FROM invoice_lines WHERE invoice_id = $1 AND kind = 'ITEM' \
             ORDER BY position, id",
        )
        .bind(&id)
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
        out.push((id, a, b, source, amounts));
    }
    out
}

#[tokio::test]
async fn a_client_transaction_id_records_once_in_sequence_and_concurrently() {
    let w = metered_world().await;
    let sub = subscription_with(&w, "API", "usage-dedup-0001-abcdef").await;
    let path = format!("/billing/subscriptions/{sub}/usage");
    let body = json!({"metric": "requests", "quantity": "250", "client_txn_id": "txn-1"});
    let res = post_json(&w.staff, &path, &body).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    assert_eq!(first["quantity"], 250);
    assert_eq!(first["created"], true);
    // The same id again, even with another quantity: the first record, nothing added.
    let again = json!({"metric": "requests", "quantity": 999, "client_txn_id": "txn-1"});
    let res = post_json(&w.staff, &path, &again).await;
    assert_eq!(res.status(), StatusCode::OK);
    let repeat: Value = res.json().await.unwrap();
    assert_eq!(repeat["id"], first["id"]);
    assert_eq!(
        (repeat["quantity"].clone(), repeat["created"].clone()),
        (json!(250), json!(false))
    );
    assert_eq!(records(&w.app, &sub).await, 1);
    // The form: a new id records, its repeat (a double submit) does not.
    let form = [
        ("metric", "requests"),
        ("quantity", "5"),
        ("timestamp", ""),
        ("client_txn_id", "form-1"),
    ];
    let res = w.staff.post(&path, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = w.staff.post(&path, &form).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let page = w.staff.get(&location(&res)).await.text().await.unwrap();
    assert!(page.contains("Already recorded"), "{page}");
    assert_eq!(records(&w.app, &sub).await, 2);

    // Twelve requests at once with one id: one record, one 201, the rest answer it with 200.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let http = w.staff.http.clone();
        let url = w.staff.url(&path);
        let origin = w.staff.base.clone();
        tasks.push(tokio::spawn(async move {
            let res = http
                .post(url)
                .header("Origin", origin)
                .header("Sec-Fetch-Site", "same-origin")
                .json(&json!({"metric": "requests", "quantity": 10 + i, "client_txn_id": "race"}))
                .send()
                .await
                .unwrap();
            let status = res.status();
            let body: Value = res.json().await.unwrap();
            (status, body["id"].as_str().unwrap().to_string())
        }));
    }
    let mut created = 0;
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, id) = t.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected {other}"),
        }
        ids.insert(id);
    }
    assert_eq!((created, ids.len()), (1, 1));
    assert_eq!(records(&w.app, &sub).await, 3);
    // The page shows the open period's usage so far.
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    let usage = between(&page, "Usage this period", "</table>").expect("usage section");
    // 250 + 5 + whichever of the racing quantities won
    let race_qty: i64 = w
        .app
        .count("SELECT quantity FROM usage_records WHERE client_txn_id = 'race'")
        .await;
    assert!(usage.contains(&format!(">{}<", 255 + race_qty)), "{usage}");
    assert!(
        !page.contains("Record usage"),
        "customers do not record usage"
    );
}

#[tokio::test]
async fn bad_usage_is_refused_with_the_reason_on_the_page_and_as_json() {
    let w = metered_world().await;
    let sub = subscription_with(&w, "API", "usage-refuse-001-abcdef").await;
    let (start, _, _) = period(&w.app, &sub).await;
    let path = format!("/billing/subscriptions/{sub}/usage");
    let now = w.app.state.clock.now();
    let before = rfc3339(Timestamp(start.0 - 1_000));
    let ahead = rfc3339(now.plus_secs(600));
    let cases: Vec<(&str, &str, &str, &str, &str)> = vec![
        ("requests", "0", "", "quantity", "at least 1"),
        ("requests", "-5", "", "quantity", "at least 1"),
        ("requests", "1000000000001", "", "quantity", "not plausible"),
        ("requests", "2.5", "", "quantity", "whole number"),
        ("GB", "5", "", "metric", "prices requests"),
        ("requests", "5", &before, "timestamp", "already invoiced"),
        ("requests", "5", &ahead, "timestamp", "in the future"),
        ("requests", "5", "soon", "timestamp", "RFC 3339"),
    ];
    for (i, (metric, qty, at, field, why)) in cases.iter().enumerate() {
        let txn = format!("bad-{i}");
        let res = post_json(
            &w.staff,
            &path,
            &json!({"metric": metric, "quantity": qty, "timestamp": at, "client_txn_id": txn}),
        )
        .await;
        assert_eq!(
            res.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field} {qty} {at}"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid", "{body}");
        assert_eq!(body["error"]["field"], *field, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(why),
            "{why}: {body}"
        );
        // The form: the page again, the reason beside the field, the values kept.
        let res = w
            .staff
            .post(
                &path,
                &[
                    ("metric", metric),
                    ("quantity", qty),
                    ("timestamp", at),
                    ("client_txn_id", &txn),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = res.text().await.unwrap();
        let error = between(&page, &format!("id=\"e-{field}\""), "</small>")
            .unwrap_or_else(|| panic!("no error beside {field}: {page}"));
        assert!(error.contains(why), "{error}");
        assert!(page.contains(&format!("value=\"{txn}\"")), "values kept");
    }
    // A JSON quantity as a number is read as one.
    let res = post_json(
        &w.staff,
        &path,
        &json!({"metric": "requests", "quantity": -3, "client_txn_id": "neg"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        records(&w.app, &sub).await,
        0,
        "nothing refused was recorded"
    );

    // Customers do not record usage; another tenant does not see the subscription.
    let res = post_json(
        &w.owner,
        &path,
        &json!({"metric": "requests", "quantity": 1, "client_txn_id": "c-1"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let other = w.app.create_tenant(&w.staff, "other").await;
    w.app
        .create_user(&w.staff, &other, "owner@other.test", "OWNER")
        .await;
    let stranger = w.app.signed_in("owner@other.test").await;
    let res = post_json(
        &stranger,
        &path,
        &json!({"metric": "requests", "quantity": 1, "client_txn_id": "s-1"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(records(&w.app, &sub).await, 0);

    // A subscription that is not live records nothing.
    let res = w
        .owner
        .post(
            &format!("/billing/subscriptions/{sub}/cancel"),
            &[("when", "now"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = post_json(
        &w.staff,
        &path,
        &json!({"metric": "requests", "quantity": 1, "client_txn_id": "late"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "refused");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cancelled"),
        "{body}"
    );
    assert_eq!(records(&w.app, &sub).await, 0);
}

#[tokio::test]
async fn usage_is_invoiced_at_period_end_with_tiers_once_over_two_runs() {
    let w = metered_world().await;
    let grad = subscription_with(&w, "BW-GRAD", "usage-grad-0001-abcdef").await;
    let vol = subscription_with(&w, "BW-VOL", "usage-vol-00001-abcdef").await;
    let api = subscription_with(&w, "API", "usage-api-00001-abcdef").await;
    let quiet = subscription_with(&w, "API", "usage-quiet-001-abcdef").await;
    // Graduated: 100 GB is all tier 1; the 101st reaches tier 2 and its flat fee.
    record(&w, &grad, "GB", 60, "g-1").await;
    record(&w, &grad, "gb", 40, "g-2").await;
    record(&w, &grad, "GB", 1, "g-3").await;
    // Volume: 1001 GB all at the open tier's price.
    record(&w, &vol, "GB", 1001, "v-1").await;
    record(&w, &api, "requests", 250, "a-1").await;
    let mut periods = std::collections::HashMap::new();
    for sub in [&grad, &vol, &api] {
        periods.insert(sub.clone(), period(&w.app, sub).await);
    }
    // each activated a moment after the one before: the last one's period ends last
    let (_, end, _) = period(&w.app, &quiet).await;

    // The renewal bills the plan only: no flat price for the metered add-on.
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (4, 0), "{c:?}");
    for sub in [&grad, &vol, &api, &quiet] {
        let renewal: Vec<i64> = sqlx::query_scalar(
            "SELECT l.amount_minor FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
             WHERE i.subscription_id = $1 AND i.billing_reason = 'RENEWAL' AND l.kind = 'ITEM'",
        )
        .bind(sub)
        .fetch_all(&w.app.state.db.pool)
        .await
        .unwrap();
        assert_eq!(renewal, vec![1000]);
        for (inv, due) in open_invoices(&w.app, sub).await {
            pay(&w, &inv, &due).await;
        }
    }
    // Usage late in the period still belongs to it; nothing is invoiced before it ends.
    record(&w, &api, "requests", 50, "a-2").await;
    assert!(usage_invoices(&w.app, &api).await.is_empty());

    w.app.state.clock.advance_to(end.plus_secs(60));
    // Recorded after the end but before the run rolls the period: the next period's usage.
    record(&w, &api, "requests", 7, "a-next").await;
    let c = bill_run(&w.app).await;
    assert_eq!((c.periods_rolled, c.failed), (4, 0), "{c:?}");
    let c = bill_run(&w.app).await;
    assert_eq!((c.periods_rolled, c.issued, c.failed), (0, 0, 0), "{c:?}");

    let expect = [(&grad, 1000 + 5 + 100), (&vol, 1001), (&api, 300 * 2)];
    for (sub, amount) in expect {
        let invs = usage_invoices(&w.app, sub).await;
        assert_eq!(invs.len(), 1, "one usage invoice over two runs");
        let (id, a, b, source, amounts) = &invs[0];
        let (start, end, _) = periods[sub.as_str()];
        assert_eq!((*a, *b), (start, end), "the ended period");
        assert_eq!(source, "USAGE");
        assert_eq!(amounts, &vec![amount]);
        let unbilled = w
            .app
            .count(&format!(
                "SELECT COUNT(*) FROM usage_records WHERE subscription_id = '{sub}' \
                 AND invoice_id IS NULL"
            ))
            .await;
        let billed = w
            .app
            .count(&format!(
                "SELECT COUNT(*) FROM usage_records WHERE invoice_id = '{id}'"
            ))
            .await;
        let all = records(&w.app, sub).await;
        assert_eq!(billed + unbilled, all);
        assert_eq!(
            unbilled,
            i64::from(*sub == api),
            "only the next period's record waits"
        );
    }
    assert!(
        usage_invoices(&w.app, &quiet).await.is_empty(),
        "nothing used, no invoice"
    );
    // The new period shows only its own usage so far.
    let page = w
        .staff
        .get(&format!("/billing/subscriptions/{api}"))
        .await
        .text()
        .await
        .unwrap();
    let usage = between(&page, "Usage this period", "</table>").unwrap();
    assert!(usage.contains(">7<"), "{usage}");
    assert!(page.contains("Usage invoice"), "timeline");
    // A record in the invoiced period is refused now.
    let res = post_json(
        &w.staff,
        &format!("/billing/subscriptions/{api}/usage"),
        &json!({"metric": "requests", "quantity": 1, "timestamp": rfc3339(end.plus_secs(-60)), "client_txn_id": "old"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn cancelling_bills_the_usage_on_the_final_invoice() {
    let w = metered_world().await;
    // Cancel now: at once.
    let now_sub = subscription_with(&w, "API", "usage-cnow-0001-abcdef").await;
    record(&w, &now_sub, "requests", 250, "n-1").await;
    let (start, end, _) = period(&w.app, &now_sub).await;
    let res = w
        .owner
        .post(
            &format!("/billing/subscriptions/{now_sub}/cancel"),
            &[("when", "now"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(status(&w.app, &now_sub).await, "CANCELLED");
    let invs = usage_invoices(&w.app, &now_sub).await;
    assert_eq!(invs.len(), 1);
    assert_eq!(invs[0].1, start);
    assert!(
        invs[0].2 > start && invs[0].2 < end,
        "up to the cancellation"
    );
    assert_eq!(
        (invs[0].3.as_str(), invs[0].4.clone()),
        ("USAGE", vec![500])
    );
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM usage_records WHERE subscription_id = '{now_sub}' \
                 AND invoice_id IS NULL"
            ))
            .await,
        0
    );

    // Cancel at period end: usage until the end, billed when it ends.
    let end_sub = subscription_with(&w, "BW-GRAD", "usage-cend-0001-abcdef").await;
    let res = w
        .owner
        .post(
            &format!("/billing/subscriptions/{end_sub}/cancel"),
            &[("when", "period_end")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (start, end, _) = period(&w.app, &end_sub).await;
    record(&w, &end_sub, "GB", 100, "e-1").await;
    w.app.state.clock.advance_to(end.plus_secs(-120));
    record(&w, &end_sub, "GB", 50, "e-2").await;
    let c = bill_run(&w.app).await;
    assert_eq!(
        (c.issued, c.ended),
        (0, 0),
        "no renewal, not ended yet: {c:?}"
    );
    assert!(usage_invoices(&w.app, &end_sub).await.is_empty());
    w.app.state.clock.advance_to(end.plus_secs(1));
    let c = bill_run(&w.app).await;
    assert_eq!((c.ended, c.failed), (1, 0), "{c:?}");
    bill_run(&w.app).await;
    assert_eq!(status(&w.app, &end_sub).await, "CANCELLED");
    let invs = usage_invoices(&w.app, &end_sub).await;
    assert_eq!(invs.len(), 1, "once");
    // 100 × 0.10 + 50 × 0.05 + 1.00
    assert_eq!(
        (invs[0].1, invs[0].2, invs[0].4.clone()),
        (start, end, vec![1000 + 250 + 100])
    );
}
