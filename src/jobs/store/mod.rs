//! SQL for the job queue's mechanics. Claims differ per backend; everything else is shared
//! text. Reading jobs for pages lives in `store/read.rs` and is re-exported here.

use sqlx::{AnyPool, FromRow};

pub mod read;

use crate::db::{Backend, Db, Timestamp, Tx, new_id};
use crate::jobs::model::JobState;
pub use read::*;

/// States a unique key is held in; must match the partial index `jobs_unique_key`.
const OPEN_STATES: &str = "('available', 'running', 'retryable')";

/// What a worker gets from a claim: enough to run the handler.
#[derive(Clone, Debug, FromRow)]
pub struct ClaimedJob {
    pub id: String,
    pub kind: String,
    pub payload: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub unique_key: Option<String>,
    pub subject: Option<String>,
    pub tenant_id: Option<String>,
}

pub struct InsertJob<'a> {
    pub id: &'a str,
    pub kind: &'a str,
    pub payload: &'a str,
    pub unique_key: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub tenant_id: Option<&'a str>,
    pub max_attempts: i64,
    pub run_at: Timestamp,
    pub now: Timestamp,
}

/// Inserts the job; `false` when an unfinished job already holds its unique key. The
/// conflict is absorbed by the statement, so the caller's PostgreSQL transaction stays usable.
pub async fn insert(tx: &mut Tx, j: &InsertJob<'_>) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO jobs (id, kind, state, payload, unique_key, subject, tenant_id, attempt, \
         max_attempts, run_at, created_at, updated_at) \
         VALUES ($1, $2, 'available', $3, $4, $5, $6, 0, $7, $8, $9, $9) ON CONFLICT DO NOTHING",
    )
    .bind(j.id)
    .bind(j.kind)
    .bind(j.payload)
    .bind(j.unique_key)
    .bind(j.subject)
    .bind(j.tenant_id)
    .bind(j.max_attempts)
    .bind(j.run_at.0)
    .bind(j.now.0)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// [`insert`] for many jobs without unique keys, in as few statements as the bind limit allows.
pub async fn insert_many(tx: &mut Tx, jobs: &[InsertJob<'_>]) -> sqlx::Result<u64> {
    use crate::db::bulk::{Val, insert_rows};
    let rows: Vec<Vec<Val>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.into(),
                j.kind.into(),
                "available".into(),
                j.payload.into(),
                j.unique_key.into(),
                j.subject.into(),
                j.tenant_id.into(),
                Val::Int(0),
                j.max_attempts.into(),
                j.run_at.0.into(),
                j.now.0.into(),
                j.now.0.into(),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "jobs",
        &[
            "id",
            "kind",
            "state",
            "payload",
            "unique_key",
            "subject",
            "tenant_id",
            "attempt",
            "max_attempts",
            "run_at",
            "created_at",
            "updated_at",
        ],
        &rows,
        "",
    )
    .await
}

