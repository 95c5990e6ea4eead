//! Bill runs on the movable clock: a year of monthly renewals is twelve invoices, concurrent
//! runs issue each invoice once, a payment between runs never moves a period twice, trials
//! convert at their end, and staff see the runs, the dry run and the missed-invoice check.

use mpanel::billing::automation::model::Settings;
use mpanel::billing::automation::service::{self as automation, RunCounts};
use mpanel::db::Timestamp;
use reqwest::StatusCode;

use crate::helpers::*;

pub(crate) struct World {
    pub app: TestApp,
    pub staff: TestClient,
    pub owner: TestClient,
    /// The SUPPORT-PLUS product's id.
    pub product: String,
}

/// A tenant with an OWNER, and a monthly SUPPORT product at 10.00 EUR (no pod to provision).
pub(crate) async fn world() -> World {
    let app = TestApp::spawn_without_worker().await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = app.signed_in("owner@acme.test").await;
    let res = staff
        .post(
            "/billing/products",
            &[
                ("code", "SUPPORT-PLUS"),
                ("name", "Support Plus"),
                ("description", "Priority support"),
                ("category", "SUPPORT"),
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
    let product = location(&res)
        .trim_start_matches("/billing/products/")
        .to_string();
    let res = staff
        .post(
            &format!("/billing/products/{product}/prices"),
            &[
                ("currency", "EUR"),
                ("period", "MONTHLY"),
                ("amount", "10.00"),
                ("setup_fee", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    World {
        app,
        staff,
        owner,
        product,
    }
}

pub(crate) fn settings(app: &TestApp) -> Settings {
    Settings::from_config(&app.state.config).unwrap()
}

pub(crate) async fn bill_run(app: &TestApp) -> RunCounts {
    automation::bill_run(&app.state.db, &settings(app), app.state.clock.now(), "test")
        .await
        .unwrap()
        .1
}

/// Orders the product (monthly, one) as the owner: the subscription waits for its first
/// invoice. Returns its id.
pub(crate) async fn ordered_subscription(w: &World, key: &str) -> String {
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "SUPPORT-PLUS"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
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
    location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string()
}

/// Orders the product as the owner, pays the first invoice and activates: an ACTIVE
/// subscription in its first period. Returns its id.
pub(crate) async fn active_subscription(w: &World, key: &str) -> String {
    let id = ordered_subscription(w, key).await;
    let invoices = open_invoices(&w.app, &id).await;
    assert_eq!(invoices.len(), 1);
    pay(w, &invoices[0].0, &invoices[0].1).await;
    mpanel::subscriptions::service::activate(&w.app.state.db, "manual", &id)
        .await
        .unwrap();
    assert_eq!(status(&w.app, &id).await, "ACTIVE");
    id
}

/// The subscription's unpaid invoices: (id, amount due as text).
pub(crate) async fn open_invoices(app: &TestApp, sub: &str) -> Vec<(String, String)> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT id, due_minor FROM invoices WHERE subscription_id = $1 AND status = 'ISSUED' \
         ORDER BY created_at, id",
    )
    .bind(sub)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    rows.into_iter()
        .map(|(id, due)| (id, format!("{}.{:02}", due / 100, due % 100)))
        .collect()
}

pub(crate) async fn pay(w: &World, invoice: &str, amount: &str) {
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{invoice}/pay"),
            &[
                ("amount", amount),
                ("method", "Bank transfer"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", &format!("pay-{invoice}")),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "pay {invoice}");
}

pub(crate) async fn status(app: &TestApp, sub: &str) -> String {
    sqlx::query_scalar("SELECT status FROM subscriptions WHERE id = $1")
        .bind(sub)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// (period start, period end, period number)
pub(crate) async fn period(app: &TestApp, sub: &str) -> (Timestamp, Timestamp, i64) {
    sqlx::query_as(
        "SELECT current_period_start, current_period_end, period_number FROM subscriptions \
         WHERE id = $1",
    )
    .bind(sub)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

async fn renewals(app: &TestApp, sub: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM invoices WHERE subscription_id = '{sub}' \
         AND billing_reason = 'RENEWAL'"
    ))
    .await
}

#[tokio::test]
async fn a_year_of_monthly_renewals_is_exactly_twelve_invoices() {
    let w = world().await;
    let sub = active_subscription(&w, "order-year-0001-abcdef").await;
    let (start, first_end, n) = period(&w.app, &sub).await;
    assert_eq!(n, 0);
    let anchor: Timestamp =
        sqlx::query_scalar("SELECT billing_anchor FROM subscriptions WHERE id = $1")
            .bind(&sub)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(anchor, start);
    // Nothing is due in the first days of the period.
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.periods_rolled), (0, 0));

    let mut end = first_end;
    for month in 1..=12 {
        // Into the renewal lead: the next period's invoice, once, however often the run runs.
        w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
        let c = bill_run(&w.app).await;
        assert_eq!(
            (c.issued, c.periods_rolled, c.failed),
            (1, 0, 0),
            "month {month}: {c:?}"
        );
        let c = bill_run(&w.app).await;
        assert_eq!(
            (c.issued, c.already_billed, c.failed),
            (0, 0, 0),
            "month {month}: a re-run has nothing to do"
        );
        assert_eq!(renewals(&w.app, &sub).await, month);
        for (inv, due) in open_invoices(&w.app, &sub).await {
            pay(&w, &inv, &due).await;
        }
        // The period ends: the subscription moves into the period that invoice bills.
        w.app.state.clock.advance_to(end.plus_secs(1));
        let c = bill_run(&w.app).await;
        assert_eq!(c.periods_rolled, 1, "month {month}: {c:?}");
        let (s, e, n) = period(&w.app, &sub).await;
        let expected = mpanel::subscriptions::model::period_bounds(
            anchor,
            mpanel::billing::catalog::model::Period::Monthly,
            month,
        )
        .unwrap();
        assert_eq!(
            (s, e, n),
            (expected.0, expected.1, month),
            "anniversary of the anchor"
        );
        assert_eq!(s, end, "each period starts where the last ended");
        end = e;
    }
    assert_eq!(renewals(&w.app, &sub).await, 12);
    // Each renewal bills its own period, once.
    let distinct = w
        .app
        .count(&format!(
            "SELECT COUNT(DISTINCT period_start) FROM invoices WHERE subscription_id = '{sub}' \
             AND billing_reason = 'RENEWAL'"
        ))
        .await;
    assert_eq!(distinct, 12);
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Renewal invoice"), "timeline: {page}");
    assert!(page.contains("New period"), "timeline: {page}");
}

#[tokio::test]
async fn concurrent_bill_runs_issue_each_invoice_once() {
    let w = world().await;
    let mut subs = Vec::new();
    for i in 0..12 {
        subs.push(active_subscription(&w, &format!("order-conc-{i:04}-abcdef")).await);
    }
    let (_, end, _) = period(&w.app, &subs[0]).await;
    w.app.state.clock.advance_to(end.plus_secs(-86_400));
    // Two runs at the same moment, and a second "process": its own connection pool on the
    // same database.
    let other = mpanel::db::Db::connect(&w.app.state.config.database_url(), 4)
        .await
        .unwrap();
    let s = settings(&w.app);
    let now = w.app.state.clock.now();
    let (a, b, c) = tokio::join!(
        automation::bill_run(&w.app.state.db, &s, now, "a"),
        automation::bill_run(&other, &s, now, "b"),
        automation::bill_run(&w.app.state.db, &s, now, "c"),
    );
    let runs = [a.unwrap().1, b.unwrap().1, c.unwrap().1];
    let issued: i64 = runs.iter().map(|r| r.issued).sum();
    let failed: i64 = runs.iter().map(|r| r.failed).sum();
    assert_eq!((issued, failed), (12, 0), "{runs:?}");
    let renewal_count = w
        .app
        .count("SELECT COUNT(*) FROM invoices WHERE billing_reason = 'RENEWAL'")
        .await;
    assert_eq!(renewal_count, 12);
    // The numbers stay gapless and unique.
    let numbers = w
        .app
        .count("SELECT COUNT(DISTINCT number) FROM invoices WHERE billing_reason = 'RENEWAL'")
        .await;
    assert_eq!(numbers, 12);
}

#[tokio::test]
async fn a_payment_between_runs_never_moves_a_period_twice() {
    let w = world().await;
    let sub = active_subscription(&w, "order-between-01-abcdef").await;
    let (_, end, _) = period(&w.app, &sub).await;
    w.app.state.clock.advance_to(end.plus_secs(-86_400));
    assert_eq!(bill_run(&w.app).await.issued, 1);
    let (inv, due) = open_invoices(&w.app, &sub).await.remove(0);
    pay(&w, &inv, &due).await;
    // The subscription hears of the payment (its timeline)...
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(mpanel::app::run_worker(w.app.state.clone(), rx));
    let app = &w.app;
    wait_until("the payment on the timeline", 20, || async {
        (app.count(&format!(
            "SELECT COUNT(*) FROM subscription_events WHERE subscription_id = '{sub}' \
             AND kind = 'payment' AND summary LIKE 'Invoice % paid: %'"
        ))
        .await
            == 1)
            .then_some(())
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    // ...but paying changes nothing about the period; it ends when it ends.
    assert_eq!(period(&w.app, &sub).await.2, 0);
    assert_eq!(bill_run(&w.app).await.periods_rolled, 0);
    w.app.state.clock.advance_to(end.plus_secs(60));
    let runs = [bill_run(&w.app).await, bill_run(&w.app).await];
    assert_eq!(
        runs.iter().map(|r| r.periods_rolled).sum::<i64>(),
        1,
        "{runs:?}"
    );
    let (start, _, n) = period(&w.app, &sub).await;
    assert_eq!((start, n), (end, 1));
}

#[tokio::test]
async fn a_trial_converts_at_its_end_and_a_cancelled_one_bills_nothing() {
    let w = world().await;
    sqlx::query("UPDATE products SET trial_days = 14 WHERE code = 'SUPPORT-PLUS'")
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let mut subs = Vec::new();
    for key in ["order-trial-01-abcdef", "order-trial-02-abcdef"] {
        let id = ordered_subscription(&w, key).await;
        mpanel::subscriptions::service::activate(&w.app.state.db, "manual", &id)
            .await
            .unwrap();
        subs.push(id);
    }
    let (keep, cancel) = (&subs[0], &subs[1]);
    let (_, trial_end, n) = period(&w.app, keep).await;
    assert_eq!(n, -1, "the trial is period -1");
    let res = w
        .owner
        .post(
            &format!("/billing/subscriptions/{cancel}/cancel"),
            &[("when", "period_end"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    assert_eq!(status(&w.app, cancel).await, "CANCEL_AT_PERIOD_END");

    // Inside the renewal lead of a normal period, a trial is not billed yet: it converts at
    // its end.
    w.app
        .state
        .clock
        .advance_to(trial_end.plus_secs(-3 * 86_400));
    assert_eq!(bill_run(&w.app).await.issued, 0);
    w.app.state.clock.advance_to(trial_end.plus_secs(1));
    let c = bill_run(&w.app).await;
    assert_eq!(
        (c.issued, c.periods_rolled, c.ended, c.failed),
        (1, 1, 1, 0),
        "{c:?}"
    );
    let (start, _, n) = period(&w.app, keep).await;
    assert_eq!(
        (start, n),
        (trial_end, 0),
        "the first paid period starts at the trial's end"
    );
    assert_eq!(open_invoices(&w.app, keep).await.len(), 1);
    assert_eq!(status(&w.app, cancel).await, "CANCELLED");
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM invoices WHERE subscription_id = '{cancel}'"
            ))
            .await,
        0,
        "a trial cancelled before its end bills nothing"
    );
}

#[tokio::test]
async fn staff_see_runs_start_one_preview_the_next_and_check_for_missed_invoices() {
    let w = world().await;
    let sub = active_subscription(&w, "order-pages-01-abcdef").await;
    let page = w
        .staff
        .get(&format!("/billing/products/{}", w.product))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Support Plus"));
    let page = w
        .staff
        .get("/billing/bill-runs")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("No bill run has run yet"), "{page}");
    assert!(
        page.contains("href=\"/billing/bill-runs\""),
        "in the navigation"
    );
    assert_eq!(
        w.owner.get("/billing/bill-runs").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        w.owner.post("/billing/bill-runs", &[]).await.status(),
        StatusCode::FORBIDDEN
    );

    // Nothing due: the dry run says so, the check finds nothing.
    let page = w
        .staff
        .get("/billing/bill-runs/preview")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("would issue no invoice"), "{page}");
    let page = w
        .staff
        .get("/billing/bill-runs/missed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nothing is missed"), "{page}");

    // Into the lead: the dry run shows the renewal with its amount and issues nothing.
    let (_, end, _) = period(&w.app, &sub).await;
    w.app.state.clock.advance_to(end.plus_secs(-86_400));
    let page = w
        .staff
        .get("/billing/bill-runs/preview")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Support Plus") && page.contains("10.00"),
        "{page}"
    );
    assert_eq!(renewals(&w.app, &sub).await, 0, "a dry run issues nothing");
    // Past the period's start with no run: the check lists it as missed.
    w.app.state.clock.advance_to(end.plus_secs(3_600));
    let page = w
        .staff
        .get("/billing/bill-runs/missed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("renewal invoice was not issued"), "{page}");

    // Run now: the worker takes the job, the run is recorded and the check is clear.
    let res = w.staff.post("/billing/bill-runs", &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(mpanel::app::run_worker(w.app.state.clone(), rx));
    let app = &w.app;
    wait_until("the bill run finishes", 20, || async {
        (app.count("SELECT COUNT(*) FROM bill_runs WHERE finished_at IS NOT NULL")
            .await
            == 1)
            .then_some(())
    })
    .await;
    stop.send(true).unwrap();
    worker.await.unwrap();
    let page = w
        .staff
        .get("/billing/bill-runs")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Completed"), "{page}");
    assert!(page.contains("owner@"), "who started it: {page}");
    assert_eq!(renewals(&w.app, &sub).await, 1);
    assert_eq!(period(&w.app, &sub).await.2, 1);
    let page = w
        .staff
        .get("/billing/bill-runs/missed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Nothing is missed"), "{page}");
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'billing.bill_run_started'")
            .await,
        1
    );
}

#[tokio::test]
async fn contradictory_billing_settings_refuse_to_start() {
    let dir = std::env::temp_dir().join(format!("mpanel-it-bill-{}", mpanel::db::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut config = test_config(&dir);
    config.dunning_suspend_after_days = 30;
    config.dunning_cancel_after_days = 7;
    let err = mpanel::app::build_state(config.clone())
        .await
        .err()
        .unwrap();
    assert!(err.to_string().contains("must not be shorter"), "{err}");
    config.dunning_cancel_after_days = 30;
    config.late_fee = "150%".into();
    let err = mpanel::app::build_state(config).await.err().unwrap();
    assert!(err.to_string().contains("MPANEL_LATE_FEE"), "{err}");
}

#[tokio::test]
async fn the_ops_billing_tile_shows_the_last_run_and_what_is_behind() {
    let w = world().await;
    let fact = |html: &str, id: &str| -> String {
        between(html, &format!("<dd id=\"{id}\">"), "</dd>")
            .unwrap_or_else(|| panic!("no {id}"))
            .to_string()
    };
    let tile = || async {
        w.staff
            .get_htmx("/ops/tiles/billing")
            .await
            .text()
            .await
            .unwrap()
    };
    let html = tile().await;
    assert!(
        fact(&html, "bill-last-run").contains(">never</a>"),
        "{html}"
    );
    assert_eq!(
        fact(&html, "bill-lagging"),
        "<a href=\"/billing/bill-runs/missed\">0</a>"
    );
    let sub = active_subscription(&w, "order-ops-0001-abcdef").await;
    let (_, end, _) = period(&w.app, &sub).await;
    // The period ends and no run has run: one subscription is behind.
    w.app.state.clock.advance_to(end.plus_secs(60));
    let html = tile().await;
    assert_eq!(
        fact(&html, "bill-lagging"),
        "<a href=\"/billing/bill-runs/missed\" class=\"ops-alert\">1</a>"
    );
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.periods_rolled), (1, 1));
    let html = tile().await;
    let last = fact(&html, "bill-last-run");
    assert!(
        last.contains("(1 issued)") && last.contains("Completed"),
        "{last}"
    );
    assert!(fact(&html, "bill-lagging").ends_with(">0</a>"));
    assert!(fact(&html, "bill-unbilled").ends_with(">0</a>"));
    // An invoice lost for the current period shows up as a period without an invoice.
    sqlx::query("UPDATE invoices SET billing_reason = 'LOST' WHERE subscription_id = $1 AND billing_reason = 'RENEWAL'")
        .bind(&sub)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let html = tile().await;
    assert_eq!(
        fact(&html, "bill-unbilled"),
        "<a href=\"/billing/bill-runs/missed\" class=\"ops-alert\">1</a>"
    );
    let page = w
        .staff
        .get("/billing/bill-runs/missed")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("the current period has no invoice"), "{page}");
    // Staff who may not open the bill runs see the figures without links.
    let operator = w.app.operator_tenant_id().await;
    w.app
        .create_user(&w.staff, &operator, "ops@operator.test", "VIEWER")
        .await;
    let viewer = w.app.signed_in("ops@operator.test").await;
    let html = viewer
        .get_htmx("/ops/tiles/billing")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(fact(&html, "bill-unbilled"), "1");
    assert_eq!(
        viewer.get("/billing/bill-runs/missed").await.status(),
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn a_run_after_a_long_pause_catches_up_every_period_once() {
    let w = world().await;
    let sub = active_subscription(&w, "order-pause-01-abcdef").await;
    let anchor: Timestamp =
        sqlx::query_scalar("SELECT billing_anchor FROM subscriptions WHERE id = $1")
            .bind(&sub)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    let monthly = mpanel::billing::catalog::model::Period::Monthly;
    let third = mpanel::subscriptions::model::period_bounds(anchor, monthly, 3).unwrap();
    // No run for three months: one run invoices and starts periods 1, 2 and 3.
    w.app.state.clock.advance_to(third.0.plus_secs(1));
    let c = bill_run(&w.app).await;
    assert_eq!(
        (c.issued, c.periods_rolled, c.already_billed, c.failed),
        (3, 3, 0, 0),
        "{c:?}"
    );
    assert_eq!(period(&w.app, &sub).await, (third.0, third.1, 3));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.periods_rolled, c.already_billed), (0, 0, 0));
    assert_eq!(renewals(&w.app, &sub).await, 3);
}

