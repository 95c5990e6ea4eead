//! `/api/v1/cloudpods`: the same actions as the pages, for API tokens. Reading needs the READ
//! scope, every change the PROVISIONING scope; the token's user must also be allowed the
//! action (the service functions check, as for the pages). Changes answer 202 with the job.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::model::Action;
use super::service::{self, CreateInput, DeleteInput, ResizeInput};
use super::store::{PodFilter, PodRow};
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::security::model::Scope;
use crate::state::AppState;
use crate::web::AppError;
use crate::web::pagination::{PageRequest, parse_page};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/cloudpods", get(list).post(create))
        .route("/api/v1/cloudpods/{id}", get(show))
        .route("/api/v1/cloudpods/{id}/{action}", post(act))
}

fn api_error(e: AppError) -> ApiError {
    let (status, code, message) = match e {
        AppError::NotFound => (
            StatusCode::NOT_FOUND,
            "not_found",
            "No such pod.".to_string(),
        ),
        AppError::Forbidden => (
            StatusCode::FORBIDDEN,
            "forbidden",
            "Your role does not allow this.".to_string(),
        ),
        AppError::Invalid(errors) => {
            let fields: Vec<String> = errors
                .iter()
                .map(|(field, message)| format!("{field}: {message}"))
                .collect();
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                fields.join(" "),
            )
        }
        AppError::Refused(m) => (StatusCode::CONFLICT, "refused", m),
        other => {
            tracing::error!(error = %other, "api: cloudpods");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The request could not be completed.".to_string(),
            )
        }
    };
    ApiError::new(status, code, message)
}

fn pod_json(p: &PodRow) -> Value {
    json!({
        "id": p.id,
        "tenant": {"id": p.tenant_id, "name": p.tenant_name},
        "name": p.name,
        "region": p.region,
        "plan": p.plan_code,
        "target_plan": p.target_plan_code,
        "subscription_id": p.subscription_id,
        "status": p.status.as_str(),
        "failure_reason": p.failure_reason,
        "operation": p.busy().map(|a| a.as_str()),
        "operation_job_id": p.busy().and(p.operation_job_id.as_deref()),
        "last_error": p.last_error,
        "power_state": p.power_state.as_str(),
        "pending_reboot": p.pending_reboot != 0,
        "specs": {"cpu_cores": p.cpu_cores, "ram_mb": p.ram_mb, "disk_gb": p.disk_gb},
        "quota": {"websites": p.max_websites, "email_accounts": p.max_email_accounts},
        "usage": {"ram_mb": p.mem_used_mb, "disk_gb": p.disk_used_gb, "measured_at": p.usage_at.map(|t| t.0)},
        "provisioner": p.provisioner,
        "vmid": p.vmid,
        "node": p.node,
        "ip_address": p.ip_address,
        "created_at": p.created_at.0,
        "updated_at": p.updated_at.0,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    status: String,
    page: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    api: ApiActor,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    api.require(Scope::Read)?;
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    let status = super::model::PodStatus::parse(&q.status)
        .map(|s| s.as_str())
        .unwrap_or_default();
    let filter = PodFilter {
        status,
        ..PodFilter::default()
    };
    let (pods, total) = super::reads::list_pods(&state.db, &api.actor, &filter, req)
        .await
        .map_err(api_error)?;
    Ok(Json(json!({
        "pods": pods.iter().map(pod_json).collect::<Vec<_>>(),
        "page": req.page,
        "total": total,
    })))
}

async fn show(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    api.require(Scope::Read)?;
    let pod = service::get(&state.db, &api.actor, &id)
        .await
        .map_err(api_error)?;
    Ok(Json(pod_json(&pod)))
}

async fn create(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(input): ApiJson<CreateInput>,
) -> Result<Response, ApiError> {
    api.require(Scope::Provisioning)?;
    let id = service::create(&state.db, &api.actor, state.provisioner.name(), &input)
        .await
        .map_err(api_error)?;
    let pod = service::get(&state.db, &api.actor, &id)
        .await
        .map_err(api_error)?;
    Ok((StatusCode::CREATED, Json(pod_json(&pod))).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ActionBody {
    plan_code: String,
    confirm_name: String,
    action: String,
}

async fn act(
    State(state): State<AppState>,
    api: ApiActor,
    Path((id, action)): Path<(String, String)>,
    body: Option<ApiJson<ActionBody>>,
) -> Result<Response, ApiError> {
    api.require(Scope::Provisioning)?;
    let body = body.map(|ApiJson(b)| b).unwrap_or_default();
    let (db, actor) = (&state.db, &api.actor);
    let job = match action.as_str() {
        "resize" => {
            service::resize(
                db,
                actor,
                &id,
                &ResizeInput {
                    plan_code: body.plan_code,
                },
            )
            .await
        }
        "delete" => {
            service::delete(
                db,
                actor,
                &id,
                &DeleteInput {
                    confirm_name: body.confirm_name,
                },
            )
            .await
        }
        "suspend" => service::act(db, actor, &id, Action::Suspend).await,
        "resume" => service::act(db, actor, &id, Action::Resume).await,
        "retry" => service::act(db, actor, &id, Action::Retry).await,
        "power" => match Action::power(&body.action) {
            Some(power) => service::act(db, actor, &id, power).await,
            None => Err(AppError::Invalid(crate::web::FieldErrors::one(
                "action",
                "Use start, stop or reboot.",
            ))),
        },
        _ => Err(AppError::NotFound),
    }
    .map_err(api_error)?;
    Ok((StatusCode::ACCEPTED, Json(json!({"job_id": job}))).into_response())
}
