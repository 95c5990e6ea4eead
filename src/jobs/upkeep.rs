//! What runs beside the claim loop: lease heartbeats, the rescuer of expired leases, pruning
//! of old finished jobs, and (PostgreSQL) the LISTEN connection that wakes the loop.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;
use tokio::task::AbortHandle;

use super::model::{self, JobState};
use super::store;
use crate::db::{Db, Timestamp};

/// The attempts this worker is running, by job id: shutdown hands back the unfinished ones,
/// and upkeep aborts those whose lease this worker lost.
pub(crate) type Running = Arc<Mutex<HashMap<String, AbortHandle>>>;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Stops these attempts; their jobs are left to the rescuer (the attempt counts).
fn abort(running: &Running, ids: &[String], why: &str) {
    let mut map = lock(running);
    for id in ids {
        if let Some(handle) = map.remove(id) {
            handle.abort();
            tracing::warn!(job = %id, "stopped a running attempt: {why}");
        }
    }
}

/// Completed jobs are kept a week (a pod's recent history), failed and cancelled ones a month.
pub const KEEP_COMPLETED_DAYS: i64 = 7;
pub const KEEP_FAILED_DAYS: i64 = 30;

/// Deletes finished jobs past their retention; returns how many.
pub async fn prune_finished(db: &Db, now: Timestamp) -> sqlx::Result<u64> {
    let mut total = 0;
    loop {
        let n = store::prune(
            &db.pool,
            now.plus_secs(-KEEP_COMPLETED_DAYS * 86_400),
            now.plus_secs(-KEEP_FAILED_DAYS * 86_400),
        )
        .await?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
}

/// Heartbeats (every third of the lease), the rescuer (every half lease), pruning (hourly).
/// An attempt whose lease this worker lost is aborted, so two workers never run a job at once:
/// when another worker took the job over (this process stalled past its lease), or when the
/// database stayed unreachable until the lease was nearly over.
pub(crate) async fn upkeep_loop(db: Db, worker_id: Arc<str>, lease: Duration, running: Running) {
    let mut last_renewed = Instant::now();
    let mut beat = tokio::time::interval((lease / 3).max(Duration::from_millis(100)));
    let mut rescue = tokio::time::interval((lease / 2).max(Duration::from_millis(200)));
    let mut prune = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tokio::select! {
            _ = prune.tick() => {
                match prune_finished(&db, Timestamp::now()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(jobs = n, "pruned finished jobs"),
                    Err(e) => tracing::warn!(error = %e, "could not prune finished jobs"),
                }
            }
            _ = beat.tick() => {
                // Attempts started after this snapshot were claimed after it: the renewal sees them.
                let before: Vec<String> = lock(&running).keys().cloned().collect();
                let until = Timestamp(Timestamp::now().0 + lease.as_millis() as i64);
                match store::heartbeat(&db.pool, &worker_id, until).await {
                    Ok(held) => {
                        last_renewed = Instant::now();
                        let held: HashSet<String> = held.into_iter().collect();
                        let lost: Vec<String> =
                            before.into_iter().filter(|id| !held.contains(id)).collect();
                        abort(&running, &lost, "another worker holds it now");
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "job lease heartbeat failed");
                        if last_renewed.elapsed() > lease * 5 / 6 {
                            abort(&running, &before, "its lease could not be renewed");
                        }
                    }
                }
            }
            _ = rescue.tick() => {
                if let Err(e) = rescue_expired(&db).await {
                    tracing::warn!(error = %e, "job rescuer failed");
                }
            }
        }
    }
}

/// Returns jobs whose lease expired (their worker died) to the queue, or discards them when
/// that was their last attempt. Several workers may run this at once: each update re-checks.
pub async fn rescue_expired(db: &Db) -> sqlx::Result<usize> {
    let now = Timestamp::now();
    let mut rescued = 0;
    for job in store::expired_leases(&db.pool, now).await? {
        let error = model::JobError::retry("lease expired");
        let state = match model::after_failure(&error, job.attempt, job.max_attempts) {
            JobState::Discarded => JobState::Discarded,
            _ => JobState::Retryable,
        };
        let delay = model::backoff(job.attempt, rand::random::<f64>());
        let message = format!(
            "the lease of worker {} expired: it stopped or lost the database during this attempt",
            job.locked_by.as_deref().unwrap_or("?")
        );
        let run_at = Timestamp(now.0 + delay.as_millis() as i64);
        if store::rescue(db, &job, state, run_at, &message, now).await? {
            tracing::warn!(job = %job.id, state = %state, "rescued a job with an expired lease");
            rescued += 1;
        }
    }
    Ok(rescued)
}

/// PostgreSQL LISTEN on its own connection; each NOTIFY (sent by `enqueue` at commit) wakes
/// the claim loop. Reconnects on failure, waking once after each (re)connect to catch up.
pub(crate) async fn listen_loop(db: Db, wake: Arc<Notify>) {
    let url = db.pool.connect_options().database_url.to_string();
    loop {
        match sqlx::postgres::PgListener::connect(&url).await {
            Ok(mut listener) => match listener.listen("mpanel_jobs").await {
                Ok(()) => {
                    wake.notify_one();
                    loop {
                        match listener.recv().await {
                            Ok(_) => wake.notify_one(),
                            Err(e) => {
                                tracing::warn!(error = %e, "job LISTEN connection lost");
                                break;
                            }
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "LISTEN mpanel_jobs failed"),
            },
            Err(e) => tracing::warn!(error = %e, "cannot open the job LISTEN connection"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
