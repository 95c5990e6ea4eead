//! The Proxmox VE driver: the [`Provisioner`] implementation, composed of the VM steps
//! (`vm.rs`) and task waits (`tasks.rs`).
//!
//! Every call is resumable (see [`crate::provision`]): the VMID is saved before the clone
//! and each task's UPID before waiting on it, so a later attempt waits for the same task
//! instead of starting another.

use reqwest::Method;

use super::client::Proxmox;
use super::vm::{as_i64, pending_changes};
use crate::provision::{
    BackupCopy, Checkpoint, HostStatus, PowerAction, ProvisionError, Provisioned, Provisioner,
    Resized, VmSpec, VmState, VmStatus,
};

impl Provisioner for Proxmox {
    async fn provision(
        &self,
        spec: &VmSpec,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<Provisioned, ProvisionError> {
        if spec.disk_gb < 1 {
            return Err(ProvisionError::Permanent(format!(
                "invalid disk size {} GB",
                spec.disk_gb
            )));
        }
        let resumed = self.resume(state, cp).await?;

        let fresh = state.vmid.is_none();
        let vmid = match state.vmid {
            Some(vmid) => vmid,
            None => {
                let data = self
                    .call(Method::GET, "/cluster/nextid", &[])
                    .await
                    .map_err(|e| self.fail("allocating a VMID (cluster/nextid)", e))?;
                let vmid = as_i64(Some(&data)).ok_or_else(|| {
                    ProvisionError::Retryable(format!(
                        "Proxmox cluster/nextid answered {data}, not a VMID"
                    ))
                })?;
                // Saved before the clone: a retry reuses this VMID rather than cloning again.
                state.vmid = Some(vmid);
                state.node = Some(self.settings.node.clone());
                cp.save(state).await?;
                vmid
            }
        };
        if state.node.is_none() {
            state.node = Some(self.settings.node.clone());
            cp.save(state).await?;
        }
        let node = self.node_of(state).to_string();

        // A fresh VMID has not been cloned yet; a saved one may have been (by an earlier
        // attempt), so look before cloning.
        let existing = if fresh {
            None
        } else {
            self.current(&node, vmid).await?
        };
        match existing {
            Some(cur) => {
                self.check_ours(vmid, &cur, spec)?;
                if cur.lock.as_deref() == Some("clone") {
                    return Err(ProvisionError::Retryable(format!(
                        "VM {vmid} is still locked by its clone on node {node}: the clone has \
                         not finished yet"
                    )));
                }
            }
            None => {
                if let Some(end) = resumed.as_ref().filter(|e| !e.ok()) {
                    tracing::info!(vmid, exitstatus = %end.exitstatus,
                        "the earlier clone ended in error and left no VM: cloning again");
                }
                self.clone_vm(state, cp, &node, vmid, spec, fresh).await?;
            }
        }

        self.set_cpu_ram(state, cp, &node, vmid, spec).await?;
        self.grow_disk(state, cp, &node, vmid, spec.disk_gb).await?;

        let running = match self.current(&node, vmid).await? {
            Some(cur) => cur.running,
            None => {
                return Err(ProvisionError::Retryable(format!(
                    "VM {vmid} disappeared from node {node} while it was being set up"
                )));
            }
        };
        if !running {
            self.power_task(state, cp, &node, vmid, PowerAction::Start)
                .await?;
        }
        Ok(Provisioned {
            ip_address: self.guest_ip(&node, vmid).await,
        })
    }

    async fn resize(
        &self,
        old: &VmSpec,
        new: &VmSpec,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<Resized, ProvisionError> {
        if new.disk_gb < old.disk_gb {
            return Err(ProvisionError::Permanent(format!(
                "disks never shrink ({} GB to {} GB)",
                old.disk_gb, new.disk_gb
            )));
        }
        self.resume(state, cp).await?;
        let vmid = self.need_vmid(state)?;
        let node = self.node_of(state).to_string();
        if self.current(&node, vmid).await?.is_none() {
            return Err(ProvisionError::Permanent(format!(
                "VM {vmid} does not exist on Proxmox node {node}"
            )));
        }
        self.set_cpu_ram(state, cp, &node, vmid, new).await?;
        if new.disk_gb > old.disk_gb {
            self.grow_disk(state, cp, &node, vmid, new.disk_gb).await?;
        }
        let running = self
            .current(&node, vmid)
            .await?
            .is_some_and(|cur| cur.running);
        let cpu_ram_changed = new.cpu_cores != old.cpu_cores || new.ram_mb != old.ram_mb;
        let pending_reboot = if !running {
            false
        } else {
            let path = format!("{}/pending", self.vm_path(&node, vmid));
            match self.call(Method::GET, &path, &[]).await {
                Ok(data) => pending_changes(&data),
                Err(e) => {
                    tracing::warn!(vmid, error = %e.message,
                        "cannot read the Proxmox pending changes; assuming a reboot is needed");
                    cpu_ram_changed
                }
            }
        };
        Ok(Resized { pending_reboot })
    }

    async fn power(
        &self,
        action: PowerAction,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<(), ProvisionError> {
        let resumed = self.resume(state, cp).await?;
        let vmid = self.need_vmid(state)?;
        let node = self.node_of(state).to_string();
        let wanted_kind = match action {
            PowerAction::Start => "qmstart",
            PowerAction::Shutdown => "qmshutdown",
            PowerAction::Stop => "qmstop",
            PowerAction::Reboot => "qmreboot",
        };
        if resumed
            .as_ref()
            .is_some_and(|end| end.ok() && end.kind() == wanted_kind)
        {
            return Ok(());
        }
        let Some(cur) = self.current(&node, vmid).await? else {
            return Err(ProvisionError::Permanent(format!(
                "VM {vmid} does not exist on Proxmox node {node}"
            )));
        };
        let action = match (action, cur.running) {
            (PowerAction::Start, true) => return Ok(()),
            (PowerAction::Shutdown | PowerAction::Stop, false) => return Ok(()),
            // Rebooting a stopped VM: starting it applies the pending changes too.
            (PowerAction::Reboot, false) => PowerAction::Start,
            (a, _) => a,
        };
        self.power_task(state, cp, &node, vmid, action).await
    }

    async fn delete(&self, state: &mut VmState, cp: &dyn Checkpoint) -> Result<(), ProvisionError> {
        self.resume(state, cp).await?;
        let Some(vmid) = state.vmid else {
            return Ok(());
        };
        let node = self.node_of(state).to_string();
        let Some(cur) = self.current(&node, vmid).await? else {
            return Ok(());
        };
        if cur.running {
            self.power_task(state, cp, &node, vmid, PowerAction::Stop)
                .await?;
        }
        let what = format!("deleting VM {vmid}");
        let path = format!(
            "{}?purge=1&destroy-unreferenced-disks=1",
            self.vm_path(&node, vmid)
        );
        let upid = match self.call(Method::DELETE, &path, &[]).await {
            Ok(d) => d.as_str().map(str::to_string),
            Err(e) if e.is_missing() => return Ok(()),
            Err(e) => return Err(self.fail(&what, e)),
        };
        if let Some(upid) = upid {
            let end = self.run_task(state, cp, upid, &what).await?;
            if !end.ok() && self.current(&node, vmid).await?.is_some() {
                return Err(ProvisionError::Retryable(format!(
                    "Proxmox {what}: the task ended in error: {}",
                    end.exitstatus
                )));
            }
        }
        Ok(())
    }

    async fn status(&self, state: &VmState) -> Result<Option<VmStatus>, ProvisionError> {
        let Some(vmid) = state.vmid else {
            return Ok(None);
        };
        let node = self.node_of(state);
        let Some(cur) = self.current(node, vmid).await? else {
            return Err(ProvisionError::Permanent(format!(
                "VM {vmid} does not exist on Proxmox node {node}"
            )));
        };
        const MB: i64 = 1024 * 1024;
        const GB: i64 = 1024 * MB;
        let ip_address = if cur.running {
            self.guest_ip(node, vmid).await
        } else {
            None
        };
        Ok(Some(VmStatus {
            running: cur.running,
            mem_used_mb: cur.mem.filter(|_| cur.running).map(|m| m / MB),
            disk_used_gb: cur.disk.filter(|d| *d > 0).map(|d| d / GB),
            ip_address,
        }))
    }

    fn backup_unsupported(&self) -> Option<String> {
        self.backup_storage_missing()
    }

    async fn backup(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<BackupCopy, ProvisionError> {
        self.backup_vm(state, cp).await
    }

    async fn prune_backups(
        &self,
        state: &VmState,
        keep: usize,
    ) -> Result<Vec<BackupCopy>, ProvisionError> {
        self.prune(state, keep).await
    }

    async fn host_status(&self, node: &str) -> Result<Option<HostStatus>, ProvisionError> {
        self.node_status(node).await.map(Some)
    }
}
