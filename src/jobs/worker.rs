//! The worker: claims jobs in batches up to its concurrency, runs their handlers, batches
//! completions, and on shutdown lets running jobs finish within a grace period or hands them
//! back to the queue. Heartbeats, rescue and pruning run beside it (upkeep.rs).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::task::{JoinHandle, JoinSet};

use super::model::{self, JobError};
use super::registry::{JobContext, Registry};
use super::store::{self, ClaimedJob};
use super::upkeep::Running;
use super::upkeep::{listen_loop, upkeep_loop};
pub use super::upkeep::{prune_finished, rescue_expired};
use crate::config::Config;
use crate::db::{Backend, Db, Timestamp, new_id};
use crate::telemetry::Telemetry;

#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Recorded as `locked_by`: which process holds a job.
    pub id: String,
    pub concurrency: usize,
    /// How long a claim is valid without a heartbeat; heartbeats come every third of it.
    pub lease: Duration,
    /// Fallback polling when no wake-up arrives (other processes on SQLite, scheduled jobs).
    pub poll_interval: Duration,
    /// On shutdown, running jobs get this long to finish before they go back to the queue.
    pub shutdown_grace: Duration,
}

impl WorkerConfig {
    pub fn from_config(c: &Config) -> WorkerConfig {
        WorkerConfig {
            id: WorkerConfig::new_id(),
            concurrency: c.worker_concurrency.max(1),
            lease: Duration::from_secs(c.job_lease_secs.max(1)),
            poll_interval: Duration::from_millis(c.job_poll_ms.max(10)),
            shutdown_grace: Duration::from_secs(c.worker_shutdown_grace_secs),
        }
    }

    /// `host:pid:random`, readable on the job page.
    pub fn new_id() -> String {
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "worker".into());
        let id = new_id();
        format!("{host}:{}:{}", std::process::id(), &id[id.len() - 6..])
    }
}

pub struct Worker {
    db: Db,
    registry: Arc<Registry>,
    cfg: WorkerConfig,
    /// Where each attempt's run time is recorded (by kind and outcome), when given.
    telemetry: Option<Telemetry>,
}

