-- CloudPods: a tenant's small VMs. Status machine (cloudpods/model.rs):
-- PROVISIONING → ACTIVE ⇄ SUSPENDED → DELETED, FAILED (with the reason) → PROVISIONING (retry).
-- At most one action runs on a pod at a time: `operation` names it while its job runs.
CREATE TABLE cloudpods (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    name               TEXT NOT NULL,
    region             TEXT NOT NULL,
    plan_code          TEXT NOT NULL REFERENCES cloudpod_plans (code),
    -- A resize in flight: the plan asked for, applied when its job succeeds.
    target_plan_code   TEXT REFERENCES cloudpod_plans (code),
    subscription_id    TEXT,
    status             TEXT NOT NULL CHECK (status IN ('PROVISIONING', 'ACTIVE', 'SUSPENDED', 'DELETED', 'FAILED')),
    failure_reason     TEXT NOT NULL DEFAULT '',
    operation          TEXT NOT NULL DEFAULT '',
    operation_job_id   TEXT,
    last_error         TEXT NOT NULL DEFAULT '',
    power_state        TEXT NOT NULL DEFAULT 'STOPPED' CHECK (power_state IN ('RUNNING', 'STOPPED')),
    -- The specs the VM is configured with (from the plan when provisioned or resized).
    cpu_cores          INTEGER NOT NULL,
    ram_mb             INTEGER NOT NULL,
    disk_gb            INTEGER NOT NULL,
    max_websites       INTEGER NOT NULL,
    max_email_accounts INTEGER NOT NULL,
    -- CPU/RAM were changed while running and apply at the next reboot.
    pending_reboot     INTEGER NOT NULL DEFAULT 0,
    provisioner        TEXT NOT NULL,
    vmid               INTEGER,
    node               TEXT,
    -- The hypervisor task in flight (Proxmox UPID), saved before it is waited on.
    task_upid          TEXT,
    ip_address         TEXT,
    mem_used_mb        INTEGER,
    disk_used_gb       INTEGER,
    usage_at           INTEGER,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    deleted_at         INTEGER
);
CREATE UNIQUE INDEX cloudpods_tenant_name ON cloudpods (tenant_id, name) WHERE status <> 'DELETED';
CREATE INDEX cloudpods_tenant_created ON cloudpods (tenant_id, created_at);
CREATE INDEX cloudpods_created ON cloudpods (created_at, id);
