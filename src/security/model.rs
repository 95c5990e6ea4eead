//! Security centre types and pure rules: event kinds, token scopes, password and tenant
//! policy, IP allowlists, session limits, user-agent summaries.

use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::auth::model::{MAX_PASSWORD, MIN_PASSWORD, Role};
use crate::web::forms::FieldErrors;

/// What the security events log records. The names are the stored values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    LoginSuccess,
    LoginFailed,
    LoginLocked,
    MfaEnabled,
    MfaDisabled,
    MfaFailed,
    MfaReplay,
    RecoveryCodeUsed,
    RecoveryCodesRegenerated,
    SessionRevoked,
    TokenCreated,
    TokenRevoked,
    PasswordChanged,
    PolicyUpdated,
    IpBlocked,
}

impl EventKind {
    pub const ALL: [EventKind; 15] = [
        EventKind::LoginSuccess,
        EventKind::LoginFailed,
        EventKind::LoginLocked,
        EventKind::MfaEnabled,
        EventKind::MfaDisabled,
        EventKind::MfaFailed,
        EventKind::MfaReplay,
        EventKind::RecoveryCodeUsed,
        EventKind::RecoveryCodesRegenerated,
        EventKind::SessionRevoked,
        EventKind::TokenCreated,
        EventKind::TokenRevoked,
        EventKind::PasswordChanged,
        EventKind::PolicyUpdated,
        EventKind::IpBlocked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::LoginSuccess => "LOGIN_SUCCESS",
            EventKind::LoginFailed => "LOGIN_FAILED",
            EventKind::LoginLocked => "LOGIN_LOCKED",
            EventKind::MfaEnabled => "MFA_ENABLED",
            EventKind::MfaDisabled => "MFA_DISABLED",
            EventKind::MfaFailed => "MFA_FAILED",
            EventKind::MfaReplay => "MFA_REPLAY",
            EventKind::RecoveryCodeUsed => "RECOVERY_CODE_USED",
            EventKind::RecoveryCodesRegenerated => "RECOVERY_CODES_REGENERATED",
            EventKind::SessionRevoked => "SESSION_REVOKED",
            EventKind::TokenCreated => "TOKEN_CREATED",
            EventKind::TokenRevoked => "TOKEN_REVOKED",
            EventKind::PasswordChanged => "PASSWORD_CHANGED",
            EventKind::PolicyUpdated => "POLICY_UPDATED",
            EventKind::IpBlocked => "IP_BLOCKED",
        }
    }

    /// The matching audit-log action: the foundation's names are kept for sign-in and password.
    pub fn audit_action(self) -> &'static str {
        match self {
            EventKind::LoginSuccess => "auth.login",
            EventKind::LoginFailed => "auth.login_failed",
            EventKind::LoginLocked => "auth.login_throttled",
            EventKind::PasswordChanged => "user.password_changed",
            EventKind::MfaEnabled => "security.mfa_enabled",
            EventKind::MfaDisabled => "security.mfa_disabled",
            EventKind::MfaFailed => "security.mfa_failed",
            EventKind::MfaReplay => "security.mfa_replay",
            EventKind::RecoveryCodeUsed => "security.recovery_code_used",
            EventKind::RecoveryCodesRegenerated => "security.recovery_codes_regenerated",
            EventKind::SessionRevoked => "security.session_revoked",
            EventKind::TokenCreated => "security.token_created",
            EventKind::TokenRevoked => "security.token_revoked",
            EventKind::PolicyUpdated => "security.policy_updated",
            EventKind::IpBlocked => "security.ip_blocked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EventKind::LoginSuccess => "Signed in",
            EventKind::LoginFailed => "Sign-in failed",
            EventKind::LoginLocked => "Sign-in locked (too many failures)",
            EventKind::MfaEnabled => "Two-factor authentication turned on",
            EventKind::MfaDisabled => "Two-factor authentication turned off",
            EventKind::MfaFailed => "Wrong authentication code",
            EventKind::MfaReplay => "Authentication code replayed",
            EventKind::RecoveryCodeUsed => "Recovery code used",
            EventKind::RecoveryCodesRegenerated => "Recovery codes replaced",
            EventKind::SessionRevoked => "Session ended",
            EventKind::TokenCreated => "API token created",
            EventKind::TokenRevoked => "API token revoked",
            EventKind::PasswordChanged => "Password changed",
            EventKind::PolicyUpdated => "Security policy updated",
            EventKind::IpBlocked => "Refused: address not allowed",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an API token may be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Read,
    Write,
    Admin,
    Billing,
    Provisioning,
    Security,
}

