//! Passkey actions: registering one (a ceremony started and finished by the signed-in user),
//! listing and removing them (re-authentication; never the last factor a policy requires),
//! and checking a passkey at sign-in (after the password, or alone for a discoverable
//! credential). Every ceremony is kept server-side, taken once, and lives five minutes by the
//! app's clock.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, Passkey, PasskeyAuthentication,
    PasskeyRegistration, PublicKeyCredential, RegisterPublicKeyCredential, Uuid, Webauthn,
};

use super::model::{
    self, AssertionRefusal, CEREMONY_SECS, Ceremony, CeremonyKind, CeremonyRefusal, MAX_PASSKEYS,
};
use super::store::{self, NewCeremony, NewPasskey, PasskeyRow};
use crate::actor::{Actor, ClientInfo};
use crate::audit::AuditActor;
use crate::security::model::EventKind;
use crate::security::{SecurityEvent, mfa, record, record_now, store as security_store};
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

fn internal(what: &str, e: impl std::fmt::Display) -> AppError {
    AppError::Internal(anyhow::anyhow!("{what}: {e}"))
}

/// What the browser needs to run a ceremony: its id (sent back with the answer) and the
/// options for `navigator.credentials.create/get`.
pub struct Started {
    pub ceremony: String,
    pub options: Value,
}

async fn keep_ceremony(
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
async fn take_ceremony(
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

fn decode_passkey(row: &PasskeyRow) -> AppResult<Passkey> {
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

// ---------------------------------------------------------------- signing in

/// Starts a passkey check after the password, for the user of the live challenge.
pub async fn start_second_factor(
    state: &AppState,
    user_id: &str,
    challenge_id: &str,
) -> AppResult<Started> {
    let webauthn = relying_party(state)?;
    let keys = store::signin_passkeys(&state.db.pool, user_id)
        .await?
        .iter()
        .map(decode_passkey)
        .collect::<AppResult<Vec<_>>>()?;
    if keys.is_empty() {
        return Err(AppError::refused(
            "You have no passkey: enter a code instead.",
        ));
    }
    let (rcr, auth) = webauthn
        .start_passkey_authentication(&keys)
        .map_err(|e| internal("start authentication", e))?;
    let options = serde_json::to_value(&rcr).map_err(|e| internal("options", e))?;
    keep_ceremony(
        state,
        CeremonyKind::SecondFactor,
        Some(user_id),
        Some(challenge_id),
        "",
        &auth,
        options,
    )
    .await
}

/// Starts a passwordless sign-in: the authenticator offers its discoverable credentials.
pub async fn start_passwordless(state: &AppState) -> AppResult<Started> {
    let webauthn = relying_party(state)?;
    let (mut rcr, auth) = webauthn
        .start_discoverable_authentication()
        .map_err(|e| internal("start authentication", e))?;
    // A button the person presses, not autofill: an ordinary modal request.
    rcr.mediation = None;
    let options = serde_json::to_value(&rcr).map_err(|e| internal("options", e))?;
    keep_ceremony(
        state,
        CeremonyKind::Passwordless,
        None,
        None,
        "",
        &auth,
        options,
    )
    .await
}

/// A passkey that verified.
pub struct Verified {
    pub user_id: String,
    pub tenant_id: String,
    pub email: String,
    pub passkey_name: String,
    /// The password step's challenge this answered (second factor only).
    pub challenge_id: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    Ceremony(CeremonyRefusal),
    Assertion(AssertionRefusal),
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::Ceremony(r) => r.message(),
            Refusal::Assertion(r) => r.message(),
        }
    }
}

/// Checks a sign-in answer against its ceremony: `user_id` is the user of the password step
/// (second factor) or `None` (passwordless: the credential names its user). Refusals of the
/// answer itself are security events; a use updates the stored counter.
pub async fn finish_signin(
    state: &AppState,
    ceremony: &str,
    user_id: Option<&str>,
    answer: &PublicKeyCredential,
    client: &ClientInfo,
) -> AppResult<Result<Verified, Refusal>> {
    let webauthn = relying_party(state)?;
    let kind = if user_id.is_some() {
        CeremonyKind::SecondFactor
    } else {
        CeremonyKind::Passwordless
    };
    let row = match take_ceremony(state, ceremony, kind, user_id).await? {
        Ok(row) => row,
        Err(r) => return Ok(Err(Refusal::Ceremony(r))),
    };
    let cred_id = credential_text(&answer.raw_id);
    let found = store::by_credential(&state.db.pool, &cred_id).await?;
    // Someone else's passkey is as unknown as one never registered.
    let found = found.filter(|p| user_id.is_none_or(|u| p.user_id == u));
    let Some(found) = found else {
        refused(state, None, client, AssertionRefusal::UnknownCredential, "").await?;
        return Ok(Err(Refusal::Assertion(AssertionRefusal::UnknownCredential)));
    };
    let owner =
        crate::auth::store::get_user(&state.db.pool, &crate::db::TenantScope::All, &found.user_id)
            .await?
            .filter(|u| u.active == 1);
    let Some(owner) = owner else {
        refused(state, None, client, AssertionRefusal::UnknownCredential, "").await?;
        return Ok(Err(Refusal::Assertion(AssertionRefusal::UnknownCredential)));
    };
    let mut passkey = decode_passkey(&found)?;
    let result = if user_id.is_some() {
        let st: PasskeyAuthentication =
            serde_json::from_str(&row.state_json).map_err(|e| internal("ceremony state", e))?;
        webauthn.finish_passkey_authentication(answer, &st)
    } else {
        let st: DiscoverableAuthentication =
            serde_json::from_str(&row.state_json).map_err(|e| internal("ceremony state", e))?;
        // The user handle the authenticator returned must be the passkey's owner.
        match webauthn.identify_discoverable_authentication(answer) {
            Ok((handle, _)) if handle.to_string() == found.user_id =>
            {
                #[allow(deprecated)]
                webauthn.finish_discoverable_authentication(
                    answer,
                    st,
                    &[DiscoverableKey::from(&passkey)],
                )
            }
            Ok(_) | Err(_) => Err(webauthn_rs::prelude::WebauthnError::InvalidUserUniqueId),
        }
    };
    let who = AuditActor {
        tenant_id: Some(&found.tenant_id),
        user_id: Some(&found.user_id),
        email: &owner.email,
        client,
    };
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(error = %e, "passkey assertion refused");
            let why = AssertionRefusal::from_webauthn(&e);
            refused(state, Some(who), client, why, &found.name).await?;
            return Ok(Err(Refusal::Assertion(why)));
        }
    };
    passkey.update_credential(&result);
    let passkey_json = serde_json::to_string(&passkey).map_err(|e| internal("passkey", e))?;
    let now = state.clock.now();
    store::record_use(
        &state.db.pool,
        &found.id,
        &passkey_json,
        i64::from(result.counter()),
        now,
    )
    .await?;
    record_now(
        &state.db,
        who,
        SecurityEvent {
            kind: EventKind::PasskeyUsed,
            tenant_id: Some(&found.tenant_id),
            subject_user_id: None,
            summary: format!("Used passkey \"{}\"", found.name),
        },
    )
    .await?;
    Ok(Ok(Verified {
        user_id: found.user_id,
        tenant_id: found.tenant_id,
        email: owner.email,
        passkey_name: found.name,
        challenge_id: row.challenge_id,
    }))
}

