//! Provisioning: the `Provisioner` trait (DESIGN.md "Provisioning") and its two drivers,
//! [`manual`] (no hypervisor; the pod is marked active, like WHMCS's "auto release") and
//! [`proxmox`]. A lower layer than `cloudpods`: it knows VMs, not pods.
//!
//! Drivers are resumable: each call gets the pod's saved [`VmState`] (VMID, node, the task
//! in flight) and a [`Checkpoint`] that persists it. A driver saves a VMID or a task UPID
//! through the checkpoint *before* waiting on it, so an attempt that dies (worker crash,
//! lease lost, timeout) leaves enough behind for the next attempt to continue instead of
//! cloning twice.

pub mod backup;
pub mod manual;
pub mod proxmox;

use std::future::Future;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

pub use backup::{BackupCopy, HostStatus, beyond_retention};
pub use manual::Manual;
use proxmox::Proxmox;

use crate::config::Config;

/// What the panel remembers about the pod's virtual machine between attempts.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmState {
    pub vmid: Option<i64>,
    pub node: Option<String>,
    /// The hypervisor task this operation started and has not yet seen finish (a Proxmox
    /// UPID). When a call starts with `Some`, an earlier attempt of the same operation
    /// started it: wait for it before deciding what is left to do.
    pub task: Option<String>,
}

/// The resources a pod's VM should have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmSpec {
    /// Host name for the VM (letters, digits and hyphens).
    pub name: String,
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PowerAction {
    Start,
    /// ACPI shutdown (the guest shuts itself down).
    Shutdown,
    /// Hard stop.
    Stop,
    Reboot,
}

