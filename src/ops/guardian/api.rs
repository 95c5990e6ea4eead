//! `POST /api/v1/guardian/findings` (token scope SECURITY): the security agent reports a
//! finding on a pod. The pod is looked up in the token's scope (another tenant's pod: 404);
//! the same pod and key again updates the finding (201 new, 200 seen again).

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::service::{self, Report};
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::security::model::Scope;
use crate::state::AppState;
use crate::web::AppError;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/guardian/findings", post(report))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindingIn {
    pod_id: String,
    key: String,
    severity: String,
    title: String,
    #[serde(default)]
    detail: String,
}

fn internal(e: AppError) -> ApiError {
    tracing::error!(error = %e, "api: guardian finding");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "The request could not be completed.",
    )
}

async fn report(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(body): ApiJson<FindingIn>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    api.write(Scope::Security)?;
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
        Json(json!({"id": id, "pod_id": pod.id, "key": r.key, "new": new})),
    ))
}
