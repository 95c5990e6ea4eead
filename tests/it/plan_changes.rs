//! Plan changes through HTTP on the movable clock: an upgrade's difference invoiced with exact
//! amounts and the pod resized once it is paid; a downgrade scheduled, billed by the next
//! renewal and applied at the roll; each refusal with its reason beside the field; who may
//! change plans, and another tenant's subscription answering 404.

use mpanel::db::Timestamp;
use reqwest::StatusCode;

use crate::bill_runs::bill_run;
use crate::helpers::*;

pub(crate) const PRO: &str = "0192f000-0000-7000-8000-000000000002";
pub(crate) const BUSINESS: &str = "0192f000-0000-7000-8000-000000000003";
const ENTERPRISE: &str = "0192f000-0000-7000-8000-000000000004";

pub(crate) struct World {
    pub app: TestApp,
    pub staff: TestClient,
    pub tenant: String,
    pub owner: TestClient,
}

/// A tenant paying in EUR with an OWNER. Monthly EUR prices: MINI 9.99, PRO 19.99, BUSINESS
/// 39.99, and ENTERPRISE on a 14.99 promotion (cheaper than PRO with a bigger disk: the one
/// downgrade the disks allow).
pub(crate) async fn world() -> World {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    for (product, amount) in [
        ("0192f000-0000-7000-8000-000000000001", "9.99"),
        (PRO, "19.99"),
        (BUSINESS, "39.99"),
        (ENTERPRISE, "14.99"),
    ] {
        let res = staff
            .post(
                &format!("/billing/products/{product}/prices"),
                &[
                    ("currency", "EUR"),
                    ("period", "MONTHLY"),
                    ("amount", amount),
                    ("setup_fee", ""),
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
    }
}

async fn scalar_i64(app: &TestApp, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn scalar_text(app: &TestApp, sql: &str, id: &str) -> String {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn product_of(app: &TestApp, sub: &str) -> String {
    scalar_text(
        app,
        "SELECT product_id FROM subscriptions WHERE id = $1",
        sub,
    )
    .await
}

/// (plan code, cores, disk GB) of the subscription's pod.
pub(crate) async fn pod_of(app: &TestApp, sub: &str) -> (String, i64, i64) {
    sqlx::query_as(
        "SELECT c.plan_code, c.cpu_cores, c.disk_gb FROM cloudpods c \
         JOIN subscriptions s ON s.cloudpod_id = c.id WHERE s.id = $1",
    )
    .bind(sub)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

pub(crate) async fn pay(w: &World, invoice: &str) {
    let due = scalar_i64(
        &w.app,
        "SELECT due_minor FROM invoices WHERE id = $1",
        invoice,
    )
    .await;
    let amount = format!("{}.{:02}", due / 100, due % 100);
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{invoice}/pay"),
            &[
                ("amount", amount.as_str()),
                ("method", "Bank transfer"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", &format!("pay-{invoice}")),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "pay {invoice}");
}

/// The owner orders a PRO pod, staff pay its first invoice, and the worker brings it up: an
/// ACTIVE subscription with an ACTIVE pod on the PRO plan. Returns the subscription's id.
pub(crate) async fn active_pro(w: &World, pod: &str) -> String {
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("pod_name", pod),
                ("region", ""),
                ("idempotency_key", &format!("plan-order-{pod}-0000000")),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sub = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let inv = scalar_text(
        &w.app,
        "SELECT id FROM invoices WHERE subscription_id = $1",
        &sub,
    )
    .await;
    pay(w, &inv).await;
    let app = &w.app;
    wait_until("the subscription is active", 20, || async {
        let s = scalar_text(app, "SELECT status FROM subscriptions WHERE id = $1", &sub).await;
        (s == "ACTIVE").then_some(())
    })
    .await;
    wait_until("the pod is idle", 20, || async {
        let op = scalar_text(
            app,
            "SELECT c.operation FROM cloudpods c JOIN subscriptions s ON s.cloudpod_id = c.id \
             WHERE s.id = $1",
            &sub,
        )
        .await;
        op.is_empty().then_some(())
    })
    .await;
    assert_eq!(pod_of(&w.app, &sub).await, ("PRO".to_string(), 2, 50));
    sub
}

/// Posts the plan form: without `at` a review; with the review's `at`, a confirmation.
async fn change(c: &TestClient, sub: &str, plan: &str, at: Option<&str>) -> reqwest::Response {
    let mut form = vec![("plan", plan)];
    if let Some(at) = at {
        form.extend([("at", at), ("reviewed", plan), ("confirm", "yes")]);
    }
    c.post(&format!("/billing/subscriptions/{sub}/plan"), &form)
        .await
}

/// Reviews a change and returns the review page and its priced instant.
async fn review(c: &TestClient, sub: &str, plan: &str) -> (String, String) {
    let res = change(c, sub, plan, None).await;
    let code = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(code, StatusCode::OK, "{html}");
    let at = between(&html, "name=\"at\" value=\"", "\"")
        .expect("the review carries its instant")
        .to_string();
    (html, at)
}

/// Integer arithmetic, independent of the service's decimals: `amount × left / length`
/// rounded half up (amounts are positive), the way the issue states it.
pub(crate) fn share(amount: i64, left: i64, length: i64) -> i64 {
    (2 * amount * left + length) / (2 * length)
}

#[tokio::test]
async fn an_upgrade_invoices_the_exact_difference_and_resizes_the_pod_when_paid() {
    let w = world().await;
    let sub = active_pro(&w, "shop").await;
    let (start, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    // Ten days into the period.
    w.app.state.clock.advance_to(start.plus_secs(10 * 86_400));

    // The form offers the other plans with their prices; the review shows both lines.
    let form = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}/plan"))
        .await;
    assert_eq!(form.status(), StatusCode::OK);
    let form = form.text().await.unwrap();
    assert!(
        form.contains("CLOUDPOD-BUSINESS") && form.contains("39.99"),
        "{form}"
    );
    assert!(!form.contains("value=\"CLOUDPOD-PRO\""), "not its own plan");
    let (page, at) = review(&w.owner, &sub, "CLOUDPOD-BUSINESS").await;
    let at_ms: i64 = at.parse().unwrap();
    let secs = |t: i64| t.div_euclid(1000);
    let length = secs(end.0) - secs(start.0);
    let left = secs(end.0) - secs(at_ms);
    assert!(left > 0 && left < length);
    let credit = share(1999, left, length);
    let charge = share(3999, left, length);
    let fmt = |m: i64| format!("{}.{:02}", m / 100, m % 100);
    for text in [
        "Credit: unused CloudPod Pro",
        "CloudPod Business (CLOUDPOD-BUSINESS)",
        "Confirm plan change",
        &fmt(credit),
        &fmt(charge),
        &fmt(charge - credit),
    ] {
        assert!(page.contains(text), "review lacks {text}: {page}");
    }
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invoices WHERE billing_reason = 'PLAN_CHANGE'")
            .await,
        0,
        "a review writes nothing"
    );

    // Confirm: the difference is invoiced at once, for [the change, the period's end).
    let res = change(&w.owner, &sub, "CLOUDPOD-BUSINESS", Some(&at)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/billing/subscriptions/{sub}"));
    let (inv, status, total, p_start, p_end): (String, String, i64, i64, i64) = sqlx::query_as(
        "SELECT id, status, total_minor, period_start, period_end FROM invoices \
         WHERE subscription_id = $1 AND billing_reason = 'PLAN_CHANGE'",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), total, p_start, p_end),
        ("ISSUED", charge - credit, at_ms, end.0)
    );
    let mut lines: Vec<(i64, String)> = sqlx::query_as(
        "SELECT amount_minor, product_id FROM invoice_lines WHERE invoice_id = $1 \
         AND kind = 'ITEM' ORDER BY amount_minor",
    )
    .bind(&inv)
    .fetch_all(&w.app.state.db.pool)
    .await
    .unwrap();
    lines.sort();
    assert_eq!(
        lines,
        vec![(-credit, PRO.to_string()), (charge, BUSINESS.to_string())]
    );
    // Nothing switches before the payment.
    assert_eq!(product_of(&w.app, &sub).await, PRO);
    assert_eq!(pod_of(&w.app, &sub).await.0, "PRO");
    let show = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        show.contains("An upgrade to CloudPod Business waits for invoice"),
        "{show}"
    );
    assert!(show.contains("/plan/status"), "the section polls: {show}");

    // Staff record the payment: the subscription, its item and its pod switch.
    pay(&w, &inv).await;
    let app = &w.app;
    wait_until("the pod is on BUSINESS", 20, || async {
        let pod = pod_of(app, &sub).await;
        (pod == ("BUSINESS".to_string(), 4, 100)).then_some(())
    })
    .await;
    assert_eq!(product_of(&w.app, &sub).await, BUSINESS);
    let (item_product, item_price): (String, i64) = sqlx::query_as(
        "SELECT product_id, unit_price_minor FROM subscription_items WHERE subscription_id = $1",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!((item_product.as_str(), item_price), (BUSINESS, 3999));
    let events = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM subscription_events WHERE subscription_id = '{sub}' \
             AND kind = 'plan'"
        ))
        .await;
    assert_eq!(events, 2, "requested, then changed");
    let audited = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE target_id = '{sub}' \
             AND action IN ('subscription.upgrade_invoiced', 'subscription.plan_changed')"
        ))
        .await;
    assert_eq!(audited, 2);
    // The next renewal bills the new plan.
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (1, 0), "{c:?}");
    let renewal = scalar_i64(
        &w.app,
        "SELECT total_minor FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'RENEWAL'",
        &sub,
    )
    .await;
    assert_eq!(renewal, 3999);
    // The page no longer polls once everything settled.
    let status = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}/plan/status"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        status.contains("BUSINESS plan: 4 vCPU") && !status.contains("hx-trigger"),
        "{status}"
    );
}

