//! Checking a passkey at sign-in: after the password (the challenge's user, the credentials it
//! allows) or alone (a discoverable credential names its user). Refused answers are security
//! events; a verified one updates the stored counter and records its use.

use webauthn_rs::prelude::{
    DiscoverableAuthentication, DiscoverableKey, PasskeyAuthentication, PublicKeyCredential,
};

use super::model::{AssertionRefusal, CeremonyKind, CeremonyRefusal};
use super::service::{
    Started, credential_text, decode_passkey, internal, keep_ceremony, relying_party, take_ceremony,
};
use super::store;
use crate::actor::ClientInfo;
use crate::audit::AuditActor;
use crate::security::model::EventKind;
use crate::security::{SecurityEvent, mfa, record_now, store as security_store};
use crate::state::AppState;
use crate::web::{AppError, AppResult};

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
