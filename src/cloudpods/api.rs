//! `/api/v1/cloudpods`: the same actions as the pages, for API tokens. Reading needs the READ
//! scope, every change WRITE and PROVISIONING; the token's user must also be allowed the
//! action (the service functions check, as for the pages). Changes answer 202 with the job.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::model::{Action, PodStatus};
use super::service::{self, CreateInput, DeleteInput, ResizeInput};
use super::store::{PodFilter, PodRow};
use crate::api::{ApiActor, ApiError, ApiJson, ApiQuery, CursorQuery, rfc3339};
use crate::security::model::Scope;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cloudpods", get(list).post(create))
        .route("/api/v1/cloudpods/{id}", get(show))
        .route("/api/v1/cloudpods/{id}/resize", post(resize))
        .route("/api/v1/cloudpods/{id}/delete", post(delete))
        .route("/api/v1/cloudpods/{id}/suspend", post(suspend))
        .route("/api/v1/cloudpods/{id}/resume", post(resume))
        .route("/api/v1/cloudpods/{id}/retry", post(retry))
        .route("/api/v1/cloudpods/{id}/power", post(power))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, create, resize, delete, suspend, resume, retry, power),
    components(schemas(Pod, PodList, PodTenant, PodSpecs, PodQuota, PodUsage, JobAccepted,
        CreateInput, ResizeInput, DeleteInput, PowerInput)),
    tags((name = "cloudpods", description = "Virtual servers and their lifecycle"))
)]
pub struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(Serialize, ToSchema)]
pub struct Pod {
    pub id: String,
    pub tenant: PodTenant,
    pub name: String,
    pub region: String,
    /// The plan's product code.
    pub plan: String,
    /// The plan a resize in progress moves to.
    pub target_plan: Option<String>,
    pub subscription_id: Option<String>,
    /// PROVISIONING, ACTIVE, SUSPENDED, DELETED or FAILED.
    pub status: String,
    pub failure_reason: String,
    /// The operation running now (provision, resize, …), if any.
    pub operation: Option<String>,
    pub operation_job_id: Option<String>,
    pub last_error: String,
    /// RUNNING or STOPPED.
    pub power_state: String,
    /// CPU or memory changes wait for the next reboot.
    pub pending_reboot: bool,
    pub specs: PodSpecs,
    pub quota: PodQuota,
    pub usage: PodUsage,
    /// manual or proxmox.
    pub provisioner: String,
    pub vmid: Option<i64>,
    pub node: Option<String>,
    pub ip_address: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct PodTenant {
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct PodSpecs {
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PodQuota {
    pub websites: i64,
    pub email_accounts: i64,
}

#[derive(Serialize, ToSchema)]
pub struct PodUsage {
    pub ram_mb: Option<i64>,
    pub disk_gb: Option<i64>,
    /// RFC 3339, UTC; null until first measured.
    pub measured_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PodList {
    pub items: Vec<Pod>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// The job that carries out a change; follow the pod's `operation` for its progress.
#[derive(Serialize, ToSchema)]
pub struct JobAccepted {
    pub job_id: String,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(default)]
pub struct PowerInput {
    /// start, stop or reboot.
    pub action: String,
}

fn pod(p: &PodRow) -> Pod {
    Pod {
        id: p.id.clone(),
        tenant: PodTenant {
            id: p.tenant_id.clone(),
            name: p.tenant_name.clone(),
        },
        name: p.name.clone(),
        region: p.region.clone(),
        plan: p.plan_code.clone(),
        target_plan: p.target_plan_code.clone(),
        subscription_id: p.subscription_id.clone(),
        status: p.status.as_str().to_string(),
        failure_reason: p.failure_reason.clone(),
        operation: p.busy().map(|a| a.as_str().to_string()),
        operation_job_id: p.busy().and(p.operation_job_id.clone()),
        last_error: p.last_error.clone(),
        power_state: p.power_state.as_str().to_string(),
        pending_reboot: p.pending_reboot != 0,
        specs: PodSpecs {
            cpu_cores: p.cpu_cores,
            ram_mb: p.ram_mb,
            disk_gb: p.disk_gb,
        },
        quota: PodQuota {
            websites: p.max_websites,
            email_accounts: p.max_email_accounts,
        },
        usage: PodUsage {
            ram_mb: p.mem_used_mb,
            disk_gb: p.disk_used_gb,
            measured_at: p.usage_at.map(rfc3339),
        },
        provisioner: p.provisioner.clone(),
        vmid: p.vmid,
        node: p.node.clone(),
        ip_address: p.ip_address.clone(),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
    }
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    /// Only pods in this status (PROVISIONING, ACTIVE, SUSPENDED, DELETED, FAILED); deleted
    /// pods are listed only when asked for.
    status: Option<String>,
    /// Pods whose name contains this.
    q: Option<String>,
    /// How many pods (1 to 100, 25 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

type Id = Path<String>;

/// The pods the token's user sees, newest first.
#[utoipa::path(get, path = "/api/v1/cloudpods", tag = "cloudpods",
    description = "Scope: READ. Customers see their tenant's pods, staff every tenant's.",
    params(ListQuery),
    responses((status = 200, description = "One page of pods", body = PodList)))]
async fn list(
    State(state): State<AppState>,
    api: ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<PodList>, ApiError> {
    api.read()?;
    let at = CursorQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => "",
        Some(s) => PodStatus::parse(s)
            .map(|s| s.as_str())
            .ok_or_else(|| ApiError::bad_parameter("status", "No such pod status."))?,
    };
    let filter = PodFilter {
        status,
        q: q.q.as_deref().unwrap_or_default(),
        after: at.after(),
        ..PodFilter::default()
    };
    let req = crate::web::pagination::PageRequest {
        page: 1,
        size: at.fetch(),
    };
    let (rows, _) = super::reads::list_pods(&state.db, &api.actor, &filter, req).await?;
    let page = at.finish(rows, |p| (p.created_at.0, p.id.as_str()));
    Ok(Json(PodList {
        items: page.items.iter().map(pod).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One pod.
#[utoipa::path(get, path = "/api/v1/cloudpods/{id}", tag = "cloudpods",
    description = "Scope: READ.",
    params(("id" = String, Path, description = "The pod's id")),
    responses((status = 200, description = "The pod", body = Pod)))]
async fn show(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<Pod>, ApiError> {
    api.read()?;
    let p = service::get(&state.db, &api.actor, &id).await?;
    Ok(Json(pod(&p)))
}

/// Creates a pod for the operator's own tenant (staff ADMIN+); customers order pods through
/// subscriptions.
#[utoipa::path(post, path = "/api/v1/cloudpods", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING.",
    request_body = CreateInput,
    responses((status = 201, description = "The new pod, provisioning", body = Pod)))]
async fn create(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(input): ApiJson<CreateInput>,
) -> Result<Response, ApiError> {
    api.write(Scope::Provisioning)?;
    let id = service::create(&state.db, &api.actor, state.provisioner.name(), &input).await?;
    let p = service::get(&state.db, &api.actor, &id).await?;
    Ok((StatusCode::CREATED, Json(pod(&p))).into_response())
}

fn accepted(job: String) -> Response {
    (StatusCode::ACCEPTED, Json(JobAccepted { job_id: job })).into_response()
}

/// Moves a pod without a subscription to another plan (a subscription's pod changes plan on
/// the subscription).
#[utoipa::path(post, path = "/api/v1/cloudpods/{id}/resize", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING.",
    params(("id" = String, Path, description = "The pod's id")),
    request_body = ResizeInput,
    responses((status = 202, description = "The resize job", body = JobAccepted)))]
async fn resize(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(input): ApiJson<ResizeInput>,
) -> Result<Response, ApiError> {
    api.write(Scope::Provisioning)?;
    Ok(accepted(
        service::resize(&state.db, &api.actor, &id, &input).await?,
    ))
}

/// Deletes a pod (its name typed again in `confirm_name`).
#[utoipa::path(post, path = "/api/v1/cloudpods/{id}/delete", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING.",
    params(("id" = String, Path, description = "The pod's id")),
    request_body = DeleteInput,
    responses((status = 202, description = "The delete job", body = JobAccepted)))]
async fn delete(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(input): ApiJson<DeleteInput>,
) -> Result<Response, ApiError> {
    api.write(Scope::Provisioning)?;
    Ok(accepted(
        service::delete(&state.db, &api.actor, &id, &input).await?,
    ))
}

async fn act(
    state: &AppState,
    api: &ApiActor,
    id: &str,
    action: Action,
) -> Result<Response, ApiError> {
    api.write(Scope::Provisioning)?;
    Ok(accepted(
        service::act(&state.db, &api.actor, id, action).await?,
    ))
}

/// Suspends a pod (staff).
#[utoipa::path(post, path = "/api/v1/cloudpods/{id}/suspend", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING.",
    params(("id" = String, Path, description = "The pod's id")),
    responses((status = 202, description = "The suspend job", body = JobAccepted)))]
