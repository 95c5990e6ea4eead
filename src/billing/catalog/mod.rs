//! The product catalog: products, prices, usage tiers, price overrides, CloudPod plans.

pub mod api;
pub mod confirm_pages;
pub mod model;
pub mod pages;
pub mod price_pages;
pub mod pricing;
pub mod public;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing/products", get(pages::list).post(pages::create))
        .route("/billing/products/new", get(pages::new_form))
        .route(
            "/billing/products/{id}",
            get(pages::show).post(pages::update),
        )
        .route("/billing/products/{id}/edit", get(pages::edit_form))
        .route("/billing/products/{id}/status", post(pages::change_status))
        .route(
            "/billing/products/{id}/prices",
            post(price_pages::add_price),
        )
        .route(
            "/billing/products/{id}/prices/{price_id}/delete",
            post(price_pages::delete_price),
        )
        .route("/billing/products/{id}/tiers", post(price_pages::add_tier))
        .route(
            "/billing/products/{id}/tiers/{tier_id}/delete",
            post(price_pages::delete_tier),
        )
        .route(
            "/billing/products/{id}/overrides",
            post(price_pages::add_override),
        )
        .route(
            "/billing/products/{id}/overrides/{override_id}/delete",
            post(price_pages::delete_override),
        )
        .route("/billing/products/{id}/pricing", get(price_pages::pricing))
        .route("/billing/plans", get(public::plans))
        .route("/billing/plans/{code}", post(public::update_plan))
        .route("/catalog", get(public::catalog))
}
