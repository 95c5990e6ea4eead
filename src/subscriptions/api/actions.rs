//! The lifecycle actions: cancel (now, or at the period's end) and its undo, suspend and
//! resume (staff ADMIN+), and retrying a failed activation (staff ADMIN+). Each answers the
//! subscription as it is afterwards.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use utoipa::ToSchema;

use super::types::Acted;
use super::{Id, detail};
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::security::model::Scope;
use crate::state::AppState;
use crate::subscriptions::service::{self, ReasonInput};

#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CancelBody {
    /// `now`: cancelled at once, the unused paid part credited, the pod deleted;
    /// `period_end`: it runs until the period ends (undoable until then).
    pub when: String,
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReasonBody {
    /// Why (required to suspend, at most 500 characters; optional to resume).
    pub reason: String,
}

async fn acted(
    state: &AppState,
    api: &ApiActor,
    id: &str,
    message: Option<String>,
) -> Result<Json<Acted>, ApiError> {
    Ok(Json(Acted {
        message,
        subscription: detail(state, api, id).await?,
    }))
}

/// Cancels now or at the period's end. Customers' OWNER/ADMIN/BILLING on their own; staff
/// ADMIN+.
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/cancel", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING.",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = CancelBody,
    responses((status = 200, description = "The subscription, cancelled or cancelling", body = Acted)))]
pub async fn cancel(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(body): ApiJson<CancelBody>,
) -> Result<Json<Acted>, ApiError> {
    api.write(Scope::Billing)?;
    let message = match body.when.trim() {
        "now" => Some(service::cancel_now(&state.db, &api.actor, &id, state.clock.now()).await?),
        "period_end" => {
            service::cancel_at_period_end(&state.db, &api.actor, &id).await?;
            None
        }
        _ => return Err(ApiError::invalid("when", "Use now or period_end.")),
    };
    acted(&state, &api, &id, message).await
}

/// Undoes a cancel at the period's end before the period ends: it renews again.
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/cancel/undo", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING.",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription, renewing again", body = Acted)))]
pub async fn undo_cancel(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<Acted>, ApiError> {
    api.write(Scope::Billing)?;
    service::undo_cancel(&state.db, &api.actor, &id).await?;
    acted(&state, &api, &id, None).await
}

fn reason(body: Option<ApiJson<ReasonBody>>) -> ReasonInput {
    ReasonInput {
        reason: body.map(|ApiJson(b)| b.reason).unwrap_or_default(),
        confirm: "yes".into(),
    }
}

/// Suspends an active subscription and its pod, with a reason (staff ADMIN+).
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/suspend", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+.",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = ReasonBody,
    responses((status = 200, description = "The subscription, suspended", body = Acted)))]
pub async fn suspend(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    body: Option<ApiJson<ReasonBody>>,
) -> Result<Json<Acted>, ApiError> {
    api.write(Scope::Billing)?;
    service::suspend(&state.db, &api.actor, &id, &reason(body)).await?;
    acted(&state, &api, &id, None).await
}

/// Resumes a suspended subscription and its pod (staff ADMIN+).
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/resume", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+.",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = ReasonBody,
    responses((status = 200, description = "The subscription, active again", body = Acted)))]
pub async fn resume(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    body: Option<ApiJson<ReasonBody>>,
) -> Result<Json<Acted>, ApiError> {
    api.write(Scope::Billing)?;
    service::resume(&state.db, &api.actor, &id, &reason(body)).await?;
    acted(&state, &api, &id, None).await
}

/// Retries a failed activation (staff ADMIN+).
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/retry", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+.",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription, activating again", body = Acted)))]
pub async fn retry(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<Acted>, ApiError> {
    api.write(Scope::Billing)?;
    service::retry(&state.db, &api.actor, &id).await?;
    acted(&state, &api, &id, None).await
}
