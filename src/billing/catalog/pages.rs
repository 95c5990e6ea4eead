//! Staff product pages: list, create, edit, show, inline status changes.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::{
    self, BillingModel, Category, Period, ProductStatus, TaxCategory, TierMode, Visibility,
};
use super::service::{self, OverrideInput, PriceInput, ProductInput, TierInput};
use super::store::{PlanRow, ProductFilter, ProductRow};
use crate::auth::model::Actor;
use crate::billing::money;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash, render};

/// Display helpers for templates.
impl ProductRow {
    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
    pub fn category_label(&self) -> &'static str {
        self.category.label()
    }
    pub fn model_label(&self) -> &'static str {
        self.billing_model.label()
    }
    pub fn visibility_label(&self) -> &'static str {
        self.visibility.label()
    }
    pub fn tax_label(&self) -> &'static str {
        self.tax_category.label()
    }
    pub fn tier_mode_label(&self) -> &'static str {
        self.tier_mode.label()
    }
    pub fn is_tiered(&self) -> bool {
        self.billing_model == BillingModel::UsageTiered
    }
    pub fn is_deprecated(&self) -> bool {
        self.status == ProductStatus::Deprecated
    }
    /// Statuses this product may move to next (its own first, for the inline select).
    pub fn status_choices(&self) -> Vec<ProductStatus> {
        std::iter::once(self.status)
            .chain(model::next_statuses(self.status))
            .collect()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    category: String,
    status: String,
    visibility: String,
    sort: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "billing/products/list.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    products: Vec<ProductRow>,
    f: ListQuery,
    pager: Pager,
    can_write: bool,
    categories: &'static [Category],
    statuses: &'static [ProductStatus],
    visibilities: &'static [Visibility],
}

impl ListPage {
    /// The sort in force (the store's default is by name).
    fn sort_key(&self) -> &str {
        match self.f.sort.as_str() {
            "code" | "created" | "updated" | "status" => &self.f.sort,
            _ => "name",
        }
    }
    /// This list sorted by `key`, with the same filters.
    fn sort_href(&self, key: &str) -> String {
        let query = filter_query(&[
            ("q", &self.f.q),
            ("category", &self.f.category),
            ("status", &self.f.status),
            ("visibility", &self.f.visibility),
            ("sort", key),
        ]);
        format!("/billing/products?{}", query.trim_start_matches('&'))
    }
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(mut f): Query<ListQuery>,
) -> AppResult<Response> {
    f.q = f.q.trim().to_string();
    // unknown filter values are ignored rather than matching nothing
    f.category = Category::parse(&f.category)
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    f.status = ProductStatus::parse(&f.status)
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    f.visibility = Visibility::parse(&f.visibility)
        .map(|c| c.as_str().to_string())
        .unwrap_or_default();
    let req = PageRequest::new(parse_page(f.page.as_deref()));
    let filter = ProductFilter {
        search: &f.q,
        category: &f.category,
        status: &f.status,
        visibility: &f.visibility,
        after: None,
    };
    let (products, total) =
        service::list_products(&state.db, &actor, &filter, &f.sort, req).await?;
    let query = filter_query(&[
        ("q", &f.q),
        ("category", &f.category),
        ("status", &f.status),
        ("visibility", &f.visibility),
        ("sort", &f.sort),
    ]);
    let pager = Pager::new("/billing/products", req, total, query);
    let page = ListPage {
        layout,
        products,
        f,
        pager,
        can_write: service::can_write(&actor),
        categories: Category::ALL,
        statuses: ProductStatus::ALL,
        visibilities: Visibility::ALL,
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "billing/products/form.html", blocks = ["main"])]
struct FormPage {
    layout: Layout,
    /// `None` when creating.
    product_id: Option<String>,
    form: ProductInput,
    errors: FieldErrors,
    categories: &'static [Category],
    models: &'static [BillingModel],
    statuses: &'static [ProductStatus],
    visibilities: &'static [Visibility],
    taxes: &'static [TaxCategory],
    tier_modes: &'static [TierMode],
}

