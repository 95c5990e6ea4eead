//! Subscriptions through HTTP: a customer orders a CloudPod (review → confirm), the first
//! invoice is issued, staff record the payment, the pod comes up with the manual driver and
//! the subscription becomes ACTIVE; roles, tenant isolation, bad input per field and a
//! concurrent double submit.

use reqwest::StatusCode;

use crate::helpers::*;

struct World {
    app: TestApp,
    staff: TestClient,
    tenant: String,
    owner: TestClient,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    // the seeded plans are priced in USD; the tenants here pay in EUR
    for (product, amount, setup) in [
        ("0192f000-0000-7000-8000-000000000001", "9.99", ""),
        ("0192f000-0000-7000-8000-000000000002", "19.99", "5.00"),
    ] {
        let res = staff
            .post(
                &format!("/billing/products/{product}/prices"),
                &[
                    ("currency", "EUR"),
                    ("period", "MONTHLY"),
                    ("amount", amount),
                    ("setup_fee", setup),
                ],
            )
            .await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "price {product}");
    }
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = app.signed_in("owner@acme.test").await;
    World {
        app,
        staff,
        tenant,
        owner,
    }
}

fn key(n: u32) -> String {
    format!("order-key-{n:08}-abcdef")
}

async fn order(c: &TestClient, pod: &str, k: &str, confirm: bool) -> reqwest::Response {
    let mut form = vec![
        ("product", "CLOUDPOD-PRO"),
        ("period", "MONTHLY"),
        ("quantity", "1"),
        ("addon", ""),
        ("pod_name", pod),
        ("region", ""),
        ("idempotency_key", k),
    ];
    if confirm {
        form.push(("confirm", "yes"));
    }
    c.post("/billing/subscriptions", &form).await
}