/// Aborts the handler task when the attempt is dropped (timeout or shutdown).
struct AbortOnDrop<T>(JoinHandle<T>);
impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Worker {
    pub fn new(db: Db, registry: Registry, cfg: WorkerConfig) -> Worker {
        Worker {
            db,
            registry: Arc::new(registry),
            cfg,
            telemetry: None,
        }
    }

    /// Records every attempt's handler run time in `telemetry`.
    pub fn with_telemetry(mut self, telemetry: Telemetry) -> Worker {
        self.telemetry = Some(telemetry);
        self
    }

    pub fn id(&self) -> &str {
        &self.cfg.id
    }

    /// Runs until `stop` turns true (or its sender is dropped), then drains.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let worker_id: Arc<str> = self.cfg.id.as_str().into();
        tracing::info!(worker = %worker_id, concurrency = self.cfg.concurrency, kinds = ?self.registry.kinds(), "job worker started");
        let permits = Arc::new(Semaphore::new(self.cfg.concurrency));
        let running: Running = Arc::default();
        let (done_tx, done_rx) = mpsc::unbounded_channel::<String>();
        let completer = tokio::spawn(complete_loop(self.db.clone(), worker_id.clone(), done_rx));
        let upkeep = tokio::spawn(upkeep_loop(
            self.db.clone(),
            worker_id.clone(),
            self.cfg.lease,
            running.clone(),
        ));
        let pg_wake = Arc::new(Notify::new());
        let listener = (self.db.backend == Backend::Postgres)
            .then(|| tokio::spawn(listen_loop(self.db.clone(), pg_wake.clone())));
        let mut local_wake = super::LOCAL_WAKE.subscribe();
        let mut tasks = JoinSet::new();

        loop {
            while tasks.try_join_next().is_some() {}
            let first = tokio::select! {
                p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                () = stopped(&mut stop) => break,
            };
            let want = (1 + permits.available_permits()).min(500);
            local_wake.borrow_and_update();
            let now = Timestamp::now();
            let lease_until = Timestamp(now.0 + self.cfg.lease.as_millis() as i64);
            let jobs = match store::claim(&self.db, &worker_id, want as i64, now, lease_until).await
            {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "could not claim jobs");
                    Vec::new()
                }
            };
            let drained = jobs.len() < want;
            let mut first = Some(first);
            for job in jobs {
                let permit = match first.take() {
                    Some(p) => p,
                    None => match permits.clone().try_acquire_owned() {
                        Ok(p) => p,
                        // Cannot happen (only this loop takes permits); the lease expires and
                        // the rescuer returns the job if it ever does.
                        Err(_) => break,
                    },
                };
                let id = job.id.clone();
                let attempt =
                    self.attempt(job, worker_id.clone(), done_tx.clone(), running.clone());
                // Held across the spawn so the attempt cannot remove its entry before it exists.
                let mut map = running.lock().unwrap_or_else(|e| e.into_inner());
                let handle = tasks.spawn(async move {
                    attempt.await;
                    drop(permit);
                });
                map.insert(id, handle);
                drop(map);
            }
            drop(first);
            if drained {
                tokio::select! {
                    _ = local_wake.changed() => {}
                    () = pg_wake.notified() => {}
                    () = tokio::time::sleep(self.cfg.poll_interval) => {}
                    () = stopped(&mut stop) => break,
                }
            }
        }

        // Shutdown: no more claims. Let running attempts finish within the grace period.
        let grace = self.cfg.shutdown_grace;
        let finished =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} })
                .await
                .is_ok();
        if !finished {
            tasks.shutdown().await;
        }
        drop(done_tx);
        let _ = completer.await;
        let left: Vec<String> = running
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(id, _)| id)
            .collect();
        for id in &left {
            let note = format!(
                "interrupted: worker {worker_id} shut down before the attempt finished \
                 (grace {}s); returned to the queue",
                grace.as_secs()
            );
            if let Err(e) = store::release(&self.db, &worker_id, id, &note).await {
                tracing::warn!(job = %id, error = %e, "could not return an interrupted job; its lease will expire");
            }
        }
        upkeep.abort();
        if let Some(l) = listener {
            l.abort();
        }
        tracing::info!(worker = %worker_id, returned = left.len(), "job worker stopped");
    }

    /// One attempt: run the handler (with its timeout, catching panics), then record the outcome.
    fn attempt(
        &self,
        job: ClaimedJob,
        worker_id: Arc<str>,
        done: mpsc::UnboundedSender<String>,
        running: Running,
    ) -> impl Future<Output = ()> + Send + 'static {
        let db = self.db.clone();
        let handler = self.registry.get(&job.kind).cloned();
        let telemetry = self.telemetry.clone();
        async move {
            let started = std::time::Instant::now();
            let id = job.id.clone();
            let (attempt, max_attempts) = (job.attempt, job.max_attempts);
            let kind = job.kind.clone();
            let outcome = match handler {
                None => Err(JobError::retry(format!(
                    "no handler is registered for kind {kind} in worker {worker_id}"
                ))),
                Some(h) => {
                    let ctx = JobContext {
                        job,
                        db: db.clone(),
                        worker_id: worker_id.clone(),
                    };
                    let mut task = AbortOnDrop(tokio::spawn((h.run)(ctx)));
                    match tokio::time::timeout(h.options.timeout, &mut task.0).await {
                        Ok(Ok(result)) => result,
                        Ok(Err(e)) if e.is_panic() => Err(JobError::retry(format!(
                            "the handler panicked: {}",
                            panic_message(e.into_panic())
                        ))),
                        Ok(Err(e)) => Err(JobError::retry(format!("the handler stopped: {e}"))),
                        Err(_) => Err(JobError::retry(format!(
                            "timed out after {} s",
                            h.options.timeout.as_secs()
                        ))),
                    }
                }
            };
            // Done with the handler: from here on the outcome is recorded (or, failing that,
            // the lease expires), so neither shutdown nor upkeep should touch this attempt.
            running
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
            let took = started.elapsed();
            match outcome {
                Ok(()) => {
                    if let Some(t) = &telemetry {
                        t.observe_job_run(&kind, model::JobState::Completed.as_str(), took);
                    }
                    let _ = done.send(id.clone());
                }
                Err(error) => {
                    let state = model::after_failure(&error, attempt, max_attempts);
                    if let Some(t) = &telemetry {
                        t.observe_job_run(&kind, state.as_str(), took);
                    }
                    let now = Timestamp::now();
                    let delay = model::backoff(attempt, rand::random::<f64>());
                    let message = error.message().chars().take(4000).collect::<String>();
                    tracing::warn!(job = %id, kind = %kind, attempt, state = %state, error = %message, "job attempt failed");
                    let failure = store::Failure {
                        id: &id,
                        worker: &worker_id,
                        attempt,
                        error: &message,
                        state: state.as_str(),
                        run_at: Timestamp(now.0 + delay.as_millis() as i64),
                        now,
                    };
                    if let Err(e) = store::fail(&db, &failure).await {
                        tracing::warn!(job = %id, error = %e, "could not record a failed attempt; its lease will expire");
                    }
                }
            }
        }
    }
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Resolves once `stop` is true or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// Completions are written in batches: one UPDATE for everything that finished meanwhile.
async fn complete_loop(db: Db, worker_id: Arc<str>, mut rx: mpsc::UnboundedReceiver<String>) {
    let mut batch = Vec::with_capacity(256);
    while let Some(id) = rx.recv().await {
        batch.push(id);
        while batch.len() < 1024 {
            match rx.try_recv() {
                Ok(id) => batch.push(id),
                Err(_) => break,
            }
        }
        for wait_ms in [0, 50, 200, 1000, 3000] {
            tokio::time::sleep(Duration::from_millis(wait_ms)).await;
            match store::complete_many(&db.pool, &worker_id, &batch, Timestamp::now()).await {
                Ok(n) => {
                    if (n as usize) < batch.len() {
                        tracing::warn!(
                            expected = batch.len(),
                            completed = n,
                            "some completed jobs were no longer held by this worker"
                        );
                    }
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, jobs = batch.len(), "could not mark jobs completed; retrying")
                }
            }
        }
        batch.clear();
    }
}
