//! CloudPod pages: the list, the new-pod form (staff), and the pod with its actions. While an
//! action's job runs, the pod section polls itself every second and stops when the job ends.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::{self, Action, PodStatus};
use super::reads;
use super::service::{self, CreateInput, DeleteInput, ResizeInput};
use super::store::{PodFilter, PodRow};
use crate::auth::model::Actor;
use crate::billing::catalog::store::PlanRow;
use crate::jobs::JobState;
use crate::jobs::read::JobRow;
use crate::ops::guardian::store::FindingRow;
use crate::page;
use crate::state::AppState;
use crate::web::actions::ActionRequest as Req;
use crate::web::flash::Flash;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

fn gb(mb: i64) -> String {
    if mb % 1024 == 0 {
        format!("{} GB", mb / 1024)
    } else {
        format!("{mb} MB")
    }
}

impl PodRow {
    pub fn status_label(&self) -> &'static str {
        self.status().label()
    }
    pub fn specs(&self) -> String {
        format!(
            "{} vCPU · {} RAM · {} GB disk",
            self.cpu_cores,
            gb(self.ram_mb),
            self.disk_gb
        )
    }
    pub fn busy_label(&self) -> String {
        self.busy()
            .map(|a| a.label().to_string())
            .unwrap_or_default()
    }
    pub fn is_busy(&self) -> bool {
        self.busy().is_some()
    }
    pub fn is_active(&self) -> bool {
        self.status() == PodStatus::Active
    }
    pub fn is_running(&self) -> bool {
        self.power() == model::PowerState::Running
    }
    pub fn is_deleted(&self) -> bool {
        self.status() == PodStatus::Deleted
    }
    pub fn is_failed(&self) -> bool {
        self.status() == PodStatus::Failed
    }
    pub fn is_suspended(&self) -> bool {
        self.status() == PodStatus::Suspended
    }
    pub fn pending(&self) -> bool {
        self.pending_reboot != 0
    }
    pub fn power_label(&self) -> &'static str {
        self.power().label()
    }
    pub fn vm_text(&self) -> String {
        match (self.vmid, self.node.as_deref()) {
            (Some(id), Some(node)) => format!("VMID {id} on {node}"),
            (Some(id), None) => format!("VMID {id}"),
            _ => "—".into(),
        }
    }
    pub fn ip_text(&self) -> String {
        self.ip_address.clone().unwrap_or_else(|| "—".into())
    }
    pub fn ram_usage(&self) -> String {
        match self.mem_used_mb {
            Some(used) => format!("{} of {}", gb(used), gb(self.ram_mb)),
            None => format!("not reported · {} configured", gb(self.ram_mb)),
        }
    }
    pub fn disk_usage(&self) -> String {
        model::usage_text(self.disk_used_gb, self.disk_gb, " GB")
    }
    pub fn websites_quota(&self) -> String {
        quota(self.max_websites)
    }
    pub fn email_quota(&self) -> String {
        quota(self.max_email_accounts)
    }
    pub fn progress_text(&self) -> String {
        let mut text = self.busy_label();
        if let (Some(attempt), Some(max)) = (self.op_attempt, self.op_max_attempts)
            && attempt > 0
        {
            text.push_str(&format!(" · attempt {attempt} of {max}"));
        }
        if let Some(p) = self.op_progress.as_deref().filter(|p| !p.is_empty()) {
            text.push_str(&format!(" · {p}"));
        }
        if self.op_job_state == Some(JobState::Available) {
            text.push_str(" · waiting for a worker");
        }
        text
    }
}

