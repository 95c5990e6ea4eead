//! `/security/mfa` (enrol, turn off, new recovery codes) and `/login/mfa` (the second step of
//! signing in).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::Deserialize;

use super::factor::FactorOutcome;
use super::login::{self, MfaLogin};
use super::mfa::{self, MfaState};
use crate::auth::model::{Actor, ClientInfo};
use crate::auth::session;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash, safe_next};

#[derive(Template)]
#[template(path = "security/mfa.html", blocks = ["main"])]
struct MfaPage {
    layout: Layout,
    /// "off", "pending" or "on".
    status: &'static str,
    secret: String,
    qr_svg: String,
    since: Timestamp,
    unused_codes: i64,
    errors: FieldErrors,
    disable_errors: FieldErrors,
    regen_errors: FieldErrors,
}

async fn mfa_page_for(state: &AppState, layout: Layout, actor: &Actor) -> AppResult<MfaPage> {
    let mut page = MfaPage {
        layout,
        status: "off",
        secret: String::new(),
        qr_svg: String::new(),
        since: Timestamp(0),
        unused_codes: 0,
        errors: FieldErrors::new(),
        disable_errors: FieldErrors::new(),
        regen_errors: FieldErrors::new(),
    };
    match mfa::state_of(state, actor).await? {
        MfaState::Off => {}
        MfaState::Pending { secret, qr_svg } => {
            page.status = "pending";
            page.secret = secret;
            page.qr_svg = qr_svg;
        }
        MfaState::On {
            since,
            unused_codes,
        } => {
            page.status = "on";
            page.since = since;
            page.unused_codes = unused_codes;
        }
    }
    Ok(page)
}

/// Shows the secret while set-up is pending: never cached (the layer adds `no-store`).
pub async fn mfa_page(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let page = mfa_page_for(&state, layout, &actor).await?;
    Ok(page!(hx, page)?.into_response())
}

pub async fn setup(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    mfa::start_enrolment(&state, &actor).await?;
    Ok(flash::success(
        &state,
        "/security/mfa",
        "Scan the QR code with your authenticator app, then enter the code it shows.",
    ))
}

#[derive(Deserialize, Default)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

#[derive(Template)]
#[template(path = "security/recovery_codes.html", blocks = ["main"])]
struct RecoveryCodesPage {
    layout: Layout,
    codes: Vec<String>,
    just_enabled: bool,
    ended_sessions: u64,
    download_href: String,
}

fn recovery_codes_page(
    layout: Layout,
    codes: Vec<String>,
    just_enabled: bool,
    ended: u64,
) -> RecoveryCodesPage {
    let text = format!(
        "mPanel recovery codes. Each works once.\n\n{}\n",
        codes.join("\n")
    );
    let download_href = format!(
        "data:text/plain;charset=utf-8,{}",
        text.replace('\n', "%0A").replace(' ', "%20")
    );
    RecoveryCodesPage {
        layout,
        codes,
        just_enabled,
        ended_sessions: ended,
        download_href,
    }
}

/// Shown once, as the answer to the POST that created the codes; `no-store` keeps it out of
/// every cache and the back button.
fn no_store(mut res: Response) -> Response {
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub async fn enable(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    match mfa::enable(&state, &actor, &form.code).await {
        Ok(done) => {
            let page = recovery_codes_page(layout, done.recovery_codes, true, done.ended_sessions);
            Ok(no_store(page!(hx, page)?.into_response()))
        }
        Err(AppError::Invalid(errors)) => {
            let mut page = mfa_page_for(&state, layout, &actor).await?;
            page.errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct ConfirmIdentityForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    confirm: String,
}

pub async fn disable(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<ConfirmIdentityForm>,
) -> AppResult<Response> {
    let result = if form.confirm == "yes" {
        mfa::disable(&state, &actor, &form.password, &form.code).await
    } else {
        Err(AppError::Invalid(FieldErrors::one(
            "confirm",
            "Tick the box to confirm that you want to turn two-factor authentication off.",
        )))
    };
    match result {
        Ok(ended) => Ok(flash::success(
            &state,
            "/security/mfa",
            &format!("Two-factor authentication is off. {ended} other session(s) were signed out."),
        )),
        Err(AppError::Invalid(errors)) => {
            let mut page = mfa_page_for(&state, layout, &actor).await?;
            page.disable_errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn regenerate_codes(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<ConfirmIdentityForm>,
) -> AppResult<Response> {
    match mfa::regenerate_codes(&state, &actor, &form.password, &form.code).await {
        Ok(codes) => {
            let page = recovery_codes_page(layout, codes, false, 0);
            Ok(no_store(page!(hx, page)?.into_response()))
        }
        Err(AppError::Invalid(errors)) => {
            let mut page = mfa_page_for(&state, layout, &actor).await?;
            page.regen_errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------- /login/mfa

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
        .max_age(time::Duration::minutes(login::CHALLENGE_MINUTES))
        .build()
}

fn clear_challenge_cookie(state: &AppState) -> Cookie<'static> {
    let mut c = challenge_cookie(state, String::new());
    c.make_removal();
    c
}

fn challenge_token(state: &AppState, headers: &HeaderMap) -> Option<String> {
    CookieJar::from_headers(headers)
        .get(challenge_cookie_name(state))
        .map(|c| c.value().to_string())
}

#[derive(Template)]
#[template(path = "security/login_mfa.html", blocks = ["main"])]
struct LoginMfaPage {
    layout: Layout,
    error: String,
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
    if login::pending(&state, &token).await?.is_none() {
        return Ok(back_to_login(&state));
    }
    let page = LoginMfaPage {
        layout,
        error: String::new(),
    };
    Ok(page!(hx, page)?.into_response())
}

pub async fn login_mfa_submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    client: ClientInfo,
    headers: HeaderMap,
    mut auth: crate::auth::sessions::AuthSession,
    Form(form): Form<CodeForm>,
) -> AppResult<Response> {
    let Some(token) = challenge_token(&state, &headers) else {
        return Ok(back_to_login(&state));
    };
    match login::complete(&state, &token, &form.code, &client).await? {
        MfaLogin::SignedIn {
            user_id,
            tenant_id,
            next,
            email,
        } => {
            crate::auth::sessions::establish(&mut auth, &user_id, &tenant_id, &client).await?;
            let jar = CookieJar::new().add(clear_challenge_cookie(&state));
            let mut res = (jar, Redirect::to(safe_next(Some(&next)))).into_response();
            if session::device_for(&state, &headers, &email).is_none() {
                res = (session::device_cookie(&state, &email), res).into_response();
            }
            Ok(res)
        }
        MfaLogin::Expired => Ok(back_to_login(&state)),
        MfaLogin::Retry(outcome) => {
            let page = LoginMfaPage {
                layout,
                error: outcome.message().to_string(),
            };
            let mut res = page!(hx, page)?.into_response();
            match outcome {
                FactorOutcome::Throttled { retry_after_secs } => {
                    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    res.headers_mut()
                        .insert(header::RETRY_AFTER, retry_after_secs.into());
                }
                _ => *res.status_mut() = StatusCode::UNAUTHORIZED,
            }
            Ok(res)
        }
    }
}
