use fantoccini::Locator;
use tokio::sync::watch;

use crate::browser::Browser;
use crate::helpers::{PASSWORD, TestApp, wait_until};

/// The worker runs only when the test lets it, so the page's progress can be watched.
fn start_worker(app: &TestApp) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, rx) = watch::channel(false);
    let handle = tokio::spawn(mpanel::app::run_worker(app.state.clone(), rx));
    (stop, handle)
}

async fn stop_worker(w: (watch::Sender<bool>, tokio::task::JoinHandle<()>)) {
    w.0.send(true).unwrap();
    w.1.await.unwrap();
}

/// A customer reboots their pod, watching the job's progress live; its plan is changed on
/// the subscription, not on the pod.
#[tokio::test]
async fn customer_reboots_a_pod_watching_progress() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    app.create_user(&owner, &tenant, "member@acme.test", "MEMBER")
        .await;
    app.order_pod(&owner, &tenant, "web-01", "MINI").await;
    let worker = start_worker(&app);
    let pool = app.state.db.pool.clone();
    wait_until("the pod to be provisioned", 20, || async {
        let s: String = sqlx::query_scalar("SELECT status FROM cloudpods WHERE name = 'web-01'")
            .fetch_one(&pool)
            .await
            .unwrap();
        (s == "ACTIVE").then_some(())
    })
    .await;
    stop_worker(worker).await;

    let b = Browser::start().await;
    b.goto(&format!("{}/login", app.base)).await;
    b.fill("E-mail", "member@acme.test").await;
    b.fill("Password", PASSWORD).await;
    b.press("Sign in").await;
    b.follow("CloudPods").await;
    b.expect_heading("CloudPods").await;
    b.follow("web-01").await;
    b.expect_heading("CloudPod web-01").await;
    b.expect_text("1 vCPU · 1 GB RAM · 20 GB disk").await;

    // The plan belongs to the subscription: the pod page sends the customer there.
    let link = b
        .client
        .find(Locator::LinkText("change the plan on the subscription"))
        .await
        .unwrap();
    let href = link.attr("href").await.unwrap().unwrap_or_default();
    assert!(href.ends_with("/plan"), "{href}");
    assert!(
        b.client
            .find(Locator::XPath(
                "//summary[normalize-space(.)='Resize (change plan)']"
            ))
            .await
            .is_err(),
        "no direct resize of a subscription's pod"
    );

    b.press("Reboot").await;
    b.press("Yes, reboot").await;
    b.expect_text("Reboot requested.").await;
    b.expect_text("Rebooting…").await;
    let worker = start_worker(&app);
    b.expect_gone("Rebooting").await;
    b.expect_text("Power change: Done").await;
    // operator internals are not shown to a customer
    let html = b.client.source().await.unwrap();
    for internal in [
        "hypervisor",
        "provisioner",
        "cloudpod.",
        "waiting for a worker",
        "Job history",
    ] {
        assert!(
            !html.contains(internal),
            "{internal:?} on a customer's pod page"
        );
    }
    stop_worker(worker).await;
    b.stop().await;
}
