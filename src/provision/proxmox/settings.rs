//! The Proxmox driver's settings: what the configuration names (`MPANEL_PROXMOX_*`) and
//! the checks that make them complete and safe before the first call.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, bail};

pub use super::tls::ProxmoxTls;
use super::tls::parse_fingerprint;
use crate::config::Config;

/// Everything the driver needs; [`Proxmox::from_config`] builds it from the configuration,
/// tests build it directly.
#[derive(Clone)]
pub struct ProxmoxSettings {
    /// API base, e.g. `https://pve1.example.net:8006/api2/json`.
    pub url: String,
    /// `USER@REALM!TOKENID`.
    pub token_id: String,
    pub token_secret: String,
    /// Node new VMs are cloned on.
    pub node: String,
    pub template_vmid: i64,
    pub storage: String,
    /// Storage `vzdump` writes backups to (`MPANEL_PROXMOX_BACKUP_STORAGE`); without it the
    /// driver does not back up and says so.
    pub backup_storage: Option<String>,
    /// The disk grown to the plan's size (`scsi0` on the usual templates).
    pub disk: String,
    pub tls: ProxmoxTls,
    pub task_timeout: Duration,
    pub poll_interval: Duration,
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
}

impl fmt::Debug for ProxmoxSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProxmoxSettings")
            .field("url", &self.url)
            .field("token_id", &self.token_id)
            .field("token_secret", &"<redacted>")
            .field("node", &self.node)
            .field("template_vmid", &self.template_vmid)
            .field("storage", &self.storage)
            .field("backup_storage", &self.backup_storage)
            .field("disk", &self.disk)
            .field("tls", &self.tls)
            .field("task_timeout", &self.task_timeout)
            .field("poll_interval", &self.poll_interval)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

impl ProxmoxSettings {
    /// Settings with the defaults for the optional parts (disk `scsi0`, 120 s task timeout,
    /// 1 s polls, 30 s requests).
    pub fn new(
        url: impl Into<String>,
        token_id: impl Into<String>,
        token_secret: impl Into<String>,
        node: impl Into<String>,
        template_vmid: i64,
        storage: impl Into<String>,
        tls: ProxmoxTls,
    ) -> ProxmoxSettings {
        ProxmoxSettings {
            url: url.into(),
            token_id: token_id.into(),
            token_secret: token_secret.into(),
            node: node.into(),
            template_vmid,
            storage: storage.into(),
            backup_storage: None,
            disk: "scsi0".into(),
            tls,
            task_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
        }
    }
}

impl ProxmoxSettings {
    /// Reads `MPANEL_PROXMOX_*`; `Proxmox::from_config` builds the driver from them, checking
    /// that they are complete and safe.
    pub fn from_config(config: &Config) -> anyhow::Result<ProxmoxSettings> {
        fn present(v: &Option<String>) -> Option<String> {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        }
        let url = present(&config.proxmox_url);
        let token_id = present(&config.proxmox_token_id);
        let token_secret = present(&config.proxmox_token_secret);
        let node = present(&config.proxmox_node);
        let storage = present(&config.proxmox_storage);
        let mut missing = Vec::new();
        if url.is_none() {
            missing.push("MPANEL_PROXMOX_URL (--proxmox-url)");
        }
        if token_id.is_none() {
            missing.push("MPANEL_PROXMOX_TOKEN_ID (--proxmox-token-id)");
        }
        if token_secret.is_none() {
            missing.push("MPANEL_PROXMOX_TOKEN_SECRET (--proxmox-token-secret)");
        }
        if node.is_none() {
            missing.push("MPANEL_PROXMOX_NODE (--proxmox-node)");
        }
        if config.proxmox_template_vmid.is_none() {
            missing.push("MPANEL_PROXMOX_TEMPLATE_VMID (--proxmox-template-vmid)");
        }
        if storage.is_none() {
            missing.push("MPANEL_PROXMOX_STORAGE (--proxmox-storage)");
        }
        if !missing.is_empty() {
            bail!(
                "the proxmox provisioner is not fully configured: set {}",
                missing.join(", ")
            );
        }
        let (url, token_id, token_secret, node, storage) = (
            url.unwrap_or_default(),
            token_id.unwrap_or_default(),
            token_secret.unwrap_or_default(),
            node.unwrap_or_default(),
            storage.unwrap_or_default(),
        );
        let template_vmid = config.proxmox_template_vmid.unwrap_or_default();

        let https = url.to_ascii_lowercase().starts_with("https://");
        let fingerprint = present(&config.proxmox_fingerprint);
        let ca_file = config
            .proxmox_ca_file
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty());
        let tls = if https {
            match (ca_file, fingerprint) {
                (Some(_), Some(_)) => bail!(
                    "set only one of MPANEL_PROXMOX_CA_FILE and MPANEL_PROXMOX_FINGERPRINT: \
                     the Proxmox certificate is trusted either through a CA or by its pinned \
                     fingerprint"
                ),
                (None, None) => bail!(
                    "the Proxmox API is HTTPS: set MPANEL_PROXMOX_CA_FILE (the PEM CA, e.g. a \
                     copy of /etc/pve/pve-root-ca.pem) or MPANEL_PROXMOX_FINGERPRINT (the \
                     SHA-256 fingerprint of the API certificate, shown under Node > System > \
                     Certificates)"
                ),
                (Some(path), None) => {
                    let pem = std::fs::read(path).with_context(|| {
                        format!("cannot read MPANEL_PROXMOX_CA_FILE {}", path.display())
                    })?;
                    ProxmoxTls::CaPem(pem)
                }
                (None, Some(fp)) => ProxmoxTls::Fingerprint(
                    parse_fingerprint(&fp).context("MPANEL_PROXMOX_FINGERPRINT is invalid")?,
                ),
            }
        } else {
            ProxmoxTls::PlainLocalhost
        };

