//! The job queue on the real database (SQLite, or PostgreSQL with MPANEL_TEST_DATABASE_URL):
//! concurrent claims, unique keys, scheduling and cancel, subjects, pruning (worker: jobs_worker.rs).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpanel::db::Timestamp;
use mpanel::jobs::{self, NewJob, Registry, Worker, WorkerConfig, store};
use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::helpers::*;

pub(crate) fn config(concurrency: usize, lease_ms: u64, grace_ms: u64) -> WorkerConfig {
    WorkerConfig {
        id: WorkerConfig::new_id(),
        concurrency,
        lease: Duration::from_millis(lease_ms),
        poll_interval: Duration::from_millis(50),
        shutdown_grace: Duration::from_millis(grace_ms),
    }
}

pub(crate) struct Running {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Running {
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap();
    }
}

pub(crate) fn start(app: &TestApp, registry: Registry, cfg: WorkerConfig) -> Running {
    let (stop, rx) = watch::channel(false);
    let worker = Worker::new(app.state.db.clone(), registry, cfg);
    Running {
        stop,
        task: tokio::spawn(worker.run(rx)),
    }
}

pub(crate) fn noop(kind: &str) -> NewJob {
    NewJob::new(kind, &json!({}))
}

pub(crate) async fn errors(app: &TestApp, id: &str) -> Vec<(i64, String, String)> {
    sqlx::query_as(
        "SELECT attempt, error, worker FROM job_errors WHERE job_id = $1 ORDER BY at, id",
    )
    .bind(id)
    .fetch_all(&app.state.db.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn concurrent_claimers_take_each_job_exactly_once() {
    let app = TestApp::spawn_without_worker().await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    for _ in 0..300 {
        jobs::enqueue(&mut tx, noop("test.noop")).await.unwrap();
    }
    tx.commit().await.unwrap();
    let mut claimers = Vec::new();
    for i in 0..6 {
        let db = app.state.db.clone();
        claimers.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let now = Timestamp::now();
                let got = store::claim(&db, &format!("claimer-{i}"), 7, now, now.plus_secs(60))
                    .await
                    .unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|j| (j.id, j.attempt)));
            }
        }));
    }
    let mut all = Vec::new();
    for c in claimers {
        all.extend(c.await.unwrap());
    }
    let distinct: HashSet<&String> = all.iter().map(|(id, _)| id).collect();
    assert_eq!(all.len(), 300, "every job claimed");
    assert_eq!(distinct.len(), 300, "no job claimed twice");
    assert!(all.iter().all(|(_, attempt)| *attempt == 1));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE state = 'running'")
            .await,
        300
    );
}

#[tokio::test]
async fn unique_keys_hold_one_open_job_and_free_when_it_ends() {
    let app = TestApp::spawn_without_worker().await;
    let first = app.enqueue(noop("test.u").unique_key("pod:1")).await;
    assert!(!first.duplicate);
    let again = app.enqueue(noop("test.u").unique_key("pod:1")).await;
    assert!(again.duplicate);
    assert_eq!(again.id, first.id);
    let other = app.enqueue(noop("test.u").unique_key("pod:2")).await;
    assert!(!other.duplicate);

    // Concurrent enqueues of one key still make one job.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let db = app.state.db.clone();
        tasks.push(tokio::spawn(async move {
            let mut tx = db.begin_write().await.unwrap();
            let e = jobs::enqueue(&mut tx, noop("test.u").unique_key("pod:3"))
                .await
                .unwrap();
            tx.commit().await.unwrap();
            e
        }));
    }
    let mut ids = HashSet::new();
    for t in tasks {
        ids.insert(t.await.unwrap().id);
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE unique_key = 'pod:3'")
            .await,
        1
    );

    // A rolled-back enqueue leaves nothing behind.
    let mut tx = app.state.db.begin_write().await.unwrap();
    jobs::enqueue(&mut tx, noop("test.rollback")).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        app.count("SELECT COUNT(*) FROM jobs WHERE kind = 'test.rollback'")
            .await,
        0
    );

    // Once the job finishes, the key is free again.
    let mut registry = Registry::new();
    registry.register("test.u", |_ctx| async { Ok(()) });
    let w = start(&app, registry, config(4, 30_000, 1_000));
    app.wait_for_job(&first.id, "completed", 10).await;
    w.stop().await;
    let later = app.enqueue(noop("test.u").unique_key("pod:1")).await;
    assert!(!later.duplicate);
    assert_ne!(later.id, first.id);
}

