//! Online payments: Stripe Checkout for a customer's invoice, signed payment webhooks
//! (Stripe-Signature, Standard Webhooks) stored once by event id in an inbox and processed by
//! a job, recorded exactly once per gateway reference through the invoices' gateway service.

pub mod handlers;
pub mod model;
pub mod pages;
pub mod service;
pub mod signature;
pub mod store;
pub mod stripe;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

/// The webhook endpoints: outside the session layer (a gateway has no session; the
/// signature is checked on the raw body).
pub fn webhook_routes() -> Router<AppState> {
    Router::new()
        .route("/billing/webhooks/stripe", post(pages::stripe_webhook))
        .route("/billing/webhooks/generic", post(pages::generic_webhook))
}

/// The pages: the customer's Pay now and the staff inbox.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing/invoices/{id}/checkout", post(pages::checkout))
        .route("/billing/webhooks", get(pages::list))
        .route("/billing/webhooks/{id}", get(pages::show))
        .route("/billing/webhooks/{id}/replay", post(pages::replay))
}
