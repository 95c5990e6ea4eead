//! Invoice pages: list, new draft, the invoice (draft editor or issued view with actions),
//! PDF download, tax rules.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::{self, InvoiceStatus, LineKind};
use super::service::{
    self, CreditInput, LineInput, PaymentInput, ProductLineInput, RefundInput, TaxRuleInput,
};
use super::store::{
    self, CreditNoteRow, CurrencySum, InvoiceFilter, InvoiceRow, PaymentRow, TaxRuleRow, Visibility,
};
use crate::app::AppState;
use crate::auth::model::Actor;
use crate::billing::catalog::model::Period;
use crate::billing::money;
use crate::db::new_id;
use crate::page;
use crate::web::actions::ActionRequest as Req;
use crate::web::flash::Flash;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

impl InvoiceRow {
    pub fn status_text(&self) -> String {
        let status = InvoiceStatus::parse(&self.status).unwrap_or(InvoiceStatus::Draft);
        model::display_status(
            status,
            self.due_minor,
            self.paid_minor - self.refunded_minor,
            &self.due_date,
            &today(),
        )
    }
    pub fn label(&self) -> String {
        self.number.clone().unwrap_or_else(|| "Draft".into())
    }
    pub fn total(&self) -> String {
        money::format_money(self.total_minor, &self.currency)
    }
    pub fn due(&self) -> String {
        money::format_money(self.due_minor, &self.currency)
    }
    /// Takes `i64` or `&i64`: templates pass fields by reference.
    pub fn money(&self, minor: impl std::borrow::Borrow<i64>) -> String {
        money::format_money(*minor.borrow(), &self.currency)
    }
    pub fn is_draft(&self) -> bool {
        self.status == "DRAFT"
    }
    pub fn buyer_text(&self) -> String {
        party_text(&service::Party::parse(&self.buyer_snapshot))
    }
    pub fn seller_text(&self) -> String {
        party_text(&service::Party::parse(&self.seller_snapshot))
    }
}

/// Name, address, country, e-mail and tax id, one per line (shown with `white-space: pre-line`).
fn party_text(p: &service::Party) -> String {
    let mut lines = vec![p.name.clone()];
    lines.extend(
        p.address
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from),
    );
    for (prefix, value) in [("", &p.country), ("", &p.email), ("Tax id: ", &p.tax_id)] {
        if !value.is_empty() {
            lines.push(format!("{prefix}{value}"));
        }
    }
    lines.join("\n")
}

impl CurrencySum {
    pub fn total(&self) -> String {
        money::format_money(self.total_minor, &self.currency)
    }
    pub fn due(&self) -> String {
        money::format_money(self.due_minor, &self.currency)
    }
}

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