/// A handler that has finished its subject's work frees the subject at once: the next job for
/// it is accepted while the first is still running.
#[tokio::test]
async fn a_released_key_frees_the_subject_while_the_job_still_runs() {
    let app = TestApp::spawn_without_worker().await;
    let first = app.enqueue(noop("test.release").unique_key("pod:9")).await;
    let (released_tx, mut released_rx) = tokio::sync::mpsc::channel::<()>(1);
    let gate = Arc::new(tokio::sync::Notify::new());
    let mut registry = Registry::new();
    {
        let gate = gate.clone();
        registry.register("test.release", move |ctx| {
            let released_tx = released_tx.clone();
            let gate = gate.clone();
            async move {
                let mut tx = ctx.db.begin_write().await.unwrap();
                jobs::release_key(&mut tx, &ctx.job.id).await.unwrap();
                tx.commit().await.unwrap();
                released_tx.send(()).await.unwrap();
                gate.notified().await;
                Ok(())
            }
        });
    }
    let w = start(&app, registry, config(4, 30_000, 1_000));
    tokio::time::timeout(Duration::from_secs(10), released_rx.recv())
        .await
        .expect("the handler ran");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM jobs WHERE id = '{}' AND state = 'running'",
            first.id
        ))
        .await,
        1
    );
    let next = app.enqueue(noop("test.other").unique_key("pod:9")).await;
    assert!(
        !next.duplicate,
        "the released key no longer holds the subject"
    );
    gate.notify_one();
    app.wait_for_job(&first.id, "completed", 10).await;
    w.stop().await;
}

#[tokio::test]
async fn scheduled_and_cancelled_jobs_wait() {
    let app = TestApp::spawn_without_worker().await;
    let ran: Arc<Mutex<Vec<String>>> = Arc::default();
    let mut registry = Registry::new();
    {
        let ran = ran.clone();
        registry.register("test.track", move |ctx| {
            let ran = ran.clone();
            async move {
                ran.lock().unwrap().push(ctx.job.id.clone());
                Ok(())
            }
        });
    }
    let later = app
        .enqueue(noop("test.track").run_at(Timestamp::now().plus_secs(3600)))
        .await;
    let cancelled = app.enqueue(noop("test.track")).await;
    let mut tx = app.state.db.begin_write().await.unwrap();
    assert_eq!(
        store::cancel(&mut tx, &cancelled.id, Timestamp::now())
            .await
            .unwrap(),
        1
    );
    tx.commit().await.unwrap();
    let now = app.enqueue(noop("test.track")).await;
    let w = start(&app, registry, config(4, 30_000, 1_000));
    app.wait_for_job(&now.id, "completed", 10).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.stop().await;
    assert_eq!(*ran.lock().unwrap(), vec![now.id.clone()]);
    assert_eq!(app.job_state(&later.id).await, "available");
    assert_eq!(app.job_state(&cancelled.id).await, "cancelled");
}

#[tokio::test]
async fn finished_jobs_are_pruned_after_their_retention() {
    let app = TestApp::spawn_without_worker().await;
    let day = 86_400_000;
    let now = Timestamp::now();
    let mut ids = Vec::new();
    for (state, age_days) in [
        ("completed", 8),
        ("completed", 6),
        ("discarded", 31),
        ("cancelled", 29),
        ("available", 400),
    ] {
        let job = app.enqueue(noop("test.old")).await;
        sqlx::query("UPDATE jobs SET state = $1, finished_at = $2 WHERE id = $3")
            .bind(state)
            .bind(now.0 - age_days * day)
            .bind(&job.id)
            .execute(&app.state.db.pool)
            .await
            .unwrap();
        ids.push(job.id);
    }
    sqlx::query("INSERT INTO job_errors (id, job_id, attempt, error, worker, at) VALUES ('e1', $1, 1, 'x', 'w', 0)")
        .bind(&ids[2])
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    let pruned = jobs::worker::prune_finished(&app.state.db, now)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    let left: Vec<String> = sqlx::query_scalar("SELECT id FROM jobs ORDER BY id")
        .fetch_all(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(left, vec![ids[1].clone(), ids[3].clone(), ids[4].clone()]);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM job_errors").await,
        0,
        "errors go with their job"
    );
}

#[tokio::test]
async fn a_subjects_jobs_are_listed_within_the_tenant_scope() {
    use mpanel::auth::model::TenantScope;
    let app = TestApp::spawn_without_worker().await;
    let first = app
        .enqueue(
            noop("cloudpod.provision")
                .subject("cloudpod:p1")
                .tenant("t1"),
        )
        .await;
    let second = app
        .enqueue(noop("cloudpod.resize").subject("cloudpod:p1").tenant("t1"))
        .await;
    app.enqueue(
        noop("cloudpod.provision")
            .subject("cloudpod:p2")
            .tenant("t2"),
    )
    .await;
    let pool = &app.state.db.pool;
    let own = TenantScope::Tenant("t1".into());
    let listed = store::list_for_subject(pool, &own, "cloudpod:p1", 10)
        .await
        .unwrap();
    let ids: Vec<&str> = listed.iter().map(|j| j.id.as_str()).collect();
    assert_eq!(ids, [second.id.as_str(), first.id.as_str()], "newest first");
    let other = TenantScope::Tenant("t2".into());
    assert!(
        store::list_for_subject(pool, &other, "cloudpod:p1", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store::get(pool, &other, &first.id).await.unwrap().is_none(),
        "another tenant's job is not found"
    );
    assert!(
        store::get(pool, &TenantScope::All, &first.id)
            .await
            .unwrap()
            .is_some()
    );
}
