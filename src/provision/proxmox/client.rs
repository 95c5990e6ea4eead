//! The Proxmox HTTP client: one authenticated API call, and the mapping of a failed call
//! to the error staff see (retryable or permanent).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::settings::ProxmoxSettings;
use super::tls::client_tls;
use crate::provision::{ProvisionError, VmState};

/// The Proxmox VE driver. Cheap to clone (the HTTP client and settings are shared).
#[derive(Clone)]
pub struct Proxmox {
    pub(super) settings: Arc<ProxmoxSettings>,
    pub(super) base: String,
    pub(super) http: reqwest::Client,
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
    pub fn from_config(config: &crate::config::Config) -> anyhow::Result<Proxmox> {
        Proxmox::new(ProxmoxSettings::from_config(config)?)
    }

    /// Builds the driver from explicit settings (validated the same way).
    pub fn new(settings: ProxmoxSettings) -> anyhow::Result<Proxmox> {
        let base = settings.validate()?;
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
// HTTP

/// A failed API call: the HTTP status (None: no answer) and what Proxmox said.
#[derive(Debug, Clone)]
pub(super) struct ApiError {
    pub(super) status: Option<StatusCode>,
    pub(super) message: String,
}

impl ApiError {
    /// "VM does not exist": Proxmox answers 500 "Configuration file '…/123.conf' does not
    /// exist" (or 404 on some paths).
    pub(super) fn is_missing(&self) -> bool {
        match self.status {
            Some(StatusCode::NOT_FOUND) => true,
            Some(s) if s.is_server_error() || s == StatusCode::BAD_REQUEST => {
                let m = self.message.to_ascii_lowercase();
                m.contains("does not exist") || m.contains("no such vm")
            }
            _ => false,
        }
    }

    pub(super) fn already_exists(&self) -> bool {
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
pub(super) fn error_message(status: StatusCode, reason: Option<&str>, body: &str) -> String {
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

impl Proxmox {
    pub(super) fn node_of<'a>(&'a self, state: &'a VmState) -> &'a str {
        state.node.as_deref().unwrap_or(&self.settings.node)
    }

    /// One API call; `Ok(data)` on 2xx.
    pub(super) async fn call(
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
    pub(super) fn fail(&self, what: &str, e: ApiError) -> ProvisionError {
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

    pub(super) fn vm_path(&self, node: &str, vmid: i64) -> String {
        format!("/nodes/{node}/qemu/{vmid}")
    }
}

#[cfg(test)]
mod tests {
    use super::super::settings::ProxmoxTls;
    use super::*;

    #[test]
    fn error_messages() {
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
