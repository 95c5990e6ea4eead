//! Tax rules.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::auth::model::Actor;
use crate::billing::invoices::service::reads;
use crate::billing::invoices::service::{self, TaxRuleInput};
use crate::billing::invoices::store::TaxRuleRow;
use crate::page;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

#[derive(Template)]
#[template(path = "billing/invoices/tax_rules.html", blocks = ["main"])]
struct TaxRulesPage {
    layout: Layout,
    rules: Vec<TaxRuleRow>,
    form: TaxRuleInput,
    errors: FieldErrors,
    can_write: bool,
}

pub async fn tax_rules(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let page = TaxRulesPage {
        layout,
        rules: reads::tax_rules(&state.db, &actor).await?,
        form: TaxRuleInput::default(),
        errors: FieldErrors::new(),
        can_write: service::can_correct(&actor),
    };
    Ok(page!(hx, page)?.into_response())
}

pub async fn add_tax_rule(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<TaxRuleInput>,
) -> AppResult<Response> {
    match service::add_tax_rule(&state.db, &actor, &form).await {
        Ok(()) => Ok(flash::success(
            &state,
            "/billing/tax-rules",
            "Tax rule added.",
        )),
        Err(AppError::Invalid(errors)) => {
            let page = TaxRulesPage {
                layout,
                rules: reads::tax_rules(&state.db, &actor).await?,
                form,
                errors,
                can_write: true,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn delete_tax_rule(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    service::delete_tax_rule(&state.db, &actor, &id).await?;
    Ok(flash::success(
        &state,
        "/billing/tax-rules",
        "Tax rule removed.",
    ))
}
