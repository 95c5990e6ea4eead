//! `/api/v1/billing/subscriptions`: subscriptions for API tokens, over the same service
//! functions as the pages. Reading needs READ; every change WRITE + BILLING, and the token's
//! user must be allowed the action as on the pages (customers' OWNER/ADMIN/BILLING order,
//! cancel and change plans for their own tenant; staff ADMIN+ suspend, resume and retry;
//! staff BILLING+ record usage). A customer's token sees only its tenant: another tenant's
//! subscription is 404.

mod actions;
mod plan;
mod types;
mod usage;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::model::SubscriptionStatus;
use super::service::{self, OrderInput, OrderSettings};
use super::store::SubscriptionFilter;
use crate::api::{ApiActor, ApiError, ApiJson, ApiQuery, CursorQuery};
use crate::security::model::Scope;
use crate::state::AppState;
use types::*;

pub fn routes() -> Router<AppState> {
    const ONE: &str = "/api/v1/billing/subscriptions/{id}";
    Router::new()
        .route("/api/v1/billing/subscriptions", get(list).post(order))
        .route("/api/v1/billing/subscriptions/quote", post(quote))
        .route(ONE, get(show))
        .route(&format!("{ONE}/cancel"), post(actions::cancel))
        .route(&format!("{ONE}/cancel/undo"), post(actions::undo_cancel))
        .route(&format!("{ONE}/suspend"), post(actions::suspend))
        .route(&format!("{ONE}/resume"), post(actions::resume))
        .route(&format!("{ONE}/retry"), post(actions::retry))
        .route(&format!("{ONE}/plan"), post(plan::change))
        .route(&format!("{ONE}/plan/withdraw"), post(plan::withdraw))
        .route(
            &format!("{ONE}/usage"),
            get(usage::list).post(usage::record),
        )
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, order, quote, actions::cancel, actions::undo_cancel, actions::suspend,
        actions::resume, actions::retry, plan::change, plan::withdraw, usage::list,
        usage::record),
    components(schemas(Subscription, SubscriptionList, Ref, ProductRef, PeriodOut, Item,
        InvoiceRef, MetricOut, EventOut, Ordered, Acted, LineOut, QuoteOut, PlanPreview,
        PlanAnswer, UsageRecord, UsagePosted, UsageList, OrderBody, actions::CancelBody,
        actions::ReasonBody, plan::PlanBody, usage::UsageBody)),
    tags((name = "subscriptions", description = "What customers ordered, and its lifecycle"))
)]
pub struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

type Id = Path<String>;

/// The subscription with its items, invoices, usage summary, timeline and pending plan
/// change, as the subscription page reads it.
pub(super) async fn detail(
    state: &AppState,
    api: &ApiActor,
    id: &str,
) -> Result<Subscription, ApiError> {
    let s = service::get(&state.db, &api.actor, id).await?;
    let d = service::detail(&state.db, &api.actor, &s).await?;
    let usage = service::current_usage(&state.db, &s).await?;
    let pending = service::plan_status(&state.db, &api.actor, &s)
        .await?
        .and_then(|p| p.pending);
    Ok(detailed(&s, &d, &usage, pending))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    /// Only subscriptions in this status.
    status: Option<String>,
    /// Only subscriptions of this product (its id).
    product_id: Option<String>,
    /// Staff: only this tenant's subscriptions (ignored for customers, who see their own).
    tenant_id: Option<String>,
    /// Subscriptions whose pod name, product or tenant name contains this.
    q: Option<String>,
    /// How many subscriptions (1 to 100, 25 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The subscriptions the token's user sees, newest first.
#[utoipa::path(get, path = "/api/v1/billing/subscriptions", tag = "subscriptions",
    description = "Scope: READ. Customers see their tenant's subscriptions, staff every tenant's.",
    params(ListQuery),
    responses((status = 200, description = "One page of subscriptions", body = SubscriptionList)))]
