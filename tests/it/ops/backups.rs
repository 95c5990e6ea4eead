//! CloudPod backups: the policy a pod gets from its plan, who may change it (audited), the
//! `cloudpod.backup` job against the Proxmox double (vzdump, polling, size, retention, a
//! failing task), the scheduler's one job per slot, the ops tile's figures against seeded
//! runs (and the empty system, and the manual provisioner that cannot back up), and the
//! hypervisor node figures read from `/nodes/{node}/status`.

use mpanel::cloudpods::backups::service::schedule_due;
use mpanel::db::Timestamp;
use reqwest::StatusCode;

use crate::helpers::*;
use crate::proxmox_double::{Double, NODE, NodeStatus, TEMPLATE, TOKEN_ID, TOKEN_SECRET};

const DAY: i64 = 86_400_000;
const BACKUP_STORAGE: &str = "pbs-store";

/// The app on the Proxmox double, backing up to [`BACKUP_STORAGE`].
async fn proxmox_app(double: &Double, worker: bool) -> TestApp {
    let url = double.url.clone();
    TestApp::spawn_with(move |c| {
        c.provisioner = "proxmox".into();
        c.proxmox_url = Some(url);
        c.proxmox_token_id = Some(TOKEN_ID.into());
        c.proxmox_token_secret = Some(TOKEN_SECRET.into());
        c.proxmox_node = Some(NODE.into());
        c.proxmox_template_vmid = Some(TEMPLATE);
        c.proxmox_storage = Some("local-lvm".into());
        c.proxmox_backup_storage = Some(BACKUP_STORAGE.into());
        c.no_worker = !worker;
    })
    .await
}

