//! The `manual` driver (DESIGN.md "Provisioning"): like WHMCS's "auto release".

use super::{
    Checkpoint, PowerAction, ProvisionError, Provisioned, Provisioner, Resized, VmSpec, VmState,
    VmStatus,
};

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
}
