//! CloudPod rules as pure functions: the status machine, which action is allowed when, resize
//! rules (disks never shrink) and what a finished job does to a pod.

use crate::text_enum;

text_enum!(PodStatus {
    Provisioning => "PROVISIONING" / "Provisioning",
    Active => "ACTIVE" / "Active",
    Suspended => "SUSPENDED" / "Suspended",
    Deleted => "DELETED" / "Deleted",
    Failed => "FAILED" / "Failed",
});

text_enum!(PowerState {
    Running => "RUNNING" / "Running",
    Stopped => "STOPPED" / "Stopped",
});

// What a user can ask of a pod; each action becomes one job (`Action::job_kind`).
text_enum!(Action {
    Provision => "provision" / "Provisioning",
    Retry => "retry" / "Retrying provisioning",
    Resize => "resize" / "Resizing",
    Suspend => "suspend" / "Suspending",
    Resume => "resume" / "Resuming",
    Delete => "delete" / "Deleting",
    Start => "start" / "Starting",
    Stop => "stop" / "Stopping",
    Reboot => "reboot" / "Rebooting",
});

impl Action {
    /// The job kind that carries the action out.
    pub fn job_kind(self) -> &'static str {
        match self {
            Action::Provision | Action::Retry => "cloudpod.provision",
            Action::Resize => "cloudpod.resize",
            Action::Suspend => "cloudpod.suspend",
            Action::Resume => "cloudpod.resume",
            Action::Delete => "cloudpod.delete",
            Action::Start | Action::Stop | Action::Reboot => "cloudpod.power",
        }
    }

    /// What a pod job is, in a customer's words (the pod's activity list).
    pub fn activity_label(job_kind: &str) -> &'static str {
        match job_kind {
            "cloudpod.provision" => "Setting up the pod",
            "cloudpod.resize" => "Resize",
            "cloudpod.power" => "Power change",
            "cloudpod.delete" => "Deletion",
            "cloudpod.suspend" => "Suspension",
            "cloudpod.resume" => "Resumption",
            "cloudpod.backup" => "Backup",
            _ => "Change",
        }
    }

    /// The power action a form or API body names (`start`, `stop`, `reboot`).
    pub fn power(name: &str) -> Option<Action> {
        match name.trim() {
            "start" => Some(Action::Start),
            "stop" => Some(Action::Stop),
            "reboot" => Some(Action::Reboot),
            _ => None,
        }
    }

    /// Staff ADMIN+ only: creating, retrying, suspending and resuming.
    pub fn staff_only(self) -> bool {
        matches!(
            self,
            Action::Provision | Action::Retry | Action::Suspend | Action::Resume
        )
    }
}

/// Why `action` cannot be taken on a pod in `status`/`power`, with `busy` naming the action
/// whose job is still running; `Ok` when it can.
pub fn check_action(
    status: PodStatus,
    power: PowerState,
    busy: Option<Action>,
    action: Action,
) -> Result<(), String> {
    use Action as A;
    use PodStatus as S;
    if status == S::Deleted {
        return Err("This pod has been deleted; nothing more can be done with it.".into());
    }
    if let Some(running) = busy {
        return Err(format!(
            "{} is in progress; wait until it finishes, then try again.",
            running.label()
        ));
    }
    match (status, action) {
        (S::Provisioning, A::Delete) => Ok(()),
        (S::Provisioning, _) => {
            Err("The pod is still being provisioned; wait until it is active.".into())
        }
        (S::Failed, A::Retry | A::Delete) => Ok(()),
        (S::Failed, _) => {
            Err("The pod failed to provision: retry the provisioning or delete the pod.".into())
        }
        (_, A::Retry) => Err("Only a pod that failed to provision can be retried.".into()),
        (_, A::Provision) => Err("The pod has been provisioned already.".into()),
        (S::Active, A::Resume) => Err("The pod is already active.".into()),
        (S::Active, A::Start) if power == PowerState::Running => {
            Err("The pod is already running.".into())
        }
        (S::Active, A::Stop | A::Reboot) if power == PowerState::Stopped => {
            Err("The pod is stopped; start it first.".into())
        }
        (S::Active, _) => Ok(()),
        (S::Suspended, A::Resume | A::Delete) => Ok(()),
        (S::Suspended, A::Suspend) => Err("The pod is already suspended.".into()),
        (S::Suspended, A::Resize) => Err("Resume the pod before resizing it.".into()),
        (S::Suspended, _) => {
            Err("The pod is suspended: it cannot be started until it is resumed.".into())
        }
        (S::Deleted, _) => unreachable!("handled above"),
    }
}

/// CPU, RAM and disk of a pod or plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Specs {
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
}

