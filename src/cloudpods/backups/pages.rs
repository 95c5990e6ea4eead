//! The backups section of the pod page (policy, its form, the runs) and the policy's POST.

use axum::Form;
use axum::extract::Path;
use axum::response::Response;

use super::model::{self, Frequency, RunStatus};
use super::service::{self, PolicyInput};
use super::store::{PolicyRow, RunRow};
use crate::auth::model::Actor;
use crate::cloudpods::store::PodRow;
use crate::jobs::model::precise;
use crate::state::AppState;
use crate::web::actions::ActionRequest as Req;
use crate::web::{AppResult, FieldErrors};

/// Runs shown on the pod page.
pub const RUNS_SHOWN: i64 = 20;

/// What the pod page shows about backups.
pub struct PodBackups {
    pub policy: Option<PolicyRow>,
    pub runs: Vec<RunRow>,
    pub can_edit: bool,
    /// Why the configured driver cannot back up, said instead of a schedule.
    pub unsupported: Option<String>,
    pub form: PolicyInput,
    pub errors: FieldErrors,
}

impl PodBackups {
    pub fn frequencies(&self) -> &'static [Frequency] {
        Frequency::ALL
    }
    pub fn policy_words(&self) -> String {
        match &self.policy {
            Some(p) => format!(
                "{}, keeping the newest {} {}",
                p.frequency.label(),
                p.retention,
                if p.retention == 1 {
                    "backup"
                } else {
                    "backups"
                }
            ),
            None => "No backup policy".into(),
        }
    }
    pub fn next_run(&self) -> Option<String> {
        self.policy.as_ref().map(|p| precise(&p.next_run_at))
    }
}

impl RunRow {
    pub fn size_label(&self) -> String {
        self.size_bytes.map(model::size_words).unwrap_or_default()
    }
    pub fn started_label(&self) -> String {
        precise(&self.started_at)
    }
    pub fn finished_label(&self) -> String {
        self.finished_at.as_ref().map(precise).unwrap_or_default()
    }
    pub fn failed(&self) -> bool {
        self.status == RunStatus::Failed
    }
}

pub async fn read(state: &AppState, actor: &Actor, pod: &PodRow) -> AppResult<PodBackups> {
    let (policy, runs) = service::for_pod(&state.db, actor, pod, RUNS_SHOWN).await?;
    let form = PolicyInput {
        frequency: policy
            .as_ref()
            .map(|p| p.frequency.as_str().to_string())
            .unwrap_or_default(),
        retention: policy
            .as_ref()
            .map(|p| p.retention.to_string())
            .unwrap_or_default(),
    };
    Ok(PodBackups {
        policy,
        runs,
        can_edit: model::can_edit_policy(actor),
        unsupported: model::unsupported_for(actor, state.provisioner.backup_unsupported()),
        form,
        errors: FieldErrors::new(),
    })
}

/// `POST /cloudpods/{id}/backup-policy`.
pub async fn update_policy(
    req: Req,
    Path(id): Path<String>,
    Form(form): Form<PolicyInput>,
) -> AppResult<Response> {
    let Req {
        state,
        hx,
        layout,
        actor,
    } = req;
    let result = service::update_policy(&state.db, &actor, &id, &form, state.clock.now()).await;
    crate::web::actions::answer(
        &state,
        hx,
        &format!("/cloudpods/{id}"),
        result,
        || crate::cloudpods::pages::show_page(&state, layout, &actor, &id),
        |p: &mut crate::cloudpods::pages::ShowPage, e| {
            p.backups.form = form;
            p.backups.errors = e;
        },
    )
    .await
}
