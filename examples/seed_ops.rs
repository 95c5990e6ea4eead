//! Seeds the ops overview's benchmark data set (issue 16) into a panel database whose set-up
//! has been done (the operator tenant exists), using set-based INSERT … SELECT so that millions
//! of rows take seconds:
//!
//!   cargo run --release --example seed_ops -- <DATABASE_URL> <probe address> [nodes] [jobs] [events]
//!
//! - `nodes` (1,000) core nodes: a TCP check on `<probe address>` (host:port) for four in five, an
//!   HTTP check of `http://<probe address>/healthz` for the rest, 30 s interval, next probe spread
//!   over the next 30 s; 1.5 % DOWN, 0.5 % UNKNOWN, the rest UP; pushed metrics on each; the
//!   last 24 hours of probe results (one per node per 30 s, 1 % failed) and CPU samples (one
//!   per node per minute).
//! - `jobs` (5,000,000) jobs of history over the last 90 days across six kinds: 98.4 % completed,
//!   1 % discarded (three recorded failures each), 0.5 % cancelled, and the rest waiting,
//!   scheduled, retryable (one failure each) or running.
//! - `events` (100,000) security events over the last 30 days.

use std::time::Instant;

use mpanel::db::{Backend, Db, Timestamp};

/// `INSERT INTO {table} ({cols}) SELECT {select} FROM <0..count as n>`, with `now` bound to $1.
async fn fill(db: &Db, table: &str, cols: &str, select: &str, count: i64) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let t0 = Instant::now();
    let sql = match db.backend {
        Backend::Sqlite => format!(
            "INSERT INTO {table} ({cols}) WITH RECURSIVE seq(n) AS \
             (SELECT 0 UNION ALL SELECT n + 1 FROM seq WHERE n + 1 < {count}) \
             SELECT {select} FROM seq"
        ),
        Backend::Postgres => format!(
            "INSERT INTO {table} ({cols}) SELECT {select} \
             FROM generate_series(0::bigint, {count} - 1) AS seq(n)"
        ),
    };
    let now = Timestamp::now().0;
    let done = sqlx::query(&sql).bind(now).execute(&db.pool).await?;
    eprintln!(
        "{table}: {} rows in {:.1} s",
        done.rows_affected(),
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A zero-padded decimal id from the row number, per backend.
fn id(backend: Backend, prefix: &str) -> String {
    match backend {
        Backend::Sqlite => format!("printf('{prefix}%09d', n)"),
        Backend::Postgres => format!("'{prefix}' || lpad(n::text, 9, '0')"),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(url), Some(probe)) = (args.get(1), args.get(2)) else {
        anyhow::bail!("usage: seed_ops DATABASE_URL HOST:PORT [nodes] [jobs] [events]");
    };
    let arg = |i: usize, default: i64| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let (nodes, jobs, events) = (arg(3, 1_000), arg(4, 5_000_000), arg(5, 100_000));
    let db = Db::connect(url, 2).await?;
    db.migrate().await?;
    let operator: String = sqlx::query_scalar(
        "SELECT id FROM tenants WHERE kind = 'OPERATOR' ORDER BY created_at LIMIT 1",
    )
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| anyhow::anyhow!("set the panel up first (no operator tenant)"))?;
    let b = db.backend;

    // Nodes: status and type from the row number; metrics in hundredths and bytes.
    fill(
        &db,
        "ops_nodes",
        "id, tenant_id, hostname, node_type, region, address, check_kind, check_port, check_url, \
         expected_status, interval_secs, timeout_ms, status, status_reason, status_since, \
         last_check_at, last_latency_ms, next_probe_at, cpu_pct_x100, mem_used_bytes, \
         mem_total_bytes, disk_used_bytes, disk_total_bytes, load1_x100, metrics_at, created_at, \
         updated_at",
        &format!(
            "{}, '{operator}', {}, \
             CASE n % 6 WHEN 0 THEN 'WEB' WHEN 1 THEN 'MAIL' WHEN 2 THEN 'DNS' WHEN 3 THEN 'CLOUD' \
               WHEN 4 THEN 'DB' ELSE 'BACKUP' END, \
             CASE n % 3 WHEN 0 THEN 'eu-central' WHEN 1 THEN 'eu-west' ELSE 'us-east' END, \
             '{host}', CASE WHEN n % 5 = 4 THEN 'HTTP' ELSE 'TCP' END, \
             CASE WHEN n % 5 = 4 THEN NULL ELSE {port} END, \
             CASE WHEN n % 5 = 4 THEN 'http://{probe}/healthz' ELSE '' END, \
             CASE WHEN n % 5 = 4 THEN 200 ELSE NULL END, 30, 2000, \
             CASE WHEN n % 200 < 3 THEN 'DOWN' WHEN n % 200 = 3 THEN 'UNKNOWN' ELSE 'UP' END, \
             CASE WHEN n % 200 < 3 THEN 'connection refused' ELSE '' END, \
             $1 - 86400000, $1 - (n % 30) * 1000, 1 + n % 7, $1 + (n % 30) * 1000, \
             (n * 37) % 10000, (n % 64 + 1) * 1073741824, 68719476736, (n % 400 + 1) * 1073741824, \
             429496729600, (n * 13) % 800, $1 - (n % 60) * 1000, $1 - 86400000, $1",
            id(b, "bench-node-"),
            match b {
                Backend::Sqlite => "printf('node-%04d.bench.test', n)".to_string(),
                Backend::Postgres =>
                    "'node-' || lpad(n::text, 4, '0') || '.bench.test'".to_string(),
            },
            host = probe.rsplit_once(':').map(|(h, _)| h).unwrap_or(probe),
            port = probe.rsplit_once(':').map(|(_, p)| p).unwrap_or("80"),
        ),
        nodes,
    )
    .await?;
    let node_of = match b {
        Backend::Sqlite => format!("printf('bench-node-%09d', n % {nodes})"),
        Backend::Postgres => format!("'bench-node-' || lpad((n % {nodes})::text, 9, '0')"),
    };
    let probes = nodes * 2_880;
    fill(
        &db,
        "ops_probe_results",
        "id, node_id, at, ok, latency_ms, error, changed",
        &format!(
            "{}, {}, $1 - (n / {nodes}) * 30000, CASE WHEN n % 100 = 7 THEN 0 ELSE 1 END, \
             1 + n % 40, CASE WHEN n % 100 = 7 THEN 'timed out after 2000 ms' ELSE '' END, 0",
            id(b, "bench-probe-"),
            node_of
        ),
        probes,
    )
    .await?;
    fill(
        &db,
        "ops_node_samples",
        "id, node_id, at, cpu_pct_x100",
        &format!(
            "{}, {}, $1 - (n / {nodes}) * 60000, (n * 37) % 10000",
            id(b, "bench-sample-"),
            node_of
        ),
        nodes * 1_440,
    )
    .await?;

    // Jobs: 90 days back, newest last; the state from the row number.
    let kinds = "CASE (n / 1000) % 6 WHEN 0 THEN 'cloudpod.provision' WHEN 1 THEN 'mail.send' \
                 WHEN 2 THEN 'billing.bill_run' WHEN 3 THEN 'payments.webhook' \
                 WHEN 4 THEN 'cloudpod.power' ELSE 'subscriptions.activate' END";
    let state = "CASE WHEN n % 1000 < 984 THEN 'completed' WHEN n % 1000 < 994 THEN 'discarded' \
                 WHEN n % 1000 < 999 THEN 'cancelled' WHEN n % 4000 = 999 THEN 'available' \
                 WHEN n % 4000 = 1999 THEN 'retryable' WHEN n % 4000 = 2999 THEN 'running' \
                 ELSE 'available' END";
    let span = 90 * 86_400_000_i64;
    let created = format!("($1 - {span} + (n * ({span} / {jobs})))");
    fill(
        &db,
        "jobs",
        "id, kind, state, payload, subject, tenant_id, attempt, max_attempts, run_at, locked_by, \
         lease_until, progress, last_error, created_at, attempted_at, finished_at, updated_at",
        &format!(
            "{}, {kinds}, {state}, '{{}}', NULL, '{operator}', \
             CASE WHEN n % 1000 BETWEEN 984 AND 993 THEN 3 ELSE 1 END, 3, \
             CASE WHEN n % 4000 = 3999 THEN $1 + 3600000 ELSE {created} END, \
             CASE WHEN n % 4000 = 2999 THEN 'bench-worker' ELSE NULL END, \
             CASE WHEN n % 4000 = 2999 THEN $1 + 300000 ELSE NULL END, '', \
             CASE WHEN n % 1000 BETWEEN 984 AND 993 THEN 'connection refused' ELSE NULL END, \
             {created}, {created}, \
             CASE WHEN n % 1000 < 999 THEN {created} + 1000 ELSE NULL END, {created} + 1000",
            id(b, "bench-job-")
        ),
        jobs,
    )
    .await?;
    // Three failed attempts per discarded job, one per retryable one.
    let failed_jobs = "SELECT id, created_at, state FROM jobs \
                       WHERE id LIKE 'bench-job-%' AND state IN ('discarded', 'retryable')";
    let t0 = Instant::now();
    for attempt in 1..=3 {
        let only = if attempt == 1 {
            ""
        } else {
            " WHERE state = 'discarded'"
        };
        let done = sqlx::query(&format!(
            "INSERT INTO job_errors (id, job_id, attempt, error, worker, at) \
             SELECT 'e{attempt}-' || id, id, {attempt}, 'connection refused', 'bench-worker', \
             created_at + {attempt} * 300 FROM ({failed_jobs}) f{only}"
        ))
        .execute(&db.pool)
        .await?;
        eprintln!(
            "job_errors attempt {attempt}: {} rows",
            done.rows_affected()
        );
    }
    eprintln!("job_errors in {:.1} s", t0.elapsed().as_secs_f64());

    // Security events: 30 days back, sign-in failures and locks among them.
    let span = 30 * 86_400_000_i64;
    fill(
        &db,
        "security_events",
        "id, tenant_id, user_id, subject_user_id, email, event_type, summary, ip, user_agent, \
         created_at",
        &format!(
            "{}, '{operator}', NULL, NULL, 'someone@bench.test', \
             CASE n % 10 WHEN 0 THEN 'LOGIN_FAILED' WHEN 1 THEN 'LOGIN_FAILED' \
               WHEN 2 THEN 'LOGIN_LOCKED' WHEN 3 THEN 'TOKEN_CREATED' WHEN 4 THEN 'MFA_FAILED' \
               ELSE 'LOGIN_SUCCESS' END, 'bench', '192.0.2.1', 'bench', \
             $1 - {span} + n * ({span} / {events})",
            id(b, "bench-event-")
        ),
        events,
    )
    .await?;
    if b == Backend::Postgres {
        // What autovacuum does to a table this size after a while: statistics, and the
        // visibility map that lets counts read the index alone.
        sqlx::query("VACUUM ANALYZE").execute(&db.pool).await?;
    }
    Ok(())
}
