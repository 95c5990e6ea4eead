//! Usage of a subscription's metered items: records posted (staff BILLING+; once per client
//! transaction id, a repeat answers the first record with 200) and read back with the open
//! period's sums.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::types::{UsageList, UsagePosted, metric, period_of, posted, usage_record};
use super::{Id, text};
use crate::api::{ApiActor, ApiError, ApiJson, ApiQuery, CursorQuery};
use crate::security::model::Scope;
use crate::state::AppState;
use crate::subscriptions::service::{self, UsageInput};

#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UsageBody {
    /// The metric a usage-priced item of the subscription counts (its unit, e.g. GB).
    pub metric: String,
    /// A whole number of units.
    #[schema(value_type = i64)]
    pub quantity: Value,
    /// RFC 3339: when the usage happened (in the current period); now when absent.
    pub timestamp: Option<String>,
    /// The client's own id of this record: a repeat records nothing twice.
    pub client_txn_id: String,
}

/// Records usage on a live subscription (staff BILLING+). 201 for a new record; 200 with
/// the first record for a repeat of its `client_txn_id`.
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/{id}/usage", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING. Staff BILLING+.",
    params(("id" = String, Path, description = "The subscription's id")),
    request_body = UsageBody,
    responses((status = 201, description = "The new record", body = UsagePosted),
        (status = 200, description = "The record its client_txn_id made before", body = UsagePosted)))]
pub async fn record(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(body): ApiJson<UsageBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let input = UsageInput {
        metric: body.metric,
        quantity: text(&body.quantity),
        timestamp: body.timestamp.unwrap_or_default(),
        client_txn_id: body.client_txn_id,
    };
    let r = service::record_usage(&state.db, &api.actor, &id, &input, state.clock.now()).await?;
    let status = if r.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(posted(&r))).into_response())
}

/// The open period's unbilled usage per metric, and the records, newest first.
#[utoipa::path(get, path = "/api/v1/billing/subscriptions/{id}/usage", tag = "subscriptions",
    description = "Scope: READ.",
    params(("id" = String, Path, description = "The subscription's id"), CursorQuery),
    responses((status = 200, description = "The usage summary and one page of records", body = UsageList)))]
pub async fn list(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiQuery(q): ApiQuery<CursorQuery>,
) -> Result<Json<UsageList>, ApiError> {
    api.read()?;
    let at = q.page()?;
    let s = service::get(&state.db, &api.actor, &id).await?;
    let metrics = service::current_usage(&state.db, &s).await?;
    let rows = service::records_page(&state.db, &s, at.after(), at.fetch()).await?;
    let page = at.finish(rows, |u| (u.at.0, u.id.as_str()));
    Ok(Json(UsageList {
        current_period: period_of(&s),
        metrics: metrics.iter().map(metric).collect(),
        items: page.items.iter().map(usage_record).collect(),
        next_cursor: page.next_cursor,
    }))
}
