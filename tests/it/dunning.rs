//! Dunning on the movable clock: reminders before and after the due date, the suspension
//! with the reason OVERDUE, paying resumes it (a staff suspension stays), a late fee once,
//! and after the second grace the cancellation (pod deleted, invoices voided). Every bill run
//! is run twice (or concurrently) at each step: each e-mail goes out once.

use mpanel::billing::automation::model::Settings;
use mpanel::billing::automation::service::{self as automation, RunCounts};
use mpanel::db::Timestamp;
use reqwest::StatusCode;

use crate::bill_runs::{World, active_subscription, open_invoices, pay, settings, status, world};
use crate::helpers::*;

const BILLING: &str = "billing@acme.test";
const DAY: i64 = 86_400;

async fn run_with(app: &TestApp, s: &Settings) -> RunCounts {
    let (_, c) = automation::bill_run(&app.state.db, s, app.state.clock.now(), "test")
        .await
        .unwrap();
    assert_eq!(c.failed, 0, "{:?}", c.failures);
    c
}

/// Subjects of the reminders queued to the tenant's billing address, oldest first.
async fn reminders(app: &TestApp) -> Vec<String> {
    let payloads: Vec<String> = sqlx::query_scalar(
        "SELECT payload FROM jobs WHERE kind = 'mail.send' ORDER BY created_at, id",
    )
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap();
    payloads
        .iter()
        .filter_map(|p| serde_json::from_str::<mpanel::mail::OutgoingMail>(p).ok())
        .filter(|m| m.to.contains(BILLING))
        .filter(|m| m.subject.starts_with("Reminder") || m.subject.starts_with("Overdue"))
        .map(|m| format!("{}\n{}", m.subject, m.text_body))
        .collect()
}

