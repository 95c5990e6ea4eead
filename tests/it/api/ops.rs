//! `GET /api/v1/ops/platform-overview`: the `/ops` tiles' figures as JSON, for staff.

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{Api, error_code, json as body};
use crate::cloudpods::{create_pod, pod_world_with};
use crate::helpers::{OWNER_EMAIL, TestApp};

fn job(kind: &str, run_at: Option<mpanel::db::Timestamp>) -> mpanel::jobs::NewJob {
    mpanel::jobs::NewJob {
        kind: kind.into(),
        payload: "{}".into(),
        unique_key: None,
        run_at,
        max_attempts: None,
        subject: None,
        tenant_id: None,
    }
}

fn kind<'a>(overview: &'a Value, kind: &str) -> &'a Value {
    overview["queues"]["by_kind"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .map_or(&Value::Null, |k| &k["counts"])
}

#[tokio::test]
async fn the_overview_gives_the_tiles_figures_for_known_data_and_refuses_customers() {
    let w = pod_world_with(TestApp::spawn_without_worker().await).await;
    let staff = Api::new(&w.app, &w.staff, &["READ", "WRITE", "SECURITY"]).await;
    // Seeded: two jobs waiting and one scheduled of a kind of our own, a pod (its
    // provisioning job waits: no worker), one open HIGH finding, one failed sign-in.
    w.app.enqueue(job("test.overview", None)).await;
    w.app.enqueue(job("test.overview", None)).await;
    let later = mpanel::db::Timestamp::now().plus_secs(3600);
    w.app.enqueue(job("test.overview", Some(later))).await;
    let pod = create_pod(&w, "web-01", "MINI").await;
    let res = staff
        .post(
            "/api/v1/guardian/findings",
            &json!({"pod_id": pod, "key": "ssh-root", "severity": "HIGH",
                    "title": "Root login over SSH"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = w.app.client().login(OWNER_EMAIL, "not the password").await;
    assert_ne!(res.status(), StatusCode::SEE_OTHER);
    w.app
        .create_user(&w.staff, &w.tenant, "admin@acme.test", "ADMIN")
        .await;
    let customer = w.app.signed_in("admin@acme.test").await;
    let theirs = Api::new(&w.app, &customer, &["READ"]).await;

    let res = staff.get("/api/v1/ops/platform-overview").await;
    assert_eq!(res.status(), StatusCode::OK);
    let o = body(res).await;
    assert_eq!(
        kind(&o, "test.overview"),
        &json!({"waiting": 2, "scheduled": 1, "running": 0, "retryable": 0,
                "discarded": 0, "cancelled": 0})
    );
    assert_eq!(kind(&o, "cloudpod.provision")["waiting"], 1);
    let waiting: i64 = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM jobs WHERE state = 'available' AND run_at <= {}",
            mpanel::db::Timestamp::now().0
        ))
        .await;
    assert_eq!(o["queues"]["totals"]["waiting"], waiting);
    assert_eq!(o["queues"]["totals"]["scheduled"], 1);
    assert_eq!(o["queues"]["completed_last_hour"], 0);
    assert_eq!(
        o["queues"]["failures_by_hour"].as_array().unwrap().len(),
        24
    );
    assert_eq!(o["queues"]["failures_total"], 0);
    assert_eq!(
        o["security"]["open_findings"],
        json!([{"severity": "CRITICAL", "open": 0}, {"severity": "HIGH", "open": 1},
               {"severity": "MEDIUM", "open": 0}, {"severity": "LOW", "open": 0}])
    );
    assert_eq!(o["security"]["login_failed"], 1);
    assert_eq!(o["security"]["tokens_created"], 2);
    assert_eq!(
        o["security"]["staff_mfa"],
        json!({"users": 1, "with_mfa": 0})
    );
    assert_eq!(
        o["security"]["customer_mfa"],
        json!({"users": 1, "with_mfa": 0})
    );
    assert_eq!(o["billing"]["overdue_invoices"], 0);
    assert_eq!(o["billing"]["overdue_due"], json!([]));
    assert!(o["billing"].get("last_bill_run").is_none());
    assert_eq!(
        o["provisioning"],
        json!({"succeeded": 0, "failed": 0, "failures": []})
    );
    assert_eq!(o["nodes"]["nodes"], json!([]));
    assert_eq!(o["nodes"]["down"], 0);
    assert!(o["read_at"].as_str().unwrap().ends_with('Z'));

    // A customer's token: 403.
    let res = theirs.get("/api/v1/ops/platform-overview").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(res).await, "forbidden");
}
