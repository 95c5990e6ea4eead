//! CloudPods end to end with the manual provisioner: create → the job runs → ACTIVE; resize
//! (pending until reboot), reboot, suspend/resume, delete; the status machine's refusals,
//! permissions and tenant isolation; failure with a reason and retry.

use reqwest::StatusCode;

use crate::helpers::*;

pub(crate) struct PodWorld {
    pub app: TestApp,
    pub staff: TestClient,
    pub tenant: String,
}

pub(crate) async fn pod_world_with(app: TestApp) -> PodWorld {
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    PodWorld { app, staff, tenant }
}

async fn pod_world() -> PodWorld {
    pod_world_with(TestApp::spawn().await).await
}

/// A pod of the operator's own, created by staff on the pod form (no subscription); returns its
/// id.
pub(crate) async fn create_pod(w: &PodWorld, name: &str, plan: &str) -> String {
    let res = w
        .staff
        .post(
            "/cloudpods",
            &[("name", name), ("plan_code", plan), ("region", "")],
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "{}",
        res.text().await.unwrap_or_default()
    );
    location(&res).trim_start_matches("/cloudpods/").to_string()
}

/// A pod for the customer tenant, the way customers get them: staff order a subscription for
/// the tenant at a free monthly price (a zero total needs no invoice), and its activation
/// creates the pod and enqueues provisioning. The activation runs here rather than waiting for
/// the worker, so tests without a worker get their pod too. Returns the pod's id.
pub(crate) async fn customer_pod(w: &PodWorld, name: &str, plan: &str) -> String {
    w.app.order_pod(&w.staff, &w.tenant, name, plan).await
}