fn form_page(
    layout: Layout,
    product_id: Option<String>,
    form: ProductInput,
    errors: FieldErrors,
) -> FormPage {
    FormPage {
        layout,
        product_id,
        form,
        errors,
        categories: Category::ALL,
        models: BillingModel::ALL,
        statuses: &[ProductStatus::Active, ProductStatus::Inactive],
        visibilities: Visibility::ALL,
        taxes: TaxCategory::ALL,
        tier_modes: TierMode::ALL,
    }
}

pub async fn new_form(hx: Hx, layout: Layout, actor: Actor) -> AppResult<Response> {
    if !service::can_write(&actor) {
        return Err(AppError::Forbidden);
    }
    let form = ProductInput {
        category: "OTHER".into(),
        billing_model: "RECURRING".into(),
        status: "ACTIVE".into(),
        visibility: "PUBLIC".into(),
        tax_category: "STANDARD".into(),
        tier_mode: "GRADUATED".into(),
        ..ProductInput::default()
    };
    Ok(page!(hx, form_page(layout, None, form, FieldErrors::new()))?.into_response())
}

pub async fn create(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<ProductInput>,
) -> AppResult<Response> {
    match service::create_product(&state.db, &actor, &form).await {
        Ok(id) => Ok(flash::success(
            &state,
            &format!("/billing/products/{id}"),
            "Product created. Add its prices below.",
        )),
        Err(AppError::Invalid(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page!(hx, form_page(layout, None, form, errors))?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

pub async fn edit_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    if !service::can_write(&actor) {
        return Err(AppError::Forbidden);
    }
    let product = service::get_product(&state.db, &actor, &id).await?;
    let form = ProductInput::from_row(&product);
    Ok(page!(hx, form_page(layout, Some(id), form, FieldErrors::new()))?.into_response())
}

pub async fn update(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ProductInput>,
) -> AppResult<Response> {
    match service::update_product(&state.db, &actor, &id, &form).await {
        Ok(()) => Ok(flash::success(
            &state,
            &format!("/billing/products/{id}"),
            "Product saved.",
        )),
        Err(AppError::Invalid(errors)) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            page!(hx, form_page(layout, Some(id), form, errors))?,
        )
            .into_response()),
        Err(e) => Err(e),
    }
}

pub struct PriceView {
    pub id: String,
    pub currency: String,
    pub period: &'static str,
    pub amount: String,
    pub setup_fee: String,
}

pub struct TierView {
    pub id: String,
    pub currency: String,
    pub up_to: String,
    pub unit: String,
    pub flat: String,
}

pub struct OverrideView {
    pub id: String,
    pub scope: String,
    pub currency: String,
    pub period: &'static str,
    pub amount: String,
    pub setup_fee: String,
    pub window: String,
}

#[derive(Template)]
#[template(path = "billing/products/show.html", blocks = ["main"])]
pub struct ShowPage {
    pub layout: Layout,
    pub product: ProductRow,
    pub prices: Vec<PriceView>,
    pub tiers: Vec<TierView>,
    pub tiers_problem: String,
    pub overrides: Vec<OverrideView>,
    pub plan: Option<PlanRow>,
    pub can_write: bool,
    pub currencies: Vec<&'static str>,
    pub periods: &'static [Period],
    pub tenants: Vec<(String, String)>,
    pub price_form: PriceInput,
    pub price_errors: FieldErrors,
    pub tier_form: TierInput,
    pub tier_errors: FieldErrors,
    pub override_form: OverrideInput,
    pub override_errors: FieldErrors,
}

/// The product page with empty add-forms; handlers fill in one form's values and errors.
pub async fn show_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    id: &str,
) -> AppResult<ShowPage> {
    let service::ProductDetail {
        product,
        prices,
        tiers: tier_rows,
        overrides,
        plan,
    } = service::product_detail(&state.db, actor, id).await?;
    let prices = prices
        .into_iter()
        .map(|r| PriceView {
            period: r.period.label(),
            amount: money::format_money(r.amount_minor, &r.currency),
            setup_fee: money::format_money(r.setup_fee_minor, &r.currency),
            id: r.id,
            currency: r.currency,
        })
        .collect();
    let mut currencies_with_tiers: Vec<&str> =
        tier_rows.iter().map(|t| t.currency.as_str()).collect();
    currencies_with_tiers.dedup();
    let tiers_problem = currencies_with_tiers
        .iter()
        .find_map(|c| {
            model::tiers_problem(&service::tier_set(&tier_rows, c))
                .map(|p| format!("{c}: {p} Until then this product cannot be priced in {c}."))
        })
        .unwrap_or_default();
    let tiers = tier_rows
        .iter()
        .map(|t| TierView {
            id: t.id.clone(),
            currency: t.currency.clone(),
            up_to: if t.up_to < 0 {
                "and above".into()
            } else {
                format!("up to {}", t.up_to)
            },
            unit: money::format_money(t.unit_minor, &t.currency),
            flat: money::format_money(t.flat_minor, &t.currency),
        })
        .collect();
    let overrides = overrides
        .into_iter()
        .map(|o| OverrideView {
            scope: match (&o.tenant_name, o.region.as_str()) {
                (Some(t), "") => format!("Tenant {t}"),
                (Some(t), r) => format!("Tenant {t} in region {r}"),
                (None, "") => "Everyone (currency-wide)".into(),
                (None, r) => format!("Region {r}"),
            },
            period: o.period.label(),
            amount: money::format_money(o.amount_minor, &o.currency),
            setup_fee: money::format_money(o.setup_fee_minor, &o.currency),
            window: service::window_label(o.valid_from, o.valid_until),
            id: o.id,
            currency: o.currency,
        })
        .collect();
    let billing = product.billing_model;
    Ok(ShowPage {
        layout,
        plan,
        can_write: service::can_write(actor),
        currencies: money::currency_codes(),
        periods: model::periods_for(billing),
        tenants: crate::auth::reads::tenant_choices(&state.db, actor).await?,
        price_form: PriceInput {
            currency: "USD".into(),
            period: model::periods_for(billing)[0].as_str().into(),
            ..PriceInput::default()
        },
        price_errors: FieldErrors::new(),
        tier_form: TierInput {
            currency: "USD".into(),
            ..TierInput::default()
        },
        tier_errors: FieldErrors::new(),
        override_form: OverrideInput {
            currency: "USD".into(),
            period: model::periods_for(billing)[0].as_str().into(),
            ..OverrideInput::default()
        },
        override_errors: FieldErrors::new(),
        product,
        prices,
        tiers,
        tiers_problem,
        overrides,
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

#[derive(Template)]
#[template(path = "billing/products/row.html")]
struct RowFragment {
    p: ProductRow,
    can_write: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StatusForm {
    status: String,
    /// The status the person saw when choosing.
    from: String,
    /// `yes` once the person confirmed (deprecating is final).
    confirm: String,
}

/// Inline status change: htmx swaps the table row; without JavaScript, back to the product.
pub async fn change_status(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> AppResult<Response> {
    if let Some(step) = super::confirm_pages::deprecation_step(
        &state,
        hx,
        layout,
        &actor,
        &id,
        super::confirm_pages::Change {
            to: &form.status,
            from: &form.from,
            confirm: &form.confirm,
        },
    )
    .await?
    {
        return Ok(step);
    }
    let product = service::change_status(&state.db, &actor, &id, &form.status, &form.from).await?;
    if hx.wants_fragment() {
        return Ok(render(&RowFragment {
            p: product,
            can_write: true,
        })?
        .into_response());
    }
    let message = format!(
        "{} is now {}.",
        product.code,
        product.status_label().to_lowercase()
    );
    Ok(flash::success(
        &state,
        &format!("/billing/products/{id}"),
        &message,
    ))
}
