//! What staff do to jobs: retry now, cancel. Each is audited.

use super::model::{self, JobState};
use super::store::{self, JobRow};
use crate::actor::Actor;
use crate::audit::{self, AuditEvent};
use crate::db::{Db, Timestamp};
use crate::web::forms::OnUnique;
use crate::web::{AppError, AppResult};

fn state_of(job: &JobRow) -> AppResult<JobState> {
    JobState::parse(&job.state)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("unknown job state {}", job.state)))
}

/// Makes a failed, discarded, cancelled or waiting-to-retry job available now, with room for
/// at least one more attempt.
pub async fn retry(db: &Db, actor: &Actor, id: &str) -> AppResult<JobRow> {
    if !model::can_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin_write().await?;
    let job = store::get(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let state = state_of(&job)?;
    if !state.can_retry() {
        return Err(AppError::refused(match state {
            JobState::Completed => "This job has completed; there is nothing to retry.",
            JobState::Running => "This job is running now.",
            _ => "This job is already waiting to run.",
        }));
    }
    store::retry(&mut tx, id, Timestamp::now())
        .await
        .unique_refused(
            "Another unfinished job holds the same unique key; it must finish or be cancelled first.",
        )?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: job.tenant_id.as_deref(),
            action: "job.retried",
            target_type: "job",
            target_id: id,
            summary: format!("Retried job {} ({}, was {state})", id, job.kind),
        },
    )
    .await?;
    let job = store::get(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    super::wake_after(&mut tx).await?;
    tx.commit().await?;
    Ok(job)
}

/// Cancels a job that is waiting (available, scheduled or retryable). A running attempt is
/// not interrupted: cancelling it would leave half-done work behind without a retry.
pub async fn cancel(db: &Db, actor: &Actor, id: &str) -> AppResult<JobRow> {
    if !model::can_manage(actor) {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin_write().await?;
    let job = store::get(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let state = state_of(&job)?;
    if !state.can_cancel() || store::cancel(&mut tx, id, Timestamp::now()).await? == 0 {
        return Err(AppError::refused(match state {
            JobState::Running => {
                "This job is running now and cannot be cancelled; wait for this attempt to end."
            }
            _ => "This job has already finished.",
        }));
    }
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: job.tenant_id.as_deref(),
            action: "job.cancelled",
            target_type: "job",
            target_id: id,
            summary: format!("Cancelled job {} ({}, was {state})", id, job.kind),
        },
    )
    .await?;
    let job = store::get(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(job)
}
