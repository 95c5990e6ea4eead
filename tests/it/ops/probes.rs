//! The probe pass against real listeners the test starts: up, down (nothing listening),
//! slower than the timeout, a wrong status, flapping, an unresolvable name; several workers
//! sharing the work; the history rolled up and pruned. The pass is driven directly on the
//! test's movable clock rather than by waiting for the worker's loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::http::StatusCode as AxumStatus;
use axum::routing::get;
use mpanel::ops::nodes::model::ProbeSettings;
use mpanel::ops::nodes::probing::{probe_pass, prune_history};

use super::nodes::{register, tcp_node, tile_status};
use crate::helpers::*;

/// An HTTP server on 127.0.0.1: `/health` answers 200 while `healthy` is set (503 otherwise),
/// `/slow` answers after three seconds.
async fn http_server(healthy: Arc<AtomicBool>) -> u16 {
    let app = Router::new()
        .route(
            "/health",
            get(move || {
                let healthy = healthy.clone();
                async move {
                    if healthy.load(Ordering::SeqCst) {
                        AxumStatus::OK
                    } else {
                        AxumStatus::SERVICE_UNAVAILABLE
                    }
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                "late"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    port
}

fn http_node<'a>(hostname: &'a str, url: &'a str, timeout_ms: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("hostname", hostname),
        ("node_type", "WEB"),
        ("region", "eu-central"),
        ("address", "127.0.0.1"),
        ("check_kind", "HTTP"),
        ("check_port", ""),
        ("check_url", url),
        ("expected_status", "200"),
        ("interval_secs", "5"),
        ("timeout_ms", timeout_ms),
    ]
}

fn settings(app: &TestApp) -> ProbeSettings {
    ProbeSettings::from_config(&app.state.config).unwrap()
}

/// One pass now; then the clock moves one interval (5 s) on.
async fn pass(app: &TestApp) -> usize {
    let n = probe_pass(&app.state.db, &settings(app), app.state.clock.now(), 8)
        .await
        .unwrap();
    app.state.clock.advance(5);
    n
}

async fn reason(app: &TestApp, hostname: &str) -> String {
    sqlx::query_scalar("SELECT status_reason FROM ops_nodes WHERE hostname = $1")
        .bind(hostname)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn probes_find_nodes_up_down_slow_and_unresolvable() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let healthy = Arc::new(AtomicBool::new(true));
    let port = http_server(healthy.clone()).await;
    let tcp_open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let open_port = tcp_open.local_addr().unwrap().port().to_string();
    let closed_port = {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        l.local_addr().unwrap().port().to_string()
    };
    register(&owner, &tcp_node("up.example.net", "127.0.0.1", &open_port)).await;
    register(
        &owner,
        &tcp_node("down.example.net", "127.0.0.1", &closed_port),
    )
    .await;
    register(
        &owner,
        &tcp_node("nxdomain.example.net", "no-such-node.invalid", "80"),
    )
    .await;
    let health = format!("http://127.0.0.1:{port}/health");
    register(&owner, &http_node("web.example.net", &health, "2000")).await;
    let slow = format!("http://127.0.0.1:{port}/slow");
    register(&owner, &http_node("slow.example.net", &slow, "300")).await;

    // Up after two successes, down after three failures (the defaults).
    assert_eq!(pass(&app).await, 5);
    assert_eq!(tile_status(&owner, "up.example.net").await, "UNKNOWN");
    assert_eq!(pass(&app).await, 5);
    assert_eq!(tile_status(&owner, "up.example.net").await, "UP");
    assert_eq!(tile_status(&owner, "web.example.net").await, "UP");
    assert_eq!(tile_status(&owner, "down.example.net").await, "UNKNOWN");
    assert_eq!(pass(&app).await, 5);
    for host in [
        "down.example.net",
        "slow.example.net",
        "nxdomain.example.net",
    ] {
        assert_eq!(tile_status(&owner, host).await, "DOWN", "{host}");
    }
    assert!(
        reason(&app, "down.example.net")
            .await
            .starts_with("TCP 127.0.0.1:")
    );
    assert_eq!(
        reason(&app, "slow.example.net").await,
        "HTTP: no answer within 300 ms"
    );
    assert!(
        reason(&app, "nxdomain.example.net")
            .await
            .starts_with("DNS: "),
        "{}",
        reason(&app, "nxdomain.example.net").await
    );

    // A wrong status is a failure too; down first on the tile, with the failures counted.
    healthy.store(false, Ordering::SeqCst);
    for _ in 0..3 {
        pass(&app).await;
    }
    assert_eq!(tile_status(&owner, "web.example.net").await, "DOWN");
    assert_eq!(
        reason(&app, "web.example.net").await,
        "HTTP status 503, expected 200"
    );
    let html = owner
        .get_htmx("/ops/tiles/nodes")
        .await
        .text()
        .await
        .unwrap();
    let order: Vec<&str> = html
        .split("<tr data-node=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(
        order,
        [
            "down.example.net",
            "nxdomain.example.net",
            "slow.example.net",
            "web.example.net",
            "up.example.net"
        ]
    );
    assert!(html.contains("class=\"ops-alert\">4</a>"), "four down");
    // 6 passes: down, slow and nxdomain failed each (18), web the last three (3)
    assert_eq!(
        between(&html, "<span id=\"nodes-failures\">", "</span>"),
        Some("21")
    );
    let up_row = between(&html, "<tr data-node=\"up.example.net\">", "</tr>").unwrap();
    assert!(up_row.contains(" ms</td>"), "latency shown: {up_row}");
    drop(tcp_open);
}

#[tokio::test]
async fn a_node_probed_once_per_interval_however_many_workers() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    for i in 0..6 {
        register(
            &owner,
            &tcp_node(&format!("n{i}.example.net"), "127.0.0.1", &port),
        )
        .await;
    }
    let s = settings(&app);
    let now = app.state.clock.now();
    let db = &app.state.db;
    let (a, b, c) = tokio::join!(
        probe_pass(db, &s, now, 4),
        probe_pass(db, &s, now, 4),
        probe_pass(db, &s, now, 4)
    );
    assert_eq!(a.unwrap() + b.unwrap() + c.unwrap(), 6, "each node once");
    assert_eq!(app.count("SELECT COUNT(*) FROM ops_probe_results").await, 6);
    // nothing is due again within the interval
    app.state.clock.advance(4);
    assert_eq!(
        probe_pass(db, &s, app.state.clock.now(), 4).await.unwrap(),
        0
    );
    app.state.clock.advance(1);
    assert_eq!(
        probe_pass(db, &s, app.state.clock.now(), 4).await.unwrap(),
        6
    );
}

#[tokio::test]
async fn a_flapping_node_is_shown_degraded_until_it_settles() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let healthy = Arc::new(AtomicBool::new(true));
    let port = http_server(healthy.clone()).await;
    let url = format!("http://127.0.0.1:{port}/health");
    register(&owner, &http_node("flappy.example.net", &url, "2000")).await;
    let host = "flappy.example.net";
    // up (change 1), down (2), up (3): alternating, not yet flapping
    for (ok, passes, shown) in [(true, 2, "UP"), (false, 3, "DOWN"), (true, 2, "UP")] {
        healthy.store(ok, Ordering::SeqCst);
        for _ in 0..passes {
            pass(&app).await;
        }
        assert_eq!(tile_status(&owner, host).await, shown);
    }
    // down again: the fourth change within the window is flapping
    healthy.store(false, Ordering::SeqCst);
    for _ in 0..3 {
        pass(&app).await;
    }
    assert_eq!(tile_status(&owner, host).await, "DEGRADED");
    let page = owner.get("/ops/servers").await.text().await.unwrap();
    assert!(page.contains(">DEGRADED</span>"));
    // stable for longer than the window: it settles
    healthy.store(true, Ordering::SeqCst);
    app.state.clock.advance(16 * 60);
    pass(&app).await;
    pass(&app).await;
    assert_eq!(tile_status(&owner, host).await, "UP");
}

