//! `Idempotency-Key` on every POST of `/api/v1`.
//!
//! The first request with a key (per token) inserts an in-progress row under the table's
//! primary key, runs, and stores its answer (status, content type, body) on the row; for 24
//! hours a repeat gets that answer again (with `Idempotent-Replayed: true`) and does nothing.
//! A repeat while the first still runs waits for it (polling the row). The same key with a
//! different request (method, path or body) is 422. A 5xx answer is not kept, so the client
//! may try again with the same key; nor is a row whose request died without answering (it is
//! taken over once older than [`STALE_AFTER_MS`]). The key is optional: without it a POST
//! runs as it comes.

use std::time::Duration;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use super::{ApiActor, ApiError};
use crate::db::Timestamp;
use crate::state::AppState;

pub const HEADER: &str = "idempotency-key";
/// How long an answer is kept for a repeat.
pub const KEEP_MS: i64 = 24 * 3600 * 1000;
/// A row still in progress after this long belongs to a request that died.
pub const STALE_AFTER_MS: i64 = 120_000;
/// How long a repeat waits for the first request before giving up with 409.
const WAIT_MS: u64 = 60_000;
const POLL_MS: u64 = 50;
const MAX_BODY: usize = 1024 * 1024;

/// A response extension for an answer that holds a secret shown once (a new API token): its
/// body is never stored; a repeat with the same key gets 409 `secret_shown_once` instead.
#[derive(Clone, Copy, Debug)]
pub struct ShownOnce;

/// (request_hash, created_at, status, content_type, body) of a stored key.
type StoredRow = (String, i64, Option<i64>, String, Option<Vec<u8>>);

enum Seen {
    /// This request inserted the row: it runs.
    Mine,
    Running {
        hash: String,
        created_at: i64,
    },
    Done {
        hash: String,
        status: i64,
        content_type: String,
        body: Vec<u8>,
    },
}

pub async fn idempotency(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if req.method() != Method::POST || !req.headers().contains_key(HEADER) {
        return next.run(req).await;
    }
    match run(&state.db.pool, req, next).await {
        Ok(res) | Err(res) => res,
    }
}

async fn run(pool: &AnyPool, req: Request, next: Next) -> Result<Response, Response> {
    let key = req
        .headers()
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .ok_or_else(|| {
            ApiError::bad_parameter(
                "Idempotency-Key",
                "An Idempotency-Key is 1 to 255 visible ASCII characters.",
            )
            .into_response()
        })?;
    let Some(token) = req
        .extensions()
        .get::<ApiActor>()
        .map(|a| a.token_id.clone())
    else {
        return Ok(next.run(req).await);
    };
    let (parts, body) = req.into_parts();
    let bytes = to_bytes(body, MAX_BODY).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            "The request body is too large.",
        )
        .into_response()
    })?;
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let mut hasher = Sha256::new();
    hasher.update(format!("{}\n{target}\n", parts.method).as_bytes());
    hasher.update(&bytes);
    let hash: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let internal = |e: sqlx::Error| ApiError::from(e).into_response();
    let conflict = || {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request.",
        )
        .with_field("Idempotency-Key")
        .into_response()
    };

    let mut waited = 0;
    loop {
        let now = Timestamp::now().0;
        match claim(pool, &token, &key, &hash, now)
            .await
            .map_err(internal)?
        {
            Seen::Mine => break,
            Seen::Done {
                hash: h,
                status,
                content_type,
                body,
            } => {
                if h != hash {
                    return Err(conflict());
                }
                return Ok(replay(status, &content_type, body));
            }
            Seen::Running {
                hash: h,
                created_at,
            } => {
                if h != hash {
                    return Err(conflict());
                }
                if now - created_at > STALE_AFTER_MS {
                    forget_running(pool, &token, &key, created_at)
                        .await
                        .map_err(internal)?;
                    continue;
                }
                if waited >= WAIT_MS {
                    return Err(ApiError::new(
                        StatusCode::CONFLICT,
                        "idempotency_in_progress",
                        "A request with this Idempotency-Key is still running: try again later.",
                    )
                    .into_response());
                }
                tokio::time::sleep(Duration::from_millis(POLL_MS)).await;
                waited += POLL_MS;
            }
        }
    }

    let req = Request::from_parts(parts, Body::from(bytes));
    let res = next.run(req).await;
    let (parts, body) = res.into_parts();
    let Ok(body) = to_bytes(body, usize::MAX).await else {
        let _ = forget(pool, &token, &key).await;
        return Err(ApiError::internal().into_response());
    };
    if parts.status.is_server_error() {
        forget(pool, &token, &key).await.map_err(internal)?;
    } else if parts.extensions.get::<ShownOnce>().is_some() {
        // A secret is never stored: a repeat learns the action was done, not the secret.
        let kept = ApiError::new(
            StatusCode::CONFLICT,
            "secret_shown_once",
            "This request was done already; its answer held a secret that is shown only once.",
        )
        .with_field("Idempotency-Key")
        .into_response();
        let (kept_parts, kept_body) = kept.into_parts();
        let kept_body = to_bytes(kept_body, MAX_BODY).await.unwrap_or_default();
        complete(
            pool,
            &token,
            &key,
            i64::from(kept_parts.status.as_u16()),
            "application/json",
            &kept_body,
        )
        .await
        .map_err(internal)?;
    } else {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        complete(
            pool,
            &token,
            &key,
            i64::from(parts.status.as_u16()),
            content_type,
            &body,
        )
        .await
        .map_err(internal)?;
    }
    Ok(Response::from_parts(parts, Body::from(body)))
}