/// (id, number, due date, status) of the subscription's renewal invoices.
async fn renewal_invoices(app: &TestApp, sub: &str) -> Vec<(String, String, String, String)> {
    sqlx::query_as(
        "SELECT id, number, due_date, status FROM invoices WHERE subscription_id = $1 \
         AND billing_reason = 'RENEWAL' ORDER BY created_at, id",
    )
    .bind(sub)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

async fn reason(app: &TestApp, sub: &str) -> String {
    sqlx::query_scalar("SELECT suspend_reason FROM subscriptions WHERE id = $1")
        .bind(sub)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

/// Noon UTC on `date` (YYYY-MM-DD) plus `days`.
fn noon(date: &str, days: i64) -> Timestamp {
    let d = time::Date::parse(
        date,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    let t = d.midnight().assume_utc().unix_timestamp() + 12 * 3_600 + days * DAY;
    Timestamp(t * 1000)
}

/// An active subscription whose first renewal invoice is issued and unpaid: (sub, invoice
/// id, number, due date).
async fn renewal_issued(w: &World, key: &str) -> (String, String, String, String) {
    let sub = active_subscription(w, key).await;
    let (_, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    w.app.state.clock.advance_to(end.plus_secs(-3 * DAY));
    let c = crate::bill_runs::bill_run(&w.app).await;
    assert_eq!(c.issued, 1, "{c:?}");
    let (id, number, due, st) = renewal_invoices(&w.app, &sub).await.remove(0);
    assert_eq!(st, "ISSUED");
    (sub, id, number, due)
}

/// The `subscription.invoice_paid` job of `invoice` is queued; run it as the worker would.
async fn invoice_paid_job(app: &TestApp, sub: &str, invoice: &str) {
    let queued = app
        .count(&format!(
            "SELECT COUNT(*) FROM jobs WHERE kind = 'subscription.invoice_paid' \
             AND unique_key = 'subscription-invoice-paid:{invoice}'"
        ))
        .await;
    assert_eq!(queued, 1);
    mpanel::subscriptions::service::invoice_paid(
        &app.state.db,
        sub,
        invoice,
        app.state.clock.today(),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn reminders_then_suspension_then_payment_resumes_each_mail_once() {
    let w = world().await;
    let s = settings(&w.app);
    let (sub, inv, number, due) = renewal_issued(&w, "dun-full-0001-abcdef").await;
    assert!(reminders(&w.app).await.is_empty());

    // four days before the due date: nothing yet (the reminder's window is days -3 to -1)
    w.app.state.clock.advance_to(noon(&due, -4));
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 0);
    w.app.state.clock.advance_to(noon(&due, -2));
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 1);
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 0);
    let mails = reminders(&w.app).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].starts_with(&format!("Reminder: invoice {number} is due on {due}")),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains(&format!("/billing/invoices/{inv}")));
    let (_, due_amount) = open_invoices(&w.app, &sub).await.remove(0);
    assert!(mails[0].contains(&due_amount), "{}", mails[0]);

    // on the due date: nothing; the day after: the first overdue reminder, once
    w.app.state.clock.advance_to(noon(&due, 0));
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 0);
    w.app.state.clock.advance_to(noon(&due, 1));
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 1);
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 0);
    let mails = reminders(&w.app).await;
    assert_eq!(mails.len(), 2);
    assert!(mails[1].starts_with(&format!("Overdue: invoice {number}")));
    assert!(mails[1].contains("1 day overdue"), "{}", mails[1]);
    assert_eq!(status(&w.app, &sub).await, "ACTIVE");

    // day 7: the reminder and the suspension, by two runs at once
    w.app.state.clock.advance_to(noon(&due, 7));
    let (a, b) = tokio::join!(run_with(&w.app, &s), run_with(&w.app, &s));
    assert_eq!(a.dunning_steps + b.dunning_steps, 2, "{a:?} {b:?}");
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 0);
    assert_eq!(reminders(&w.app).await.len(), 3);
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    assert_eq!(reason(&w.app, &sub).await, "OVERDUE");

    // the customer sees why and what to pay, on the services list and the subscription
    for path in [
        "/billing/subscriptions".to_string(),
        format!("/billing/subscriptions/{sub}"),
    ] {
        let page = w.owner.get(&path).await.text().await.unwrap();
        assert!(
            page.contains("Suspended for an overdue invoice")
                && page.contains(&number)
                && page.contains(&format!("/billing/invoices/{inv}")),
            "{path}: {page}"
        );
    }
    let timeline = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(timeline.contains(&format!("Suspended: invoice {number} is overdue")));
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'subscription.suspended' \
                 AND target_id = '{sub}'"
            ))
            .await,
        1
    );

    // paying everything overdue resumes it
    let (id, amount) = open_invoices(&w.app, &sub).await.remove(0);
    assert_eq!(id, inv);
    pay(&w, &inv, &amount).await;
    invoice_paid_job(&w.app, &sub, &inv).await;
    assert_eq!(status(&w.app, &sub).await, "ACTIVE");
    assert_eq!(reason(&w.app, &sub).await, "");
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Resumed: the overdue invoices are paid"));
    assert!(!page.contains("Suspended for an overdue invoice"));

    // a paid invoice is reminded of no more
    w.app.state.clock.advance_to(noon(&due, 14));
    assert_eq!(run_with(&w.app, &s).await.dunning_steps, 0);
    assert_eq!(reminders(&w.app).await.len(), 3);
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM dunning_steps WHERE invoice_id = '{inv}'"
            ))
            .await,
        4
    );
}

