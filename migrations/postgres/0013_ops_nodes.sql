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
    check_port           BIGINT,
    check_url            TEXT NOT NULL DEFAULT '',
    expected_status      BIGINT,
    interval_secs        BIGINT NOT NULL,
    timeout_ms           BIGINT NOT NULL,
    status               TEXT NOT NULL DEFAULT 'UNKNOWN' CHECK (status IN ('UNKNOWN', 'UP', 'DOWN')),
    status_reason        TEXT NOT NULL DEFAULT '',
    status_since         BIGINT,
    fails_in_row         BIGINT NOT NULL DEFAULT 0,
    oks_in_row           BIGINT NOT NULL DEFAULT 0,
    flapping             BIGINT NOT NULL DEFAULT 0,
    last_check_at        BIGINT,
    last_latency_ms      BIGINT,
    -- When the next probe is due; a worker claims a node by moving it one interval ahead
    -- with a conditional UPDATE on the value it read.
    next_probe_at        BIGINT NOT NULL,
    -- Pushed metrics (POST /api/v1/ops/metrics): CPU and load in hundredths.
    cpu_pct_x100         BIGINT,
    mem_used_bytes       BIGINT,
    mem_total_bytes      BIGINT,
    disk_used_bytes      BIGINT,
    disk_total_bytes     BIGINT,
    load1_x100           BIGINT,
    metrics_at           BIGINT,
    created_at           BIGINT NOT NULL,
    updated_at           BIGINT NOT NULL
);
CREATE UNIQUE INDEX ops_nodes_hostname ON ops_nodes (hostname);
CREATE INDEX ops_nodes_due ON ops_nodes (next_probe_at);

-- Windows in which a node is silenced (shown as MAINTENANCE, never as DOWN).
CREATE TABLE ops_node_maintenance (
    id          TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    starts_at   BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX ops_node_maintenance_node ON ops_node_maintenance (node_id, ends_at);

-- Every probe, kept 7 days at full resolution; `changed` = this probe changed the node's
-- status (UNKNOWN → UP included; flapping counts these).
CREATE TABLE ops_probe_results (
    id          TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    at          BIGINT NOT NULL,
    ok          BIGINT NOT NULL,
    latency_ms  BIGINT NOT NULL,
    error       TEXT NOT NULL DEFAULT '',
    changed     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX ops_probe_results_node_at ON ops_probe_results (node_id, at);
CREATE INDEX ops_probe_results_at ON ops_probe_results (at);

-- Hourly roll-up of probes older than 7 days, kept 90 days.
CREATE TABLE ops_probe_hourly (
    node_id         TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    hour_start      BIGINT NOT NULL,
    probes          BIGINT NOT NULL,
    failures        BIGINT NOT NULL,
    latency_sum_ms  BIGINT NOT NULL,
    latency_max_ms  BIGINT NOT NULL,
    PRIMARY KEY (node_id, hour_start)
);
CREATE INDEX ops_probe_hourly_hour ON ops_probe_hourly (hour_start);

-- Pushed metric samples (the CPU trend), kept 7 days.
CREATE TABLE ops_node_samples (
    id            TEXT PRIMARY KEY,
    node_id       TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    at            BIGINT NOT NULL,
    cpu_pct_x100  BIGINT NOT NULL
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
    seen_count      BIGINT NOT NULL DEFAULT 1,
    first_seen_at   BIGINT NOT NULL,
    last_seen_at    BIGINT NOT NULL,
    closed_at       BIGINT,
    closed_by       TEXT,
    updated_at      BIGINT NOT NULL
);
CREATE UNIQUE INDEX guardian_findings_key ON guardian_findings (pod_id, finding_key);
CREATE INDEX guardian_findings_status ON guardian_findings (status, severity, last_seen_at);
CREATE INDEX guardian_findings_tenant ON guardian_findings (tenant_id, last_seen_at);
