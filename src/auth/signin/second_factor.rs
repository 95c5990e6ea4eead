//! The second step of signing in: a correct password for an account with MFA leaves only a
//! short-lived challenge (its own cookie, its own table); a session exists only after a valid
//! TOTP or recovery code, and it is a new one.

use super::events::record_login_event;
use super::flow::{self, Step};
use crate::auth::model::ClientInfo;
use crate::auth::service::{new_session_token, session_id_for};
use crate::db::Timestamp;
use crate::security::factor::{self, Factor, FactorOutcome, FactorUser};
use crate::security::model::EventKind;
use crate::security::store::{self, ChallengeRow};
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
    };
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