#[tokio::test]
async fn a_staff_suspension_is_not_resumed_by_paying() {
    let w = world().await;
    let s = settings(&w.app);
    let (sub, inv, _, due) = renewal_issued(&w, "dun-staff-0001-abcdef").await;
    let res = w
        .staff
        .post(
            &format!("/billing/subscriptions/{sub}/suspend"),
            &[("reason", "abuse report"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    w.app.state.clock.advance_to(noon(&due, 8));
    run_with(&w.app, &s).await;
    // the suspension step found it suspended already: the reason stays the staff's
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    assert_eq!(reason(&w.app, &sub).await, "STAFF");
    let (_, amount) = open_invoices(&w.app, &sub).await.remove(0);
    pay(&w, &inv, &amount).await;
    invoice_paid_job(&w.app, &sub, &inv).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    assert_eq!(reason(&w.app, &sub).await, "STAFF");
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Suspended for an overdue invoice"));
}

#[tokio::test]
async fn paying_one_of_two_overdue_invoices_does_not_resume() {
    let w = world().await;
    let s = settings(&w.app);
    let (sub, first, _, due) = renewal_issued(&w, "dun-two-0001-abcdef").await;
    // far enough for the next renewal to be issued and overdue too, not yet cancelled
    w.app.state.clock.advance_to(noon(&due, 7));
    run_with(&w.app, &s).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    // the next renewal is issued 7 days before its period (10 to 13 days after this due
    // date, or up to 14 with the time of day) and is overdue 14 days later
    w.app.state.clock.advance_to(noon(&due, 14));
    run_with(&w.app, &s).await;
    w.app.state.clock.advance_to(noon(&due, 29));
    run_with(&w.app, &s).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    let all = renewal_invoices(&w.app, &sub).await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert!(all[1].2.as_str() < w.app.state.clock.today().to_string().as_str());
    let open = open_invoices(&w.app, &sub).await;
    pay(&w, &first, &open[0].1).await;
    invoice_paid_job(&w.app, &sub, &first).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&all[1].1), "{page}");
    pay(&w, &all[1].0, &open[1].1).await;
    invoice_paid_job(&w.app, &sub, &all[1].0).await;
    assert_eq!(status(&w.app, &sub).await, "ACTIVE");
}

#[tokio::test]
async fn a_late_fee_is_added_once_as_its_own_invoice() {
    let w = world().await;
    let mut s = settings(&w.app);
    s.late_fee = Settings::new(0, 7, 3, "1,7,14", 7, 30, "5%")
        .unwrap()
        .late_fee;
    let (sub, inv, number, due) = renewal_issued(&w, "dun-fee-0001-abcdef").await;
    let total: i64 = sqlx::query_scalar("SELECT total_minor FROM invoices WHERE id = $1")
        .bind(&inv)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    w.app.state.clock.advance_to(noon(&due, 6));
    run_with(&w.app, &s).await;
    let fees = format!(
        "SELECT COUNT(*) FROM invoices WHERE subscription_id = '{sub}' AND billing_reason = 'LATE_FEE'"
    );
    assert_eq!(w.app.count(&fees).await, 0);
    w.app.state.clock.advance_to(noon(&due, 7));
    run_with(&w.app, &s).await;
    run_with(&w.app, &s).await;
    w.app.state.clock.advance_to(noon(&due, 8));
    run_with(&w.app, &s).await;
    assert_eq!(w.app.count(&fees).await, 1);
    let (fee_inv, source, fee_status, line, description): (String, String, String, i64, String) =
        sqlx::query_as(
            "SELECT i.id, i.source, i.status, l.amount_minor, l.description FROM invoices i \
             JOIN invoice_lines l ON l.invoice_id = i.id AND l.kind = 'ITEM' \
             WHERE i.subscription_id = $1 AND i.billing_reason = 'LATE_FEE'",
        )
        .bind(&sub)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        (source.as_str(), fee_status.as_str()),
        ("ADJUSTMENT", "ISSUED")
    );
    // 5 % of the overdue invoice's total, rounded once
    assert_eq!(line, (total * 5 + 50) / 100);
    assert_eq!(description, format!("Late fee for invoice {number}"));
    // no fee on the fee
    w.app.state.clock.advance_to(noon(&due, 28));
    run_with(&w.app, &s).await;
    assert_eq!(w.app.count(&fees).await, 1);
    let fee_steps = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM dunning_steps WHERE invoice_id = '{fee_inv}' AND step = 'LATE_FEE'"
        ))
        .await;
    assert_eq!(fee_steps, 0);
    // the fee is overdue too: paying the first invoice alone does not resume
    let open = open_invoices(&w.app, &sub).await;
    pay(&w, &inv, &open[0].1).await;
    invoice_paid_job(&w.app, &sub, &inv).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
}

#[tokio::test]
async fn reminders_set_to_zero_send_none() {
    let w = world().await;
    let mut s = settings(&w.app);
    s.remind_before_days = 0;
    s.remind_after_days = vec![];
    let (sub, _, _, due) = renewal_issued(&w, "dun-quiet-0001-abcdef").await;
    for day in [-2, 1, 7, 14] {
        w.app.state.clock.advance_to(noon(&due, day));
        run_with(&w.app, &s).await;
        run_with(&w.app, &s).await;
    }
    assert!(reminders(&w.app).await.is_empty());
    // the suspension still came
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    // and with one overdue reminder kept (the 7th day), only that one
    let w = world().await;
    let mut s = settings(&w.app);
    s.remind_before_days = 0;
    s.remind_after_days = Settings::new(0, 7, 0, "0,7", 7, 30, "")
        .unwrap()
        .remind_after_days;
    assert_eq!(s.remind_after_days, vec![7]);
    let (_, _, _, due) = renewal_issued(&w, "dun-quiet-0002-abcdef").await;
    for day in [-2, 1, 7, 14] {
        w.app.state.clock.advance_to(noon(&due, day));
        run_with(&w.app, &s).await;
        run_with(&w.app, &s).await;
    }
    let mails = reminders(&w.app).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(mails[0].contains("7 days overdue"));
}