pub async fn open_job_with_key(tx: &mut Tx, key: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(&format!(
        "SELECT id FROM jobs WHERE unique_key = $1 AND state IN {OPEN_STATES}"
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn release_key(tx: &mut Tx, id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE jobs SET unique_key = NULL WHERE id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// NOTIFY is delivered when the transaction commits, and not at all when it rolls back.
pub async fn notify(tx: &mut Tx) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_notify('mpanel_jobs', '')")
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// Takes up to `limit` runnable jobs for `worker`, leasing them until `lease_until`.
/// PostgreSQL: `FOR UPDATE SKIP LOCKED`, so concurrent claimers take disjoint rows.
/// SQLite: one `UPDATE … RETURNING` under `BEGIN IMMEDIATE`, so claimers take turns.
pub async fn claim(
    db: &Db,
    worker: &str,
    limit: i64,
    now: Timestamp,
    lease_until: Timestamp,
) -> sqlx::Result<Vec<ClaimedJob>> {
    let pick = match db.backend {
        Backend::Postgres => {
            "SELECT id FROM jobs WHERE state IN ('available', 'retryable') AND run_at <= $3 \
             ORDER BY run_at, id LIMIT $4 FOR UPDATE SKIP LOCKED"
        }
        Backend::Sqlite => {
            "SELECT id FROM jobs WHERE state IN ('available', 'retryable') AND run_at <= $3 \
             ORDER BY run_at, id LIMIT $4"
        }
    };
    let sql = format!(
        "UPDATE jobs SET state = 'running', attempt = attempt + 1, locked_by = $1, \
         lease_until = $2, attempted_at = $3, updated_at = $3, progress = '' \
         WHERE id IN ({pick}) \
         RETURNING id, kind, payload, attempt, max_attempts, unique_key, subject, tenant_id"
    );
    let mut tx = db.begin_write().await?;
    let mut jobs: Vec<ClaimedJob> = sqlx::query_as(&sql)
        .bind(worker)
        .bind(lease_until.0)
        .bind(now.0)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    tx.commit().await?;
    // RETURNING gives no order guarantee; ids are UUIDv7, so this is enqueue order.
    jobs.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(jobs)
}

/// Extends the lease of every job this worker is running; returns their ids.
pub async fn heartbeat(
    pool: &AnyPool,
    worker: &str,
    lease_until: Timestamp,
) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE jobs SET lease_until = $1 WHERE locked_by = $2 AND state = 'running' RETURNING id",
    )
    .bind(lease_until.0)
    .bind(worker)
    .fetch_all(pool)
    .await
}

/// `($3, $4, …)` for `n` ids after `first` other parameters. Lists are padded to a power of
/// two (repeating the last id) so only a handful of statements reach the prepared-statement cache.
fn id_list(first: usize, n: usize) -> (String, usize) {
    let padded = n.next_power_of_two();
    let list: Vec<String> = (0..padded).map(|i| format!("${}", first + 1 + i)).collect();
    (list.join(", "), padded)
}

/// Marks jobs completed in one statement (the worker batches completions).
pub async fn complete_many(
    pool: &AnyPool,
    worker: &str,
    ids: &[String],
    now: Timestamp,
) -> sqlx::Result<u64> {
    let mut done = 0;
    for chunk in ids.chunks(256) {
        let (list, padded) = id_list(2, chunk.len());
        let sql = format!(
            "UPDATE jobs SET state = 'completed', finished_at = $1, updated_at = $1, \
             locked_by = NULL, lease_until = NULL, progress = '' \
             WHERE locked_by = $2 AND state = 'running' AND id IN ({list})"
        );
        let mut q = sqlx::query(&sql).bind(now.0).bind(worker);
        for i in 0..padded {
            q = q.bind(&chunk[i.min(chunk.len() - 1)]);
        }
        done += q.execute(pool).await?.rows_affected();
    }
    Ok(done)
}

pub struct Failure<'a> {
    pub id: &'a str,
    pub worker: &'a str,
    pub attempt: i64,
    pub error: &'a str,
    /// `retryable` or `discarded`.
    pub state: &'a str,
    pub run_at: Timestamp,
    pub now: Timestamp,
}

/// Records a failed attempt: the job's new state and the error, in one transaction. Returns
/// false when the job is no longer this worker's (its lease was rescued meanwhile).
pub async fn fail(db: &Db, f: &Failure<'_>) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let finished = (f.state == JobState::Discarded.as_str()).then_some(f.now.0);
    let updated = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, finished_at = $4, \
         locked_by = NULL, lease_until = NULL, updated_at = $5 \
         WHERE id = $6 AND locked_by = $7 AND state = 'running'",
    )
    .bind(f.state)
    .bind(f.run_at.0)
    .bind(f.error)
    .bind(finished)
    .bind(f.now.0)
    .bind(f.id)
    .bind(f.worker)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    insert_error(&mut tx, f.id, f.attempt, f.error, f.worker, f.now).await?;
    tx.commit().await?;
    Ok(true)
}