/// The bill run issues renewals in batches (a few multi-row statements for the lot); each
/// invoice must end exactly as the one-at-a-time path leaves it: the same columns, lines,
/// tax line, gapless numbers, summary figures, mail job, audit and timeline entries.
#[tokio::test]
async fn a_batch_of_renewals_ends_as_one_at_a_time_would() {
    let w = world().await;
    let res = w
        .staff
        .post(
            "/billing/tax-rules",
            &[("name", "VAT"), ("rate", "19"), ("region", "eu-central")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let mut subs = Vec::new();
    for n in 0..4 {
        subs.push(active_subscription(&w, &format!("order-batch-{n:04}-abcdef")).await);
    }
    let (_, end, _) = period(&w.app, &subs[0]).await;
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let now = w.app.state.clock.now();
    // The first one through the one-at-a-time path, the others through the bill run.
    let lead = settings(&w.app).lead_days;
    let mut cache = Default::default();
    let one =
        mpanel::subscriptions::service::renew(&w.app.state.db, &subs[0], now, lead, &mut cache)
            .await
            .unwrap();
    assert!(matches!(
        one.renewal,
        mpanel::subscriptions::service::Renewal::Issued { .. }
    ));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.already_billed, c.failed), (3, 0, 0), "{c:?}");

    #[derive(Debug, PartialEq, sqlx::FromRow)]
    struct Shape {
        status: String,
        currency: String,
        source: String,
        issue_date: String,
        tax_name: String,
        subtotal_minor: i64,
        tax_minor: i64,
        total_minor: i64,
        due_minor: i64,
        version: i64,
        length: i64,
        buyer_snapshot: String,
        seller_snapshot: String,
    }
    let shape = |sub: String| {
        let pool = w.app.state.db.pool.clone();
        async move {
            let s: Shape = sqlx::query_as(
                "SELECT status, currency, source, issue_date, tax_name, subtotal_minor, tax_minor, \
                 total_minor, due_minor, version, period_end - period_start AS length, buyer_snapshot, \
                 seller_snapshot FROM invoices WHERE subscription_id = $1 \
                 AND billing_reason = 'RENEWAL'",
            )
            .bind(&sub)
            .fetch_one(&pool)
            .await
            .unwrap();
            let lines: Vec<(i64, String, String, i64, i64)> = sqlx::query_as(
                "SELECT l.position, l.kind, l.quantity, l.unit_price_minor, l.amount_minor \
                 FROM invoice_lines l JOIN invoices i ON i.id = l.invoice_id \
                 WHERE i.subscription_id = $1 AND i.billing_reason = 'RENEWAL' ORDER BY l.position",
            )
            .bind(&sub)
            .fetch_all(&pool)
            .await
            .unwrap();
            (s, lines)
        }
    };
    let reference = shape(subs[0].clone()).await;
    assert_eq!(reference.0.status, "ISSUED");
    assert_eq!(
        (
            reference.0.subtotal_minor,
            reference.0.tax_minor,
            reference.0.total_minor
        ),
        (1000, 190, 1190)
    );
    assert_eq!(
        reference.1,
        vec![
            (1, "ITEM".into(), "1".into(), 1000, 1000),
            (2, "TAX".into(), "1".into(), 190, 190)
        ]
    );
    for sub in &subs[1..] {
        assert_eq!(shape(sub.clone()).await, reference, "batch-issued {sub}");
    }
    // Gapless numbers: four first invoices and four renewals, 1..=8, each once.
    let numbers: Vec<String> =
        sqlx::query_scalar("SELECT number FROM invoices WHERE number IS NOT NULL ORDER BY number")
            .fetch_all(&w.app.state.db.pool)
            .await
            .unwrap();
    let year = now.date().year();
    let expected: Vec<String> = (1..=8).map(|n| format!("INV-{year}-{n:06}")).collect();
    assert_eq!(numbers, expected);
    // The summaries the lists and the dashboard read agree with the invoices.
    let summed: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT status, CAST(SUM(count) AS BIGINT), CAST(SUM(total_minor) AS BIGINT), \
         CAST(SUM(due_minor) AS BIGINT) FROM invoice_summaries \
         WHERE count <> 0 GROUP BY status ORDER BY status",
    )
    .fetch_all(&w.app.state.db.pool)
    .await
    .unwrap();
    let counted: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "SELECT status, COUNT(*), CAST(SUM(total_minor) AS BIGINT), \
         CAST(SUM(due_minor) AS BIGINT) FROM invoices \
         GROUP BY status ORDER BY status",
    )
    .fetch_all(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(summed, counted);
    for sub in &subs {
        let inv: String = sqlx::query_scalar(
            "SELECT id FROM invoices WHERE subscription_id = $1 AND billing_reason = 'RENEWAL'",
        )
        .bind(sub)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
        let mails = w
            .app
            .count(&format!(
                "SELECT COUNT(*) FROM jobs WHERE kind = 'invoice.mail' AND subject = 'invoice:{inv}'"
            ))
            .await;
        let audits = w
            .app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'invoice.issued' AND target_id = '{inv}'"
            ))
            .await;
        let timeline = w
            .app
            .count(&format!(
                "SELECT COUNT(*) FROM subscription_events WHERE subscription_id = '{sub}' \
                 AND summary LIKE 'Renewal invoice INV-%'"
            ))
            .await;
        let billed = w
            .app
            .count(&format!(
                "SELECT COUNT(*) FROM subscriptions WHERE id = '{sub}' AND next_bill_at IS NULL"
            ))
            .await;
        assert_eq!((mails, audits, timeline, billed), (1, 1, 1, 1), "{sub}");
    }
    // A second run finds them billed.
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (0, 0));
}

