//! Core nodes: their types, the probe check, the status machine (N failures → DOWN, M
//! successes → UP, flapping), the form's rules and the probe settings.

use serde::Deserialize;

use crate::actor::{Actor, Role};
use crate::text_enum;
use crate::web::FieldErrors;

text_enum!(NodeType {
    Web => "WEB" / "Web",
    Mail => "MAIL" / "Mail",
    Dns => "DNS" / "DNS",
    Cloud => "CLOUD" / "Cloud (hypervisor)",
    Db => "DB" / "Database",
    Backup => "BACKUP" / "Backup",
});

text_enum!(CheckKind {
    Tcp => "TCP" / "TCP port",
    Http => "HTTP" / "HTTP(S) URL",
});

// What the probes concluded (stored).
text_enum!(ProbeStatus {
    Unknown => "UNKNOWN" / "Unknown",
    Up => "UP" / "Up",
    Down => "DOWN" / "Down",
});

// What people see: the probes' status, unless the node is in a maintenance window or
// flapping.
text_enum!(ShownStatus {
    Down => "DOWN" / "Down",
    Degraded => "DEGRADED" / "Degraded (flapping)",
    Unknown => "UNKNOWN" / "Unknown",
    Maintenance => "MAINTENANCE" / "Maintenance",
    Up => "UP" / "Up",
});

impl ShownStatus {
    pub fn is_down(self) -> bool {
        self == ShownStatus::Down
    }

    /// Sort key: the worst first on the tile.
    pub fn rank(self) -> u8 {
        match self {
            ShownStatus::Down => 0,
            ShownStatus::Degraded => 1,
            ShownStatus::Unknown => 2,
            ShownStatus::Maintenance => 3,
            ShownStatus::Up => 4,
        }
    }

    /// The badge tone (`web::badge` classes).
    pub fn tone(self) -> &'static str {
        match self {
            ShownStatus::Down => "err",
            ShownStatus::Degraded => "warn",
            ShownStatus::Unknown | ShownStatus::Maintenance => "muted",
            ShownStatus::Up => "ok",
        }
    }

    pub fn of(probe: ProbeStatus, flapping: bool, in_maintenance: bool) -> ShownStatus {
        if in_maintenance {
            ShownStatus::Maintenance
        } else if flapping {
            ShownStatus::Degraded
        } else {
            match probe {
                ProbeStatus::Unknown => ShownStatus::Unknown,
                ProbeStatus::Up => ShownStatus::Up,
                ProbeStatus::Down => ShownStatus::Down,
            }
        }
    }
}

/// Staff ADMIN+ register, change and silence nodes; any staff member reads them.
pub fn can_manage(actor: &Actor) -> bool {
    actor.is_staff && actor.role >= Role::Admin
}

/// The probe loop's settings (`MPANEL_PROBE_*`), checked at start-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeSettings {
    /// Failures in a row that mark a node DOWN.
    pub down_after: i64,
    /// Successes in a row that mark a node UP.
    pub up_after: i64,
    /// UP/DOWN changes within `flap_window_secs` that make a node flapping.
    pub flap_changes: i64,
    pub flap_window_secs: i64,
}

impl Default for ProbeSettings {
    fn default() -> ProbeSettings {
        ProbeSettings {
            down_after: 3,
            up_after: 2,
            flap_changes: 4,
            flap_window_secs: 900,
        }
    }
}

impl ProbeSettings {
    pub fn from_config(c: &crate::config::Config) -> anyhow::Result<ProbeSettings> {
        let s = ProbeSettings {
            down_after: c.ops.probe_down_after as i64,
            up_after: c.ops.probe_up_after as i64,
            flap_changes: c.ops.probe_flap_changes as i64,
            flap_window_secs: c.ops.probe_flap_window_secs as i64,
        };
        s.check()?;
        Ok(s)
    }

