//! CloudPods: small VMs a tenant runs, provisioned through background jobs.

pub mod provisioner;
pub mod proxmox;
