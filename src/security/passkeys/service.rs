//! Passkey actions: registering one (a ceremony started and finished by the signed-in user),
//! listing and removing them (re-authentication; never the last factor a policy requires),
//! and checking a passkey at sign-in (after the password, or alone for a discoverable
//! credential). Every ceremony is kept server-side, taken once, and lives five minutes by the
//! app's clock.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::{
    Passkey, PasskeyRegistration, RegisterPublicKeyCredential, Uuid, Webauthn,
};

use super::model::{self, CEREMONY_SECS, Ceremony, CeremonyKind, CeremonyRefusal, MAX_PASSKEYS};
use super::store::{self, NewCeremony, NewPasskey, PasskeyRow};
use crate::actor::Actor;
use crate::security::model::EventKind;
use crate::security::{SecurityEvent, mfa, record, store as security_store};
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors};

/// The relying party for this panel, or a refusal that says why passkeys are off.
pub fn relying_party(state: &AppState) -> AppResult<Webauthn> {
    model::relying_party(&state.config.base_url()).ok_or_else(|| {
        AppError::refused(
            "Passkeys need the panel to be reached by a domain name: set MPANEL_BASE_URL \
             (e.g. https://panel.example.com).",
        )
    })
}

pub fn available(state: &AppState) -> bool {
    model::relying_party(&state.config.base_url()).is_some()
}

pub(super) fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{what}: {e}"))
}

/// What the browser needs to run a ceremony: its id (sent back with the answer) and the
/// options for `navigator.credentials.create/get`.
pub struct Started {
    pub ceremony: String,
    pub options: Value,
}

pub(super) async fn keep_ceremony(
    state: &AppState,
    kind: CeremonyKind,
    user_id: Option<&str>,
    challenge_id: Option<&str>,
    label: &str,
    ceremony_state: &impl serde::Serialize,
    options: Value,
) -> AppResult<Started> {
    let id = crate::db::new_id();
    let now = state.clock.now();
    let state_json = serde_json::to_string(ceremony_state).map_err(|e| internal("state", e))?;
    store::insert_ceremony(
        &state.db.pool,
        &NewCeremony {
            id: &id,
            kind,
            user_id,
            challenge_id,
            label,
            state_json: &state_json,
            now,
            expires_at: now.plus_secs(CEREMONY_SECS),
        },
    )
    .await?;
    Ok(Started {
        ceremony: id,
        options,
    })
}

/// Takes the ceremony (whatever happens next, it cannot be answered twice) and checks it.
pub(super) async fn take_ceremony(
    state: &AppState,
    id: &str,
    kind: CeremonyKind,
    user_id: Option<&str>,
) -> AppResult<Result<store::CeremonyRow, CeremonyRefusal>> {
    let row = store::take_ceremony(&state.db.pool, id).await?;
    let seen = row.as_ref().map(|r| Ceremony {
        kind: r.kind,
        user_id: r.user_id.clone(),
        challenge_id: r.challenge_id.clone(),
        expires_at: r.expires_at,
    });
    Ok(
        model::check_ceremony(seen.as_ref(), kind, user_id, state.clock.now())
            .map(|()| row.expect("checked: the ceremony exists")),
    )
}

fn user_uuid(user_id: &str) -> AppResult<Uuid> {
    Uuid::parse_str(user_id).map_err(|e| internal("user id as WebAuthn user handle", e))
}

pub(super) fn decode_passkey(row: &PasskeyRow) -> AppResult<Passkey> {
    serde_json::from_str(&row.passkey_json).map_err(|e| internal("stored passkey", e))
}

