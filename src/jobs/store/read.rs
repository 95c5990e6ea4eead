//! SQL for reading jobs: the /ops pages, and other features showing their objects' jobs
//! (a pod's job history). Re-exported by `store`.

use sqlx::{AnyPool, FromRow};

use crate::db::filter::Where;
use crate::db::{Scoped, TenantScope, Timestamp};
use crate::jobs::model::JobState;

#[derive(Clone, Debug, FromRow)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub payload: String,
    pub unique_key: Option<String>,
    pub subject: Option<String>,
    pub tenant_id: Option<String>,
    pub attempt: i64,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub locked_by: Option<String>,
    pub lease_until: Option<Timestamp>,
    pub progress: String,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub attempted_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

impl JobRow {
    /// Failed and waiting for its next attempt (`run_at` is then when it runs again).
    pub fn waits_to_retry(&self) -> bool {
        self.state == JobState::Retryable
    }

    /// Gave up (out of attempts, or a permanent error).
    pub fn failed(&self) -> bool {
        self.state == JobState::Discarded
    }

    /// The outcome in plain words, for people who never see the queue: Done, Failed,
    /// Cancelled, or In progress… while it waits, runs or retries.
    pub fn plain_outcome(&self) -> &'static str {
        match self.state {
            JobState::Completed => "Done",
            JobState::Discarded => "Failed",
            JobState::Cancelled => "Cancelled",
            _ => "In progress…",
        }
    }
}

const JOB_COLUMNS: &str = "id, kind, state, payload, unique_key, subject, tenant_id, attempt, \
    max_attempts, run_at, locked_by, lease_until, progress, last_error, created_at, \
    attempted_at, finished_at, updated_at";

/// One failed attempt, as kept in `job_errors`.
#[derive(Clone, Debug, FromRow)]
pub struct ErrorRow {
    pub attempt: i64,
    pub error: String,
    pub worker: String,
    pub at: Timestamp,
}

/// One job in the scope; `ex` is `&db.pool` or `&mut *tx`.
pub async fn get<'e, E>(ex: E, scope: &TenantScope, id: &str) -> sqlx::Result<Option<JobRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1{}",
        scope.and("tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(ex)
    .await
}

/// Every failed attempt of a job, oldest first.
pub async fn errors(pool: &AnyPool, job_id: &str) -> sqlx::Result<Vec<ErrorRow>> {
    sqlx::query_as(
        "SELECT attempt, error, worker, at FROM job_errors WHERE job_id = $1 ORDER BY at, id",
    )
    .bind(job_id)
    .fetch_all(pool)
    .await
}

/// The jobs acting for one subject (e.g. `cloudpod:<id>`), newest first.
pub async fn list_for_subject(
    pool: &AnyPool,
    scope: &TenantScope,
    subject: &str,
    limit: i64,
) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE subject = $1{} \
         ORDER BY created_at DESC, id DESC LIMIT ${}",
        scope.and("tenant_id", 2),
        2 + scope.params()
    ))
    .bind(subject)
    .scoped(scope)
    .bind(limit)
    .fetch_all(pool)
    .await
}

pub struct Filter<'a> {
    pub scope: &'a TenantScope,
    /// None = any state.
    pub state: Option<JobState>,
    /// "" = any kind.
    pub kind: &'a str,
    /// Substring of the id, unique key or subject ("" = any).
    pub search: &'a str,
}

pub async fn list(
    pool: &AnyPool,
    f: &Filter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<JobRow>, i64)> {
    let mut w = Where::new();
    w.scope("tenant_id", f.scope)
        .eq("state", f.state.map_or("", JobState::as_str))
        .eq("kind", f.kind)
        .contains(&["id", "unique_key", "subject"], f.search);
    let n = w.next();
    let rows = sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs {} \
         ORDER BY created_at DESC, id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    ))
    .bind_all(w.params())
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM jobs {}", w.sql()))
        .bind_all(w.params())
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

