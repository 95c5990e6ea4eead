//! What the overview's tiles read, each in one function that checks the actor may see the
//! overview and reads through the owning feature's store in the actor's scope.

use super::model::{self, KindRow};
use crate::actor::Actor;
use crate::db::{Db, Timestamp};
use crate::jobs;
use crate::web::{AppError, AppResult};

fn require_view(actor: &Actor) -> AppResult<()> {
    if model::can_view(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Hours in the trend lines.
pub const TREND_HOURS: usize = 24;
const HOUR_MS: i64 = 3_600_000;

/// The queue tile.
pub struct QueueTile {
    pub read_at: Timestamp,
    pub rows: Vec<KindRow>,
    pub totals: Vec<i64>,
    /// The kind and age (ms) of the job that has waited longest for a worker.
    pub oldest: Option<(String, i64)>,
    /// Jobs completed in the last hour.
    pub completed_last_hour: i64,
    /// Failed attempts per hour over the last 24 hours, oldest first.
    pub failures: Vec<i64>,
    pub failures_total: i64,
}

impl QueueTile {
    pub fn oldest_age(&self) -> Option<String> {
        self.oldest.as_ref().map(|(_, ms)| model::age_words(*ms))
    }

    /// Where the oldest waiting job is listed (its kind, waiting).
    pub fn oldest_href(&self) -> Option<String> {
        self.oldest
            .as_ref()
            .map(|(kind, _)| model::jobs_href(kind, model::QueueColumn::Waiting))
    }

    /// `(column, total)` pairs for the template.
    pub fn total_cells(&self) -> Vec<(model::QueueColumn, i64)> {
        model::QueueColumn::ALL
            .iter()
            .copied()
            .zip(self.totals.iter().copied())
            .collect()
    }

    pub fn spark_points(&self) -> String {
        model::spark_points(&self.failures)
    }
}

pub async fn queues(db: &Db, actor: &Actor, now: Timestamp) -> AppResult<QueueTile> {
    require_view(actor)?;
    let scope = actor.scope();
    let counts = jobs::read::state_counts(&db.pool, &scope, now).await?;
    let (rows, totals) = model::queue_table(&counts);
    let oldest = jobs::read::oldest_waiting(&db.pool, &scope, now)
        .await?
        .into_iter()
        .min_by_key(|(_, due)| due.0)
        .map(|(kind, due)| (kind, now.0 - due.0));
    let completed_last_hour =
        jobs::read::completed_since(&db.pool, &scope, Timestamp(now.0 - HOUR_MS)).await?;
    // The window is (now - 24 h, now]: hour 23 ends with this instant.
    let start = Timestamp(now.0 - TREND_HOURS as i64 * HOUR_MS + 1);
    let by_hour = jobs::read::failed_attempts_by_hour(&db.pool, &scope, start).await?;
    let failures = model::hourly(&by_hour, TREND_HOURS);
    Ok(QueueTile {
        read_at: now,
        rows,
        totals,
        oldest,
        completed_last_hour,
        failures_total: failures.iter().sum(),
        failures,
    })
}