pub fn credential_text(id: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

// ---------------------------------------------------------------- the user's own passkeys

pub async fn list(state: &AppState, actor: &Actor) -> AppResult<Vec<PasskeyRow>> {
    Ok(store::user_passkeys(&state.db.pool, &actor.scope(), &actor.user_id).await?)
}

/// Starts registering a passkey named `name` for the actor.
pub async fn start_registration(state: &AppState, actor: &Actor, name: &str) -> AppResult<Started> {
    let name =
        model::passkey_name(name).map_err(|m| AppError::Invalid(FieldErrors::one("name", m)))?;
    let webauthn = relying_party(state)?;
    let existing = list(state, actor).await?;
    if existing.len() as i64 >= MAX_PASSKEYS {
        return Err(AppError::refused(format!(
            "You have {MAX_PASSKEYS} passkeys: remove one before adding another."
        )));
    }
    let exclude = existing
        .iter()
        .map(|p| decode_passkey(p).map(|k| k.cred_id().clone()))
        .collect::<AppResult<Vec<_>>>()?;
    let (ccr, reg) = webauthn
        .start_passkey_registration(
            user_uuid(&actor.user_id)?,
            &actor.email,
            &actor.name,
            Some(exclude),
        )
        .map_err(|e| internal("start registration", e))?;
    let mut options = serde_json::to_value(&ccr).map_err(|e| internal("options", e))?;
    // A discoverable credential where the authenticator can keep one, so the same passkey
    // also signs in without the password.
    if let Some(sel) = options
        .pointer_mut("/publicKey/authenticatorSelection")
        .and_then(Value::as_object_mut)
    {
        sel.insert("residentKey".into(), Value::from("preferred"));
    }
    keep_ceremony(
        state,
        CeremonyKind::Register,
        Some(&actor.user_id),
        None,
        &name,
        &reg,
        options,
    )
    .await
}

/// Finishes a registration with the browser's answer; returns the new passkey's name.
pub async fn finish_registration(
    state: &AppState,
    actor: &Actor,
    ceremony: &str,
    answer: &RegisterPublicKeyCredential,
) -> AppResult<String> {
    let webauthn = relying_party(state)?;
    let row = take_ceremony(
        state,
        ceremony,
        CeremonyKind::Register,
        Some(&actor.user_id),
    )
    .await?
    .map_err(|r| AppError::refused(r.message()))?;
    let reg: PasskeyRegistration =
        serde_json::from_str(&row.state_json).map_err(|e| internal("ceremony state", e))?;
    let passkey = webauthn
        .finish_passkey_registration(answer, &reg)
        .map_err(|e| {
            tracing::info!(error = %e, "passkey registration refused");
            AppError::refused("The authenticator's answer could not be verified. Try again.")
        })?;
    let passkey_json = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    let transports = answer
        .response
        .transports
        .iter()
        .flatten()
        .filter_map(|t| serde_json::to_value(t).ok())
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect::<Vec<_>>()
        .join(",");
    let mut tx = state.db.begin_write().await?;
    let inserted = store::insert_passkey(
        &mut tx,
        &NewPasskey {
            id: &crate::db::new_id(),
            user_id: &actor.user_id,
            tenant_id: &actor.tenant_id,
            credential_id: &credential_text(passkey.cred_id()),
            name: &row.label,
            passkey_json: &passkey_json,
            sign_count: 0,
            transports: &transports,
            now: state.clock.now(),
        },
    )
    .await?;
    if !inserted {
        return Err(AppError::refused(
            "This authenticator's passkey is already registered.",
        ));
    }
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::PasskeyRegistered,
            tenant_id: None,
            subject_user_id: None,
            summary: format!("Registered passkey \"{}\"", row.label),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.label)
}

/// Whether the tenant's policy needs a second factor from this actor, and whether only a
/// passkey counts.
async fn factor_rules(state: &AppState, actor: &Actor) -> AppResult<(bool, bool)> {
    let policy = security_store::policy(&state.db.pool, &actor.tenant_id).await?;
    let passkeys_only = policy
        .passkeys_min_role
        .is_some_and(|min| actor.role >= min);
    Ok((policy.require_mfa || passkeys_only, passkeys_only))
}

/// Whether the tenant's policy makes this actor use passkeys.
pub async fn required_for(state: &AppState, actor: &Actor) -> AppResult<bool> {
    Ok(factor_rules(state, actor).await?.1)
}

/// Removes one of the actor's passkeys after their password (and a current code when they
/// use an authenticator app). The last factor a tenant policy requires stays.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    id: &str,
    password: &str,
    code: &str,
) -> AppResult<String> {
    let totp_on = mfa::is_totp_enabled(state, &actor.user_id).await?;
    mfa::confirm_identity(state, actor, password, totp_on.then_some(code)).await?;
    let (required, passkeys_only) = factor_rules(state, actor).await?;
    let mut tx = state.db.begin_write().await?;
    let removed = store::delete_passkey(&mut tx, &actor.scope(), &actor.user_id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let left = store::count_for_user(&mut *tx, &actor.user_id).await?;
    let factors_left = left + i64::from(totp_on && !passkeys_only);
    if required && factors_left == 0 {
        tx.rollback().await?;
        return Err(AppError::refused(if passkeys_only {
            "Your organisation requires a passkey for your role: add another passkey before removing this one."
        } else {
            "Your organisation requires two-factor authentication: this is your last factor. Add another before removing it."
        }));
    }
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::PasskeyRemoved,
            tenant_id: None,
            subject_user_id: None,
            summary: format!("Removed passkey \"{}\"", removed.name),
        },
    )
    .await?;
    crate::security::service::notify_account_change(
        &mut tx,
        actor,
        &format!("The passkey \"{}\" was removed", removed.name),
    )
    .await?;
    tx.commit().await?;
    Ok(removed.name)
}
