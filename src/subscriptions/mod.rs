//! Subscriptions: what a customer ordered, its periods and its lifecycle.

pub mod api;
pub mod handlers;
pub mod lines;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/billing/subscriptions",
            get(pages::list).post(pages::submit),
        )
        .route("/billing/subscriptions/new", get(pages::new_form))
        .route("/billing/subscriptions/{id}", get(pages::show))
        .route("/billing/subscriptions/{id}/retry", post(pages::retry))
        .route("/billing/subscriptions/{id}/suspend", post(pages::suspend))
        .route("/billing/subscriptions/{id}/resume", post(pages::resume))
        .route("/billing/subscriptions/{id}/cancel", post(pages::cancel))
        .route("/billing/subscriptions/{id}/keep", post(pages::undo_cancel))
        .route(
            "/billing/subscriptions/{id}/usage",
            post(pages::record_usage),
        )
        .route(
            "/billing/subscriptions/{id}/plan",
            get(pages::plan_form).post(pages::plan_submit),
        )
        .route(
            "/billing/subscriptions/{id}/plan/withdraw",
            post(pages::plan_withdraw),
        )
        .route(
            "/billing/subscriptions/{id}/plan/status",
            get(pages::plan_status),
        )
}
