//! `POST /api/v1/ops/metrics`: a node pushes its CPU, memory, disk and load with an API token
//! of scope PROVISIONING. The node is named by its id or host name and looked up in the
//! token's scope (nodes are the operator's: a customer's token finds none, 404). Anything out
//! of range is refused with the field, and nothing is stored.

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::store;
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::security::model::Scope;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/ops/metrics", post(push))
}

#[derive(OpenApi)]
#[openapi(paths(push), components(schemas(MetricsIn, Accepted, NodeRef)))]
struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// Samples may be at most this far ahead of the panel's clock (clock skew).
pub const MAX_AHEAD_MS: i64 = 5 * 60 * 1000;
/// …and at most this old.
pub const MAX_AGE_MS: i64 = 24 * 3600 * 1000;

/// One sample of a node's figures.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsIn {
    /// The node's id or host name.
    node: String,
    /// 0 to 100.
    cpu_percent: f64,
    /// At most `memory_total_bytes`.
    memory_used_bytes: i64,
    memory_total_bytes: i64,
    /// At most `disk_total_bytes`.
    disk_used_bytes: i64,
    disk_total_bytes: i64,
    /// The one-minute load average, at least 0.
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

/// The node a sample was stored for.
#[derive(Serialize, ToSchema)]
pub struct NodeRef {
    pub id: String,
    pub hostname: String,
}

/// A stored sample.
#[derive(Serialize, ToSchema)]
pub struct Accepted {
    pub node: NodeRef,
    /// When measured, Unix milliseconds.
    pub at: i64,
}

/// A node pushes its CPU, memory, disk and load (the node looked up in the token's scope).
#[utoipa::path(post, path = "/api/v1/ops/metrics", tag = "ops",
    description = "Scopes: WRITE + PROVISIONING. Staff (nodes are the operator's).",
    request_body = MetricsIn,
    responses((status = 202, description = "The sample was stored", body = Accepted)))]
async fn push(
    State(state): State<AppState>,
    api: ApiActor,
    body: Result<ApiJson<MetricsIn>, ApiError>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    api.write(Scope::Provisioning)?;
    let ApiJson(body) = body?;
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
        Json(Accepted {
            node: NodeRef {
                id: node.id,
                hostname: node.hostname,
            },
            at: metrics.at.0,
        }),
    ))
}
