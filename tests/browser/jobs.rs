use mpanel::db::Timestamp;
use mpanel::jobs::{NewJob, store};
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp};

/// Staff open Operations → Jobs, read a failed job's errors, retry it, and cancel a waiting job
/// after ticking the confirmation box.
#[tokio::test]
async fn staff_retry_a_failed_job_and_cancel_a_waiting_one() {
    let app = TestApp::spawn_without_worker().await;
    app.setup_owner().await;
    let failed = app
        .enqueue(NewJob::new("mail.send", &json!({"to": "ann@acme.test"})).max_attempts(1))
        .await;
    let now = Timestamp::now();
    store::claim(&app.state.db, "w-browser", 1, now, now.plus_secs(30))
        .await
        .unwrap();
    store::fail(
        &app.state.db,
        &store::Failure {
            id: &failed.id,
            worker: "w-browser",
            attempt: 1,
            error: "SMTP: connection refused",
            state: "discarded",
            run_at: now,
            now,
        },
    )
    .await
    .unwrap();
    let waiting = app
        .enqueue(
            NewJob::new("cloudpod.provision", &json!({"pod": "p1"})).run_at(now.plus_secs(3600)),
        )
        .await;

    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, owner").await;
    b.follow("Operations").await;
    b.expect_heading("Operations").await;
    b.follow("Open the job queue").await;
    b.expect_heading("Jobs").await;
    b.choose("State", "discarded").await;
    b.expect_text("Page 1 of 1 · 2 in all").await;
    b.press("Filter").await;
    // the filtered list replaces the page: wait for it before following a link in it
    b.expect_text("Page 1 of 1 · 1 in all").await;
    b.follow(&failed.id).await;
    b.expect_heading("Job mail.send").await;
    b.expect_text("SMTP: connection refused").await;
    b.press("Retry now").await;
    b.expect_text("Job mail.send is queued to run again now.")
        .await;
    b.expect_text("available").await;
    assert_eq!(app.job_state(&failed.id).await, "available");

    b.goto(&format!("{}/ops/jobs/{}", app.base, waiting.id))
        .await;
    b.expect_heading("Job cloudpod.provision").await;
    b.field("Yes, cancel this job: it will not run")
        .await
        .click()
        .await
        .unwrap();
    b.press("Cancel job").await;
    b.expect_text("Job cloudpod.provision was cancelled; it will not run.")
        .await;
    assert_eq!(app.job_state(&waiting.id).await, "cancelled");
    b.stop().await;
}
