//! The Proxmox VE driver: the PVE REST API with an API token (DESIGN.md "Provisioning").
//!
//! Every call is resumable (see [`super::provisioner`]): the VMID is saved before the clone
//! and each task's UPID before waiting on it, so a later attempt waits for the same task
//! instead of starting another. TLS trusts either a CA file or one pinned SHA-256
//! fingerprint of the server certificate; it never accepts any certificate.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use reqwest::{Method, StatusCode};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::provisioner::{
    Checkpoint, PowerAction, ProvisionError, Provisioned, Provisioner, Resized, VmSpec, VmState,
    VmStatus,
};
use crate::config::Config;

/// How the driver trusts the API's TLS certificate.
#[derive(Clone, PartialEq, Eq)]
pub enum ProxmoxTls {
    /// Plain HTTP: allowed only for `http://127.0.0.1`, `http://localhost` or `http://[::1]`
    /// (tests, or a local TLS-terminating tunnel).
    PlainLocalhost,
    /// PEM certificates (the PVE root CA, `/etc/pve/pve-root-ca.pem`) to verify against.
    CaPem(Vec<u8>),
    /// SHA-256 of the DER end-entity certificate the API presents.
    Fingerprint([u8; 32]),
}

impl fmt::Debug for ProxmoxTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProxmoxTls::PlainLocalhost => f.write_str("PlainLocalhost"),
            ProxmoxTls::CaPem(pem) => write!(f, "CaPem({} bytes)", pem.len()),
            ProxmoxTls::Fingerprint(fp) => write!(f, "Fingerprint({})", fingerprint_hex(fp)),
        }
    }
}

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
            disk: "scsi0".into(),
            tls,
            task_timeout: Duration::from_secs(120),
            poll_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The Proxmox VE driver. Cheap to clone (the HTTP client and settings are shared).
#[derive(Clone)]
pub struct Proxmox {
    settings: Arc<ProxmoxSettings>,
    base: String,
    http: reqwest::Client,
}

impl fmt::Debug for Proxmox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Proxmox")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Proxmox {
    /// Builds the driver from `MPANEL_PROXMOX_*`, checking that it is complete and safe.
    pub fn from_config(config: &Config) -> anyhow::Result<Proxmox> {
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
        settings.task_timeout = Duration::from_secs(config.proxmox_task_timeout_secs);
        settings.poll_interval = Duration::from_millis(config.proxmox_poll_ms);
        Proxmox::new(settings)
    }

    /// Builds the driver from explicit settings (validated the same way).
    pub fn new(settings: ProxmoxSettings) -> anyhow::Result<Proxmox> {
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
        if !valid_name(&settings.disk) {
            bail!("the Proxmox disk name {:?} is not valid", settings.disk);
        }
        let tls = client_tls(&settings.tls)?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(settings.request_timeout)
            .connect_timeout(Duration::from_secs(10).min(settings.request_timeout))
            .user_agent(concat!("mPanel/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot build the Proxmox HTTP client")?;
        Ok(Proxmox {
            settings: Arc::new(settings),
            base,
            http,
        })
    }

    pub fn settings(&self) -> &ProxmoxSettings {
        &self.settings
    }
}

// ---------------------------------------------------------------------------------------
// Validation and TLS

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

fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Parses a SHA-256 fingerprint: 64 hex digits, optionally in colon-separated pairs
/// (`AB:CD:…`, as Proxmox shows it).
pub fn parse_fingerprint(s: &str) -> anyhow::Result<[u8; 32]> {
    let s = s.trim();
    let hex: String = if s.contains(':') {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.iter().any(|p| p.len() != 2) {
            bail!("a colon-separated fingerprint must be pairs of hex digits, like AB:CD:…");
        }
        parts.concat()
    } else {
        s.to_string()
    };
    if hex.len() != 64 {
        bail!(
            "a SHA-256 fingerprint has 32 bytes (64 hex digits); got {} hex digits",
            hex.len()
        );
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
            .map_err(|_| anyhow::anyhow!("the fingerprint has a character that is not hex"))?;
    }
    Ok(out)
}

