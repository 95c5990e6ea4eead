//! What the drivers answer about backups and hypervisor hosts: a backup made (`vzdump` on
//! Proxmox), the backups a VM has on the backup storage, and a host's own figures.

/// A backup the hypervisor holds for one VM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackupCopy {
    /// The hypervisor's name for it (Proxmox: the volume id, `storage:backup/vzdump-…`).
    pub volid: String,
    pub size_bytes: i64,
    /// When it was written, Unix seconds.
    pub created: i64,
}

/// A hypervisor host's figures (Proxmox: `/nodes/{node}/status`).
#[derive(Clone, Debug, PartialEq)]
pub struct HostStatus {
    /// CPU use, 0.0 ..= 1.0.
    pub cpu_fraction: f64,
    pub mem_used_bytes: i64,
    pub mem_total_bytes: i64,
    pub rootfs_used_bytes: i64,
    pub rootfs_total_bytes: i64,
    /// One-minute load average.
    pub load1: f64,
}

/// The ones beyond the newest `keep`, oldest last (by creation time, then name).
pub fn beyond_retention(copies: &[BackupCopy], keep: usize) -> Vec<BackupCopy> {
    let mut sorted = copies.to_vec();
    sorted.sort_by(|a, b| b.created.cmp(&a.created).then(b.volid.cmp(&a.volid)));
    sorted.into_iter().skip(keep).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(volid: &str, created: i64) -> BackupCopy {
        BackupCopy {
            volid: volid.into(),
            size_bytes: 1,
            created,
        }
    }

    #[test]
    fn retention_keeps_the_newest() {
        let copies = [copy("a", 10), copy("c", 30), copy("b", 20), copy("d", 40)];
        let gone: Vec<String> = beyond_retention(&copies, 2)
            .into_iter()
            .map(|c| c.volid)
            .collect();
        assert_eq!(gone, ["b", "a"]);
        assert!(beyond_retention(&copies, 4).is_empty());
        assert_eq!(beyond_retention(&copies, 0).len(), 4);
    }
}