async fn insert_error(
    tx: &mut Tx,
    job_id: &str,
    attempt: i64,
    error: &str,
    worker: &str,
    at: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO job_errors (id, job_id, attempt, error, worker, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(new_id())
    .bind(job_id)
    .bind(attempt)
    .bind(error)
    .bind(worker)
    .bind(at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

#[derive(Clone, Debug, FromRow)]
pub struct ExpiredLease {
    pub id: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub locked_by: Option<String>,
}

/// Running jobs whose lease ended before `now`: their worker died or lost its database.
pub async fn expired_leases(pool: &AnyPool, now: Timestamp) -> sqlx::Result<Vec<ExpiredLease>> {
    sqlx::query_as(
        "SELECT id, attempt, max_attempts, locked_by FROM jobs \
         WHERE state = 'running' AND lease_until < $1 ORDER BY lease_until LIMIT 500",
    )
    .bind(now.0)
    .fetch_all(pool)
    .await
}

/// Returns one expired job to the queue (or discards it), if its lease is still expired.
pub async fn rescue(
    db: &Db,
    job: &ExpiredLease,
    state: JobState,
    run_at: Timestamp,
    error: &str,
    now: Timestamp,
) -> sqlx::Result<bool> {
    let mut tx = db.begin_write().await?;
    let finished = (state == JobState::Discarded).then_some(now.0);
    let updated = sqlx::query(
        "UPDATE jobs SET state = $1, run_at = $2, last_error = $3, finished_at = $4, \
         locked_by = NULL, lease_until = NULL, updated_at = $5 \
         WHERE id = $6 AND state = 'running' AND lease_until < $5",
    )
    .bind(state.as_str())
    .bind(run_at.0)
    .bind(error)
    .bind(finished)
    .bind(now.0)
    .bind(&job.id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Ok(false);
    }
    let worker = job.locked_by.as_deref().unwrap_or("");
    insert_error(&mut tx, &job.id, job.attempt, error, worker, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Shutdown: hands an interrupted job back to the queue without counting the attempt.
pub async fn release(db: &Db, worker: &str, id: &str, note: &str) -> sqlx::Result<bool> {
    let now = Timestamp::now();
    let mut tx = db.begin_write().await?;
    let attempt: Option<i64> = sqlx::query_scalar(
        "UPDATE jobs SET state = 'available', attempt = attempt - 1, run_at = $1, \
         locked_by = NULL, lease_until = NULL, updated_at = $1 \
         WHERE id = $2 AND locked_by = $3 AND state = 'running' RETURNING attempt",
    )
    .bind(now.0)
    .bind(id)
    .bind(worker)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(attempt) = attempt else {
        return Ok(false);
    };
    insert_error(&mut tx, id, attempt + 1, note, worker, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes up to 1000 finished jobs (and, by cascade, their errors): completed ones that ended
/// before `completed_before`, discarded or cancelled ones before `failed_before`.
pub async fn prune(
    pool: &AnyPool,
    completed_before: Timestamp,
    failed_before: Timestamp,
) -> sqlx::Result<u64> {
    sqlx::query(
        "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE \
         (state = 'completed' AND finished_at < $1) \
         OR (state IN ('discarded', 'cancelled') AND finished_at < $2) LIMIT 1000)",
    )
    .bind(completed_before.0)
    .bind(failed_before.0)
    .execute(pool)
    .await
    .map(|r| r.rows_affected())
}

/// A handler's progress note, shown on the job page while it runs.
pub async fn set_progress(pool: &AnyPool, id: &str, worker: &str, text: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE jobs SET progress = $1, updated_at = $2 WHERE id = $3 AND locked_by = $4 AND state = 'running'",
    )
    .bind(text)
    .bind(Timestamp::now().0)
    .bind(id)
    .bind(worker)
    .execute(pool)
    .await
    .map(|_| ())
}

/// Waiting → cancelled. Zero rows when the job is running or already final.
pub async fn cancel(tx: &mut Tx, id: &str, now: Timestamp) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE jobs SET state = 'cancelled', finished_at = $1, updated_at = $1 \
         WHERE id = $2 AND state IN ('available', 'retryable')",
    )
    .bind(now.0)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// Failed, given-up or cancelled → available now, with room for at least one more attempt.
/// Fails with a unique violation when another open job holds the same key.
pub async fn retry(tx: &mut Tx, id: &str, now: Timestamp) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE jobs SET state = 'available', run_at = $1, finished_at = NULL, updated_at = $1, \
         max_attempts = CASE WHEN max_attempts > attempt THEN max_attempts ELSE attempt + 1 END \
         WHERE id = $2 AND state IN ('retryable', 'discarded', 'cancelled')",
    )
    .bind(now.0)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}
