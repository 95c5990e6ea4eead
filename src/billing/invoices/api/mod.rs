//! `/api/v1/billing/invoices`: invoices for API tokens, over the same service functions as the
//! invoice pages. Reading needs READ (staff BILLING+ see every tenant's invoices, drafts
//! included; a customer's BILLING+ members see their own tenant's issued ones); every change
//! needs WRITE + BILLING, and the service checks the role as for the pages (staff BILLING+
//! draft, issue and record payments; staff ADMIN+ refund, void and credit).
//!
//! Amounts go in and out as integer minor units of the invoice's currency: the bodies'
//! amounts are turned into the form text the services parse (`money::input_amount`), so every
//! rule and field error is the pages' own. An invoice answer carries its version as `ETag`;
//! `PATCH` (a draft's notes) with a stale `If-Match` is 412.
//!
//! `reads` — list, one invoice, PDF; `drafts` — create, lines, notes, delete; `actions` —
//! issue, payments, refunds, void, credit notes; `types` — the JSON shapes.

mod actions;
mod drafts;
mod reads;
mod types;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use utoipa::OpenApi;

use super::service::{self, reads as service_reads};
use super::store::InvoiceRow;
use crate::api::{ApiActor, ApiError};
use crate::billing::money;
use crate::security::crypto::sha256_hex;
use crate::state::AppState;
use types::{
    CreditNote, CreditNoteBody, DraftBody, DraftPreview, Invoice, InvoiceList, InvoiceTenant, Line,
    LineBody, NotesBody, Party, Payment, PaymentBody, Quantity, RefundBody,
};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/billing/invoices",
            get(reads::list).post(drafts::create),
        )
        .route(
            "/api/v1/billing/invoices/{id}",
            get(reads::show)
                .patch(drafts::update)
                .delete(drafts::delete_draft),
        )
        .route("/api/v1/billing/invoices/{id}/pdf", get(reads::pdf))
        .route(
            "/api/v1/billing/invoices/{id}/lines",
            post(drafts::add_line),
        )
        .route(
            "/api/v1/billing/invoices/{id}/lines/{line_id}",
            delete(drafts::delete_line),
        )
        .route("/api/v1/billing/invoices/{id}/issue", post(actions::issue))
        .route("/api/v1/billing/invoices/{id}/payments", post(actions::pay))
        .route(
            "/api/v1/billing/invoices/{id}/refunds",
            post(actions::refund),
        )
        .route("/api/v1/billing/invoices/{id}/void", post(actions::void))
        .route(
            "/api/v1/billing/invoices/{id}/credit-notes",
            post(actions::credit),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(reads::list, reads::show, reads::pdf, drafts::create, drafts::update,
        drafts::delete_draft, drafts::add_line, drafts::delete_line, actions::issue,
        actions::pay, actions::refund, actions::void, actions::credit),
    components(schemas(Invoice, InvoiceList, InvoiceTenant, Party, Line, Payment, CreditNote,
        DraftPreview, DraftBody, LineBody, Quantity, NotesBody, PaymentBody, RefundBody,
        CreditNoteBody)),
    tags((name = "invoices", description = "Invoices: drafts, issuing, payments, refunds, \
voids, credit notes and PDFs"))
)]
pub struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// The invoice with its lines, payments and credit notes (and a draft's preview), its version
/// in `ETag`.
async fn answer(
    state: &AppState,
    api: &ApiActor,
    id: &str,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let inv = service::get(&state.db, &api.actor, id).await?;
    let body = detail(state, &inv).await?;
    let mut res = (status, Json(body)).into_response();
    if let Ok(v) = HeaderValue::from_str(&service::invoice_version(&inv)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

async fn detail(state: &AppState, inv: &InvoiceRow) -> Result<Invoice, ApiError> {
    let db = &state.db;
    let lines = service_reads::lines(db, inv).await?;
    let payments = service_reads::payments(db, inv).await?;
    let credits = service_reads::credit_notes(db, inv).await?;
    let preview = if inv.status == super::model::InvoiceStatus::Draft {
        let (totals, rule) = service::preview_totals(db, inv, &lines).await?;
        Some(types::preview(inv, totals, rule.as_ref()))
    } else {
        None
    };
    let mut out = types::invoice(inv)?;
    out.lines = Some(lines.iter().map(|l| types::line(inv, l)).collect());
    out.payments = Some(
        payments
            .iter()
            .map(|p| types::payment(inv, p, &payments))
            .collect(),
    );
    out.credit_notes = Some(credits.iter().map(|c| types::credit_note(inv, c)).collect());
    out.preview = preview;
    Ok(out)
}

/// Minor units of the invoice's currency as the text its forms take ("12.50"); `None` stays
/// empty, so the service names the missing field.
fn amount_text(inv: &InvoiceRow, minor: Option<i64>) -> Result<String, ApiError> {
    let cur = money::currency(&inv.currency).ok_or_else(ApiError::internal)?;
    Ok(minor
        .map(|m| money::input_amount(m, cur))
        .unwrap_or_default())
}

/// The key that makes a payment or refund happen once: derived from the request's
/// `Idempotency-Key` (with the token, as the middleware keys it), so that a repeat that
/// reaches the service (after a 5xx, or a key taken over) answers the first row again; a
/// fresh one when the request has none.
fn form_key(api: &ApiActor, headers: &HeaderMap) -> String {
    match headers
        .get(crate::api::idempotency::HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(key) => sha256_hex(&format!("api:{}:{}", api.token_id, key.trim())),
        None => crate::db::new_id(),
    }
}