/// (status, operation, plan, pending_reboot, power)
pub(crate) async fn pod_row(app: &TestApp, id: &str) -> (String, String, String, i64, String) {
    sqlx::query_as(
        "SELECT status, operation, plan_code, pending_reboot, power_state FROM cloudpods WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap()
}

/// Waits until no operation runs on the pod; returns its status.
pub(crate) async fn settled(app: &TestApp, id: &str) -> String {
    wait_until("the pod's job to finish", 20, || async {
        let (status, op, ..) = pod_row(app, id).await;
        op.is_empty().then_some(status)
    })
    .await
}

#[tokio::test]
async fn pod_lifecycle_end_to_end() {
    let w = pod_world().await;
    let id = create_pod(&w, "web-01", "MINI").await;
    assert_eq!(settled(&w.app, &id).await, "ACTIVE");
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("1 vCPU · 1 GB RAM · 20 GB disk"), "{page}");
    assert!(page.contains("No hypervisor is connected"));
    assert!(page.contains("cloudpod.provision"), "job history: {page}");
    let region: String = sqlx::query_scalar("SELECT region FROM cloudpods WHERE id = $1")
        .bind(&id)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    assert!(
        !region.is_empty() && page.contains(&region),
        "{region}: {page}"
    );

    // Resize while running: CPU/RAM wait for a reboot.
    let res = w
        .staff
        .post_htmx(&format!("/cloudpods/{id}/resize"), &[("plan_code", "PRO")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fragment = res.text().await.unwrap();
    assert!(fragment.contains("Resize started"), "{fragment}");
    settled(&w.app, &id).await;
    let (status, _, plan, pending, _) = pod_row(&w.app, &id).await;
    assert_eq!(
        (status.as_str(), plan.as_str(), pending),
        ("ACTIVE", "PRO", 1)
    );
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Pending until reboot"), "{page}");
    assert!(page.contains("2 vCPU · 2 GB RAM · 50 GB disk"));

    // The reboot applies it.
    let res = w
        .staff
        .post(
            &format!("/cloudpods/{id}/power"),
            &[("action", "reboot"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    settled(&w.app, &id).await;
    assert_eq!(pod_row(&w.app, &id).await.3, 0);

    // Stop, then start.
    w.staff
        .post(
            &format!("/cloudpods/{id}/power"),
            &[("action", "stop"), ("confirm", "yes")],
        )
        .await;
    settled(&w.app, &id).await;
    assert_eq!(pod_row(&w.app, &id).await.4, "STOPPED");
    let res = w
        .staff
        .post(&format!("/cloudpods/{id}/power"), &[("action", "reboot")])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "a stopped pod cannot reboot"
    );
    w.staff
        .post(&format!("/cloudpods/{id}/power"), &[("action", "start")])
        .await;
    settled(&w.app, &id).await;
    assert_eq!(pod_row(&w.app, &id).await.4, "RUNNING");

    // Suspend / resume.
    w.staff
        .post(&format!("/cloudpods/{id}/suspend"), &[("confirm", "yes")])
        .await;
    assert_eq!(settled(&w.app, &id).await, "SUSPENDED");
    let res = w
        .staff
        .post(
            &format!("/cloudpods/{id}/resize"),
            &[("plan_code", "BUSINESS")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("Resume the pod before resizing")
    );
    w.staff.post(&format!("/cloudpods/{id}/resume"), &[]).await;
    assert_eq!(settled(&w.app, &id).await, "ACTIVE");
    let res = w.staff.post(&format!("/cloudpods/{id}/resume"), &[]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("already active"));

    // Delete asks for the name.
    let res = w
        .staff
        .post(
            &format!("/cloudpods/{id}/delete"),
            &[("confirm_name", "web-02")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("name, web-01, to confirm."), "{page}");
    assert!(
        page.contains("delete-e-confirm_name"),
        "the error sits beside the field"
    );
    assert!(page.contains("value=\"web-02\""), "the typed value is kept");
    let res = w
        .staff
        .post(
            &format!("/cloudpods/{id}/delete"),
            &[("confirm_name", "web-01")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(settled(&w.app, &id).await, "DELETED");
    let res = w
        .staff
        .post(&format!("/cloudpods/{id}/power"), &[("action", "start")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("deleted"));

    // Every action is in the audit log, and in the pod's job history.
    let audited = w
        .app
        .count("SELECT COUNT(*) FROM audit_log WHERE target_type = 'cloudpod'")
        .await;
    assert_eq!(
        audited, 8,
        "create, resize, reboot, stop, start, suspend, resume, delete"
    );
    let jobs = w
        .app
        .count(&format!(
            "SELECT COUNT(*) FROM jobs WHERE subject = 'cloudpod:{id}' AND state = 'completed'"
        ))
        .await;
    assert_eq!(jobs, 8);
    // The name is free again once the pod is deleted.
    let again = create_pod(&w, "web-01", "MINI").await;
    assert_ne!(again, id);
}

#[tokio::test]
async fn disks_never_shrink() {
    let w = pod_world().await;
    let id = create_pod(&w, "db-01", "PRO").await;
    settled(&w.app, &id).await;
    let res = w
        .staff
        .post_htmx(&format!("/cloudpods/{id}/resize"), &[("plan_code", "MINI")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("Disks never shrink"), "{page}");
    assert!(
        page.contains("resize-e-plan_code"),
        "error beside the field"
    );
    assert_eq!(pod_row(&w.app, &id).await.2, "PRO");
    let res = w
        .staff
        .post(&format!("/cloudpods/{id}/resize"), &[("plan_code", "PRO")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("already on the PRO plan")
    );
}

#[tokio::test]
async fn actions_wait_for_provisioning_and_for_each_other() {
    let w = pod_world_with(TestApp::spawn_without_worker().await).await;
    let id = create_pod(&w, "web-01", "MINI").await;
    assert_eq!(pod_row(&w.app, &id).await.0, "PROVISIONING");
    // The page polls while the job is open.
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("hx-trigger=\"every 1s\""), "{page}");
    assert!(page.contains("waiting for a worker"));
    for (path, form, why) in [
        (
            "resize",
            vec![("plan_code", "PRO")],
            "Provisioning is in progress",
        ),
        ("resume", vec![], "Provisioning is in progress"),
        (
            "power",
            vec![("action", "reboot")],
            "Provisioning is in progress",
        ),
    ] {
        let res = w
            .staff
            .post(&format!("/cloudpods/{id}/{path}"), &form)
            .await;
        assert_eq!(res.status(), StatusCode::CONFLICT, "{path}");
        let body = res.text().await.unwrap();
        assert!(body.contains(why), "{path}: {body}");
    }
    // The worker runs the job; then polling stops.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(mpanel::app::run_worker(w.app.state.clone(), rx));
    assert_eq!(settled(&w.app, &id).await, "ACTIVE");
    let page = w
        .staff
        .get_htmx(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("hx-trigger"), "polling stops: {page}");
    assert!(
        page.trim_start().starts_with("<div id=\"pod\""),
        "a fragment for htmx"
    );
    stop.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn failure_shows_the_reason_and_retry_recovers() {
    let w = pod_world_with(TestApp::spawn_without_worker().await).await;
    let id = create_pod(&w, "web-01", "MINI").await;
    // The pod claims a driver this panel does not run: the job fails permanently.
    sqlx::query("UPDATE cloudpods SET provisioner = 'proxmox' WHERE id = $1")
        .bind(&id)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(mpanel::app::run_worker(w.app.state.clone(), rx));
    assert_eq!(settled(&w.app, &id).await, "FAILED");
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Provisioning failed"), "{page}");
    assert!(page.contains("created with the proxmox provisioner"));
    assert!(page.contains("Retry provisioning"));
    let res = w
        .staff
        .post(&format!("/cloudpods/{id}/resize"), &[("plan_code", "PRO")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    sqlx::query("UPDATE cloudpods SET provisioner = 'manual' WHERE id = $1")
        .bind(&id)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = w.staff.post(&format!("/cloudpods/{id}/retry"), &[]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(settled(&w.app, &id).await, "ACTIVE");
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(!page.contains("Provisioning failed"), "{page}");
    stop.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn a_cancelled_job_no_longer_blocks_the_pod() {
    let w = pod_world_with(TestApp::spawn_without_worker().await).await;
    let id = create_pod(&w, "web-01", "MINI").await;
    let job: String = sqlx::query_scalar("SELECT operation_job_id FROM cloudpods WHERE id = $1")
        .bind(&id)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = w
        .staff
        .post(&format!("/ops/jobs/{job}/cancel"), &[("confirm", "yes")])
        .await;
    assert!(res.status().is_redirection() || res.status().is_success());
    let page = w
        .staff
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("its job was cancelled"), "{page}");
    assert_eq!(pod_row(&w.app, &id).await.0, "FAILED");
    assert!(page.contains("Retry provisioning"));
}

#[tokio::test]
async fn roles_and_tenant_isolation() {
    let w = pod_world().await;
    let id = customer_pod(&w, "web-01", "MINI").await;
    settled(&w.app, &id).await;
    let other = w.app.create_tenant(&w.staff, "globex").await;
    w.app
        .create_user(&w.staff, &w.tenant, "viewer@acme.test", "VIEWER")
        .await;
    w.app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    w.app
        .create_user(&w.staff, &other, "owner@globex.test", "OWNER")
        .await;
    w.app
        .create_user(
            &w.staff,
            &w.app.operator_tenant_id().await,
            "billing@operator.test",
            "BILLING",
        )
        .await;

    // Another tenant: 404 for reading and for every action, and not in their list.
    let outsider = w.app.signed_in("owner@globex.test").await;
    assert_eq!(
        outsider.get(&format!("/cloudpods/{id}")).await.status(),
        StatusCode::NOT_FOUND
    );
    let res = outsider
        .post(
            &format!("/cloudpods/{id}/delete"),
            &[("confirm_name", "web-01")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let list = outsider.get("/cloudpods").await.text().await.unwrap();
    assert!(
        !list.contains("web-01") && list.contains("No pods yet"),
        "{list}"
    );

    // A VIEWER reads but cannot act.
    let viewer = w.app.signed_in("viewer@acme.test").await;
    let page = viewer
        .get(&format!("/cloudpods/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("web-01") && !page.contains("Delete pod"),
        "{page}"
    );
    let res = viewer
        .post(&format!("/cloudpods/{id}/power"), &[("action", "reboot")])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // A MEMBER resizes and power-cycles, but neither suspends nor creates.
    let member = w.app.signed_in("member@acme.test").await;
    assert!(
        member
            .get("/cloudpods")
            .await
            .text()
            .await
            .unwrap()
            .contains("web-01")
    );
    assert_eq!(
        member
            .post(&format!("/cloudpods/{id}/suspend"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        member.get("/cloudpods/new").await.status(),
        StatusCode::FORBIDDEN
    );
    let res = member
        .post(
            "/cloudpods",
            &[
                ("tenant_id", w.tenant.as_str()),
                ("name", "mine"),
                ("plan_code", "MINI"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    // The plan of a subscription's pod changes on the subscription (which bills it).
    let res = member
        .post(&format!("/cloudpods/{id}/resize"), &[("plan_code", "PRO")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("change its plan on the subscription"),
        "{page}"
    );
    assert_eq!(pod_row(&w.app, &id).await.2, "MINI");
    let res = member
        .post(
            &format!("/cloudpods/{id}/power"),
            &[("action", "reboot"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    settled(&w.app, &id).await;

    // Staff below ADMIN read but do not act.
    let billing = w.app.signed_in("billing@operator.test").await;
    assert_eq!(
        billing.get(&format!("/cloudpods/{id}")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        billing
            .post(&format!("/cloudpods/{id}/suspend"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );

    // The member cannot delete a pod their subscription pays for: they cancel the subscription.
    let res = member
        .post(
            &format!("/cloudpods/{id}/delete"),
            &[("confirm_name", "web-01")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let page = res.text().await.unwrap();
    assert!(page.contains("cancel the subscription instead"), "{page}");
    assert_eq!(settled(&w.app, &id).await, "ACTIVE");
}

#[tokio::test]
async fn the_new_pod_form_explains_bad_input_and_keeps_values() {
    let w = pod_world().await;
    create_pod(&w, "taken", "MINI").await;
    let res = w
        .staff
        .post(
            "/cloudpods",
            &[
                ("name", "Bad Name!"),
                ("plan_code", ""),
                ("region", "eu west"),
                ("subscription_id", "sub-123"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("id=\"e-name\""), "{page}");
    assert!(page.contains("id=\"e-plan_code\""));
    assert!(page.contains("id=\"e-region\""));
    assert!(page.contains("value=\"Bad Name!\""));
    // the free-text subscription reference is gone: pods come from subscriptions
    assert!(!page.contains("name=\"subscription_id\""));
    let res = w
        .staff
        .post("/cloudpods", &[("name", "taken"), ("plan_code", "MINI")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.text()
            .await
            .unwrap()
            .contains("You already have a pod with that name")
    );
    let res = w
        .staff
        .post(
            "/cloudpods",
            &[
                ("tenant_id", w.tenant.as_str()),
                ("name", "x1"),
                ("plan_code", "MINI"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("come from their subscriptions: order one for them"),
        "a customer's pod is ordered, not created here: {page}"
    );
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM cloudpods WHERE name = 'x1'")
            .await,
        0
    );
    // The pod belongs to the operator's own tenant, in its region by default.
    let (tenant, region, tenant_region): (String, String, String) = sqlx::query_as(
        "SELECT c.tenant_id, c.region, t.region FROM cloudpods c \
         JOIN tenants t ON t.id = c.tenant_id WHERE c.name = 'taken'",
    )
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(tenant, w.app.operator_tenant_id().await);
    assert_eq!(region, tenant_region);
}

#[tokio::test]
async fn the_json_api_reads_and_acts_with_the_right_scopes() {
    let w = pod_world().await;
    let id = customer_pod(&w, "web-01", "MINI").await;
    settled(&w.app, &id).await;
    w.app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    let member = w.app.signed_in("member@acme.test").await;
    let read_only = token_for(&member, &["READ"]).await;
    let provisioning = token_for(&member, &["READ", "WRITE", "PROVISIONING"]).await;
    // PROVISIONING without WRITE changes nothing.
    let no_write = token_for(&member, &["READ", "PROVISIONING"]).await;
    let http = reqwest::Client::new();
    let url = |p: &str| format!("{}{p}", w.app.base);

    let list: serde_json::Value = http
        .get(url("/api/v1/cloudpods"))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(list.get("next_cursor").is_none(), "{list}");
    assert_eq!(list["items"][0]["name"], "web-01");
    assert_eq!(list["items"][0]["status"], "ACTIVE");
    assert_eq!(list["items"][0]["specs"]["disk_gb"], 20);
    let created = list["items"][0]["created_at"].as_str().unwrap();
    assert!(
        created.len() == 24 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "RFC 3339 UTC: {created}"
    );

    // READ alone cannot act; PROVISIONING can, within the member's rights.
    let res = http
        .post(url(&format!("/api/v1/cloudpods/{id}/resize")))
        .bearer_auth(&read_only)
        .json(&serde_json::json!({"plan_code": "PRO"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    for token in [&read_only, &no_write] {
        let res = http
            .post(url(&format!("/api/v1/cloudpods/{id}/resize")))
            .bearer_auth(token)
            .json(&serde_json::json!({"plan_code": "PRO"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let err: serde_json::Value = res.json().await.unwrap();
        assert_eq!(err["error"]["code"], "insufficient_scope", "{err}");
    }
    // The rules answer as JSON: a subscription's pod changes plan on the subscription (422),
    // suspend is staff-only (403), bad power 422.
    let res = http
        .post(url(&format!("/api/v1/cloudpods/{id}/resize")))
        .bearer_auth(&provisioning)
        .json(&serde_json::json!({"plan_code": "PRO"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let err: serde_json::Value = res.json().await.unwrap();
    assert!(
        err["error"]["message"]
            .as_str()
            .unwrap()
            .contains("change its plan on the subscription"),
        "{err}"
    );
    let pod: serde_json::Value = http
        .get(url(&format!("/api/v1/cloudpods/{id}")))
        .bearer_auth(&read_only)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pod["plan"].as_str(), Some("MINI"));
    let res = http
        .post(url(&format!("/api/v1/cloudpods/{id}/suspend")))
        .bearer_auth(&provisioning)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http
        .post(url(&format!("/api/v1/cloudpods/{id}/power")))
        .bearer_auth(&provisioning)
        .json(&serde_json::json!({"action": "explode"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Creating is staff-only.
    let res = http
        .post(url("/api/v1/cloudpods"))
        .bearer_auth(&provisioning)
        .json(&serde_json::json!({"tenant_id": w.tenant, "name": "api-1", "plan_code": "MINI"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    // Another tenant's token sees nothing.
    let other = w.app.create_tenant(&w.staff, "globex").await;
    w.app
        .create_user(&w.staff, &other, "owner@globex.test", "OWNER")
        .await;
    let outsider = w.app.signed_in("owner@globex.test").await;
    let outsider_token = token_for(&outsider, &["READ", "WRITE", "PROVISIONING"]).await;
    let res = http
        .get(url(&format!("/api/v1/cloudpods/{id}")))
        .bearer_auth(&outsider_token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let res = http
        .post(url(&format!("/api/v1/cloudpods/{id}/delete")))
        .bearer_auth(&outsider_token)
        .json(&serde_json::json!({"confirm_name": "web-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // The member cannot delete, through the API either, a pod their subscription pays for.
    let res = http
        .post(url(&format!("/api/v1/cloudpods/{id}/delete")))
        .bearer_auth(&provisioning)
        .json(&serde_json::json!({"confirm_name": "web-01"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body.to_string().contains("cancel the subscription instead"),
        "{body}"
    );
    assert_eq!(settled(&w.app, &id).await, "ACTIVE");
}
