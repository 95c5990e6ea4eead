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
}

pub async fn dashboard(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let d = figures::gather(&state.db, &actor).await?;
    Ok(page!(hx, DashboardPage { layout, actor, d })?.into_response())
}
