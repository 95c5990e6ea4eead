//! The tenant security policy and its pure rules: validation of the form, IP allowlists,
//! the tenant's session limits.

use std::net::IpAddr;

use ipnet::IpNet;

use super::model::PasswordRules;
use crate::auth::model::{MAX_PASSWORD, MIN_PASSWORD, Role};
use crate::web::forms::FieldErrors;

pub const POLICY_MIN_PASSWORD: i64 = 8;
pub const POLICY_MAX_PASSWORD: i64 = 64;
pub const MAX_ALLOWLIST_ENTRIES: usize = 100;

/// A tenant's security policy as stored; `0` minutes means "the server's limit".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub min_password_length: i64,
    pub reject_common: bool,
    pub require_mfa: bool,
    pub ip_allowlist: Vec<IpNet>,
    pub idle_minutes: i64,
    pub absolute_minutes: i64,
    /// Members of this role and above must use passkeys (phishing-resistant) as their second
    /// factor; `None`: no such rule.
    pub passkeys_min_role: Option<Role>,
}

impl Default for Policy {
    fn default() -> Policy {
        Policy {
            min_password_length: MIN_PASSWORD as i64,
            reject_common: true,
            require_mfa: false,
            ip_allowlist: Vec::new(),
            idle_minutes: 0,
            absolute_minutes: 0,
            passkeys_min_role: None,
        }
    }
}

impl Policy {
    pub fn password_rules(&self) -> PasswordRules {
        PasswordRules {
            min_length: self.min_password_length.clamp(1, MAX_PASSWORD as i64) as usize,
            reject_common: self.reject_common,
        }
    }

    pub fn allowlist_text(&self) -> String {
        allowlist_to_text(&self.ip_allowlist)
    }

    /// The policy's version for `ETag` / `If-Match`: a hash of every stored field, so any
    /// change makes a new version (the row keeps no counter).
    pub fn version(&self) -> String {
        let stored = format!(
            "{}|{}|{}|{}|{}|{}|{}",
            self.min_password_length,
            self.reject_common,
            self.require_mfa,
            self.allowlist_text(),
            self.idle_minutes,
            self.absolute_minutes,
            self.passkeys_min_role.map_or("", |r| r.as_str()),
        );
        format!("\"{}\"", &super::crypto::sha256_hex(&stored)[..20])
    }
}

/// The policy form as typed: every field text, so a bad value can be shown back.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct PolicyInput {
    #[serde(default)]
    pub min_password_length: String,
    #[serde(default)]
    pub reject_common: Option<String>,
    #[serde(default)]
    pub require_mfa: Option<String>,
    #[serde(default)]
    pub ip_allowlist: String,
    #[serde(default)]
    pub idle_minutes: String,
    #[serde(default)]
    pub absolute_minutes: String,
    /// A role's stored text, or empty for "nobody".
    #[serde(default)]
    pub passkeys_min_role: String,
}

impl PolicyInput {
    pub fn from_policy(p: &Policy) -> PolicyInput {
        let minutes = |m: i64| if m == 0 { String::new() } else { m.to_string() };
        PolicyInput {
            min_password_length: p.min_password_length.to_string(),
            reject_common: p.reject_common.then(|| "on".into()),
            require_mfa: p.require_mfa.then(|| "on".into()),
            ip_allowlist: p.allowlist_text(),
            idle_minutes: minutes(p.idle_minutes),
            absolute_minutes: minutes(p.absolute_minutes),
            passkeys_min_role: p
                .passkeys_min_role
                .map_or(String::new(), |r| r.as_str().to_string()),
        }
    }

