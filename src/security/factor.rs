//! Checking a second factor (at sign-in and before MFA changes): TOTP codes within ±1 step
//! and accepted once, recovery codes spent once, wrong and replayed codes rate-limited and
//! logged.

use super::crypto::{self, SecretKey};
use super::model::EventKind;
use super::{SecurityEvent, passkeys, record_now, secret_key, store};
use crate::actor::ClientInfo;
use crate::audit::AuditActor;
use crate::auth::attempts::{account_gcra, ip_gcra, refund_attempt, reserve_attempt};
use crate::auth::store as auth_store;
use crate::db::Timestamp;
use crate::state::AppState;
use crate::web::AppResult;

pub struct FactorUser<'a> {
    pub user_id: &'a str,
    pub email: &'a str,
    pub tenant_id: &'a str,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Factor {
    Totp,
    RecoveryCode,
    /// Checked by [`check_passkey`], never by [`check_second_factor`].
    Passkey,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FactorOutcome {
    Accepted(Factor),
    Wrong,
    /// The tenant requires a passkey for this user's role (and the user has one): codes are
    /// refused.
    PasskeyRequired,
    /// A TOTP code for a step already used, or a recovery code already spent.
    Replayed(Factor),
    Throttled {
        retry_after_secs: u64,
    },
}

impl FactorOutcome {
    pub fn message(self) -> &'static str {
        match self {
            FactorOutcome::Accepted(_) => "",
            FactorOutcome::Wrong => "That code is not valid.",
            FactorOutcome::PasskeyRequired => {
                "Your organisation requires a passkey for your role: use your passkey instead of a code."
            }
            FactorOutcome::Replayed(Factor::Totp) => {
                "That code was already used. Wait for the next code from your app."
            }
            FactorOutcome::Replayed(Factor::RecoveryCode) => {
                "That recovery code was already used. Each one works once."
            }
            FactorOutcome::Replayed(Factor::Passkey) => {
                "That passkey answer was already used. Try again."
            }
            FactorOutcome::Throttled { .. } => "Too many wrong codes. Wait a moment and try again.",
        }
    }
}

/// Checks a TOTP or recovery code for an account with MFA on. Every attempt is reserved
/// against the same GCRA limits as passwords (per account and per client address) before the
/// code is checked, and given back only when it is accepted; wrong and replayed codes are
/// written to the security events log; a code is accepted at most once.
pub async fn check_second_factor(
    state: &AppState,
    who: &FactorUser<'_>,
    raw_code: &str,
    client: &ClientInfo,
) -> AppResult<FactorOutcome> {
    let pool = &state.db.pool;
    let now = Timestamp::now().0;
    let acct_key = factor_key(who.user_id);
    let ip_key = format!("ip:{}", client.ip);
    let actor = AuditActor {
        tenant_id: Some(who.tenant_id),
        user_id: Some(who.user_id),
        email: who.email,
        client,
    };
    // Reserved before the code is checked, so parallel guesses each use up an attempt.
    let limits = [
        (acct_key.as_str(), account_gcra(state)),
        (ip_key.as_str(), ip_gcra(state)),
    ];
    if let Some(retry_after_secs) = reserve_attempt(&state.db, &limits, now).await? {
        let event = SecurityEvent {
            kind: EventKind::LoginLocked,
            tenant_id: None,
            subject_user_id: None,
            summary: "Second factor refused: too many wrong codes".into(),
        };
        record_now(&state.db, actor, event).await?;
        return Ok(FactorOutcome::Throttled { retry_after_secs });
    }
    let code = crypto::normalize_code(raw_code);
    let outcome = if crypto::looks_like_totp(&code) {
        match store::mfa(pool, who.user_id)
            .await?
            .filter(|m| m.enabled == 1)
        {
            None => FactorOutcome::Wrong,
            Some(row) => {
                // A secret that no longer decrypts (the app's secret key was changed) cannot
                // verify anything; recovery codes, being hashes, still work.
                match build_totp(&secret_key(state), who.user_id, who.email, &row.secret_enc) {
                    Err(e) => {
                        tracing::error!(error = ?e, user = who.user_id, "TOTP secret unreadable");
                        FactorOutcome::Wrong
                    }
                    Ok(totp) => match crypto::matching_step(&totp, &code, now_secs()) {
                        None => FactorOutcome::Wrong,
                        Some(step) if store::consume_step(pool, who.user_id, step).await? => {
                            FactorOutcome::Accepted(Factor::Totp)
                        }
                        Some(_) => FactorOutcome::Replayed(Factor::Totp),
                    },
                }
            }
        }
    } else if crypto::looks_like_recovery(&code) {
        let hash = crypto::recovery_hash(&code);
        if store::consume_recovery_code(pool, who.user_id, &hash).await? {
            FactorOutcome::Accepted(Factor::RecoveryCode)
        } else if store::recovery_code_used(pool, who.user_id, &hash).await? {
            FactorOutcome::Replayed(Factor::RecoveryCode)
        } else {
            FactorOutcome::Wrong
        }
    } else {
        FactorOutcome::Wrong
    };
    let event = match outcome {
        FactorOutcome::Accepted(Factor::Totp | Factor::Passkey) => {
            auth_store::throttle_clear(pool, &acct_key).await?;
            refund_attempt(&state.db, &ip_key, ip_gcra(state)).await?;
            None
        }
        FactorOutcome::Accepted(Factor::RecoveryCode) => {
            auth_store::throttle_clear(pool, &acct_key).await?;
            refund_attempt(&state.db, &ip_key, ip_gcra(state)).await?;
            let left = store::unused_recovery_codes(pool, who.user_id).await?;
            Some((
                EventKind::RecoveryCodeUsed,
                format!("Used a recovery code; {left} left"),
            ))
        }
        // The reserved attempts stay spent.
        FactorOutcome::Wrong | FactorOutcome::Replayed(_) => Some(match outcome {
            FactorOutcome::Replayed(Factor::Totp) => (
                EventKind::MfaReplay,
                "Refused an authentication code that was already used".to_string(),
            ),
            FactorOutcome::Replayed(Factor::RecoveryCode | Factor::Passkey) => (
                EventKind::MfaReplay,
                "Refused a recovery code that was already used".to_string(),
            ),
            _ => (EventKind::MfaFailed, "Wrong second-factor code".to_string()),
        }),
        FactorOutcome::Throttled { .. } | FactorOutcome::PasskeyRequired => None,
    };
    if let Some((kind, summary)) = event {
        let event = SecurityEvent {
            kind,
            tenant_id: None,
            subject_user_id: None,
            summary,
        };
        record_now(&state.db, actor, event).await?;
    }
    Ok(outcome)
}