        let mut settings = ProxmoxSettings::new(
            url,
            token_id,
            token_secret,
            node,
            template_vmid,
            storage,
            tls,
        );
        if config.proxmox_task_timeout_secs == 0 {
            bail!("MPANEL_PROXMOX_TASK_TIMEOUT_SECS must be at least 1");
        }
        if config.proxmox_poll_ms == 0 {
            bail!("MPANEL_PROXMOX_POLL_MS must be at least 1");
        }
        if !config.proxmox_disk.trim().is_empty() {
            settings.disk = config.proxmox_disk.trim().to_string();
        }
        settings.backup_storage = present(&config.proxmox_backup_storage);
        settings.task_timeout = Duration::from_secs(config.proxmox_task_timeout_secs);
        settings.poll_interval = Duration::from_millis(config.proxmox_poll_ms);
        Ok(settings)
    }
}

impl ProxmoxSettings {
    /// Checks the settings (URL and its trust, token id and secret, names, template VMID);
    /// answers the API base URL without its trailing slash.
    pub(super) fn validate(&self) -> anyhow::Result<String> {
        let settings = self;
        let base = validate_url(&settings.url, &settings.tls)?;
        validate_token_id(&settings.token_id)?;
        if settings.token_secret.trim().is_empty() {
            bail!("the Proxmox token secret is empty");
        }
        if !valid_name(&settings.node) {
            bail!(
                "the Proxmox node name {:?} is not valid (letters, digits, '-', '_' and '.')",
                settings.node
            );
        }
        if settings.template_vmid < 100 {
            bail!(
                "the Proxmox template VMID must be 100 or more (got {})",
                settings.template_vmid
            );
        }
        if !valid_name(&settings.storage) {
            bail!(
                "the Proxmox storage name {:?} is not valid",
                settings.storage
            );
        }
        if let Some(b) = &settings.backup_storage
            && !valid_name(b)
        {
            bail!("the Proxmox backup storage name {b:?} is not valid");
        }
        if !valid_name(&settings.disk) {
            bail!("the Proxmox disk name {:?} is not valid", settings.disk);
        }
        Ok(base)
    }
}

// ---------------------------------------------------------------------------------------
// Validation

fn validate_url(url: &str, tls: &ProxmoxTls) -> anyhow::Result<String> {
    let parsed = reqwest::Url::parse(url.trim()).with_context(|| {
        format!(
            "MPANEL_PROXMOX_URL {url:?} is not a URL (expected e.g. \
             https://pve1.example.net:8006/api2/json)"
        )
    })?;
    let host = parsed.host_str().unwrap_or_default();
    match parsed.scheme() {
        "https" => {
            if *tls == ProxmoxTls::PlainLocalhost {
                bail!(
                    "the Proxmox API is HTTPS: give a CA file or a certificate fingerprint to \
                     trust it"
                );
            }
        }
        "http" => {
            if !matches!(host, "127.0.0.1" | "localhost" | "[::1]" | "::1") {
                bail!(
                    "MPANEL_PROXMOX_URL must be https:// (plain http is only allowed to \
                     127.0.0.1 or localhost); got {url:?}"
                );
            }
            if *tls != ProxmoxTls::PlainLocalhost {
                bail!(
                    "MPANEL_PROXMOX_URL is plain http: a CA file or fingerprint makes no sense \
                     there (use https://)"
                );
            }
        }
        other => bail!("MPANEL_PROXMOX_URL must be https:// (got the scheme {other:?})"),
    }
    if host.is_empty() {
        bail!("MPANEL_PROXMOX_URL {url:?} has no host");
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!("MPANEL_PROXMOX_URL {url:?} must not have a query or fragment");
    }
    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

fn validate_token_id(token_id: &str) -> anyhow::Result<()> {
    let ok = match token_id.split_once('!') {
        Some((user, id)) => {
            let realm_ok = user
                .split_once('@')
                .is_some_and(|(u, r)| !u.is_empty() && !r.is_empty());
            realm_ok && !id.is_empty() && !token_id.contains(char::is_whitespace)
        }
        None => false,
    };
    if !ok {
        bail!(
            "the Proxmox token id {token_id:?} is not USER@REALM!TOKENID (e.g. \
             mpanel@pve!provisioning)"
        );
    }
    Ok(())
}

pub(super) fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
