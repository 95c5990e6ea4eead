//! Passkey rules: the relying party from the base URL, the ceremony state's life (single-use,
//! five minutes, bound to its kind and user), the names people give their passkeys, and which
//! roles a tenant's policy makes use passkeys. Signatures, CBOR, COSE keys and counters are
//! webauthn-rs' work; nothing here parses them.

use std::time::Duration;

use webauthn_rs::prelude::{Url, Webauthn, WebauthnBuilder, WebauthnError};

use crate::actor::Role;
use crate::db::Timestamp;

/// How long a ceremony (registration or sign-in) stays open.
pub const CEREMONY_SECS: i64 = 5 * 60;
pub const MAX_NAME: usize = 60;
/// Passkeys one user may register.
pub const MAX_PASSKEYS: i64 = 20;

// What a ceremony is for. The texts are the stored values.
crate::text_enum!(CeremonyKind {
    Register => "REGISTER" / "Registering a passkey",
    SecondFactor => "SECOND_FACTOR" / "A passkey after the password",
    Passwordless => "PASSWORDLESS" / "Signing in with a passkey",
});

/// The relying party for the panel's public URL: its host is the RP id, the URL its only
/// origin. `None` when the URL has no domain name (an IP address cannot be an RP id, so
/// browsers refuse passkeys there) or cannot be read.
pub fn relying_party(base_url: &str) -> Option<Webauthn> {
    let origin = Url::parse(base_url).ok()?;
    let rp_id = origin.domain()?.to_string();
    WebauthnBuilder::new(&rp_id, &origin)
        .ok()?
        .rp_name("mPanel")
        .timeout(Duration::from_secs(CEREMONY_SECS as u64))
        .build()
        .ok()
}

/// A ceremony as the store handed it over (already removed from the table: it is single-use).
#[derive(Clone, Debug)]
pub struct Ceremony {
    pub kind: CeremonyKind,
    pub user_id: Option<String>,
    pub challenge_id: Option<String>,
    pub expires_at: Timestamp,
}

/// Why a ceremony cannot finish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CeremonyRefusal {
    /// Never started, or already used (taking it removed it).
    Missing,
    Expired,
    /// Started for something else (a registration answered at the sign-in, another user's).
    Mismatch,
}

impl CeremonyRefusal {
    pub fn message(self) -> &'static str {
        match self {
            CeremonyRefusal::Missing => {
                "This passkey request was already used or never started. Try again."
            }
            CeremonyRefusal::Expired => "This passkey request expired (5 minutes). Try again.",
            CeremonyRefusal::Mismatch => "This passkey request was not started here. Try again.",
        }
    }
}

/// Whether the ceremony taken for this answer may finish it: it existed (a second answer
/// finds nothing), is still within its five minutes by `now`, and was started for this kind
/// of step by this user (`None` for a passwordless sign-in, where nobody is known yet).
pub fn check_ceremony(
    taken: Option<&Ceremony>,
    kind: CeremonyKind,
    user_id: Option<&str>,
    now: Timestamp,
) -> Result<(), CeremonyRefusal> {
    let c = taken.ok_or(CeremonyRefusal::Missing)?;
    if c.expires_at.0 <= now.0 {
        return Err(CeremonyRefusal::Expired);
    }
    if c.kind != kind || c.user_id.as_deref() != user_id {
        return Err(CeremonyRefusal::Mismatch);
    }
    Ok(())
}

/// Why an authenticator's answer was refused (after the ceremony itself was fine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AssertionRefusal {
    /// No passkey with this credential id is registered (or it is someone else's).
    UnknownCredential,
    /// The signature, origin, challenge or flags do not verify.
    Invalid,
    /// The sign count did not go up: the authenticator may have been cloned.
    CounterWentBack,
}

impl AssertionRefusal {
    pub fn from_webauthn(e: &WebauthnError) -> AssertionRefusal {
        match e {
            WebauthnError::CredentialPossibleCompromise => AssertionRefusal::CounterWentBack,
            _ => AssertionRefusal::Invalid,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            AssertionRefusal::UnknownCredential => {
                "This passkey is not registered for this account."
            }
            AssertionRefusal::Invalid => "The passkey's answer could not be verified.",
            AssertionRefusal::CounterWentBack => {
                "This passkey was refused: its use counter went backwards, which can mean a copied authenticator."
            }
        }
    }
}

/// The name a person gives a passkey: trimmed, required, at most [`MAX_NAME`] characters.
pub fn passkey_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Give the passkey a name, e.g. \"YubiKey 5\" or \"MacBook\".");
    }
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err("Use at most 60 characters, without line breaks.");
    }
    Ok(name.to_string())
}

