//! Handlers for a product's prices, tiers and overrides, and the pricing resolver page.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::{BillingModel, Period, PriceQuery};
use super::pages::{ShowPage, show_page};
use super::service::{self, OverrideInput, PriceInput, TierInput};
use super::store::ProductRow;
use super::{model, pricing};
use crate::auth::model::Actor;
use crate::billing::money;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

/// After an add/remove: back to the product (its section anchored), or the page with the
/// failing form's values and errors.
/// Where a successful change returns to: the product page, at its section.
struct Back<'a> {
    id: &'a str,
    anchor: &'a str,
    message: &'a str,
}

async fn respond(
    state: &AppState,
    hx: Hx,
    layout: Layout,
    actor: &Actor,
    back: Back<'_>,
    result: AppResult<()>,
    on_invalid: impl FnOnce(&mut ShowPage, FieldErrors),
) -> AppResult<Response> {
    let id = back.id;
    match result {
        Ok(()) => Ok(flash::success(
            state,
            &format!("/billing/products/{id}#{}", back.anchor),
            back.message,
        )),
        Err(AppError::Invalid(errors)) => {
            let mut page = show_page(state, layout, actor, id).await?;
            on_invalid(&mut page, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn add_price(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<PriceInput>,
) -> AppResult<Response> {
    let result = service::set_price(&state.db, &actor, &id, &form).await;
    respond(
        &state,
        hx,
        layout,
        &actor,
        Back {
            id: &id,
            anchor: "prices",
            message: "Price saved.",
        },
        result,
        |p, e| {
            p.price_form = form;
            p.price_errors = e;
        },
    )
    .await
}

pub async fn delete_price(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, price_id)): Path<(String, String)>,
) -> AppResult<Response> {
    service::delete_price(&state.db, &actor, &id, &price_id).await?;
    Ok(flash::success(
        &state,
        &format!("/billing/products/{id}#prices"),
        "Price removed.",
    ))
}

pub async fn add_tier(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<TierInput>,
) -> AppResult<Response> {
    let result = service::add_tier(&state.db, &actor, &id, &form).await;
    respond(
        &state,
        hx,
        layout,
        &actor,
        Back {
            id: &id,
            anchor: "tiers",
            message: "Tier added.",
        },
        result,
        |p, e| {
            p.tier_form = form;
            p.tier_errors = e;
        },
    )
    .await
}

pub async fn delete_tier(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, tier_id)): Path<(String, String)>,
) -> AppResult<Response> {
    service::delete_tier(&state.db, &actor, &id, &tier_id).await?;
    Ok(flash::success(
        &state,
        &format!("/billing/products/{id}#tiers"),
        "Tier removed.",
    ))
}

pub async fn add_override(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<OverrideInput>,
) -> AppResult<Response> {
    let result = service::add_override(&state.db, &actor, &id, &form)
        .await
        .map(|_| ());
    respond(
        &state,
        hx,
        layout,
        &actor,
        Back {
            id: &id,
            anchor: "overrides",
            message: "Price override added.",
        },
        result,
        |p, e| {
            p.override_form = form;
            p.override_errors = e;
        },
    )
    .await
}