impl Scope {
    pub const ALL: [Scope; 6] = [
        Scope::Read,
        Scope::Write,
        Scope::Admin,
        Scope::Billing,
        Scope::Provisioning,
        Scope::Security,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "READ",
            Scope::Write => "WRITE",
            Scope::Admin => "ADMIN",
            Scope::Billing => "BILLING",
            Scope::Provisioning => "PROVISIONING",
            Scope::Security => "SECURITY",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Scope::Read => "read your organisation's data",
            Scope::Write => "change data your role may change",
            Scope::Admin => "administer members and settings",
            Scope::Billing => "invoices, payments and subscriptions",
            Scope::Provisioning => "create and manage CloudPods",
            Scope::Security => "your sessions, tokens and security events",
        }
    }

    /// A token never does more than its user: each scope needs a minimum role.
    pub fn allowed_for(self, role: Role) -> bool {
        match self {
            Scope::Read | Scope::Security => true,
            Scope::Write | Scope::Provisioning => role >= Role::Member,
            Scope::Billing => role >= Role::Billing,
            Scope::Admin => role >= Role::Admin,
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str().eq_ignore_ascii_case(s.trim()))
    }

    /// Parses the stored comma-separated list, ignoring unknown names.
    pub fn parse_list(s: &str) -> Vec<Scope> {
        let mut v: Vec<Scope> = s.split(',').filter_map(Scope::parse).collect();
        v.sort();
        v.dedup();
        v
    }

    pub fn join(scopes: &[Scope]) -> String {
        scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Password rules in force for a tenant (defaults when it has no policy).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordRules {
    pub min_length: usize,
    pub reject_common: bool,
}

impl Default for PasswordRules {
    fn default() -> PasswordRules {
        PasswordRules {
            min_length: MIN_PASSWORD,
            reject_common: true,
        }
    }
}

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
        errors.into_result()?;
        Ok(Policy {
            min_password_length: min,
            reject_common: self.reject_common.is_some(),
            require_mfa: self.require_mfa.is_some(),
            ip_allowlist: allowlist,
            idle_minutes: idle,
            absolute_minutes: absolute,
        })
    }
}

/// One CIDR (or bare address) per line or comma; blank lines ignored.
pub fn parse_allowlist(text: &str) -> Result<Vec<IpNet>, String> {
    let mut out = Vec::new();
    for entry in text
        .split(|c| c == '\n' || c == ',')
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

/// "Firefox on Linux": a readable summary of a user agent for the sessions list.
pub fn describe_user_agent(ua: &str) -> (String, String) {
    let has = |s: &str| ua.contains(s);
    let browser = if has("Edg/") || has("Edge/") {
        "Edge"
    } else if has("OPR/") || has("Opera") {
        "Opera"
    } else if has("Firefox/") || has("FxiOS/") {
        "Firefox"
    } else if has("Chromium/") {
        "Chromium"
    } else if has("Chrome/") || has("CriOS/") {
        "Chrome"
    } else if has("Safari/") && has("Version/") {
        "Safari"
    } else if has("curl/") {
        "curl"
    } else if ua.trim().is_empty() {
        "Unknown browser"
    } else {
        "Other client"
    };
    let os = if has("Windows") {
        "Windows"
    } else if has("iPhone") || has("iPad") || has("iOS") {
        "iOS"
    } else if has("Android") {
        "Android"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("Mac OS X") || has("Macintosh") {
        "macOS"
    } else if has("Linux") || has("X11") {
        "Linux"
    } else {
        "unknown OS"
    };
    (browser.to_string(), os.to_string())
}

/// The expiry date field of the token form: required, today at the earliest, at most a year
/// ahead. Returns the exclusive end instant (start of the following day, UTC).
pub fn token_expiry(raw: &str, now_ms: i64) -> Result<i64, &'static str> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err("Choose an expiry date: tokens always expire.");
    }
    let day = crate::db::Timestamp::from_date(raw).ok_or("Use a date like 2026-12-31.")?;
    let end = day.0 + 86_400_000;
    if end <= now_ms {
        return Err("Choose a date from today on.");
    }
    if day.0 > now_ms + 365 * 86_400_000 {
        return Err("Tokens expire within one year: choose an earlier date.");
    }
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_round_trip() {
        for k in EventKind::ALL {
            assert_eq!(EventKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(EventKind::parse("NOPE"), None);
        assert_eq!(EventKind::LoginFailed.audit_action(), "auth.login_failed");
    }

    #[test]
    fn scopes_parse_and_respect_roles() {
        assert_eq!(
            Scope::parse_list("security,READ,bogus,READ"),
            vec![Scope::Read, Scope::Security]
        );
        assert_eq!(Scope::join(&[Scope::Read, Scope::Billing]), "READ,BILLING");
        assert!(Scope::Read.allowed_for(Role::Viewer));
        assert!(!Scope::Write.allowed_for(Role::Viewer));
        assert!(!Scope::Admin.allowed_for(Role::Billing));
        assert!(Scope::Admin.allowed_for(Role::Owner));
        assert!(!Scope::Billing.allowed_for(Role::Member));
    }

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

    #[test]
    fn user_agents_are_summarised() {
        let ff = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert_eq!(describe_user_agent(ff), ("Firefox".into(), "Linux".into()));
        let chrome_mac = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 \
                          (KHTML, like Gecko) Chrome/126.0 Safari/537.36";
        assert_eq!(describe_user_agent(chrome_mac).0, "Chrome");
        assert_eq!(describe_user_agent(chrome_mac).1, "macOS");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0 Safari/537.36 Edg/126.0";
        assert_eq!(describe_user_agent(edge), ("Edge".into(), "Windows".into()));
        let iphone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Version/17.5 \
                      Mobile/15E148 Safari/604.1";
        assert_eq!(describe_user_agent(iphone), ("Safari".into(), "iOS".into()));
        assert_eq!(describe_user_agent("").0, "Unknown browser");
    }

    #[test]
    fn token_expiry_is_required_and_within_a_year() {
        let now = crate::db::Timestamp::from_date("2026-01-10").unwrap().0 + 3_600_000;
        assert!(token_expiry("", now).is_err());
        assert!(token_expiry("2026-01-09", now).is_err());
        assert_eq!(
            token_expiry("2026-01-10", now).unwrap(),
            crate::db::Timestamp::from_date("2026-01-11").unwrap().0
        );
        assert!(token_expiry("2027-01-10", now).is_ok());
        assert!(token_expiry("2027-01-11", now).is_err());
        assert!(token_expiry("soon", now).is_err());
    }
}
