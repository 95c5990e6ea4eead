//! `/ops/jobs`: any staff member reads the queue; staff ADMIN+ retry and cancel (the `/ops`
//! overview is the `ops` feature's).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::model::{self, JobState};
use super::service::{self, KindCounts, QueueFilter};
use super::store::{ErrorRow, JobRow};
use crate::actor::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::flash::Flash;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppResult, Hx, Layout, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops/jobs", get(list))
        .route("/ops/jobs/{id}", get(show))
        .route("/ops/jobs/{id}/retry", post(retry))
        .route("/ops/jobs/{id}/cancel", post(cancel))
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    state: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "ops/jobs.html", blocks = ["main"])]
struct JobsPage {
    layout: Layout,
    states: &'static [JobState],
    selected: Option<JobState>,
    by_kind: Vec<KindCounts>,
    totals: Vec<i64>,
    jobs: Vec<JobRow>,
    kinds: Vec<String>,
    q: ListQuery,
    pager: Pager,
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(mut q): Query<ListQuery>,
) -> AppResult<Response> {
    let selected = JobState::parse(&q.state);
    q.state = selected.map(|s| s.as_str().to_string()).unwrap_or_default();
    q.kind = q.kind.trim().chars().take(model::MAX_KIND).collect();
    q.q = q.q.trim().chars().take(100).collect();
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    let filter = QueueFilter {
        state: selected,
        kind: &q.kind,
        search: &q.q,
    };
    let queue = service::queue(&state.db, &actor, &filter, req).await?;
    let kinds = queue.by_kind.iter().map(|k| k.kind.clone()).collect();
    let pager = Pager::new(
        "/ops/jobs",
        req,
        queue.total,
        filter_query(&[("state", &q.state), ("kind", &q.kind), ("q", &q.q)]),
    );
    let page = JobsPage {
        layout,
        states: JobState::ALL,
        selected,
        by_kind: queue.by_kind,
        totals: queue.totals,
        jobs: queue.jobs,
        kinds,
        q,
        pager,
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "ops/job.html", blocks = ["main", "job"])]
struct JobPage {
    layout: Layout,
    job: JobRow,
    payload: String,
    errors: Vec<ErrorRow>,
    can_manage: bool,
    can_retry: bool,
    can_cancel: bool,
    /// Still moving: the status section polls until the job reaches a final state.
    live: bool,
    notice: Option<Flash>,
}

async fn job_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    job: JobRow,
    notice: Option<Flash>,
) -> AppResult<JobPage> {
    let errors = service::errors(&state.db, actor, &job).await?;
    let st = job.state;
    Ok(JobPage {
        layout,
        payload: model::display_payload(&job.payload),
        errors,
        can_manage: model::can_manage(actor),
        can_retry: st.can_retry(),
        can_cancel: st.can_cancel(),
        live: st.is_open(),
        job,
        notice,
    })
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    part: String,
}

pub async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Query(sq): Query<ShowQuery>,
) -> AppResult<Response> {
    let job = service::job(&state.db, &actor, &id).await?;
    let page = job_page(&state, layout, &actor, job, None).await?;
    // The status section polls itself with ?part=job.
    if hx.wants_fragment() && sq.part == "job" {
        return Ok(crate::web::render(&page.as_job())?.into_response());
    }
    Ok(page!(hx, page)?.into_response())
}

/// After retry/cancel: the refreshed status section for htmx, a redirect otherwise.
async fn after_change(
    state: &AppState,
    hx: Hx,
    layout: Layout,
    actor: &Actor,
    job: JobRow,
    message: String,
) -> AppResult<Response> {
    if hx.wants_fragment() {
        let notice = Some(Flash {
            kind: "success",
            message,
        });
        let page = job_page(state, layout, actor, job, notice).await?;
        return Ok(crate::web::render(&page.as_job())?.into_response());
    }
    Ok(flash::success(
        state,
        &format!("/ops/jobs/{}", job.id),
        &message,
    ))
}

pub async fn retry(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let job = service::retry(&state.db, &actor, &id).await?;
    let msg = format!("Job {} is queued to run again now.", job.kind);
    after_change(&state, hx, layout, &actor, job, msg).await
}

#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    let job = service::cancel(&state.db, &actor, &id, form.confirm == "yes").await?;
    let msg = format!("Job {} was cancelled; it will not run.", job.kind);
    after_change(&state, hx, layout, &actor, job, msg).await
}
