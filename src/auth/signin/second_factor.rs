//! The second step of signing in: a correct password for an account with MFA leaves only a
//! short-lived challenge (its own cookie, its own table); a session exists only after a valid
//! TOTP or recovery code, and it is a new one.

use super::events::record_login_event;
use super::flow::{self, Step};
use crate::audit::AuditActor;
use crate::auth::model::ClientInfo;
use crate::auth::service::{new_session_token, session_id_for};
use crate::db::Timestamp;
use crate::security::factor::{self, Factor, FactorOutcome, FactorUser, PasskeyOutcome};
use crate::security::model::EventKind;
use crate::security::passkeys::service::Started;
use crate::security::passkeys::signin::{self as passkeys, SigninFactors};
use crate::security::store::{self, ChallengeRow};
use crate::security::{SecurityEvent, record_now};
use crate::state::AppState;
use crate::web::AppResult;

/// How long the code form stays open after the password.
pub const CHALLENGE_MINUTES: i64 = 5;

/// Records the challenge; returns the token for its cookie (only its hash is stored).
pub async fn start_challenge(
    state: &AppState,
    user_id: &str,
    tenant_id: &str,
    next: &str,
) -> AppResult<String> {
    let (token, id) = new_session_token();
    let expires = Timestamp::now().plus_secs(CHALLENGE_MINUTES * 60);
    let mut tx = state.db.begin_write().await?;
    store::insert_challenge(&mut tx, &id, user_id, tenant_id, next, expires).await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn pending(state: &AppState, token: &str) -> AppResult<Option<ChallengeRow>> {
    Ok(store::live_challenge(&state.db.pool, &session_id_for(token)).await?)
}

pub enum MfaLogin {
    /// Both factors passed: the caller signs the user in on its session (a new session id).
    SignedIn {
        user_id: String,
        tenant_id: String,
        next: String,
        email: String,
    },
    /// Wrong, replayed or rate-limited: the form again, with why.
    Retry(FactorOutcome),
    /// No live challenge (expired, used, or never there): back to the password.
    Expired,
}

pub async fn complete(
    state: &AppState,
    challenge_token: &str,
    code: &str,
    client: &ClientInfo,
) -> AppResult<MfaLogin> {
    let Some(ch) = pending(state, challenge_token).await? else {
        return Ok(MfaLogin::Expired);
    };
    let who = FactorUser {
        user_id: &ch.user_id,
        email: &ch.email,
        tenant_id: &ch.tenant_id,
    };
    if !factors(state, &ch).await?.codes {
        let actor = AuditActor {
            tenant_id: Some(&ch.tenant_id),
            user_id: Some(&ch.user_id),
            email: &ch.email,
            client,
        };
        let event = SecurityEvent {
            kind: EventKind::MfaFailed,
            tenant_id: None,
            subject_user_id: None,
            summary: "Refused a code: a passkey is required for this account".into(),
        };
        record_now(&state.db, actor, event).await?;
        return Ok(MfaLogin::Retry(FactorOutcome::PasskeyRequired));
    }
    let outcome = factor::check_second_factor(state, &who, code, client).await?;
    let FactorOutcome::Accepted(factor) = outcome else {
        return Ok(MfaLogin::Retry(outcome));
    };
    // Deleting the challenge first means two racing submissions cannot both sign in.
    let mut tx = state.db.begin_write().await?;
    let taken = store::take_challenge(&mut tx, &ch.id).await?;
    tx.commit().await?;
    if flow::after_code(outcome, taken) != Ok(Step::SignedIn) {
        return Ok(MfaLogin::Expired);
    }
    let how = match factor {
        Factor::Totp => "Signed in (password and authenticator code)",
        Factor::RecoveryCode => "Signed in (password and a recovery code)",
        Factor::Passkey => "Signed in (password and a passkey)",
    };
    signed_in(state, ch, client, how).await
}

/// What the second step offers the user of this challenge.
pub async fn factors(state: &AppState, ch: &ChallengeRow) -> AppResult<SigninFactors> {
    passkeys::signin_factors(state, &ch.user_id, &ch.tenant_id).await
}

/// Starts a passkey check for the live challenge; `None` when there is none any more.
pub async fn passkey_options(state: &AppState, token: &str) -> AppResult<Option<Started>> {
    let Some(ch) = pending(state, token).await? else {
        return Ok(None);
    };
    Ok(Some(
        passkeys::start_second_factor(state, &ch.user_id, &ch.id).await?,
    ))
}

/// The second factor by passkey: the answer must verify for the challenge's user, and the
/// ceremony must have been started for this very challenge.
pub async fn complete_with_passkey(
    state: &AppState,
    challenge_token: &str,
    ceremony: &str,
    answer: &webauthn_rs::prelude::PublicKeyCredential,
    client: &ClientInfo,
) -> AppResult<Result<MfaLogin, PasskeyRetry>> {
    let Some(ch) = pending(state, challenge_token).await? else {
        return Ok(Ok(MfaLogin::Expired));
    };
    let verified =
        match factor::check_passkey(state, ceremony, Some(&ch.user_id), answer, client).await? {
            PasskeyOutcome::Accepted(v) => v,
            PasskeyOutcome::Refused(r) => return Ok(Err(PasskeyRetry::Refused(r.message()))),
            PasskeyOutcome::Throttled { retry_after_secs } => {
                return Ok(Err(PasskeyRetry::Throttled { retry_after_secs }));
            }
        };
    if verified.challenge_id.as_deref() != Some(ch.id.as_str()) {
        return Ok(Err(PasskeyRetry::Refused(
            "This passkey request belongs to another sign-in. Try again.",
        )));
    }
    let mut tx = state.db.begin_write().await?;
    let taken = store::take_challenge(&mut tx, &ch.id).await?;
    tx.commit().await?;
    if flow::after_code(FactorOutcome::Accepted(Factor::Passkey), taken) != Ok(Step::SignedIn) {
        return Ok(Ok(MfaLogin::Expired));
    }
    let how = format!(
        "Signed in (password and passkey \"{}\")",
        verified.passkey_name
    );
    Ok(Ok(signed_in(state, ch, client, &how).await?))
}

/// Why a passkey answer at the second step was not accepted (the step stays).
pub enum PasskeyRetry {
    Refused(&'static str),
    Throttled { retry_after_secs: u64 },
}

async fn signed_in(
    state: &AppState,
    ch: ChallengeRow,
    client: &ClientInfo,
    how: &str,
) -> AppResult<MfaLogin> {
    record_login_event(
        state,
        Some((&ch.user_id, &ch.tenant_id)),
        &ch.email,
        client,
        EventKind::LoginSuccess,
        how,
    )
    .await?;
    Ok(MfaLogin::SignedIn {
        user_id: ch.user_id,
        tenant_id: ch.tenant_id,
        next: ch.next_path,
        email: ch.email,
    })
}