/// A resize from `current` on plan `from` to plan `to` with `target` specs.
pub fn check_resize(from: &str, current: Specs, to: &str, target: Specs) -> Result<(), String> {
    if from == to {
        return Err(format!("The pod is already on the {to} plan."));
    }
    if target.disk_gb < current.disk_gb {
        return Err(format!(
            "The {to} plan has a {} GB disk, smaller than this pod's {} GB. Disks never shrink: \
             choose a plan with at least {} GB of disk.",
            target.disk_gb, current.disk_gb, current.disk_gb
        ));
    }
    Ok(())
}

/// Pod names become VM host names: 1–63 of a-z, 0-9 and '-', not starting or ending with '-'.
pub fn pod_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err("This field is required.");
    }
    if name.len() > 63 {
        return Err("Use at most 63 characters.");
    }
    let ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok || name.starts_with('-') || name.ends_with('-') {
        return Err(
            "Use letters, digits and dashes (not at either end): it becomes the host name.",
        );
    }
    Ok(name)
}

/// Region codes such as `eu-west` or `us1`: 1–40 of a-z, 0-9 and '-'.
pub fn region_code(raw: &str) -> Result<String, &'static str> {
    let r = raw.trim().to_ascii_lowercase();
    if r.is_empty() {
        return Err("This field is required.");
    }
    if r.len() > 40 || !r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("Use up to 40 letters, digits and dashes, e.g. eu-west.");
    }
    Ok(r)
}

/// What a pod looks like after its action's job succeeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AfterSuccess {
    pub status: PodStatus,
    pub power: PowerState,
    /// `Some(v)` sets the pending-reboot flag, `None` keeps it.
    pub pending_reboot: Option<bool>,
}

/// `resize_pending` is what the driver said of a resize (CPU/RAM wait for a reboot).
pub fn after_success(
    action: Action,
    status: PodStatus,
    power: PowerState,
    resize_pending: bool,
) -> AfterSuccess {
    use Action as A;
    let keep = AfterSuccess {
        status,
        power,
        pending_reboot: None,
    };
    match action {
        A::Provision | A::Retry => AfterSuccess {
            status: PodStatus::Active,
            power: PowerState::Running,
            pending_reboot: Some(false),
        },
        // A stopped VM picks its new configuration up when it starts: nothing is pending.
        A::Resize => AfterSuccess {
            pending_reboot: Some(resize_pending && power == PowerState::Running),
            ..keep
        },
        A::Suspend => AfterSuccess {
            status: PodStatus::Suspended,
            power: PowerState::Stopped,
            ..keep
        },
        // Stop + start applies pending configuration, as a reboot does.
        A::Resume | A::Start => AfterSuccess {
            status: if action == A::Resume {
                PodStatus::Active
            } else {
                status
            },
            power: PowerState::Running,
            pending_reboot: Some(false),
        },
        A::Stop => AfterSuccess {
            power: PowerState::Stopped,
            ..keep
        },
        A::Reboot => AfterSuccess {
            power: PowerState::Running,
            pending_reboot: Some(false),
            ..keep
        },
        A::Delete => AfterSuccess {
            status: PodStatus::Deleted,
            power: PowerState::Stopped,
            pending_reboot: Some(false),
        },
    }
}

/// The status after an action's job gave up: only provisioning fails the pod; other actions
/// leave it as it was, with the error shown.
pub fn after_failure(action: Action, status: PodStatus) -> PodStatus {
    match action {
        Action::Provision | Action::Retry => PodStatus::Failed,
        _ => status,
    }
}

