//! The sign-in pages: `/login` (password), `/login/mfa` (second factor, with its own short-lived
//! challenge cookie) and `/logout`. Thin: the flow's rules are in `password`, `second_factor`
//! and `flow`; the session is `sessions::establish`.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::password::{self as password_step, LoginInput, LoginOutcome};
use super::second_factor::{self, MfaLogin};
use super::sessions::{self, AuthSession};
use crate::auth::model::ClientInfo;
use crate::auth::service;
use crate::auth::session::{self, MaybeActor};
use crate::page;
use crate::security::factor::FactorOutcome;
use crate::security::mfa_pages::CodeForm;
use crate::security::passkeys::service as passkeys;
use crate::security::passkeys::signin::SigninFactors;
use crate::state::AppState;
use crate::web::{AppError, AppResult, Hx, Layout, flash, safe_next};

#[derive(Deserialize, Default)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

#[derive(Deserialize, Default)]
pub struct NextParam {
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/login.html", blocks = ["main"])]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    error: String,
    /// This panel's address allows passkeys ("Sign in with a passkey").
    passkeys: bool,
}

pub async fn login_form(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    hx: Hx,
    layout: Layout,
    Query(q): Query<NextParam>,
) -> AppResult<Response> {
    if actor.is_some() {
        return Ok(Redirect::to(safe_next(q.next.as_deref())).into_response());
    }
    let next = safe_next(q.next.as_deref()).to_string();
    Ok(page!(
        hx,
        LoginPage {
            layout,
            email: String::new(),
            next,
            error: String::new(),
            passkeys: passkeys::available(&state),
        }
    )?
    .into_response())
}

pub async fn login_submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    client: ClientInfo,
    headers: axum::http::HeaderMap,
    mut auth: AuthSession,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let email = form.email.trim().to_lowercase();
    let device = session::device_for(&state, &headers, &email);
    let had_device = device.is_some();
    let next = safe_next(Some(&form.next)).to_string();
    let input = LoginInput {
        email: form.email.clone(),
        password: form.password,
        device,
        next: next.clone(),
    };
    let outcome = password_step::login(&state, input, &client).await?;
    let retry_page = |status: StatusCode, error: String, layout: Layout| -> AppResult<Response> {
        let page = LoginPage {
            layout,
            email: form.email.clone(),
            next: next.clone(),
            error,
            passkeys: passkeys::available(&state),
        };
        Ok((status, page!(hx, page)?).into_response())
    };
    match outcome {
        LoginOutcome::SignedIn { user_id, tenant_id } => {
            sessions::establish(&mut auth, &user_id, &tenant_id, &client).await?;
            let mut res = Redirect::to(&next).into_response();
            if !had_device {
                let device_jar = session::device_cookie(&state, &email);
                res = (device_jar, res).into_response();
            }
            Ok(res)
        }
        LoginOutcome::SecondFactor { challenge_token } => {
            // Not signed in yet: the old session (if any) ends, only the challenge remains.
            if auth.user.is_some() {
                auth.logout()
                    .await
                    .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
            }
            let jar = axum_extra::extract::cookie::CookieJar::new()
                .add(challenge_cookie(&state, challenge_token));
            Ok((jar, Redirect::to("/login/mfa")).into_response())
        }
        LoginOutcome::IpRefused => retry_page(
            StatusCode::FORBIDDEN,
            format!(
                "Your organisation does not allow sign-in from this network ({}).",
                client.ip
            ),
            layout,
        ),
        LoginOutcome::Failed => retry_page(
            StatusCode::UNAUTHORIZED,
            "The e-mail address or password is incorrect.".into(),
            layout,
        ),
        LoginOutcome::Throttled { retry_after_secs } => {
            let mut res = retry_page(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many failed sign-in attempts. Try again in {retry_after_secs} seconds."
                ),
                layout,
            )?;
            res.headers_mut()
                .insert(header::RETRY_AFTER, retry_after_secs.into());
            Ok(res)
        }
    }
}

pub async fn logout(
    State(state): State<AppState>,
    MaybeActor(actor): MaybeActor,
    mut auth: AuthSession,
) -> AppResult<Response> {
    if let Some(actor) = actor {
        service::logout(&state, &actor).await?;
    }
    auth.logout()
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    Ok(flash::success(&state, "/login", "You have signed out."))
}

/// The challenge cookie: only sent to `/login/mfa`, HttpOnly, `__Secure-` over https.
pub fn challenge_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        "__Secure-mpanel_mfa"
    } else {
        "mpanel_mfa"
    }
}

pub fn challenge_cookie(state: &AppState, token: String) -> Cookie<'static> {
    Cookie::build((challenge_cookie_name(state), token))
        .path("/login/mfa")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Strict)
        .max_age(time::Duration::minutes(second_factor::CHALLENGE_MINUTES))
        .build()
}

pub(super) fn clear_challenge_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = challenge_cookie(state, String::new());
    c.make_removal();
    c
}

pub(super) fn challenge_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(challenge_cookie_name(state))
        .map(|c| c.value().to_string())
}

#[derive(Template)]
#[template(path = "security/login_mfa.html", blocks = ["main"])]
struct LoginMfaPage {
    layout: Layout,
    error: String,
    factors: SigninFactors,
}

fn back_to_login(state: &AppState) -> Response {
    let jar = CookieJar::new().add(clear_challenge_cookie(state));
    (jar, Redirect::to("/login")).into_response()
}

pub async fn login_mfa_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    headers: HeaderMap,
) -> AppResult<Response> {
    let Some(token) = challenge_token(&state, &headers) else {
        return Ok(back_to_login(&state));
    };
    let Some(ch) = second_factor::pending(&state, &token).await? else {
        return Ok(back_to_login(&state));
    };
    let page = LoginMfaPage {
        layout,
        error: String::new(),
        factors: second_factor::factors(&state, &ch).await?,
    };
    Ok(page!(hx, page)?.into_response())
}

pub async fn login_mfa_submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    client: ClientInfo,
    headers: HeaderMap,
    mut auth: sessions::AuthSession,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(token) = challenge_token(&state, &headers) else {
        return Ok(back_to_login(&state));
    };
    match second_factor::complete(&state, &token, &form.code, &client).await? {
        MfaLogin::SignedIn {
            user_id,
            tenant_id,
            next,
            email,
        } => {
            sessions::establish(&mut auth, &user_id, &tenant_id, &client).await?;
            let jar = CookieJar::new().add(clear_challenge_cookie(&state));
            let mut res = (jar, Redirect::to(safe_next(Some(&next)))).into_response();
            if session::device_for(&state, &headers, &email).is_none() {
                res = (session::device_cookie(&state, &email), res).into_response();
            }
            Ok(res)
        }
        MfaLogin::Expired => Ok(back_to_login(&state)),
        MfaLogin::Retry(outcome) => {
            let factors = match second_factor::pending(&state, &token).await? {
                Some(ch) => second_factor::factors(&state, &ch).await?,
                None => return Ok(back_to_login(&state)),
            };
            let page = LoginMfaPage {
                layout,
                error: outcome.message().to_string(),
                factors,
            };
            let mut res = page!(hx, page)?.into_response();
            match outcome {
                FactorOutcome::Throttled { retry_after_secs } => {
                    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    res.headers_mut()
                        .insert(header::RETRY_AFTER, retry_after_secs.into());
                }
                FactorOutcome::PasskeyRequired => *res.status_mut() = StatusCode::FORBIDDEN,
                _ => *res.status_mut() = StatusCode::UNAUTHORIZED,
            }
            Ok(res)
        }
    }
}