/// Whether the tenant's policy (`min_role`, the stored role text or "" for none) makes a
/// member of `role` use passkeys as their second factor.
pub fn passkeys_required(min_role: &str, role: Role) -> bool {
    Role::parse(min_role).is_some_and(|min| role >= min)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ceremony(kind: CeremonyKind, user: Option<&str>, expires_at: i64) -> Ceremony {
        Ceremony {
            kind,
            user_id: user.map(str::to_string),
            challenge_id: None,
            expires_at: Timestamp(expires_at),
        }
    }

    #[test]
    fn a_ceremony_finishes_once_within_five_minutes_for_its_own_step() {
        let now = Timestamp(1_000_000);
        let live = ceremony(CeremonyKind::Register, Some("u1"), now.0 + 1);
        let ok = check_ceremony(Some(&live), CeremonyKind::Register, Some("u1"), now);
        assert_eq!(ok, Ok(()));
        // reused: the first answer took it, the second finds nothing
        assert_eq!(
            check_ceremony(None, CeremonyKind::Register, Some("u1"), now),
            Err(CeremonyRefusal::Missing)
        );
        // expired: five minutes after it started, by the app's clock
        let started = now;
        let c = ceremony(
            CeremonyKind::Register,
            Some("u1"),
            started.plus_secs(CEREMONY_SECS).0,
        );
        let later = started.plus_secs(CEREMONY_SECS);
        assert_eq!(
            check_ceremony(Some(&c), CeremonyKind::Register, Some("u1"), later),
            Err(CeremonyRefusal::Expired)
        );
        assert_eq!(
            check_ceremony(
                Some(&c),
                CeremonyKind::Register,
                Some("u1"),
                started.plus_secs(CEREMONY_SECS - 1)
            ),
            Ok(())
        );
        // another user's, or another step's
        assert_eq!(
            check_ceremony(Some(&live), CeremonyKind::Register, Some("u2"), now),
            Err(CeremonyRefusal::Mismatch)
        );
        assert_eq!(
            check_ceremony(Some(&live), CeremonyKind::SecondFactor, Some("u1"), now),
            Err(CeremonyRefusal::Mismatch)
        );
        let open = ceremony(CeremonyKind::Passwordless, None, now.0 + 1);
        assert_eq!(
            check_ceremony(Some(&open), CeremonyKind::Passwordless, None, now),
            Ok(())
        );
        assert_eq!(
            check_ceremony(Some(&open), CeremonyKind::Passwordless, Some("u1"), now),
            Err(CeremonyRefusal::Mismatch)
        );
    }

    #[test]
    fn the_relying_party_needs_a_domain_name() {
        assert!(relying_party("https://panel.example.com").is_some());
        assert!(relying_party("http://localhost:8080").is_some());
        assert!(relying_party("http://127.0.0.1:8080").is_none());
        assert!(relying_party("not a url").is_none());
    }

    #[test]
    fn names_and_role_requirements() {
        assert_eq!(passkey_name("  YubiKey 5 ").unwrap(), "YubiKey 5");
        assert!(passkey_name(" ").is_err());
        assert!(passkey_name(&"x".repeat(61)).is_err());
        assert!(passkey_name("a\nb").is_err());
        assert!(passkeys_required("ADMIN", Role::Owner));
        assert!(passkeys_required("ADMIN", Role::Admin));
        assert!(!passkeys_required("ADMIN", Role::Billing));
        assert!(!passkeys_required("", Role::Owner));
        assert!(passkeys_required("VIEWER", Role::Viewer));
    }

    /// The relying party's check of the ceremony: an answer signed for another origin (a
    /// phishing page relaying our challenge) or for another ceremony's challenge is refused;
    /// the same authenticator answering honestly is accepted.
    #[test]
    fn answers_for_another_origin_or_challenge_are_refused() {
        use super::super::soft_authenticator::{SoftPasskey, Spoil};
        use webauthn_rs::prelude::{PublicKeyCredential, RegisterPublicKeyCredential, Uuid};

        let origin = "https://panel.example.com";
        let rp = relying_party(origin).unwrap();
        let mut key = SoftPasskey::new();
        let (ccr, reg) = rp
            .start_passkey_registration(Uuid::now_v7(), "ann@example.com", "Ann", None)
            .unwrap();
        let options = serde_json::to_value(&ccr).unwrap();
        // registration from another origin
        let evil: RegisterPublicKeyCredential =
            serde_json::from_value(key.register(&options, "https://panel.example.evil")).unwrap();
        assert!(rp.finish_passkey_registration(&evil, &reg).is_err());
        let answer: RegisterPublicKeyCredential =
            serde_json::from_value(key.register(&options, origin)).unwrap();
        let passkey = rp.finish_passkey_registration(&answer, &reg).unwrap();

        let (rcr, auth) = rp
            .start_passkey_authentication(std::slice::from_ref(&passkey))
            .unwrap();
        let options = serde_json::to_value(&rcr).unwrap();
        let assert =
            |v: serde_json::Value| -> PublicKeyCredential { serde_json::from_value(v).unwrap() };
        let spoil = Spoil {
            origin: Some("https://panel.example.evil".into()),
            ..Spoil::default()
        };
        let wrong_origin = assert(key.assert_spoiled(&options, origin, &spoil));
        assert!(
            rp.finish_passkey_authentication(&wrong_origin, &auth)
                .is_err()
        );
        // an answer to another ceremony's challenge
        let (other, _) = rp
            .start_passkey_authentication(std::slice::from_ref(&passkey))
            .unwrap();
        let other = serde_json::to_value(&other).unwrap();
        let wrong_challenge = assert(key.assert(&other, origin));
        assert!(
            rp.finish_passkey_authentication(&wrong_challenge, &auth)
                .is_err()
        );
        let right = assert(key.assert(&options, origin));
        let result = rp.finish_passkey_authentication(&right, &auth).unwrap();
        assert!(result.user_verified());
        // a counter that does not go up is a possible clone
        let spoil = Spoil {
            counter: Some(0),
            ..Spoil::default()
        };
        let mut updated = passkey.clone();
        updated.update_credential(&result);
        let (rcr, auth) = rp
            .start_passkey_authentication(std::slice::from_ref(&updated))
            .unwrap();
        let options = serde_json::to_value(&rcr).unwrap();
        let cloned = assert(key.assert_spoiled(&options, origin, &spoil));
        let err = rp
            .finish_passkey_authentication(&cloned, &auth)
            .unwrap_err();
        assert_eq!(
            AssertionRefusal::from_webauthn(&err),
            AssertionRefusal::CounterWentBack
        );
    }
}
