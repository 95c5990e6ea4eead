//! Drafts: create, add and remove lines, edit the notes (with `If-Match`), delete.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::types::{DraftBody, Invoice, LineBody, NotesBody, Quantity};
use super::{amount_text, answer, service};
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::billing::invoices::service::{LineInput, ProductLineInput};
use crate::security::model::Scope;
use crate::state::AppState;

/// Creates a draft for a customer tenant.
#[utoipa::path(post, path = "/api/v1/billing/invoices", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff BILLING+.",
    request_body = DraftBody,
    responses((status = 201, description = "The new draft", body = Invoice)))]
pub(super) async fn create(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(body): ApiJson<DraftBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let id = service::create_draft(&state.db, &api.actor, &body.tenant_id, &body.currency).await?;
    answer(&state, &api, &id, StatusCode::CREATED).await
}

/// Adds a line to a draft: a free line, or (with `product_id`) one priced from the catalog.
#[utoipa::path(post, path = "/api/v1/billing/invoices/{id}/lines", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff BILLING+; drafts only (409 otherwise).",
    params(("id" = String, Path, description = "The draft's id")),
    request_body = LineBody,
    responses((status = 201, description = "The draft with its new line(s)", body = Invoice)))]
pub(super) async fn add_line(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LineBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let quantity = Quantity::text(body.quantity.as_ref());
    if body.product_id.is_empty() {
        let inv = service::get(&state.db, &api.actor, &id).await?;
        let input = LineInput {
            kind: body.kind,
            description: body.description,
            quantity,
            unit_price: amount_text(&inv, body.unit_price)?,
        };
        service::add_line(&state.db, &api.actor, &id, &input).await?;
    } else {
        let input = ProductLineInput {
            product_id: body.product_id,
            period: body.period,
            quantity,
        };
        service::add_product_line(&state.db, &api.actor, &id, &input).await?;
    }
    answer(&state, &api, &id, StatusCode::CREATED).await
}

/// Removes a line from a draft.
#[utoipa::path(delete, path = "/api/v1/billing/invoices/{id}/lines/{line_id}", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff BILLING+; drafts only (409 otherwise).",
    params(("id" = String, Path, description = "The draft's id"),
        ("line_id" = String, Path, description = "The line's id")),
    responses((status = 200, description = "The draft without the line", body = Invoice)))]
pub(super) async fn delete_line(
    State(state): State<AppState>,
    api: ApiActor,
    Path((id, line_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    service::delete_line(&state.db, &api.actor, &id, &line_id).await?;
    answer(&state, &api, &id, StatusCode::OK).await
}

/// Edits a draft's notes. With `If-Match` (the `ETag` read), a draft changed meanwhile is
/// refused with 412.
#[utoipa::path(patch, path = "/api/v1/billing/invoices/{id}", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff BILLING+; drafts only (409 otherwise).",
    params(("id" = String, Path, description = "The draft's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read; 412 if the draft changed since")),
    request_body = NotesBody,
    responses((status = 200, description = "The draft as edited", body = Invoice),
        (status = 412, description = "The draft changed since the ETag was read", body = crate::api::error::ErrorBody)))]
pub(super) async fn update(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NotesBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{1}").to_string());
    if let Some(notes) = body.notes {
        service::set_notes_at(&state.db, &api.actor, &id, &notes, if_match.as_deref()).await?;
    }
    answer(&state, &api, &id, StatusCode::OK).await
}

/// Deletes a draft and its lines.
#[utoipa::path(delete, path = "/api/v1/billing/invoices/{id}", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff BILLING+; drafts only (409 otherwise).",
    params(("id" = String, Path, description = "The draft's id")),
    responses((status = 204, description = "The draft is gone")))]
pub(super) async fn delete_draft(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    service::delete_draft(&state.db, &api.actor, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
