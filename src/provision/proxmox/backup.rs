//! Backups with `vzdump` and the host figures of a node:
//! `POST /nodes/{node}/vzdump` (a task, polled like the others), the VM's backups on the
//! backup storage (`GET /nodes/{node}/storage/{storage}/content?content=backup&vmid=N`),
//! removing one (`DELETE …/content/{volume}`), and `GET /nodes/{node}/status`.

use reqwest::Method;
use serde_json::Value;

use super::client::Proxmox;
use super::settings::valid_name;
use super::tasks::upid_field;
use super::vm::as_i64;
use crate::provision::{
    BackupCopy, Checkpoint, HostStatus, ProvisionError, VmState, beyond_retention,
};

/// `text` with everything but unreserved characters percent-encoded (one path segment).
fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A number Proxmox may send as a number or as text.
fn as_f64(v: Option<&Value>) -> Option<f64> {
    let v = v?;
    v.as_f64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// The host figures in a `/nodes/{node}/status` answer.
pub(super) fn host_status(d: &Value) -> Option<HostStatus> {
    let part = |name: &str, field: &str| as_i64(d.get(name).and_then(|m| m.get(field)));
    Some(HostStatus {
        cpu_fraction: as_f64(d.get("cpu"))?,
        mem_used_bytes: part("memory", "used")?,
        mem_total_bytes: part("memory", "total")?,
        rootfs_used_bytes: part("rootfs", "used")?,
        rootfs_total_bytes: part("rootfs", "total")?,
        load1: as_f64(d.get("loadavg").and_then(|l| l.get(0)))?,
    })
}

impl Proxmox {
    pub(super) fn backup_storage_missing(&self) -> Option<String> {
        self.settings.backup_storage.is_none().then(|| {
            "The proxmox provisioner has no backup storage configured: set \
             MPANEL_PROXMOX_BACKUP_STORAGE (--proxmox-backup-storage) to back up pods."
                .to_string()
        })
    }

    fn backup_storage(&self) -> Result<String, ProvisionError> {
        match &self.settings.backup_storage {
            Some(s) => Ok(s.clone()),
            None => Err(ProvisionError::Permanent(
                self.backup_storage_missing().unwrap_or_default(),
            )),
        }
    }

    /// The VM's backups on the backup storage.
    async fn backups(
        &self,
        node: &str,
        storage: &str,
        vmid: i64,
    ) -> Result<Vec<BackupCopy>, ProvisionError> {
        let path = format!("/nodes/{node}/storage/{storage}/content?content=backup&vmid={vmid}");
        let data = self
            .call(Method::GET, &path, &[])
            .await
            .map_err(|e| self.fail(&format!("listing the backups of VM {vmid}"), e))?;
        let entries = data.as_array().cloned().unwrap_or_default();
        Ok(entries
            .iter()
            .filter(|e| as_i64(e.get("vmid")).is_none_or(|v| v == vmid))
            .filter_map(|e| {
                Some(BackupCopy {
                    volid: e.get("volid")?.as_str()?.to_string(),
                    size_bytes: as_i64(e.get("size")).unwrap_or(0),
                    created: as_i64(e.get("ctime")).unwrap_or(0),
                })
            })
            .collect())
    }

    /// `vzdump` of the VM to the backup storage (snapshot mode, zstd), waiting for its task
    /// (or for the task an earlier attempt started), then the backup it wrote.
    pub(super) async fn backup_vm(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<BackupCopy, ProvisionError> {
        let storage = self.backup_storage()?;
        let vmid = self.need_vmid(state)?;
        let node = self.node_of(state).to_string();
        let what = format!("backing up VM {vmid}");
        let end = if state.task.is_some() {
            self.finish_task(state, cp, &what).await?
        } else {
            let form = [
                ("vmid", vmid.to_string()),
                ("storage", storage.clone()),
                ("mode", "snapshot".to_string()),
                ("compress", "zstd".to_string()),
            ];
            let data = self
                .call(Method::POST, &format!("/nodes/{node}/vzdump"), &form)
                .await
                .map_err(|e| self.fail(&what, e))?;
            let Some(upid) = data.as_str().map(str::to_string) else {
                return Err(ProvisionError::Retryable(format!(
                    "Proxmox {what}: vzdump answered {data}, not a task id (UPID)"
                )));
            };
            self.run_task(state, cp, upid, &what).await?
        };
        if !end.ok() {
            return Err(ProvisionError::Permanent(format!(
                "Proxmox {what}: the backup task ended in error: {}",
                end.exitstatus
            )));
        }
        // The backup this task wrote: the VM's newest one, made after the task started.
        let started = upid_field(&end.upid, 4)
            .and_then(|h| i64::from_str_radix(h, 16).ok())
            .unwrap_or(0);
        self.backups(&node, &storage, vmid)
            .await?
            .into_iter()
            .filter(|c| c.created >= started)
            .max_by(|a, b| a.created.cmp(&b.created).then(a.volid.cmp(&b.volid)))
            .ok_or_else(|| {
                ProvisionError::Permanent(format!(
                    "Proxmox {what}: the task ended OK but storage {storage} holds no backup \
                     of VM {vmid} made since it started"
                ))
            })
    }

    /// Removes the VM's backups beyond the newest `keep` from the backup storage.
    pub(super) async fn prune(
        &self,
        state: &VmState,
        keep: usize,
    ) -> Result<Vec<BackupCopy>, ProvisionError> {
        let storage = self.backup_storage()?;
        let vmid = self.need_vmid(state)?;
        let node = self.node_of(state).to_string();
        let gone = beyond_retention(&self.backups(&node, &storage, vmid).await?, keep);
        let mut removed = Vec::with_capacity(gone.len());
        for copy in gone {
            let what = format!("removing backup {}", copy.volid);
            let path = format!(
                "/nodes/{node}/storage/{storage}/content/{}",
                segment(&copy.volid)
            );
            match self.call(Method::DELETE, &path, &[]).await {
                Ok(d) => {
                    if let Some(upid) = d.as_str().filter(|s| s.starts_with("UPID:")) {
                        let end = self.wait_task(state, upid, &what).await?;
                        if !end.ok() {
                            return Err(ProvisionError::Retryable(format!(
                                "Proxmox {what}: the task ended in error: {}",
                                end.exitstatus
                            )));
                        }
                    }
                }
                Err(e) if e.is_missing() => {}
                Err(e) => return Err(self.fail(&what, e)),
            }
            removed.push(copy);
        }
        Ok(removed)
    }

    /// `GET /nodes/{node}/status`.
    pub(super) async fn node_status(&self, node: &str) -> Result<HostStatus, ProvisionError> {
        if !valid_name(node) {
            return Err(ProvisionError::Permanent(format!(
                "{node:?} is not a Proxmox node name"
            )));
        }
        let what = format!("status of node {node}");
        let data = self
            .call(Method::GET, &format!("/nodes/{node}/status"), &[])
            .await
            .map_err(|e| self.fail(&what, e))?;
        host_status(&data).ok_or_else(|| {
            ProvisionError::Retryable(format!(
                "Proxmox {what}: the answer lacks cpu, memory, rootfs or loadavg"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volume_ids_are_one_segment() {
        assert_eq!(
            segment("pbs:backup/vzdump-qemu-100.vma.zst"),
            "pbs%3Abackup%2Fvzdump-qemu-100.vma.zst"
        );
    }

    #[test]
    fn node_status_answers() {
        let d = serde_json::json!({
            "cpu": 0.1234, "loadavg": ["0.50", "0.40", "0.30"],
            "memory": {"used": 100, "total": 400, "free": 300},
            "rootfs": {"used": 7, "total": 70, "avail": 63}
        });
        let s = host_status(&d).unwrap();
        assert_eq!(s.mem_used_bytes, 100);
        assert_eq!(s.rootfs_total_bytes, 70);
        assert!((s.load1 - 0.5).abs() < 1e-9 && (s.cpu_fraction - 0.1234).abs() < 1e-9);
        assert!(host_status(&serde_json::json!({"cpu": 0.1})).is_none());
    }
}