fn quota(limit: i64) -> String {
    if limit < 0 {
        "unlimited".into()
    } else {
        limit.to_string()
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    tenant_id: String,
    status: String,
    q: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "cloudpods/list.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    pods: Vec<PodRow>,
    f: ListQuery,
    errors: FieldErrors,
    tenants: Vec<(String, String)>,
    statuses: &'static [PodStatus],
    pager: Pager,
    can_manage: bool,
    is_staff: bool,
    manual: bool,
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(mut f): Query<ListQuery>,
) -> AppResult<Response> {
    if !service::can_read(&actor) {
        return Err(AppError::Forbidden);
    }
    f.status = PodStatus::parse(&f.status)
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    if !actor.is_staff {
        f.tenant_id.clear();
    }
    let req = PageRequest::new(parse_page(f.page.as_deref()));
    let filter = PodFilter {
        tenant_id: f.tenant_id.trim(),
        status: &f.status,
        q: &f.q,
        include_deleted: false,
        after: None,
    };
    let (pods, total) = reads::list_pods(&state.db, &actor, &filter, req).await?;
    let query = filter_query(&[
        ("tenant_id", &f.tenant_id),
        ("status", &f.status),
        ("q", &f.q),
    ]);
    let tenants = crate::auth::reads::tenant_choices(&state.db, &actor).await?;
    let page = ListPage {
        layout,
        pods,
        f,
        errors: FieldErrors::new(),
        tenants,
        statuses: PodStatus::ALL,
        pager: Pager::new("/cloudpods", req, total, query),
        can_manage: service::can_manage(&actor),
        is_staff: actor.is_staff,
        manual: state.provisioner.name() == "manual",
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "cloudpods/new.html", blocks = ["main"])]
struct NewPage {
    layout: Layout,
    form: CreateInput,
    errors: FieldErrors,
    /// The operator's own tenant, which the pod will belong to.
    owner: String,
    plans: Vec<PlanRow>,
    manual: bool,
}

async fn new_page(
    state: &AppState,
    actor: &Actor,
    layout: Layout,
    form: CreateInput,
    errors: FieldErrors,
) -> AppResult<NewPage> {
    Ok(NewPage {
        layout,
        form,
        errors,
        owner: reads::own_tenant_name(&state.db, actor).await?,
        plans: service::plan_choices(&state.db).await?,
        manual: state.provisioner.name() == "manual",
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(form): Query<CreateInput>,
) -> AppResult<Response> {
    let page = new_page(&state, &actor, layout, form, FieldErrors::new()).await?;
    Ok(page!(hx, page)?.into_response())
}

pub async fn create(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<CreateInput>,
) -> AppResult<Response> {
    match service::create(&state.db, &actor, state.provisioner.name(), &form).await {
        Ok(id) => Ok(flash::success(
            &state,
            &format!("/cloudpods/{id}"),
            "Pod created; provisioning has started.",
        )),
        Err(AppError::Invalid(errors)) => {
            let page = new_page(&state, &actor, layout, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "cloudpods/show.html", blocks = ["main"])]
pub struct ShowPage {
    layout: Layout,
    pod: PodRow,
    plans: Vec<PlanRow>,
    jobs: Vec<JobRow>,
    /// Guardian findings on the pod (`ops::guardian`), in the actor's scope.
    findings: Vec<FindingRow>,
    can_operate: bool,
    can_manage: bool,
    is_staff: bool,
    manual: bool,
    notice: Option<Flash>,
    resize_form: ResizeInput,
    resize_errors: FieldErrors,
    delete_form: DeleteInput,
    delete_errors: FieldErrors,
    /// The backup policy and runs (`backups::pages`).
    pub(crate) backups: super::backups::pages::PodBackups,
}

pub(crate) async fn show_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    id: &str,
) -> AppResult<ShowPage> {
    let pod = service::get(&state.db, actor, id).await?;
    let jobs = reads::pod_jobs(&state.db, actor, &pod, 20).await?;
    let findings = crate::ops::guardian::service::for_pod(&state.db, actor, &pod.id).await?;
    let backups = super::backups::pages::read(state, actor, &pod).await?;
    Ok(ShowPage {
        layout,
        backups,
        findings,
        plans: service::plan_choices(&state.db).await?,
        jobs,
        can_operate: service::can_operate(actor),
        can_manage: service::can_manage(actor),
        is_staff: actor.is_staff,
        manual: pod.provisioner == "manual",
        notice: None,
        resize_form: ResizeInput {
            plan_code: pod.plan_code.clone(),
        },
        resize_errors: FieldErrors::new(),
        delete_form: DeleteInput::default(),
        delete_errors: FieldErrors::new(),
        pod,
    })
}

pub async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let page = show_page(&state, layout, &actor, &id).await?;
    Ok(page!(hx, page)?.into_response())
}

crate::action_page!(ShowPage);

/// After an action: the refreshed pod (which then polls its job) with a notice, a redirect,
/// or the pod with the failing form's errors (see `web::actions`).
async fn respond(
    req: Req,
    id: &str,
    result: AppResult<String>,
    message: &str,
    on_invalid: impl FnOnce(&mut ShowPage, FieldErrors),
) -> AppResult<Response> {
    let Req {
        state,
        hx,
        layout,
        actor,
    } = req;
    crate::web::actions::answer(
        &state,
        hx,
        &format!("/cloudpods/{id}"),
        result.map(|_job_id| message.to_string()),
        || show_page(&state, layout, &actor, id),
        on_invalid,
    )
    .await
}

pub async fn resize(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<ResizeInput>,
) -> AppResult<Response> {
    let r = service::resize(&req.state.db, &req.actor, &id, &form).await;
    respond(req, &id, r, "Resize started.", |p, e| {
        p.resize_form = form;
        p.resize_errors = e;
    })
    .await
}

pub async fn delete(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<DeleteInput>,
) -> AppResult<Response> {
    let r = service::delete(&req.state.db, &req.actor, &id, &form).await;
    respond(req, &id, r, "Deletion started.", |p, e| {
        p.delete_form = form;
        p.delete_errors = e;
    })
    .await
}

async fn simple_action(req: Req, id: String, action: Action) -> AppResult<Response> {
    let r = service::act(&req.state.db, &req.actor, &id, action).await;
    let message = match action {
        Action::Start => "Start requested.",
        Action::Stop => "Shutdown requested.",
        Action::Reboot => "Reboot requested.",
        Action::Suspend => "Suspension requested.",
        Action::Resume => "Resume requested.",
        _ => "Provisioning retried.",
    };
    respond(req, &id, r, message, |_, _| {}).await
}

pub async fn suspend(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<PowerForm>,
) -> AppResult<Response> {
    if !crate::web::confirm::confirmed(&form.confirm) {
        return super::confirm_pages::ask(&req, &id, Action::Suspend).await;
    }
    simple_action(req, id, Action::Suspend).await
}

pub async fn resume(req: Req, Path(id): Path<String>) -> AppResult<Response> {
    simple_action(req, id, Action::Resume).await
}

pub async fn retry(req: Req, Path(id): Path<String>) -> AppResult<Response> {
    simple_action(req, id, Action::Retry).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct PowerForm {
    action: String,
    confirm: String,
}

pub async fn power(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<PowerForm>,
) -> AppResult<Response> {
    let Some(action) = Action::power(&form.action) else {
        return Err(AppError::refused(
            "Choose a power action: start, stop or reboot.",
        ));
    };
    if super::confirm_pages::asks_first(action) && !crate::web::confirm::confirmed(&form.confirm) {
        return super::confirm_pages::ask(&req, &id, action).await;
    }
    simple_action(req, id, action).await
}