async fn sub_status(app: &TestApp, id: &str) -> String {
    sqlx::query_scalar("SELECT status FROM subscriptions WHERE id = $1")
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn order_invoice_pay_pod_active_subscription_active() {
    let w = world().await;
    // the order page preselects the product
    let page = w
        .owner
        .get("/billing/subscriptions/new?product=CLOUDPOD-PRO")
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("value=\"CLOUDPOD-PRO\" selected")
    );
    // review: the breakdown, nothing created
    let res = order(&w.owner, "web1", &key(1), false).await;
    let code = res.status();
    let review = res.text().await.unwrap();
    assert_eq!(code, StatusCode::OK, "{review}");
    assert!(
        review.contains("Confirm order") && review.contains("19.99"),
        "{review}"
    );
    assert!(
        review.contains("setup fee") && review.contains("24.99"),
        "{review}"
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM subscriptions").await, 0);
    // confirm
    let res = order(&w.owner, "web1", &key(1), true).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    assert_eq!(sub_status(&w.app, &id).await, "PENDING_ACTIVATION");
    let (inv, status, total, source): (String, String, i64, String) = sqlx::query_as(
        "SELECT id, status, total_minor, source FROM invoices WHERE subscription_id = $1",
    )
    .bind(&id)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), total, source.as_str()),
        ("ISSUED", 2499, "SUBSCRIPTION")
    );
    assert_eq!(w.app.count("SELECT COUNT(*) FROM cloudpods").await, 0);
    // staff record the payment in full
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{inv}/pay"),
            &[
                ("amount", "24.99"),
                ("method", "Bank transfer"),
                ("reference", "T-1"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", "pay-key-0000000001"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let app = &w.app;
    wait_until("the subscription is active", 20, || async {
        (sub_status(app, &id).await == "ACTIVE").then_some(())
    })
    .await;
    let (pod_status, pod_sub): (String, Option<String>) = sqlx::query_as(
        "SELECT c.status, c.subscription_id FROM cloudpods c JOIN subscriptions s ON s.cloudpod_id = c.id WHERE s.id = $1",
    )
    .bind(&id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(pod_status, "ACTIVE");
    assert_eq!(pod_sub.as_deref(), Some(id.as_str()));
    let (start, end): (Option<i64>, Option<i64>) = sqlx::query_as(
        "SELECT current_period_start, current_period_end FROM subscriptions WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert!(end.unwrap() > start.unwrap());
    // the detail page shows the timeline and the pod
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Ordered 1 × CloudPod Pro"), "{page}");
    assert!(page.contains("Pod web1 is active"), "{page}");
    assert!(page.contains("/cloudpods/"), "{page}");
    // the customer's list ("Services") shows it
    let list = w
        .owner
        .get("/billing/subscriptions")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Services") && list.contains("CloudPod Pro"));
}

#[tokio::test]
async fn roles_and_tenant_isolation() {
    let w = world().await;
    w.app
        .create_user(&w.staff, &w.tenant, "viewer@acme.test", "VIEWER")
        .await;
    w.app
        .create_user(&w.staff, &w.tenant, "member@acme.test", "MEMBER")
        .await;
    for who in ["viewer@acme.test", "member@acme.test"] {
        let c = w.app.signed_in(who).await;
        assert_eq!(
            order(&c, "web1", &key(2), true).await.status(),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            c.get("/billing/subscriptions/new").await.status(),
            StatusCode::FORBIDDEN
        );
    }
    let res = order(&w.owner, "web1", &key(3), true).await;
    let id = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let other = w.app.create_tenant(&w.staff, "other").await;
    w.app
        .create_user(&w.staff, &other, "owner@other.test", "OWNER")
        .await;
    let stranger = w.app.signed_in("owner@other.test").await;
    assert_eq!(
        stranger
            .get(&format!("/billing/subscriptions/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    let list = stranger
        .get("/billing/subscriptions")
        .await
        .text()
        .await
        .unwrap();
    assert!(!list.contains(&id));
    // staff order on behalf of a tenant
    let res = w
        .staff
        .post(
            "/billing/subscriptions",
            &[
                ("tenant_id", other.as_str()),
                ("product", "CLOUDPOD-MINI"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("pod_name", "mini1"),
                ("idempotency_key", &key(4)),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = '{other}'"
            ))
            .await,
        1
    );
}

#[tokio::test]
async fn bad_input_is_explained_beside_each_field() {
    let w = world().await;
    order(&w.owner, "taken", &key(5), true).await;
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "NO-SUCH"),
                ("period", "WEEKLY"),
                ("quantity", "0"),
                ("pod_name", "x"),
                ("idempotency_key", &key(6)),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(
        page.contains("id=\"e-product\"") && page.contains("id=\"e-period\""),
        "{page}"
    );
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "5"),
                ("addon", "CLOUDPOD-MINI"),
                ("pod_name", "taken"),
                ("idempotency_key", &key(7)),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    for f in ["quantity", "addon", "pod_name"] {
        assert!(page.contains(&format!("id=\"e-{f}\"")), "{f}: {page}");
    }
    assert!(page.contains("value=\"taken\""), "the input is kept");
    // a hourly period the product has no price for
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "YEARLY"),
                ("quantity", "1"),
                ("pod_name", "fresh"),
                ("idempotency_key", &key(8)),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.text().await.unwrap().contains("has no price per year"));
    assert_eq!(w.app.count("SELECT COUNT(*) FROM subscriptions").await, 1);
}

#[tokio::test]
async fn a_concurrent_double_submit_creates_one_subscription() {
    let w = world().await;
    let k = key(9);
    let (a, b, c) = tokio::join!(
        order(&w.owner, "twin", &k, true),
        order(&w.owner, "twin", &k, true),
        order(&w.owner, "twin", &k, true)
    );
    let locs: Vec<String> = [a, b, c]
        .iter()
        .map(|r| {
            assert_eq!(r.status(), StatusCode::SEE_OTHER);
            location(r)
        })
        .collect();
    assert!(locs.iter().all(|l| l == &locs[0]));
    assert_eq!(w.app.count("SELECT COUNT(*) FROM subscriptions").await, 1);
    assert_eq!(
        w.app
            .count("SELECT COUNT(*) FROM invoices WHERE source = 'SUBSCRIPTION'")
            .await,
        1
    );
}

async fn pay_in_full(w: &World, sub: &str, amount: &str) {
    let inv: String = sqlx::query_scalar("SELECT id FROM invoices WHERE subscription_id = $1")
        .bind(sub)
        .fetch_one(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = w
        .staff
        .post(
            &format!("/billing/invoices/{inv}/pay"),
            &[
                ("amount", amount),
                ("method", "Bank transfer"),
                ("paid_on", ""),
                ("status", "SUCCESS"),
                ("idempotency_key", &format!("pay-{sub}")),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn a_failed_provisioning_fails_the_activation_and_staff_retry_it() {
    let app = TestApp::spawn_without_worker().await;
    let staff = app.setup_owner().await;
    let tenant = app.create_tenant(&staff, "acme").await;
    app.create_user(&staff, &tenant, "owner@acme.test", "OWNER")
        .await;
    let owner = app.signed_in("owner@acme.test").await;
    let res = staff
        .post(
            "/billing/products/0192f000-0000-7000-8000-000000000001/prices",
            &[
                ("currency", "EUR"),
                ("period", "MONTHLY"),
                ("amount", "9.99"),
                ("setup_fee", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let w = World {
        app,
        staff,
        tenant,
        owner,
    };
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-MINI"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("pod_name", "flaky"),
                ("idempotency_key", &key(20)),
                ("confirm", "yes"),
            ],
        )
        .await;
    let id = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    pay_in_full(&w, &id, "9.99").await;
    // The pod is created for a driver this panel does not run: its provisioning fails.
    mpanel::subscriptions::service::activate(&w.app.state.db, "proxmox", &id)
        .await
        .unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(mpanel::app::run_worker(w.app.state.clone(), rx));
    let app = &w.app;
    wait_until("the activation fails", 20, || async {
        (sub_status(app, &id).await == "ACTIVATION_FAILED").then_some(())
    })
    .await;
    let page = w
        .staff
        .get(&format!("/billing/subscriptions/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("created with the proxmox provisioner"),
        "{page}"
    );
    assert!(page.contains("Retry activation"));
    // the customer cannot retry
    assert_eq!(
        w.owner
            .post(&format!("/billing/subscriptions/{id}/retry"), &[])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    sqlx::query("UPDATE cloudpods SET provisioner = 'manual' WHERE subscription_id = $1")
        .bind(&id)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = w
        .staff
        .post(&format!("/billing/subscriptions/{id}/retry"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    wait_until("the retried activation succeeds", 20, || async {
        (sub_status(app, &id).await == "ACTIVE").then_some(())
    })
    .await;
    let _ = &w.tenant;
    stop.send(true).unwrap();
    worker.await.unwrap();
}

#[tokio::test]
async fn a_trial_activates_at_once_without_an_invoice() {
    let w = world().await;
    sqlx::query("UPDATE products SET trial_days = 14 WHERE code = 'CLOUDPOD-PRO'")
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let res = order(&w.owner, "trial", &key(30), false).await;
    assert!(res.text().await.unwrap().contains("14-day trial"));
    let res = order(&w.owner, "trial", &key(30), true).await;
    let id = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let app = &w.app;
    wait_until("the trial is active", 20, || async {
        (sub_status(app, &id).await == "ACTIVE").then_some(())
    })
    .await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM invoices WHERE source = 'SUBSCRIPTION'")
            .await,
        0
    );
}

#[tokio::test]
async fn the_catalog_links_to_ordering() {
    let w = world().await;
    let visitor = w.app.client();
    let page = visitor.get("/catalog").await.text().await.unwrap();
    assert!(page.contains("Sign in to order"), "{page}");
    assert!(
        page.contains("/login?next=/billing/subscriptions/new%3Fproduct%3DCLOUDPOD-PRO"),
        "{page}"
    );
    let page = w.owner.get("/catalog").await.text().await.unwrap();
    assert!(
        page.contains("/billing/subscriptions/new?product=CLOUDPOD-PRO"),
        "{page}"
    );
}

#[tokio::test]
async fn an_unpaid_order_expires_and_its_invoice_is_voided() {
    let w = world().await;
    let res = order(&w.owner, "late", &key(40), true).await;
    let late = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    let res = order(&w.owner, "prompt", &key(41), true).await;
    let prompt = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    pay_in_full(&w, &prompt, "24.99").await;
    let app = &w.app;
    wait_until("the paid order is active", 20, || async {
        (sub_status(app, &prompt).await == "ACTIVE").then_some(())
    })
    .await;
    // the expiry job waits for the setting's 7 days
    let (run_at, expires_at): (i64, i64) = sqlx::query_as(
        "SELECT j.run_at, s.expires_at FROM jobs j JOIN subscriptions s ON j.subject = 'subscription:' || s.id \
         WHERE s.id = $1 AND j.kind = 'subscription.expire'",
    )
    .bind(&late)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(run_at, expires_at);
    let days = (expires_at - mpanel::db::Timestamp::now().0) as f64 / 86_400_000.0;
    assert!((6.9..=7.0).contains(&days), "{days}");
    // move the expiry (and its job) into the past
    let past = mpanel::db::Timestamp::now().0 - 1000;
    sqlx::query("UPDATE subscriptions SET expires_at = $1")
        .bind(past)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE kind = 'subscription.expire'")
        .bind(past)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    wait_until("the unpaid order expires", 20, || async {
        (sub_status(app, &late).await == "EXPIRED").then_some(())
    })
    .await;
    let inv: String = sqlx::query_scalar("SELECT status FROM invoices WHERE subscription_id = $1")
        .bind(&late)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(inv, "VOID");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM cloudpods WHERE subscription_id = '{late}'"
        ))
        .await,
        0
    );
    // the paid one stays active
    assert!(
        !mpanel::subscriptions::service::expire(
            &app.state.db,
            &prompt,
            mpanel::db::Timestamp::now()
        )
        .await
        .unwrap()
    );
    assert_eq!(sub_status(app, &prompt).await, "ACTIVE");
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{late}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("not paid in time"), "{page}");
}

/// An ACTIVE CloudPod subscription of the world's tenant: (subscription, pod).
async fn active_pod_subscription(w: &World, pod: &str, n: u32) -> (String, String) {
    let res = order(&w.owner, pod, &key(n), true).await;
    let id = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    pay_in_full(w, &id, "24.99").await;
    let app = &w.app;
    wait_until("the subscription is active", 20, || async {
        (sub_status(app, &id).await == "ACTIVE").then_some(())
    })
    .await;
    let pod: String = sqlx::query_scalar("SELECT cloudpod_id FROM subscriptions WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    // the provisioning job itself finishes just after it settled the pod
    let open = format!(
        "SELECT COUNT(*) FROM jobs WHERE subject = 'cloudpod:{pod}' \
         AND state IN ('available', 'running', 'retryable')"
    );
    wait_until("the pod's jobs finish", 30, || async {
        (app.count(&open).await == 0).then_some(())
    })
    .await;
    (id, pod)
}

async fn pod_settles(app: &TestApp, pod: &str, status: &str) {
    wait_until(&format!("the pod is {status}"), 20, || async {
        let (s, op): (String, String) =
            sqlx::query_as("SELECT status, operation FROM cloudpods WHERE id = $1")
                .bind(pod)
                .fetch_one(&app.state.db.pool)
                .await
                .unwrap();
        (s == status && op.is_empty()).then_some(())
    })
    .await;
}

#[tokio::test]
async fn suspend_and_resume_reach_the_pod() {
    let w = world().await;
    let (id, pod) = active_pod_subscription(&w, "susp", 50).await;
    let url = format!("/billing/subscriptions/{id}/suspend");
    // customers do not suspend
    assert_eq!(
        w.owner
            .post(&url, &[("reason", "x"), ("confirm", "yes")])
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    // without confirmation: asked once, nothing done
    let res = w.staff.post(&url, &[("reason", "unpaid bills")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(sub_status(&w.app, &id).await, "ACTIVE");
    // a reason is required
    let res = w
        .staff
        .post(&url, &[("reason", ""), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let res = w
        .staff
        .post(&url, &[("reason", "unpaid bills"), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(sub_status(&w.app, &id).await, "SUSPENDED");
    pod_settles(&w.app, &pod, "SUSPENDED").await;
    let res = w
        .staff
        .post(
            &format!("/billing/subscriptions/{id}/resume"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(sub_status(&w.app, &id).await, "ACTIVE");
    pod_settles(&w.app, &pod, "ACTIVE").await;
    let page = w
        .owner
        .get(&format!("/billing/subscriptions/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Suspended: unpaid bills") && page.contains("Resumed"),
        "{page}"
    );
}

#[tokio::test]
async fn cancel_now_credits_the_unused_part_and_deletes_the_pod() {
    let w = world().await;
    let (id, pod) = active_pod_subscription(&w, "gone", 60).await;
    // the pod of an active subscription is not deleted directly
    let res = w
        .owner
        .post(
            &format!("/cloudpods/{pod}/delete"),
            &[("confirm_name", "gone")],
        )
        .await;
    let code = res.status();
    let page = res.text().await.unwrap();
    assert_eq!(code, StatusCode::CONFLICT, "{page}");
    assert!(page.contains("cancel the subscription"), "{page}");
    let url = format!("/billing/subscriptions/{id}/cancel");
    // asked once, showing the credit
    let res = w.owner.post(&url, &[("when", "now")]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert!(res.text().await.unwrap().contains("credited"));
    let res = w
        .owner
        .post(&url, &[("when", "now"), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(sub_status(&w.app, &id).await, "CANCELLED");
    let (amount, invoice_status): (i64, String) = sqlx::query_as(
        "SELECT c.amount_minor, i.status FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id \
         WHERE i.subscription_id = $1",
    )
    .bind(&id)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    // the period started seconds ago: nearly all of the 19.99 (never the setup fee) comes back
    assert!((1990..=1999).contains(&amount), "{amount}");
    assert_eq!(invoice_status, "PAID");
    pod_settles(&w.app, &pod, "DELETED").await;
    // a cancelled subscription cannot be cancelled again
    let res = w
        .owner
        .post(&url, &[("when", "now"), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

#[tokio::test]
async fn cancel_at_period_end_is_undoable_then_ends_with_the_period() {
    let w = world().await;
    let (id, pod) = active_pod_subscription(&w, "later", 70).await;
    let url = format!("/billing/subscriptions/{id}/cancel");
    let res = w.owner.post(&url, &[("when", "period_end")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(sub_status(&w.app, &id).await, "CANCEL_AT_PERIOD_END");
    let res = w
        .owner
        .post(&format!("/billing/subscriptions/{id}/keep"), &[])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(sub_status(&w.app, &id).await, "ACTIVE");
    w.owner.post(&url, &[("when", "period_end")]).await;
    assert_eq!(sub_status(&w.app, &id).await, "CANCEL_AT_PERIOD_END");
    // not before the period ends
    assert!(
        !mpanel::subscriptions::service::end_period(
            &w.app.state.db,
            &id,
            mpanel::db::Timestamp::now()
        )
        .await
        .unwrap()
    );
    // the period ends
    let past = mpanel::db::Timestamp::now().0 - 1000;
    sqlx::query("UPDATE subscriptions SET current_period_end = $1 WHERE id = $2")
        .bind(past)
        .bind(&id)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE jobs SET run_at = $1 WHERE kind = 'subscription.period_end'")
        .bind(past)
        .execute(&w.app.state.db.pool)
        .await
        .unwrap();
    let app = &w.app;
    wait_until("the subscription ends", 20, || async {
        (sub_status(app, &id).await == "CANCELLED").then_some(())
    })
    .await;
    pod_settles(&w.app, &pod, "DELETED").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM credit_notes").await,
        0,
        "nothing unused once the period is over"
    );
}

/// An ADDON product at `amount` EUR a month.
async fn addon_product(w: &World, code: &str, amount: &str) {
    let res = w
        .staff
        .post(
            "/billing/products",
            &[
                ("code", code),
                ("name", &format!("Add-on {code}")),
                ("description", "An add-on"),
                ("category", "ADDON"),
                ("billing_model", "RECURRING"),
                ("status", "ACTIVE"),
                ("visibility", "PUBLIC"),
                ("tax_category", "STANDARD"),
                ("unit_name", ""),
                ("tier_mode", "GRADUATED"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = location(&res)
        .trim_start_matches("/billing/products/")
        .to_string();
    let res = w
        .staff
        .post(
            &format!("/billing/products/{id}/prices"),
            &[
                ("currency", "EUR"),
                ("period", "MONTHLY"),
                ("amount", amount),
                ("setup_fee", ""),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_order_carries_several_add_ons_each_once() {
    let w = world().await;
    addon_product(&w, "BACKUP-DAILY", "3.00").await;
    addon_product(&w, "IPV4-EXTRA", "2.50").await;
    let form = |confirm: bool| {
        let mut f = vec![
            ("product", "CLOUDPOD-PRO"),
            ("period", "MONTHLY"),
            ("quantity", "1"),
            ("addon", "BACKUP-DAILY"),
            ("addon", "IPV4-EXTRA"),
            ("addon", "BACKUP-DAILY"),
            ("pod_name", "addons"),
            ("region", ""),
            ("idempotency_key", "order-addons-0001-abcdef"),
        ];
        if confirm {
            f.push(("confirm", "yes"));
        }
        f
    };
    // The review lists each add-on once and the total includes both.
    let page = w
        .owner
        .post("/billing/subscriptions", &form(false))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Add-on BACKUP-DAILY") && page.contains("Add-on IPV4-EXTRA"),
        "{page}"
    );
    assert!(
        page.contains("name=\"addon\" value=\"BACKUP-DAILY\" checked"),
        "kept: {page}"
    );
    // 19.99 + 5.00 setup + 3.00 + 2.50
    assert!(page.contains("30.49"), "{page}");
    let res = w.owner.post("/billing/subscriptions", &form(true)).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let id = location(&res)
        .trim_start_matches("/billing/subscriptions/")
        .to_string();
    assert_eq!(
        w.app
            .count(&format!(
                "SELECT COUNT(*) FROM subscription_items WHERE subscription_id = '{id}'"
            ))
            .await,
        3
    );
    let total: i64 =
        sqlx::query_scalar("SELECT total_minor FROM invoices WHERE subscription_id = $1")
            .bind(&id)
            .fetch_one(&w.app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(total, 3049);
    // A main product among the add-ons is refused by name.
    let res = w
        .owner
        .post(
            "/billing/subscriptions",
            &[
                ("product", "CLOUDPOD-PRO"),
                ("period", "MONTHLY"),
                ("quantity", "1"),
                ("addon", "IPV4-EXTRA"),
                ("addon", "CLOUDPOD-MINI"),
                ("pod_name", "other"),
                ("idempotency_key", "order-addons-0002-abcdef"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = res.text().await.unwrap();
    assert!(page.contains("CloudPod Mini is not an add-on."), "{page}");
}

/// The unused part is measured by the panel's clock (the one every schedule reads), not the
/// machine's: half-way through the period, half comes back.
#[tokio::test]
async fn cancel_now_credits_by_the_panel_clock() {
    let w = world().await;
    let (id, _) = active_pod_subscription(&w, "half", 61).await;
    let (start, end, _) = crate::bill_runs::period(&w.app, &id).await;
    w.app
        .state
        .clock
        .advance_to(mpanel::db::Timestamp(start.0 + (end.0 - start.0) / 2));
    let url = format!("/billing/subscriptions/{id}/cancel");
    let res = w.owner.post(&url, &[("when", "now")]).await;
    let page = res.text().await.unwrap();
    assert!(
        page.contains("credited EUR 10.00") || page.contains("credited EUR 9.99"),
        "{page}"
    );
    let res = w
        .owner
        .post(&url, &[("when", "now"), ("confirm", "yes")])
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let amount: i64 = sqlx::query_scalar(
        "SELECT c.amount_minor FROM credit_notes c JOIN invoices i ON i.id = c.invoice_id \
         WHERE i.subscription_id = $1",
    )
    .bind(&id)
    .fetch_one(&w.app.state.db.pool)
    .await
    .unwrap();
    assert!((999..=1000).contains(&amount), "{amount}");
}
