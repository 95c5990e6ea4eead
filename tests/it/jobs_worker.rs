//! The worker against the real database: several workers, rescue of a dead worker's jobs,
//! heartbeats, backoff and discard, shutdown with a grace period, wake-up on enqueue.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mpanel::db::Timestamp;
use mpanel::jobs::{self, JobError, NewJob, Registry, store};

use crate::helpers::*;
use crate::jobs::{Running, config, errors, noop, start};

#[tokio::test]
async fn several_workers_run_every_job_once_and_never_at_the_same_time() {
    let app = TestApp::spawn_without_worker().await;
    let runs: Arc<Mutex<HashMap<String, u32>>> = Arc::default();
    let active: Arc<Mutex<HashSet<String>>> = Arc::default();
    let overlaps = Arc::new(Mutex::new(0u32));
    let mut registry = Registry::new();
    {
        let (runs, active, overlaps) = (runs.clone(), active.clone(), overlaps.clone());
        registry.register("test.count", move |ctx| {
            let (runs, active, overlaps) = (runs.clone(), active.clone(), overlaps.clone());
            async move {
                let id = ctx.job.id.clone();
                if !active.lock().unwrap().insert(id.clone()) {
                    *overlaps.lock().unwrap() += 1;
                }
                *runs.lock().unwrap().entry(id.clone()).or_default() += 1;
                tokio::time::sleep(Duration::from_millis(2)).await;
                active.lock().unwrap().remove(&id);
                Ok(())
            }
        });
    }
    let workers: Vec<Running> = (0..4)
        .map(|_| start(&app, registry.clone(), config(8, 30_000, 5_000)))
        .collect();
    let mut tx = app.state.db.begin_write().await.unwrap();
    for _ in 0..200 {
        jobs::enqueue(&mut tx, noop("test.count")).await.unwrap();
    }
    tx.commit().await.unwrap();
    wait_until("200 completed jobs", 30, || async {
        (app.count("SELECT COUNT(*) FROM jobs WHERE state = 'completed'")
            .await
            == 200)
            .then_some(())
    })
    .await;
    for w in workers {
        w.stop().await;
    }
    let runs = runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 200);
    assert!(runs.values().all(|n| *n == 1), "a job ran twice");
    assert_eq!(*overlaps.lock().unwrap(), 0);
    let workers_used = app
        .count("SELECT COUNT(DISTINCT locked_by) FROM jobs")
        .await;
    assert_eq!(workers_used, 0, "completed jobs hold no lock");
}

#[tokio::test]
async fn a_job_whose_worker_died_is_rescued_after_its_lease() {
    let app = TestApp::spawn_without_worker().await;
    let job = app.enqueue(noop("test.ok")).await;
    // A worker claims it with a one-second lease and dies: no heartbeat, no completion.
    let now = Timestamp::now();
    let claimed = store::claim(&app.state.db, "dead-worker", 10, now, now.plus_secs(1))
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let mut registry = Registry::new();
    registry.register("test.ok", |_ctx| async { Ok(()) });
    let live = start(&app, registry, config(2, 1_000, 1_000));
    app.wait_for_job(&job.id, "completed", 20).await;
    live.stop().await;
    let errs = errors(&app, &job.id).await;
    assert_eq!(errs.len(), 1, "{errs:?}");
    assert_eq!(errs[0].0, 1);
    assert!(
        errs[0].1.contains("lease of worker dead-worker expired"),
        "{errs:?}"
    );
    assert_eq!(errs[0].2, "dead-worker");
    assert_eq!(
        app.count(&format!("SELECT attempt FROM jobs WHERE id = '{}'", job.id))
            .await,
        2
    );
}