async fn list(
    State(state): State<AppState>,
    api: ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<SubscriptionList>, ApiError> {
    api.read()?;
    let at = CursorQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => "",
        Some(s) => SubscriptionStatus::parse(s)
            .map(|s| s.as_str())
            .ok_or_else(|| ApiError::bad_parameter("status", "No such subscription status."))?,
    };
    let filter = SubscriptionFilter {
        tenant_id: q.tenant_id.as_deref().unwrap_or_default().trim(),
        status,
        product_id: q.product_id.as_deref().unwrap_or_default().trim(),
        q: q.q.as_deref().unwrap_or_default().trim(),
        after: at.after(),
    };
    let req = crate::web::pagination::PageRequest {
        page: 1,
        size: at.fetch(),
    };
    let (rows, _) = service::list(&state.db, &api.actor, &filter, req).await?;
    let page = at.finish(rows, |s| (s.created_at.0, s.id.as_str()));
    Ok(Json(SubscriptionList {
        items: page.items.iter().map(subscription).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One subscription: its items, current period, invoices, usage summary and timeline.
#[utoipa::path(get, path = "/api/v1/billing/subscriptions/{id}", tag = "subscriptions",
    description = "Scope: READ.",
    params(("id" = String, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription", body = Subscription)))]
async fn show(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<Subscription>, ApiError> {
    api.read()?;
    Ok(Json(detail(&state, &api, &id).await?))
}

/// An order, as the order page takes it.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OrderBody {
    /// Staff: the customer tenant ordered for (customers order for their own).
    pub tenant_id: String,
    /// The product's code.
    pub product: String,
    /// MONTHLY, YEARLY or HOURLY.
    pub period: String,
    /// 1 when absent (a CloudPod: always 1).
    #[schema(value_type = Option<i64>)]
    pub quantity: Value,
    /// ADDON products' codes, each once.
    pub addons: Vec<String>,
    /// A CloudPod's name.
    pub pod_name: String,
    /// A CloudPod's region (the tenant's when empty).
    pub region: String,
}

/// A JSON number or string as the form field's text.
pub(super) fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl OrderBody {
    /// The order form's fields. `key` makes the order once: the service answers the
    /// subscription a repeat of the same key created.
    fn input(self, key: String) -> OrderInput {
        OrderInput {
            tenant_id: self.tenant_id,
            product: self.product,
            period: self.period,
            quantity: match text(&self.quantity) {
                q if q.is_empty() => "1".into(),
                q => q,
            },
            addon: self.addons,
            pod_name: self.pod_name,
            region: self.region,
            idempotency_key: key,
            confirm: "yes".into(),
        }
    }
}

/// The order's own key: derived from the token and its `Idempotency-Key` (so a repeat after
/// the kept answer expired still finds the order), else a fresh one.
fn order_key(api: &ApiActor, headers: &HeaderMap) -> String {
    match headers
        .get(crate::api::idempotency::HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(k) => crate::security::crypto::sha256_hex(&format!("{}:{}", api.token_id, k.trim())),
        None => crate::db::new_id(),
    }
}

/// The price breakdown of an order (nothing is written).
#[utoipa::path(post, path = "/api/v1/billing/subscriptions/quote", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING. Whoever may order.",
    request_body = OrderBody,
    responses((status = 200, description = "The breakdown the first invoice would carry", body = QuoteOut)))]
async fn quote(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(body): ApiJson<OrderBody>,
) -> Result<Json<QuoteOut>, ApiError> {
    api.write(Scope::Billing)?;
    let input = body.input(crate::db::new_id());
    let q = service::quote(&state.db, &api.actor, &input).await?;
    Ok(Json(types::quote(&q)))
}

/// Orders: the subscription and its first invoice, issued at once (none for a trial or a
/// zero total: activation starts at once). Customers' OWNER/ADMIN/BILLING for their tenant,
/// staff BILLING+ for any customer tenant.
#[utoipa::path(post, path = "/api/v1/billing/subscriptions", tag = "subscriptions",
    description = "Scopes: WRITE + BILLING.",
    request_body = OrderBody,
    responses((status = 201, description = "The new subscription and its first invoice", body = Ordered)))]
async fn order(
    State(state): State<AppState>,
    api: ApiActor,
    headers: HeaderMap,
    ApiJson(body): ApiJson<OrderBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let input = body.input(order_key(&api, &headers));
    let settings = OrderSettings {
        expiry_days: state.config.order_expiry_days,
    };
    let id = service::order(&state.db, &api.actor, &settings, &input).await?;
    let subscription = detail(&state, &api, &id).await?;
    let first_invoice_id = subscription
        .invoices
        .as_ref()
        .and_then(|i| i.first())
        .map(|i| i.id.clone());
    Ok((
        StatusCode::CREATED,
        Json(Ordered {
            subscription,
            first_invoice_id,
        }),
    )
        .into_response())
}
