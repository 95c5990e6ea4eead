//! What happens to an invoice after its draft: issue, payments, refunds, void, credit notes.
//! The API does not ask for confirmation: the request is the decision.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::types::{self, CreditNote, CreditNoteBody, Invoice, Payment, PaymentBody, RefundBody};
use super::{amount_text, answer, form_key, service, service_reads};
use crate::api::{ApiActor, ApiError, ApiJson};
use crate::billing::invoices::service::{CreditInput, PaymentInput, RefundInput};
use crate::billing::invoices::store::PaymentRow;
use crate::security::model::Scope;
use crate::state::AppState;

/// Issues a draft: its number, dates, frozen parties and tax; the invoice mail is sent.
#[utoipa::path(post, path = "/api/v1/billing/invoices/{id}/issue", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff BILLING+; drafts with at least one item.",
    params(("id" = String, Path, description = "The draft's id")),
    responses((status = 200, description = "The issued invoice", body = Invoice)))]
pub(super) async fn issue(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    service::issue(&state.db, &api.actor, &id).await?;
    answer(&state, &api, &id, StatusCode::OK).await
}

/// The row as the invoice shows it (with what is left of it to refund), answered 201.
async fn payment_answer(
    state: &AppState,
    api: &ApiActor,
    id: &str,
    row: &PaymentRow,
) -> Result<Response, ApiError> {
    let inv = service::get(&state.db, &api.actor, id).await?;
    let all = service_reads::payments(&state.db, &inv).await?;
    let body = types::payment(&inv, row, &all);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// Records a payment received (or, with status FAILED, a failed attempt). With an
/// `Idempotency-Key`, a repeat records nothing and answers the first payment.
#[utoipa::path(post, path = "/api/v1/billing/invoices/{id}/payments", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff BILLING+; issued invoices, at most what is due.",
    params(("id" = String, Path, description = "The invoice's id")),
    request_body = PaymentBody,
    responses((status = 201, description = "The payment", body = Payment)))]
pub(super) async fn pay(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PaymentBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let inv = service::get(&state.db, &api.actor, &id).await?;
    let input = PaymentInput {
        amount: amount_text(&inv, body.amount)?,
        method: body.method,
        reference: body.reference,
        paid_on: body.paid_on,
        status: body.status,
        idempotency_key: form_key(&api, &headers),
    };
    let row = service::record_payment(&state.db, &api.actor, &id, &input).await?;
    payment_answer(&state, &api, &id, &row).await
}

/// Refunds (part of) a payment. With an `Idempotency-Key`, a repeat refunds nothing more.
#[utoipa::path(post, path = "/api/v1/billing/invoices/{id}/refunds", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+; at most what is left of the payment.",
    params(("id" = String, Path, description = "The invoice's id")),
    request_body = RefundBody,
    responses((status = 201, description = "The refund", body = Payment)))]
pub(super) async fn refund(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<RefundBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let inv = service::get(&state.db, &api.actor, &id).await?;
    let input = RefundInput {
        payment_id: body.payment_id,
        amount: amount_text(&inv, body.amount)?,
        reference: body.reference,
        idempotency_key: form_key(&api, &headers),
    };
    let row = service::refund(&state.db, &api.actor, &id, &input).await?;
    payment_answer(&state, &api, &id, &row).await
}

/// Voids an issued invoice nothing was paid on; it keeps its number.
#[utoipa::path(post, path = "/api/v1/billing/invoices/{id}/void", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+; issued invoices with nothing paid.",
    params(("id" = String, Path, description = "The invoice's id")),
    responses((status = 200, description = "The void invoice", body = Invoice)))]
pub(super) async fn void(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    service::void(&state.db, &api.actor, &id, true).await?;
    answer(&state, &api, &id, StatusCode::OK).await
}

/// Issues a credit note: its own number, the amount off what is due.
#[utoipa::path(post, path = "/api/v1/billing/invoices/{id}/credit-notes", tag = "invoices",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+; issued invoices, at most what is due.",
    params(("id" = String, Path, description = "The invoice's id")),
    request_body = CreditNoteBody,
    responses((status = 201, description = "The credit note", body = CreditNote)))]
pub(super) async fn credit(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CreditNoteBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let inv = service::get(&state.db, &api.actor, &id).await?;
    let input = CreditInput {
        amount: amount_text(&inv, body.amount)?,
        reason: body.reason,
    };
    let number = service::credit(&state.db, &api.actor, &id, &input).await?;
    let credits = service_reads::credit_notes(&state.db, &inv).await?;
    let note = credits
        .iter()
        .find(|c| c.number == number)
        .ok_or_else(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(types::credit_note(&inv, note))).into_response())
}
