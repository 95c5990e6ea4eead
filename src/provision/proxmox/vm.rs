//! What the driver does to one VM: read its state (`status/current`, the guest agent's
//! address, pending changes) and the steps it composes (clone, CPU/RAM, disk, power).

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;

use super::client::Proxmox;
use crate::provision::{Checkpoint, PowerAction, ProvisionError, VmSpec, VmState};

/// True when `/pending` lists a change that waits for a reboot: an entry whose `pending`
/// differs from its `value`, or a pending deletion.
pub fn pending_changes(data: &Value) -> bool {
    fn text(v: &Value) -> String {
        match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }
    data.as_array().is_some_and(|entries| {
        entries.iter().any(|e| {
            let pending_delete = e
                .get("delete")
                .is_some_and(|d| d.as_i64().unwrap_or(0) != 0 || d.as_bool() == Some(true));
            let changed = e
                .get("pending")
                .is_some_and(|p| e.get("value").map(text) != Some(text(p)));
            pending_delete || changed
        })
    })
}

/// The first global IPv4 address the guest agent reports (else a global IPv6 one).
pub(super) fn agent_ip(data: &Value) -> Option<String> {
    let interfaces = data
        .get("result")
        .unwrap_or(data)
        .as_array()?
        .iter()
        .filter(|i| i.get("name").and_then(Value::as_str) != Some("lo"));
    let mut v6 = None;
    for iface in interfaces {
        let Some(addrs) = iface.get("ip-addresses").and_then(Value::as_array) else {
            continue;
        };
        for a in addrs {
            let Some(ip) = a
                .get("ip-address")
                .and_then(Value::as_str)
                .and_then(|s| s.parse::<std::net::IpAddr>().ok())
            else {
                continue;
            };
            match ip {
                std::net::IpAddr::V4(v4) => {
                    if !v4.is_loopback() && !v4.is_link_local() && !v4.is_unspecified() {
                        return Some(v4.to_string());
                    }
                }
                std::net::IpAddr::V6(v6addr) => {
                    let link_local = (v6addr.segments()[0] & 0xffc0) == 0xfe80;
                    if v6.is_none() && !v6addr.is_loopback() && !link_local {
                        v6 = Some(v6addr.to_string());
                    }
                }
            }
        }
    }
    v6
}

/// `status/current` of a VM.
#[derive(Debug, Clone)]
pub(super) struct Current {
    pub(super) running: bool,
    pub(super) name: Option<String>,
    pub(super) mem: Option<i64>,
    pub(super) disk: Option<i64>,
    pub(super) lock: Option<String>,
}