#[derive(Template)]
#[template(path = "billing/invoices/list.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    invoices: Vec<InvoiceRow>,
    sums: Vec<CurrencySum>,
    f: ListQuery,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    statuses: &'static [InvoiceStatus],
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
    if !service::can_read(&actor) {
        return Err(AppError::Forbidden);
    }
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
    f.status = InvoiceStatus::parse(&f.status)
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    let (scope, hide_drafts) = service::visibility(&actor);
    let req = PageRequest::new(parse_page(f.page.as_deref()));
    let filter = InvoiceFilter {
        tenant_id: f.tenant_id.trim(),
        status: &f.status,
        from: &f.from,
        until: &f.until,
        number: &f.number,
    };
    let (invoices, sums) = store::list_invoices(
        &state.db.pool,
        &Visibility {
            scope: &scope,
            hide_drafts,
        },
        &filter,
        req.size,
        req.offset(),
    )
    .await?;
    let total = sums.iter().map(|s| s.count).sum();
    let query = filter_query(&[
        ("tenant_id", &f.tenant_id),
        ("status", &f.status),
        ("from", &f.from),
        ("until", &f.until),
        ("number", &f.number),
    ]);
    let tenants = if actor.is_staff {
        crate::auth::store::tenant_choices(&state.db.pool).await?
    } else {
        Vec::new()
    };
    let page = ListPage {
        layout,
        invoices,
        sums,
        f,
        errors,
        tenants,
        statuses: InvoiceStatus::ALL,
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

async fn customer_tenants(state: &AppState) -> AppResult<Vec<(String, String)>> {
    Ok(crate::auth::store::customer_tenant_choices(&state.db.pool).await?)
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
        tenants: customer_tenants(&state).await?,
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
                tenants: customer_tenants(&state).await?,
                currencies: money::currency_codes(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

pub struct LineView {
    pub id: String,
    pub kind: &'static str,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
    pub amount: String,
}

pub struct PaymentView {
    pub p: PaymentRow,
    /// Each refund form has its own idempotency key: two refunds from one page are two refunds.
    pub refund_key: String,
    pub amount: String,
    pub refundable: i64,
    pub refundable_text: String,
}

#[derive(Template)]
#[template(path = "billing/invoices/show.html", blocks = ["main"])]
pub struct ShowPage {
    layout: Layout,
    inv: InvoiceRow,
    lines: Vec<LineView>,
    payments: Vec<PaymentView>,
    credits: Vec<CreditNoteRow>,
    /// Draft only: totals as they would be issued now, or why it cannot be issued.
    preview: String,
    can_bill: bool,
    can_correct: bool,
    notice: Option<Flash>,
    kinds: Vec<LineKind>,
    products: Vec<(String, String)>,
    periods: &'static [Period],
    methods: &'static [&'static str],
    line_form: LineInput,
    line_errors: FieldErrors,
    product_form: ProductLineInput,
    product_errors: FieldErrors,
    pay_form: PaymentInput,
    pay_errors: FieldErrors,
    refund_errors: FieldErrors,
    refund_for: String,
    credit_form: CreditInput,
    credit_errors: FieldErrors,
}

async fn show_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    id: &str,
) -> AppResult<ShowPage> {
    let inv = service::get(&state.db, actor, id).await?;
    let pool = &state.db.pool;
    let line_rows = store::lines(pool, &inv.id).await?;
    let lines = line_rows
        .iter()
        .map(|l| LineView {
            id: l.id.clone(),
            kind: LineKind::parse(&l.kind).map_or("?", LineKind::label),
            description: l.description.clone(),
            quantity: l.quantity.clone(),
            unit_price: inv.money(l.unit_price_minor),
            amount: inv.money(if l.kind == "DISCOUNT" {
                -l.amount_minor
            } else {
                l.amount_minor
            }),
        })
        .collect();
    let payment_rows = store::payments(pool, &inv.id).await?;
    let payments = payment_rows
        .iter()
        .map(|p| {
            let refunded: i64 = payment_rows
                .iter()
                .filter(|r| r.refund_of.as_deref() == Some(p.id.as_str()) && r.status == "SUCCESS")
                .map(|r| r.amount_minor)
                .sum();
            let refundable = if p.kind == "PAYMENT" && p.status == "SUCCESS" {
                p.amount_minor - refunded
            } else {
                0
            };
            PaymentView {
                refund_key: new_id(),
                amount: inv.money(p.amount_minor),
                refundable_text: money::input_amount(
                    refundable,
                    money::currency(&inv.currency).unwrap_or(money::CURRENCIES[0]),
                ),
                refundable,
                p: p.clone(),
            }
        })
        .collect();
    let preview = if inv.is_draft() {
        match service::preview_totals(&state.db, &inv, &line_rows).await? {
            (Ok(t), rule) => format!(
                "Subtotal {} · discount {} · {} {} · total {}",
                inv.money(t.subtotal),
                inv.money(t.discount),
                rule.as_ref()
                    .map_or("no tax rule for this region:".to_string(), |r| format!(
                        "{} ({}%)",
                        r.name, r.rate
                    )),
                inv.money(t.tax),
                inv.money(t.total)
            ),
            (Err(e), _) => e.to_string(),
        }
    } else {
        String::new()
    };
    let products = if inv.is_draft() {
        sqlx::query_as("SELECT id, name || ' (' || code || ')' FROM products WHERE status = 'ACTIVE' ORDER BY name LIMIT 500").fetch_all(pool).await?
    } else {
        Vec::new()
    };
    Ok(ShowPage {
        layout,
        lines,
        payments,
        credits: store::credit_notes(pool, &inv.id).await?,
        preview,
        can_bill: service::can_bill(actor),
        can_correct: service::can_correct(actor),
        notice: None,
        kinds: vec![LineKind::Item, LineKind::Discount, LineKind::Adjustment],
        products,
        periods: &[
            Period::Once,
            Period::Hourly,
            Period::Monthly,
            Period::Yearly,
        ],
        methods: service::METHODS,
        line_form: LineInput {
            kind: "ITEM".into(),
            quantity: "1".into(),
            ..LineInput::default()
        },
        line_errors: FieldErrors::new(),
        product_form: ProductLineInput {
            period: "MONTHLY".into(),
            quantity: "1".into(),
            ..ProductLineInput::default()
        },
        product_errors: FieldErrors::new(),
        pay_form: PaymentInput {
            amount: money::input_amount(
                inv.due_minor,
                money::currency(&inv.currency).unwrap_or(money::CURRENCIES[0]),
            ),
            method: "Bank transfer".into(),
            paid_on: today(),
            status: "SUCCESS".into(),
            idempotency_key: new_id(),
            ..PaymentInput::default()
        },
        pay_errors: FieldErrors::new(),
        refund_errors: FieldErrors::new(),
        refund_for: String::new(),
        credit_form: CreditInput::default(),
        credit_errors: FieldErrors::new(),
        inv,
    })
}

pub async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let page = show_page(&state, layout, &actor, &id).await?;
    Ok(page!(hx, page)?.into_response())
}

