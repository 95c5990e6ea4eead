//! The invoice list (with the billing run), and the new-draft form.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::model::Actor;
use crate::billing::invoices::model::InvoiceStatus;
use crate::billing::invoices::service::reads;
use crate::billing::invoices::service::{self};
use crate::billing::invoices::store::{CurrencySum, InvoiceFilter, InvoiceRow};
use crate::billing::money;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

/// The list's `status` value for overdue invoices (`/billing/invoices?status=OVERDUE`).
pub const OVERDUE: &str = "OVERDUE";

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    tenant_id: String,
    status: String,
    from: String,
    until: String,
    number: String,
    page: Option<String>,
}

impl ListQuery {
    /// The overdue choice is the one selected.
    pub fn overdue_selected(&self) -> bool {
        self.status == OVERDUE
    }
}

#[derive(Template)]
#[template(path = "billing/invoices/list.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    invoices: Vec<InvoiceRow>,
    sums: Vec<CurrencySum>,
    f: ListQuery,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    /// The statuses the actor can filter on (customers never see drafts).
    statuses: Vec<InvoiceStatus>,
    selected: Option<InvoiceStatus>,
    pager: Pager,
    can_bill: bool,
    is_staff: bool,
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(mut f): Query<ListQuery>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    for (field, value) in [("from", &mut f.from), ("until", &mut f.until)] {
        let v = value.trim().to_string();
        if !v.is_empty() && crate::db::Timestamp::from_date(&v).is_none() {
            errors.add(field, "Use a date like 2026-11-21.");
            value.clear();
        } else {
            *value = v;
        }
    }
    // "Overdue" is not a stored status: issued, still due, due date passed (as shown).
    let overdue = f.status.trim().eq_ignore_ascii_case(OVERDUE);
    let selected = if overdue {
        None
    } else {
        InvoiceStatus::parse(&f.status)
    };
    f.status = if overdue {
        OVERDUE.to_string()
    } else {
        selected.map(|s| s.as_str().to_string()).unwrap_or_default()
    };
    let today = super::today();
    let (_, hide_drafts) = service::visibility(&actor);
    let statuses = InvoiceStatus::ALL
        .iter()
        .copied()
        .filter(|s| !(hide_drafts && *s == InvoiceStatus::Draft))
        .collect();
    let req = PageRequest::new(parse_page(f.page.as_deref()));
    let filter = InvoiceFilter {
        tenant_id: f.tenant_id.trim(),
        status: if overdue { "" } else { &f.status },
        from: &f.from,
        until: &f.until,
        number: &f.number,
        overdue_on: if overdue { &today } else { "" },
        ..InvoiceFilter::default()
    };
    let (invoices, sums) = reads::list(&state.db, &actor, &filter, req).await?;
    let total = sums.iter().map(|s| s.count).sum();
    let query = filter_query(&[
        ("tenant_id", &f.tenant_id),
        ("status", &f.status),
        ("from", &f.from),
        ("until", &f.until),
        ("number", &f.number),
    ]);
    let tenants = crate::auth::reads::tenant_choices(&state.db, &actor).await?;
    let page = ListPage {
        layout,
        invoices,
        sums,
        f,
        errors,
        tenants,
        statuses,
        selected,
        pager: Pager::new("/billing/invoices", req, total, query),
        can_bill: service::can_bill(&actor),
        is_staff: actor.is_staff,
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewForm {
    tenant_id: String,
    currency: String,
}

#[derive(Template)]
#[template(path = "billing/invoices/new.html", blocks = ["main"])]
struct NewPage {
    layout: Layout,
    form: NewForm,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    currencies: Vec<&'static str>,
}

async fn customer_tenants(state: &AppState, actor: &Actor) -> AppResult<Vec<(String, String)>> {
    crate::auth::reads::customer_tenant_choices(&state.db, actor).await
}

pub async fn new_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(form): Query<NewForm>,
) -> AppResult<Response> {
    if !service::can_bill(&actor) {
        return Err(AppError::Forbidden);
    }
    let page = NewPage {
        layout,
        form,
        errors: FieldErrors::new(),
        tenants: customer_tenants(&state, &actor).await?,
        currencies: money::currency_codes(),
    };
    Ok(page!(hx, page)?.into_response())
}

pub async fn create(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<NewForm>,
) -> AppResult<Response> {
    match service::create_draft(&state.db, &actor, &form.tenant_id, &form.currency).await {
        Ok(id) => Ok(flash::success(
            &state,
            &format!("/billing/invoices/{id}"),
            "Draft created. Add its lines, then issue it.",
        )),
        Err(AppError::Invalid(errors)) => {
            let page = NewPage {
                layout,
                form,
                errors,
                tenants: customer_tenants(&state, &actor).await?,
                currencies: money::currency_codes(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct BillingRunForm {
    tenant_id: String,
    confirm: String,
}

/// A billing run: issues every draft that has items (of the chosen tenant, or all).
pub async fn issue_drafts(
    State(state): State<AppState>,
    actor: Actor,
    Form(form): Form<BillingRunForm>,
) -> AppResult<Response> {
    if form.confirm != "yes" {
        return Err(AppError::refused(
            "Tick the confirmation box to issue the drafts.",
        ));
    }
    let n = service::issue_all_drafts(&state.db, &actor, form.tenant_id.trim()).await?;
    let message = match n {
        0 => "There were no drafts with items to issue.".to_string(),
        n => format!("Issued {n} invoice(s)."),
    };
    Ok(flash::success(&state, "/billing/invoices", &message))
}