#[tokio::test]
async fn a_downgrade_waits_for_the_next_period_which_bills_and_runs_the_new_plan() {
    let w = world().await;
    let sub = active_pro(&w, "blog").await;
    let (start, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    w.app.state.clock.advance_to(start.plus_secs(5 * 86_400));
    let (page, at) = review(&w.owner, &sub, "CLOUDPOD-ENTERPRISE").await;
    assert!(page.contains("Takes effect on"), "{page}");
    assert!(page.contains("14.99"), "{page}");
    let res = change(&w.owner, &sub, "CLOUDPOD-ENTERPRISE", Some(&at)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    // Scheduled: nothing invoiced, nothing switched yet.
    assert_eq!(
        scalar_text(
            &w.app,
            "SELECT pending_product_id FROM subscriptions WHERE id = $1",
            &sub
        )
        .await,
        ENTERPRISE
    );
    assert_eq!(product_of(&w.app, &sub).await, PRO);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invoices WHERE billing_reason = 'PLAN_CHANGE'")
            .await,
        0
    );
    let show = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        show.contains("A downgrade to CloudPod Enterprise takes effect on"),
        "{show}"
    );

    // The renewal bills the new plan at its price.
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (1, 0), "{c:?}");
    let (renewal, total): (String, i64) = sqlx::query_as(
        "SELECT id, total_minor FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'RENEWAL'",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(total, 1499);
    let line_product = scalar_text(
        &w.app,
        "SELECT product_id FROM invoice_lines WHERE invoice_id = $1 AND kind = 'ITEM'",
        &renewal,
    )
    .await;
    assert_eq!(line_product, ENTERPRISE);
    assert_eq!(product_of(&w.app, &sub).await, PRO, "not before the period");

    // The roll switches the subscription, its item and its pod.
    w.app.state.clock.advance_to(end.plus_secs(1));
    let c = bill_run(&w.app).await;
    assert_eq!((c.periods_rolled, c.failed), (1, 0), "{c:?}");
    assert_eq!(product_of(&w.app, &sub).await, ENTERPRISE);
    let pending: Option<String> =
        sqlx::query_scalar("SELECT pending_product_id FROM subscriptions WHERE id = $1")
            .bind(&sub)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(pending, None);
    let (item_product, item_price): (String, i64) = sqlx::query_as(
        "SELECT product_id, unit_price_minor FROM subscription_items WHERE subscription_id = $1",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!((item_product.as_str(), item_price), (ENTERPRISE, 1499));
    let app = &w.app;
    wait_until("the pod is on ENTERPRISE", 20, || async {
        let pod = pod_of(app, &sub).await;
        (pod == ("ENTERPRISE".to_string(), 8, 200)).then_some(())
    })
    .await;
    // The period after bills ENTERPRISE again (the item now).
    let (_, next_end, n) = crate::bill_runs::period(&w.app, &sub).await;
    assert_eq!(n, 1);
    w.app
        .state
        .clock
        .advance_to(next_end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (1, 0), "{c:?}");
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM invoices WHERE subscription_id = '{sub}' \
                 AND billing_reason = 'RENEWAL' AND total_minor = 1499"
            ))
            .await,
        2
    );
}