/// A tenant with an OWNER, the CLOUDPOD-PRO plan at 19.99 EUR a month (5.00 setup), and a
/// worker running the jobs (pods, payments, mail).
async fn pod_world() -> World {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    let res = staff
        .post(
            "/billing/products/0192f000-0000-7000-8000-000000000002/prices",
            &[
                ("currency", "EUR"),
                ("period", "MONTHLY"),
                ("amount", "19.99"),
                ("setup_fee", "5.00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = app.signed_in("owner@acme.test").await;
    World {
        app,
        staff,
        owner,
        product: "0192f000-0000-7000-8000-000000000002".into(),
    }
}

async fn pod_settles(app: &TestApp, pod: &str, status: &str) {
    wait_until(&format!("the pod is {status}"), 30, || async {
        let (s, op): (String, String) =
            sqlx::query_as("SELECT status, operation FROM cloudpods WHERE id = $1")
                .bind(pod)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        (s == status && op.is_empty()).then_some(())
    })
    .await;
    let open = format!(
        "SELECT COUNT(*) FROM jobs WHERE subject = 'cloudpod:{pod}' \
         AND state IN ('available', 'running', 'retryable')"
    );
    wait_until("the pod's jobs finish", 30, || async {
        (app.count(&open).await == 0).then_some(())
    })
    .await;
}

async fn sub_status_is(app: &TestApp, sub: &str, want: &str) {
    wait_until(&format!("the subscription is {want}"), 30, || async {
        (status(app, sub).await == want).then_some(())
    })
    .await;
}

#[tokio::test]
async fn an_overdue_pod_is_suspended_resumed_by_paying_then_cancelled_and_deleted() {
    let w = pod_world().await;
    let s = settings(&w.app);
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("addon", ""),
                ("pod_name", "late"),
                ("region", ""),
                ("idempotency_key", "dun-pod-0001-abcdef"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let sub = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let (first, amount) = open_invoices(&w.app, &sub).await.remove(0);
    pay(&w, &first, &amount).await;
    sub_status_is(&w.app, &sub, "ACTIVE").await;
    let pod: String = sqlx::query_scalar("SELECT cloudpod_id FROM subscriptions WHERE id = $1")
        .bind(&sub)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    pod_settles(&w.app, &pod, "ACTIVE").await;

    // the first renewal goes unpaid: suspended with its pod on the 7th day overdue
    let (_, end, _) = crate::bill_runs::period(&w.app, &sub).await;
    w.app.state.clock.advance_to(end.plus_secs(-3 * DAY));
    run_with(&w.app, &s).await;
    let (r1, _, due1, _) = renewal_invoices(&w.app, &sub).await.remove(0);
    w.app.state.clock.advance_to(noon(&due1, 7));
    run_with(&w.app, &s).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    pod_settles(&w.app, &pod, "SUSPENDED").await;

    // paid: the worker's job resumes the subscription and the pod
    let open = open_invoices(&w.app, &sub).await;
    assert_eq!(open.len(), 1, "{open:?}");
    pay(&w, &r1, &open[0].1).await;
    sub_status_is(&w.app, &sub, "ACTIVE").await;
    pod_settles(&w.app, &pod, "ACTIVE").await;

    // the next renewal goes unpaid past the second grace: cancelled, pod deleted, voided
    w.app.state.clock.advance_to(noon(&due1, 25));
    run_with(&w.app, &s).await;
    let all = renewal_invoices(&w.app, &sub).await;
    assert_eq!(all.len(), 2, "{all:?}");
    let (r2, n2, due2, _) = all[1].clone();
    w.app.state.clock.advance_to(noon(&due2, 7));
    run_with(&w.app, &s).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    pod_settles(&w.app, &pod, "SUSPENDED").await;
    w.app.state.clock.advance_to(noon(&due2, 29));
    run_with(&w.app, &s).await;
    assert_eq!(status(&w.app, &sub).await, "SUSPENDED");
    w.app.state.clock.advance_to(noon(&due2, 30));
    let c = run_with(&w.app, &s).await;
    assert!(c.dunning_steps >= 1, "{c:?}");
    run_with(&w.app, &s).await;
    assert_eq!(status(&w.app, &sub).await, "CANCELLED");
    pod_settles(&w.app, &pod, "DELETED").await;
    let st: String = sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(&r2)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(st, "VOID");
    // nothing of the subscription is left to pay, and no credit was given
    assert!(open_invoices(&w.app, &sub).await.is_empty());
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id \
                 WHERE i.subscription_id = '{sub}'"
            ))
            .await,
        0
    );
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{sub}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains(&format!("Cancelled: invoice {n2} was not paid")),
        "{page}"
    );
    // each reminder once: as many mails as reminder steps recorded, none twice
    let mails = reminders(&w.app).await;
    let steps = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM dunning_steps d JOIN invoices i ON i.id = d.invoice_id \
             WHERE i.subscription_id = '{sub}' AND d.step LIKE 'REMIND%'"
        ))
        .await;
    assert!(mails.len() >= 3, "{mails:#?}");
    assert_eq!(mails.len() as i64, steps, "{mails:#?}");
    let mut unique = mails.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), mails.len(), "{mails:#?}");
}