async fn refused(
    state: &AppState,
    who: Option<AuditActor<'_>>,
    client: &ClientInfo,
    why: AssertionRefusal,
    name: &str,
) -> AppResult<()> {
    let summary = match why {
        AssertionRefusal::UnknownCredential => {
            "Refused a passkey that is not registered to this account".to_string()
        }
        AssertionRefusal::Invalid => {
            format!("Refused passkey \"{name}\": its answer did not verify")
        }
        AssertionRefusal::CounterWentBack => format!(
            "Refused passkey \"{name}\": its sign count went backwards (possibly a cloned authenticator)"
        ),
    };
    let tenant_id = who.as_ref().and_then(|w| w.tenant_id);
    let actor = who.unwrap_or(AuditActor {
        tenant_id: None,
        user_id: None,
        email: "",
        client,
    });
    record_now(
        &state.db,
        actor,
        SecurityEvent {
            kind: EventKind::PasskeyRefused,
            tenant_id,
            subject_user_id: None,
            summary,
        },
    )
    .await?;
    Ok(())
}

/// What the second step of a sign-in offers this user.
#[derive(Clone, Copy, Debug, Default)]
pub struct SigninFactors {
    pub passkeys: bool,
    /// Authenticator-app and recovery codes (refused when the tenant requires a passkey for
    /// the user's role and the user has one).
    pub codes: bool,
    /// The user has an authenticator app (whether or not its codes are accepted).
    pub totp: bool,
}

pub async fn signin_factors(
    state: &AppState,
    user_id: &str,
    tenant_id: &str,
) -> AppResult<SigninFactors> {
    let pool = &state.db.pool;
    let passkeys = store::count_for_user(pool, user_id).await? > 0;
    let totp_on = mfa::is_totp_enabled(state, user_id).await?;
    let policy = security_store::policy(pool, tenant_id).await?;
    let role = crate::auth::store::get_user(pool, &crate::db::TenantScope::All, user_id)
        .await?
        .map(|u| u.role);
    let passkeys_only = passkeys
        && policy
            .passkeys_min_role
            .zip(role)
            .is_some_and(|(min, role)| role >= min);
    Ok(SigninFactors {
        passkeys,
        codes: totp_on && !passkeys_only,
        totp: totp_on,
    })
}
