//! `POST /api/v1/guardian/findings` (token scope SECURITY): the security agent reports a
//! finding on a pod. The pod is looked up in the token's scope (another tenant's pod: 404);
//! the same pod and key again updates the finding (201 new, 200 seen again).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::service::{self, Report};
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::security::model::Scope;
use crate::state::AppState;
use crate::web::AppError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/guardian/findings", post(report))
}

#[derive(OpenApi)]
#[openapi(
    paths(report),
    components(schemas(FindingIn, FindingOut)),
    tags((name = "guardian", description = "Security findings on pods"))
)]
struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// A finding on a pod.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingIn {
    /// The pod (in the token's scope).
    pod_id: String,
    /// What was found, stable per pod: the same key again updates the finding.
    key: String,
    /// CRITICAL, HIGH, MEDIUM or LOW.
    severity: String,
    title: String,
    #[serde(default)]
    detail: String,
}

/// The finding as stored.
#[derive(Serialize, ToSchema)]
pub struct FindingOut {
    pub id: String,
    pub pod_id: String,
    pub key: String,
    /// A new finding (201), or one seen again (200).
    pub new: bool,
}

fn internal(e: AppError) -> ApiError {
    tracing::error!(error = %e, "api: guardian finding");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "The request could not be completed.",
    )
}

/// The security agent reports a finding on a pod (201 new, 200 seen again).
#[utoipa::path(post, path = "/api/v1/guardian/findings", tag = "guardian",
    description = "Scopes: WRITE + SECURITY. Another tenant's pod is 404.",
    request_body = FindingIn,
    responses((status = 201, description = "A new finding", body = FindingOut),
        (status = 200, description = "The finding seen again", body = FindingOut)))]
async fn report(
    State(state): State<AppState>,
    api: ApiActor,
    body: Result<ApiJson<FindingIn>, ApiError>,
) -> Result<(StatusCode, Json<FindingOut>), ApiError> {
    api.write(Scope::Security)?;
    let ApiJson(body) = body?;
    let r = Report {
        key: body.key.trim(),
        severity: &body.severity,
        title: &body.title,
        detail: &body.detail,
    };
    let severity = service::check(&r).map_err(|(field, message)| {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_field(field)
    })?;
    let pod = match crate::cloudpods::service::get(&state.db, &api.actor, body.pod_id.trim()).await
    {
        Ok(p) => p,
        Err(AppError::NotFound) => {
            return Err(
                ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such pod.")
                    .with_field("pod_id"),
            );
        }
        Err(e) => return Err(internal(e)),
    };
    let (id, new) = service::record(
        &state.db,
        &pod.id,
        &pod.tenant_id,
        &r,
        severity,
        state.clock.now(),
    )
    .await
    .map_err(internal)?;
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(FindingOut {
            id,
            pod_id: pod.id,
            key: r.key.to_string(),
            new,
        }),
    ))
}