    /// Validates the form. `client_ip` is the editor's own address: an allowlist that would
    /// shut them out is refused, so nobody locks their organisation out by a typo.
    pub fn validate(&self, client_ip: Option<IpAddr>) -> Result<Policy, FieldErrors> {
        let mut errors = FieldErrors::new();
        let min = match self.min_password_length.trim().parse::<i64>() {
            Ok(n) if (POLICY_MIN_PASSWORD..=POLICY_MAX_PASSWORD).contains(&n) => n,
            _ => {
                errors.add(
                    "min_password_length",
                    format!(
                        "Enter a whole number from {POLICY_MIN_PASSWORD} to {POLICY_MAX_PASSWORD}."
                    ),
                );
                MIN_PASSWORD as i64
            }
        };
        let mut minutes = |field: &'static str, raw: &str, max: i64| -> i64 {
            let raw = raw.trim();
            if raw.is_empty() {
                return 0;
            }
            match raw.parse::<i64>() {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => {
                    errors.add(
                        field,
                        format!("Enter minutes from 1 to {max}, or leave empty."),
                    );
                    0
                }
            }
        };
        let idle = minutes("idle_minutes", &self.idle_minutes, 7 * 24 * 60);
        let absolute = minutes("absolute_minutes", &self.absolute_minutes, 365 * 24 * 60);
        let allowlist = match parse_allowlist(&self.ip_allowlist) {
            Ok(list) => {
                if let Some(ip) = client_ip
                    && !list.is_empty()
                    && !ip_allowed(&list, ip)
                {
                    errors.add(
                        "ip_allowlist",
                        format!(
                            "Your own address ({ip}) is not in this list: saving it would lock you out."
                        ),
                    );
                }
                list
            }
            Err(m) => {
                errors.add("ip_allowlist", m);
                Vec::new()
            }
        };
        let passkeys_min_role = match self.passkeys_min_role.trim() {
            "" => None,
            raw => {
                let role = Role::parse(raw);
                if role.is_none() {
                    errors.add("passkeys_min_role", "Choose one of the listed roles.");
                }
                role
            }
        };
        errors.into_result()?;
        Ok(Policy {
            min_password_length: min,
            reject_common: self.reject_common.is_some(),
            require_mfa: self.require_mfa.is_some(),
            ip_allowlist: allowlist,
            idle_minutes: idle,
            absolute_minutes: absolute,
            passkeys_min_role,
        })
    }
}

/// One CIDR (or bare address) per line or comma; blank lines ignored.
pub fn parse_allowlist(text: &str) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for entry in text
        .split(['\n', ','])
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let net = if let Ok(net) = entry.parse::<IpNet>() {
            net.trunc()
        } else if let Ok(ip) = entry.parse::<IpAddr>() {
            IpNet::from(ip)
        } else {
            let shown: String = entry.chars().take(60).collect();
            return Err(format!(
                "\"{shown}\" is not an address or CIDR range (e.g. 203.0.113.0/24)."
            ));
        };
        if !out.contains(&net) {
            out.push(net);
        }
    }
    if out.len() > MAX_ALLOWLIST_ENTRIES {
        return Err(format!("Use at most {MAX_ALLOWLIST_ENTRIES} ranges."));
    }
    Ok(out)
}