pub(super) fn as_i64(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl Proxmox {
    /// `status/current`; `Ok(None)` when the VM does not exist.
    pub(super) async fn current(
        &self,
        node: &str,
        vmid: i64,
    ) -> Result<Option<Current>, ProvisionError> {
        let path = format!("{}/status/current", self.vm_path(node, vmid));
        match self.call(Method::GET, &path, &[]).await {
            Ok(d) => Ok(Some(Current {
                running: d.get("status").and_then(Value::as_str) == Some("running"),
                name: d.get("name").and_then(Value::as_str).map(str::to_string),
                mem: as_i64(d.get("mem")),
                disk: as_i64(d.get("disk")),
                lock: d.get("lock").and_then(Value::as_str).map(str::to_string),
            })),
            Err(e) if e.is_missing() => Ok(None),
            Err(e) => Err(self.fail(&format!("status of VM {vmid}"), e)),
        }
    }

    /// The guest agent's address; any failure (no agent, not up yet) is `None`.
    pub(super) async fn guest_ip(&self, node: &str, vmid: i64) -> Option<String> {
        let path = format!("{}/agent/network-get-interfaces", self.vm_path(node, vmid));
        let call = self.call(Method::GET, &path, &[]);
        match tokio::time::timeout(Duration::from_secs(5), call).await {
            Ok(Ok(data)) => agent_ip(&data),
            _ => None,
        }
    }

    pub(super) fn need_vmid(&self, state: &VmState) -> Result<i64, ProvisionError> {
        state.vmid.ok_or_else(|| {
            ProvisionError::Permanent(
                "this pod has no Proxmox VM yet (no VMID saved): provision it first".into(),
            )
        })
    }

    pub(super) async fn set_cpu_ram(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        node: &str,
        vmid: i64,
        spec: &VmSpec,
    ) -> Result<(), ProvisionError> {
        if spec.cpu_cores < 1 || spec.ram_mb < 16 {
            return Err(ProvisionError::Permanent(format!(
                "invalid size: {} CPU cores and {} MB RAM",
                spec.cpu_cores, spec.ram_mb
            )));
        }
        let what = format!(
            "setting VM {vmid} to {} cores and {} MB RAM",
            spec.cpu_cores, spec.ram_mb
        );
        let data = self
            .call(
                Method::PUT,
                &format!("{}/config", self.vm_path(node, vmid)),
                &[
                    ("cores", spec.cpu_cores.to_string()),
                    ("memory", spec.ram_mb.to_string()),
                ],
            )
            .await
            .map_err(|e| self.fail(&what, e))?;
        self.maybe_task(state, cp, data, &what).await
    }

    pub(super) async fn grow_disk(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        node: &str,
        vmid: i64,
        disk_gb: i64,
    ) -> Result<(), ProvisionError> {
        let disk = &self.settings.disk;
        let what = format!("resizing disk {disk} of VM {vmid} to {disk_gb} GB");
        let result = self
            .call(
                Method::PUT,
                &format!("{}/resize", self.vm_path(node, vmid)),
                &[("disk", disk.clone()), ("size", format!("{disk_gb}G"))],
            )
            .await;
        match result {
            Ok(data) => self.maybe_task(state, cp, data, &what).await,
            Err(e) if e.message.to_ascii_lowercase().contains("shrinking") => {
                Err(ProvisionError::Permanent(format!(
                    "Proxmox {what}: the disk is already larger ({}); disks never shrink, so \
                     use a template whose disk is at most the plan's size",
                    e.message
                )))
            }
            Err(e) => Err(self.fail(&what, e)),
        }
    }

    /// Starts a power task and waits for it.
    pub(super) async fn power_task(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        node: &str,
        vmid: i64,
        action: PowerAction,
    ) -> Result<(), ProvisionError> {
        let what = format!("{} of VM {vmid}", action.as_str());
        let path = format!("{}/status/{}", self.vm_path(node, vmid), action.as_str());
        let data = self
            .call(Method::POST, &path, &[])
            .await
            .map_err(|e| self.fail(&what, e))?;
        let Some(upid) = data.as_str().map(str::to_string) else {
            return Ok(());
        };
        let end = self.run_task(state, cp, upid, &what).await?;
        if end.ok() {
            Ok(())
        } else {
            Err(ProvisionError::Retryable(format!(
                "Proxmox {what}: the task ended in error: {}",
                end.exitstatus
            )))
        }
    }

    /// Clones the template to `vmid` (success too when an earlier attempt's clone is found).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn clone_vm(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        node: &str,
        vmid: i64,
        spec: &VmSpec,
        fresh: bool,
    ) -> Result<(), ProvisionError> {
        let template = self.settings.template_vmid;
        let what = format!("clone of template {template} to VM {vmid}");
        let result = self
            .call(
                Method::POST,
                &format!("{}/clone", self.vm_path(node, template)),
                &[
                    ("newid", vmid.to_string()),
                    ("name", spec.name.clone()),
                    ("full", "1".into()),
                    ("storage", self.settings.storage.clone()),
                    ("target", node.to_string()),
                ],
            )
            .await;
        let upid = match result {
            Ok(d) => d.as_str().map(str::to_string).unwrap_or_default(),
            Err(e) if e.already_exists() => {
                // An earlier attempt's clone got through: make sure it is ours.
                return match self.current(node, vmid).await? {
                    Some(cur) if fresh && cur.name.as_deref() != Some(spec.name.as_str()) => {
                        // Someone else took the VMID between nextid and the clone.
                        state.vmid = None;
                        state.node = None;
                        cp.save(state).await?;
                        Err(ProvisionError::Retryable(format!(
                            "VMID {vmid} was taken by another VM ({:?}) before the clone; \
                             the next attempt allocates another",
                            cur.name.unwrap_or_default()
                        )))
                    }
                    Some(cur) => self.check_ours(vmid, &cur, spec),
                    None => Err(ProvisionError::Retryable(format!(
                        "Proxmox {what}: {} (yet the VM cannot be read; retrying)",
                        e.message
                    ))),
                };
            }
            Err(e) => return Err(self.fail(&what, e)),
        };
        let end = self.run_task(state, cp, upid, &what).await?;
        if end.ok() {
            Ok(())
        } else {
            Err(ProvisionError::Retryable(format!(
                "Proxmox {what} ended in error: {}",
                end.exitstatus
            )))
        }
    }

    pub(super) fn check_ours(
        &self,
        vmid: i64,
        cur: &Current,
        spec: &VmSpec,
    ) -> Result<(), ProvisionError> {
        match &cur.name {
            Some(name) if *name != spec.name => Err(ProvisionError::Permanent(format!(
                "VMID {vmid} on Proxmox belongs to a VM named {name:?}, not this pod's \
                 {:?}: refusing to take it over (check the VMID saved for this pod)",
                spec.name
            ))),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pending_diff() {
        assert!(!pending_changes(&json!([])));
        assert!(!pending_changes(&json!([
            {"key": "cores", "value": 2},
            {"key": "memory", "value": "2048"},
            {"key": "name", "value": "pod-1"}
        ])));
        // Same value pending (numbers and strings compare as text): nothing to apply.
        assert!(!pending_changes(&json!([
            {"key": "cores", "value": 2, "pending": "2"}
        ])));
        assert!(pending_changes(&json!([
            {"key": "cores", "value": 2, "pending": 4},
            {"key": "memory", "value": 2048}
        ])));
        assert!(pending_changes(&json!([
            {"key": "memory", "pending": 4096}
        ])));
        assert!(pending_changes(&json!([
            {"key": "net1", "value": "virtio", "delete": 1}
        ])));
        assert!(!pending_changes(&json!({"unexpected": true})));
    }

    #[test]
    fn agent_addresses() {
        let data = json!({"result": [
            {"name": "lo", "ip-addresses": [{"ip-address": "127.0.0.1", "ip-address-type": "ipv4"}]},
            {"name": "eth0", "ip-addresses": [
                {"ip-address": "fe80::1", "ip-address-type": "ipv6"},
                {"ip-address": "2001:db8::5", "ip-address-type": "ipv6"},
                {"ip-address": "203.0.113.7", "ip-address-type": "ipv4"}
            ]}
        ]});
        assert_eq!(agent_ip(&data).as_deref(), Some("203.0.113.7"));
        let v6_only = json!({"result": [{"name": "eth0", "ip-addresses": [
            {"ip-address": "fe80::1"}, {"ip-address": "2001:db8::5"}
        ]}]});
        assert_eq!(agent_ip(&v6_only).as_deref(), Some("2001:db8::5"));
        assert_eq!(agent_ip(&json!(null)), None);
    }
}
