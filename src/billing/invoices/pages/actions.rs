//! Actions on one invoice: lines, notes, delete, issue, pay, refund, void, credit, PDF.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::show::respond;
use crate::auth::model::Actor;
use crate::billing::invoices::model;
use crate::billing::invoices::service::reads;
use crate::billing::invoices::service::{
    self, CreditInput, LineInput, PaymentInput, ProductLineInput, RefundInput,
};
use crate::billing::invoices::store::InvoiceRow;
use crate::state::AppState;
use crate::web::actions::ActionRequest as Req;
use crate::web::confirm::{self, Confirm};
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
    Form(Confirmed(yes, form)): Form<Confirmed<RefundInput>>,
) -> AppResult<Response> {
    if !yes {
        let inv = corrections_gate(&req, &id).await?;
        let ask = Confirm::new(
            format!("Refund a payment of {}?", inv.label()),
            format!("/billing/invoices/{id}/refund"),
        )
        .consequence(format!(
            "{} goes back to the customer. A refund cannot be undone.",
            amount_text(&inv, &form.amount)
        ))
        .button("Refund")
        .back(format!("/billing/invoices/{id}"))
        .field("payment_id", form.payment_id.clone())
        .field("amount", form.amount.clone())
        .field("reference", form.reference.clone())
        .field("idempotency_key", form.idempotency_key.clone());
        return confirm::ask(req.hx, req.layout, ask);
    }
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
    if !confirm::confirmed(&form.confirm) {
        let inv = corrections_gate(&req, &id).await?;
        // not offered when it would be refused: say why instead of asking
        model::check_void(inv.status, inv.paid_minor, inv.refunded_minor)
            .map_err(AppError::Refused)?;
        let ask = Confirm::new(
            format!("Void invoice {}?", inv.label()),
            format!("/billing/invoices/{id}/void"),
        )
        .consequence("It keeps its number and stays on record as void. This cannot be undone.")
        .button("Void invoice")
        .back(format!("/billing/invoices/{id}"));
        return confirm::ask(req.hx, req.layout, ask);
    }
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
    Form(Confirmed(yes, form)): Form<Confirmed<CreditInput>>,
) -> AppResult<Response> {
    if !yes {
        let inv = corrections_gate(&req, &id).await?;
        let ask = Confirm::new(format!("Issue a credit note on {}?", inv.label()), format!("/billing/invoices/{id}/credit"))
            .consequence(format!("{} is credited, with the reason “{}”. A credit note gets its own number and cannot be withdrawn.", amount_text(&inv, &form.amount), form.reason))
            .button("Issue credit note")
            .back(format!("/billing/invoices/{id}"))
            .field("amount", form.amount.clone())
            .field("reason", form.reason.clone());
        return confirm::ask(req.hx, req.layout, ask);
    }
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

/// A form's fields and its `confirm` box: `Confirmed(true, …)` once the person said yes.
pub struct Confirmed<T>(bool, T);

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Confirmed<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut map: std::collections::BTreeMap<String, String> = Deserialize::deserialize(d)?;
        let yes = map
            .remove("confirm")
            .is_some_and(|v| confirm::confirmed(&v));
        let value = serde_json::to_value(map).map_err(serde::de::Error::custom)?;
        let form = T::deserialize(value).map_err(serde::de::Error::custom)?;
        Ok(Confirmed(yes, form))
    }
}

/// Before the confirmation step of a correction: the role (refused as the action would be)
/// and the invoice in the actor's scope.
async fn corrections_gate(req: &Req, id: &str) -> AppResult<InvoiceRow> {
    if !service::can_correct(&req.actor) {
        return Err(AppError::Forbidden);
    }
    service::get(&req.state.db, &req.actor, id).await
}

/// "USD 12.50" when the typed amount parses, else the text as typed.
fn amount_text(inv: &InvoiceRow, typed: &str) -> String {
    crate::billing::money::currency(&inv.currency)
        .and_then(|c| crate::billing::money::parse_amount(typed, c).ok())
        .map(|minor| inv.money(minor))
        .unwrap_or_else(|| typed.to_string())
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
