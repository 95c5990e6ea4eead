//! `/security/mfa/passkeys…`: the JSON endpoints `static/passkeys.js` calls to register a
//! passkey (options, then the authenticator's answer), and the form that removes one.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::service;
use crate::actor::Actor;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors, flash};

/// A refusal the script shows beside the button (`{"error": "…"}`); anything else is the
/// usual error page.
pub fn json_refusal(e: AppError) -> AppResult<Response> {
    let (status, message) = match e {
        AppError::Invalid(errors) => {
            let message = errors
                .iter()
                .next()
                .map_or(String::new(), |(_, m)| m.to_string());
            (StatusCode::UNPROCESSABLE_ENTITY, message)
        }
        AppError::Refused(m) => (StatusCode::CONFLICT, m),
        AppError::TooManyAttempts { retry_after_secs } => {
            let mut res = (
                StatusCode::TOO_MANY_REQUESTS,
                Json(json!({"error": "Too many attempts. Wait a moment and try again."})),
            )
                .into_response();
            res.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            return Ok(res);
        }
        other => return Err(other),
    };
    Ok((status, Json(json!({ "error": message }))).into_response())
}

/// `{"redirect": to}` with the flash message the next page shows.
pub fn json_redirect(state: &AppState, to: &str, message: &str) -> Response {
    let flashed = flash::success(state, to, message);
    let mut res = Json(json!({ "redirect": to })).into_response();
    for cookie in flashed.headers().get_all(header::SET_COOKIE) {
        res.headers_mut().append(header::SET_COOKIE, cookie.clone());
    }
    res
}

#[derive(Deserialize, Default)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

pub async fn register_options(
    State(state): State<AppState>,
    actor: Actor,
    Json(form): Json<NameForm>,
) -> AppResult<Response> {
    match service::start_registration(&state, &actor, &form.name).await {
        Ok(started) => Ok(Json(json!({
            "ceremony": started.ceremony,
            "options": started.options,
        }))
        .into_response()),
        Err(e) => json_refusal(e),
    }
}

#[derive(Deserialize)]
pub struct RegisterAnswer {
    ceremony: String,
    credential: RegisterPublicKeyCredential,
}

pub async fn register(
    State(state): State<AppState>,
    actor: Actor,
    Json(answer): Json<RegisterAnswer>,
) -> AppResult<Response> {
    match service::finish_registration(&state, &actor, &answer.ceremony, &answer.credential).await {
        Ok(name) => Ok(json_redirect(
            &state,
            "/security/mfa",
            &format!("Passkey \"{name}\" added. You can use it to sign in."),
        )),
        Err(e) => json_refusal(e),
    }
}

#[derive(Deserialize, Default)]
pub struct RemoveForm {
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub code: String,
    #[serde(default)]
    pub confirm: String,
}

/// The outcome the MFA page renders: removed (a flash), or the form again with errors.
pub async fn remove(
    state: &AppState,
    actor: &Actor,
    id: &str,
    form: &RemoveForm,
) -> AppResult<Result<Response, FieldErrors>> {
    if form.confirm != "yes" {
        return Ok(Err(FieldErrors::one(
            "confirm",
            "Tick the box to confirm that you want to remove this passkey.",
        )));
    }
    match service::remove(state, actor, id, &form.password, &form.code).await {
        Ok(name) => Ok(Ok(flash::success(
            state,
            "/security/mfa",
            &format!("Passkey \"{name}\" removed."),
        ))),
        Err(AppError::Invalid(errors)) => Ok(Err(errors)),
        Err(e) => Err(e),
    }
}
