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

/// A customer resizes their pod and reboots it, watching each job's progress live.
#[tokio::test]
async fn customer_resizes_and_reboots_a_pod_watching_progress() {
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

    b.client
        .find(Locator::XPath(
            "//summary[normalize-space(.)='Resize (change plan)']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    b.choose("New plan", "PRO — 2 vCPU, 2048 MB RAM, 50 GB disk")
        .await;
    b.press("Resize").await;
    b.expect_text("Resize started.").await;
    // The job waits for a worker; the customer sees plain progress and the page keeps polling.
    b.expect_text("Resizing…").await;
    b.screenshot("cloudpod-resizing").await;
    let worker = start_worker(&app);
    // No reload: the polling section shows the result when the job ends.
    b.expect_text("Pending until reboot").await;
    b.expect_text("2 vCPU · 2 GB RAM · 50 GB disk").await;
    b.expect_gone("Resizing…").await;
    b.screenshot("cloudpod-pending-reboot").await;
    stop_worker(worker).await;

    b.press("Reboot").await;
    b.press("Yes, reboot").await;
    b.expect_text("Reboot requested.").await;
    b.expect_text("Rebooting…").await;
    let worker = start_worker(&app);
    b.expect_gone("Pending until reboot").await;
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