#[tokio::test]
async fn a_live_worker_keeps_its_lease_with_heartbeats() {
    let app = TestApp::spawn_without_worker().await;
    let mut registry = Registry::new();
    registry.register("test.slow", |_ctx| async {
        tokio::time::sleep(Duration::from_millis(4_000)).await;
        Ok(())
    });
    // Lease 1.5 s, job 4 s: only heartbeats keep another worker's rescuer away.
    let a = start(&app, registry.clone(), config(1, 1_500, 5_000));
    let b = start(&app, registry, config(1, 1_500, 5_000));
    let job = app.enqueue(noop("test.slow")).await;
    app.wait_for_job(&job.id, "completed", 20).await;
    a.stop().await;
    b.stop().await;
    assert!(errors(&app, &job.id).await.is_empty(), "never rescued");
    assert_eq!(
        app.count(&format!("SELECT attempt FROM jobs WHERE id = '{}'", job.id))
            .await,
        1
    );
}

#[tokio::test]
async fn failures_back_off_then_discard_keeping_every_error() {
    let app = TestApp::spawn_without_worker().await;
    let mut registry = Registry::new();
    registry.register("test.flaky", |ctx| async move {
        Err(JobError::retry(format!(
            "boom on attempt {}",
            ctx.job.attempt
        )))
    });
    registry.register("test.bad", |_ctx| async {
        Err(JobError::permanent("bad payload"))
    });
    registry.register("test.panic", |_ctx| async { panic!("handler bug") });
    let w = start(&app, registry, config(4, 30_000, 1_000));
    let flaky = app.enqueue(noop("test.flaky").max_attempts(3)).await;
    let bad = app.enqueue(noop("test.bad")).await;
    let panics = app.enqueue(noop("test.panic")).await;
    let orphan = app.enqueue(noop("test.nobody")).await;

    let pool = &app.state.db.pool;
    let timing = |id: String| async move {
        let (attempted, run_at): (i64, i64) =
            sqlx::query_as("SELECT attempted_at, run_at FROM jobs WHERE id = $1")
                .bind(id)
                .fetch_one(pool)
                .await
                .unwrap();
        run_at - attempted
    };
    for (attempt, min_ms, max_ms) in [(1, 1_000, 2_100 + 1_000), (2, 16_000, 18_600 + 1_000)] {
        app.wait_for_job(&flaky.id, "retryable", 10).await;
        let delay = timing(flaky.id.clone()).await;
        assert!(
            (min_ms..max_ms).contains(&delay),
            "attempt {attempt}: next run after {delay} ms"
        );
        // Skip the wait instead of sleeping through the backoff.
        sqlx::query("UPDATE jobs SET run_at = 0 WHERE id = $1")
            .bind(&flaky.id)
            .execute(pool)
            .await
            .unwrap();
        if attempt == 1 {
            wait_until("attempt 2", 10, || async {
                (app.count(&format!(
                    "SELECT attempt FROM jobs WHERE id = '{}'",
                    flaky.id
                ))
                .await
                    == 2)
                    .then_some(())
            })
            .await;
        }
    }
    app.wait_for_job(&flaky.id, "discarded", 10).await;
    let errs = errors(&app, &flaky.id).await;
    let attempts: Vec<i64> = errs.iter().map(|e| e.0).collect();
    assert_eq!(attempts, [1, 2, 3]);
    assert_eq!(errs[2].1, "boom on attempt 3");

    app.wait_for_job(&bad.id, "discarded", 10).await;
    assert_eq!(errors(&app, &bad.id).await.len(), 1, "permanent: no retry");
    app.wait_for_job(&panics.id, "retryable", 10).await;
    assert!(
        errors(&app, &panics.id).await[0]
            .1
            .contains("panicked: handler bug")
    );
    app.wait_for_job(&orphan.id, "retryable", 10).await;
    assert!(
        errors(&app, &orphan.id).await[0]
            .1
            .contains("no handler is registered for kind test.nobody")
    );
    w.stop().await;
}

