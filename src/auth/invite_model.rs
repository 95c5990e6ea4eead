//! Invitations: how long a link lives and when it can still be used. Pure rules, unit-tested.

/// An invitation link works for 72 hours after it was sent (or last resent).
pub const INVITATION_TTL_SECS: i64 = 72 * 3600;

/// Where an invitation stands at a given instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvitationState {
    Pending,
    Expired,
    Accepted,
    Revoked,
}

impl InvitationState {
    /// `accepted_at` / `revoked_at` are set once; `expires_at` and `now` are Unix ms.
    pub fn at(
        expires_at: i64,
        accepted_at: Option<i64>,
        revoked_at: Option<i64>,
        now: i64,
    ) -> InvitationState {
        if accepted_at.is_some() {
            InvitationState::Accepted
        } else if revoked_at.is_some() {
            InvitationState::Revoked
        } else if now >= expires_at {
            InvitationState::Expired
        } else {
            InvitationState::Pending
        }
    }

    /// Only a pending invitation's link can set a password.
    pub fn usable(self) -> bool {
        self == InvitationState::Pending
    }

    pub fn label(self) -> &'static str {
        match self {
            InvitationState::Pending => "Pending",
            InvitationState::Expired => "Expired",
            InvitationState::Accepted => "Accepted",
            InvitationState::Revoked => "Revoked",
        }
    }
}

/// The expiry of a link sent at `now_ms`.
pub fn expiry_from(now_ms: i64) -> i64 {
    now_ms.saturating_add(INVITATION_TTL_SECS * 1000)
}

/// A plausible invitation token (43 URL-safe base64 characters): anything else is not looked up.
pub fn plausible_token(token: &str) -> bool {
    token.len() == 43
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_live_72_hours() {
        let sent = 1_000_000;
        let expires = expiry_from(sent);
        assert_eq!(expires - sent, 72 * 3600 * 1000);
        let at = |now| InvitationState::at(expires, None, None, now);
        assert_eq!(at(sent), InvitationState::Pending);
        assert_eq!(at(expires - 1), InvitationState::Pending);
        assert_eq!(at(expires), InvitationState::Expired);
        assert!(!at(expires + 1).usable());
    }

    #[test]
    fn accepted_and_revoked_links_are_spent_even_before_expiry() {
        let expires = expiry_from(0);
        let accepted = InvitationState::at(expires, Some(5), None, 10);
        let revoked = InvitationState::at(expires, None, Some(5), 10);
        assert_eq!(accepted, InvitationState::Accepted);
        assert_eq!(revoked, InvitationState::Revoked);
        assert!(!accepted.usable() && !revoked.usable());
        assert_eq!(revoked.label(), "Revoked");
    }

    #[test]
    fn only_well_formed_tokens_are_looked_up() {
        assert!(plausible_token(&"a".repeat(43)));
        assert!(plausible_token(&format!("{}-_", "Z9".repeat(20) + "x")));
        assert!(!plausible_token("short"));
        assert!(!plausible_token(&"a".repeat(44)));
        assert!(!plausible_token(&format!("{}/", "a".repeat(42))));
    }
}
