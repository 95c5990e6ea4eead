-- Durable job queue (DESIGN.md "Jobs"): one row per job, one row per failed attempt.
-- States: available → running → completed | retryable → … | discarded | cancelled.
CREATE TABLE jobs (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('available', 'running', 'completed', 'retryable', 'discarded', 'cancelled')),
    payload      TEXT NOT NULL,
    unique_key   TEXT,
    -- What the job acts for, e.g. 'cloudpod:<id>', so a pod page can list its jobs.
    subject      TEXT,
    tenant_id    TEXT,
    attempt      INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       INTEGER NOT NULL,
    locked_by    TEXT,
    lease_until  INTEGER,
    progress     TEXT NOT NULL DEFAULT '',
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    attempted_at INTEGER,
    finished_at  INTEGER,
    updated_at   INTEGER NOT NULL
);
-- The claim query: runnable jobs in run_at order.
CREATE INDEX jobs_runnable ON jobs (run_at, id) WHERE state IN ('available', 'retryable');
-- The rescuer: running jobs whose lease ran out.
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_state_kind ON jobs (state, kind);
CREATE INDEX jobs_created ON jobs (created_at, id);
CREATE INDEX jobs_subject ON jobs (subject, created_at) WHERE subject IS NOT NULL;
-- At most one unfinished job per unique key; finished jobs free the key.
CREATE UNIQUE INDEX jobs_unique_key ON jobs (unique_key) WHERE unique_key IS NOT NULL AND state IN ('available', 'running', 'retryable');

CREATE TABLE job_errors (
    id      TEXT PRIMARY KEY,
    job_id  TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    error   TEXT NOT NULL,
    worker  TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX job_errors_job ON job_errors (job_id, at);
