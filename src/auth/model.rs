//! Roles, the acting user, and the pure rules about who may do what.

use crate::db::Timestamp;
use crate::security::common_passwords;
pub use crate::security::model::PasswordRules;
use crate::web::forms::FieldErrors;

pub use crate::actor::{Actor, ClientInfo, Role, TenantKind};
pub use crate::db::TenantScope;

/// Why a role change or deactivation is refused; `None` when allowed.
/// `owners_left` counts the tenant's active OWNERs other than `target`.
pub fn check_member_change(
    actor: &Actor,
    target_role: Role,
    target_is_self: bool,
    new_role: Option<Role>,
    owners_left: i64,
) -> Option<&'static str> {
    if target_role > actor.role {
        return Some("You cannot change a member whose role is above your own.");
    }
    if let Some(new_role) = new_role {
        if new_role > actor.role {
            return Some("You cannot grant a role above your own.");
        }
    } else if target_is_self {
        return Some("You cannot deactivate your own account; ask another administrator.");
    }
    let loses_owner = target_role == Role::Owner && new_role != Some(Role::Owner);
    if loses_owner && owners_left == 0 {
        return Some("A tenant must keep at least one owner: make someone else OWNER first.");
    }
    None
}

pub const MAX_NAME: usize = 120;
pub const MAX_EMAIL: usize = 254;
pub const MIN_PASSWORD: usize = 12;
pub const MAX_PASSWORD: usize = 256;

/// Lower-cased, trimmed e-mail, or a message for the field.
pub fn normalize_email(raw: &str) -> Result<String, &'static str> {
    let email = raw.trim().to_lowercase();
    if email.is_empty() {
        return Err("Enter an e-mail address.");
    }
    if email.len() > MAX_EMAIL {
        return Err("That e-mail address is too long.");
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err("Enter an e-mail address like name@example.com.");
    };
    let ok = !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if ok {
        Ok(email)
    } else {
        Err("Enter an e-mail address like name@example.com.")
    }
}

/// Why a new password is not acceptable under `rules` (the tenant's policy), or `None`.
pub fn password_problem(password: &str, email: &str, rules: &PasswordRules) -> Option<String> {
    let len = password.chars().count();
    let min = rules.min_length.max(1);
    if len < min {
        return Some(format!("Use at least {min} characters."));
    }
    if len > MAX_PASSWORD {
        return Some(format!("Use at most {MAX_PASSWORD} characters."));
    }
    let lower = password.to_lowercase();
    if rules.reject_common && common_passwords::is_common(password) {
        return Some(
            "That password is one of the 10,000 most common passwords: choose another.".into(),
        );
    }
    if lower == email
        || password
            .chars()
            .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        return Some("That password is too easy to guess.".into());
    }
    let local = email.split('@').next().unwrap_or("");
    if local.len() >= 4 && lower.contains(local) {
        return Some("Do not include your e-mail name in the password.".into());
    }
    None
}

/// A required single-line text field: trimmed, non-empty, at most `max` characters.
pub fn required_text(
    errors: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    max: usize,
) -> String {
    let value = raw.trim().to_string();
    if value.is_empty() {
        errors.add(field, "This field is required.");
    } else if value.chars().count() > max {
        errors.add(field, format!("Use at most {max} characters."));
    } else if value.chars().any(char::is_control) {
        errors.add(field, "Remove control characters.");
    }
    value
}

/// Tenant slugs: 2–40 of a-z, 0-9 and '-', not starting or ending with '-'.
pub fn slug_problem(slug: &str) -> Option<&'static str> {
    let ok_chars = slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if slug.len() < 2 || slug.len() > 40 {
        Some("Use 2 to 40 characters.")
    } else if !ok_chars || slug.starts_with('-') || slug.ends_with('-') {
        Some("Use lower-case letters, digits and dashes (not at either end).")
    } else {
        None
    }
}

/// ISO 3166-1 alpha-2 shape (two letters); upper-cased.
pub fn country_code(raw: &str) -> Result<String, &'static str> {
    let c = raw.trim().to_uppercase();
    if c.len() == 2 && c.chars().all(|ch| ch.is_ascii_uppercase()) {
        Ok(c)
    } else {
        Err("Use a two-letter country code such as US or DE.")
    }
}

pub fn currency_code(raw: &str) -> Result<String, &'static str> {
    if let Some(c) = crate::money::currency(raw) {
        Ok(c.code.to_string())
    } else {
        Err("Choose a supported currency (e.g. USD, EUR, JPY, KWD).")
    }
}

