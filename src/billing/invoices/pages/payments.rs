//! The payments list: successful payments and refunds across invoices, by the day the money
//! moved, with net sums per currency. The dashboard's money figures link here.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::auth::model::Actor;
use crate::billing::invoices::model::PaymentKind;
use crate::billing::invoices::service;
use crate::billing::invoices::service::reads;
use crate::billing::invoices::store::{PaymentFilter, PaymentListRow, PaymentSum};
use crate::billing::money;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PaymentsQuery {
    tenant_id: String,
    from: String,
    until: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "billing/invoices/payments.html", blocks = ["main"])]
struct PaymentsPage {
    layout: Layout,
    payments: Vec<PaymentListRow>,
    sums: Vec<PaymentSum>,
    f: PaymentsQuery,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    pager: Pager,
    is_staff: bool,
}

impl PaymentListRow {
    pub fn amount(&self) -> String {
        let signed = match self.kind {
            PaymentKind::Payment => self.amount_minor,
            PaymentKind::Refund => -self.amount_minor,
        };
        money::format_money(signed, &self.currency)
    }
    pub fn kind_label(&self) -> &'static str {
        self.kind.label()
    }
    pub fn invoice_label(&self) -> &str {
        self.invoice_number.as_deref().unwrap_or("Invoice")
    }
}

impl PaymentSum {
    pub fn received(&self) -> String {
        money::format_money(self.received_minor, &self.currency)
    }
    pub fn refunded(&self) -> String {
        money::format_money(self.refunded_minor, &self.currency)
    }
    pub fn net(&self) -> String {
        money::format_money(self.net_minor(), &self.currency)
    }
}

pub async fn payments(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(mut f): Query<PaymentsQuery>,
) -> AppResult<Response> {
    if !service::can_read(&actor) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    for (field, value) in [("from", &mut f.from), ("until", &mut f.until)] {
        let v = value.trim().to_string();
        if !v.is_empty() && Timestamp::from_date(&v).is_none() {
            errors.add(field, "Use a date like 2026-11-21.");
            value.clear();
        } else {
            *value = v;
        }
    }
    if !actor.is_staff {
        f.tenant_id.clear();
    }
    let req = PageRequest::new(parse_page(f.page.as_deref()));
    let filter = PaymentFilter {
        from: &f.from,
        until: &f.until,
        tenant_id: f.tenant_id.trim(),
    };
    let (payments, sums) = reads::payments_list(&state.db, &actor, &filter, req).await?;
    let total = sums.iter().map(|s| s.count).sum();
    let query = filter_query(&[
        ("tenant_id", &f.tenant_id),
        ("from", &f.from),
        ("until", &f.until),
    ]);
    let tenants = if actor.is_staff {
        crate::auth::reads::tenant_choices(&state.db, &actor).await?
    } else {
        Vec::new()
    };
    let page = PaymentsPage {
        layout,
        payments,
        sums,
        f,
        errors,
        tenants,
        pager: Pager::new("/billing/payments", req, total, query),
        is_staff: actor.is_staff,
    };
    Ok(page!(hx, page)?.into_response())
}
