//! Plan changes of a CloudPod subscription: a preview (the proration the service computes),
//! the change itself (an upgrade's invoice, or a downgrade scheduled for the next period),
//! and withdrawing a scheduled downgrade. Who: whoever may order for the tenant.

use axum::Json;
use axum::extract::{Path, State};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;

use super::types::{Acted, PlanAnswer, plan_preview};
use super::{Id, detail};
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::db::Timestamp;
use crate::security::model::Scope;
use crate::state::AppState;
use crate::subscriptions::service::{self, PlanChangeInput};

#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlanBody {
    /// The new plan's product code (e.g. CLOUDPOD-BUSINESS).
    pub plan: String,
    /// true: only the preview, nothing changes.
    pub preview: bool,
    /// The `at` of a preview (RFC 3339): the change bills the amounts previewed then (within
    /// 15 minutes). Absent: priced now.
    pub at: Option<String>,
}

fn instant(raw: &str) -> Result<Timestamp, ApiError> {
    OffsetDateTime::parse(raw.trim(), &Rfc3339)
        .map(|d| Timestamp((d.unix_timestamp_nanos() / 1_000_000) as i64))
        .map_err(|_| ApiError::invalid("at", "Use the `at` of a preview (RFC 3339)."))
}

/// Previews or makes a plan change. An upgrade invoices the difference for the rest of the
/// period at once (the plan switches when it is paid, at once when nothing is due); a
/// downgrade takes effect at the next period.
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/plan", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING. Whoever may order for the tenant.",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = PlanBody,
    responses((status = 200, description = "The proration, and what the change did", body = PlanAnswer)))]
pub async fn change(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(body): ApiJson<PlanBody>,
) -> Result<Json<PlanAnswer>, ApiError> {
    api.write(Scope::Billing)?;
    let now = state.clock.now();
    let at = match body.at.as_deref().filter(|a| !a.trim().is_empty()) {
        Some(raw) if !body.preview => instant(raw)?,
        _ => now,
    };
    let mut input = PlanChangeInput {
        plan: body.plan.trim().to_string(),
        at: at.0.to_string(),
        reviewed: body.plan.trim().to_string(),
        confirm: String::new(),
    };
    let s = service::get(&state.db, &api.actor, &id).await?;
    // The review of the change at `at`: what the change itself bills.
    let quote = service::plan_quote(&state.db, &api.actor, &id, &input, at).await?;
    let preview = plan_preview(&quote, &s.currency);
    let message = if body.preview {
        None
    } else {
        input.confirm = "yes".into();
        Some(service::change_plan(&state.db, &api.actor, &id, &input, now).await?)
    };
    Ok(Json(PlanAnswer {
        preview,
        message,
        subscription: detail(&state, &api, &id).await?,
    }))
}

/// Withdraws a scheduled downgrade: the subscription keeps its plan.
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/plan/withdraw", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING. Whoever may order for the tenant.",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription, keeping its plan", body = Acted)))]
pub async fn withdraw(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<Acted>, ApiError> {
    api.write(Scope::Billing)?;
    let message = service::withdraw_downgrade(&state.db, &api.actor, &id).await?;
    Ok(Json(Acted {
        message: Some(message),
        subscription: detail(&state, &api, &id).await?,
    }))
}
