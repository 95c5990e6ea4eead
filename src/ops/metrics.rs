//! `/metrics` for Prometheus. On the main address only with the bearer token from
//! `MPANEL_METRICS_TOKEN` (no token configured: not served there at all); on the separate
//! `MPANEL_METRICS_BIND` address with the token when one is set. Job figures are read from the
//! database at scrape time, across every tenant (the token, not a person, is the authority).

use std::sync::atomic::AtomicU64;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use sha2::{Digest, Sha256};

use crate::db::{Db, TenantScope, Timestamp};
use crate::jobs;
use crate::state::AppState;

pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    kind: String,
    /// A job state, or `scheduled` for available jobs whose time has not come.
    state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeStatusLabels {
    node: String,
    node_type: String,
    /// UP, DOWN, DEGRADED (flapping), UNKNOWN or MAINTENANCE.
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct NodeLabels {
    node: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: String,
}

/// `/metrics` on the main address: the token is required; without one configured the
/// endpoint does not exist there.
pub async fn main_address(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.config.ops.metrics_token.as_deref() {
        None | Some("") => StatusCode::NOT_FOUND.into_response(),
        Some(token) if !bearer_matches(&headers, token) => unauthorized(),
        Some(_) => scrape(&state).await,
    }
}

/// `/metrics` on the separate metrics address: the token when one is configured.
pub async fn metrics_address(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match state.config.ops.metrics_token.as_deref() {
        Some(token) if !token.is_empty() && !bearer_matches(&headers, token) => unauthorized(),
        _ => scrape(&state).await,
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
        "a valid metrics token is required\n",
    )
        .into_response()
}

/// `Authorization: Bearer <token>`, compared as SHA-256 digests so the comparison's time
/// says nothing about how much of the token was right.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}

async fn scrape(state: &AppState) -> Response {
    let figures = match database_figures(&state.db, Timestamp::now()).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "metrics: could not read the job figures");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    match state.telemetry.encode(&figures) {
        Ok(text) => (
            [
                (header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE)),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            text,
        )
            .into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The figures read now: jobs by kind and state, and per kind the age of the oldest job
/// waiting for a worker.
async fn database_figures(db: &Db, now: Timestamp) -> sqlx::Result<Registry> {
    let all = TenantScope::All;
    let mut registry = Registry::with_prefix("mpanel");
    let jobs = Family::<JobLabels, Gauge>::default();
    for c in jobs::read::state_counts(&db.pool, &all, now, true).await? {
        let state = if c.is_scheduled() {
            "scheduled"
        } else {
            c.state.as_str()
        };
        jobs.get_or_create(&JobLabels {
            kind: c.kind,
            state: state.to_string(),
        })
        .inc_by(c.n);
    }
    registry.register(
        "jobs",
        "Jobs in the queue by kind and state (scheduled: available, its time not yet come)",
        jobs,
    );
    let oldest = Family::<KindLabels, Gauge<f64, AtomicU64>>::default();
    for (kind, due) in jobs::read::oldest_waiting(&db.pool, &all, now).await? {
        let age = (now.0 - due.0).max(0) as f64 / 1000.0;
        oldest.get_or_create(&KindLabels { kind }).set(age);
    }
    registry.register(
        "job_oldest_waiting_age_seconds",
        "How long the oldest job due but not yet taken by a worker has waited, by kind",
        oldest,
    );
    let status = Family::<NodeStatusLabels, Gauge>::default();
    let latency = Family::<NodeLabels, Gauge<f64, AtomicU64>>::default();
    for n in crate::ops::nodes::store::list(&db.pool, &all, now).await? {
        let v = crate::ops::nodes::service::NodeView::of(n, now);
        status
            .get_or_create(&NodeStatusLabels {
                node: v.row.hostname.clone(),
                node_type: v.row.node_type.as_str().to_string(),
                status: v.shown.as_str().to_string(),
            })
            .set(1);
        if let Some(ms) = v.row.last_latency_ms {
            latency
                .get_or_create(&NodeLabels {
                    node: v.row.hostname.clone(),
                })
                .set(ms as f64 / 1000.0);
        }
    }
    registry.register(
        "node_status",
        "Core nodes by their shown status (1 for the node's current status)",
        status,
    );
    registry.register(
        "node_probe_latency_seconds",
        "The latency of each core node's last probe",
        latency,
    );
    Ok(registry)
}
