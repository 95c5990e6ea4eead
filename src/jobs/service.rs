//! What staff do to jobs (retry now, cancel; each audited) and what they read on `/ops/jobs`
//! (the queue with its counts, one job), each read checking that the actor may
//! see jobs and reading in the actor's scope.

use super::model::{self, JobState};
use super::store::{self, ErrorRow, Filter, JobRow};
use crate::actor::Actor;
use crate::audit::{self, AuditEvent};
use crate::db::{Db, Timestamp};
use crate::web::forms::OnUnique;
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult};

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
    let state = job.state;
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
/// not interrupted: cancelling it would leave half-done work behind without a retry. The
/// person must have confirmed it (`confirmed`).
pub async fn cancel(db: &Db, actor: &Actor, id: &str, confirmed: bool) -> AppResult<JobRow> {
    if !model::can_manage(actor) {
        return Err(AppError::Forbidden);
    }
    if !confirmed {
        return Err(AppError::refused(
            "Tick the confirmation box to cancel this job.",
        ));
    }
    let mut tx = db.begin_write().await?;
    let job = store::get(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let state = job.state;
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

// ---------------------------------------------------------------- reads

fn require_view(actor: &Actor) -> AppResult<()> {
    if model::can_view(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// One row of the counts table: a kind and its number of jobs in each state (`JobState::ALL`
/// order).
pub struct KindCounts {
    pub kind: String,
    pub counts: Vec<i64>,
    pub total: i64,
}

/// What the queue page filters on (already cleaned by the page).
pub struct QueueFilter<'a> {
    pub state: Option<JobState>,
    pub kind: &'a str,
    pub search: &'a str,
}

/// The queue: counts by kind and state, their column totals, and one page of jobs.
pub struct Queue {
    pub by_kind: Vec<KindCounts>,
    pub totals: Vec<i64>,
    pub jobs: Vec<JobRow>,
    pub total: i64,
}

pub async fn queue(
    db: &Db,
    actor: &Actor,
    f: &QueueFilter<'_>,
    req: PageRequest,
) -> AppResult<Queue> {
    require_view(actor)?;
    let scope = actor.scope();
    let states = JobState::ALL;
    let mut by_kind: Vec<KindCounts> = Vec::new();
    for (kind, st, n) in store::counts(&db.pool, &scope).await? {
        if by_kind.last().is_none_or(|k| k.kind != kind) {
            by_kind.push(KindCounts {
                kind: kind.clone(),
                counts: vec![0; states.len()],
                total: 0,
            });
        }
        if let (Some(row), Some(i)) = (by_kind.last_mut(), states.iter().position(|s| *s == st)) {
            row.counts[i] += n;
            row.total += n;
        }
    }
    let totals = (0..states.len())
        .map(|i| by_kind.iter().map(|k| k.counts[i]).sum())
        .collect();
    let filter = Filter {
        scope: &scope,
        state: f.state,
        kind: f.kind,
        search: f.search,
    };
    let (jobs, total) = store::list(&db.pool, &filter, req.size, req.offset()).await?;
    Ok(Queue {
        by_kind,
        totals,
        jobs,
        total,
    })
}

/// One job in the actor's scope (another tenant's job is 404).
pub async fn job(db: &Db, actor: &Actor, id: &str) -> AppResult<JobRow> {
    require_view(actor)?;
    store::get(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The failed attempts of a job the actor can see, oldest first.
pub async fn errors(db: &Db, actor: &Actor, job: &JobRow) -> AppResult<Vec<ErrorRow>> {
    require_view(actor)?;
    Ok(store::errors(&db.pool, &job.id).await?)
}

/// How many jobs the actor sees in each state (every kind together).
pub async fn state_counts(db: &Db, actor: &Actor) -> AppResult<Vec<(JobState, i64)>> {
    require_view(actor)?;
    let counts = store::counts(&db.pool, &actor.scope()).await?;
    Ok(JobState::ALL
        .iter()
        .map(|&s| {
            let n = counts
                .iter()
                .filter(|(_, st, _)| *st == s)
                .map(|(_, _, n)| n)
                .sum();
            (s, n)
        })
        .collect())
}
