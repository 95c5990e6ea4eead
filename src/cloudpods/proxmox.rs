//! The Proxmox VE driver. SCAFFOLD: being written in a separate branch; replaced wholesale.

use super::provisioner::{
    Checkpoint, PowerAction, ProvisionError, Provisioned, Provisioner, Resized, VmSpec, VmState,
    VmStatus,
};
use crate::config::Config;

#[derive(Clone, Debug)]
pub struct Proxmox {}

impl Proxmox {
    pub fn from_config(_config: &Config) -> anyhow::Result<Proxmox> {
        anyhow::bail!("the proxmox driver is not built yet")
    }
}

impl Provisioner for Proxmox {
    async fn provision(
        &self,
        _spec: &VmSpec,
        _state: &mut VmState,
        _cp: &dyn Checkpoint,
    ) -> Result<Provisioned, ProvisionError> {
        Err(ProvisionError::Permanent("not built".into()))
    }
    async fn resize(
        &self,
        _old: &VmSpec,
        _new: &VmSpec,
        _state: &mut VmState,
        _cp: &dyn Checkpoint,
    ) -> Result<Resized, ProvisionError> {
        Err(ProvisionError::Permanent("not built".into()))
    }
    async fn power(
        &self,
        _action: PowerAction,
        _state: &mut VmState,
        _cp: &dyn Checkpoint,
    ) -> Result<(), ProvisionError> {
        Err(ProvisionError::Permanent("not built".into()))
    }
    async fn delete(
        &self,
        _state: &mut VmState,
        _cp: &dyn Checkpoint,
    ) -> Result<(), ProvisionError> {
        Err(ProvisionError::Permanent("not built".into()))
    }
    async fn status(&self, _state: &VmState) -> Result<Option<VmStatus>, ProvisionError> {
        Err(ProvisionError::Permanent("not built".into()))
    }
}