async fn refused(res: reqwest::Response, why: &[&str]) {
    let code = res.status();
    let html = res.text().await.unwrap();
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("id=\"e-plan\""), "beside the field: {html}");
    for w in why {
        assert!(html.contains(w), "lacks {w}: {html}");
    }
}

#[tokio::test]
async fn refusals_say_why_beside_the_field() {
    let w = world().await;
    let sub = active_pro(&w, "web").await;
    let url = format!("/billing/subscriptions/{sub}/plan");
    // The same plan; no plan; a plan the tenant cannot order.
    refused(
        change(&w.owner, &sub, "CLOUDPOD-PRO", None).await,
        &["on the CloudPod Pro plan already"],
    )
    .await;
    refused(
        change(&w.owner, &sub, "", None).await,
        &["Choose the new plan."],
    )
    .await;
    refused(
        change(&w.owner, &sub, "NO-SUCH-PLAN", None).await,
        &["Choose a plan your account can order."],
    )
    .await;
    // A downgrade below the pod's disk, with both sizes.
    let res = change(&w.owner, &sub, "CLOUDPOD-MINI", None).await;
    refused(res, &["20 GB", "50 GB", "never shrink"]).await;
    // With htmx: the form's fragment, the choice kept.
    let res = w.owner.post_htmx(&url, &[("plan", "CLOUDPOD-MINI")]).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"plan-change\"")
            && !html.contains("<html")
            && html.contains("value=\"CLOUDPOD-MINI\" selected"),
        "{html}"
    );
    // A review older than 15 minutes is not confirmed.
    let old = Timestamp(w.app.state.clock.now().0 - 3_600_000)
        .0
        .to_string();
    refused(
        change(&w.owner, &sub, "CLOUDPOD-BUSINESS", Some(&old)).await,
        &["review the change again"],
    )
    .await;

    // An unpaid upgrade blocks another change.
    let (_, at) = review(&w.owner, &sub, "CLOUDPOD-BUSINESS").await;
    let res = change(&w.owner, &sub, "CLOUDPOD-BUSINESS", Some(&at)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    refused(
        change(&w.owner, &sub, "CLOUDPOD-ENTERPRISE", None).await,
        &[
            "waits for invoice",
            "Another change can be made once it is done.",
        ],
    )
    .await;
    // Voided, it no longer blocks; a scheduled downgrade does.
    let inv = scalar_text(
        &w.app,
        "SELECT id FROM invoices WHERE subscription_id = $1 AND billing_reason = 'PLAN_CHANGE'",
        &sub,
    )
    .await;
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{inv}/void"),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (_, at) = review(&w.owner, &sub, "CLOUDPOD-ENTERPRISE").await;
    let res = change(&w.owner, &sub, "CLOUDPOD-ENTERPRISE", Some(&at)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    refused(
        change(&w.owner, &sub, "CLOUDPOD-BUSINESS", None).await,
        &["A downgrade to CloudPod Enterprise takes effect on"],
    )
    .await;

    // A suspended subscription is not upgraded; a cancelled one changes nothing.
    let other = active_pro(&w, "mail").await;
    let res = w
        .staff
        .post(
            &format!("/billing/subscriptions/{other}/suspend"),
            &[("reason", "abuse report"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    refused(
        change(&w.owner, &other, "CLOUDPOD-BUSINESS", None).await,
        &["suspended subscription cannot be upgraded"],
    )
    .await;
    let res = w
        .staff
        .post(
            &format!("/billing/subscriptions/{other}/cancel"),
            &[("when", "now"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    refused(
        change(&w.owner, &other, "CLOUDPOD-BUSINESS", None).await,
        &["cancelled cannot upgrade"],
    )
    .await;
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invoices WHERE billing_reason = 'PLAN_CHANGE'")
            .await,
        1,
        "only the voided one"
    );
}

#[tokio::test]
async fn who_may_change_plans_and_another_tenant_sees_nothing() {
    let w = world().await;
    let sub = active_pro(&w, "app").await;
    let url = format!("/billing/subscriptions/{sub}/plan");
    // A customer MEMBER reads the subscription but may not change its plan.
    w.app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    let member = w.app.signed_in("member@acme.test").await;
    assert_eq!(member.get(&url).await.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        member
            .post(&url, &[("plan", "CLOUDPOD-BUSINESS")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let show = member
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!show.contains("Change plan"), "{show}");
    // A customer BILLING member may.
    w.app
        .create_user(&w.staff, &w.tenant, "billing@acme.test", "BILLING")
        .await;
    let billing = w.app.signed_in("billing@acme.test").await;
    assert_eq!(billing.get(&url).await.status(), StatusCode::OK);
    // Staff BILLING+ may (the staff owner); a staff MEMBER may not.
    review(&w.staff, &sub, "CLOUDPOD-BUSINESS").await;
    let operator = w.app.operator_tenant_id().await;
    w.app
        .create_user(&w.staff, &operator, "ops@operator.test", "MEMBER")
        .await;
    let ops = w.app.signed_in("ops@operator.test").await;
    assert_eq!(ops.get(&url).await.status(), StatusCode::FORBIDDEN);
    // Another tenant's owner: 404 on the page, the review and the confirmation.
    let other = w.app.create_tenant(&w.staff, "globex").await;
    w.app
        .create_user(&w.staff, &other, "owner@globex.test", "OWNER")
        .await;
    let stranger = w.app.signed_in("owner@globex.test").await;
    assert_eq!(stranger.get(&url).await.status(), StatusCode::NOT_FOUND);
    let (_, at) = review(&w.owner, &sub, "CLOUDPOD-BUSINESS").await;
    assert_eq!(
        change(&stranger, &sub, "CLOUDPOD-BUSINESS", None)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        change(&stranger, &sub, "CLOUDPOD-BUSINESS", Some(&at))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        stranger
            .get(&format!("/billing/subscriptions/{sub}/plan/status"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invoices WHERE billing_reason = 'PLAN_CHANGE'")
            .await,
        0
    );
    // The owner confirms with htmx: the subscription's section comes back with the message.
    let res = w
        .owner
        .post_htmx(
            &url,
            &[
                ("plan", "CLOUDPOD-BUSINESS"),
                ("at", &at),
                ("reviewed", "CLOUDPOD-BUSINESS"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("id=\"subscription\"")
            && html.contains("the plan changes to CloudPod Business when it is paid"),
        "{html}"
    );
}

/// The renewal lead: an upgrade made after the next period was invoiced on the old plan pays
/// that period's difference too; an upgrade paid after such a renewal gets the difference
/// invoiced then. Either way the next period costs the new plan's price.
#[tokio::test]
async fn an_upgrade_never_leaves_the_next_period_billed_at_the_old_price() {
    let w = world().await;
    // Upgraded inside the lead: the invoice carries the next period's difference.
    let sub = active_pro(&w, "late").await;
    let (start, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (1, 0), "{c:?}");
    let (page, at) = review(&w.owner, &sub, "CLOUDPOD-BUSINESS").await;
    assert!(page.contains("already invoiced for"), "{page}");
    let at_ms: i64 = at.parse().unwrap();
    let secs = |t: i64| t.div_euclid(1000);
    let (length, left) = (secs(end.0) - secs(start.0), secs(end.0) - secs(at_ms));
    let rest = share(3999, left, length) - share(1999, left, length);
    let res = change(&w.owner, &sub, "CLOUDPOD-BUSINESS", Some(&at)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (inv, total): (String, i64) = sqlx::query_as(
        "SELECT id, total_minor FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'PLAN_CHANGE'",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(total, rest + (3999 - 1999));
    pay(&w, &inv).await;
    let app = &w.app;
    wait_until("the upgrade applies", 20, || async {
        (product_of(app, &sub).await == BUSINESS).then_some(())
    })
    .await;
    // No further invoice: the renewal plus the difference is the new plan's price.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM invoices WHERE subscription_id = '{sub}' \
                 AND billing_reason = 'PLAN_CHANGE'"
            ))
            .await,
        1
    );

    // Upgraded before the lead, paid after the renewal: the difference is invoiced at payment.
    let sub = active_pro(&w, "slow").await;
    let (_, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    w.app.state.clock.advance_to(end.plus_secs(-10 * 86_400));
    let (_, at) = review(&w.owner, &sub, "CLOUDPOD-BUSINESS").await;
    let res = change(&w.owner, &sub, "CLOUDPOD-BUSINESS", Some(&at)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let inv = scalar_text(
        &w.app,
        "SELECT id FROM invoices WHERE subscription_id = $1 AND billing_reason = 'PLAN_CHANGE'",
        &sub,
    )
    .await;
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (1, 0), "{c:?}");
    let renewal = scalar_i64(
        &w.app,
        "SELECT total_minor FROM invoices WHERE subscription_id = $1 AND billing_reason = 'RENEWAL'",
        &sub,
    )
    .await;
    assert_eq!(renewal, 1999, "still on PRO when it renewed");
    pay(&w, &inv).await;
    let app = &w.app;
    let extra: i64 = wait_until("the next period's difference", 20, || async {
        sqlx::query_scalar(
            "SELECT total_minor FROM invoices WHERE subscription_id = $1 \
             AND billing_reason = 'PLAN_CHANGE' AND id <> $2",
        )
        .bind(&sub)
        .bind(&inv)
        .fetch_optional(&app.state.db.pool)
        .await
        .unwrap()
    })
    .await;
    assert_eq!(extra, 3999 - 1999);
    assert_eq!(product_of(&w.app, &sub).await, BUSINESS);
}

#[tokio::test]
async fn a_scheduled_downgrade_can_be_withdrawn_until_its_renewal_is_issued() {
    let w = world().await;
    let sub = active_pro(&w, "shop").await;
    let other = active_pro(&w, "blog").await;
    let (start, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    w.app.state.clock.advance_to(start.plus_secs(5 * 86_400));
    for s in [&sub, &other] {
        let (_, at) = review(&w.owner, s, "CLOUDPOD-ENTERPRISE").await;
        let res = change(&w.owner, s, "CLOUDPOD-ENTERPRISE", Some(&at)).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
    }
    let show = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(show.contains("id=\"withdraw-downgrade\""), "{show}");
    let res = w
        .owner
        .post(&format!("/billing/subscriptions/{sub}/plan/withdraw"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let pending: Option<String> =
        sqlx::query_scalar("SELECT pending_product_id FROM subscriptions WHERE id = $1")
            .bind(&sub)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(pending, None);
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'subscription.downgrade_withdrawn' \
                 AND target_id = '{sub}'"
            ))
            .await,
        1
    );
    let show = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!show.contains("withdraw-downgrade") && !show.contains("A downgrade to"));
    // Nothing left to withdraw.
    let res = w
        .owner
        .post(&format!("/billing/subscriptions/{sub}/plan/withdraw"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);

    // The renewal bills the plan kept.
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    let c = bill_run(&w.app).await;
    assert_eq!((c.issued, c.failed), (2, 0), "{c:?}");
    let total: i64 = sqlx::query_scalar(
        "SELECT total_minor FROM invoices WHERE subscription_id = $1 AND billing_reason = 'RENEWAL'",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    let pro_total: i64 = sqlx::query_scalar(
        "SELECT total_minor FROM invoices WHERE subscription_id = $1 AND billing_reason = 'FIRST'",
    )
    .bind(&sub)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(total, pro_total, "the renewal bills PRO again");

    // The other kept its downgrade: its renewal bills the new plan, and it is too late now.
    let total: i64 = sqlx::query_scalar(
        "SELECT total_minor FROM invoices WHERE subscription_id = $1 AND billing_reason = 'RENEWAL'",
    )
    .bind(&other)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(total, 1499);
    let res = w
        .owner
        .post(
            &format!("/billing/subscriptions/{other}/plan/withdraw"),
            &[],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body = res.text().await.unwrap();
    assert!(body.contains("can no longer be withdrawn"), "{body}");
}

/// A downgrade that takes effect while the subscription is suspended cannot resize the pod
/// then; once its resize job has given up, resuming the subscription resizes the pod.
#[tokio::test]
async fn a_pod_left_behind_by_a_downgrade_while_suspended_is_resized_on_resume() {
    let w = world().await;
    let sub = active_pro(&w, "sleepy").await;
    let (start, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    w.app.state.clock.advance_to(start.plus_secs(5 * 86_400));
    let (_, at) = review(&w.owner, &sub, "CLOUDPOD-ENTERPRISE").await;
    let res = change(&w.owner, &sub, "CLOUDPOD-ENTERPRISE", Some(&at)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    w.app.state.clock.advance_to(end.plus_secs(-3 * 86_400));
    assert_eq!(bill_run(&w.app).await.issued, 1);
    let renewal = scalar_text(
        &w.app,
        "SELECT id FROM invoices WHERE subscription_id = $1 AND billing_reason = 'RENEWAL'",
        &sub,
    )
    .await;
    pay(&w, &renewal).await;
    let res = w
        .staff
        .post(
            &format!("/billing/subscriptions/{sub}/suspend"),
            &[("reason", "abuse report"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let app = &w.app;
    let pod_status = |want: &'static str| {
        let sub = sub.clone();
        async move {
            wait_until(want, 20, || {
                let sub = sub.clone();
                async move {
                    let st: String = sqlx::query_scalar(
                        "SELECT c.status FROM cloudpods c JOIN subscriptions s \
                         ON s.cloudpod_id = c.id WHERE s.id = $1",
                    )
                    .bind(&sub)
                    .fetch_one(&app.state.db.pool)
                    .await
                    .unwrap();
                    (st == want).then_some(())
                }
            })
            .await
        }
    };
    pod_status("SUSPENDED").await;
    // The period ends while suspended: the plan switches, the pod cannot be resized now.
    w.app.state.clock.advance_to(end.plus_secs(1));
    let c = bill_run(&w.app).await;
    assert_eq!((c.periods_rolled, c.failed), (1, 0), "{c:?}");
    assert_eq!(product_of(&w.app, &sub).await, ENTERPRISE);
    // Its resize job gives up (as it would after its attempts).
    sqlx::query(
        "UPDATE jobs SET state = 'discarded', unique_key = NULL \
         WHERE kind = 'subscription.plan_resize'",
    )
    .execute(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(pod_of(&w.app, &sub).await.0, "PRO");
    let res = w
        .staff
        .post(
            &format!("/billing/subscriptions/{sub}/resume"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_until("the pod is on ENTERPRISE", 30, || async {
        let pod = pod_of(app, &sub).await;
        (pod == ("ENTERPRISE".to_string(), 8, 200)).then_some(())
    })
    .await;
    pod_status("ACTIVE").await;
}
