//! Subscription pages: the list (staff: every tenant; customers: "Services"), the order page
//! (form → review with the price breakdown → confirm) and the detail page with its timeline.
//! While activation runs, the detail section polls itself and stops when it settles.

mod usage;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

mod plan_change;
pub use plan_change::{
    form as plan_form, status as plan_status, submit as plan_submit, withdraw as plan_withdraw,
};

use super::model::SubscriptionStatus;
use super::service::{self, Detail, OrderInput, OrderSettings, Quote};
use super::store::{OverdueInvoice, SubscriptionFilter, SubscriptionRow};
use crate::auth::model::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::actions::ActionRequest as Req;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

impl SubscriptionRow {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
    /// Suspended for an overdue invoice: the customer is shown what to pay.
    pub fn suspended_for_overdue(&self) -> bool {
        self.suspend_reason.waits_for_payment(self.status)
    }
    pub fn is_pending(&self) -> bool {
        self.status == SubscriptionStatus::PendingActivation
    }
    pub fn can_retry(&self) -> bool {
        self.status.can_retry()
    }
    pub fn period_text(&self) -> String {
        match (self.current_period_start, self.current_period_end) {
            (Some(a), Some(b)) => format!("{a} – {b}"),
            _ => "starts when activated".into(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    tenant_id: String,
    status: String,
    product: String,
    q: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "subscriptions/list.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    rows: Vec<SubscriptionRow>,
    f: ListQuery,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    products: Vec<(String, String)>,
    statuses: &'static [SubscriptionStatus],
    pager: Pager,
    is_staff: bool,
    can_order: bool,
    /// Some row waits for its activation: the rows refresh themselves until none does.
    live: bool,
    /// The overdue invoices of the rows suspended for one: what the customer is told to pay.
    overdue: Vec<(String, Vec<OverdueInvoice>)>,
}

impl ListPage {
    fn overdue_of(&self, id: &str) -> &[OverdueInvoice] {
        self.overdue
            .iter()
            .find(|(s, _)| s == id)
            .map_or(&[], |(_, o)| o.as_slice())
    }
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(mut f): Query<ListQuery>,
) -> AppResult<Response> {
    f.status = SubscriptionStatus::parse(&f.status)
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if !actor.is_staff {
        f.tenant_id.clear();
    }
    let req = PageRequest::new(parse_page(f.page.as_deref()));
    let filter = SubscriptionFilter {
        tenant_id: f.tenant_id.trim(),
        status: &f.status,
        product_id: f.product.trim(),
        q: f.q.trim(),
        after: None,
    };
    let (rows, total) = service::list(&state.db, &actor, &filter, req).await?;
    let query = filter_query(&[
        ("tenant_id", &f.tenant_id),
        ("status", &f.status),
        ("product", &f.product),
        ("q", &f.q),
    ]);
    let tenants = if actor.is_staff {
        crate::auth::reads::tenant_choices(&state.db, &actor).await?
    } else {
        Vec::new()
    };
    let products = crate::billing::catalog::service::product_choices(&state.db).await?;
    let live = rows.iter().any(SubscriptionRow::is_pending);
    let mut overdue = Vec::new();
    for s in rows.iter().filter(|s| s.suspended_for_overdue()) {
        let o = service::overdue_to_pay(&state.db, s, state.clock.today()).await?;
        overdue.push((s.id.clone(), o));
    }
    let page = ListPage {
        layout,
        live,
        overdue,
        rows,
        f,
        errors: FieldErrors::new(),
        tenants,
        products,
        statuses: SubscriptionStatus::ALL,
        pager: Pager::new("/billing/subscriptions", req, total, query),
        is_staff: actor.is_staff,
        can_order: service::can_order(&actor),
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "subscriptions/new.html", blocks = ["main"])]
struct NewPage {
    layout: Layout,
    form: OrderInput,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    products: Vec<(String, String)>,
    addons: Vec<(String, String)>,
    periods: &'static [(&'static str, &'static str)],
    quote: Option<Quote>,
    is_staff: bool,
}

const PERIODS: &[(&str, &str)] = &[
    ("MONTHLY", "Monthly"),
    ("YEARLY", "Yearly"),
    ("HOURLY", "Hourly"),
];

async fn new_page(
    state: &AppState,
    actor: &Actor,
    layout: Layout,
    mut form: OrderInput,
    errors: FieldErrors,
    quote: Option<Quote>,
) -> AppResult<NewPage> {
    if !service::can_order(actor) {
        return Err(AppError::Forbidden);
    }
    if form.idempotency_key.trim().is_empty() {
        form.idempotency_key = crate::db::new_id();
    }
    let (products, addons) =
        crate::billing::catalog::service::orderable(&state.db, actor, &form.tenant_id).await?;
    Ok(NewPage {
        layout,
        form,
        errors,
        tenants: if actor.is_staff {
            crate::auth::reads::customer_tenant_choices(&state.db, actor).await?
        } else {
            Vec::new()
        },
        products,
        addons,
        periods: PERIODS,
        quote,
        is_staff: actor.is_staff,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    product: String,
    tenant_id: String,
}

pub async fn new_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    let form = OrderInput {
        product: q.product,
        tenant_id: q.tenant_id,
        period: "MONTHLY".into(),
        quantity: "1".into(),
        ..OrderInput::default()
    };
    let page = new_page(&state, &actor, layout, form, FieldErrors::new(), None).await?;
    Ok(page!(hx, page)?.into_response())
}

/// The order form posts here: without `confirm=yes` it answers the review (the breakdown and
/// a "Confirm order" button carrying the same fields); with it, the order is placed.
pub async fn submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    // axum-extra's Form (serde_html_form): the add-on checkboxes repeat their field.
    axum_extra::extract::Form(form): axum_extra::extract::Form<OrderInput>,
) -> AppResult<Response> {
    let result = if crate::web::confirm::confirmed(&form.confirm) {
        let settings = OrderSettings {
            expiry_days: state.config.order_expiry_days,
        };
        match service::order(&state.db, &actor, &settings, &form).await {
            Ok(id) => {
                return Ok(flash::success(
                    &state,
                    &format!("/billing/subscriptions/{id}"),
                    "Order placed.",
                ));
            }
            Err(e) => Err(e),
        }
    } else {
        service::quote(&state.db, &actor, &form).await.map(Some)
    };
    match result {
        Ok(quote) => {
            let page = new_page(&state, &actor, layout, form, FieldErrors::new(), quote).await?;
            Ok(page!(hx, page)?.into_response())
        }
        Err(AppError::Invalid(errors)) => {
            let page = new_page(&state, &actor, layout, form, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "subscriptions/show.html", blocks = ["main"])]
pub struct ShowPage {
    layout: Layout,
    s: SubscriptionRow,
    d: Detail,
    can_manage: bool,
    can_suspend: bool,
    can_cancel: bool,
    /// What cancelling now would credit.
    credit: String,
    /// Suspended for an overdue invoice: the invoices to pay.
    overdue: Vec<OverdueInvoice>,
    /// A CloudPod subscription's plan, its pod's specs and a change in flight.
    plan: Option<service::PlanStatus>,
    notice: Option<crate::web::flash::Flash>,
    usage: usage::Panel,
}

async fn show_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    id: &str,
) -> AppResult<ShowPage> {
    let s = service::get(&state.db, actor, id).await?;
    let d = service::detail(&state.db, actor, &s).await?;
    let credit = if s.status.can_cancel_now() {
        service::cancel_credit_preview(&state.db, actor, id, state.clock.now()).await?
    } else {
        String::new()
    };
    let overdue = service::overdue_to_pay(&state.db, &s, state.clock.today()).await?;
    let plan = service::plan_status(&state.db, actor, &s).await?;
    Ok(ShowPage {
        layout,
        overdue,
        plan,
        d,
        can_suspend: service::can_suspend(actor),
        can_cancel: service::can_cancel(actor),
        credit,
        can_manage: service::can_manage(actor),
        notice: None,
        usage: usage::Panel::load(state, actor, &s).await?,
        s,
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

pub async fn retry(req: Req, Path(id): Path<String>) -> AppResult<Response> {
    let r = service::retry(&req.state.db, &req.actor, &id).await;
    respond(req, id, r.map(|()| "Activation retried.".to_string())).await
}

async fn respond(req: Req, id: String, r: AppResult<String>) -> AppResult<Response> {
    let Req {
        state,
        hx,
        layout,
        actor,
    } = req;
    crate::web::actions::answer(
        &state,
        hx,
        &format!("/billing/subscriptions/{id}"),
        r,
        || show_page(&state, layout, &actor, &id),
        |_, _| {},
    )
    .await
}

/// Asks once before a destructive action posted without `confirm=yes` (no JavaScript), after
/// the action's own refusals (role, scope).
async fn ask(req: Req, id: &str, c: crate::web::confirm::Confirm) -> AppResult<Response> {
    let s = service::get(&req.state.db, &req.actor, id).await?;
    crate::web::confirm::ask(
        req.hx,
        req.layout,
        c.back(format!("/billing/subscriptions/{}", s.id)),
    )
}

pub async fn suspend(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<service::ReasonInput>,
) -> AppResult<Response> {
    if !service::can_suspend(&req.actor) {
        return Err(AppError::Forbidden);
    }
    if !crate::web::confirm::confirmed(&form.confirm) {
        let c = crate::web::confirm::Confirm::new(
            "Suspend this subscription?",
            format!("/billing/subscriptions/{id}/suspend"),
        )
        .consequence("Its pod is stopped until the subscription is resumed.")
        .button("Suspend")
        .field("reason", form.reason.clone());
        return ask(req, &id, c).await;
    }
    let r = service::suspend(&req.state.db, &req.actor, &id, &form).await;
    respond(req, id, r.map(|()| "Suspended.".to_string())).await
}

pub async fn resume(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<service::ReasonInput>,
) -> AppResult<Response> {
    let r = service::resume(&req.state.db, &req.actor, &id, &form).await;
    respond(req, id, r.map(|()| "Resumed.".to_string())).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CancelForm {
    /// `now` or `period_end`.
    when: String,
    confirm: String,
}

pub async fn cancel(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<CancelForm>,
) -> AppResult<Response> {
    if !service::can_cancel(&req.actor) {
        return Err(AppError::Forbidden);
    }
    let db = req.state.db.clone();
    if form.when == "period_end" {
        let r = service::cancel_at_period_end(&db, &req.actor, &id).await;
        return respond(
            req,
            id,
            r.map(|()| "It cancels when the period ends.".into()),
        )
        .await;
    }
    if !crate::web::confirm::confirmed(&form.confirm) {
        let credit =
            service::cancel_credit_preview(&db, &req.actor, &id, req.state.clock.now()).await?;
        let c = crate::web::confirm::Confirm::new(
            "Cancel this subscription now?",
            format!("/billing/subscriptions/{id}/cancel"),
        )
        .consequence(format!(
            "Its pod is deleted with its disks. You are credited {credit} for the unused part \
             of the period. This cannot be undone."
        ))
        .button("Cancel now")
        .field("when", "now");
        return ask(req, &id, c).await;
    }
    let r = service::cancel_now(&db, &req.actor, &id, req.state.clock.now()).await;
    respond(req, id, r.map(|s| format!("{s}."))).await
}

pub use usage::record as record_usage;

pub async fn undo_cancel(req: Req, Path(id): Path<String>) -> AppResult<Response> {
    let r = service::undo_cancel(&req.state.db, &req.actor, &id).await;
    respond(req, id, r.map(|()| "Kept: it renews again.".to_string())).await
}
