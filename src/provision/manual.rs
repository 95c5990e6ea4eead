//! The `manual` driver (DESIGN.md "Provisioning"): like WHMCS's "auto release".

use super::{
    BackupCopy, Checkpoint, HostStatus, PowerAction, ProvisionError, Provisioned, Provisioner,
    Resized, VmSpec, VmState, VmStatus,
};

/// What the manual driver says about backups.
pub const MANUAL_CANNOT_BACK_UP: &str = "The manual provisioner cannot back up pods: there is \
     no hypervisor connected, so no backups run. Back the VMs up by hand, or use the proxmox \
     provisioner.";

/// The `manual` driver: there is no hypervisor, so nothing is called; the operator provisions
/// by hand. Resizes of a running pod follow the platform rule (CPU/RAM at the next reboot).
#[derive(Clone, Debug, Default)]
pub struct Manual;

impl Provisioner for Manual {
    async fn provision(
        &self,
        _spec: &VmSpec,
        _state: &mut VmState,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<Provisioned, ProvisionError> {
        Ok(Provisioned::default())
    }

    async fn resize(
        &self,
        old: &VmSpec,
        new: &VmSpec,
        _state: &mut VmState,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<Resized, ProvisionError> {
        if new.disk_gb < old.disk_gb {
            return Err(ProvisionError::Permanent(format!(
                "disks never shrink ({} GB to {} GB)",
                old.disk_gb, new.disk_gb
            )));
        }
        Ok(Resized {
            pending_reboot: new.cpu_cores != old.cpu_cores || new.ram_mb != old.ram_mb,
        })
    }

    async fn power(
        &self,
        _action: PowerAction,
        _state: &mut VmState,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<(), ProvisionError> {
        Ok(())
    }

    async fn delete(
        &self,
        _state: &mut VmState,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<(), ProvisionError> {
        Ok(())
    }

    async fn status(&self, _state: &VmState) -> Result<Option<VmStatus>, ProvisionError> {
        Ok(None)
    }

    fn backup_unsupported(&self) -> Option<String> {
        Some(MANUAL_CANNOT_BACK_UP.into())
    }

    async fn backup(
        &self,
        _state: &mut VmState,
        _checkpoint: &dyn Checkpoint,
    ) -> Result<BackupCopy, ProvisionError> {
        Err(ProvisionError::Permanent(MANUAL_CANNOT_BACK_UP.into()))
    }

    async fn prune_backups(
        &self,
        _state: &VmState,
        _keep: usize,
    ) -> Result<Vec<BackupCopy>, ProvisionError> {
        Err(ProvisionError::Permanent(MANUAL_CANNOT_BACK_UP.into()))
    }

    async fn host_status(&self, _node: &str) -> Result<Option<HostStatus>, ProvisionError> {
        Ok(None)
    }
}