    pub fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            (1..=100).contains(&self.down_after),
            "MPANEL_PROBE_DOWN_AFTER must be between 1 and 100"
        );
        anyhow::ensure!(
            (1..=100).contains(&self.up_after),
            "MPANEL_PROBE_UP_AFTER must be between 1 and 100"
        );
        anyhow::ensure!(
            (2..=1000).contains(&self.flap_changes),
            "MPANEL_PROBE_FLAP_CHANGES must be between 2 and 1000"
        );
        anyhow::ensure!(
            (60..=86_400).contains(&self.flap_window_secs),
            "MPANEL_PROBE_FLAP_WINDOW_SECS must be between 60 and 86400"
        );
        Ok(())
    }
}

/// A node's probe state between probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeState {
    pub status: ProbeStatus,
    pub fails_in_row: i64,
    pub oks_in_row: i64,
}

/// The state after one probe, and whether it moved the node between UP and DOWN (or out of
/// UNKNOWN).
pub fn after_probe(s: ProbeState, ok: bool, settings: &ProbeSettings) -> (ProbeState, bool) {
    let mut next = s;
    if ok {
        next.oks_in_row = s.oks_in_row.saturating_add(1);
        next.fails_in_row = 0;
        if s.status != ProbeStatus::Up && next.oks_in_row >= settings.up_after {
            next.status = ProbeStatus::Up;
        }
    } else {
        next.fails_in_row = s.fails_in_row.saturating_add(1);
        next.oks_in_row = 0;
        if s.status != ProbeStatus::Down && next.fails_in_row >= settings.down_after {
            next.status = ProbeStatus::Down;
        }
    }
    (next, next.status != s.status)
}

/// Flapping: at least `flap_changes` UP/DOWN changes within the window (the changes counted
/// include the one just made).
pub fn is_flapping(changes_in_window: i64, settings: &ProbeSettings) -> bool {
    changes_in_window >= settings.flap_changes
}

pub const MIN_INTERVAL_SECS: i64 = 5;
pub const MAX_INTERVAL_SECS: i64 = 86_400;
pub const DEFAULT_INTERVAL_SECS: i64 = 30;
pub const DEFAULT_TIMEOUT_MS: i64 = 5_000;

/// The node form, as posted.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct NodeForm {
    pub hostname: String,
    pub node_type: String,
    pub region: String,
    pub address: String,
    pub check_kind: String,
    pub check_port: String,
    pub check_url: String,
    pub expected_status: String,
    pub interval_secs: String,
    pub timeout_ms: String,
}

impl NodeForm {
    pub fn blank() -> NodeForm {
        NodeForm {
            node_type: "WEB".into(),
            check_kind: "TCP".into(),
            expected_status: "200".into(),
            interval_secs: DEFAULT_INTERVAL_SECS.to_string(),
            timeout_ms: DEFAULT_TIMEOUT_MS.to_string(),
            ..NodeForm::default()
        }
    }
}

/// A checked node definition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeInput {
    pub hostname: String,
    pub node_type: NodeType,
    pub region: String,
    pub address: String,
    pub check: Check,
    pub interval_secs: i64,
    pub timeout_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Check {
    Tcp { port: u16 },
    Http { url: String, expected_status: u16 },
}

impl Check {
    pub fn kind(&self) -> CheckKind {
        match self {
            Check::Tcp { .. } => CheckKind::Tcp,
            Check::Http { .. } => CheckKind::Http,
        }
    }
}

/// A host name (RFC 1123 labels) or an IP address, nothing else (no port, no scheme).
pub fn valid_address(s: &str) -> bool {
    if s.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let s = s.strip_suffix('.').unwrap_or(s);
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
        // the last label is not all digits (that would be a malformed IPv4 address)
        && !s.rsplit('.').next().is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
}

/// An http(s) URL whose host is the node's address, or a DNS name (probes then connect to the
/// node's address and send that name): a probe never connects anywhere else.
pub fn check_url(url: &str, address: &str) -> Result<reqwest::Url, String> {
    let u = reqwest::Url::parse(url.trim())
        .map_err(|_| "Enter a full URL, e.g. https://web1.example.net/health.".to_string())?;
    if !matches!(u.scheme(), "http" | "https") {
        return Err("The check URL must be http:// or https://.".into());
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err("The check URL must not carry a user name or password.".into());
    }
    let host = u.host_str().unwrap_or("").trim_matches(['[', ']']);
    if host.is_empty() {
        return Err("The check URL needs a host.".into());
    }
    match host.parse::<std::net::IpAddr>() {
        Err(_) => Ok(u),
        Ok(ip) if address.parse::<std::net::IpAddr>().ok() == Some(ip) => Ok(u),
        Ok(_) => Err("The URL's host must be the node's address or a host name.".into()),
    }
}