fn replay(status: i64, content_type: &str, body: Vec<u8>) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, Bytes::from(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    res.headers_mut()
        .insert("idempotent-replayed", HeaderValue::from_static("true"));
    res
}

/// Inserts the in-progress row, or reads the one already there. An expired row (older than
/// 24 h) of this token is deleted first, so its key may be used again.
async fn claim(pool: &AnyPool, token: &str, key: &str, hash: &str, now: i64) -> sqlx::Result<Seen> {
    sqlx::query("DELETE FROM api_idempotency WHERE token_id = $1 AND created_at < $2")
        .bind(token)
        .bind(now - KEEP_MS)
        .execute(pool)
        .await?;
    let inserted = sqlx::query(
        "INSERT INTO api_idempotency (token_id, idem_key, request_hash, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (token_id, idem_key) DO NOTHING",
    )
    .bind(token)
    .bind(key)
    .bind(hash)
    .bind(now)
    .execute(pool)
    .await?
    .rows_affected();
    if inserted == 1 {
        return Ok(Seen::Mine);
    }
    let row: Option<StoredRow> = sqlx::query_as(
        "SELECT request_hash, created_at, status, content_type, body FROM api_idempotency \
         WHERE token_id = $1 AND idem_key = $2",
    )
    .bind(token)
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        // Deleted between the insert and the read (its first request failed): try again.
        None => Seen::Running {
            hash: hash.to_string(),
            created_at: now,
        },
        Some((h, created_at, None, _, _)) => Seen::Running {
            hash: h,
            created_at,
        },
        Some((h, _, Some(status), content_type, body)) => Seen::Done {
            hash: h,
            status,
            content_type,
            body: body.unwrap_or_default(),
        },
    })
}

async fn complete(
    pool: &AnyPool,
    token: &str,
    key: &str,
    status: i64,
    content_type: &str,
    body: &[u8],
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE api_idempotency SET status = $1, content_type = $2, body = $3, completed_at = $4 \
         WHERE token_id = $5 AND idem_key = $6",
    )
    .bind(status)
    .bind(content_type)
    .bind(body.to_vec())
    .bind(Timestamp::now().0)
    .bind(token)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

async fn forget(pool: &AnyPool, token: &str, key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM api_idempotency WHERE token_id = $1 AND idem_key = $2 AND status IS NULL",
    )
    .bind(token)
    .bind(key)
    .execute(pool)
    .await?;
    Ok(())
}

async fn forget_running(
    pool: &AnyPool,
    token: &str,
    key: &str,
    created_at: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM api_idempotency WHERE token_id = $1 AND idem_key = $2 \
         AND status IS NULL AND created_at = $3",
    )
    .bind(token)
    .bind(key)
    .bind(created_at)
    .execute(pool)
    .await?;
    Ok(())
}