#[tokio::test]
async fn shutdown_lets_short_jobs_finish_and_returns_long_ones_to_the_queue() {
    let app = TestApp::spawn_without_worker().await;
    let mut registry = Registry::new();
    registry.register("test.sleep", |ctx| async move {
        let ms: u64 = ctx.payload().parse().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        Ok(())
    });
    let w = start(&app, registry, config(4, 30_000, 1_000));
    let short = app
        .enqueue(NewJob {
            kind: "test.sleep".into(),
            payload: "300".into(),
            ..NewJob::default()
        })
        .await;
    let long = app
        .enqueue(NewJob {
            kind: "test.sleep".into(),
            payload: "60000".into(),
            ..NewJob::default()
        })
        .await;
    wait_until("both running", 10, || async {
        (app.count("SELECT COUNT(*) FROM jobs WHERE state = 'running'")
            .await
            == 2)
            .then_some(())
    })
    .await;
    let started = std::time::Instant::now();
    w.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "stopped within the grace period"
    );
    assert_eq!(app.job_state(&short.id).await, "completed");
    assert_eq!(app.job_state(&long.id).await, "available");
    let (attempt, locked): (i64, Option<String>) =
        sqlx::query_as("SELECT attempt, locked_by FROM jobs WHERE id = $1")
            .bind(&long.id)
            .fetch_one(&app.state.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (attempt, locked),
        (0, None),
        "the interrupted attempt does not count"
    );
    assert!(
        errors(&app, &long.id).await[0]
            .1
            .contains("shut down before the attempt finished")
    );
}

#[tokio::test]
async fn an_idle_worker_is_woken_by_enqueue_without_waiting_for_its_poll() {
    let app = TestApp::spawn_without_worker().await;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut registry = Registry::new();
    registry.register("test.wake", move |_ctx| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(std::time::Instant::now());
            Ok(())
        }
    });
    let mut cfg = config(2, 30_000, 1_000);
    cfg.poll_interval = Duration::from_secs(60);
    let w = start(&app, registry, cfg);
    // Let it reach its idle wait (and, on PostgreSQL, LISTEN).
    tokio::time::sleep(Duration::from_millis(700)).await;
    for _ in 0..3 {
        let enqueued = std::time::Instant::now();
        app.enqueue(noop("test.wake")).await;
        let started = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("the idle worker was not woken")
            .unwrap();
        assert!(started.duration_since(enqueued) < Duration::from_secs(5));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    w.stop().await;
}

/// Sets its flag when dropped: tells whether an attempt's future was stopped.
struct DropFlag(Arc<std::sync::atomic::AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test]
async fn an_attempt_whose_job_another_worker_took_over_is_stopped() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let app = TestApp::spawn_without_worker().await;
    let stopped = Arc::new(AtomicBool::new(false));
    let finished = Arc::new(AtomicBool::new(false));
    let mut registry = Registry::new();
    {
        let (stopped, finished) = (stopped.clone(), finished.clone());
        registry.register("test.hang", move |_ctx| {
            let (stopped, finished) = (stopped.clone(), finished.clone());
            async move {
                let _guard = DropFlag(stopped);
                tokio::time::sleep(Duration::from_secs(30)).await;
                finished.store(true, Ordering::SeqCst);
                Ok(())
            }
        });
    }
    let w = start(&app, registry, config(2, 900, 1_000));
    let job = app.enqueue(noop("test.hang")).await;
    app.wait_for_job(&job.id, "running", 10).await;
    assert!(!stopped.load(Ordering::SeqCst));
    // As if this worker had stalled past its lease and another one rescued and claimed the job.
    sqlx::query("UPDATE jobs SET locked_by = 'thief' WHERE id = $1")
        .bind(&job.id)
        .execute(&app.state.db.pool)
        .await
        .unwrap();
    wait_until("the attempt to be stopped", 5, || async {
        stopped.load(Ordering::SeqCst).then_some(())
    })
    .await;
    assert!(!finished.load(Ordering::SeqCst));
    w.stop().await;
    let locked: Option<String> = sqlx::query_scalar("SELECT locked_by FROM jobs WHERE id = $1")
        .bind(&job.id)
        .fetch_one(&app.state.db.pool)
        .await
        .unwrap();
    assert_eq!(
        locked.as_deref(),
        Some("thief"),
        "the other worker's claim is untouched"
    );
}