async fn suspend(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Response, ApiError> {
    act(&state, &api, &id, Action::Suspend).await
}

/// Resumes a suspended pod (staff).
#[utoipa::path(post, path = "/api/v1/cloudpods/{id}/resume", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING.",
    params(("id" = String, Path, description = "The pod's id")),
    responses((status = 202, description = "The resume job", body = JobAccepted)))]
async fn resume(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Response, ApiError> {
    act(&state, &api, &id, Action::Resume).await
}

/// Provisions a failed pod again.
#[utoipa::path(post, path = "/api/v1/cloudpods/{id}/retry", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING.",
    params(("id" = String, Path, description = "The pod's id")),
    responses((status = 202, description = "The provisioning job", body = JobAccepted)))]
async fn retry(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Response, ApiError> {
    act(&state, &api, &id, Action::Retry).await
}

/// Starts, stops or reboots a pod.
#[utoipa::path(post, path = "/api/v1/cloudpods/{id}/power", tag = "cloudpods",
    description = "Scopes: WRITE + PROVISIONING.",
    params(("id" = String, Path, description = "The pod's id")),
    request_body = PowerInput,
    responses((status = 202, description = "The power job", body = JobAccepted)))]
async fn power(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(input): ApiJson<PowerInput>,
) -> Result<Response, ApiError> {
    api.write(Scope::Provisioning)?;
    let action = Action::power(&input.action)
        .ok_or_else(|| ApiError::invalid("action", "Use start, stop or reboot."))?;
    act(&state, &api, &id, action).await
}
