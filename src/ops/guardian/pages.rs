//! `/ops/guardian`: the findings list with filters (any staff member), resolve or ignore
//! with a reason (staff ADMIN+).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::model::{self, FindingStatus, Severity};
use super::service;
use super::store::{Filter, FindingRow};
use crate::actor::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops/guardian", get(list))
        .route("/ops/guardian/{id}/resolve", post(resolve))
        .route("/ops/guardian/{id}/ignore", post(ignore))
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct ListQuery {
    status: String,
    severity: String,
    pod: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "ops/guardian.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    findings: Vec<FindingRow>,
    pager: Pager,
    q: ListQuery,
    statuses: &'static [FindingStatus],
    severities: &'static [Severity],
    can_triage: bool,
    /// The finding whose reason was refused, and why.
    failed: Option<(String, FieldErrors)>,
}

impl ListPage {
    fn reason_error(&self, id: &str) -> &str {
        match &self.failed {
            Some((f, e)) if f == id => e.get("reason"),
            _ => "",
        }
    }
}

async fn list_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    q: ListQuery,
    failed: Option<(String, FieldErrors)>,
) -> AppResult<ListPage> {
    let status = FindingStatus::parse(&q.status).map_or("", FindingStatus::as_str);
    let severity = Severity::parse(&q.severity).map_or("", Severity::as_str);
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    let filter = Filter {
        status,
        severity,
        pod_id: q.pod.trim(),
        tenant_id: "",
    };
    let (findings, total) = service::list(&state.db, actor, &filter, req).await?;
    let pager = Pager::new(
        "/ops/guardian",
        req,
        total,
        filter_query(&[
            ("status", status),
            ("severity", severity),
            ("pod", q.pod.trim()),
        ]),
    );
    Ok(ListPage {
        layout,
        findings,
        pager,
        q,
        statuses: FindingStatus::ALL,
        severities: Severity::ALL,
        can_triage: model::can_triage(actor),
        failed,
    })
}

async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let page = list_page(&state, layout, &actor, q, None).await?;
    Ok(page!(hx, page)?.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CloseForm {
    reason: String,
}

async fn close(
    state: AppState,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    id: String,
    to: FindingStatus,
    form: CloseForm,
) -> AppResult<Response> {
    match service::close(&state.db, &actor, &id, to, &form.reason, state.clock.now()).await {
        Ok(f) => Ok(flash::success(
            &state,
            "/ops/guardian",
            &format!(
                "Finding “{}” on {} marked {}.",
                f.title,
                f.pod_name,
                to.label().to_lowercase()
            ),
        )),
        Err(AppError::Invalid(errors)) => {
            let page = list_page(
                &state,
                layout,
                &actor,
                ListQuery::default(),
                Some((id, errors)),
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn resolve(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<CloseForm>,
) -> AppResult<Response> {
    close(state, hx, layout, actor, id, FindingStatus::Resolved, form).await
}

async fn ignore(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<CloseForm>,
) -> AppResult<Response> {
    close(state, hx, layout, actor, id, FindingStatus::Ignored, form).await
}
