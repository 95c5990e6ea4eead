//! Security centre types and pure rules: event kinds, token scopes, password rules,
//! user-agent summaries, token expiry. The tenant policy's rules are in `policy.rs`.

pub use super::policy::*;

use crate::auth::model::{MIN_PASSWORD, Role};

// What the security events log records. The texts are the stored values.
crate::text_enum!(EventKind {
    LoginSuccess => "LOGIN_SUCCESS" / "Signed in",
    LoginFailed => "LOGIN_FAILED" / "Sign-in failed",
    LoginLocked => "LOGIN_LOCKED" / "Sign-in locked (too many failures)",
    MfaEnabled => "MFA_ENABLED" / "Two-factor authentication turned on",
    MfaDisabled => "MFA_DISABLED" / "Two-factor authentication turned off",
    MfaFailed => "MFA_FAILED" / "Wrong authentication code",
    MfaReplay => "MFA_REPLAY" / "Authentication code replayed",
    RecoveryCodeUsed => "RECOVERY_CODE_USED" / "Recovery code used",
    RecoveryCodesRegenerated => "RECOVERY_CODES_REGENERATED" / "Recovery codes replaced",
    SessionRevoked => "SESSION_REVOKED" / "Session ended",
    TokenCreated => "TOKEN_CREATED" / "API token created",
    TokenRevoked => "TOKEN_REVOKED" / "API token revoked",
    PasswordChanged => "PASSWORD_CHANGED" / "Password changed",
    PolicyUpdated => "POLICY_UPDATED" / "Security policy updated",
    IpBlocked => "IP_BLOCKED" / "Refused: address not allowed",
    PasskeyRegistered => "PASSKEY_REGISTERED" / "Passkey registered",
    PasskeyRemoved => "PASSKEY_REMOVED" / "Passkey removed",
    PasskeyUsed => "PASSKEY_USED" / "Passkey used",
    PasskeyRefused => "PASSKEY_REFUSED" / "Passkey refused",
});

impl EventKind {
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
            EventKind::PasskeyRegistered => "security.passkey_registered",
            EventKind::PasskeyRemoved => "security.passkey_removed",
            EventKind::PasskeyUsed => "security.passkey_used",
            EventKind::PasskeyRefused => "security.passkey_refused",
        }
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
            assert_eq!(EventKind::parse(k.as_str()), Some(*k));
            assert_eq!(EventKind::from_stored(k.as_str()).unwrap(), *k);
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