/// Generic Cell Rate Algorithm over a stored "theoretical arrival time" (TAT).
///
/// `burst` failures are allowed at once; after that one more every `interval_ms`. Each
/// recorded failure pushes the TAT forward by `interval_ms`, and time pulls it back, so a
/// limit always lifts by itself once failures stop: nobody is locked out for good.
#[derive(Clone, Copy, Debug)]
pub struct Gcra {
    pub burst: u32,
    pub interval_ms: i64,
}

impl Gcra {
    /// Milliseconds until another attempt is allowed, or `None` when one is allowed now.
    pub fn retry_after_ms(self, tat_ms: Option<i64>, now_ms: i64) -> Option<i64> {
        let tat = tat_ms?;
        let tolerance = i64::from(self.burst.saturating_sub(1)) * self.interval_ms;
        let wait = tat - now_ms - tolerance;
        (wait > 0).then_some(wait)
    }

    /// The TAT after one more failure at `now_ms`.
    pub fn next_tat(self, tat_ms: Option<i64>, now_ms: i64) -> i64 {
        tat_ms.unwrap_or(now_ms).max(now_ms) + self.interval_ms
    }

    /// How far past now a TAT may be pushed by a reserved attempt: the whole burst. An attempt
    /// is admitted exactly when `next_tat - now <= limit_ms` (the store's reservation is this
    /// rule as one conditional upsert), which is the same as `retry_after_ms` being `None`.
    pub fn limit_ms(self) -> i64 {
        i64::from(self.burst.max(1)) * self.interval_ms
    }
}

/// How long after signing in with a temporary password its forced change may skip asking for
/// that password again.
pub const FRESH_SIGN_IN_SECS: i64 = 15 * 60;

