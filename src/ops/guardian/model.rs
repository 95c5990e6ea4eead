//! Guardian findings: what the security agent reports on a pod, its severity and state, and
//! the rules for what it sends.

use crate::actor::{Actor, Role};
use crate::text_enum;

text_enum!(Severity {
    Critical => "CRITICAL" / "Critical",
    High => "HIGH" / "High",
    Medium => "MEDIUM" / "Medium",
    Low => "LOW" / "Low",
});

text_enum!(FindingStatus {
    Open => "OPEN" / "Open",
    Resolved => "RESOLVED" / "Resolved",
    Ignored => "IGNORED" / "Ignored",
});

impl Severity {
    pub fn tone(self) -> &'static str {
        match self {
            Severity::Critical | Severity::High => "err",
            Severity::Medium => "warn",
            Severity::Low => "muted",
        }
    }
}

impl FindingStatus {
    pub fn tone(self) -> &'static str {
        match self {
            FindingStatus::Open => "err",
            FindingStatus::Resolved => "ok",
            FindingStatus::Ignored => "muted",
        }
    }

    /// Only an open finding is resolved or ignored.
    pub fn can_close(self) -> bool {
        self == FindingStatus::Open
    }

    /// The status after the agent reports the same key again: a resolved finding that comes
    /// back is open again; an ignored one stays ignored (someone decided it does not matter).
    pub fn on_repeat(self) -> FindingStatus {
        match self {
            FindingStatus::Resolved => FindingStatus::Open,
            s => s,
        }
    }
}

/// Staff ADMIN+ resolve and ignore findings; any staff member reads the list.
pub fn can_triage(actor: &Actor) -> bool {
    actor.is_staff && actor.role >= Role::Admin
}

pub const MAX_KEY: usize = 200;
pub const MAX_TITLE: usize = 200;
pub const MAX_DETAIL: usize = 8_000;
pub const MAX_REASON: usize = 500;

/// A stable key: 1–200 characters of letters, digits and `. _ - : /`.
pub fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= MAX_KEY
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b".-_:/".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_reopens_what_was_resolved_but_not_what_was_ignored() {
        assert_eq!(FindingStatus::Resolved.on_repeat(), FindingStatus::Open);
        assert_eq!(FindingStatus::Ignored.on_repeat(), FindingStatus::Ignored);
        assert_eq!(FindingStatus::Open.on_repeat(), FindingStatus::Open);
        assert!(FindingStatus::Open.can_close() && !FindingStatus::Ignored.can_close());
    }

    #[test]
    fn keys_are_short_plain_identifiers() {
        assert!(valid_key("ssh.root-login:enabled/v1"));
        assert!(!valid_key(""));
        assert!(!valid_key("has space"));
        assert!(!valid_key(&"k".repeat(201)));
    }
}
