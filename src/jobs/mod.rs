//! The durable job queue (DESIGN.md "Jobs"): jobs are rows, enqueued inside the caller's
//! transaction, claimed in batches by workers that hold a lease and renew it, retried with
//! `attempt⁴ s + jitter` backoff, and rescued when their worker dies.

pub mod model;
pub mod pages;
pub mod registry;
pub mod service;
pub mod store;
pub mod upkeep;
pub mod worker;

use std::sync::LazyLock;

use tokio::sync::watch;

pub use model::{JobError, JobState};
pub use registry::{HandlerOptions, HandlerResult, JobContext, Registry};
/// Reading jobs (the /ops pages, a pod's job history): `jobs::read::…` for other features.
pub use store::read;
pub use worker::{Worker, WorkerConfig};

use crate::db::{Timestamp, Tx, new_id};

/// A job to enqueue. `NewJob::new(kind, &json!({…}))` plus the optional builders, or a struct
/// literal with `..NewJob::default()`.
#[derive(Clone, Debug, Default)]
pub struct NewJob {
    pub kind: String,
    /// JSON text handed to the handler as is.
    pub payload: String,
    /// At most one unfinished (available, running, retryable) job per key; a second enqueue
    /// with the key returns the existing job. Keys are global: prefix them, e.g. `pod:<id>`.
    pub unique_key: Option<String>,
    /// Not before this instant (default: now).
    pub run_at: Option<Timestamp>,
    /// Default [`model::DEFAULT_MAX_ATTEMPTS`].
    pub max_attempts: Option<i64>,
    /// What the job acts for, e.g. `cloudpod:<id>`: lists the jobs of one object.
    pub subject: Option<String>,
    /// The tenant the job belongs to, when it belongs to one.
    pub tenant_id: Option<String>,
}

impl NewJob {
    pub fn new(kind: &str, payload: &serde_json::Value) -> NewJob {
        NewJob {
            kind: kind.to_string(),
            payload: payload.to_string(),
            ..NewJob::default()
        }
    }
    pub fn unique_key(mut self, key: impl Into<String>) -> NewJob {
        self.unique_key = Some(key.into());
        self
    }
    pub fn run_at(mut self, at: Timestamp) -> NewJob {
        self.run_at = Some(at);
        self
    }
    pub fn max_attempts(mut self, n: i64) -> NewJob {
        self.max_attempts = Some(n);
        self
    }
    pub fn subject(mut self, subject: impl Into<String>) -> NewJob {
        self.subject = Some(subject.into());
        self
    }
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> NewJob {
        self.tenant_id = Some(tenant_id.into());
        self
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enqueued {
    pub id: String,
    /// An unfinished job with the same unique key existed; `id` is that job.
    pub duplicate: bool,
}

/// Wakes this process's idle workers. A `watch` counter, not a `Notify`: every worker sees
/// every bump, and one that was busy at the time still sees it when it next waits.
pub(crate) static LOCAL_WAKE: LazyLock<watch::Sender<u64>> = LazyLock::new(|| watch::channel(0).0);

/// Enqueues `job` inside the caller's transaction: it exists only if that transaction commits.
/// PostgreSQL workers are woken by NOTIFY at commit; SQLite workers in this process at once
/// (their claim waits for this transaction's write lock, so they see the job as it commits).
pub async fn enqueue(tx: &mut Tx, job: NewJob) -> sqlx::Result<Enqueued> {
    let now = Timestamp::now();
    let id = new_id();
    let inserted = store::insert(
        tx,
        &store::InsertJob {
            id: &id,
            kind: &job.kind,
            payload: &job.payload,
            unique_key: job.unique_key.as_deref(),
            subject: job.subject.as_deref(),
            tenant_id: job.tenant_id.as_deref(),
            max_attempts: job
                .max_attempts
                .unwrap_or(model::DEFAULT_MAX_ATTEMPTS)
                .max(1),
            run_at: job.run_at.unwrap_or(now),
            now,
        },
    )
    .await?;
    if !inserted {
        if let Some(existing) = match &job.unique_key {
            Some(key) => store::open_job_with_key(tx, key).await?,
            None => None,
        } {
            return Ok(Enqueued {
                id: existing,
                duplicate: true,
            });
        }
        return Err(sqlx::Error::Protocol(format!(
            "job {} was not inserted and no open job holds its key",
            job.kind
        )));
    }
    wake_after(tx).await?;
    Ok(Enqueued {
        id,
        duplicate: false,
    })
}

/// Enqueues several jobs without unique keys in one statement (a bill run's batch of e-mails),
/// waking the workers once. A job with a unique key goes through [`enqueue`], which finds the
/// open job holding it.
pub async fn enqueue_many(tx: &mut Tx, jobs: &[NewJob]) -> sqlx::Result<Vec<String>> {
    if jobs.iter().any(|j| j.unique_key.is_some()) {
        return Err(sqlx::Error::Protocol(
            "enqueue_many takes jobs without unique keys".into(),
        ));
    }
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let now = Timestamp::now();
    let ids: Vec<String> = jobs.iter().map(|_| new_id()).collect();
    let rows: Vec<store::InsertJob<'_>> = jobs
        .iter()
        .zip(&ids)
        .map(|(job, id)| store::InsertJob {
            id,
            kind: &job.kind,
            payload: &job.payload,
            unique_key: None,
            subject: job.subject.as_deref(),
            tenant_id: job.tenant_id.as_deref(),
            max_attempts: job
                .max_attempts
                .unwrap_or(model::DEFAULT_MAX_ATTEMPTS)
                .max(1),
            run_at: job.run_at.unwrap_or(now),
            now,
        })
        .collect();
    store::insert_many(tx, &rows).await?;
    wake_after(tx).await?;
    Ok(ids)
}

/// Lets job `id`'s unique key go inside the caller's transaction, before the worker marks the
/// job done. For handlers that finish their subject's work in a transaction of their own (a
/// pod settled): once that commits, the subject is free and the next job for it can be
/// enqueued, rather than being refused for the few milliseconds until the job is marked done.
pub async fn release_key(tx: &mut Tx, id: &str) -> sqlx::Result<()> {
    store::release_key(tx, id).await
}

/// Wakes idle workers once `tx` commits: NOTIFY on PostgreSQL; on SQLite a local bump now
/// (the woken claim waits for this transaction's write lock, so it sees the commit).
pub(crate) async fn wake_after(tx: &mut Tx) -> sqlx::Result<()> {
    if tx.backend_name() == "PostgreSQL" {
        store::notify(tx).await
    } else {
        LOCAL_WAKE.send_modify(|n| *n = n.wrapping_add(1));
        Ok(())
    }
}
