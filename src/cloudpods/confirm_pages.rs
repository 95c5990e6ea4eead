//! The confirmation step of a pod's disruptive actions (stop, reboot, suspend) for a request
//! without `confirm=yes` (see `web::confirm`): the same refusals as the action first (role,
//! scope, state), then the question.

use axum::response::Response;

use super::model::{self, Action};
use super::service;
use crate::web::actions::ActionRequest as Req;
use crate::web::confirm::{self, Confirm};
use crate::web::{AppError, AppResult};

/// Whether `action` asks first: it interrupts what runs on the pod.
pub fn asks_first(action: Action) -> bool {
    matches!(action, Action::Stop | Action::Reboot | Action::Suspend)
}

/// The confirmation page for `action` on pod `id`, or the refusal the action would get.
pub async fn ask(req: &Req, id: &str, action: Action) -> AppResult<Response> {
    let allowed = if action.staff_only() {
        service::can_manage(&req.actor)
    } else {
        service::can_operate(&req.actor)
    };
    if !allowed {
        return Err(AppError::Forbidden);
    }
    let pod = service::get(&req.state.db, &req.actor, id).await?;
    model::check_action(pod.status(), pod.power(), pod.busy(), action)
        .map_err(AppError::Refused)?;
    let name = &pod.name;
    let (question, consequence, button, url) = match action {
        Action::Stop => (
            format!("Stop {name}?"),
            "Its virtual machine shuts down: websites and mail on it stop answering until it is started again.",
            "Stop pod",
            "power",
        ),
        Action::Reboot => (
            format!("Reboot {name}?"),
            "Its virtual machine restarts: what runs on it is interrupted for a minute or two.",
            "Reboot pod",
            "power",
        ),
        _ => (
            format!("Suspend {name}?"),
            "Its virtual machine is stopped until staff resume it; the customer cannot start it.",
            "Suspend pod",
            "suspend",
        ),
    };
    let mut c = Confirm::new(question, format!("/cloudpods/{id}/{url}"))
        .consequence(consequence)
        .button(button)
        .back(format!("/cloudpods/{id}"));
    if url == "power" {
        c = c.field("action", action.as_str());
    }
    confirm::ask(req.hx, req.layout.clone(), c)
}
