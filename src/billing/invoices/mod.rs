//! Invoices: drafts, issuing with gapless numbers, payments, refunds, void, credit notes, PDF.

pub mod api;
pub mod handlers;
pub mod model;
pub mod pages;
pub mod pdf;
pub mod service;
pub mod store;

use axum::Router;
use axum::routing::{get, post};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing/invoices", get(pages::list).post(pages::create))
        .route("/billing/invoices/new", get(pages::new_form))
        .route("/billing/payments", get(pages::payments))
        .route("/billing/invoices/issue-drafts", post(pages::issue_drafts))
        .route("/billing/invoices/{id}", get(pages::show))
        .route("/billing/invoices/{id}/lines", post(pages::add_line))
        .route(
            "/billing/invoices/{id}/lines/product",
            post(pages::add_product_line),
        )
        .route(
            "/billing/invoices/{id}/lines/{line_id}/delete",
            post(pages::delete_line),
        )
        .route("/billing/invoices/{id}/notes", post(pages::set_notes))
        .route("/billing/invoices/{id}/delete", post(pages::delete_draft))
        .route("/billing/invoices/{id}/issue", post(pages::issue))
        .route("/billing/invoices/{id}/pay", post(pages::pay))
        .route("/billing/invoices/{id}/refund", post(pages::refund))
        .route("/billing/invoices/{id}/void", post(pages::void))
        .route("/billing/invoices/{id}/credit", post(pages::credit))
        .route("/billing/invoices/{id}/pdf", get(pages::pdf))
        .route(
            "/billing/tax-rules",
            get(pages::tax_rules).post(pages::add_tax_rule),
        )
        .route(
            "/billing/tax-rules/{id}/delete",
            post(pages::delete_tax_rule),
        )
}
