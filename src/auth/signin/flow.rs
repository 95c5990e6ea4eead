//! The sign-in state machine, as pure rules: where a sign-in goes after each check.
//!
//! ```text
//! Passkey alone ──verified, address allowed──▶ SignedIn (new session)
//!    └──throttled │ refused │ address refused──▶ Password (refused, with why)
//! Password ──right password, address allowed, no MFA──▶ SignedIn (new session)
//!    │   └──right password, address allowed, MFA on──▶ SecondFactor (challenge, no session)
//!    └──throttled │ wrong │ address refused──▶ Password (refused, with why)
//! SecondFactor ──code or passkey accepted, challenge still live──▶ SignedIn (new session)
//!    │   └──wrong │ replayed │ throttled │ code where a passkey is required──▶ SecondFactor
//!    └──challenge expired, used or missing──▶ Password
//! ```
//! Every attempt at either step is reserved against the limits before it is checked
//! (`auth::attempts`); the steps' code records the security events.

use crate::security::factor::FactorOutcome;

/// Where a sign-in stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    Password,
    SecondFactor,
    SignedIn,
}

/// Why a step was refused (the step stays where it was).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Throttled {
        retry_after_secs: u64,
    },
    /// Wrong password or unknown e-mail (one answer for both), or a wrong code.
    Wrong,
    /// A code already used (TOTP step or recovery code).
    Replayed,
    /// The tenant's allowlist does not include the client's address.
    AddressRefused,
    /// A code where the tenant requires a passkey for this user's role.
    PasskeyRequired,
    /// A passkey that did not verify (unknown, someone else's, bad signature, stale request,
    /// a counter that went back).
    PasskeyRefused,
}

/// What a passwordless sign-in (a discoverable passkey, no password) found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasskeyCheck {
    Throttled {
        retry_after_secs: u64,
    },
    Refused,
    /// The passkey verified (possession and, by the authenticator, user verification: both
    /// factors at once).
    Verified {
        address_allowed: bool,
    },
}

/// A verified passkey signs in by itself, under the same allowlist as a password.
pub fn after_passkey(check: PasskeyCheck) -> Result<Step, Refusal> {
    match check {
        PasskeyCheck::Throttled { retry_after_secs } => {
            Err(Refusal::Throttled { retry_after_secs })
        }
        PasskeyCheck::Refused => Err(Refusal::PasskeyRefused),
        PasskeyCheck::Verified {
            address_allowed: false,
        } => Err(Refusal::AddressRefused),
        PasskeyCheck::Verified {
            address_allowed: true,
        } => Ok(Step::SignedIn),
    }
}

/// What the password step found, in the order it is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasswordCheck {
    /// No attempt left: nothing was verified.
    Throttled {
        retry_after_secs: u64,
    },
    Wrong,
    Right {
        address_allowed: bool,
        mfa_on: bool,
    },
}

/// The next step after the password, or why it stays.
pub fn after_password(check: PasswordCheck) -> Result<Step, Refusal> {
    match check {
        PasswordCheck::Throttled { retry_after_secs } => {
            Err(Refusal::Throttled { retry_after_secs })
        }
        PasswordCheck::Wrong => Err(Refusal::Wrong),
        PasswordCheck::Right {
            address_allowed: false,
            ..
        } => Err(Refusal::AddressRefused),
        PasswordCheck::Right { mfa_on: true, .. } => Ok(Step::SecondFactor),
        PasswordCheck::Right { mfa_on: false, .. } => Ok(Step::SignedIn),
    }
}

/// The next step after a code: signed in only when the code was accepted *and* this request
/// took the still-live challenge (two racing correct codes sign in once); back to the
/// password when the challenge is gone.
pub fn after_code(outcome: FactorOutcome, challenge_taken: bool) -> Result<Step, Refusal> {
    match outcome {
        FactorOutcome::Accepted(_) if challenge_taken => Ok(Step::SignedIn),
        FactorOutcome::Accepted(_) => Ok(Step::Password),
        FactorOutcome::Wrong => Err(Refusal::Wrong),
        FactorOutcome::PasskeyRequired => Err(Refusal::PasskeyRequired),
        FactorOutcome::Replayed(_) => Err(Refusal::Replayed),
        FactorOutcome::Throttled { retry_after_secs } => {
            Err(Refusal::Throttled { retry_after_secs })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::factor::Factor;

    #[test]
    fn the_password_step_goes_to_the_second_factor_only_with_mfa() {
        let right = |address_allowed, mfa_on| {
            after_password(PasswordCheck::Right {
                address_allowed,
                mfa_on,
            })
        };
        assert_eq!(right(true, false), Ok(Step::SignedIn));
        assert_eq!(right(true, true), Ok(Step::SecondFactor));
        // the allowlist is checked before MFA: a refused address never gets a challenge
        assert_eq!(right(false, true), Err(Refusal::AddressRefused));
        assert_eq!(right(false, false), Err(Refusal::AddressRefused));
        assert_eq!(after_password(PasswordCheck::Wrong), Err(Refusal::Wrong));
        assert_eq!(
            after_password(PasswordCheck::Throttled {
                retry_after_secs: 7
            }),
            Err(Refusal::Throttled {
                retry_after_secs: 7
            })
        );
    }

    #[test]
    fn a_passkey_alone_signs_in_under_the_allowlist() {
        assert_eq!(
            after_passkey(PasskeyCheck::Verified {
                address_allowed: true
            }),
            Ok(Step::SignedIn)
        );
        assert_eq!(
            after_passkey(PasskeyCheck::Verified {
                address_allowed: false
            }),
            Err(Refusal::AddressRefused)
        );
        assert_eq!(
            after_passkey(PasskeyCheck::Refused),
            Err(Refusal::PasskeyRefused)
        );
        assert_eq!(
            after_passkey(PasskeyCheck::Throttled {
                retry_after_secs: 2
            }),
            Err(Refusal::Throttled {
                retry_after_secs: 2
            })
        );
        assert_eq!(
            after_code(FactorOutcome::PasskeyRequired, true),
            Err(Refusal::PasskeyRequired)
        );
    }

    #[test]
    fn the_second_factor_signs_in_once_and_refuses_with_why() {
        for factor in [Factor::Totp, Factor::RecoveryCode] {
            assert_eq!(
                after_code(FactorOutcome::Accepted(factor), true),
                Ok(Step::SignedIn)
            );
            // the challenge was taken by a racing request, or expired meanwhile
            assert_eq!(
                after_code(FactorOutcome::Accepted(factor), false),
                Ok(Step::Password)
            );
            assert_eq!(
                after_code(FactorOutcome::Replayed(factor), true),
                Err(Refusal::Replayed)
            );
        }
        assert_eq!(after_code(FactorOutcome::Wrong, true), Err(Refusal::Wrong));
        assert_eq!(
            after_code(
                FactorOutcome::Throttled {
                    retry_after_secs: 3
                },
                true
            ),
            Err(Refusal::Throttled {
                retry_after_secs: 3
            })
        );
    }
}
