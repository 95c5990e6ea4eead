//! Guardian findings: reported through the API with a SECURITY token (dedup by key, another
//! tenant's pod 404, bad input refused), triaged on `/ops/guardian` (audited), shown on the
//! customer's pod page and counted on the security tile.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

async fn report(app: &TestApp, token: &str, body: Value) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .post(format!("{}/api/v1/guardian/findings", app.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn finding(pod: &str, key: &str, severity: &str) -> Value {
    json!({
        "pod_id": pod,
        "key": key,
        "severity": severity,
        "title": format!("Finding {key}"),
        "detail": "sshd_config: PermitRootLogin yes",
    })
}

fn fact(html: &str, id: &str) -> String {
    between(html, &format!("<dd id=\"{id}\">"), "</dd>")
        .unwrap_or_else(|| panic!("no {id}"))
        .to_string()
}

#[tokio::test]
async fn findings_are_recorded_once_per_key_triaged_and_shown_to_their_tenant() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let acme = app.create_tenant(&owner, "acme").await;
    let beta = app.create_tenant(&owner, "beta").await;
    let acme_pod = app.order_pod(&owner, &acme, "acme-web", "MINI").await;
    let beta_pod = app.order_pod(&owner, &beta, "beta-web", "MINI").await;
    app.create_user(&owner, &acme, "boss@acme.test", "OWNER")
        .await;
    app.create_user(&owner, &beta, "boss@beta.test", "OWNER")
        .await;
    let acme_boss = app.signed_in("boss@acme.test").await;
    let beta_boss = app.signed_in("boss@beta.test").await;
    let agent = token_for(&acme_boss, &["WRITE", "SECURITY"]).await;
    let read_only = token_for(&acme_boss, &["READ"]).await;

    // The security tile starts at zero for every severity.
    let tile = owner
        .get_htmx("/ops/tiles/security")
        .await
        .text()
        .await
        .unwrap();
    for s in ["critical", "high", "medium", "low"] {
        assert!(
            fact(&tile, &format!("sec-findings-{s}")).ends_with(">0</a>"),
            "{s}"
        );
    }

    let (status, first) = report(
        &app,
        &agent,
        finding(&acme_pod, "ssh.root-login", "CRITICAL"),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["new"], true);
    app.state.clock.advance(3600);
    let mut again = finding(&acme_pod, "ssh.root-login", "HIGH");
    again["title"] = json!("Root may sign in over SSH");
    let (status, second) = report(&app, &agent, again).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (second["id"].clone(), second["new"].clone()),
        (first["id"].clone(), json!(false))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM guardian_findings").await, 1);
    let (seen, first_seen, last_seen): (i64, i64, i64) =
        sqlx::query_as("SELECT seen_count, first_seen_at, last_seen_at FROM guardian_findings")
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(seen, 2);
    assert!(last_seen - first_seen >= 3_600_000, "last seen moved on");
    report(
        &app,
        &agent,
        finding(&acme_pod, "pkg.openssl-outdated", "MEDIUM"),
    )
    .await;

    // Refused, nothing stored: another tenant's pod, a wrong scope, bad fields.
    let (status, err) = report(&app, &agent, finding(&beta_pod, "x", "LOW")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{err}");
    let (status, _) = report(&app, &read_only, finding(&acme_pod, "y", "LOW")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let mut big = finding(&acme_pod, "big", "LOW");
    big["detail"] = json!("x".repeat(8_001));
    let (status, err) = report(&app, &agent, big).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("detail"))
    );
    let (status, err) = report(&app, &agent, finding(&acme_pod, "z", "SEVERE")).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("severity"))
    );
    let (status, err) = report(&app, &agent, finding(&acme_pod, "bad key", "LOW")).await;
    assert_eq!(
        (status, err["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("key"))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM guardian_findings").await, 2);

    // The tile counts open findings by severity.
    let tile = owner
        .get_htmx("/ops/tiles/security")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        fact(&tile, "sec-findings-high"),
        "<a href=\"/ops/guardian?status=OPEN&#38;severity=HIGH\" class=\"ops-alert\">1</a>"
    );
    assert!(fact(&tile, "sec-findings-medium").ends_with(">1</a>"));
    assert!(fact(&tile, "sec-findings-critical").ends_with(">0</a>"));

    // The customer sees them on the pod page; the other tenant does not see them at all.
    let pod_page = acme_boss
        .get(&format!("/cloudpods/{acme_pod}"))
        .await
        .text()
        .await
        .unwrap();
    let section =
        between(&pod_page, "id=\"pod-findings\"", "</ul>").expect("findings on the pod page");
    assert!(
        section.contains("Root may sign in over SSH")
            && section.contains("Finding pkg.openssl-outdated")
    );
    let beta_page = beta_boss
        .get(&format!("/cloudpods/{beta_pod}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(beta_page.contains("id=\"pod-no-findings\""));
    assert_eq!(
        beta_boss
            .get(&format!("/cloudpods/{acme_pod}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        acme_boss.get("/ops/guardian").await.status(),
        StatusCode::FORBIDDEN
    );

    // Staff filter and triage.
    let list = owner
        .get("/ops/guardian?severity=HIGH")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Root may sign in over SSH") && !list.contains("openssl"));
    let id = first["id"].as_str().unwrap();
    let res = owner
        .post(&format!("/ops/guardian/{id}/resolve"), &[("reason", "  ")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains(&format!("id=\"e-{id}\""))
    );
    let res = owner
        .post(
            &format!("/ops/guardian/{id}/resolve"),
            &[("reason", "PermitRootLogin set to no")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'guardian.finding.resolve'")
            .await,
        1
    );
    let resolved = owner
        .get("/ops/guardian?status=RESOLVED")
        .await
        .text()
        .await
        .unwrap();
    assert!(resolved.contains("PermitRootLogin set to no") && resolved.contains(OWNER_EMAIL));
    // closing it twice is refused
    let res = owner
        .post(
            &format!("/ops/guardian/{id}/ignore"),
            &[("reason", "again")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    // a staff VIEWER reads but does not triage
    let operator = app.operator_tenant_id().await;
    app.create_user(&owner, &operator, "wall@operator.test", "VIEWER")
        .await;
    let wall = app.signed_in("wall@operator.test").await;
    assert_eq!(wall.get("/ops/guardian").await.status(), StatusCode::OK);
    let other: String = sqlx::query_scalar(
        "SELECT id FROM guardian_findings WHERE finding_key = 'pkg.openssl-outdated'",
    )
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        wall.post(&format!("/ops/guardian/{other}/ignore"), &[("reason", "x")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    let res = owner
        .post(
            &format!("/ops/guardian/{other}/ignore"),
            &[("reason", "patched upstream next week")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // Seen again: the resolved one opens again, the ignored one stays ignored.
    report(&app, &agent, finding(&acme_pod, "ssh.root-login", "HIGH")).await;
    report(
        &app,
        &agent,
        finding(&acme_pod, "pkg.openssl-outdated", "MEDIUM"),
    )
    .await;
    let statuses: Vec<(String, String)> =
        sqlx::query_as("SELECT finding_key, status FROM guardian_findings ORDER BY finding_key")
            .fetch_all(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        [
            ("pkg.openssl-outdated".to_string(), "IGNORED".to_string()),
            ("ssh.root-login".to_string(), "OPEN".to_string())
        ]
    );
}
