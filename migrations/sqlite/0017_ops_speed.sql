-- The ops overview over a long history (docs/BENCHMARKS.md "Ops overview"): its tiles count
-- index ranges instead of walking every job, probe and sample.

-- Jobs by state and kind, and when they ended: the queue tile's counts (covering) and the
-- provisioning tile's outcomes of one kind in a window.
DROP INDEX jobs_state_kind;
CREATE INDEX jobs_state_kind ON jobs (state, kind, finished_at);
-- Jobs of one state that ended in a window (completed in the last hour).
CREATE INDEX jobs_state_finished ON jobs (state, finished_at);
-- Failed attempts per hour.
CREATE INDEX job_errors_at ON job_errors (at);
-- Failed probes per hour: failures are the rare rows.
CREATE INDEX ops_probe_failures ON ops_probe_results (at, node_id) WHERE ok = 0;

-- Pushed CPU per node and clock hour, kept with the samples (7 days): the CPU trend reads
-- 24 rows per node instead of every sample.
CREATE TABLE ops_node_cpu_hourly (
    node_id       TEXT NOT NULL REFERENCES ops_nodes (id) ON DELETE CASCADE,
    hour_start    INTEGER NOT NULL,
    samples       INTEGER NOT NULL,
    cpu_sum_x100  INTEGER NOT NULL,
    PRIMARY KEY (node_id, hour_start)
);
CREATE INDEX ops_node_cpu_hourly_hour ON ops_node_cpu_hourly (hour_start);
INSERT INTO ops_node_cpu_hourly (node_id, hour_start, samples, cpu_sum_x100)
    SELECT node_id, (at / 3600000) * 3600000, COUNT(*), SUM(cpu_pct_x100)
    FROM ops_node_samples GROUP BY node_id, (at / 3600000) * 3600000;
