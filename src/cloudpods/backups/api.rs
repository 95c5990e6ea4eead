//! `/api/v1/cloudpods/{id}/backups` and `…/backup-policy`: a pod's backup policy and runs for
//! API tokens, over the same service functions as the pod page. Reading needs READ; changing
//! the policy WRITE + PROVISIONING and the role the page asks (ADMIN+). The policy's version
//! is its `ETag`; a change with a stale `If-Match` is refused with 412.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::service::{self, PolicyInput};
use super::store::{PolicyRow, RunRow};
use crate::api::{ApiActor, ApiError, ApiJson, rfc3339};
use crate::security::model::Scope;
use crate::state::AppState;

/// Runs listed with the policy, newest first.
const RUNS: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cloudpods/{id}/backups", get(show))
        .route(
            "/api/v1/cloudpods/{id}/backup-policy",
            axum::routing::patch(update),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(show, update),
    components(schemas(PodBackups, BackupPolicy, BackupRun, BackupPolicyBody)),
    tags((name = "cloudpods", description = "Virtual servers and their lifecycle"))
)]
pub struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(Serialize, ToSchema)]
pub struct BackupPolicy {
    /// DAILY or WEEKLY.
    pub frequency: String,
    /// PodBackups kept; older ones are removed.
    pub retention: i64,
    /// RFC 3339, UTC: when the next backup is due.
    pub next_run_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct BackupRun {
    pub id: String,
    /// RUNNING, SUCCEEDED or FAILED.
    pub status: String,
    /// RFC 3339, UTC: the slot this run is for.
    pub slot: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub size_bytes: Option<i64>,
    /// Why it failed (empty otherwise).
    pub error: String,
    /// The backup was removed since (retention).
    pub removed: bool,
    pub job_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PodBackups {
    /// Absent for a pod that has none (a deleted pod).
    pub policy: Option<BackupPolicy>,
    /// The latest 50 runs, newest first.
    pub runs: Vec<BackupRun>,
    /// Why this panel's provisioner cannot back up, when it cannot.
    pub unsupported: Option<String>,
}

/// A policy change: the fields given change.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BackupPolicyBody {
    /// DAILY or WEEKLY.
    pub frequency: Option<String>,
    /// 1 to 100.
    pub retention: Option<i64>,
}

fn policy(p: &PolicyRow) -> BackupPolicy {
    BackupPolicy {
        frequency: p.frequency.as_str().to_string(),
        retention: p.retention,
        next_run_at: rfc3339(p.next_run_at),
        updated_at: rfc3339(p.updated_at),
    }
}

fn run(r: &RunRow) -> BackupRun {
    BackupRun {
        id: r.id.clone(),
        status: r.status.as_str().to_string(),
        slot: rfc3339(r.slot),
        started_at: rfc3339(r.started_at),
        finished_at: r.finished_at.map(rfc3339),
        size_bytes: r.size_bytes,
        error: r.error.clone(),
        removed: r.removed != 0,
        job_id: r.job_id.clone(),
    }
}

async fn answer(state: &AppState, api: &ApiActor, id: &str) -> Result<Response, ApiError> {
    let pod = crate::cloudpods::service::get(&state.db, &api.actor, id).await?;
    let (p, runs) = service::for_pod(&state.db, &api.actor, &pod, RUNS).await?;
    let etag = p.as_ref().map(service::policy_version);
    let body = PodBackups {
        policy: p.as_ref().map(policy),
        runs: runs.iter().map(run).collect(),
        unsupported: super::model::unsupported_for(
            &api.actor,
            state.provisioner.backup_unsupported(),
        ),
    };
    let mut res = Json(body).into_response();
    if let Some(tag) = etag.and_then(|t| HeaderValue::from_str(&t).ok()) {
        res.headers_mut().insert(header::ETAG, tag);
    }
    Ok(res)
}

/// A pod's backup policy (its version in `ETag`) and its latest runs.
#[utoipa::path(get, path = "/api/v1/cloudpods/{id}/backups", tag = "cloudpods",
    description = "Scope: READ.",
    params(("id" = String, Path, description = "The pod's id")),
    responses((status = 200, description = "The policy and runs", body = PodBackups,
        headers(("ETag" = String, description = "The policy's version, for If-Match")))))]
async fn show(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    api.read()?;
    answer(&state, &api, &id).await
}

/// Changes a pod's backup policy (ADMIN+); with `If-Match` (the `ETag` read), a policy
/// changed meanwhile is refused with 412.
#[utoipa::path(patch, path = "/api/v1/cloudpods/{id}/backup-policy", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING. ADMIN+.",
    params(("id" = String, Path, description = "The pod's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read; 412 if the policy changed since")),
    request_body = BackupPolicyBody,
    responses((status = 200, description = "The policy as changed, and the runs", body = PodBackups),
        (status = 412, description = "The policy changed since the ETag was read", body = crate::api::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BackupPolicyBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Provisioning)?;
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{1}").to_string());
    let pod = crate::cloudpods::service::get(&state.db, &api.actor, &id).await?;
    let (current, _) = service::for_pod(&state.db, &api.actor, &pod, 0).await?;
    let Some(current) = current else {
        return Err(crate::web::AppError::NotFound.into());
    };
    let input = PolicyInput {
        frequency: body
            .frequency
            .unwrap_or_else(|| current.frequency.as_str().to_string()),
        retention: body.retention.unwrap_or(current.retention).to_string(),
    };
    service::update_policy_at(
        &state.db,
        &api.actor,
        &id,
        &input,
        state.clock.now(),
        if_match.as_deref(),
    )
    .await?;
    answer(&state, &api, &id).await
}
