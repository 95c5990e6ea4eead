//! `GET /`: the dashboard.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use super::figures::{self, Dashboard};
use crate::actor::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::{AppResult, Hx, Layout};

#[derive(Template)]
#[template(path = "home/dashboard.html", blocks = ["main"])]
struct DashboardPage {
    layout: Layout,
    actor: Actor,
    d: Dashboard,
    /// The customer can pay the invoices due online (Stripe configured).
    pay_online: bool,
    /// The tenant's account credit ("" without any).
    account_credit: String,
}

pub async fn dashboard(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let d = figures::gather(&state.db, &actor).await?;
    let pay_online = !actor.is_staff
        && state.config.payments.stripe_enabled()
        && d.invoices_due.as_ref().is_some_and(|i| !i.rows.is_empty());
    let account_credit = if actor.is_staff {
        String::new()
    } else {
        crate::billing::invoices::service::credit_text(&state.db, &actor, &actor.tenant_id).await?
    };
    let page = DashboardPage {
        layout,
        actor,
        d,
        pay_online,
        account_credit,
    };
    let mut res = page!(hx, page)?.into_response();
    if pay_online
        && let Some(csp) = crate::web::middleware::csp_with_form_target(
            &state.config.payments.stripe_checkout_origin,
        )
    {
        res.headers_mut()
            .insert(axum::http::header::CONTENT_SECURITY_POLICY, csp);
    }
    Ok(res)
}