impl PowerAction {
    pub fn as_str(self) -> &'static str {
        match self {
            PowerAction::Start => "start",
            PowerAction::Shutdown => "shutdown",
            PowerAction::Stop => "stop",
            PowerAction::Reboot => "reboot",
        }
    }
    pub fn parse(s: &str) -> Option<PowerAction> {
        [
            PowerAction::Start,
            PowerAction::Shutdown,
            PowerAction::Stop,
            PowerAction::Reboot,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Provisioned {
    /// The VM's address when the hypervisor reports one (Proxmox: through the guest agent).
    pub ip_address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resized {
    /// CPU/RAM were changed in the VM's configuration but apply only at the next reboot
    /// (the VM is running). The disk, which only grows, applies at once.
    pub pending_reboot: bool,
}

/// What the hypervisor says about a VM now; `None` where it does not say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VmStatus {
    pub running: bool,
    pub mem_used_mb: Option<i64>,
    pub disk_used_gb: Option<i64>,
    pub ip_address: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    /// Worth another attempt (network error, 5xx, a task that did not finish in time).
    #[error("{0}")]
    Retryable(String),
    /// Will fail the same way again (401/403, bad configuration, a task that ended in error
    /// for a reason retrying cannot fix, disk shrink).
    #[error("{0}")]
    Permanent(String),
}

pub type CheckpointFuture<'a> =
    Pin<Box<dyn Future<Output = Result<(), ProvisionError>> + Send + 'a>>;

/// Persists the VM state of the pod being worked on (the job handler writes it to the pod's
/// row; tests record it).
pub trait Checkpoint: Send + Sync {
    fn save<'a>(&'a self, state: &'a VmState) -> CheckpointFuture<'a>;
}

/// A hypervisor driver. Every method may be called again after a partial earlier attempt
/// with the state that attempt saved, and must then finish the work rather than repeat it.
pub trait Provisioner: Send + Sync {
    /// Creates the VM (allocating a VMID when `state.vmid` is `None`), sizes it to `spec`
    /// and starts it.
    fn provision(
        &self,
        spec: &VmSpec,
        state: &mut VmState,
        checkpoint: &dyn Checkpoint,
    ) -> impl Future<Output = Result<Provisioned, ProvisionError>> + Send;

    /// Changes CPU/RAM to `new` and grows the disk when `new.disk_gb > old.disk_gb`
    /// (never shrinks: a smaller disk is a permanent error).
    fn resize(
        &self,
        old: &VmSpec,
        new: &VmSpec,
        state: &mut VmState,
        checkpoint: &dyn Checkpoint,
    ) -> impl Future<Output = Result<Resized, ProvisionError>> + Send;

    fn power(
        &self,
        action: PowerAction,
        state: &mut VmState,
        checkpoint: &dyn Checkpoint,
    ) -> impl Future<Output = Result<(), ProvisionError>> + Send;

    /// Stops and destroys the VM with its disks (`purge`). A VM that no longer exists is
    /// success.
    fn delete(
        &self,
        state: &mut VmState,
        checkpoint: &dyn Checkpoint,
    ) -> impl Future<Output = Result<(), ProvisionError>> + Send;

    /// `Ok(None)` when this driver cannot know (manual).
    fn status(
        &self,
        state: &VmState,
    ) -> impl Future<Output = Result<Option<VmStatus>, ProvisionError>> + Send;

    /// Why this driver cannot back up VMs (said as is to staff and customers); `None` when
    /// it can.
    fn backup_unsupported(&self) -> Option<String>;

    /// Backs the VM up to the backup storage and answers the backup made. Resumable like the
    /// others: the task is saved through the checkpoint before it is waited on.
    fn backup(
        &self,
        state: &mut VmState,
        checkpoint: &dyn Checkpoint,
    ) -> impl Future<Output = Result<BackupCopy, ProvisionError>> + Send;

    /// Removes the VM's backups beyond the newest `keep`; answers the ones removed.
    fn prune_backups(
        &self,
        state: &VmState,
        keep: usize,
    ) -> impl Future<Output = Result<Vec<BackupCopy>, ProvisionError>> + Send;

    /// The figures of hypervisor host `node`; `Ok(None)` when this driver has no hosts.
    fn host_status(
        &self,
        node: &str,
    ) -> impl Future<Output = Result<Option<HostStatus>, ProvisionError>> + Send;
}

/// The configured driver (`MPANEL_PROVISIONER`).
#[derive(Clone, Debug)]
pub enum Driver {
    Manual(Manual),
    Proxmox(Proxmox),
}

impl Driver {
    /// Builds the driver named in the configuration; an incomplete Proxmox configuration is
    /// an error at start-up rather than at the first job.
    pub fn from_config(config: &Config) -> anyhow::Result<Driver> {
        match config.provisioner.trim() {
            "" | "manual" => Ok(Driver::Manual(Manual)),
            "proxmox" => Ok(Driver::Proxmox(Proxmox::from_config(config)?)),
            other => anyhow::bail!("unknown provisioner {other:?} (use manual or proxmox)"),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Driver::Manual(_) => "manual",
            Driver::Proxmox(_) => "proxmox",
        }
    }

    pub async fn provision(
        &self,
        spec: &VmSpec,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<Provisioned, ProvisionError> {
        match self {
            Driver::Manual(d) => d.provision(spec, state, cp).await,
            Driver::Proxmox(d) => d.provision(spec, state, cp).await,
        }
    }

    pub async fn resize(
        &self,
        old: &VmSpec,
        new: &VmSpec,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<Resized, ProvisionError> {
        match self {
            Driver::Manual(d) => d.resize(old, new, state, cp).await,
            Driver::Proxmox(d) => d.resize(old, new, state, cp).await,
        }
    }

    pub async fn power(
        &self,
        action: PowerAction,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<(), ProvisionError> {
        match self {
            Driver::Manual(d) => d.power(action, state, cp).await,
            Driver::Proxmox(d) => d.power(action, state, cp).await,
        }
    }

    pub async fn delete(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<(), ProvisionError> {
        match self {
            Driver::Manual(d) => d.delete(state, cp).await,
            Driver::Proxmox(d) => d.delete(state, cp).await,
        }
    }

    pub async fn status(&self, state: &VmState) -> Result<Option<VmStatus>, ProvisionError> {
        match self {
            Driver::Manual(d) => d.status(state).await,
            Driver::Proxmox(d) => d.status(state).await,
        }
    }

    pub fn backup_unsupported(&self) -> Option<String> {
        match self {
            Driver::Manual(d) => d.backup_unsupported(),
            Driver::Proxmox(d) => d.backup_unsupported(),
        }
    }

    pub async fn backup(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<BackupCopy, ProvisionError> {
        match self {
            Driver::Manual(d) => d.backup(state, cp).await,
            Driver::Proxmox(d) => d.backup(state, cp).await,
        }
    }

    pub async fn prune_backups(
        &self,
        state: &VmState,
        keep: usize,
    ) -> Result<Vec<BackupCopy>, ProvisionError> {
        match self {
            Driver::Manual(d) => d.prune_backups(state, keep).await,
            Driver::Proxmox(d) => d.prune_backups(state, keep).await,
        }
    }

    pub async fn host_status(&self, node: &str) -> Result<Option<HostStatus>, ProvisionError> {
        match self {
            Driver::Manual(d) => d.host_status(node).await,
            Driver::Proxmox(d) => d.host_status(node).await,
        }
    }
}