/// "12 of 20", "3 (unlimited)", or "not reported" when nothing measures it yet.
pub fn usage_text(used: Option<i64>, limit: i64, unit: &str) -> String {
    let limit_text = if limit < 0 {
        "unlimited".to_string()
    } else {
        format!("{limit}{unit}")
    };
    match used {
        Some(u) if limit < 0 => format!("{u}{unit} (unlimited)"),
        Some(u) => format!("{u}{unit} of {limit_text}"),
        None => format!("not reported · limit {limit_text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Action as A;
    use PodStatus as S;
    use PowerState::{Running, Stopped};

    fn ok(s: PodStatus, p: PowerState, a: Action) -> bool {
        check_action(s, p, None, a).is_ok()
    }

    #[test]
    fn stored_operations_round_trip_and_unknown_ones_are_errors() {
        for &a in Action::ALL {
            assert_eq!(Action::from_stored(a.as_str()).unwrap(), a);
        }
        // an idle pod stores '' (read as no operation), never a made-up action
        assert!(Action::from_stored("").is_err());
        assert!(Action::from_stored("explode").is_err());
    }

    #[test]
    fn nothing_is_allowed_on_a_deleted_pod() {
        for &a in Action::ALL {
            let err = check_action(S::Deleted, Stopped, None, a).unwrap_err();
            assert!(err.contains("deleted"), "{a}: {err}");
        }
    }

    #[test]
    fn a_running_action_blocks_every_other() {
        let err = check_action(S::Active, Running, Some(A::Resize), A::Reboot).unwrap_err();
        assert!(err.contains("Resizing is in progress"), "{err}");
    }

    #[test]
    fn provisioning_pods_only_allow_delete() {
        assert!(!ok(S::Provisioning, Stopped, A::Resize));
        assert!(!ok(S::Provisioning, Stopped, A::Start));
        assert!(ok(S::Provisioning, Stopped, A::Delete));
    }

    #[test]
    fn failed_pods_retry_or_delete() {
        assert!(ok(S::Failed, Stopped, A::Retry));
        assert!(ok(S::Failed, Stopped, A::Delete));
        assert!(!ok(S::Failed, Stopped, A::Resize));
        assert!(!ok(S::Active, Running, A::Retry));
    }

    #[test]
    fn active_and_suspended_round_trip() {
        assert!(ok(S::Active, Running, A::Suspend));
        assert!(!ok(S::Active, Running, A::Resume));
        assert!(ok(S::Suspended, Stopped, A::Resume));
        assert!(!ok(S::Suspended, Stopped, A::Suspend));
        assert!(!ok(S::Suspended, Stopped, A::Resize));
        assert!(!ok(S::Suspended, Stopped, A::Start));
        assert!(ok(S::Suspended, Stopped, A::Delete));
    }

    #[test]
    fn power_actions_follow_the_power_state() {
        assert!(ok(S::Active, Running, A::Reboot));
        assert!(ok(S::Active, Running, A::Stop));
        assert!(!ok(S::Active, Running, A::Start));
        assert!(ok(S::Active, Stopped, A::Start));
        assert!(!ok(S::Active, Stopped, A::Reboot));
        assert!(ok(S::Active, Stopped, A::Resize));
    }

    #[test]
    fn disks_never_shrink() {
        let pro = Specs {
            cpu_cores: 2,
            ram_mb: 2048,
            disk_gb: 50,
        };
        let mini = Specs {
            cpu_cores: 1,
            ram_mb: 1024,
            disk_gb: 20,
        };
        let err = check_resize("PRO", pro, "MINI", mini).unwrap_err();
        assert!(
            err.contains("never shrink") && err.contains("50 GB"),
            "{err}"
        );
        assert!(check_resize("MINI", mini, "PRO", pro).is_ok());
        assert!(check_resize("PRO", pro, "PRO", pro).is_err());
        // Same disk, fewer cores: allowed.
        let small_cpu = Specs {
            cpu_cores: 1,
            ..pro
        };
        assert!(check_resize("PRO", pro, "CUSTOM", small_cpu).is_ok());
    }

    #[test]
    fn resize_is_pending_only_while_running() {
        let r = after_success(A::Resize, S::Active, Running, true);
        assert_eq!(r.pending_reboot, Some(true));
        let r = after_success(A::Resize, S::Active, Stopped, true);
        assert_eq!(r.pending_reboot, Some(false));
        let r = after_success(A::Reboot, S::Active, Running, false);
        assert_eq!(r.pending_reboot, Some(false));
        assert_eq!(r.status, S::Active);
        let r = after_success(A::Stop, S::Active, Running, false);
        assert_eq!((r.power, r.pending_reboot), (Stopped, None));
    }

    #[test]
    fn lifecycle_results() {
        assert_eq!(
            after_success(A::Provision, S::Provisioning, Stopped, false).status,
            S::Active
        );
        assert_eq!(
            after_success(A::Suspend, S::Active, Running, false).status,
            S::Suspended
        );
        assert_eq!(
            after_success(A::Resume, S::Suspended, Stopped, false).status,
            S::Active
        );
        assert_eq!(
            after_success(A::Delete, S::Active, Running, false).status,
            S::Deleted
        );
        assert_eq!(after_failure(A::Provision, S::Provisioning), S::Failed);
        assert_eq!(after_failure(A::Resize, S::Active), S::Active);
    }

    #[test]
    fn power_actions_by_name() {
        assert_eq!(Action::power("reboot"), Some(A::Reboot));
        assert_eq!(Action::power("stop"), Some(A::Stop));
        assert_eq!(Action::power("start"), Some(A::Start));
        assert_eq!(Action::power("resize"), None);
    }

    #[test]
    fn names_become_host_names() {
        assert_eq!(pod_name(" Web-01 ").unwrap(), "web-01");
        assert!(pod_name("-web").is_err());
        assert!(pod_name("web_1").is_err());
        assert!(pod_name("").is_err());
        assert!(pod_name(&"a".repeat(64)).is_err());
        assert_eq!(region_code("EU-West").unwrap(), "eu-west");
        assert!(region_code("eu west").is_err());
    }

    #[test]
    fn usage_texts() {
        assert_eq!(usage_text(Some(3), 20, ""), "3 of 20");
        assert_eq!(usage_text(Some(3), -1, ""), "3 (unlimited)");
        assert_eq!(usage_text(None, 50, " GB"), "not reported · limit 50 GB");
    }
}
