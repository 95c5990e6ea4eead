//! `/api/v1/billing/products`: the catalog for API tokens, over the same service functions as
//! the product pages (staff BILLING+ read, staff ADMIN+ change). Reading needs READ; creating
//! and editing need WRITE + BILLING. A product answer carries its version as `ETag`; an edit
//! with `If-Match` is refused with 412 if the product changed meanwhile.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::model::{Category, ProductStatus};
use super::service::{self, ProductInput};
use super::store::{PriceRow, ProductFilter, ProductRow};
use crate::api::{ApiActor, ApiError, ApiJson, ApiMoney, ApiQuery, CursorQuery, rfc3339};
use crate::security::model::Scope;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/billing/products", get(list).post(create))
        .route("/api/v1/billing/products/{id}", get(show).patch(update))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, create, update),
    components(schemas(Product, ProductList, Price, ProductBody)),
    tags((name = "products", description = "The product catalog (staff)"))
)]
pub struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(Serialize, ToSchema)]
pub struct Product {
    pub id: String,
    pub code: String,
    pub name: String,
    pub description: String,
    /// CLOUDPOD, ADDON, EMAIL, DOMAIN, SECURITY, BACKUP, SUPPORT or OTHER.
    pub category: String,
    /// ONE_TIME, RECURRING, USAGE_BASED or USAGE_TIERED.
    pub billing_model: String,
    /// ACTIVE, INACTIVE or DEPRECATED.
    pub status: String,
    /// PUBLIC, PRIVATE or BETA.
    pub visibility: String,
    pub tax_category: String,
    /// The unit usage is counted in (usage products).
    pub unit_name: String,
    pub tier_mode: String,
    /// Free days a new subscription starts with.
    pub trial_days: i64,
    pub stripe_price_id: String,
    pub whmcs_product_id: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// The list prices (only on a single product).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prices: Option<Vec<Price>>,
}

#[derive(Serialize, ToSchema)]
pub struct Price {
    pub id: String,
    /// MONTHLY, YEARLY, ONE_TIME, …
    pub period: String,
    pub amount: ApiMoney,
    pub setup_fee: ApiMoney,
}

#[derive(Serialize, ToSchema)]
pub struct ProductList {
    pub items: Vec<Product>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A product's fields. Creating: the fields given, empty for the others. Editing: only the
/// fields given change (`status` is set on creation only).
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProductBody {
    pub code: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub category: Option<String>,
    pub billing_model: Option<String>,
    pub status: Option<String>,
    pub visibility: Option<String>,
    pub tax_category: Option<String>,
    pub unit_name: Option<String>,
    pub tier_mode: Option<String>,
    pub stripe_price_id: Option<String>,
    pub whmcs_product_id: Option<String>,
    /// 0 to 365.
    pub trial_days: Option<i64>,
}

impl ProductBody {
    /// These fields over `base` (the product as it is, or an empty form).
    fn over(self, mut base: ProductInput) -> ProductInput {
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut base.code, self.code);
        set(&mut base.name, self.name);
        set(&mut base.description, self.description);
        set(&mut base.category, self.category);
        set(&mut base.billing_model, self.billing_model);
        set(&mut base.status, self.status);
        set(&mut base.visibility, self.visibility);
        set(&mut base.tax_category, self.tax_category);
        set(&mut base.unit_name, self.unit_name);
        set(&mut base.tier_mode, self.tier_mode);
        set(&mut base.stripe_price_id, self.stripe_price_id);
        set(&mut base.whmcs_product_id, self.whmcs_product_id);
        if let Some(d) = self.trial_days {
            base.trial_days = d.to_string();
        }
        base
    }
}

fn product(p: &ProductRow, prices: Option<&[PriceRow]>) -> Product {
    Product {
        id: p.id.clone(),
        code: p.code.clone(),
        name: p.name.clone(),
        description: p.description.clone(),
        category: p.category.as_str().into(),
        billing_model: p.billing_model.as_str().into(),
        status: p.status.as_str().into(),
        visibility: p.visibility.as_str().into(),
        tax_category: p.tax_category.as_str().into(),
        unit_name: p.unit_name.clone(),
        tier_mode: p.tier_mode.as_str().into(),
        trial_days: p.trial_days,
        stripe_price_id: p.stripe_price_id.clone(),
        whmcs_product_id: p.whmcs_product_id.clone(),
        created_at: rfc3339(p.created_at),
        updated_at: rfc3339(p.updated_at),
        prices: prices.map(|rows| {
            rows.iter()
                .map(|r| Price {
                    id: r.id.clone(),
                    period: r.period.as_str().into(),
                    amount: ApiMoney::new(r.amount_minor, &r.currency),
                    setup_fee: ApiMoney::new(r.setup_fee_minor, &r.currency),
                })
                .collect()
        }),
    }
}

