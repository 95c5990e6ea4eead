//! `/ops`, the overview: each tile's figures against data the test makes (the empty system
//! included), each tile as its own fragment, and who may see it.

use mpanel::db::Timestamp;
use mpanel::jobs::{NewJob, store};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

mod backups;
mod guardian;
pub mod nodes;
mod probes;
mod provisioning;

/// Claims the job `id` (it must be the next due one) and records a failed attempt leaving it
/// in `state`.
async fn fail_next(app: &TestApp, id: &str, state: &str, attempt: i64) {
    let now = Timestamp::now();
    let claimed = store::claim(&app.state.db, "w-test", 1, now, now.plus_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed[0].id, id);
    let run_at = if state == "retryable" {
        now.plus_secs(3600)
    } else {
        now
    };
    let recorded = store::fail(
        &app.state.db,
        &store::Failure {
            id,
            worker: "w-test",
            attempt,
            error: "boom",
            state,
            run_at,
            now,
        },
    )
    .await
    .unwrap();
    assert!(recorded);
}

/// The queue tile within a page (other tiles draw sparklines too).
fn queue_tile(html: &str) -> &str {
    between(html, "id=\"tile-queues\"", "</article>").expect("the queue tile")
}

async fn tile(c: &TestClient) -> String {
    let res = c.get_htmx("/ops/tiles/queues").await;
    assert_eq!(res.status(), StatusCode::OK);
    res.text().await.unwrap()
}

#[tokio::test]
async fn an_empty_system_says_so() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let html = owner.get("/ops").await.text().await.unwrap();
    assert!(html.contains("<h1>Operations</h1>"));
    assert!(html.contains("The queue is empty: no job waits, runs or has failed."));
    assert!(!html.contains("id=\"queue-counts\""));
    assert_eq!(
        between(&html, "<dd id=\"queue-oldest\">", "</dd>"),
        Some("none")
    );
    assert_eq!(
        between(&html, "<dd id=\"queue-throughput\">", "</dd>"),
        Some("<a href=\"/ops/jobs?state=completed\">0</a>")
    );
    assert_eq!(
        between(&html, "<span id=\"queue-failures\">", "</span>"),
        Some("0")
    );
    // a flat line along the bottom: 24 hours of nothing
    let points = between(queue_tile(&html), "<polyline points=\"", "\"").unwrap();
    assert_eq!(points.split(' ').count(), 24);
    assert!(points.split(' ').all(|p| p.ends_with(",38")), "{points}");
}

