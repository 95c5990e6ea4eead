//! Actions on one invoice: lines, notes, delete, issue, pay, refund, void, credit, PDF.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::show::respond;
use crate::auth::model::Actor;
use crate::billing::invoices::service::reads;
use crate::billing::invoices::service::{
    self, CreditInput, LineInput, PaymentInput, ProductLineInput, RefundInput,
};
use crate::state::AppState;
use crate::web::actions::ActionRequest as Req;
use crate::web::{AppError, AppResult, flash};

pub async fn add_line(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<LineInput>,
) -> AppResult<Response> {
    let r = service::add_line(&req.state.db, &req.actor, &id, &form).await;
    respond(
        req,
        &id,
        r,
        |()| "Line added.".into(),
        |p, e| {
            p.line_form = form;
            p.line_errors = e;
        },
    )
    .await
}

pub async fn add_product_line(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<ProductLineInput>,
) -> AppResult<Response> {
    let r = service::add_product_line(&req.state.db, &req.actor, &id, &form).await;
    respond(
        req,
        &id,
        r,
        |()| "Product added.".into(),
        |p, e| {
            p.product_form = form;
            p.product_errors = e;
        },
    )
    .await
}

pub async fn delete_line(
    req: Req,
    Path((id, line_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let r = service::delete_line(&req.state.db, &req.actor, &id, &line_id).await;
    respond(req, &id, r, |()| "Line removed.".into(), |_, _| {}).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NotesForm {
    notes: String,
}

pub async fn set_notes(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<NotesForm>,
) -> AppResult<Response> {
    let r = service::set_notes(&req.state.db, &req.actor, &id, &form.notes).await;
    respond(req, &id, r, |()| "Notes saved.".into(), |_, _| {}).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    confirm: String,
}

pub async fn delete_draft(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    if form.confirm != "yes" {
        return Err(AppError::refused(
            "Tick the confirmation box to delete this draft.",
        ));
    }
    service::delete_draft(&state.db, &actor, &id).await?;
    Ok(flash::success(
        &state,
        "/billing/invoices",
        "Draft deleted.",
    ))
}

pub async fn issue(req: Req, Path(id): Path<String>) -> AppResult<Response> {
    let r = service::issue(&req.state.db, &req.actor, &id).await;
    respond(
        req,
        &id,
        r,
        |i| format!("Issued as {} for {}.", i.number, "the customer"),
        |_, _| {},
    )
    .await
}

pub async fn pay(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<PaymentInput>,
) -> AppResult<Response> {
    let r = service::record_payment(&req.state.db, &req.actor, &id, &form).await;
    respond(
        req,
        &id,
        r,
        |p| {
            format!(
                "{} payment recorded.",
                if p.succeeded() { "A" } else { "A failed" }
            )
        },
        |p, e| {
            p.pay_form = form;
            p.pay_errors = e;
        },
    )
    .await
}

pub async fn refund(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<RefundInput>,
) -> AppResult<Response> {
    let payment_id = form.payment_id.clone();
    let r = service::refund(&req.state.db, &req.actor, &id, &form).await;
    respond(
        req,
        &id,
        r,
        |_| "Refund recorded.".into(),
        |p, e| {
            p.refund_errors = e;
            p.refund_for = payment_id;
        },
    )
    .await
}

pub async fn void(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    let r = service::void(&req.state.db, &req.actor, &id, form.confirm == "yes").await;
    respond(
        req,
        &id,
        r,
        |()| "Invoice voided. It keeps its number.".into(),
        |_, _| {},
    )
    .await
}

pub async fn credit(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<CreditInput>,
) -> AppResult<Response> {
    let r = service::credit(&req.state.db, &req.actor, &id, &form).await;
    respond(
        req,
        &id,
        r,
        |n| format!("Credit note {n} issued."),
        |p, e| {
            p.credit_form = form;
            p.credit_errors = e;
        },
    )
    .await
}

pub async fn pdf(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let inv = service::get(&state.db, &actor, &id).await?;
    let lines = reads::lines(&state.db, &inv).await?;
    let credits = reads::credit_notes(&state.db, &inv).await?;
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
