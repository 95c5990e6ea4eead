-- Ops: core nodes and their probes (ops/nodes), pushed node metrics, and guardian findings
-- (ops/guardian). Status machine of a node (ops/nodes/model.rs): UNKNOWN → UP ⇄ DOWN after
-- M successes / N failures in a row; `flapping` when it changed too often lately.
CREATE TABLE ops_nodes (
    id                   TEXT PRIMARY KEY,
    -- The operator tenant: nodes are the platform's, staff alone see them.
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    hostname             TEXT NOT NULL,
    node_type            TEXT NOT NULL CHECK (node_type IN ('WEB', 'MAIL', 'DNS', 'CLOUD', 'DB', 'BACKUP')),
    region               TEXT NOT NULL,
    address              TEXT NOT NULL,
    check_kind           TEXT NOT NULL CHECK (check_kind IN ('TCP', 'HTTP')),
    check_port           INTEGER,
    check_url            TEXT NOT NULL DEFAULT '',
    expected_status      INTEGER,
    interval_secs        INTEGER NOT NULL,
    timeout_ms           INTEGER NOT NULL,
    status               TEXT NOT NULL DEFAULT 'UNKNOWN' CHECK (status IN ('UNKNOWN', 'UP', 'DOWN')),
    status_reason        TEXT NOT NULL DEFAULT '',
    status_since         INTEGER,
    fails_in_row         INTEGER NOT NULL DEFAULT 0,
    oks_in_row           INTEGER NOT NULL DEFAULT 0,
    flapping             INTEGER NOT NULL DEFAULT 0,
    last_check_at        INTEGER,
    last_latency_ms      INTEGER,
    -- When the next probe is due; a worker claims a node by moving it one interval ahead
    -- with a conditional UPDATE on the value it read.
    next_probe_at        INTEGER NOT NULL,
    -- Pushed metrics (POST /api/v1/ops/metrics): CPU and load in hundredths.
    cpu_pct_x100         INTEGER,
    mem_used_bytes       INTEGER,
    mem_total_bytes      INTEGER,
    disk_used_bytes      INTEGER,
    disk_total_bytes     INTEGER,
    load1_x100           INTEGER,
    metrics_at           INTEGER,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE UNIQUE INDEX ops_nodes_hostname ON ops_nodes (hostname);
CREATE INDEX ops_nodes_due ON ops_nodes (next_probe_at);

-- Windows in which a node is silenced (shown as MAINTENANCE, never as DOWN).
CREATE TABLE ops_node_maintenance (
    id          TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    starts_at   INTEGER NOT NULL,
    ends_at     INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX ops_node_maintenance_node ON ops_node_maintenance (node_id, ends_at);

-- Every probe, kept 7 days at full resolution; `changed` = this probe changed the node's
-- status (UNKNOWN → UP included; flapping counts these).
CREATE TABLE ops_probe_results (
    id          TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    ok          INTEGER NOT NULL,
    latency_ms  INTEGER NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    changed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ops_probe_results_node_at ON ops_probe_results (node_id, at);
CREATE INDEX ops_probe_results_at ON ops_probe_results (at);

-- Hourly roll-up of probes older than 7 days, kept 90 days.
CREATE TABLE ops_probe_hourly (
    node_id         TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    hour_start      INTEGER NOT NULL,
    probes          INTEGER NOT NULL,
    failures        INTEGER NOT NULL,
    latency_sum_ms  INTEGER NOT NULL,
    latency_max_ms  INTEGER NOT NULL,
    PRIMARY KEY (node_id, hour_start)
);
CREATE INDEX ops_probe_hourly_hour ON ops_probe_hourly (hour_start);

-- Pushed metric samples (the CPU trend), kept 7 days.
CREATE TABLE ops_node_samples (
    id            TEXT PRIMARY KEY,
    node_id       TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    at            INTEGER NOT NULL,
    cpu_pct_x100  INTEGER NOT NULL
);
CREATE INDEX ops_node_samples_node_at ON ops_node_samples (node_id, at);
CREATE INDEX ops_node_samples_at ON ops_node_samples (at);

-- Guardian findings on a pod; one row per (pod, key): a repeat updates last_seen_at.
CREATE TABLE guardian_findings (
    id              TEXT PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    pod_id          TEXT NOT NULL REFERENCES cloudpods (id),
    finding_key     TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('CRITICAL', 'HIGH', 'MEDIUM', 'LOW')),
    title           TEXT NOT NULL,
    detail          TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'RESOLVED', 'IGNORED')),
    status_reason   TEXT NOT NULL DEFAULT '',
    seen_count      INTEGER NOT NULL DEFAULT 1,
    first_seen_at   INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    closed_at       INTEGER,
    closed_by       TEXT,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX guardian_findings_key ON guardian_findings (pod_id, finding_key);
CREATE INDEX guardian_findings_status ON guardian_findings (status, severity, last_seen_at);
CREATE INDEX guardian_findings_tenant ON guardian_findings (tenant_id, last_seen_at);
