//! The JSON endpoints `static/passkeys.js` calls at sign-in: `/login/passkey…` (a passkey
//! alone) and `/login/mfa/passkey…` (a passkey after the password, with the challenge cookie).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::PublicKeyCredential;

use super::flow::Refusal;
use super::pages::{challenge_token, clear_challenge_cookie};
use super::passkey::{self, PasswordlessLogin};
use super::second_factor::{self, MfaLogin, PasskeyRetry};
use super::sessions::{self, AuthSession};
use crate::auth::model::ClientInfo;
use crate::security::passkeys::pages::json_refusal;
use crate::security::passkeys::service::Started;
use crate::state::AppState;
use crate::web::{AppResult, safe_next};

fn started(s: Started) -> Response {
    Json(json!({ "ceremony": s.ceremony, "options": s.options })).into_response()
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn throttled(retry_after_secs: u64) -> Response {
    let mut res = refused(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Too many failed sign-in attempts. Try again in {retry_after_secs} seconds."),
    );
    res.headers_mut()
        .insert(header::RETRY_AFTER, retry_after_secs.into());
    res
}

/// The password step's challenge is gone: start again from the password.
fn expired(state: &AppState) -> Response {
    let jar = CookieJar::new().add(clear_challenge_cookie(state));
    let body = json!({
        "error": "This sign-in expired. Start again with your password.",
        "redirect": "/login",
    });
    (jar, (StatusCode::GONE, Json(body))).into_response()
}

#[derive(Deserialize)]
pub struct Answer {
    ceremony: String,
    credential: PublicKeyCredential,
    #[serde(default)]
    next: String,
}

pub async fn passwordless_options(State(state): State<AppState>) -> AppResult<Response> {
    match passkey::options(&state).await {
        Ok(s) => Ok(started(s)),
        Err(e) => json_refusal(e),
    }
}

pub async fn passwordless(
    State(state): State<AppState>,
    client: ClientInfo,
    mut auth: AuthSession,
    Json(answer): Json<Answer>,
) -> AppResult<Response> {
    match passkey::login(&state, &answer.ceremony, &answer.credential, &client).await? {
        PasswordlessLogin::SignedIn { user_id, tenant_id } => {
            sessions::establish(&mut auth, &user_id, &tenant_id, &client).await?;
            let next = safe_next(Some(&answer.next));
            Ok(Json(json!({ "redirect": next })).into_response())
        }
        PasswordlessLogin::Refused(Refusal::Throttled { retry_after_secs }) => {
            Ok(throttled(retry_after_secs))
        }
        PasswordlessLogin::Refused(Refusal::AddressRefused) => Ok(refused(
            StatusCode::FORBIDDEN,
            &format!(
                "Your organisation does not allow sign-in from this network ({}).",
                client.ip
            ),
        )),
        PasswordlessLogin::Refused(_) => Ok(refused(
            StatusCode::UNAUTHORIZED,
            "This passkey could not sign you in: it is not registered here, or its answer did \
             not verify. Try again, or sign in with your password.",
        )),
    }
}

pub async fn second_factor_options(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Some(token) = challenge_token(&state, &headers) else {
        return Ok(expired(&state));
    };
    match second_factor::passkey_options(&state, &token).await {
        Ok(Some(s)) => Ok(started(s)),
        Ok(None) => Ok(expired(&state)),
        Err(e) => json_refusal(e),
    }
}

pub async fn second_factor(
    State(state): State<AppState>,
    client: ClientInfo,
    headers: HeaderMap,
    mut auth: AuthSession,
    Json(answer): Json<Answer>,
) -> AppResult<Response> {
    let Some(token) = challenge_token(&state, &headers) else {
        return Ok(expired(&state));
    };
    let outcome = second_factor::complete_with_passkey(
        &state,
        &token,
        &answer.ceremony,
        &answer.credential,
        &client,
    )
    .await?;
    match outcome {
        Ok(MfaLogin::SignedIn {
            user_id,
            tenant_id,
            next,
            ..
        }) => {
            sessions::establish(&mut auth, &user_id, &tenant_id, &client).await?;
            let jar = CookieJar::new().add(clear_challenge_cookie(&state));
            let body = json!({ "redirect": safe_next(Some(&next)) });
            Ok((jar, Json(body)).into_response())
        }
        Ok(_) => Ok(expired(&state)),
        Err(PasskeyRetry::Refused(message)) => Ok(refused(StatusCode::UNAUTHORIZED, message)),
        Err(PasskeyRetry::Throttled { retry_after_secs }) => Ok(throttled(retry_after_secs)),
    }
}
