//! SQL for the bill runs' record.

use sqlx::{AnyPool, FromRow};

use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct RunRow {
    pub id: String,
    pub started_by: String,
    pub as_of: Timestamp,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub issued: i64,
    pub already_billed: i64,
    pub periods_rolled: i64,
    pub ended: i64,
    pub expired: i64,
    pub dunning_steps: i64,
    pub failed: i64,
    pub failures: String,
}

const COLUMNS: &str = "id, started_by, as_of, started_at, finished_at, issued, already_billed, \
    periods_rolled, ended, expired, dunning_steps, failed, failures";

pub async fn insert(
    tx: &mut Tx,
    id: &str,
    started_by: &str,
    as_of: Timestamp,
    now: Timestamp,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO bill_runs (id, started_by, as_of, started_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(started_by)
        .bind(as_of.0)
        .bind(now.0)
        .execute(&mut **tx)
        .await
        .map(|_| ())
}

/// What the run did, written when it finishes.
pub struct Finished<'a> {
    pub issued: i64,
    pub already_billed: i64,
    pub periods_rolled: i64,
    pub ended: i64,
    pub expired: i64,
    pub dunning_steps: i64,
    pub failed: i64,
    pub failures: &'a str,
}

pub async fn finish(tx: &mut Tx, id: &str, f: &Finished<'_>, now: Timestamp) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE bill_runs SET finished_at = $1, issued = $2, already_billed = $3, \
         periods_rolled = $4, ended = $5, expired = $6, dunning_steps = $7, failed = $8, \
         failures = $9 WHERE id = $10",
    )
    .bind(now.0)
    .bind(f.issued)
    .bind(f.already_billed)
    .bind(f.periods_rolled)
    .bind(f.ended)
    .bind(f.expired)
    .bind(f.dunning_steps)
    .bind(f.failed)
    .bind(f.failures)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// Newest first, one page, with the total.
pub async fn list(pool: &AnyPool, limit: i64, offset: i64) -> sqlx::Result<(Vec<RunRow>, i64)> {
    let rows = sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bill_runs ORDER BY started_at DESC, id DESC LIMIT $1 OFFSET $2"
    ))
    .bind(limit)
    .bind(offset)
    .fetch_all(pool)
    .await?;
    let total = sqlx::query_scalar("SELECT COUNT(*) FROM bill_runs")
        .fetch_one(pool)
        .await?;
    Ok((rows, total))
}

pub async fn get(pool: &AnyPool, id: &str) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM bill_runs WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn latest(pool: &AnyPool) -> sqlx::Result<Option<RunRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM bill_runs ORDER BY started_at DESC, id DESC LIMIT 1"
    ))
    .fetch_optional(pool)
    .await
}