crate::action_page!(ShowPage);

/// After an action: the refreshed invoice with a notice, a redirect, or the invoice with the
/// failing form's values and errors (see `web::actions`).
async fn respond<T>(
    req: Req<'_>,
    id: &str,
    result: AppResult<T>,
    message: impl FnOnce(T) -> String,
    on_invalid: impl FnOnce(&mut ShowPage, FieldErrors),
) -> AppResult<Response> {
    let Req {
        state,
        hx,
        layout,
        actor,
    } = req;
    crate::web::actions::answer(
        state,
        hx,
        &format!("/billing/invoices/{id}"),
        result.map(message),
        || show_page(state, layout, actor, id),
        on_invalid,
    )
    .await
}

pub async fn add_line(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<LineInput>,
) -> AppResult<Response> {
    let r = service::add_line(&state.db, &actor, &id, &form).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
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
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ProductLineInput>,
) -> AppResult<Response> {
    let r = service::add_product_line(&state.db, &actor, &id, &form).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
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
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path((id, line_id)): Path<(String, String)>,
) -> AppResult<Response> {
    let r = service::delete_line(&state.db, &actor, &id, &line_id).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
        &id,
        r,
        |()| "Line removed.".into(),
        |_, _| {},
    )
    .await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NotesForm {
    notes: String,
}

pub async fn set_notes(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<NotesForm>,
) -> AppResult<Response> {
    let r = service::set_notes(&state.db, &actor, &id, &form.notes).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
        &id,
        r,
        |()| "Notes saved.".into(),
        |_, _| {},
    )
    .await
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

pub async fn issue(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let r = service::issue(&state.db, &actor, &id).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
        &id,
        r,
        |i| format!("Issued as {} for {}.", i.number, "the customer"),
        |_, _| {},
    )
    .await
}

pub async fn pay(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<PaymentInput>,
) -> AppResult<Response> {
    let r = service::record_payment(&state.db, &actor, &id, &form).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
        &id,
        r,
        |p| {
            format!(
                "{} payment recorded.",
                if p.status == "SUCCESS" {
                    "A"
                } else {
                    "A failed"
                }
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
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<RefundInput>,
) -> AppResult<Response> {
    let payment_id = form.payment_id.clone();
    let r = service::refund(&state.db, &actor, &id, &form).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
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
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    let r = service::void(&state.db, &actor, &id, form.confirm == "yes").await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
        &id,
        r,
        |()| "Invoice voided. It keeps its number.".into(),
        |_, _| {},
    )
    .await
}

pub async fn credit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<CreditInput>,
) -> AppResult<Response> {
    let r = service::credit(&state.db, &actor, &id, &form).await;
    respond(
        Req {
            state: &state,
            hx,
            layout,
            actor: &actor,
        },
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
    let lines = store::lines(&state.db.pool, &inv.id).await?;
    let credits = store::credit_notes(&state.db.pool, &inv.id).await?;
    let bytes = super::pdf::render(&inv, &lines, &credits, &inv.status_text());
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
    if !service::can_bill(&actor) {
        return Err(AppError::Forbidden);
    }
    let page = TaxRulesPage {
        layout,
        rules: store::tax_rules(&state.db.pool).await?,
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
                rules: store::tax_rules(&state.db.pool).await?,
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