#[tokio::test]
async fn history_is_rolled_up_after_seven_days_and_dropped_after_ninety() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    let id = register(&owner, &tcp_node("hist.example.net", "127.0.0.1", &port)).await;
    for _ in 0..4 {
        pass(&app).await;
    }
    drop(listener);
    pass(&app).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM ops_probe_results").await, 5);
    let db = &app.state.db;
    assert_eq!(
        prune_history(db, app.state.clock.now()).await.unwrap(),
        (0, 0)
    );
    app.state.clock.advance(8 * 86_400);
    let (rolled, dropped) = prune_history(db, app.state.clock.now()).await.unwrap();
    assert_eq!((rolled, dropped), (5, 0));
    assert_eq!(app.count("SELECT COUNT(*) FROM ops_probe_results").await, 0);
    let (probes, failures): (i64, i64) = sqlx::query_as(
        "SELECT CAST(SUM(probes) AS BIGINT), CAST(SUM(failures) AS BIGINT) FROM ops_probe_hourly",
    )
    .fetch_one(&db.pool)
    .await
    .unwrap();
    assert_eq!((probes, failures), (5, 1));
    let page = owner
        .get(&format!("/ops/servers/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("id=\"hours\""), "{page}");
    app.state.clock.advance(83 * 86_400);
    let (_, dropped) = prune_history(db, app.state.clock.now()).await.unwrap();
    assert!(dropped >= 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM ops_probe_hourly").await, 0);
}