#[tokio::test]
async fn the_queue_tile_counts_the_jobs_the_test_made() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    // Given up after two attempts (two failed attempts today).
    let gave_up = app
        .enqueue(NewJob::new("report.build", &json!({})).max_attempts(2))
        .await;
    fail_next(&app, &gave_up.id, "retryable", 1).await;
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE id = $2")
        .bind(Timestamp::now().0)
        .bind(&gave_up.id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    fail_next(&app, &gave_up.id, "discarded", 2).await;
    // Waiting to retry (one failed attempt).
    let retrying = app
        .enqueue(NewJob::new("cloudpod.provision", &json!({})))
        .await;
    fail_next(&app, &retrying.id, "retryable", 1).await;
    // Completed: one within the hour, one three hours ago.
    for hours_ago in [0, 3] {
        let done = app.enqueue(NewJob::new("done.kind", &json!({}))).await;
        let now = Timestamp::now();
        store::claim(&app.state.db, "w-test", 1, now, now.plus_secs(30))
            .await
            .unwrap();
        let finished = now.plus_secs(-hours_ago * 3600);
        store::complete_many(&app.state.db.pool, "w-test", &[done.id], finished)
            .await
            .unwrap();
    }
    // Waiting: one due 90 s ago, one due now; one scheduled for later.
    let now = Timestamp::now();
    app.enqueue(NewJob::new("mail.send", &json!({})).run_at(now.plus_secs(-90)))
        .await;
    app.enqueue(NewJob::new("mail.send", &json!({}))).await;
    app.enqueue(NewJob::new("mail.send", &json!({})).run_at(now.plus_secs(3600)))
        .await;

    for html in [
        owner.get("/ops").await.text().await.unwrap(),
        tile(&owner).await,
    ] {
        let table = between(&html, "id=\"queue-counts\"", "</table>").unwrap();
        let row = |kind: &str| -> Vec<String> {
            let tr = between(table, &format!("<th scope=\"row\">{kind}</th>"), "</tr>")
                .unwrap_or_else(|| panic!("no row {kind}: {table}"));
            tr.split("</a>")
                .filter(|s| s.contains("<a "))
                .map(|s| s.rsplit('>').next().unwrap().to_string())
                .collect()
        };
        assert_eq!(row("mail.send"), ["2", "1", "0", "0", "0", "0"]);
        assert_eq!(row("cloudpod.provision"), ["0", "0", "0", "1", "0", "0"]);
        assert_eq!(row("report.build"), ["0", "0", "0", "0", "1", "0"]);
        assert_eq!(row("All kinds"), ["2", "1", "0", "1", "1", "0"]);
        assert!(!table.contains("done.kind"), "history is not queue");
        // each figure links to the list it counts
        assert!(
            table.contains("href=\"/ops/jobs?kind=mail.send&#38;state=available\">2</a>"),
            "{table}"
        );
        assert!(table.contains(
            "href=\"/ops/jobs?kind=report.build&#38;state=discarded\" class=\"ops-alert\">1</a>"
        ));
        assert!(table.contains("href=\"/ops/jobs?state=retryable\" data-total=\"Retrying\">1</a>"));
        let oldest = between(&html, "<dd id=\"queue-oldest\">", "</dd>").unwrap();
        assert!(
            oldest.starts_with("<a href=\"/ops/jobs?kind=mail.send&#38;state=available\">1 min 3"),
            "{oldest}"
        );
        assert_eq!(
            between(&html, "<dd id=\"queue-throughput\">", "</dd>"),
            Some("<a href=\"/ops/jobs?state=completed\">1</a>")
        );
        assert_eq!(
            between(&html, "<span id=\"queue-failures\">", "</span>"),
            Some("3")
        );
        // the three failures fall in the last hour: the line ends at the top
        let points = between(queue_tile(&html), "<polyline points=\"", "\"").unwrap();
        assert!(points.ends_with(" 240,2"), "{points}");
        assert!(html.contains("Read <time>"));
    }
    // the fragment is the tile alone, polling itself
    let fragment = tile(&owner).await;
    assert!(fragment.starts_with("<article class=\"ops-tile\" id=\"tile-queues\" data-tile"));
    assert!(fragment.contains("hx-get=\"/ops/tiles/queues\""));
    assert!(fragment.contains("hx-trigger=\"every 10s, ops-refresh\""));
    assert!(!fragment.contains("<html"));
}

