//! What runs beside the claim loop: lease heartbeats, the rescuer of expired leases, pruning
//! of old finished jobs, and (PostgreSQL) the LISTEN connection that wakes the loop.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::model::{self, JobState};
use super::store;
use crate::db::{Db, Timestamp};

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
pub(crate) async fn upkeep_loop(db: Db, worker_id: Arc<str>, lease: Duration) {
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
                let until = Timestamp(Timestamp::now().0 + lease.as_millis() as i64);
                if let Err(e) = store::heartbeat(&db.pool, &worker_id, until).await {
                    tracing::warn!(error = %e, "job lease heartbeat failed");
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
        if store::rescue(db, &job, state.as_str(), run_at, &message, now).await? {
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
