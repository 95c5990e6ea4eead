//! `/ops/servers`: registering, changing, deleting and silencing core nodes (field errors,
//! confirmation, audit, roles), the metrics they push (`POST /api/v1/ops/metrics`: scope,
//! tenant, validation), and the core-nodes tile with its figures.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub fn tcp_node<'a>(hostname: &'a str, address: &'a str, port: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("hostname", hostname),
        ("node_type", "WEB"),
        ("region", "eu-central"),
        ("address", address),
        ("check_kind", "TCP"),
        ("check_port", port),
        ("check_url", ""),
        ("expected_status", "200"),
        ("interval_secs", "5"),
        ("timeout_ms", "1000"),
    ]
}

/// Registers a node through the page; returns its id.
pub async fn register(c: &TestClient, form: &[(&str, &str)]) -> String {
    let res = c.post("/ops/servers", form).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    location(&res)
        .trim_start_matches("/ops/servers/")
        .to_string()
}

/// The status badge of `hostname` on the core-nodes tile.
pub async fn tile_status(c: &TestClient, hostname: &str) -> String {
    let html = c.get_htmx("/ops/tiles/nodes").await.text().await.unwrap();
    let row = between(&html, &format!("<tr data-node=\"{hostname}\">"), "</tr>")
        .unwrap_or_else(|| panic!("no row {hostname}: {html}"));
    between(row, "data-status>", "</span>").unwrap().to_string()
}

async fn audit_count(app: &TestApp, action: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM audit_log WHERE action = '{action}'"
    ))
    .await
}