/// Checks the form: every problem beside its field.
pub fn check_form(f: &NodeForm) -> Result<NodeInput, FieldErrors> {
    let mut e = FieldErrors::new();
    let hostname = f.hostname.trim().to_ascii_lowercase();
    if hostname.is_empty()
        || !valid_address(&hostname)
        || hostname.parse::<std::net::IpAddr>().is_ok()
    {
        e.add(
            "hostname",
            "Enter the node's host name, e.g. web1.example.net.",
        );
    }
    let node_type = NodeType::parse(&f.node_type);
    if node_type.is_none() {
        e.add("node_type", "Choose the node's type.");
    }
    let region = f.region.trim().to_string();
    if region.is_empty() || region.len() > 40 {
        e.add("region", "Enter the region (at most 40 characters).");
    }
    let address = f.address.trim().to_ascii_lowercase();
    if !valid_address(&address) {
        e.add(
            "address",
            "Enter a host name or an IP address (no port, no scheme).",
        );
    }
    let check = match CheckKind::parse(&f.check_kind) {
        Some(CheckKind::Tcp) => match f.check_port.trim().parse::<u16>() {
            Ok(port) if port > 0 => Some(Check::Tcp { port }),
            _ => {
                e.add("check_port", "Enter a TCP port between 1 and 65535.");
                None
            }
        },
        Some(CheckKind::Http) => {
            let expected = match f.expected_status.trim().parse::<u16>() {
                Ok(s) if (100..=599).contains(&s) => Some(s),
                _ => {
                    e.add(
                        "expected_status",
                        "Enter an HTTP status between 100 and 599.",
                    );
                    None
                }
            };
            match check_url(&f.check_url, &address) {
                Ok(u) => expected.map(|s| Check::Http {
                    url: u.to_string(),
                    expected_status: s,
                }),
                Err(m) => {
                    e.add("check_url", m);
                    None
                }
            }
        }
        None => {
            e.add("check_kind", "Choose a TCP port or an HTTP(S) URL check.");
            None
        }
    };
    let interval = f.interval_secs.trim().parse::<i64>().ok();
    match interval {
        Some(i) if (MIN_INTERVAL_SECS..=MAX_INTERVAL_SECS).contains(&i) => {}
        _ => e.add(
            "interval_secs",
            format!("Enter an interval of at least {MIN_INTERVAL_SECS} seconds (at most a day)."),
        ),
    }
    let timeout = f.timeout_ms.trim().parse::<i64>().ok();
    match (timeout, interval) {
        (Some(t), Some(i)) if (100..=60_000).contains(&t) && t < i * 1000 => {}
        _ => e.add(
            "timeout_ms",
            "Enter a timeout between 100 and 60000 ms, shorter than the interval.",
        ),
    }
    e.into_result()?;
    Ok(NodeInput {
        hostname,
        node_type: node_type.unwrap_or(NodeType::Web),
        region,
        address,
        check: check.unwrap_or(Check::Tcp { port: 1 }),
        interval_secs: interval.unwrap_or(DEFAULT_INTERVAL_SECS),
        timeout_ms: timeout.unwrap_or(DEFAULT_TIMEOUT_MS),
    })
}

/// Bytes in words: `512 MiB`, `1.5 GiB`.
pub fn bytes_words(b: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b.max(0) as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 || v >= 100.0 {
        format!("{:.0} {}", v, UNITS[u])
    } else {
        format!("{:.1} {}", v, UNITS[u])
    }
}

/// Hundredths as a decimal: `1234` → `12.34`.
pub fn hundredths(v: i64) -> String {
    format!(
        "{}{}.{:02}",
        if v < 0 { "-" } else { "" },
        v.abs() / 100,
        v.abs() % 100
    )
}

#[cfg(test)]
mod tests;