/// The tenant's account credit pays a renewal issued by the bill run's batch, as it pays any
/// invoice issued one at a time.
#[tokio::test]
async fn account_credit_pays_a_batch_issued_renewal() {
    let w = world().await;
    let sub = ordered_subscription(&w, "order-credit-0001-abcdef").await;
    let (first, due) = open_invoices(&w.app, &sub).await.remove(0);
    assert_eq!(due, "10.00");
    pay(&w, &first, &due).await;
    // 15.00 of credit on the tenant's ledger (as an overpayment by a gateway leaves it)
    sqlx::query(
        "INSERT INTO account_credit (id, tenant_id, currency, amount_minor, kind, invoice_id, \
         payment_id, note, created_by, created_at) SELECT 'credit-1', tenant_id, 'EUR', 1500, \
         'OVERPAYMENT', id, NULL, 'test', 'test', 0 FROM invoices WHERE id = $1",
    )
    .bind(&first)
    .execute(&w.app.state.db.pool)
    .await
    .unwrap();
    mpanel::subscriptions::service::activate(&w.app.state.db, "manual", &sub)
        .await
        .unwrap();
    let (_, end, _) = period(&w.app, &sub).await;
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (1, 0), "{c:?}");
    let (status, paid): (String, i64) = sqlx::query_as(
        "SELECT status, paid_minor FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'RENEWAL'",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), paid), ("PAID", 1000));
    let left: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM account_credit",
    )
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(left, 500);
}