#[tokio::test]
async fn an_invoice_without_a_subscription_gets_reminders_only() {
    let w = world().await;
    let s = settings(&w.app);
    let tenant: String = sqlx::query_scalar("SELECT id FROM tenants WHERE slug = 'acme'")
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = w
        .staff
        .post(
            "/billing/invoices",
            &[("tenant_id", tenant.as_str()), ("currency", "EUR")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let inv = location(&res)
        .trim_start_matches("/billing/invoices/")
        .to_string();
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{inv}/lines"),
            &[
                ("kind", "ITEM"),
                ("description", "Consulting"),
                ("quantity", "1"),
                ("unit_price", "50.00"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let res = w
        .staff
        .post(&format!("/billing/invoices/{inv}/issue"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let due: String = sqlx::query_scalar("SELECT due_date FROM invoices WHERE id = $1")
        .bind(&inv)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    for day in [8, 8, 40, 40] {
        w.app.state.clock.advance_to(noon(&due, day));
        run_with(&w.app, &s).await;
    }
    let mails = reminders(&w.app).await;
    assert_eq!(mails.len(), 2, "{mails:#?}");
    assert!(mails[0].contains("8 days overdue") && mails[1].contains("40 days overdue"));
    // no suspension step, no fee, no cancellation: the invoice stays open
    let steps: Vec<String> =
        sqlx::query_scalar("SELECT step FROM dunning_steps WHERE invoice_id = $1 ORDER BY step")
            .bind(&inv)
            .fetch_all(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(steps, vec!["REMIND_AFTER_14", "REMIND_AFTER_7"]);
    let st: String = sqlx::query_scalar("SELECT status FROM invoices WHERE id = $1")
        .bind(&inv)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(st, "ISSUED");
}

/// A part-paid invoice is never voided (that would erase a payment): when its subscription is
/// cancelled for non-payment, the rest is written off with a credit note and nothing of the
/// subscription is left open.
#[tokio::test]
async fn a_part_paid_invoice_is_written_off_when_dunning_cancels() {
    let w = world().await;
    let s = settings(&w.app);
    let (sub, inv, _, due) = renewal_issued(&w, "order-partpaid-0001-abc").await;
    pay(&w, &inv, "4.00").await;
    w.app.state.clock.advance_to(noon(&due, 30));
    run_with(&w.app, &s).await;
    run_with(&w.app, &s).await;
    assert_eq!(status(&w.app, &sub).await, "CANCELLED");
    let (st, paid, credited, left): (String, i64, i64, i64) = sqlx::query_as(
        "SELECT status, paid_minor, credited_minor, due_minor FROM invoices WHERE id = $1",
    )
    .bind(&inv)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_ne!(st, "VOID");
    assert_eq!((paid, left), (400, 0));
    let total: i64 = sqlx::query_scalar("SELECT total_minor FROM invoices WHERE id = $1")
        .bind(&inv)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(credited, total - 400, "the rest is written off");
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM credit_notes WHERE invoice_id = '{inv}' \
                 AND amount_minor = {credited}"
            ))
            .await,
        1
    );
    assert!(open_invoices(&w.app, &sub).await.is_empty());
}