#[tokio::test]
async fn any_staff_role_sees_the_overview_and_customers_do_not() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let operator = app.operator_tenant_id().await;
    app.create_user(&owner, &operator, "wall@operator.test", "VIEWER")
        .await;
    let wall = app.signed_in("wall@operator.test").await;
    assert_eq!(wall.get("/ops").await.status(), StatusCode::OK);
    assert_eq!(wall.get("/ops/tiles/queues").await.status(), StatusCode::OK);
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "boss@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("boss@acme.test").await;
    for path in ["/ops", "/ops/tiles/queues"] {
        assert_eq!(
            customer.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    assert_eq!(
        app.client().get("/ops/tiles/queues").await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn insert_event(app: &TestApp, kind: &str, hours_ago: i64) {
    sqlx::query(
        "INSERT INTO security_events (id, tenant_id, user_id, subject_user_id, email, \
         event_type, summary, ip, user_agent, created_at) \
         VALUES ($1, NULL, NULL, NULL, 'x@acme.test', $2, 'test', '203.0.113.9', 'test', $3)",
    )
    .bind(mpanel::db::new_id())
    .bind(kind)
    .bind(Timestamp::now().plus_secs(-hours_ago * 3600).0)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_security_tile_counts_the_last_day_and_second_factors_apart() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let fact = |html: &str, id: &str| -> String {
        between(html, &format!("<dd id=\"{id}\">"), "</dd>")
            .unwrap_or_else(|| panic!("no {id}"))
            .to_string()
    };
    let html = owner
        .get_htmx("/ops/tiles/security")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.starts_with("<article class=\"ops-tile\" id=\"tile-security\" data-tile"));
    assert!(fact(&html, "sec-failed").ends_with(">0</a>"));
    assert!(fact(&html, "sec-locked").ends_with(">0</a>"));
    assert!(fact(&html, "sec-tokens").ends_with(">0</a>"));
    assert_eq!(fact(&html, "sec-mfa-staff"), "0 % (0 of 1)");
    assert_eq!(fact(&html, "sec-mfa-customers"), "no customer accounts yet");

    // Two failed sign-ins and a lock-out today, a failure from yesterday (outside the window),
    // a new token.
    for (kind, hours_ago) in [
        ("LOGIN_FAILED", 0),
        ("LOGIN_FAILED", 23),
        ("LOGIN_LOCKED", 1),
        ("LOGIN_FAILED", 25),
        ("TOKEN_CREATED", 2),
    ] {
        insert_event(&app, kind, hours_ago).await;
    }
    // Staff: the owner with a second factor, a VIEWER without; customers: one without.
    app.enrol_mfa(&owner).await;
    let operator = app.operator_tenant_id().await;
    app.create_user(&owner, &operator, "wall@operator.test", "VIEWER")
        .await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "boss@acme.test", "OWNER")
        .await;

    let page = owner.get("/ops").await.text().await.unwrap();
    let fragment = owner
        .get_htmx("/ops/tiles/security")
        .await
        .text()
        .await
        .unwrap();
    for html in [page, fragment] {
        let failed = fact(&html, "sec-failed");
        assert!(failed.ends_with(" class=\"ops-alert\">2</a>"), "{failed}");
        assert!(failed.starts_with("<a href=\"/security/events?event_type=LOGIN_FAILED&#38;from="));
        assert!(fact(&html, "sec-locked").ends_with(">1</a>"));
        assert!(fact(&html, "sec-tokens").ends_with(">1</a>"));
        assert_eq!(fact(&html, "sec-mfa-staff"), "50 % (1 of 2)");
        assert_eq!(fact(&html, "sec-mfa-customers"), "0 % (0 of 1)");
    }
}

#[tokio::test]
async fn the_billing_tile_counts_overdue_invoices_and_what_is_due_per_currency() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let fact = |html: &str, id: &str| -> String {
        between(html, &format!("<dd id=\"{id}\">"), "</dd>")
            .unwrap_or_else(|| panic!("no {id}"))
            .to_string()
    };
    let html = owner
        .get_htmx("/ops/tiles/billing")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.starts_with("<article class=\"ops-tile\" id=\"tile-billing\" data-tile"));
    assert_eq!(
        fact(&html, "bill-overdue"),
        "<a href=\"/billing/invoices?status=OVERDUE\">0</a>"
    );
    assert_eq!(fact(&html, "bill-due"), "nothing");

    let tenant = app.create_tenant(&owner, "acme").await;
    let eur = crate::dashboard::issued_invoice_in(&owner, &tenant, "EUR", "12.50").await;
    let usd = crate::dashboard::issued_invoice_in(&owner, &tenant, "USD", "5.00").await;
    // issued but not yet due: not overdue
    crate::dashboard::issued_invoice_in(&owner, &tenant, "EUR", "99.00").await;
    for id in [&eur, &usd] {
        sqlx::query("UPDATE invoices SET due_date = '2000-01-31' WHERE id = $1")
            .bind(id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    let page = owner.get("/ops").await.text().await.unwrap();
    let fragment = owner
        .get_htmx("/ops/tiles/billing")
        .await
        .text()
        .await
        .unwrap();
    for html in [page, fragment] {
        assert_eq!(
            fact(&html, "bill-overdue"),
            "<a href=\"/billing/invoices?status=OVERDUE\" class=\"ops-alert\">2</a>"
        );
        let due = fact(&html, "bill-due");
        assert!(
            due.contains(">EUR 12.50</a>") && due.contains(">USD 5.00</a>") && !due.contains("99"),
            "{due}"
        );
    }
    // the list behind the figure shows the same two
    let list = owner
        .get("/billing/invoices?status=OVERDUE")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("2 in all"), "{list}");
}

/// With `MPANEL_OPS_TILE_MEMO_MS`, a tile read once is answered from memory (saying when it
/// was read) until the time passes; permission is still checked on every request.
#[tokio::test]
async fn a_memoized_tile_is_read_again_once_its_time_has_passed() {
    let app = TestApp::spawn_with(|c| {
        c.no_worker = true;
        c.ops.ops_tile_memo_ms = 60_000;
    })
    .await;
    let owner = app.setup_owner().await;
    let first = tile(&owner).await;
    assert!(first.contains("The queue is empty"), "{first}");
    app.enqueue(NewJob::new("mail.send", &json!({}))).await;
    // the same fragment, byte for byte, read time included
    assert_eq!(tile(&owner).await, first);
    // a customer is refused even though the fragment is in memory
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "boss@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("boss@acme.test").await;
    assert_eq!(
        customer.get("/ops/tiles/queues").await.status(),
        StatusCode::FORBIDDEN
    );
    app.state.clock.advance(61);
    let second = tile(&owner).await;
    assert!(!second.contains("The queue is empty"), "{second}");
    assert!(
        second.contains("<th scope=\"row\">mail.send</th>"),
        "{second}"
    );
}