async fn scalar_i64(app: &TestApp, sql: &str, id: &str) -> i64 {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn scalar_text(app: &TestApp, sql: &str, id: &str) -> String {
    sqlx::query_scalar(sql)
        .bind(id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap()
}

async fn next_run_at(app: &TestApp, pod: &str) -> Timestamp {
    Timestamp(
        scalar_i64(
            app,
            "SELECT next_run_at FROM backup_policies WHERE pod_id = $1",
            pod,
        )
        .await,
    )
}

async fn backup_jobs(app: &TestApp, pod: &str) -> i64 {
    app.count(&format!(
        "SELECT COUNT(*) FROM jobs WHERE kind = 'cloudpod.backup' AND subject = 'cloudpod:{pod}'"
    ))
    .await
}

/// Moves the clock to the pod's next slot and runs the scheduler's tick; answers how many
/// backup jobs the pod has then (the app's own scheduler may tick too: counting the jobs,
/// not what this tick enqueued, keeps the test exact either way).
async fn tick_at_next_slot(app: &TestApp, pod: &str) -> i64 {
    app.state.clock.advance_to(next_run_at(app, pod).await);
    schedule_due(&app.state.db, &app.state.provisioner, app.state.clock.now())
        .await
        .unwrap();
    backup_jobs(app, pod).await
}

/// Waits until `n` runs of the pod have ended.
async fn wait_for_runs(app: &TestApp, pod: &str, n: i64) {
    wait_until(&format!("{n} backup runs of {pod} to end"), 20, || async {
        (scalar_i64(
            app,
            "SELECT COUNT(*) FROM backup_runs WHERE pod_id = $1 AND status <> 'RUNNING'",
            pod,
        )
        .await
            == n)
            .then_some(())
    })
    .await
}

async fn wait_active(app: &TestApp, pod: &str) {
    wait_until("the pod to be active", 20, || async {
        (scalar_text(app, "SELECT status FROM cloudpods WHERE id = $1", pod).await == "ACTIVE")
            .then_some(())
    })
    .await
}

#[tokio::test]
async fn a_pod_gets_its_plans_backup_policy_and_only_customer_admins_change_it() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    // The plan's defaults, on the plan form.
    let res = owner
        .post(
            "/billing/plans/MINI",
            &[
                ("cpu_cores", "1"),
                ("ram_mb", "1024"),
                ("disk_gb", "20"),
                ("max_websites", "5"),
                ("max_email_accounts", "10"),
                ("backup_frequency", "WEEKLY"),
                ("backup_retention", "3"),
            ],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let plans = owner.get("/billing/plans").await.text().await.unwrap();
    assert!(
        plans.contains("New pods are backed up weekly, keeping 3"),
        "{plans}"
    );
    let bad = owner
        .post(
            "/billing/plans/MINI",
            &[
                ("cpu_cores", "1"),
                ("ram_mb", "1024"),
                ("disk_gb", "20"),
                ("max_websites", "5"),
                ("max_email_accounts", "10"),
                ("backup_frequency", "HOURLY"),
                ("backup_retention", "0"),
            ],
        )
        .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("MINI-e-backup_frequency") && html.contains("MINI-e-backup_retention"));

    let tenant = app.create_tenant(&owner, "acme").await;
    let pod = app.order_pod(&owner, &tenant, "web-1", "MINI").await;
    let (frequency, retention, next): (String, i64, i64) = sqlx::query_as(
        "SELECT frequency, retention, next_run_at FROM backup_policies WHERE pod_id = $1",
    )
    .bind(&pod)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!((frequency.as_str(), retention), ("WEEKLY", 3));
    // the next Monday, 00:00 UTC (1970-01-05 was a Monday)
    assert_eq!((next - 4 * DAY) % (7 * DAY), 0);
    assert!(next > Timestamp::now().0 && next <= Timestamp::now().0 + 7 * DAY);

    app.create_user(&owner, &tenant, "member@acme.test", "MEMBER")
        .await;
    app.create_user(&owner, &tenant, "admin@acme.test", "ADMIN")
        .await;
    let member = app.signed_in("member@acme.test").await;
    let page = member
        .get(&format!("/cloudpods/{pod}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Weekly, keeping the newest 3 backups"),
        "{page}"
    );
    assert!(
        !page.contains("Save backup policy"),
        "a member sees no form"
    );
    // The customer is told plainly that no backup is made (staff get the driver's reason).
    assert!(page.contains("Automatic backups are not available on this platform yet"));
    assert!(!page.contains("provisioner"), "no internals for a customer");
    let form = [("frequency", "DAILY"), ("retention", "5")];
    let res = member
        .post(&format!("/cloudpods/{pod}/backup-policy"), &form)
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);

    let admin = app.signed_in("admin@acme.test").await;
    let page = admin
        .get(&format!("/cloudpods/{pod}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("Save backup policy"));
    let res = admin
        .post(
            &format!("/cloudpods/{pod}/backup-policy"),
            &[("frequency", "DAILY"), ("retention", "500")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = res.text().await.unwrap();
    assert!(html.contains("backup-e-retention") && html.contains("value=\"500\""));
    let res = admin
        .post(&format!("/cloudpods/{pod}/backup-policy"), &form)
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (frequency, retention, next): (String, i64, i64) = sqlx::query_as(
        "SELECT frequency, retention, next_run_at FROM backup_policies WHERE pod_id = $1",
    )
    .bind(&pod)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!((frequency.as_str(), retention), ("DAILY", 5));
    assert_eq!(next % DAY, 0, "daily: the next midnight UTC");
    let summary = scalar_text(
        &app,
        "SELECT summary FROM audit_log WHERE action = 'backup_policy.updated' AND target_id = $1",
        &pod,
    )
    .await;
    assert_eq!(
        summary,
        "Backup policy of pod web-1: daily, keep 5 (was weekly, keep 3)"
    );
    // Another tenant's admin does not find the pod.
    let other = app.create_tenant(&owner, "other").await;
    app.create_user(&owner, &other, "admin@other.test", "ADMIN")
        .await;
    let stranger = app.signed_in("admin@other.test").await;
    let res = stranger
        .post(&format!("/cloudpods/{pod}/backup-policy"), &form)
        .await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_backup_job_runs_vzdump_records_the_size_and_keeps_the_retention() {
    let double = Double::start().await;
    let app = proxmox_app(&double, true).await;
    let owner = app.setup_owner().await;
    let tenant = app.create_tenant(&owner, "acme").await;
    let pod = app.order_pod(&owner, &tenant, "web-1", "MINI").await;
    wait_active(&app, &pod).await;
    let vmid = scalar_i64(&app, "SELECT vmid FROM cloudpods WHERE id = $1", &pod).await;
    let res = owner
        .post(
            &format!("/cloudpods/{pod}/backup-policy"),
            &[("frequency", "DAILY"), ("retention", "2")],
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    double.with(|s| {
        s.backup_sizes
            .extend([734_003_200, 800_000_000, 900_000_000])
    });

    // Nothing is due before the slot.
    let now = app.state.clock.now();
    assert_eq!(
        schedule_due(&app.state.db, &app.state.provisioner, now)
            .await
            .unwrap(),
        0
    );
    let slot = next_run_at(&app, &pod).await;
    assert_eq!(tick_at_next_slot(&app, &pod).await, 1);
    // The same slot is never enqueued twice, however many schedulers tick.
    assert_eq!(
        schedule_due(&app.state.db, &app.state.provisioner, app.state.clock.now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(backup_jobs(&app, &pod).await, 1);
    assert_eq!(next_run_at(&app, &pod).await, Timestamp(slot.0 + DAY));
    wait_for_runs(&app, &pod, 1).await;

    let reqs = double.requests();
    let dump = reqs
        .iter()
        .find(|r| r.is("POST", &format!("/nodes/{NODE}/vzdump")))
        .expect("vzdump was called");
    assert_eq!(dump.form["vmid"], vmid.to_string());
    assert_eq!(dump.form["storage"], BACKUP_STORAGE);
    assert_eq!(dump.form["mode"], "snapshot");
    assert_eq!(dump.form["compress"], "zstd");
    let polls = reqs
        .iter()
        .filter(|r| r.path.contains(":vzdump:") && r.path.ends_with("/status"))
        .count();
    assert_eq!(polls, 3, "two 'running' answers, then 'stopped'");
    let (status, size, volid, slot_saved, error): (String, i64, String, i64, String) =
        sqlx::query_as(
            "SELECT status, size_bytes, volid, slot, error FROM backup_runs WHERE pod_id = $1",
        )
        .bind(&pod)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(status, "SUCCEEDED");
    assert_eq!(size, 734_003_200);
    assert_eq!(
        volid,
        format!("{BACKUP_STORAGE}:backup/vzdump-qemu-{vmid}-0001.vma.zst")
    );
    assert_eq!(slot_saved, slot.0);
    assert_eq!(error, "");
    let page = owner
        .get(&format!("/cloudpods/{pod}"))
        .await
        .text()
        .await
        .unwrap();
    let runs = between(&page, "<table id=\"backup-runs\">", "</table>").unwrap();
    assert!(
        runs.contains("700.0 MiB") && runs.contains("Succeeded"),
        "{runs}"
    );

    // Two more slots: the third backup pushes the first beyond the retention of 2.
    assert_eq!(tick_at_next_slot(&app, &pod).await, 2);
    wait_for_runs(&app, &pod, 2).await;
    assert_eq!(double.count("DELETE", ".vma.zst"), 0);
    assert_eq!(tick_at_next_slot(&app, &pod).await, 3);
    wait_for_runs(&app, &pod, 3).await;
    wait_until("the oldest backup to be removed", 10, || async {
        (double.count("DELETE", ".vma.zst") == 1).then_some(())
    })
    .await;
    let deleted = double
        .requests()
        .into_iter()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        deleted.path,
        format!(
            "/nodes/{NODE}/storage/{BACKUP_STORAGE}/content/{BACKUP_STORAGE}%3Abackup%2Fvzdump-qemu-{vmid}-0001.vma.zst"
        )
    );
    let left: Vec<String> = double.with(|s| s.volumes.iter().map(|v| v.volid.clone()).collect());
    assert_eq!(
        left,
        [
            format!("{BACKUP_STORAGE}:backup/vzdump-qemu-{vmid}-0002.vma.zst"),
            format!("{BACKUP_STORAGE}:backup/vzdump-qemu-{vmid}-0003.vma.zst"),
        ]
    );
    wait_until("the removal to be recorded", 10, || async {
        (app.count(&format!(
            "SELECT COUNT(*) FROM backup_runs WHERE pod_id = '{pod}' AND removed_at IS NOT NULL \
             AND volid LIKE '%-0001.vma.zst'"
        ))
        .await
            == 1)
            .then_some(())
    })
    .await;
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM backup_runs WHERE pod_id = '{pod}' AND status = 'SUCCEEDED'"
        ))
        .await,
        3
    );

    // A task that ends in error: the run records Proxmox's error.
    double.with(|s| {
        s.task_failures
            .push_back("ERROR: Backup of VM failed - no space left on device".into())
    });
    assert_eq!(tick_at_next_slot(&app, &pod).await, 4);
    wait_for_runs(&app, &pod, 4).await;
    let (status, error, size): (String, String, Option<i64>) = sqlx::query_as(
        "SELECT status, error, size_bytes FROM backup_runs WHERE pod_id = $1 \
         ORDER BY slot DESC LIMIT 1",
    )
    .bind(&pod)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(status, "FAILED");
    assert_eq!(size, None);
    assert!(
        error.contains(
            "the backup task ended in error: ERROR: Backup of VM failed - no space left on device"
        ),
        "{error}"
    );
    assert_eq!(
        double.count("DELETE", ".vma.zst"),
        1,
        "nothing removed after a failure"
    );
    let staff = owner
        .get("/ops/backups?status=FAILED")
        .await
        .text()
        .await
        .unwrap();
    assert!(staff.contains("<p id=\"runs-total\">1 run."), "{staff}");
    assert!(staff.contains("no space left on device"));
}

#[tokio::test]
async fn the_tile_says_the_manual_provisioner_cannot_back_up() {
    let app = TestApp::spawn_without_worker().await;
    let owner = app.setup_owner().await;
    let res = owner.get_htmx("/ops/tiles/backups").await;
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(html.contains("id=\"tile-backups\""));
    assert!(
        html.contains("<p id=\"backups-unsupported\">The manual provisioner cannot back up pods"),
        "{html}"
    );
    assert!(!html.contains("id=\"backups-runs\""), "no zeros counted");
    let overview = owner.get("/ops").await.text().await.unwrap();
    assert!(overview.contains("id=\"tile-backups\""));
    // and nothing is scheduled
    assert_eq!(
        schedule_due(
            &app.state.db,
            &app.state.provisioner,
            Timestamp(i64::MAX / 2)
        )
        .await
        .unwrap(),
        0
    );
}

fn dd<'a>(html: &'a str, id: &str) -> &'a str {
    between(html, &format!("<dd id=\"{id}\">"), "</dd>").unwrap_or_else(|| panic!("no {id}"))
}

async fn seed_run(app: &TestApp, pod: &str, status: &str, started: i64, finished: Option<i64>) {
    let tenant = scalar_text(app, "SELECT tenant_id FROM cloudpods WHERE id = $1", pod).await;
    sqlx::query(
        "INSERT INTO backup_runs (id, pod_id, tenant_id, slot, status, size_bytes, error, \
         started_at, finished_at) VALUES ($1, $2, $3, $4, $5, $6, '', $7, $8)",
    )
    .bind(mpanel::db::new_id())
    .bind(pod)
    .bind(&tenant)
    .bind(started)
    .bind(status)
    .bind(if status == "SUCCEEDED" {
        Some(1_000_i64)
    } else {
        None
    })
    .bind(started)
    .bind(finished)
    .execute(&app.state.db.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn the_tile_counts_todays_runs_and_lists_pods_without_a_backup_in_their_window() {
    let double = Double::start().await;
    let app = proxmox_app(&double, false).await;
    let owner = app.setup_owner().await;
    // 2030-01-15 12:00 UTC, a Tuesday.
    let now = 1_894_708_800_000;
    app.state.clock.advance_to(Timestamp(now));
    let midnight = now - now % DAY;

    // The empty system.
    let html = owner
        .get_htmx("/ops/tiles/backups")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        dd(&html, "backups-runs"),
        format!("<a href=\"/ops/backups?from=2030-01-15\">0</a>")
    );
    assert_eq!(dd(&html, "backups-rate"), "no run ended today");
    assert_eq!(
        dd(&html, "backups-overdue"),
        "<a href=\"/ops/backups#overdue\">0</a>"
    );
    assert!(html.contains("No live pod has a backup policy."));

    let tenant = app.create_tenant(&owner, "acme").await;
    let mut pods = Vec::new();
    for name in ["pod-a", "pod-b", "pod-c", "pod-d"] {
        let id = app.order_pod(&owner, &tenant, name, "MINI").await;
        sqlx::query("UPDATE cloudpods SET status = 'ACTIVE' WHERE id = $1")
            .bind(&id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        // policies made long ago, except pod-d's (today: not yet expected)
        let created = if name == "pod-d" {
            now - 3_600_000
        } else {
            now - 30 * DAY
        };
        sqlx::query("UPDATE backup_policies SET created_at = $1 WHERE pod_id = $2")
            .bind(created)
            .bind(&id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        pods.push(id);
    }
    let (a, b, c) = (&pods[0], &pods[1], &pods[2]);
    let h = 3_600_000;
    // today: a succeeded, b failed, c still running
    seed_run(&app, a, "SUCCEEDED", midnight + h, Some(midnight + 2 * h)).await;
    seed_run(&app, b, "FAILED", midnight + 2 * h, Some(midnight + 3 * h)).await;
    seed_run(&app, c, "RUNNING", midnight + 3 * h, None).await;
    // yesterday: b succeeded (inside its window), a failed
    seed_run(
        &app,
        b,
        "SUCCEEDED",
        midnight - 5 * h,
        Some(midnight - 4 * h),
    )
    .await;
    seed_run(&app, a, "FAILED", midnight - 6 * h, Some(midnight - 5 * h)).await;
    // two days ago: c's last success (before its window began at yesterday 00:00)
    seed_run(
        &app,
        c,
        "SUCCEEDED",
        midnight - 2 * DAY + h,
        Some(midnight - 2 * DAY + 2 * h),
    )
    .await;

    let html = owner
        .get_htmx("/ops/tiles/backups")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        dd(&html, "backups-runs"),
        "<a href=\"/ops/backups?from=2030-01-15\">3</a>"
    );
    assert_eq!(
        dd(&html, "backups-succeeded"),
        "<a href=\"/ops/backups?status=SUCCEEDED&#38;from=2030-01-15\">1</a>"
    );
    assert_eq!(
        dd(&html, "backups-failed"),
        "<a href=\"/ops/backups?status=FAILED&#38;from=2030-01-15\" class=\"ops-alert\">1</a>"
    );
    assert_eq!(
        dd(&html, "backups-running"),
        "<a href=\"/ops/backups?status=RUNNING&#38;from=2030-01-15\">1</a>"
    );
    assert_eq!(dd(&html, "backups-rate"), "50 %");
    assert_eq!(
        dd(&html, "backups-overdue"),
        "<a href=\"/ops/backups#overdue\" class=\"ops-alert\">1</a>"
    );
    let overdue = between(
        &html,
        "<ul id=\"backups-overdue-pods\" class=\"ops-list\">",
        "</ul>",
    )
    .unwrap();
    assert!(overdue.contains(&format!("<a href=\"/ops/backups?pod={c}\">pod-c</a>")));
    assert!(
        overdue.contains("last success 2030-01-13 02:00:00 UTC"),
        "{overdue}"
    );
    assert_eq!(overdue.matches("<li>").count(), 1);
    // last success per pod, the least recently backed up first (never first of all)
    let last = between(
        &html,
        "<ul id=\"backups-last\" class=\"ops-list\">",
        "</ul>",
    )
    .unwrap();
    let order: Vec<&str> = last
        .split("data-pod=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(order, ["pod-d", "pod-c", "pod-b", "pod-a"]);
    assert!(last.contains("pod-d</a>: never"));
    assert!(last.contains("pod-a</a>: 2030-01-15 02:00:00 UTC"));

    // The figures' links show the same rows.
    let list = owner
        .get("/ops/backups?status=SUCCEEDED&from=2030-01-15")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("<p id=\"runs-total\">1 run."));
    assert!(list.contains(">pod-a</a>"));
    let list = owner
        .get("/ops/backups?from=2030-01-15")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("<p id=\"runs-total\">3 runs."));
    let overdue = between(&list, "<ul id=\"overdue-pods\">", "</ul>").unwrap();
    assert!(overdue.contains("pod-c") && !overdue.contains("pod-a") && !overdue.contains("pod-d"));

    // A customer sees their pod's runs, not the staff list.
    app.create_user(&owner, &tenant, "admin@acme.test", "ADMIN")
        .await;
    let admin = app.signed_in("admin@acme.test").await;
    assert_eq!(
        admin.get("/ops/backups").await.status(),
        StatusCode::FORBIDDEN
    );
    let page = admin
        .get(&format!("/cloudpods/{b}"))
        .await
        .text()
        .await
        .unwrap();
    let runs = between(&page, "<table id=\"backup-runs\">", "</table>").unwrap();
    assert_eq!(
        runs.matches("<tr>").count(),
        3,
        "header and two runs: {runs}"
    );
}

#[tokio::test]
async fn cloud_nodes_get_the_hypervisors_figures() {
    let double = Double::start().await;
    let app = proxmox_app(&double, false).await;
    let owner = app.setup_owner().await;
    let mut form = super::nodes::tcp_node(NODE, "127.0.0.1", "9");
    form[1] = ("node_type", "CLOUD");
    let id = super::nodes::register(&owner, &form).await;
    let web =
        super::nodes::register(&owner, &super::nodes::tcp_node("web-1", "127.0.0.1", "9")).await;
    double.with(|s| {
        s.node_status.insert(
            NODE.into(),
            NodeStatus {
                cpu: 0.1234,
                mem_used: 8_000_000_000,
                mem_total: 32_000_000_000,
                rootfs_used: 20_000_000_000,
                rootfs_total: 100_000_000_000,
                loadavg: ["1.25", "0.90", "0.40"],
            },
        )
    });
    let now = app.state.clock.now();
    let read = mpanel::ops::nodes::hosts::read_pass(&app.state.db, &app.state.provisioner, now)
        .await
        .unwrap();
    assert_eq!(read, 1, "the CLOUD node only");
    let row: (i64, i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT cpu_pct_x100, mem_used_bytes, mem_total_bytes, disk_used_bytes, \
         disk_total_bytes, load1_x100, metrics_at FROM ops_nodes WHERE id = $1",
    )
    .bind(&id)
    .fetch_one(&app.state.db.pool)
    .await
    .unwrap();
    assert_eq!(
        row,
        (
            1234,
            8_000_000_000,
            32_000_000_000,
            20_000_000_000,
            100_000_000_000,
            125,
            now.0
        )
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM ops_node_samples WHERE node_id = '{id}' AND cpu_pct_x100 = 1234"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM ops_nodes WHERE id = '{web}' AND metrics_at IS NULL"
        ))
        .await,
        1
    );
    assert_eq!(double.count("GET", &format!("/nodes/{NODE}/status")), 1);
    // Read once per probe interval (5 s here).
    let again = mpanel::ops::nodes::hosts::read_pass(&app.state.db, &app.state.provisioner, now)
        .await
        .unwrap();
    assert_eq!(again, 0);
    app.state.clock.advance(5);
    let later = mpanel::ops::nodes::hosts::read_pass(
        &app.state.db,
        &app.state.provisioner,
        app.state.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(later, 1);
    assert_eq!(double.count("GET", &format!("/nodes/{NODE}/status")), 2);
}
