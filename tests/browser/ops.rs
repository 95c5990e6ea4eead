use mpanel::db::Timestamp;
use mpanel::jobs::{NewJob, store};
use serde_json::json;

use crate::browser::Browser;
use crate::helpers::{OWNER_EMAIL, PASSWORD, TestApp};

/// The overview open in one tab: a job that fails elsewhere shows up on the queue tile by
/// itself, without the page being reloaded.
#[tokio::test]
async fn the_queue_tile_updates_without_a_reload_when_a_job_fails_elsewhere() {
    let app = TestApp::spawn_with(|c| {
        c.no_worker = true;
        c.ops.ops_refresh_secs = 1;
    })
    .await;
    app.setup_owner().await;

    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, owner").await;
    b.follow("Operations").await;
    b.expect_heading("Operations").await;
    b.expect_text("The queue is empty").await;
    b.expect_text("Failed attempts per hour, last 24 h: 0 in all")
        .await;
    // a mark only this page load carries: a reload would lose it
    b.client
        .execute("window.opsMark = 'same page'; return true;", vec![])
        .await
        .unwrap();

    // Elsewhere: a worker gives a job up.
    let job = app
        .enqueue(NewJob::new("mail.send", &json!({"to": "ann@acme.test"})).max_attempts(1))
        .await;
    let now = Timestamp::now();
    store::claim(&app.state.db, "w-elsewhere", 1, now, now.plus_secs(30))
        .await
        .unwrap();
    store::fail(
        &app.state.db,
        &store::Failure {
            id: &job.id,
            worker: "w-elsewhere",
            attempt: 1,
            error: "SMTP: connection refused",
            state: "discarded",
            run_at: now,
            now,
        },
    )
    .await
    .unwrap();

    b.expect_text("Failed attempts per hour, last 24 h: 1 in all")
        .await;
    b.expect_gone("The queue is empty").await;
    let mark = b
        .client
        .execute("return window.opsMark || 'reloaded';", vec![])
        .await
        .unwrap();
    assert_eq!(mark, json!("same page"));
    assert_eq!(b.path().await, "/ops");
    b.stop().await;
}

/// The overview open in one tab: a node the test brings down turns DOWN on the core-nodes
/// tile by itself (the probe passes run here, on the test's clock, as the worker would run
/// them).
#[tokio::test]
async fn a_node_brought_down_turns_down_on_the_tile_without_a_reload() {
    let app = TestApp::spawn_with(|c| {
        c.no_worker = true;
        c.ops.ops_refresh_secs = 1;
    })
    .await;
    let owner = app.setup_owner().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let res = owner
        .post(
            "/ops/servers",
            &[
                ("hostname", "web1.example.net"),
                ("node_type", "WEB"),
                ("region", "eu-central"),
                ("address", "127.0.0.1"),
                ("check_kind", "TCP"),
                ("check_port", &port),
                ("interval_secs", "5"),
                ("timeout_ms", "1000"),
            ],
        )
        .await;
    assert_eq!(res.status(), reqwest::StatusCode::SEE_OTHER);
    let settings =
        mpanel::ops::nodes::model::ProbeSettings::from_config(&app.state.config).unwrap();
    let passes = |n: usize| {
        let app = &app;
        async move {
            for _ in 0..n {
                mpanel::ops::nodes::probing::probe_pass(
                    &app.state.db,
                    &settings,
                    app.state.clock.now(),
                    4,
                )
                .await
                .unwrap();
                app.state.clock.advance(5);
            }
        }
    };
    passes(2).await;

    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", OWNER_EMAIL).await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.expect_heading("Welcome, owner").await;
    b.follow("Operations").await;
    b.expect_heading("Operations").await;
    let badge = |status: &str| {
        format!(
            "//tr[@data-node='web1.example.net']//span[@data-status and normalize-space(.)='{status}']"
        )
    };
    b.wait_xpath(&badge("UP")).await;
    b.client
        .execute("window.opsMark = 'same page'; return true;", vec![])
        .await
        .unwrap();

    // The node goes away: nothing listens on its port any more.
    drop(listener);
    passes(3).await;

    b.wait_xpath(&badge("DOWN")).await;
    b.expect_text(&format!("TCP 127.0.0.1:{port}")).await;
    let mark = b
        .client
        .execute("return window.opsMark || 'reloaded';", vec![])
        .await
        .unwrap();
    assert_eq!(mark, json!("same page"));
    assert_eq!(b.path().await, "/ops");
    b.stop().await;
}
