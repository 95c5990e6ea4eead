//! `/catalog` (public; customers see what their tenant can order) and `/billing/plans`.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::{self, Category, Period, Viewer, Visibility};
use super::pricing::{self, PriceContext, PriceLine};
use super::service::{self, PlanInput};
use super::store::PlanRow;
use crate::auth::model::Actor;
use crate::auth::session::MaybeActor;
use crate::billing::money;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CatalogQuery {
    currency: String,
    page: Option<String>,
}

pub struct CatalogItem {
    pub name: String,
    pub code: String,
    pub description: String,
    pub category: &'static str,
    pub beta: bool,
    pub lines: Vec<PriceLine>,
    /// For CloudPod plans: the plan's current resources.
    pub specs: String,
    /// A subscription can be ordered for it (recurring, not an add-on).
    pub orderable: bool,
}

#[derive(Template)]
#[template(path = "catalog/index.html", blocks = ["main"])]
struct CatalogPage {
    layout: Layout,
    items: Vec<CatalogItem>,
    currency: String,
    currencies: Vec<&'static str>,
    pager: Pager,
    /// "Acme" when a customer sees their tenant's prices.
    tenant_name: String,
    /// Nobody is signed in: products link to sign-in, then to the order page.
    visitor: bool,
    /// The signed-in person may order (a customer's BILLING+ member, or staff BILLING+ for a
    /// tenant); the order page makes the same decision again.
    may_order: bool,
}

/// Visitors and staff see PUBLIC, ACTIVE products at list prices (plus currency-wide
/// overrides); a signed-in customer sees what their tenant can order, at their prices.
pub async fn catalog(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    MaybeActor(actor): MaybeActor,
    Query(q): Query<CatalogQuery>,
) -> AppResult<Response> {
    let tenant = match actor.as_ref().filter(|a| !a.is_staff) {
        Some(a) => crate::auth::reads::find_tenant(&state.db, a, &a.tenant_id).await?,
        None => None,
    };
    let viewer = match &tenant {
        Some(t) => Viewer::Tenant { beta: t.beta == 1 },
        None => Viewer::Public,
    };
    let default_currency = tenant.as_ref().map_or("USD", |t| t.currency.as_str());
    let currency = money::currency(&q.currency)
        .or_else(|| money::currency(default_currency))
        .map_or("USD", |c| c.code);
    let include_beta = model::offered_to(Visibility::Beta, viewer);
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    // Anonymous visitors without a flash message all see the same page: cache it briefly.
    let cache_key = (actor.is_none() && layout.flash.is_none())
        .then(|| format!("{}|{currency}|{}", hx.wants_fragment(), req.page));
    if let Some(body) = cache_key.as_deref().and_then(|k| state.db.pages.get(k)) {
        return Ok(public_response(body));
    }
    let (products, more) = service::catalog_page(&state.db, include_beta, req).await?;
    let ctx = PriceContext {
        tenant_id: tenant.as_ref().map(|t| t.id.clone()).unwrap_or_default(),
        region: tenant
            .as_ref()
            .map(|t| t.region.clone())
            .unwrap_or_default(),
        currency: currency.to_string(),
        at: Timestamp::now().0,
    };
    let mut lines = pricing::price_lines(&state.db, &products, &ctx).await?;
    let plans = if products.iter().any(|p| p.category == Category::Cloudpod) {
        service::plans(&state.db).await?
    } else {
        Vec::new()
    };
    let items = products
        .into_iter()
        .map(|p| CatalogItem {
            specs: plans
                .iter()
                .find(|plan| plan.product_id == p.id)
                .map(PlanRow::specs)
                .unwrap_or_default(),
            lines: lines.remove(&p.id).unwrap_or_default(),
            category: p.category.label(),
            beta: p.visibility == Visibility::Beta,
            orderable: p.category != Category::Addon
                && p.billing_model != model::BillingModel::OneTime,
            name: p.name,
            code: p.code,
            description: p.description,
        })
        .collect();
    let pager = Pager::open_ended(
        "/catalog",
        req,
        more,
        filter_query(&[("currency", currency)]),
    );
    let page = CatalogPage {
        layout,
        items,
        currency: currency.to_string(),
        currencies: money::currency_codes(),
        pager,
        tenant_name: tenant.map(|t| t.name).unwrap_or_default(),
        visitor: actor.is_none(),
        may_order: actor
            .as_ref()
            .is_some_and(|a| a.at_least(crate::actor::Role::Billing)),
    };
    let html = page!(hx, page)?;
    if let Some(key) = cache_key {
        let body: std::sync::Arc<str> = std::sync::Arc::from(html.0);
        state.db.pages.put(key, body.clone());
        return Ok(public_response(body));
    }
    // Signed-in customers see their tenant's prices: never cached.
    Ok((
        [(
            axum::http::header::CACHE_CONTROL,
            if actor.is_some() {
                "no-store"
            } else {
                "public, max-age=60"
            },
        )],
        html,
    )
        .into_response())
}