/// `(kind, state, count)` for every combination that has jobs.
pub async fn counts(
    pool: &AnyPool,
    scope: &TenantScope,
) -> sqlx::Result<Vec<(String, JobState, i64)>> {
    sqlx::query_as(&format!(
        "SELECT kind, state, CAST(COUNT(*) AS BIGINT) FROM jobs{} \
         GROUP BY kind, state ORDER BY kind, state",
        scope.where_("tenant_id", 1)
    ))
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// One group of jobs for the ops figures: a kind, a state and how many. `scheduled` is set
/// for available jobs whose `run_at` is still ahead (waiting for their time, not for a worker).
#[derive(Clone, Debug, FromRow)]
pub struct StateCount {
    pub kind: String,
    pub state: JobState,
    pub scheduled: i64,
    pub n: i64,
}

impl StateCount {
    pub fn is_scheduled(&self) -> bool {
        self.scheduled == 1
    }
}

/// Jobs by kind and state as of `now`, available ones split into due and scheduled, ordered
/// by kind, state and `scheduled`. Completed jobs (history, millions of rows) only when asked.
///
/// Two reads that stay inside indexes however long the history: the counts by state and kind
/// from `jobs_state_kind`, and the available jobs whose time has not come from the runnable
/// index (its `WHERE` repeated word for word so that SQLite uses it).
pub async fn state_counts(
    pool: &AnyPool,
    scope: &TenantScope,
    now: Timestamp,
    with_completed: bool,
) -> sqlx::Result<Vec<StateCount>> {
    let states = if with_completed {
        "'available', 'running', 'retryable', 'discarded', 'cancelled', 'completed'"
    } else {
        "'available', 'running', 'retryable', 'discarded', 'cancelled'"
    };
    let counts: Vec<(String, JobState, i64)> = sqlx::query_as(&format!(
        "SELECT kind, state, CAST(COUNT(*) AS BIGINT) FROM jobs \
         WHERE state IN ({states}){} GROUP BY kind, state",
        scope.and("tenant_id", 1)
    ))
    .scoped(scope)
    .fetch_all(pool)
    .await?;
    let ahead: Vec<(String, i64)> = sqlx::query_as(&format!(
        "SELECT kind, CAST(COUNT(*) AS BIGINT) FROM jobs \
         WHERE state IN ('available', 'retryable') AND run_at > $1 AND state = 'available'{} \
         GROUP BY kind",
        scope.and("tenant_id", 2)
    ))
    .bind(now.0)
    .scoped(scope)
    .fetch_all(pool)
    .await?;
    Ok(split_scheduled(counts, &ahead))
}

/// The counts with each kind's available jobs split into those due (`scheduled` 0) and those
/// whose time has not come (`scheduled` 1); groups of none left out.
fn split_scheduled(
    counts: Vec<(String, JobState, i64)>,
    ahead: &[(String, i64)],
) -> Vec<StateCount> {
    let mut out = Vec::with_capacity(counts.len() + ahead.len());
    for (kind, state, n) in counts {
        let later = match state {
            JobState::Available => ahead
                .iter()
                .find(|(k, _)| *k == kind)
                .map_or(0, |(_, m)| (*m).min(n)),
            _ => 0,
        };
        if n - later > 0 {
            out.push(StateCount {
                kind: kind.clone(),
                state,
                scheduled: 0,
                n: n - later,
            });
        }
        if later > 0 {
            out.push(StateCount {
                kind,
                state,
                scheduled: 1,
                n: later,
            });
        }
    }
    out.sort_by(|a, b| {
        (&a.kind, a.state.as_str(), a.scheduled).cmp(&(&b.kind, b.state.as_str(), b.scheduled))
    });
    out
}

/// Per kind, when its oldest job waiting for a worker became due (available or retryable,
/// `run_at` reached): `now - run_at` is how long it has waited.
pub async fn oldest_waiting(
    pool: &AnyPool,
    scope: &TenantScope,
    now: Timestamp,
) -> sqlx::Result<Vec<(String, Timestamp)>> {
    sqlx::query_as(&format!(
        "SELECT kind, MIN(run_at) FROM jobs \
         WHERE state IN ('available', 'retryable') AND run_at <= $1{} \
         GROUP BY kind ORDER BY kind",
        scope.and("tenant_id", 2)
    ))
    .bind(now.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// Jobs that completed at or after `since`.
pub async fn completed_since(
    pool: &AnyPool,
    scope: &TenantScope,
    since: Timestamp,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(&format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM jobs \
         WHERE state = 'completed' AND finished_at >= $1{}",
        scope.and("tenant_id", 2)
    ))
    .bind(since.0)
    .scoped(scope)
    .fetch_one(pool)
    .await
}

/// Failed attempts (every error recorded, retried or not) per hour since `start`:
/// `(hour index from start, count)`.
pub async fn failed_attempts_by_hour(
    pool: &AnyPool,
    scope: &TenantScope,
    start: Timestamp,
) -> sqlx::Result<Vec<(i64, i64)>> {
    sqlx::query_as(&format!(
        "SELECT CAST((e.at - $1) / 3600000 AS BIGINT) AS hour, CAST(COUNT(*) AS BIGINT) \
         FROM job_errors e JOIN jobs j ON j.id = e.job_id WHERE e.at >= $1{} \
         GROUP BY hour ORDER BY hour",
        scope.and("j.tenant_id", 2)
    ))
    .bind(start.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// Jobs of `kind` that ended at or after `since`: how many completed and how many were
/// given up (discarded). Cancelled jobs are neither.
pub async fn outcomes_since(
    pool: &AnyPool,
    scope: &TenantScope,
    kind: &str,
    since: Timestamp,
) -> sqlx::Result<(i64, i64)> {
    let rows: Vec<(JobState, i64)> = sqlx::query_as(&format!(
        "SELECT state, CAST(COUNT(*) AS BIGINT) FROM jobs \
         WHERE kind = $1 AND state IN ('completed', 'discarded') AND finished_at >= $2{} \
         GROUP BY state",
        scope.and("tenant_id", 3)
    ))
    .bind(kind)
    .bind(since.0)
    .scoped(scope)
    .fetch_all(pool)
    .await?;
    let of = |s: JobState| rows.iter().filter(|(x, _)| *x == s).map(|(_, n)| n).sum();
    Ok((of(JobState::Completed), of(JobState::Discarded)))
}

/// The latest `limit` jobs of `kind` given up at or after `since`, newest first.
pub async fn discarded_since(
    pool: &AnyPool,
    scope: &TenantScope,
    kind: &str,
    since: Timestamp,
    limit: i64,
) -> sqlx::Result<Vec<JobRow>> {
    sqlx::query_as(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs \
         WHERE kind = $1 AND state = 'discarded' AND finished_at >= $2{} \
         ORDER BY finished_at DESC, id DESC LIMIT $3",
        scope.and("tenant_id", 4)
    ))
    .bind(kind)
    .bind(since.0)
    .bind(limit)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn available_jobs_split_into_due_and_scheduled() {
        let counts = vec![
            ("b".to_string(), JobState::Discarded, 4),
            ("a".to_string(), JobState::Available, 5),
            ("c".to_string(), JobState::Available, 2),
            ("a".to_string(), JobState::Running, 1),
        ];
        let ahead = [("a".to_string(), 2), ("c".to_string(), 2)];
        let got: Vec<(String, &str, i64, i64)> = split_scheduled(counts, &ahead)
            .into_iter()
            .map(|c| (c.kind, c.state.as_str(), c.scheduled, c.n))
            .collect();
        let want = [
            ("a", "available", 0, 3),
            ("a", "available", 1, 2),
            ("a", "running", 0, 1),
            ("b", "discarded", 0, 4),
            // all of c's available jobs wait for their time: no row of due ones
            ("c", "available", 1, 2),
        ];
        let want: Vec<(String, &str, i64, i64)> = want
            .iter()
            .map(|(k, s, sch, n)| (k.to_string(), *s, *sch, *n))
            .collect();
        assert_eq!(got, want);
    }
}
