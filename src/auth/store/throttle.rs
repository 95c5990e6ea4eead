//! The login throttle: a theoretical-arrival-time counter per key.

use sqlx::AnyPool;

pub async fn throttle_tat(pool: &AnyPool, key: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("SELECT tat_ms FROM login_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(pool)
        .await
}

/// Reserves one attempt under `key` before it is verified: TAT = max(TAT, now) + interval, but
/// only while the new TAT stays within `limit_ms` of now. One conditional upsert, so N
/// concurrent attempts take N slots (or are refused) on both backends; returns whether this
/// attempt got one. A refused attempt changes nothing.
pub async fn throttle_reserve(
    pool: &AnyPool,
    key: &str,
    now_ms: i64,
    interval_ms: i64,
    limit_ms: i64,
) -> sqlx::Result<bool> {
    let reserved: Option<i64> = sqlx::query_scalar(
        "INSERT INTO login_throttle (key, tat_ms) VALUES ($1, $2 + $3) \
         ON CONFLICT (key) DO UPDATE SET tat_ms = \
         CASE WHEN login_throttle.tat_ms > $2 THEN login_throttle.tat_ms ELSE $2 END + $3 \
         WHERE CASE WHEN login_throttle.tat_ms > $2 THEN login_throttle.tat_ms ELSE $2 END + $3 \
         <= $2 + $4 \
         RETURNING tat_ms",
    )
    .bind(key)
    .bind(now_ms)
    .bind(interval_ms)
    .bind(limit_ms)
    .fetch_optional(pool)
    .await?;
    Ok(reserved.is_some())
}

/// Gives back one reserved attempt (the attempt succeeded, or another key refused it).
pub async fn throttle_refund(pool: &AnyPool, key: &str, interval_ms: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE login_throttle SET tat_ms = tat_ms - $1 WHERE key = $2")
        .bind(interval_ms)
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ())
}

pub async fn throttle_clear(pool: &AnyPool, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await
        .map(|_| ())
}