/// The catalog is the same for every anonymous visitor in a currency: shared caches may keep it.
fn public_response(body: std::sync::Arc<str>) -> Response {
    (
        [
            (axum::http::header::CACHE_CONTROL, "public, max-age=60"),
            (axum::http::header::CONTENT_TYPE, "text/html; charset=utf-8"),
        ],
        body.to_string(),
    )
        .into_response()
}

pub struct PlanView {
    pub plan: PlanRow,
    pub price: String,
    pub form: PlanInput,
    pub errors: FieldErrors,
}

impl PlanView {
    /// (field name, label, current value) of the edit form.
    pub fn fields(&self) -> [(&'static str, &'static str, &str); 5] {
        [
            ("cpu_cores", "vCPU cores", &self.form.cpu_cores),
            ("ram_mb", "RAM (MB)", &self.form.ram_mb),
            ("disk_gb", "Disk (GB)", &self.form.disk_gb),
            (
                "max_websites",
                "Websites (-1 unlimited)",
                &self.form.max_websites,
            ),
            (
                "max_email_accounts",
                "E-mail accounts (-1 unlimited)",
                &self.form.max_email_accounts,
            ),
        ]
    }
    pub fn backup_frequencies(&self) -> &'static [&'static str] {
        crate::billing::catalog::service::plans::BACKUP_FREQUENCIES
    }
    pub fn backup_frequency(&self) -> &str {
        self.form.backup_frequency.as_deref().unwrap_or("")
    }
    pub fn backup_retention(&self) -> &str {
        self.form.backup_retention.as_deref().unwrap_or("")
    }
}

#[derive(Template)]
#[template(path = "billing/plans/index.html", blocks = ["main"])]
struct PlansPage {
    layout: Layout,
    plans: Vec<PlanView>,
    can_write: bool,
}

fn unlimited(n: i64) -> String {
    if n < 0 {
        "unlimited".into()
    } else {
        n.to_string()
    }
}

impl PlanRow {
    pub fn specs(&self) -> String {
        format!(
            "{} vCPU · {} MB RAM · {} GB disk · {} websites · {} e-mail accounts",
            self.cpu_cores,
            self.ram_mb,
            self.disk_gb,
            self.websites(),
            self.email_accounts()
        )
    }
    /// The backup policy new pods on this plan get.
    pub fn backup_words(&self) -> String {
        format!(
            "New pods are backed up {}, keeping {}",
            self.backup_frequency.to_lowercase(),
            self.backup_retention
        )
    }
    pub fn websites(&self) -> String {
        unlimited(self.max_websites)
    }
    pub fn email_accounts(&self) -> String {
        unlimited(self.max_email_accounts)
    }
}

async fn plans_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    failed: Option<(String, PlanInput, FieldErrors)>,
) -> AppResult<PlansPage> {
    let (rows, prices) = service::plans_with_prices(&state.db, actor, "USD").await?;
    let mut failed = failed;
    let plans = rows
        .into_iter()
        .map(|plan| {
            let price = prices
                .iter()
                .find(|r| r.product_id == plan.product_id && r.period == Period::Monthly)
                .map_or_else(
                    || "no USD monthly price".to_string(),
                    |r| format!("{} per month", money::format_money(r.amount_minor, "USD")),
                );
            let (form, errors) = match failed.take_if(|f| f.0 == plan.code) {
                Some((_, form, errors)) => (form, errors),
                None => (
                    PlanInput {
                        cpu_cores: plan.cpu_cores.to_string(),
                        ram_mb: plan.ram_mb.to_string(),
                        disk_gb: plan.disk_gb.to_string(),
                        max_websites: plan.max_websites.to_string(),
                        max_email_accounts: plan.max_email_accounts.to_string(),
                        backup_frequency: Some(plan.backup_frequency.clone()),
                        backup_retention: Some(plan.backup_retention.to_string()),
                    },
                    FieldErrors::new(),
                ),
            };
            PlanView {
                plan,
                price,
                form,
                errors,
            }
        })
        .collect();
    Ok(PlansPage {
        layout,
        plans,
        can_write: service::can_write(actor),
    })
}

pub async fn plans(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let page = plans_page(&state, layout, &actor, None).await?;
    Ok(page!(hx, page)?.into_response())
}

pub async fn update_plan(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(code): Path<String>,
    Form(form): Form<PlanInput>,
) -> AppResult<Response> {
    match service::update_plan(&state.db, &actor, &code, &form).await {
        Ok(()) => Ok(flash::success(
            &state,
            "/billing/plans",
            &format!("Plan {code} saved."),
        )),
        Err(AppError::Invalid(errors)) => {
            let page = plans_page(&state, layout, &actor, Some((code, form, errors))).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}