/// `AB:CD:…` (upper case, colon-separated, as Proxmox shows fingerprints).
pub fn fingerprint_hex(fp: &[u8]) -> String {
    fp.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_tls(tls: &ProxmoxTls) -> anyhow::Result<rustls::ClientConfig> {
    let provider = provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let config = match tls {
        ProxmoxTls::PlainLocalhost => builder
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_no_client_auth(),
        ProxmoxTls::CaPem(pem) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.context("the Proxmox CA file is not valid PEM")?;
                roots
                    .add(cert)
                    .context("the Proxmox CA file holds a certificate that cannot be a CA")?;
            }
            if roots.is_empty() {
                bail!("the Proxmox CA file holds no PEM certificate");
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        ProxmoxTls::Fingerprint(fp) => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedCertificate {
                fingerprint: *fp,
                provider,
            }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// Accepts exactly the end-entity certificate whose SHA-256 is pinned (Proxmox's default
/// certificates are self-signed by a per-cluster CA), still checking that the server holds
/// its key (the handshake signatures).
#[derive(Debug)]
struct PinnedCertificate {
    fingerprint: [u8; 32],
    provider: Arc<CryptoProvider>,
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl ServerCertVerifier for PinnedCertificate {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let got = Sha256::digest(end_entity.as_ref());
        if constant_time_eq(&got, &self.fingerprint) {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(format!(
                "the Proxmox certificate's SHA-256 fingerprint is {}, not the pinned {} \
                 (MPANEL_PROXMOX_FINGERPRINT)",
                fingerprint_hex(&got),
                fingerprint_hex(&self.fingerprint)
            )))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

// ---------------------------------------------------------------------------------------
// HTTP

/// A failed API call: the HTTP status (None: no answer) and what Proxmox said.
#[derive(Debug, Clone)]
struct ApiError {
    status: Option<StatusCode>,
    message: String,
}

impl ApiError {
    /// "VM does not exist": Proxmox answers 500 "Configuration file '…/123.conf' does not
    /// exist" (or 404 on some paths).
    fn is_missing(&self) -> bool {
        match self.status {
            Some(StatusCode::NOT_FOUND) => true,
            Some(s) if s.is_server_error() || s == StatusCode::BAD_REQUEST => {
                let m = self.message.to_ascii_lowercase();
                m.contains("does not exist") || m.contains("no such vm")
            }
            _ => false,
        }
    }

    fn already_exists(&self) -> bool {
        self.status.is_some() && self.message.to_ascii_lowercase().contains("already exists")
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The text of a Proxmox error answer: the `message`/`errors` of the body when there is
/// one, else the HTTP reason phrase (where the PVE API server puts it).
fn error_message(status: StatusCode, reason: Option<&str>, body: &str) -> String {
    let mut parts = Vec::new();
    if let Some(reason) = reason.map(str::trim).filter(|r| !r.is_empty()) {
        parts.push(reason.to_string());
    }
    if let Ok(json) = serde_json::from_str::<Value>(body) {
        if let Some(m) = json.get("message").and_then(Value::as_str) {
            let m = m.trim();
            if !m.is_empty() && !parts.iter().any(|p| p == m) {
                parts.push(m.to_string());
            }
        }
        if let Some(errors) = json.get("errors").and_then(Value::as_object) {
            let mut list: Vec<String> = errors
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.as_str().unwrap_or(&v.to_string()).trim()))
                .collect();
            list.sort();
            if !list.is_empty() {
                parts.push(list.join("; "));
            }
        }
    } else if !body.trim().is_empty() && body.len() < 500 {
        parts.push(body.trim().to_string());
    }
    if parts.is_empty() {
        status
            .canonical_reason()
            .unwrap_or("no explanation")
            .to_string()
    } else {
        parts.join(": ")
    }
}

/// What a finished task reported.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TaskEnd {
    upid: String,
    /// `OK`, `WARNINGS: n`, or Proxmox's error text.
    exitstatus: String,
}

impl TaskEnd {
    fn ok(&self) -> bool {
        self.exitstatus == "OK" || self.exitstatus.starts_with("WARNINGS")
    }
    /// The task type in the UPID (`qmclone`, `qmstart`, …).
    fn kind(&self) -> &str {
        upid_field(&self.upid, 5).unwrap_or("")
    }
}

/// Field `i` of `UPID:node:pid:pstart:starttime:type:id:user:`.
fn upid_field(upid: &str, i: usize) -> Option<&str> {
    let mut fields = upid.split(':');
    if fields.next() != Some("UPID") {
        return None;
    }
    fields.nth(i - 1).filter(|s| !s.is_empty())
}

fn valid_upid(upid: &str) -> bool {
    upid.starts_with("UPID:")
        && upid.len() < 512
        && !upid
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '%') || c.is_whitespace() || c.is_control())
}

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
fn agent_ip(data: &Value) -> Option<String> {
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
struct Current {
    running: bool,
    name: Option<String>,
    mem: Option<i64>,
    disk: Option<i64>,
    lock: Option<String>,
}

fn as_i64(v: Option<&Value>) -> Option<i64> {
    let v = v?;
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
}

impl Proxmox {
    fn node_of<'a>(&'a self, state: &'a VmState) -> &'a str {
        state.node.as_deref().unwrap_or(&self.settings.node)
    }

    /// One API call; `Ok(data)` on 2xx.
    async fn call(
        &self,
        method: Method,
        path: &str,
        form: &[(&str, String)],
    ) -> Result<Value, ApiError> {
        let url = format!("{}{}", self.base, path);
        let mut req = self
            .http
            .request(method, &url)
            .header(
                reqwest::header::AUTHORIZATION,
                format!(
                    "PVEAPIToken={}={}",
                    self.settings.token_id, self.settings.token_secret
                ),
            )
            .header(reqwest::header::ACCEPT, "application/json");
        if !form.is_empty() {
            req = req.form(form);
        }
        let resp = req.send().await.map_err(|e| ApiError {
            status: None,
            message: error_chain(&e),
        })?;
        let status = resp.status();
        let reason = resp
            .extensions()
            .get::<hyper::ext::ReasonPhrase>()
            .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
        let body = resp.text().await.map_err(|e| ApiError {
            status: None,
            message: format!("reading the answer: {}", error_chain(&e)),
        })?;
        if !status.is_success() {
            return Err(ApiError {
                status: Some(status),
                message: error_message(status, reason.as_deref(), &body),
            });
        }
        let json: Value = serde_json::from_str(&body).map_err(|e| ApiError {
            status: Some(status),
            message: format!("the answer is not JSON ({e})"),
        })?;
        Ok(json.get("data").cloned().unwrap_or(Value::Null))
    }

    /// Turns a failed call into the error staff see.
    fn fail(&self, what: &str, e: ApiError) -> ProvisionError {
        match e.status {
            Some(StatusCode::UNAUTHORIZED) | Some(StatusCode::FORBIDDEN) => {
                ProvisionError::Permanent(format!(
                    "Proxmox {what}: authentication failed: check token id/secret and its \
                     privileges (token {}; HTTP {}: {})",
                    self.settings.token_id,
                    e.status.map(|s| s.as_u16()).unwrap_or_default(),
                    e.message
                ))
            }
            Some(s) if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                ProvisionError::Retryable(format!(
                    "Proxmox {what} failed (HTTP {}): {}",
                    s.as_u16(),
                    e.message
                ))
            }
            Some(s) => ProvisionError::Permanent(format!(
                "Proxmox refused {what} (HTTP {}): {}",
                s.as_u16(),
                e.message
            )),
            None => {
                let lower = e.message.to_ascii_lowercase();
                if lower.contains("certificate") || lower.contains("fingerprint") {
                    ProvisionError::Permanent(format!(
                        "Proxmox {what}: the TLS certificate of {} is not trusted: {}",
                        self.base, e.message
                    ))
                } else {
                    ProvisionError::Retryable(format!(
                        "Proxmox {what}: cannot reach {}: {}",
                        self.base, e.message
                    ))
                }
            }
        }
    }

    fn vm_path(&self, node: &str, vmid: i64) -> String {
        format!("/nodes/{node}/qemu/{vmid}")
    }

    /// `status/current`; `Ok(None)` when the VM does not exist.
    async fn current(&self, node: &str, vmid: i64) -> Result<Option<Current>, ProvisionError> {
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
    async fn guest_ip(&self, node: &str, vmid: i64) -> Option<String> {
        let path = format!("{}/agent/network-get-interfaces", self.vm_path(node, vmid));
        let call = self.call(Method::GET, &path, &[]);
        match tokio::time::timeout(Duration::from_secs(5), call).await {
            Ok(Ok(data)) => agent_ip(&data),
            _ => None,
        }
    }

    /// Saves `upid` as the task in flight, waits for it, then clears it.
    async fn run_task(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        upid: String,
        what: &str,
    ) -> Result<TaskEnd, ProvisionError> {
        if !valid_upid(&upid) {
            return Err(ProvisionError::Retryable(format!(
                "Proxmox {what}: the answer {upid:?} is not a task id (UPID)"
            )));
        }
        state.task = Some(upid.clone());
        cp.save(state).await?;
        self.finish_task(state, cp, what).await
    }

    /// Waits for `state.task` (which is saved) to end, then clears it and saves.
    async fn finish_task(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        what: &str,
    ) -> Result<TaskEnd, ProvisionError> {
        let upid = state.task.clone().unwrap_or_default();
        let end = self.wait_task(state, &upid, what).await?;
        state.task = None;
        cp.save(state).await?;
        Ok(end)
    }

    async fn wait_task(
        &self,
        state: &VmState,
        upid: &str,
        what: &str,
    ) -> Result<TaskEnd, ProvisionError> {
        if !valid_upid(upid) {
            // Nothing sensible to wait for: forget it.
            return Ok(TaskEnd {
                upid: upid.to_string(),
                exitstatus: "unknown task (not a UPID)".into(),
            });
        }
        let node = upid_field(upid, 1)
            .filter(|n| valid_name(n))
            .unwrap_or_else(|| self.node_of(state))
            .to_string();
        let path = format!("/nodes/{node}/tasks/{upid}/status");
        let deadline = tokio::time::Instant::now() + self.settings.task_timeout;
        loop {
            match self.call(Method::GET, &path, &[]).await {
                Ok(d) => {
                    if d.get("status").and_then(Value::as_str) == Some("stopped") {
                        let exitstatus = d
                            .get("exitstatus")
                            .and_then(Value::as_str)
                            .unwrap_or("unknown exit status")
                            .to_string();
                        return Ok(TaskEnd {
                            upid: upid.to_string(),
                            exitstatus,
                        });
                    }
                }
                Err(e)
                    if e.is_missing()
                        || e.message.to_ascii_lowercase().contains("no such task") =>
                {
                    // The node no longer knows the task (log rotated, node reinstalled):
                    // the caller re-reads the VM's state instead.
                    return Ok(TaskEnd {
                        upid: upid.to_string(),
                        exitstatus: format!("task no longer known to Proxmox ({})", e.message),
                    });
                }
                Err(e) => {
                    let err = self.fail(&format!("{what} (task {upid})"), e);
                    // A passing hiccup (5xx, a dropped connection) while polling: keep
                    // polling until the deadline; the task goes on regardless.
                    let transient = matches!(err, ProvisionError::Retryable(_));
                    if !transient || tokio::time::Instant::now() >= deadline {
                        return Err(err);
                    }
                    tracing::warn!(upid, error = %err, "polling a Proxmox task failed; retrying");
                }
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ProvisionError::Retryable(format!(
                    "Proxmox {what}: task {upid} did not finish within {} s; it is still \
                     running on the hypervisor and the next attempt goes on waiting for it",
                    self.settings.task_timeout.as_secs_f64()
                )));
            }
            tokio::time::sleep(self.settings.poll_interval).await;
        }
    }

    /// A call that answers a UPID (a task) or null (done synchronously): waits for the task.
    async fn maybe_task(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
        data: Value,
        what: &str,
    ) -> Result<(), ProvisionError> {
        if let Some(upid) = data.as_str().filter(|s| s.starts_with("UPID:")) {
            let end = self.run_task(state, cp, upid.to_string(), what).await?;
            if !end.ok() {
                return Err(ProvisionError::Retryable(format!(
                    "Proxmox {what}: the task ended in error: {}",
                    end.exitstatus
                )));
            }
        }
        Ok(())
    }

    /// A call that started before (saved in `state.task`): wait for it first.
    async fn resume(
        &self,
        state: &mut VmState,
        cp: &dyn Checkpoint,
    ) -> Result<Option<TaskEnd>, ProvisionError> {
        if state.task.is_none() {
            return Ok(None);
        }
        let end = self
            .finish_task(state, cp, "task of an earlier attempt")
            .await?;
        if !end.ok() {
            tracing::warn!(upid = %end.upid, exitstatus = %end.exitstatus,
                "an earlier Proxmox task ended in error; carrying on from the VM's state");
        }
        Ok(Some(end))
    }

    fn need_vmid(&self, state: &VmState) -> Result<i64, ProvisionError> {
        state.vmid.ok_or_else(|| {
            ProvisionError::Permanent(
                "this pod has no Proxmox VM yet (no VMID saved): provision it first".into(),
            )
        })
    }

    async fn set_cpu_ram(
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

    async fn grow_disk(
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
    async fn power_task(
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
    async fn clone_vm(
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

    fn check_ours(&self, vmid: i64, cur: &Current, spec: &VmSpec) -> Result<(), ProvisionError> {
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprints_parse_with_or_without_colons() {
        let plain = "ab".repeat(32);
        assert_eq!(parse_fingerprint(&plain).unwrap(), [0xab; 32]);
        let colons = vec!["0F"; 32].join(":");
        assert_eq!(parse_fingerprint(&colons).unwrap(), [0x0f; 32]);
        assert_eq!(
            parse_fingerprint(&format!("  {colons}\n")).unwrap(),
            [0x0f; 32]
        );
        assert_eq!(fingerprint_hex(&[0x0f; 32]), colons);
    }

    #[test]
    fn bad_fingerprints_are_refused() {
        let short = parse_fingerprint(&"ab".repeat(20)).unwrap_err().to_string();
        assert!(short.contains("64 hex digits"), "{short}");
        let not_hex = parse_fingerprint(&"zz".repeat(32)).unwrap_err().to_string();
        assert!(not_hex.contains("not hex"), "{not_hex}");
        let odd_pairs = parse_fingerprint(&format!("{}:A", vec!["AB"; 31].join(":")))
            .unwrap_err()
            .to_string();
        assert!(odd_pairs.contains("pairs"), "{odd_pairs}");
        // SHA-1 fingerprints (20 bytes) are not enough.
        assert!(parse_fingerprint(&vec!["AB"; 20].join(":")).is_err());
    }

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
    fn upids_and_messages() {
        let upid = "UPID:pve1:00001234:0000ABCD:65000000:qmclone:9000:mpanel@pve!prov:";
        assert!(valid_upid(upid));
        assert_eq!(upid_field(upid, 1), Some("pve1"));
        let end = TaskEnd {
            upid: upid.into(),
            exitstatus: "OK".into(),
        };
        assert!(end.ok());
        assert_eq!(end.kind(), "qmclone");
        assert!(!valid_upid("UPID:pve/../x"));
        assert!(!valid_upid("nope"));

        let m = error_message(
            StatusCode::BAD_REQUEST,
            Some("Parameter verification failed."),
            r#"{"data":null,"errors":{"memory":"value must be at least 16"}}"#,
        );
        assert_eq!(
            m,
            "Parameter verification failed.: memory: value must be at least 16"
        );
        let m = error_message(StatusCode::INTERNAL_SERVER_ERROR, None, r#"{"data":null}"#);
        assert_eq!(m, "Internal Server Error");
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

    #[test]
    fn debug_hides_the_secret() {
        let settings = ProxmoxSettings::new(
            "http://127.0.0.1:8006/api2/json",
            "mpanel@pve!prov",
            "very-secret-uuid",
            "pve1",
            9000,
            "local-lvm",
            ProxmoxTls::PlainLocalhost,
        );
        let px = Proxmox::new(settings).unwrap();
        let debug = format!("{px:?}");
        assert!(!debug.contains("very-secret-uuid"), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
