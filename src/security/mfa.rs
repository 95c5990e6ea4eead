//! MFA actions: enrolment, turning off, new recovery codes. Checking a code is in `factor.rs`.

use super::crypto::{self};
use super::factor::{
    FactorOutcome, FactorUser, build_totp, check_second_factor, factor_key, now_secs,
};
use super::model::EventKind;
use super::{SecurityEvent, record, secret_key, store};
use crate::actor::Actor;
use crate::auth::attempts::{account_gcra, refund_attempt, reserve_attempt};
use crate::auth::password::verify_password;
use crate::auth::store as auth_store;
use crate::db::Timestamp;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors};

/// What `/security/mfa` shows.
pub enum MfaState {
    Off,
    /// Set-up started: the secret as text, its otpauth URL and QR code, until confirmed.
    Pending {
        secret: String,
        qr_svg: String,
    },
    On {
        since: Timestamp,
        unused_codes: i64,
    },
}

pub async fn state_of(state: &AppState, actor: &Actor) -> AppResult<MfaState> {
    let pool = &state.db.pool;
    let Some(row) = store::mfa(pool, &actor.user_id).await? else {
        return Ok(MfaState::Off);
    };
    if row.enabled == 1 {
        return Ok(MfaState::On {
            since: Timestamp(row.enabled_at.unwrap_or(0)),
            unused_codes: store::unused_recovery_codes(pool, &actor.user_id).await?,
        });
    }
    // A pending secret that no longer decrypts (new app secret key): start over.
    let Ok(totp) = build_totp(
        &secret_key(state),
        &actor.user_id,
        &actor.email,
        &row.secret_enc,
    ) else {
        return Ok(MfaState::Off);
    };
    let url = totp
        .to_url()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("otpauth url: {e}")))?;
    Ok(MfaState::Pending {
        secret: crypto::base32(totp.secret().as_bytes()),
        qr_svg: crypto::qr_svg(&url)?,
    })
}

/// Whether signing in needs a second factor: an authenticator app or at least one passkey.
pub async fn is_enabled(state: &AppState, user_id: &str) -> AppResult<bool> {
    Ok(is_totp_enabled(state, user_id).await?
        || super::passkeys::store::count_for_user(&state.db.pool, user_id).await? > 0)
}

/// Whether the user has a confirmed authenticator app (TOTP).
pub async fn is_totp_enabled(state: &AppState, user_id: &str) -> AppResult<bool> {
    Ok(store::mfa(&state.db.pool, user_id)
        .await?
        .is_some_and(|m| m.enabled == 1))
}

/// Generates a new secret for the actor (stored encrypted, not yet in force).
pub async fn start_enrolment(state: &AppState, actor: &Actor) -> AppResult<()> {
    let sealed = secret_key(state).seal(&actor.user_id, &crypto::new_totp_secret())?;
    let mut tx = state.db.begin_write().await?;
    if store::mfa(&mut *tx, &actor.user_id)
        .await?
        .is_some_and(|m| m.enabled == 1)
    {
        return Err(AppError::refused(
            "Two-factor authentication is already on. Turn it off first to use a new device.",
        ));
    }
    store::set_pending_secret(&mut tx, &actor.user_id, &sealed).await?;
    tx.commit().await?;
    Ok(())
}

pub struct Enabled {
    pub recovery_codes: Vec<String>,
    pub ended_sessions: u64,
}

/// Confirms enrolment with a code from the app; returns the recovery codes (shown once).
pub async fn enable(state: &AppState, actor: &Actor, code: &str) -> AppResult<Enabled> {
    let code = crypto::normalize_code(code);
    if !crypto::looks_like_totp(&code) {
        return Err(AppError::Invalid(FieldErrors::one(
            "code",
            "Enter the 6-digit code your app shows.",
        )));
    }
    let mut tx = state.db.begin_write().await?;
    let row = store::mfa(&mut *tx, &actor.user_id)
        .await?
        .ok_or_else(|| AppError::refused("Start the set-up first."))?;
    if row.enabled == 1 {
        return Err(AppError::refused(
            "Two-factor authentication is already on.",
        ));
    }
    let totp = build_totp(
        &secret_key(state),
        &actor.user_id,
        &actor.email,
        &row.secret_enc,
    )?;
    let Some(step) = crypto::matching_step(&totp, &code, now_secs()) else {
        return Err(AppError::Invalid(FieldErrors::one(
            "code",
            "That code does not match. Check that your phone's clock is right and try the next code.",
        )));
    };
    store::enable_mfa(&mut tx, &actor.user_id, step).await?;
    let codes = crypto::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| crypto::recovery_hash(c)).collect();
    store::replace_recovery_codes(&mut tx, &actor.user_id, &hashes).await?;
    let ended =
        auth_store::delete_user_sessions(&mut tx, &actor.user_id, &actor.session_id).await?;
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::MfaEnabled,
            tenant_id: None,
            subject_user_id: None,
            summary: format!("Turned on two-factor authentication; {ended} other session(s) ended"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Enabled {
        recovery_codes: codes,
        ended_sessions: ended,
    })
}

