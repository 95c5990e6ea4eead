//! CloudPods: small VMs a tenant runs. Staff create them from a plan; every action (provision,
//! resize, suspend, resume, delete, power) is a job the worker carries out through the
//! configured provisioner.

pub mod api;
pub mod backups;
pub mod confirm_pages;
pub mod handlers;
pub mod model;
pub mod ordered;
pub mod pages;
pub mod reads;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cloudpods", get(pages::list).post(pages::create))
        .route("/cloudpods/new", get(pages::new_form))
        .route("/cloudpods/{id}", get(pages::show))
        .route("/cloudpods/{id}/resize", post(pages::resize))
        .route("/cloudpods/{id}/suspend", post(pages::suspend))
        .route("/cloudpods/{id}/resume", post(pages::resume))
        .route("/cloudpods/{id}/delete", post(pages::delete))
        .route("/cloudpods/{id}/power", post(pages::power))
        .route("/cloudpods/{id}/retry", post(pages::retry))
        .route(
            "/cloudpods/{id}/backup-policy",
            post(backups::pages::update_policy),
        )
}
