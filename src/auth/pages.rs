//! Handlers for first-run setup and the own-password form (the home page is `src/dashboard`).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::{Actor, ClientInfo};
use super::service::{self, ChangePasswordInput, SetupInput};
use super::signin::sessions::{self, AuthSession};
use crate::page;
use crate::security;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

#[derive(Deserialize, Default)]
pub struct SetupForm {
    #[serde(default)]
    company: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

#[derive(Template)]
#[template(path = "auth/setup.html", blocks = ["main"])]
struct SetupPage {
    layout: Layout,
    company: String,
    email: String,
    errors: FieldErrors,
}

pub async fn setup_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
) -> AppResult<Response> {
    if !super::reads::setup_open(&state.db).await? {
        return Err(AppError::NotFound);
    }
    Ok(page!(
        hx,
        SetupPage {
            layout,
            company: String::new(),
            email: String::new(),
            errors: FieldErrors::new()
        }
    )?
    .into_response())
}

pub async fn setup_submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    client: ClientInfo,
    mut auth: AuthSession,
    Form(form): Form<SetupForm>,
) -> AppResult<Response> {
    let input = SetupInput {
        company: form.company.clone(),
        email: form.email.clone(),
        password: form.password,
    };
    match service::setup(&state.db, input, &client).await {
        Ok(account) => {
            state
                .setup_done
                .store(true, std::sync::atomic::Ordering::Relaxed);
            sessions::establish(&mut auth, &account.user_id, &account.tenant_id, &client).await?;
            Ok(flash::success(
                &state,
                "/",
                "Welcome to mPanel. Your operator account is ready.",
            ))
        }
        Err(AppError::Invalid(errors)) => {
            let page = SetupPage {
                layout,
                company: form.company,
                email: form.email,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new: String,
    #[serde(default)]
    confirm: String,
}

#[derive(Template)]
#[template(path = "auth/password.html", blocks = ["main"])]
struct PasswordPage {
    layout: Layout,
    forced: bool,
    /// Whether the form asks for the current password (not right after signing in with a
    /// temporary one).
    ask_current: bool,
    /// The tenant policy's minimum, shown in the field's label.
    min_length: usize,
    errors: FieldErrors,
}

async fn min_password_length(state: &AppState, actor: &Actor) -> AppResult<usize> {
    Ok(security::reads::password_rules(&state.db, &actor.tenant_id)
        .await?
        .min_length)
}

pub async fn password_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    Ok(page!(
        hx,
        PasswordPage {
            layout,
            forced: actor.must_change_password,
            ask_current: service::current_password_needed(&state.db, &actor).await?,
            min_length: min_password_length(&state, &actor).await?,
            errors: FieldErrors::new()
        }
    )?
    .into_response())
}

pub async fn password_submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    mut auth: AuthSession,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    let input = ChangePasswordInput {
        current: form.current,
        new: form.new,
        confirm: form.confirm,
    };
    match service::change_password(&state.db, &actor, input).await {
        Ok(ended) => {
            // This session stays, bound to the new password (the others have ended).
            sessions::rebind(&mut auth).await?;
            let msg = match ended {
                0 => "Your password has been changed.".to_string(),
                n => format!(
                    "Your password has been changed and {n} other session(s) were signed out."
                ),
            };
            Ok(flash::success(&state, "/", &msg))
        }
        Err(AppError::Invalid(errors)) => {
            let page = PasswordPage {
                layout,
                forced: actor.must_change_password,
                ask_current: service::current_password_needed(&state.db, &actor).await?,
                min_length: min_password_length(&state, &actor).await?,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn not_found() -> AppError {
    AppError::NotFound
}
