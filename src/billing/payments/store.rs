//! SQL for the webhook inbox (`webhook_events`). Events belong to the operator, not to a
//! tenant: only staff ADMIN+ read them (the service checks), so there is no tenant scope.

use sqlx::FromRow;

use super::model::{InboxStatus, Provider};
use crate::db::filter::Where;
use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct EventRow {
    pub id: String,
    pub provider: Provider,
    pub event_id: String,
    pub event_type: String,
    pub verified: i64,
    pub verification: String,
    pub status: InboxStatus,
    pub attempts: i64,
    pub last_error: String,
    pub waits_for: String,
    pub outcome: String,
    pub invoice_id: String,
    pub payload: String,
    pub received_at: Timestamp,
    pub processed_at: Option<Timestamp>,
}

const COLUMNS: &str = "id, provider, event_id, event_type, verified, verification, status, attempts, last_error, waits_for, outcome, invoice_id, payload, received_at, processed_at";

pub struct NewEvent<'a> {
    pub id: &'a str,
    pub provider: Provider,
    pub event_id: &'a str,
    pub event_type: &'a str,
    pub verified: bool,
    pub verification: &'a str,
    pub status: InboxStatus,
    pub payload: &'a str,
    pub received_at: Timestamp,
}

/// Stores a delivery. A verified event whose (provider, id) is stored already is not stored
/// again: returns false (a repeated delivery).
pub async fn insert_event(tx: &mut Tx, e: &NewEvent<'_>) -> sqlx::Result<bool> {
    let conflict = if e.verified {
        " ON CONFLICT (provider, event_id) WHERE verified = 1 DO NOTHING"
    } else {
        ""
    };
    let done = sqlx::query(&format!(
        "INSERT INTO webhook_events (id, provider, event_id, event_type, verified, verification, status, payload, received_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9){conflict}"
    ))
    .bind(e.id)
    .bind(e.provider.as_str())
    .bind(e.event_id)
    .bind(e.event_type)
    .bind(i64::from(e.verified))
    .bind(e.verification)
    .bind(e.status.as_str())
    .bind(e.payload)
    .bind(e.received_at.0)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One event; locked for the rest of the transaction on PostgreSQL.
pub async fn lock_event(tx: &mut Tx, id: &str, lock: &str) -> sqlx::Result<Option<EventRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_events WHERE id = $1{lock}"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn get_event<'e, E>(ex: E, id: &str) -> sqlx::Result<Option<EventRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM webhook_events WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(ex)
    .await
}

/// After an attempt: the status, what it did or why it waits or failed.
pub struct Settled<'a> {
    pub status: InboxStatus,
    pub outcome: &'a str,
    pub error: &'a str,
    pub waits_for: &'a str,
    pub invoice_id: &'a str,
}

pub async fn settle(tx: &mut Tx, id: &str, s: &Settled<'_>) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE webhook_events SET status = $1, outcome = $2, last_error = $3, waits_for = $4, \
         invoice_id = CASE WHEN $5 = '' THEN invoice_id ELSE $5 END, attempts = attempts + 1, processed_at = $6 WHERE id = $7",
    )
    .bind(s.status.as_str())
    .bind(s.outcome)
    .bind(s.error)
    .bind(s.waits_for)
    .bind(s.invoice_id)
    .bind(Timestamp::now().0)
    .bind(id)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// A failed attempt outside the processing transaction (which rolled back).
pub async fn record_failure<'e, E>(ex: E, id: &str, error: &str) -> sqlx::Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "UPDATE webhook_events SET status = 'FAILED', last_error = $1, attempts = attempts + 1, processed_at = $2 WHERE id = $3",
    )
    .bind(error)
    .bind(Timestamp::now().0)
    .bind(id)
    .execute(ex)
    .await
    .map(|_| ())
}

/// Back to PENDING (a replay).
pub async fn reopen(tx: &mut Tx, id: &str) -> sqlx::Result<u64> {
    Ok(sqlx::query(
        "UPDATE webhook_events SET status = 'PENDING', last_error = '' WHERE id = $1 AND verified = 1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?
    .rows_affected())
}

/// The events waiting for a payment with this reference: their turn has come.
pub async fn take_waiting(tx: &mut Tx, reference: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "UPDATE webhook_events SET status = 'PENDING', waits_for = '' \
         WHERE status = 'WAITING' AND waits_for = $1 RETURNING id",
    )
    .bind(reference)
    .fetch_all(&mut **tx)
    .await
}

pub struct EventFilter<'a> {
    pub status: &'a str,
    pub provider: &'a str,
}

pub async fn list_events<'e, E>(
    ex: E,
    f: &EventFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<EventRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut w = Where::new();
    w.eq("status", f.status).eq("provider", f.provider);
    let sql = format!(
        "SELECT {COLUMNS} FROM webhook_events {} ORDER BY received_at DESC, id DESC LIMIT {limit} OFFSET {offset}",
        w.sql()
    );
    let mut q = sqlx::query_as(&sql);
    for p in w.params() {
        q = q.bind(p.clone());
    }
    q.fetch_all(ex).await
}

pub async fn count_events<'e, E>(ex: E, f: &EventFilter<'_>) -> sqlx::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let mut w = Where::new();
    w.eq("status", f.status).eq("provider", f.provider);
    let sql = format!(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events {}",
        w.sql()
    );
    let mut q = sqlx::query_scalar(&sql);
    for p in w.params() {
        q = q.bind(p.clone());
    }
    q.fetch_one(ex).await
}

/// Events that need a look: failed, or pending since before `stuck_before`.
pub async fn count_troubled<'e, E>(ex: E, stuck_before: Timestamp) -> sqlx::Result<i64>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_events \
         WHERE status = 'FAILED' OR (status = 'PENDING' AND received_at < $1)",
    )
    .bind(stuck_before.0)
    .fetch_one(ex)
    .await
}