#[tokio::test]
async fn staff_register_change_silence_and_delete_nodes() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let empty = owner.get("/ops/servers").await.text().await.unwrap();
    assert!(empty.contains("No core nodes are registered"));
    let tile = owner
        .get_htmx("/ops/tiles/nodes")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        tile.starts_with("<article class=\"ops-tile ops-tile-wide\" id=\"tile-nodes\" data-tile")
    );
    assert!(tile.contains("id=\"nodes-empty\""));
    assert!(tile.contains("<span id=\"nodes-failures\">0</span>"));

    // Bad input: each problem beside its field, the form kept.
    let mut bad = tcp_node("web1.example.net", "not an address!", "22");
    bad.retain(|(k, _)| *k != "check_kind" && *k != "check_url" && *k != "interval_secs");
    bad.push(("check_kind", "HTTP"));
    bad.push(("check_url", "ftp://web1.example.net/"));
    bad.push(("interval_secs", "4"));
    let res = owner.post("/ops/servers", &bad).await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    for field in ["address", "check_url", "interval_secs"] {
        assert!(
            html.contains(&format!("id=\"e-{field}\"")),
            "{field}: {html}"
        );
    }
    assert!(!html.contains("id=\"e-hostname\""));
    assert!(
        html.contains("value=\"web1.example.net\""),
        "the form is kept"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM ops_nodes").await, 0);

    let id = register(&owner, &tcp_node("web1.example.net", "127.0.0.1", "9")).await;
    assert_eq!(audit_count(&app, "ops.node.create").await, 1);
    // the host name is unique
    let res = owner
        .post(
            "/ops/servers",
            &tcp_node("web1.example.net", "10.0.0.9", "22"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("id=\"e-hostname\""));

    let page = owner
        .get(&format!("/ops/servers/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("TCP 127.0.0.1:9"));
    assert!(page.contains("id=\"node-status\">UNKNOWN</span>"));
    assert_eq!(tile_status(&owner, "web1.example.net").await, "UNKNOWN");

    // Change it.
    let mut changed = tcp_node("web1.example.net", "127.0.0.1", "9");
    changed.retain(|(k, _)| *k != "region");
    changed.push(("region", "us-east"));
    let res = owner.post(&format!("/ops/servers/{id}"), &changed).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        owner
            .get(&format!("/ops/servers/{id}"))
            .await
            .text()
            .await
            .unwrap()
            .contains("us-east")
    );
    assert_eq!(audit_count(&app, "ops.node.update").await, 1);

    // Maintenance: shown as such; a bad window is a field error.
    let res = owner
        .post(
            &format!("/ops/servers/{id}/maintenance"),
            &[("minutes", "0"), ("reason", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"e-minutes\"") && html.contains("id=\"e-reason\""));
    let res = owner
        .post(
            &format!("/ops/servers/{id}/maintenance"),
            &[("minutes", "30"), ("reason", "kernel upgrade")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(tile_status(&owner, "web1.example.net").await, "MAINTENANCE");
    assert_eq!(audit_count(&app, "ops.node.maintenance").await, 1);
    // the window ends by itself
    app.state.clock.advance(31 * 60);
    assert_eq!(tile_status(&owner, "web1.example.net").await, "UNKNOWN");

    // Roles: a staff VIEWER reads, cannot change; customers see nothing.
    let operator = app.operator_tenant_id().await;
    app.create_user(&owner, &operator, "wall@operator.test", "VIEWER")
        .await;
    let wall = app.signed_in("wall@operator.test").await;
    assert_eq!(wall.get("/ops/servers").await.status(), StatusCode::OK);
    assert_eq!(
        wall.post("/ops/servers", &tcp_node("x.example.net", "10.0.0.1", "22"))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        wall.post(&format!("/ops/servers/{id}/delete"), &[("confirm", "yes")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "boss@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("boss@acme.test").await;
    for path in [
        "/ops/servers".to_string(),
        format!("/ops/servers/{id}"),
        "/ops/tiles/nodes".into(),
    ] {
        assert_eq!(
            customer.get(&path).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // Delete: asked first, then done.
    let res = owner.post(&format!("/ops/servers/{id}/delete"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Delete node web1.example.net?")
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM ops_nodes").await, 1);
    let res = owner
        .post(&format!("/ops/servers/{id}/delete"), &[("confirm", "yes")])
        .await;
    assert_eq!(location(&res), "/ops/servers");
    assert_eq!(app.count("SELECT COUNT(*) FROM ops_nodes").await, 0);
    assert_eq!(audit_count(&app, "ops.node.delete").await, 1);
}

async fn push(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/ops/metrics", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn sample(node: &str) -> Value {
    json!({
        "node": node,
        "cpu_percent": 12.5,
        "memory_used_bytes": 1_073_741_824_i64,
        "memory_total_bytes": 4_294_967_296_i64,
        "disk_used_bytes": 53_687_091_200_i64,
        "disk_total_bytes": 107_374_182_400_i64,
        "load1": 0.75,
    })
}

#[tokio::test]
async fn nodes_push_metrics_with_a_provisioning_token_and_bad_figures_are_refused() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let id = register(&owner, &tcp_node("db1.example.net", "127.0.0.1", "9")).await;
    let provisioning = token_for(&owner, &["WRITE", "PROVISIONING"]).await;
    let read_only = token_for(&owner, &["READ"]).await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "boss@acme.test", "OWNER")
        .await;
    let customer = app.signed_in("boss@acme.test").await;
    let customer_token = token_for(&customer, &["WRITE", "PROVISIONING"]).await;
    let stored = || async {
        app.count("SELECT COUNT(*) FROM ops_node_samples").await
            + app
                .count("SELECT COUNT(*) FROM ops_nodes WHERE metrics_at IS NOT NULL")
                .await
    };

    // Wrong scope; another tenant's token (it cannot see the operator's nodes).
    let (status, body) = push(&app, &read_only, sample("db1.example.net")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "insufficient_scope");
    // the area's scope alone is not a change: WRITE too
    let area_only = token_for(&owner, &["PROVISIONING"]).await;
    let (status, body) = push(&app, &area_only, sample("db1.example.net")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "insufficient_scope");
    let (status, body) = push(&app, &customer_token, sample(&id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "unknown_node");
    let (status, _) = push(&app, "mpn_not-a-token", sample(&id)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Bad figures: each refused with its field, nothing stored.
    let far_future = mpanel::db::Timestamp::now().plus_secs(3600).0;
    for (field, value, code) in [
        ("cpu_percent", json!(100.5), "cpu_percent"),
        ("cpu_percent", json!(-1), "cpu_percent"),
        ("cpu_percent", json!("NaN"), ""),
        ("memory_used_bytes", json!(-5), "memory_used_bytes"),
        ("disk_total_bytes", json!(-1), "disk_total_bytes"),
        (
            "disk_used_bytes",
            json!(107_374_182_401_i64),
            "disk_used_bytes",
        ),
        ("load1", json!(-0.5), "load1"),
        ("at", json!(far_future), "at"),
    ] {
        let mut body = sample("db1.example.net");
        body[field] = value.clone();
        let (status, err) = push(&app, &provisioning, body).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{field} = {value}: {err}"
        );
        if !code.is_empty() {
            assert_eq!(err["error"]["field"], code, "{err}");
        }
        assert!(err["error"]["message"].as_str().is_some());
    }
    // NaN is not JSON at all
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/ops/metrics", app.base))
        .bearer_auth(&provisioning)
        .header("content-type", "application/json")
        .body(r#"{"node":"db1.example.net","cpu_percent":NaN,"memory_used_bytes":1,"memory_total_bytes":2,"disk_used_bytes":1,"disk_total_bytes":2,"load1":0}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let (status, err) = push(&app, &provisioning, sample("nobody.example.net")).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown_node"))
    );
    assert_eq!(stored().await, 0, "nothing stored");

    // A good sample, by host name: the tile shows it.
    let (status, body) = push(&app, &provisioning, sample("db1.example.net")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["node"]["id"], id.as_str());
    let html = owner
        .get_htmx("/ops/tiles/nodes")
        .await
        .text()
        .await
        .unwrap();
    let row = between(&html, "<tr data-node=\"db1.example.net\">", "</tr>").unwrap();
    let cells: Vec<&str> = row.split("<td").skip(1).collect();
    assert!(cells[1].contains(">12.50 %<"), "{row}");
    assert!(cells[2].contains(">1.0 GiB of 4.0 GiB<"), "{row}");
    assert!(cells[3].contains(">50.0 GiB of 100 GiB<"), "{row}");
    assert!(cells[4].contains(">0.75<"), "{row}");
    // the CPU trend appears once there is a sample: 12.5 % rounds to 13 in the last hour
    assert!(html.contains("id=\"nodes-cpu-caption\""));
    let cpu = between(&html, "<figure class=\"spark spark-cpu\">", "</figure>").unwrap();
    let points = between(cpu, "<polyline points=\"", "\"").unwrap();
    assert!(points.ends_with(" 240,34"), "{points}");
}

/// Many nodes: the tile lists the worst twenty and counts every node by status, each count
/// linking to `/ops/servers` filtered to it.
#[tokio::test]
async fn the_tile_lists_the_worst_nodes_and_counts_the_rest() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let mut ids = Vec::new();
    for i in 0..23 {
        let host = format!("n{i:02}.example.net");
        ids.push(register(&owner, &tcp_node(&host, "192.0.2.10", "9")).await);
    }
    // Two DOWN (the last two registered), the rest UP.
    for (i, id) in ids.iter().enumerate() {
        let status = if i >= 21 { "DOWN" } else { "UP" };
        sqlx::query("UPDATE ops_nodes SET status = $1 WHERE id = $2")
            .bind(status)
            .bind(id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
    }
    let html = owner
        .get_htmx("/ops/tiles/nodes")
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = html.split("<tr data-node=\"").skip(1).collect();
    assert_eq!(rows.len(), 20, "{html}");
    assert!(
        rows[0].starts_with("n21.example.net"),
        "the down ones first"
    );
    assert!(rows[1].starts_with("n22.example.net"));
    assert!(rows[2].starts_with("n00.example.net"));
    assert_eq!(
        between(
            &html,
            "<p id=\"nodes-more\"><a href=\"/ops/servers\">",
            "</a>"
        ),
        Some("3 more of 23 nodes")
    );
    assert_eq!(
        between(&html, "<dd id=\"nodes-down\">", "</dd>"),
        Some("<a href=\"/ops/servers?status=DOWN\" class=\"ops-alert\">2</a>")
    );
    assert_eq!(
        between(&html, "<dd data-nodes-status=\"UP\">", "</dd>"),
        Some("<a href=\"/ops/servers?status=UP\">21</a>")
    );
    // the list behind the figure
    let list = owner
        .get("/ops/servers?status=DOWN")
        .await
        .text()
        .await
        .unwrap();
    let table = between(&list, "<table id=\"nodes\">", "</table>").unwrap();
    assert_eq!(table.matches("<th scope=\"row\">").count(), 2, "{table}");
    assert!(table.contains("n21.example.net") && table.contains("n22.example.net"));
    let none = owner
        .get("/ops/servers?status=MAINTENANCE")
        .await
        .text()
        .await
        .unwrap();
    assert!(none.contains("id=\"nodes-none-filtered\""), "{none}");
    let all = owner.get("/ops/servers").await.text().await.unwrap();
    let table = between(&all, "<table id=\"nodes\">", "</table>").unwrap();
    assert_eq!(table.matches("<th scope=\"row\">").count(), 23);
}
