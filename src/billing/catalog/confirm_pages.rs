//! Deprecating a product is final (it can never be sold again), so a status change to
//! Deprecated without `confirm=yes` answers the confirmation step (see `web::confirm`).
//! A change that would be refused anyway (no right, stale form, not allowed) is left to the
//! service, which says why.

use axum::response::Response;

use super::model::{self, ProductStatus};
use super::service;
use crate::actor::Actor;
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
use crate::web::{AppResult, Hx, Layout};

/// A status change as posted.
pub struct Change<'a> {
    pub to: &'a str,
    /// The status the person saw when choosing.
    pub from: &'a str,
    /// The `confirm` field.
    pub confirm: &'a str,
}

/// `Some(page)` when this change needs the person's confirmation first.
pub async fn deprecation_step(
    state: &AppState,
    hx: Hx,
    layout: Layout,
    actor: &Actor,
    id: &str,
    change: Change<'_>,
) -> AppResult<Option<Response>> {
    let Change {
        to,
        from,
        confirm: confirm_field,
    } = change;
    if ProductStatus::parse(to) != Some(ProductStatus::Deprecated)
        || confirm::confirmed(confirm_field)
        || !service::can_write(actor)
    {
        return Ok(None);
    }
    let product = service::get_product(&state.db, actor, id).await?;
    if product.status.as_str() != from
        || !model::transition_allowed(product.status, ProductStatus::Deprecated)
    {
        return Ok(None);
    }
    let c = Confirm::new(
        format!("Deprecate {} ({})?", product.name, product.code),
        format!("/billing/products/{id}/status"),
    )
    .consequence(
        "A deprecated product can never be sold again and cannot be made active or inactive \
         afterwards; existing subscriptions and invoices keep it. This cannot be undone.",
    )
    .button("Deprecate product")
    .back(format!("/billing/products/{id}"))
    .field("status", ProductStatus::Deprecated.as_str())
    .field("from", from);
    confirm::ask(hx, layout, c).map(Some)
}