/// The TOTP of an enrolment from its sealed secret (which only this server's key opens).
pub(super) fn build_totp(
    key: &SecretKey,
    user_id: &str,
    email: &str,
    sealed: &str,
) -> AppResult<totp_rs::Totp> {
    let secret = key.open(user_id, sealed)?;
    Ok(crypto::totp(secret, email)?)
}

pub(super) fn now_secs() -> u64 {
    u64::try_from(Timestamp::now().0 / 1000).unwrap_or(0)
}

/// The limit key for wrong second factors, separate from the password limit.
pub(crate) fn factor_key(user_id: &str) -> String {
    format!("mfa:{user_id}")
}

/// What a passkey answer at sign-in came to.
pub enum PasskeyOutcome {
    Accepted(passkeys::signin::Verified),
    Refused(passkeys::signin::Refusal),
    Throttled { retry_after_secs: u64 },
}

/// Checks a passkey answer at sign-in: after the password (`user_id` of the challenge) or
/// alone (`None`). Reserved against the same limits as passwords and codes before it is
/// checked (the client address, and the account when it is known), given back only when the
/// passkey verified.
pub async fn check_passkey(
    state: &AppState,
    ceremony: &str,
    user_id: Option<&str>,
    answer: &webauthn_rs::prelude::PublicKeyCredential,
    client: &ClientInfo,
) -> AppResult<PasskeyOutcome> {
    let now = Timestamp::now().0;
    let ip_key = format!("ip:{}", client.ip);
    let acct_key = user_id.map(factor_key);
    let mut limits = vec![(ip_key.as_str(), ip_gcra(state))];
    if let Some(k) = &acct_key {
        limits.push((k.as_str(), account_gcra(state)));
    }
    if let Some(retry_after_secs) = reserve_attempt(&state.db, &limits, now).await? {
        return Ok(PasskeyOutcome::Throttled { retry_after_secs });
    }
    match passkeys::signin::finish_signin(state, ceremony, user_id, answer, client).await? {
        Ok(verified) => {
            if let Some(k) = &acct_key {
                auth_store::throttle_clear(&state.db.pool, k).await?;
            }
            refund_attempt(&state.db, &ip_key, ip_gcra(state)).await?;
            Ok(PasskeyOutcome::Accepted(verified))
        }
        // The reserved attempts stay spent.
        Err(refusal) => Ok(PasskeyOutcome::Refused(refusal)),
    }
}