/// Turns MFA off after the password and a current code; other sessions end.
pub async fn disable(
    state: &AppState,
    actor: &Actor,
    password: &str,
    code: &str,
) -> AppResult<u64> {
    confirm_identity(state, actor, password, Some(code)).await?;
    let mut tx = state.db.begin_write().await?;
    store::delete_mfa(&mut tx, &actor.user_id).await?;
    let ended =
        auth_store::delete_user_sessions(&mut tx, &actor.user_id, &actor.session_id).await?;
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::MfaDisabled,
            tenant_id: None,
            subject_user_id: None,
            summary: format!(
                "Turned off two-factor authentication; {ended} other session(s) ended"
            ),
        },
    )
    .await?;
    super::service::notify_account_change(
        &mut tx,
        actor,
        "Two-factor authentication was turned off",
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Replaces the recovery codes after the password and a current code.
pub async fn regenerate_codes(
    state: &AppState,
    actor: &Actor,
    password: &str,
    code: &str,
) -> AppResult<Vec<String>> {
    confirm_identity(state, actor, password, Some(code)).await?;
    let codes = crypto::new_recovery_codes();
    let hashes: Vec<String> = codes.iter().map(|c| crypto::recovery_hash(c)).collect();
    let mut tx = state.db.begin_write().await?;
    store::replace_recovery_codes(&mut tx, &actor.user_id, &hashes).await?;
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::RecoveryCodesRegenerated,
            tenant_id: None,
            subject_user_id: None,
            summary: "Replaced the recovery codes; the old ones no longer work".into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(codes)
}

/// Password and a current code (TOTP or recovery), both required for MFA changes; `code` is
/// `None` for someone without an authenticator app (only the password is asked then).
pub(crate) async fn confirm_identity(
    state: &AppState,
    actor: &Actor,
    password: &str,
    code: Option<&str>,
) -> AppResult<()> {
    let mut errors = FieldErrors::new();
    if password.is_empty() {
        errors.add("password", "Enter your password.");
    }
    if code.is_some_and(|c| c.trim().is_empty()) {
        errors.add("code", "Enter a code from your app, or a recovery code.");
    }
    errors.into_result().map_err(AppError::Invalid)?;
    let key = factor_key(&actor.user_id);
    let gcra = account_gcra(state);
    // The password attempt is reserved before it is checked (parallel guesses each count).
    if let Some(retry_after_secs) =
        reserve_attempt(&state.db, &[(key.as_str(), gcra)], Timestamp::now().0).await?
    {
        return Err(AppError::TooManyAttempts { retry_after_secs });
    }
    let hash = {
        let mut tx = state.db.begin_write().await?;
        let h = auth_store::password_hash(&mut tx, &actor.user_id).await?;
        tx.rollback().await?;
        h.ok_or(AppError::Unauthenticated)?
    };
    if !verify_password(password.to_string(), hash).await? {
        return Err(AppError::Invalid(FieldErrors::one(
            "password",
            "That is not your password.",
        )));
    }
    // Right password: the code below reserves its own attempt.
    refund_attempt(&state.db, &key, gcra).await?;
    let Some(code) = code else {
        return Ok(());
    };
    let who = FactorUser {
        user_id: &actor.user_id,
        email: &actor.email,
        tenant_id: &actor.tenant_id,
    };
    match check_second_factor(state, &who, code, &actor.client).await? {
        FactorOutcome::Accepted(_) => Ok(()),
        FactorOutcome::Throttled { retry_after_secs } => {
            Err(AppError::TooManyAttempts { retry_after_secs })
        }
        other => Err(AppError::Invalid(FieldErrors::one("code", other.message()))),
    }
}