/// Whether changing the password asks for the current one. Not right after signing in with a
/// temporary password (the account is flagged must-change, which blocks everything else, and
/// this session began less than [`FRESH_SIGN_IN_SECS`] ago: the password was just typed);
/// always otherwise, so an unattended session cannot be used to take the account over.
pub fn current_password_needed(
    must_change: bool,
    session_started: Timestamp,
    now: Timestamp,
) -> bool {
    !(must_change
        && session_started.0 <= now.0
        && session_started.plus_secs(FRESH_SIGN_IN_SECS).0 > now.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(role: Role, is_staff: bool) -> Actor {
        Actor {
            user_id: "u".into(),
            email: "a@example.com".into(),
            name: "A".into(),
            tenant_id: "t1".into(),
            tenant_name: "T".into(),
            role,
            is_staff,
            session_id: "s".into(),
            must_change_password: false,
            client: ClientInfo::default(),
        }
    }

    #[test]
    fn role_order_and_parsing() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Billing);
        assert!(Role::Billing > Role::Member && Role::Member > Role::Viewer);
        assert_eq!("admin".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
        assert_eq!(
            Role::Billing.grantable(),
            vec![Role::Billing, Role::Member, Role::Viewer]
        );
    }

    #[test]
    fn member_management_boundaries() {
        let admin = actor(Role::Admin, false);
        assert!(admin.can_manage_members_of("t1"));
        assert!(!admin.can_manage_members_of("t2"));
        assert!(actor(Role::Admin, true).can_manage_members_of("t2"));
        assert!(!actor(Role::Billing, false).can_manage_members_of("t1"));
        assert!(!actor(Role::Billing, true).can_manage_members_of("t2"));
        assert!(actor(Role::Admin, true).can_manage_tenants());
        assert!(!actor(Role::Owner, false).can_manage_tenants());
        assert!(actor(Role::Owner, false).can_view_audit());
        assert!(!actor(Role::Admin, false).can_view_audit());
        assert!(actor(Role::Admin, true).can_view_audit());
        assert!(!actor(Role::Billing, true).can_view_audit());
    }

    #[test]
    fn no_grant_above_own_role_and_last_owner_kept() {
        let admin = actor(Role::Admin, false);
        let owner = actor(Role::Owner, false);
        assert!(check_member_change(&admin, Role::Member, false, Some(Role::Owner), 1).is_some());
        assert!(check_member_change(&admin, Role::Member, false, Some(Role::Admin), 1).is_none());
        assert!(check_member_change(&admin, Role::Owner, false, Some(Role::Member), 3).is_some());
        // the last owner can be neither demoted nor deactivated
        assert!(check_member_change(&owner, Role::Owner, true, Some(Role::Admin), 0).is_some());
        assert!(check_member_change(&owner, Role::Owner, false, None, 0).is_some());
        assert!(check_member_change(&owner, Role::Owner, true, Some(Role::Admin), 1).is_none());
        assert!(check_member_change(&owner, Role::Owner, false, None, 1).is_none());
        assert!(check_member_change(&owner, Role::Owner, false, Some(Role::Owner), 0).is_none());
        // nobody deactivates themselves
        assert!(check_member_change(&owner, Role::Owner, true, None, 5).is_some());
    }

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            normalize_email("  Ann@Example.COM ").unwrap(),
            "ann@example.com"
        );
        for bad in [
            "", "ann", "ann@", "@x.io", "a@b", "a b@c.io", "a@.io", "a@io.",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
        assert!(normalize_email(&format!("{}@x.io", "a".repeat(260))).is_err());
    }

    #[test]
    fn weak_passwords_are_refused() {
        let rules = PasswordRules::default();
        assert!(password_problem("short", "a@x.io", &rules).is_some());
        assert!(password_problem("aaaaaaaaaaaaaaa", "a@x.io", &rules).is_some());
        assert!(password_problem("annabelle-2026!", "annabelle@x.io", &rules).is_some());
        assert!(password_problem(&"x1".repeat(200), "a@x.io", &rules).is_some());
        assert!(password_problem("correct horse battery", "a@x.io", &rules).is_none());
    }

    #[test]
    fn tenant_rules_set_the_length_and_the_common_list() {
        let eight = PasswordRules {
            min_length: 8,
            reject_common: true,
        };
        assert!(password_problem("river-oak", "a@x.io", &eight).is_none());
        assert!(
            password_problem("sunshine", "a@x.io", &eight).is_some(),
            "common"
        );
        assert!(password_problem("Unbelievable", "a@x.io", &PasswordRules::default()).is_some());
        let lax = PasswordRules {
            min_length: 8,
            reject_common: false,
        };
        assert!(password_problem("sunshine", "a@x.io", &lax).is_none());
        let long = PasswordRules {
            min_length: 20,
            reject_common: true,
        };
        assert_eq!(
            password_problem("correct horse battery", "a@x.io", &long),
            None
        );
        assert!(password_problem("correct horse", "a@x.io", &long).is_some());
    }

    #[test]
    fn slugs_countries_currencies() {
        assert!(slug_problem("acme-hosting").is_none());
        for bad in ["a", "-acme", "acme-", "Acme", "ac me", &"a".repeat(41)] {
            assert!(slug_problem(bad).is_some(), "{bad}");
        }
        assert_eq!(country_code(" de ").unwrap(), "DE");
        assert!(country_code("DEU").is_err());
        assert_eq!(currency_code("jpy").unwrap(), "JPY");
        assert!(currency_code("XXX").is_err());
    }

    #[test]
    fn gcra_allows_a_burst_then_slows_and_recovers() {
        let g = Gcra {
            burst: 3,
            interval_ms: 1000,
        };
        let now = 1_000_000;
        let mut tat = None;
        for _ in 0..3 {
            assert_eq!(g.retry_after_ms(tat, now), None);
            tat = Some(g.next_tat(tat, now));
        }
        // burst used: the next attempt waits one interval
        assert_eq!(g.retry_after_ms(tat, now), Some(1000));
        assert_eq!(g.retry_after_ms(tat, now + 999), Some(1));
        assert_eq!(g.retry_after_ms(tat, now + 1000), None);
        // once failures stop, the whole burst comes back
        assert_eq!(g.retry_after_ms(tat, now + 3000), None);
        let fresh = g.next_tat(tat, now + 3000);
        assert_eq!(fresh, now + 4000);
        assert_eq!(g.retry_after_ms(Some(fresh), now + 3000), None);
    }

    #[test]
    fn gcra_reservation_rule_matches_retry_after() {
        let g = Gcra {
            burst: 4,
            interval_ms: 250,
        };
        let now = 10_000;
        for tat in [None, Some(0), Some(now), Some(now + 500), Some(now + 750)]
            .into_iter()
            .chain((0..12).map(|i| Some(now + i * 100)))
        {
            let admitted = g.next_tat(tat, now) - now <= g.limit_ms();
            assert_eq!(admitted, g.retry_after_ms(tat, now).is_none(), "{tat:?}");
        }
    }

    #[test]
    fn forced_change_skips_the_current_password_only_right_after_signing_in() {
        use super::{FRESH_SIGN_IN_SECS, current_password_needed};
        let start = Timestamp(1_700_000_000_000);
        assert!(!current_password_needed(true, start, start.plus_secs(60)));
        assert!(!current_password_needed(
            true,
            start,
            start.plus_secs(FRESH_SIGN_IN_SECS - 1)
        ));
        assert!(current_password_needed(
            true,
            start,
            start.plus_secs(FRESH_SIGN_IN_SECS)
        ));
        assert!(
            current_password_needed(false, start, start.plus_secs(60)),
            "not flagged"
        );
        assert!(
            current_password_needed(true, start.plus_secs(60), start),
            "started in the future"
        );
    }
}
