-- CloudPod backups (cloudpods/backups): the plan's defaults, one policy per pod, every run.
ALTER TABLE cloudpod_plans ADD COLUMN backup_frequency TEXT NOT NULL DEFAULT 'DAILY' CHECK (backup_frequency IN ('DAILY', 'WEEKLY'));
ALTER TABLE cloudpod_plans ADD COLUMN backup_retention INTEGER NOT NULL DEFAULT 7 CHECK (backup_retention BETWEEN 1 AND 100);

-- One per pod, created with the pod from its plan's defaults. `next_run_at` is the start of
-- the next schedule slot; the scheduler claims a slot by moving it one slot ahead with a
-- conditional UPDATE on the value it read.
CREATE TABLE backup_policies (
    pod_id       TEXT PRIMARY KEY REFERENCES cloudpods (id),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    frequency    TEXT NOT NULL CHECK (frequency IN ('DAILY', 'WEEKLY')),
    retention    INTEGER NOT NULL CHECK (retention BETWEEN 1 AND 100),
    next_run_at  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX backup_policies_due ON backup_policies (next_run_at);

-- Every run: one per pod and slot (a retried job resumes its row; the task's UPID is kept).
CREATE TABLE backup_runs (
    id           TEXT PRIMARY KEY,
    pod_id       TEXT NOT NULL REFERENCES cloudpods (id),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    slot         INTEGER NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('RUNNING', 'SUCCEEDED', 'FAILED')),
    job_id       TEXT,
    task_upid    TEXT,
    volid        TEXT,
    size_bytes   INTEGER,
    error        TEXT NOT NULL DEFAULT '',
    removed      INTEGER NOT NULL DEFAULT 0,
    removed_at   INTEGER,
    started_at   INTEGER NOT NULL,
    finished_at  INTEGER,
    UNIQUE (pod_id, slot)
);
CREATE INDEX backup_runs_started ON backup_runs (started_at);
CREATE INDEX backup_runs_pod ON backup_runs (pod_id, started_at);

-- Pods made before backups existed get their plan's defaults, first run at the next slot.
INSERT INTO backup_policies (pod_id, tenant_id, frequency, retention, next_run_at, created_at, updated_at)
SELECT c.id, c.tenant_id, p.backup_frequency, p.backup_retention,
       (CAST(strftime('%s', 'now') AS INTEGER) / 86400 + 1) * 86400000,
       CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000
FROM cloudpods c JOIN cloudpod_plans p ON p.code = c.plan_code
WHERE c.deleted_at IS NULL;

-- Hypervisor figures of CLOUD nodes (ops/nodes/hosts.rs, read from the Proxmox node's
-- status on the probe interval): when they were last read, claimed with a conditional
-- UPDATE so several workers read a node once per interval.
ALTER TABLE ops_nodes ADD COLUMN host_read_at INTEGER;
