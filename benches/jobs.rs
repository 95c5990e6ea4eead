//! Job queue benchmark (issue 5): throughput with no-op handlers, and enqueue-to-start latency
//! with an idle worker.
//!
//!   cargo bench --bench jobs                                   # SQLite (a temp file)
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/mpanel_bench cargo bench --bench jobs
//!
//! On PostgreSQL a fresh schema is created inside the given database. Knobs: BENCH_JOBS
//! (default 20000), BENCH_CONCURRENCY (default 64), BENCH_LATENCY_SAMPLES (default 500).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mpanel::db::Db;
use mpanel::jobs::{self, NewJob, Registry, Worker, WorkerConfig};
use tokio::sync::watch;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn database() -> (Db, String) {
    sqlx::any::install_default_drivers();
    let url = match std::env::var("BENCH_DATABASE_URL") {
        Ok(base) => {
            let schema = format!("bench_{}", mpanel::db::new_id().replace('-', ""));
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
                .await
                .expect("connect to BENCH_DATABASE_URL");
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut conn)
                .await
                .expect("create schema");
            let sep = if base.contains('?') { '&' } else { '?' };
            format!("{base}{sep}options[search_path]={schema}")
        }
        Err(_) => {
            let dir = std::env::temp_dir().join(format!("mpanel-bench-{}", mpanel::db::new_id()));
            format!("sqlite://{}", dir.join("bench.db").display())
        }
    };
    let db = Db::connect(&url, 32).await.expect("connect");
    db.migrate().await.expect("migrate");
    let name = db.backend.dir().to_string();
    (db, name)
}

fn config(concurrency: usize) -> WorkerConfig {
    WorkerConfig {
        id: WorkerConfig::new_id(),
        concurrency,
        lease: Duration::from_secs(30),
        poll_interval: Duration::from_secs(1),
        shutdown_grace: Duration::from_secs(5),
    }
}

fn start(
    db: &Db,
    registry: Registry,
    cfg: WorkerConfig,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(Worker::new(db.clone(), registry, cfg).run(rx));
    (stop, task)
}

async fn throughput(db: &Db, n: usize, concurrency: usize) {
    let t = Instant::now();
    for chunk in 0..n.div_ceil(1000) {
        let mut tx = db.begin_write().await.unwrap();
        for _ in 0..1000.min(n - chunk * 1000) {
            jobs::enqueue(&mut tx, NewJob::new("bench.noop", &serde_json::json!({})))
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let enqueue = t.elapsed();
    println!(
        "enqueue: {n} jobs in {:.2} s = {:.0} jobs/s (1000 per transaction)",
        enqueue.as_secs_f64(),
        n as f64 / enqueue.as_secs_f64()
    );

    let ran = Arc::new(AtomicUsize::new(0));
    let mut registry = Registry::new();
    let counter = ran.clone();
    registry.register("bench.noop", move |_ctx| {
        counter.fetch_add(1, Ordering::Relaxed);
        async { Ok(()) }
    });
    let t = Instant::now();
    let (stop, task) = start(db, registry, config(concurrency));
    while ran.load(Ordering::Relaxed) < n {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let handled = t.elapsed();
    loop {
        let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE state = 'completed'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
        if done as usize >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let completed = t.elapsed();
    let _ = stop.send(true);
    task.await.unwrap();
    println!(
        "run: {n} no-op jobs, concurrency {concurrency}: all handlers started+finished in {:.2} s, \
         all marked completed in {:.2} s = {:.0} jobs/s",
        handled.as_secs_f64(),
        completed.as_secs_f64(),
        n as f64 / completed.as_secs_f64()
    );
}

async fn latency(db: &Db, samples: usize) {
    let (tx_start, mut rx_start) = tokio::sync::mpsc::unbounded_channel::<Instant>();
    let mut registry = Registry::new();
    registry.register("bench.latency", move |_ctx| {
        let _ = tx_start.send(Instant::now());
        async { Ok(()) }
    });
    let (stop, task) = start(db, registry, config(4));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = Vec::with_capacity(samples);
    for i in 0..samples {
        let t0 = Instant::now();
        let mut tx = db.begin_write().await.unwrap();
        jobs::enqueue(
            &mut tx,
            NewJob::new("bench.latency", &serde_json::json!({"i": i})),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let started = tokio::time::timeout(Duration::from_secs(10), rx_start.recv())
            .await
            .expect("job did not start within 10 s")
            .unwrap();
        lat.push(started.duration_since(t0));
        // Let the worker go idle again (and its completion be written) before the next one.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = stop.send(true);
    task.await.unwrap();
    lat.sort();
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "enqueue-to-start, idle worker, {samples} samples (begin → insert → commit → handler runs): \
         p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(*lat.last().unwrap())
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (db, backend) = database().await;
        println!("== job queue benchmark on {backend}");
        throughput(
            &db,
            env_or("BENCH_JOBS", 20_000),
            env_or("BENCH_CONCURRENCY", 64),
        )
        .await;
        latency(&db, env_or("BENCH_LATENCY_SAMPLES", 500)).await;
    });
}
