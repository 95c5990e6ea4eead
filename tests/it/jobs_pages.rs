//! `/ops/jobs`: staff read counts, lists and details; ADMIN+ retry and cancel (audited).

use mpanel::jobs::{NewJob, store};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// A job that failed twice and was given up, with its errors, as a worker would leave it.
async fn discarded_job(app: &TestApp) -> String {
    let job = app
        .enqueue(
            NewJob::new(
                "mail.send",
                &json!({"to": "ann@acme.test", "api_token": "s3cr3t"}),
            )
            .max_attempts(2),
        )
        .await;
    for attempt in 1..=2 {
        let now = mpanel::db::Timestamp::now();
        let claimed = store::claim(&app.state.db, "w-test", 1, now, now.plus_secs(30))
            .await
            .unwrap();
        assert_eq!(claimed[0].id, job.id);
        let state = if attempt == 2 {
            "discarded"
        } else {
            "retryable"
        };
        store::fail(
            &app.state.db,
            &store::Failure {
                id: &job.id,
                worker: "w-test",
                attempt,
                error: &format!("SMTP: connection refused (try {attempt})"),
                state,
                run_at: now,
                now,
            },
        )
        .await
        .unwrap();
    }
    job.id
}

#[tokio::test]
async fn staff_see_counts_lists_and_each_attempts_error() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let failed = discarded_job(&app).await;
    for _ in 0..3 {
        app.enqueue(NewJob::new("cloudpod.provision", &json!({"pod": 1})))
            .await;
    }

    let html = owner.get("/ops/jobs").await.text().await.unwrap();
    assert!(html.contains("<h1>Jobs</h1>"));
    let counts = between(&html, "id=\"job-counts\"", "</table>").unwrap();
    assert!(counts.contains("cloudpod.provision"));
    assert!(
        counts.contains("kind=cloudpod.provision&amp;state=available\">3</a>"),
        "{counts}"
    );
    assert!(counts.contains("kind=mail.send&amp;state=discarded\">1</a>"));

    let html = owner
        .get("/ops/jobs?state=discarded")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains(&failed) && !html.contains("cloudpod.provision</td>"));
    let html = owner
        .get("/ops/jobs?kind=cloudpod.provision")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("Page 1 of 1 · 3 in all"));
    let html = owner
        .get(&format!("/ops/jobs?q={}", &failed[24..]))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("1 in all"));
    // junk filters are ignored, not errors
    assert_eq!(
        owner.get("/ops/jobs?state=nope&page=x").await.status(),
        StatusCode::OK
    );

    let html = owner
        .get(&format!("/ops/jobs/{failed}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("<strong>discarded</strong>"));
    assert!(
        html.contains("connection refused (try 1)") && html.contains("connection refused (try 2)")
    );
    assert!(
        html.contains("ann@acme.test") && !html.contains("s3cr3t"),
        "secrets hidden"
    );
    assert!(html.contains("Retry now") && !html.contains("Cancel job"));
    assert!(
        !html.contains("hx-trigger=\"every 2s\""),
        "a final job does not poll"
    );

    let html = owner.get("/ops").await.text().await.unwrap();
    assert!(html.contains("href=\"/ops/jobs\""));
    assert_eq!(
        owner.get("/ops/jobs/nope").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn customers_cannot_see_the_queue_and_billing_staff_only_read() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let failed = discarded_job(&app).await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "boss@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("boss@acme.test").await;
    for path in ["/ops", "/ops/jobs", &format!("/ops/jobs/{failed}")] {
        assert_eq!(
            customer.get(path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    let res = customer
        .post(&format!("/ops/jobs/{failed}/retry"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(
        !customer
            .get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("href=\"/ops\"")
    );
    assert_eq!(
        app.client().get("/ops/jobs").await.status(),
        StatusCode::SEE_OTHER
    );

    let operator: String = sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    app.create_user(&owner, &operator, "bill@operator.test", "BILLING")
        .await;
    let billing = app.signed_in("bill@operator.test").await;
    let html = billing
        .get(&format!("/ops/jobs/{failed}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("connection refused") && !html.contains("Retry now"));
    assert!(
        billing
            .get("/")
            .await
            .text()
            .await
            .unwrap()
            .contains("href=\"/ops\"")
    );
    let res = billing
        .post(&format!("/ops/jobs/{failed}/retry"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = billing
        .post(&format!("/ops/jobs/{failed}/cancel"), &[("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.job_state(&failed).await, "discarded");
}

#[tokio::test]
async fn admins_retry_and_cancel_with_confirmation_and_audit() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let failed = discarded_job(&app).await;

    // retry: discarded → available, with room for one more attempt
    let res = owner.post(&format!("/ops/jobs/{failed}/retry"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), format!("/ops/jobs/{failed}"));
    assert_eq!(app.job_state(&failed).await, "available");
    assert_eq!(
        app.count(&format!(
            "SELECT max_attempts FROM jobs WHERE id = '{failed}'"
        ))
        .await,
        3
    );
    let html = owner
        .get(&format!("/ops/jobs/{failed}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("is queued to run again now"),
        "flash after the redirect"
    );
    assert!(
        html.contains("hx-trigger=\"every 2s\""),
        "a waiting job polls its status"
    );
    // retrying a waiting job is refused with a reason
    let res = owner.post(&format!("/ops/jobs/{failed}/retry"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("already waiting"));

    // cancel needs the confirmation box
    let res = owner.post(&format!("/ops/jobs/{failed}/cancel"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Tick the confirmation box")
    );
    assert_eq!(app.job_state(&failed).await, "available");
    // htmx: the status section comes back with a notice
    let res = owner
        .post_htmx(&format!("/ops/jobs/{failed}/cancel"), &[("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.trim_start().starts_with("<section id=\"job\""),
        "{html}"
    );
    assert!(
        html.contains("was cancelled; it will not run")
            && html.contains("<strong>cancelled</strong>")
    );
    assert_eq!(app.job_state(&failed).await, "cancelled");
    let res = owner
        .post(&format!("/ops/jobs/{failed}/cancel"), &[("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("already finished"));

    // a running job is not cancelled from under its worker
    let running = app.enqueue(NewJob::new("test.x", &json!({}))).await;
    let now = mpanel::db::Timestamp::now();
    store::claim(&app.state.db, "w-test", 5, now, now.plus_secs(30))
        .await
        .unwrap();
    let res = owner
        .post(
            &format!("/ops/jobs/{}/cancel", running.id),
            &[("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("running now"));

    for action in ["job.retried", "job.cancelled"] {
        let (n, target): (i64, String) = sqlx::query_as(&format!(
            "SELECT CAST(COUNT(*) AS BIGINT), MAX(target_id) FROM audit_log WHERE action = '{action}' AND actor_email = '{OWNER_EMAIL}'"
        ))
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
        assert_eq!((n, target.as_str()), (1, failed.as_str()), "{action}");
    }
}

#[tokio::test]
async fn the_built_in_worker_runs_jobs_and_the_status_fragment_follows() {
    // The app's own worker (as in `mpanel serve`) runs an app-registered kind: mail.send,
    // written as an .eml file because no SMTP server is configured.
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let mail = mpanel::mail::OutgoingMail {
        to: "ann@acme.test".into(),
        subject: "Hello".into(),
        text_body: "Hi Ann".into(),
        ..Default::default()
    };
    let mut tx = app.state.db.begin_write().await.unwrap();
    let job = mpanel::mail::enqueue(&mut tx, &mail).await.unwrap();
    tx.commit().await.unwrap();
    app.wait_for_job(&job.id, "completed", 10).await;
    let res = owner
        .get_htmx(&format!("/ops/jobs/{}?part=job", job.id))
        .await;
    let html = res.text().await.unwrap();
    assert!(
        html.trim_start().starts_with("<section id=\"job\"")
            && html.contains("<strong>completed</strong>")
    );
    assert!(
        !html.contains("every 2s"),
        "polling stops when the job ends"
    );
}

#[tokio::test]
async fn retry_is_refused_while_another_job_holds_the_unique_key() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let old = app
        .enqueue(NewJob::new("cloudpod.resize", &json!({})).unique_key("pod:p1"))
        .await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    store::cancel(&mut tx, &old.id, mpanel::db::Timestamp::now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let newer = app
        .enqueue(NewJob::new("cloudpod.resize", &json!({})).unique_key("pod:p1"))
        .await;
    assert!(!newer.duplicate, "the cancelled job freed the key");
    let res = owner
        .post(&format!("/ops/jobs/{}/retry", old.id), &[])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("holds the same unique key")
    );
    assert_eq!(app.job_state(&old.id).await, "cancelled");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'job.retried'")
            .await,
        0
    );
}
