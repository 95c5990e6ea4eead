//! Proxmox tasks: a call that starts a task answers its UPID; the driver saves it (so a
//! later attempt resumes waiting for the same task) and polls
//! `/nodes/{node}/tasks/{upid}/status` until it stops, within the task timeout.

use reqwest::Method;
use serde_json::Value;

use super::client::Proxmox;
use super::settings::valid_name;
use crate::provision::{Checkpoint, ProvisionError, VmState};

/// What a finished task reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TaskEnd {
    pub(super) upid: String,
    /// `OK`, `WARNINGS: n`, or Proxmox's error text.
    pub(super) exitstatus: String,
}

impl TaskEnd {
    pub(super) fn ok(&self) -> bool {
        self.exitstatus == "OK" || self.exitstatus.starts_with("WARNINGS")
    }
    /// The task type in the UPID (`qmclone`, `qmstart`, …).
    pub(super) fn kind(&self) -> &str {
        upid_field(&self.upid, 5).unwrap_or("")
    }
}

/// Field `i` of `UPID:node:pid:pstart:starttime:type:id:user:`.
pub(super) fn upid_field(upid: &str, i: usize) -> Option<&str> {
    let mut fields = upid.split(':');
    if fields.next() != Some("UPID") {
        return None;
    }
    fields.nth(i - 1).filter(|s| !s.is_empty())
}

pub(super) fn valid_upid(upid: &str) -> bool {
    upid.starts_with("UPID:")
        && upid.len() < 512
        && !upid
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
}

impl Proxmox {
    /// Saves `upid` as the task in flight, waits for it, then clears it.
    pub(super) async fn run_task(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        upid: String,
        what: &str,
    ) -> Result<TaskEnd, ProvisionError> {
        if !valid_upid(&upid) {
            return Err(ProvisionError::Retryable(format!(
                "Proxmox {what}: the answer {upid:?} is not a task id (UPID)"
            )));
        }
        state.task = Some(upid.clone());
        cp.save(state).await?;
        self.finish_task(state, cp, what).await
    }

    /// Waits for `state.task` (which is saved) to end, then clears it and saves.
    pub(super) async fn finish_task(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        what: &str,
    ) -> Result<TaskEnd, ProvisionError> {
        let upid = state.task.clone().unwrap_or_default();
        let end = self.wait_task(state, &upid, what).await?;
        state.task = None;
        cp.save(state).await?;
        Ok(end)
    }

    pub(super) async fn wait_task(
        &self,
        state: &VmState,
        upid: &str,
        what: &str,
    ) -> Result<TaskEnd, ProvisionError> {
        if !valid_upid(upid) {
            // Nothing sensible to wait for: forget it.
            return Ok(TaskEnd {
                upid: upid.to_string(),
                exitstatus: "unknown task (not a UPID)".into(),
            });
        }
        let node = upid_field(upid, 1)
            .filter(|n| valid_name(n))
            .unwrap_or_else(|| self.node_of(state))
            .to_string();
        let path = format!("/nodes/{node}/tasks/{upid}/status");
        let deadline = tokio::time::Instant::now() + self.settings.task_timeout;
        loop {
            match self.call(Method::GET, &path, &[]).await {
                Ok(d) => {
                    if d.get("status").and_then(Value::as_str) == Some("stopped") {
                        let exitstatus = d
                            .get("exitstatus")
                            .and_then(Value::as_str)
                            .unwrap_or("unknown exit status")
                            .to_string();
                        return Ok(TaskEnd {
                            upid: upid.to_string(),
                            exitstatus,
                        });
                    }
                }
                Err(e)
                    if e.is_missing()
                        || e.message.to_ascii_lowercase().contains("no such task") =>
                {
                    // The node no longer knows the task (log rotated, node reinstalled):
                    // the caller re-reads the VM's state instead.
                    return Ok(TaskEnd {
                        upid: upid.to_string(),
                        exitstatus: format!("task no longer known to Proxmox ({})", e.message),
                    });
                }
                Err(e) => {
                    let err = self.fail(&format!("{what} (task {upid})"), e);
                    // A passing hiccup (5xx, a dropped connection) while polling: keep
                    // polling until the deadline; the task goes on regardless.
                    let transient = matches!(err, ProvisionError::Retryable(_));
                    if !transient || tokio::time::Instant::now() >= deadline {
                        return Err(err);
                    }
                    tracing::warn!(upid, error = %err, "polling a Proxmox task failed; retrying");
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ProvisionError::Retryable(format!(
                    "Proxmox {what}: task {upid} did not finish within {} s; it is still \
                     running on the hypervisor and the next attempt goes on waiting for it",
                    self.settings.task_timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }

    /// A call that answers a UPID (a task) or null (done synchronously): waits for the task.
    pub(super) async fn maybe_task(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        data: Value,
        what: &str,
    ) -> Result<(), ProvisionError> {
        if let Some(upid) = data.as_str().filter(|s| s.starts_with("UPID:")) {
            let end = self.run_task(state, cp, upid.to_string(), what).await?;
            if !end.ok() {
                return Err(ProvisionError::Retryable(format!(
                    "Proxmox {what}: the task ended in error: {}",
                    end.exitstatus
                )));
            }
        }
        Ok(())
    }

    /// A call that started before (saved in `state.task`): wait for it first.
    pub(super) async fn resume(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<Option<TaskEnd>, ProvisionError> {
        if state.task.is_none() {
            return Ok(None);
        }
        let end = self
            .finish_task(state, cp, "task of an earlier attempt")
            .await?;
        if !end.ok() {
            tracing::warn!(upid = %end.upid, exitstatus = %end.exitstatus,
                "an earlier Proxmox task ended in error; carrying on from the VM's state");
        }
        Ok(Some(end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upids() {
        let upid = "UPID:pve1:00001234:0000ABCD:65000000:qmclone:9000:mpanel@pve!prov:";
        assert!(valid_upid(upid));
        assert_eq!(upid_field(upid, 1), Some("pve1"));
        let end = TaskEnd {
            upid: upid.into(),
            exitstatus: "OK".into(),
        };
        assert!(end.ok());
        assert_eq!(end.kind(), "qmclone");
        assert!(!valid_upid("UPID:pve/../x"));
        assert!(!valid_upid("nope"));
    }
}