pub async fn delete_override(
    State(state): State<AppState>,
    actor: Actor,
    Path((id, override_id)): Path<(String, String)>,
) -> AppResult<Response> {
    service::delete_override(&state.db, &actor, &id, &override_id).await?;
    Ok(flash::success(
        &state,
        &format!("/billing/products/{id}#overrides"),
        "Price override removed.",
    ))
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PricingQuery {
    tenant_id: String,
    region: String,
    currency: String,
    period: String,
    /// `YYYY-MM-DD`; today when empty.
    at: String,
    quantity: String,
}

#[derive(Template)]
#[template(path = "billing/products/pricing.html", blocks = ["main"])]
struct PricingPage {
    layout: Layout,
    product: ProductRow,
    q: PricingQuery,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    currencies: Vec<&'static str>,
    periods: &'static [Period],
    /// The answer, in words: "USD 8.00 per month — tenant override (…)".
    result: String,
    rule: String,
}

pub async fn pricing(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Query(mut q): Query<PricingQuery>,
) -> AppResult<Response> {
    let product = service::get_product(&state.db, &actor, &id).await?;
    let billing = product.billing_model;
    let mut errors = FieldErrors::new();
    // A chosen tenant brings its region and currency unless others were typed.
    let tenant = if q.tenant_id.is_empty() {
        None
    } else {
        crate::auth::reads::find_tenant(&state.db, &actor, &q.tenant_id).await?
    };
    if !q.tenant_id.is_empty() && tenant.is_none() {
        errors.add("tenant_id", "Choose a tenant from the list.");
    }
    if let Some(t) = &tenant {
        if q.region.trim().is_empty() {
            q.region = t.region.clone();
        }
        if q.currency.trim().is_empty() {
            q.currency = t.currency.clone();
        }
    }
    let currency = money::currency(if q.currency.is_empty() {
        "USD"
    } else {
        &q.currency
    });
    if currency.is_none() {
        errors.add("currency", "Choose a supported currency.");
    }
    let period = Period::parse(&q.period)
        .filter(|p| model::periods_for(billing).contains(p))
        .unwrap_or(model::periods_for(billing)[0]);
    q.period = period.as_str().into();
    let at = match q.at.trim() {
        "" => Timestamp::now().0,
        d => Timestamp::from_date(d).map(|t| t.0).unwrap_or_else(|| {
            errors.add("at", "Use a date like 2026-12-31.");
            Timestamp::now().0
        }),
    };
    let (mut result, mut rule) = (String::new(), String::new());
    if let (Some(cur), true) = (currency, errors.is_empty()) {
        q.currency = cur.code.into();
        if billing == BillingModel::UsageTiered {
            let rows = service::product_tiers(&state.db, &actor, &product).await?;
            let tiers = service::tier_set(&rows, cur.code);
            let quantity = q.quantity.trim().parse::<i64>().unwrap_or(0);
            let mode = product.tier_mode;
            result = match model::tiered_charge(&tiers, mode, quantity) {
                Ok(total) => format!(
                    "{quantity} {} cost {}",
                    product.unit_name,
                    money::format_money(total, cur.code)
                ),
                Err(e) => format!("Cannot price this: {e}."),
            };
            rule = format!("{} tiers in {}", mode.as_str().to_lowercase(), cur.code);
        } else {
            let query = PriceQuery {
                tenant_id: &q.tenant_id,
                region: q.region.trim(),
                currency: cur.code,
                period,
                at,
            };
            let mut conn = state.db.pool.acquire().await?;
            match pricing::resolve_one(&mut conn, &id, &query).await? {
                Some(r) => {
                    result = format!(
                        "{} {}",
                        money::format_money(r.amount_minor, cur.code),
                        period.label()
                    );
                    if r.setup_fee_minor > 0 {
                        result.push_str(&format!(
                            ", setup fee {}",
                            money::format_money(r.setup_fee_minor, cur.code)
                        ));
                    }
                    rule = match &r.rule {
                        Some(o) => format!(
                            "{} for {} ({})",
                            r.source.label(),
                            service::scope_label(&o.tenant_id, &o.region),
                            service::window_label(o.valid_from, o.valid_until)
                        ),
                        None => "base price".into(),
                    };
                }
                None => result = format!("No price {} in {}.", period.label(), cur.code),
            }
        }
    }
    let page = PricingPage {
        layout,
        product,
        q,
        errors,
        tenants: crate::auth::reads::tenant_choices(&state.db, &actor).await?,
        currencies: money::currency_codes(),
        periods: model::periods_for(billing),
        result,
        rule,
    };
    Ok(page!(hx, page)?.into_response())
}
