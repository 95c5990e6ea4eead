//! Reading invoices: the list (the pages' filters, cursor paging), one invoice, its PDF.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::IntoParams;

use super::types::{self, Invoice, InvoiceList};
use super::{answer, service, service_reads};
use crate::api::{ApiActor, ApiError, ApiQuery, CursorQuery};
use crate::billing::invoices::model::InvoiceStatus;
use crate::billing::invoices::pages::OVERDUE;
use crate::billing::invoices::store::InvoiceFilter;
use crate::db::Timestamp;
use crate::state::AppState;

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    /// DRAFT (staff), ISSUED, PAID, VOID, or OVERDUE (issued, still due, due date passed).
    status: Option<String>,
    /// Only this tenant's invoices (staff; a customer sees only their own anyway).
    tenant_id: Option<String>,
    /// `YYYY-MM-DD`: issued on or after this day.
    from: Option<String>,
    /// `YYYY-MM-DD`: issued on or before this day.
    until: Option<String>,
    /// Invoices whose number starts with this (`INV-2026-`).
    number: Option<String>,
    /// How many invoices (1 to 100, 25 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

fn day(field: &str, raw: Option<&str>) -> Result<String, ApiError> {
    let v = raw.unwrap_or_default().trim();
    if !v.is_empty() && Timestamp::from_date(v).is_none() {
        return Err(ApiError::bad_parameter(
            field,
            "Use a date like 2026-11-21.",
        ));
    }
    Ok(v.to_string())
}

/// The invoices the token's user sees, newest first.
#[utoipa::path(get, path = "/api/v1/billing/invoices", tag = "invoices",
    description = "Scope: READ. Staff BILLING+ see every tenant's invoices; a customer's BILLING+ \
members their own tenant's, drafts excepted.",
    params(ListQuery),
    responses((status = 200, description = "One page of invoices", body = InvoiceList)))]
pub(super) async fn list(
    State(state): State<AppState>,
    api: ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<InvoiceList>, ApiError> {
    api.read()?;
    let at = CursorQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let raw_status = q.status.as_deref().unwrap_or_default().trim();
    let overdue = raw_status.eq_ignore_ascii_case(OVERDUE);
    let status = match raw_status {
        "" => "",
        _ if overdue => "",
        s => InvoiceStatus::parse(s)
            .map(|s| s.as_str())
            .ok_or_else(|| ApiError::bad_parameter("status", "No such invoice status."))?,
    };
    let from = day("from", q.from.as_deref())?;
    let until = day("until", q.until.as_deref())?;
    let today = time::OffsetDateTime::now_utc().date().to_string();
    let filter = InvoiceFilter {
        tenant_id: q.tenant_id.as_deref().unwrap_or_default().trim(),
        status,
        from: &from,
        until: &until,
        number: q.number.as_deref().unwrap_or_default(),
        overdue_on: if overdue { &today } else { "" },
        keyset: true,
        after: at.after(),
    };
    let req = crate::web::pagination::PageRequest {
        page: 1,
        size: at.fetch(),
    };
    let (rows, _) = service_reads::list(&state.db, &api.actor, &filter, req).await?;
    let page = at.finish(rows, |i| (i.created_at.0, i.id.as_str()));
    Ok(Json(InvoiceList {
        items: page
            .items
            .iter()
            .map(types::invoice)
            .collect::<Result<_, _>>()?,
        next_cursor: page.next_cursor,
    }))
}

/// One invoice with its lines, payments and credit notes (a draft with its totals as they
/// would be issued now); its version is in `ETag`.
#[utoipa::path(get, path = "/api/v1/billing/invoices/{id}", tag = "invoices",
    description = "Scope: READ. Staff BILLING+; a customer's BILLING+ members for their own \
tenant's issued invoices.",
    params(("id" = String, Path, description = "The invoice's id")),
    responses((status = 200, description = "The invoice", body = Invoice,
        headers(("ETag" = String, description = "The invoice's version, for If-Match")))))]
pub(super) async fn show(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    api.read()?;
    answer(&state, &api, &id, StatusCode::OK).await
}

/// The invoice as a PDF, as the pages download it.
#[utoipa::path(get, path = "/api/v1/billing/invoices/{id}/pdf", tag = "invoices",
    description = "Scope: READ. Whoever may read the invoice.",
    params(("id" = String, Path, description = "The invoice's id")),
    responses((status = 200, description = "The PDF", content_type = "application/pdf",
        body = Vec<u8>)))]
pub(super) async fn pdf(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    api.read()?;
    let inv = service::get(&state.db, &api.actor, &id).await?;
    let lines = service_reads::lines(&state.db, &inv).await?;
    let credits = service_reads::credit_notes(&state.db, &inv).await?;
    let bytes = crate::billing::invoices::pdf::render(&inv, &lines, &credits, &inv.status_text())?;
    let filename = format!(
        "{}.pdf",
        inv.number
            .clone()
            .unwrap_or_else(|| format!("draft-{}", inv.id))
    );
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{filename}\""),
            ),
        ],
        bytes,
    )
        .into_response())
}