pub fn allowlist_to_text(list: &[IpNet]) -> String {
    list.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// True when `ip` is inside one of the ranges (an empty list allows everything).
/// IPv4-mapped IPv6 addresses count as the IPv4 address they carry.
pub fn ip_allowed(list: &[IpNet], ip: IpAddr) -> bool {
    let ip = ip.to_canonical();
    list.is_empty() || list.iter().any(|n| n.contains(&ip))
}

/// The same check from stored text; an unparsable client address is never allowed.
pub fn ip_allowed_text(stored: &str, client_ip: &str) -> bool {
    if stored.trim().is_empty() {
        return true;
    }
    let Ok(list) = parse_allowlist(stored) else {
        // A stored list we cannot read fails closed.
        return false;
    };
    client_ip
        .parse::<IpAddr>()
        .is_ok_and(|ip| ip_allowed(&list, ip))
}

/// Whether a session has outlived its tenant's limits (the server's own limits are applied in
/// SQL; the stricter of the two wins). Minutes of `0` mean "no tenant limit".
pub fn session_expired_by_policy(
    now_ms: i64,
    created_at_ms: i64,
    last_seen_ms: i64,
    idle_minutes: i64,
    absolute_minutes: i64,
) -> bool {
    let idle_over = idle_minutes > 0 && now_ms - last_seen_ms > idle_minutes * 60_000;
    let absolute_over = absolute_minutes > 0 && now_ms - created_at_ms > absolute_minutes * 60_000;
    idle_over || absolute_over
}

/// "Policy updated: require MFA off → on; …" for the log.
pub fn describe_change(before: &Policy, after: &Policy) -> String {
    let mut parts = Vec::new();
    let onoff = |b: bool| if b { "on" } else { "off" };
    let minutes = |m: i64| {
        if m == 0 {
            "server default".to_string()
        } else {
            format!("{m} min")
        }
    };
    if before.min_password_length != after.min_password_length {
        parts.push(format!(
            "minimum password length {} → {}",
            before.min_password_length, after.min_password_length
        ));
    }
    if before.reject_common != after.reject_common {
        parts.push(format!(
            "common-password check {} → {}",
            onoff(before.reject_common),
            onoff(after.reject_common)
        ));
    }
    if before.require_mfa != after.require_mfa {
        parts.push(format!(
            "require MFA {} → {}",
            onoff(before.require_mfa),
            onoff(after.require_mfa)
        ));
    }
    if before.passkeys_min_role != after.passkeys_min_role {
        let who = |r: Option<crate::actor::Role>| {
            r.map_or("nobody".to_string(), |r| format!("{} and above", r.label()))
        };
        parts.push(format!(
            "passkeys required for {} → {}",
            who(before.passkeys_min_role),
            who(after.passkeys_min_role)
        ));
    }
    if before.ip_allowlist != after.ip_allowlist {
        let list = after.allowlist_text().replace('\n', ", ");
        parts.push(if list.is_empty() {
            "IP allowlist removed".to_string()
        } else {
            format!("IP allowlist: {list}")
        });
    }
    if before.idle_minutes != after.idle_minutes {
        parts.push(format!(
            "idle timeout {} → {}",
            minutes(before.idle_minutes),
            minutes(after.idle_minutes)
        ));
    }
    if before.absolute_minutes != after.absolute_minutes {
        parts.push(format!(
            "absolute timeout {} → {}",
            minutes(before.absolute_minutes),
            minutes(after.absolute_minutes)
        ));
    }
    if parts.is_empty() {
        "Saved the security policy (no changes)".into()
    } else {
        format!("Security policy: {}", parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowlists_parse_and_match() {
        let list = parse_allowlist("203.0.113.7/24\n\n10.0.0.1, 2001:db8::/32").unwrap();
        assert_eq!(
            allowlist_to_text(&list),
            "203.0.113.0/24\n10.0.0.1/32\n2001:db8::/32"
        );
        assert!(ip_allowed(&list, "203.0.113.200".parse().unwrap()));
        assert!(ip_allowed(&list, "::ffff:10.0.0.1".parse().unwrap()));
        assert!(!ip_allowed(&list, "10.0.0.2".parse().unwrap()));
        assert!(ip_allowed(&[], "1.2.3.4".parse().unwrap()));
        assert!(parse_allowlist("10.0.0.0/33").is_err());
        assert!(parse_allowlist("example.com").is_err());
        assert!(ip_allowed_text("", "junk"));
        assert!(!ip_allowed_text("10.0.0.0/8", "junk"));
        assert!(ip_allowed_text("10.0.0.0/8", "10.1.2.3"));
    }

    #[test]
    fn policy_form_validation() {
        let mut input = PolicyInput {
            min_password_length: "7".into(),
            ip_allowlist: "198.51.100.0/24".into(),
            idle_minutes: "0".into(),
            absolute_minutes: "".into(),
            ..PolicyInput::default()
        };
        let errors = input
            .validate(Some("203.0.113.1".parse().unwrap()))
            .unwrap_err();
        assert!(errors.has("min_password_length"));
        assert!(errors.get("ip_allowlist").contains("lock you out"));
        assert!(errors.has("idle_minutes"));
        input.min_password_length = "10".into();
        input.idle_minutes = "15".into();
        input.require_mfa = Some("on".into());
        let p = input
            .validate(Some("198.51.100.9".parse().unwrap()))
            .unwrap();
        assert_eq!(p.min_password_length, 10);
        assert!(p.require_mfa && !p.reject_common);
        assert_eq!((p.idle_minutes, p.absolute_minutes), (15, 0));
        assert_eq!(PolicyInput::from_policy(&p).idle_minutes, "15");
    }

    #[test]
    fn tenant_session_limits() {
        let min = 60_000;
        assert!(!session_expired_by_policy(100 * min, 0, 99 * min, 0, 0));
        assert!(session_expired_by_policy(100 * min, 0, 90 * min, 5, 0));
        assert!(!session_expired_by_policy(100 * min, 0, 96 * min, 5, 0));
        assert!(session_expired_by_policy(100 * min, 0, 99 * min, 0, 60));
        assert!(!session_expired_by_policy(
            100 * min,
            50 * min,
            99 * min,
            0,
            60
        ));
    }
}
