//! Handlers by kind. Each feature offers a `register` for its kinds (`mail.send`,
//! `cloudpod.provision`, …) and `app.rs` calls them all (`job_registry`); a handler gets the job (payload as JSON text) and a database handle, and
//! answers `Ok`, a retryable error or a permanent one.
//!
//! Handlers must be idempotent: delivery is at least once, and an attempt's future may be
//! dropped at any `.await` (its timeout, shutdown after the grace period, or a lost lease).
//! Record external ids (a VMID, a task UPID) on your own rows before waiting on them, so the
//! next attempt resumes instead of starting over.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use super::model::JobError;
use super::store::{self, ClaimedJob};
use crate::db::Db;

pub type HandlerResult = Result<(), JobError>;
type BoxFuture = Pin<Box<dyn Future<Output = HandlerResult> + Send>>;
type HandlerFn = dyn Fn(JobContext) -> BoxFuture + Send + Sync;

/// What a running handler knows and may do.
#[derive(Clone)]
pub struct JobContext {
    pub job: ClaimedJob,
    pub db: Db,
    pub(crate) worker_id: Arc<str>,
}

impl JobContext {
    pub fn payload(&self) -> &str {
        &self.job.payload
    }

    /// The payload parsed as `T`; a payload that does not parse can never succeed, so the
    /// error is permanent.
    pub fn parse<T: serde::de::DeserializeOwned>(&self) -> Result<T, JobError> {
        serde_json::from_str(&self.job.payload)
            .map_err(|e| JobError::permanent(format!("payload does not parse: {e}")))
    }

    /// This is the last attempt: a retryable error will discard the job.
    pub fn is_last_attempt(&self) -> bool {
        self.job.attempt >= self.job.max_attempts
    }

    /// A short note shown on the job page while it runs ("cloning template 9000", …).
    pub async fn progress(&self, text: &str) -> Result<(), JobError> {
        store::set_progress(&self.db.pool, &self.job.id, &self.worker_id, text).await?;
        Ok(())
    }
}

#[derive(Clone, Copy, Debug)]
pub struct HandlerOptions {
    /// An attempt running longer than this fails (retryable) and its task is dropped.
    pub timeout: Duration,
}

impl Default for HandlerOptions {
    fn default() -> HandlerOptions {
        HandlerOptions {
            timeout: Duration::from_secs(300),
        }
    }
}

#[derive(Clone)]
pub(crate) struct Handler {
    pub run: Arc<HandlerFn>,
    pub options: HandlerOptions,
}

#[derive(Clone, Default)]
pub struct Registry {
    handlers: HashMap<String, Handler>,
}

impl Registry {
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Registers `handler` for `kind` with the default options (a later call replaces it).
    pub fn register<F, Fut>(&mut self, kind: &str, handler: F) -> &mut Registry
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        self.register_with(kind, HandlerOptions::default(), handler)
    }

    pub fn register_with<F, Fut>(
        &mut self,
        kind: &str,
        options: HandlerOptions,
        handler: F,
    ) -> &mut Registry
    where
        F: Fn(JobContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = HandlerResult> + Send + 'static,
    {
        let run: Arc<HandlerFn> = Arc::new(move |ctx| Box::pin(handler(ctx)));
        self.handlers
            .insert(kind.to_string(), Handler { run, options });
        self
    }

    pub(crate) fn get(&self, kind: &str) -> Option<&Handler> {
        self.handlers.get(kind)
    }

    pub fn kinds(&self) -> Vec<&str> {
        let mut kinds: Vec<&str> = self.handlers.keys().map(String::as_str).collect();
        kinds.sort_unstable();
        kinds
    }
}