/// The product with its prices and its version in `ETag`.
async fn answer(
    state: &AppState,
    api: &ApiActor,
    id: &str,
    status: StatusCode,
) -> Result<Response, ApiError> {
    let d = service::product_detail(&state.db, &api.actor, id).await?;
    let mut res = (status, Json(product(&d.product, Some(&d.prices)))).into_response();
    if let Ok(v) = HeaderValue::from_str(&service::product_version(&d.product)) {
        res.headers_mut().insert(header::ETAG, v);
    }
    Ok(res)
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    /// Only products in this status.
    status: Option<String>,
    /// Only products of this category.
    category: Option<String>,
    /// Products whose name or code contains this.
    q: Option<String>,
    /// How many products (1 to 100, 25 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// The products, newest first.
#[utoipa::path(get, path = "/api/v1/billing/products", tag = "products",
    description = "Scope: READ. Staff BILLING+.",
    params(ListQuery),
    responses((status = 200, description = "One page of products", body = ProductList)))]
async fn list(
    State(state): State<AppState>,
    api: ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<ProductList>, ApiError> {
    api.read()?;
    let at = CursorQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let status = match q.status.as_deref().filter(|s| !s.is_empty()) {
        None => "",
        Some(s) => ProductStatus::parse(s)
            .map(|s| s.as_str())
            .ok_or_else(|| ApiError::bad_parameter("status", "No such product status."))?,
    };
    let category = match q.category.as_deref().filter(|s| !s.is_empty()) {
        None => "",
        Some(s) => Category::parse(s)
            .map(|s| s.as_str())
            .ok_or_else(|| ApiError::bad_parameter("category", "No such category."))?,
    };
    let filter = ProductFilter {
        search: q.q.as_deref().unwrap_or_default(),
        status,
        category,
        after: at.after(),
        ..ProductFilter::default()
    };
    let req = crate::web::pagination::PageRequest {
        page: 1,
        size: at.fetch(),
    };
    let (rows, _) = service::list_products(&state.db, &api.actor, &filter, "created", req).await?;
    let page = at.finish(rows, |p| (p.created_at.0, p.id.as_str()));
    Ok(Json(ProductList {
        items: page.items.iter().map(|p| product(p, None)).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One product with its prices; its version is in `ETag`.
#[utoipa::path(get, path = "/api/v1/billing/products/{id}", tag = "products",
    description = "Scope: READ. Staff BILLING+.",
    params(("id" = String, Path, description = "The product's id")),
    responses((status = 200, description = "The product", body = Product,
        headers(("ETag" = String, description = "The product's version, for If-Match")))))]
async fn show(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    api.read()?;
    answer(&state, &api, &id, StatusCode::OK).await
}

/// Creates a product (staff ADMIN+).
#[utoipa::path(post, path = "/api/v1/billing/products", tag = "products",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+.",
    request_body = ProductBody,
    responses((status = 201, description = "The new product", body = Product)))]
async fn create(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(body): ApiJson<ProductBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    let input = body.over(ProductInput::default());
    let id = service::create_product(&state.db, &api.actor, &input).await?;
    answer(&state, &api, &id, StatusCode::CREATED).await
}

/// Edits a product: only the fields given change. With `If-Match` (the `ETag` read), a
/// product changed meanwhile is refused with 412.
#[utoipa::path(patch, path = "/api/v1/billing/products/{id}", tag = "products",
    description = "Scopes: WRITE + BILLING. Staff ADMIN+.",
    params(("id" = String, Path, description = "The product's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag read; 412 if the product changed since")),
    request_body = ProductBody,
    responses((status = 200, description = "The product as edited", body = Product),
        (status = 412, description = "The product changed since the ETag was read", body = crate::api::error::ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ProductBody>,
) -> Result<Response, ApiError> {
    api.write(Scope::Billing)?;
    if body.status.is_some() {
        return Err(ApiError::invalid(
            "status",
            "A product's status is not edited here: it moves along its own steps.",
        ));
    }
    let if_match = headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().unwrap_or("\u{1}").to_string());
    let current = service::get_product(&state.db, &api.actor, &id).await?;
    let input = body.over(ProductInput::from_row(&current));
    service::update_product_at(&state.db, &api.actor, &id, &input, if_match.as_deref()).await?;
    answer(&state, &api, &id, StatusCode::OK).await
}
