//! `/ops/servers`: the core nodes (any staff member reads; ADMIN+ register, change, delete
//! and open maintenance windows).

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::model::{self, CheckKind, NodeForm, NodeType, ShownStatus};
use super::probe_store::{HourRow, ProbeRow};
use super::service::{self, NodeView};
use crate::actor::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops/servers", get(list).post(create))
        .route("/ops/servers/new", get(new_form))
        .route("/ops/servers/{id}", get(show).post(update))
        .route("/ops/servers/{id}/edit", get(edit_form))
        .route("/ops/servers/{id}/delete", post(delete))
        .route("/ops/servers/{id}/maintenance", post(maintenance))
        .route("/ops/servers/{id}/maintenance/end", post(end_maintenance))
}

#[derive(Template)]
#[template(path = "ops/servers.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    nodes: Vec<NodeView>,
    can_manage: bool,
    /// Only nodes shown with this status (`?status=`), from the overview's figures.
    status: Option<ShownStatus>,
    statuses: &'static [ShownStatus],
}

impl ListPage {
    fn is_current(&self, s: &ShownStatus) -> bool {
        self.status == Some(*s)
    }
}

#[derive(Deserialize)]
struct ListQuery {
    #[serde(default)]
    status: String,
}

async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let status = ShownStatus::parse(&q.status);
    let mut nodes = service::list(&state.db, &actor, state.clock.now()).await?;
    if let Some(s) = status {
        nodes.retain(|n| n.shown == s);
    }
    Ok(page!(
        hx,
        ListPage {
            layout,
            nodes,
            can_manage: model::can_manage(&actor),
            status,
            statuses: ShownStatus::ALL,
        }
    )?
    .into_response())
}

#[derive(Template)]
#[template(path = "ops/server_form.html", blocks = ["main"])]
struct FormPage {
    layout: Layout,
    /// None: a new node.
    id: Option<String>,
    form: NodeForm,
    errors: FieldErrors,
    types: &'static [NodeType],
    kinds: &'static [CheckKind],
}

impl FormPage {
    fn action(&self) -> String {
        match &self.id {
            Some(id) => format!("/ops/servers/{id}"),
            None => "/ops/servers".into(),
        }
    }
}

fn form_page(layout: Layout, id: Option<String>, form: NodeForm, errors: FieldErrors) -> FormPage {
    FormPage {
        layout,
        id,
        form,
        errors,
        types: NodeType::ALL,
        kinds: CheckKind::ALL,
    }
}

async fn new_form(hx: Hx, layout: Layout, actor: Actor) -> AppResult<Response> {
    if !model::can_manage(&actor) {
        return Err(AppError::Forbidden);
    }
    let page = form_page(layout, None, NodeForm::blank(), FieldErrors::new());
    Ok(page!(hx, page)?.into_response())
}

async fn create(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<NodeForm>,
) -> AppResult<Response> {
    match service::create(&state.db, &actor, &form, state.clock.now()).await {
        Ok(id) => Ok(flash::success(
            &state,
            &format!("/ops/servers/{id}"),
            &format!(
                "Node {} registered; it is probed from now on.",
                form.hostname.trim()
            ),
        )),
        Err(AppError::Invalid(errors)) => {
            let page = form_page(layout, None, form, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

fn form_of(n: &NodeView) -> NodeForm {
    let r = &n.row;
    NodeForm {
        hostname: r.hostname.clone(),
        node_type: r.node_type.as_str().into(),
        region: r.region.clone(),
        address: r.address.clone(),
        check_kind: r.check_kind.as_str().into(),
        check_port: r.check_port.map(|p| p.to_string()).unwrap_or_default(),
        check_url: r.check_url.clone(),
        expected_status: r.expected_status.unwrap_or(200).to_string(),
        interval_secs: r.interval_secs.to_string(),
        timeout_ms: r.timeout_ms.to_string(),
    }
}

async fn edit_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    if !model::can_manage(&actor) {
        return Err(AppError::Forbidden);
    }
    let node = service::get(&state.db, &actor, &id, state.clock.now()).await?;
    let page = form_page(layout, Some(id), form_of(&node), FieldErrors::new());
    Ok(page!(hx, page)?.into_response())
}

async fn update(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<NodeForm>,
) -> AppResult<Response> {
    match service::update(&state.db, &actor, &id, &form, state.clock.now()).await {
        Ok(()) => Ok(flash::success(
            &state,
            &format!("/ops/servers/{id}"),
            &format!("Node {} saved.", form.hostname.trim()),
        )),
        Err(AppError::Invalid(errors)) => {
            let page = form_page(layout, Some(id), form, errors);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct MaintenanceForm {
    minutes: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "ops/server.html", blocks = ["main"])]
struct ShowPage {
    layout: Layout,
    node: NodeView,
    probes: Vec<ProbeRow>,
    hours: Vec<HourRow>,
    can_manage: bool,
    mform: MaintenanceForm,
    errors: FieldErrors,
}

impl ShowPage {
    fn at(t: &crate::db::Timestamp) -> String {
        crate::jobs::model::precise(t)
    }
    fn hour(h: &HourRow) -> String {
        crate::jobs::model::precise(&crate::db::Timestamp(h.hour_start))
    }
    fn mean_latency(h: &HourRow) -> i64 {
        if h.probes > 0 {
            h.latency_sum_ms / h.probes
        } else {
            0
        }
    }
}

async fn show_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    id: &str,
    m: MaintenanceForm,
    errors: FieldErrors,
) -> AppResult<ShowPage> {
    let node = service::get(&state.db, actor, id, state.clock.now()).await?;
    let (probes, hours) = service::history(&state.db, &node).await?;
    Ok(ShowPage {
        layout,
        node,
        probes,
        hours,
        can_manage: model::can_manage(actor),
        mform: m,
        errors,
    })
}

async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let page = show_page(
        &state,
        layout,
        &actor,
        &id,
        MaintenanceForm::default(),
        FieldErrors::new(),
    )
    .await?;
    Ok(page!(hx, page)?.into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ConfirmForm {
    confirm: String,
}

async fn delete(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    if !confirm::confirmed(&form.confirm) {
        let node = service::check_delete(&state.db, &actor, &id, now).await?;
        let ask = Confirm::new(
            format!("Delete node {}?", node.row.hostname),
            format!("/ops/servers/{id}/delete"),
        )
        .consequence("It is no longer probed, and its probe history and metrics are removed. This cannot be undone.")
        .button("Delete node")
        .back(format!("/ops/servers/{id}"));
        return confirm::ask(hx, layout, ask);
    }
    let hostname = service::delete(&state.db, &actor, &id, now).await?;
    Ok(flash::success(
        &state,
        "/ops/servers",
        &format!("Node {hostname} deleted."),
    ))
}

async fn maintenance(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<MaintenanceForm>,
) -> AppResult<Response> {
    let now = state.clock.now();
    match service::start_maintenance(&state.db, &actor, &id, &form.minutes, &form.reason, now).await
    {
        Ok(until) => Ok(flash::success(
            &state,
            &format!("/ops/servers/{id}"),
            &format!(
                "Maintenance until {}: the node is shown as MAINTENANCE, never DOWN.",
                crate::jobs::model::precise(&until)
            ),
        )),
        Err(AppError::Invalid(errors)) => {
            let page = show_page(&state, layout, &actor, &id, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

async fn end_maintenance(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    service::end_maintenance(&state.db, &actor, &id, state.clock.now()).await?;
    Ok(flash::success(
        &state,
        &format!("/ops/servers/{id}"),
        "Maintenance ended.",
    ))
}
