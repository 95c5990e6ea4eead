//! `/billing/bill-runs`: the runs and what each did, "Run now", the dry run of the next run
//! and the check for missed invoices. Staff BILLING+.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::model::{RunStatus, Settings};
use super::reads::{self, Missed, Planned};
use super::service;
use super::store::RunRow;
use crate::auth::model::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, parse_page};
use crate::web::{AppError, AppResult, Hx, Layout, flash};

/// Rows the dry run and the check show at most.
const SHOW: usize = 200;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/billing/bill-runs", get(list).post(run_now))
        .route("/billing/bill-runs/preview", get(preview))
        .route("/billing/bill-runs/missed", get(missed))
}

impl RunRow {
    pub fn status(&self) -> RunStatus {
        RunStatus::of(self.finished_at.is_some(), self.failed)
    }
    pub fn failure_lines(&self) -> Vec<&str> {
        self.failures.lines().collect()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "billing/bill_runs/list.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    runs: Vec<RunRow>,
    pager: Pager,
    settings: Settings,
}

fn settings(state: &AppState) -> AppResult<Settings> {
    Settings::from_config(&state.config).map_err(AppError::Internal)
}

async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    let (runs, total) = reads::runs(&state.db, &actor, req).await?;
    let page = ListPage {
        layout,
        runs,
        pager: Pager::new("/billing/bill-runs", req, total, String::new()),
        settings: settings(&state)?,
    };
    Ok(page!(hx, page)?.into_response())
}

async fn run_now(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    let started = service::run_now(&state.db, &actor).await?;
    let message = if started {
        "Bill run started; it appears below when a worker has taken it."
    } else {
        "A bill run is already waiting or running; it appears below."
    };
    Ok(flash::success(&state, "/billing/bill-runs", message))
}

#[derive(Template)]
#[template(path = "billing/bill_runs/preview.html", blocks = ["main"])]
struct PreviewPage {
    layout: Layout,
    rows: Vec<Planned>,
    count: usize,
    as_of: crate::db::Timestamp,
}

async fn preview(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let as_of = state.clock.now();
    let (rows, count) = reads::preview(&state.db, &actor, &settings(&state)?, as_of, SHOW).await?;
    let page = PreviewPage {
        layout,
        rows,
        count,
        as_of,
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "billing/bill_runs/missed.html", blocks = ["main"])]
struct MissedPage {
    layout: Layout,
    rows: Vec<Missed>,
    as_of: crate::db::Timestamp,
}

async fn missed(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let as_of = state.clock.now();
    let rows = reads::missed(&state.db, &actor, &settings(&state)?, as_of, SHOW).await?;
    let page = MissedPage {
        layout,
        rows,
        as_of,
    };
    Ok(page!(hx, page)?.into_response())
}
