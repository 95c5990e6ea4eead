//! `POST /api/v1/ops/metrics`: a node pushes its CPU, memory, disk and load with an API token
//! of scope PROVISIONING. The node is named by its id or host name and looked up in the
//! token's scope (nodes are the operator's: a customer's token finds none, 404). Anything out
//! of range is refused with the field, and nothing is stored.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::store;
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::security::model::Scope;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/ops/metrics", post(push))
}

/// Samples may be at most this far ahead of the panel's clock (clock skew).
pub const MAX_AHEAD_MS: i64 = 5 * 60 * 1000;
/// …and at most this old.
pub const MAX_AGE_MS: i64 = 24 * 3600 * 1000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsIn {
    /// The node's id or host name.
    node: String,
    cpu_percent: f64,
    memory_used_bytes: i64,
    memory_total_bytes: i64,
    disk_used_bytes: i64,
    disk_total_bytes: i64,
    load1: f64,
    /// When measured, Unix milliseconds; the panel's time when absent.
    #[serde(default)]
    at: Option<i64>,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_field(field)
}

/// Checks the sample: the stored figures, or the first field that is wrong.
pub fn check(m: &MetricsIn, now: i64) -> Result<store::Metrics, ApiError> {
    if !m.cpu_percent.is_finite() || !(0.0..=100.0).contains(&m.cpu_percent) {
        return Err(invalid(
            "cpu_percent",
            "cpu_percent must be a number from 0 to 100.",
        ));
    }
    for (field, v) in [
        ("memory_used_bytes", m.memory_used_bytes),
        ("memory_total_bytes", m.memory_total_bytes),
        ("disk_used_bytes", m.disk_used_bytes),
        ("disk_total_bytes", m.disk_total_bytes),
    ] {
        if v < 0 {
            return Err(invalid(field, format!("{field} cannot be negative.")));
        }
    }
    if m.memory_used_bytes > m.memory_total_bytes {
        return Err(invalid(
            "memory_used_bytes",
            "memory_used_bytes exceeds memory_total_bytes.",
        ));
    }
    if m.disk_used_bytes > m.disk_total_bytes {
        return Err(invalid(
            "disk_used_bytes",
            "disk_used_bytes exceeds disk_total_bytes.",
        ));
    }
    if !m.load1.is_finite() || m.load1 < 0.0 || m.load1 > 1_000_000.0 {
        return Err(invalid("load1", "load1 must be a number of at least 0."));
    }
    let at = m.at.unwrap_or(now);
    if at > now + MAX_AHEAD_MS {
        return Err(invalid(
            "at",
            "at lies in the future: check the node's clock.",
        ));
    }
    if at < now - MAX_AGE_MS {
        return Err(invalid("at", "at is more than a day old."));
    }
    Ok(store::Metrics {
        at: crate::db::Timestamp(at),
        cpu_pct_x100: (m.cpu_percent * 100.0).round() as i64,
        mem_used_bytes: m.memory_used_bytes,
        mem_total_bytes: m.memory_total_bytes,
        disk_used_bytes: m.disk_used_bytes,
        disk_total_bytes: m.disk_total_bytes,
        load1_x100: (m.load1 * 100.0).round() as i64,
    })
}

async fn push(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(body): ApiJson<MetricsIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    api.write(Scope::Provisioning)?;
    let now = state.clock.now();
    let metrics = check(&body, now.0)?;
    let Some(node) =
        super::service::push_metrics(&state.db, &api.actor, body.node.trim(), &metrics, now)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "api: metrics push");
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "The request could not be completed.",
                )
            })?
    else {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_node",
            "No node with this id or host name is registered.",
        )
        .with_field("node"));
    };
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"node": {"id": node.id, "hostname": node.hostname}, "at": metrics.at.0})),
    ))
}
