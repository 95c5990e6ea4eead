//! The provisioning tile: provisioning jobs that ended in the last 24 hours, exact figures
//! against jobs the test finishes, the empty system included.

use mpanel::db::Timestamp;
use mpanel::jobs::{NewJob, store};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// Makes job `id` the next due one, claims it and ends it: `completed` at `at`, or `discarded`
/// with `error`.
async fn finish(app: &TestApp, id: &str, state: &str, error: &str, at: Timestamp) {
    sqlx::query("UPDATE jobs SET run_at = 0 WHERE id = $1")
        .bind(id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let now = Timestamp::now();
    let claimed = store::claim(&app.state.db, "w-test", 1, now, now.plus_secs(30))
        .await
        .unwrap();
    assert_eq!(claimed[0].id, id);
    if state == "completed" {
        store::complete_many(&app.state.db.pool, "w-test", &[id.to_string()], at)
            .await
            .unwrap();
    } else {
        let failure = store::Failure {
            id,
            worker: "w-test",
            attempt: 1,
            error,
            state,
            run_at: at,
            now: at,
        };
        assert!(store::fail(&app.state.db, &failure).await.unwrap());
    }
}

async fn provision_job(app: &TestApp, pod: &str) -> String {
    app.enqueue(
        NewJob::new("cloudpod.provision", &json!({ "pod_id": pod }))
            .subject(format!("cloudpod:{pod}")),
    )
    .await
    .id
}

fn fact(html: &str, id: &str) -> String {
    between(html, &format!("<dd id=\"{id}\">"), "</dd>")
        .unwrap_or_else(|| panic!("no {id} in {html}"))
        .to_string()
}

#[tokio::test]
async fn the_provisioning_tile_counts_the_last_day() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let res = owner.get_htmx("/ops/tiles/provisioning").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.starts_with("<article class=\"ops-tile\" id=\"tile-provisioning\" data-tile"));
    assert_eq!(
        fact(&html, "prov-succeeded"),
        "<a href=\"/ops/jobs?kind=cloudpod.provision&#38;state=completed\">0</a>"
    );
    assert_eq!(
        fact(&html, "prov-failed"),
        "<a href=\"/ops/jobs?kind=cloudpod.provision&#38;state=discarded\">0</a>"
    );
    assert_eq!(fact(&html, "prov-rate"), "no provisioning ended");
    assert!(html.contains("id=\"prov-no-failures\""));

    // A customer's pod whose provisioning failed two hours ago.
    let tenant = app.create_tenant(&owner, "acme").await;
    let pod = app.order_pod(&owner, &tenant, "acme-web", "MINI").await;
    let pod_job: String = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE kind = 'cloudpod.provision' AND subject = $1",
    )
    .bind(format!("cloudpod:{pod}"))
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    let now = Timestamp::now();
    finish(
        &app,
        &pod_job,
        "discarded",
        "clone failed: no space",
        now.plus_secs(-7200),
    )
    .await;
    // A pod that no longer exists failed an hour ago.
    let gone = provision_job(&app, "no-such-pod").await;
    finish(
        &app,
        &gone,
        "discarded",
        "template missing",
        now.plus_secs(-3600),
    )
    .await;
    // Three succeeded: two within the day, one 25 hours ago.
    for hours_ago in [0, 23, 25] {
        let id = provision_job(&app, "done-pod").await;
        finish(&app, &id, "completed", "", now.plus_secs(-hours_ago * 3600)).await;
    }
    // Not provisioning, or not ended: not counted.
    let other = app
        .enqueue(NewJob::new("cloudpod.resize", &json!({})))
        .await;
    finish(&app, &other.id, "discarded", "resize failed", now).await;
    let failed_long_ago = provision_job(&app, "old-pod").await;
    finish(
        &app,
        &failed_long_ago,
        "discarded",
        "old",
        now.plus_secs(-30 * 3600),
    )
    .await;
    provision_job(&app, "waiting-pod").await;

    let page = owner.get("/ops").await.text().await.unwrap();
    let fragment = owner
        .get_htmx("/ops/tiles/provisioning")
        .await
        .text()
        .await
        .unwrap();
    for html in [page, fragment] {
        assert!(fact(&html, "prov-succeeded").ends_with(">2</a>"));
        assert!(
            fact(&html, "prov-failed").ends_with(" class=\"ops-alert\">2</a>"),
            "{html}"
        );
        assert_eq!(fact(&html, "prov-rate"), "50 %");
        let list = between(&html, "<ul id=\"prov-failures\"", "</ul>").unwrap();
        let items: Vec<&str> = list.split("<li>").skip(1).collect();
        assert_eq!(items.len(), 2, "{list}");
        // newest first: the deleted pod's, then the customer's pod with its links
        assert!(items[0].starts_with("a deleted pod · "), "{}", items[0]);
        assert!(items[0].contains(&format!("<a href=\"/ops/jobs/{gone}\">job</a>")));
        assert!(items[0].contains("template missing"));
        assert!(
            items[1].starts_with(&format!("<a href=\"/cloudpods/{pod}\">acme-web</a>")),
            "{}",
            items[1]
        );
        assert!(items[1].contains(&format!("<a href=\"/ops/jobs/{pod_job}\">job</a>")));
        assert!(items[1].contains("clone failed: no space"));
    }
    // the figure's link shows the same jobs
    let list = owner
        .get("/ops/jobs?kind=cloudpod.provision&state=discarded")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains(&gone) && list.contains(&pod_job) && list.contains(&failed_long_ago));
}
