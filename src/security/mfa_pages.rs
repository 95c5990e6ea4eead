//! `/security/mfa` (enrol, turn off, new recovery codes) and `/login/mfa` (the second step of
//! signing in).

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::mfa::{self, MfaState};
use super::passkeys::store::PasskeyRow;
use super::passkeys::{model as passkey_model, pages as passkey_pages, service as passkeys};
use crate::actor::Actor;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

/// Where the user's enrolment stands, for the page to ask.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Enrolment {
    Off,
    Pending,
    On,
}

impl Enrolment {
    fn is_on(self) -> bool {
        self == Enrolment::On
    }

    fn is_pending(self) -> bool {
        self == Enrolment::Pending
    }
}

#[derive(Template)]
#[template(path = "security/mfa.html", blocks = ["main"])]
struct MfaPage {
    layout: Layout,
    enrolment: Enrolment,
    secret: String,
    qr_svg: String,
    since: Timestamp,
    unused_codes: i64,
    errors: FieldErrors,
    disable_errors: FieldErrors,
    regen_errors: FieldErrors,
    passkeys: Vec<PasskeyRow>,
    /// Whether this panel's address allows passkeys (a domain name in MPANEL_BASE_URL).
    passkeys_available: bool,
    /// The tenant requires passkeys for this user's role.
    passkeys_required: bool,
    /// The passkey whose remove form failed, with its errors.
    remove_id: String,
    remove_errors: FieldErrors,
}

async fn mfa_page_for(state: &AppState, layout: Layout, actor: &Actor) -> AppResult<MfaPage> {
    let mut page = MfaPage {
        layout,
        enrolment: Enrolment::Off,
        secret: String::new(),
        qr_svg: String::new(),
        since: Timestamp(0),
        unused_codes: 0,
        errors: FieldErrors::new(),
        disable_errors: FieldErrors::new(),
        regen_errors: FieldErrors::new(),
        passkeys: passkeys::list(state, actor).await?,
        passkeys_available: passkeys::available(state),
        passkeys_required: passkeys::required_for(state, actor).await?,
        remove_id: String::new(),
        remove_errors: FieldErrors::new(),
    };
    match mfa::state_of(state, actor).await? {
        MfaState::Off => {}
        MfaState::Pending { secret, qr_svg } => {
            page.enrolment = Enrolment::Pending;
            page.secret = secret;
            page.qr_svg = qr_svg;
        }
        MfaState::On {
            since,
            unused_codes,
        } => {
            page.enrolment = Enrolment::On;
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
    pub code: String,
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

pub async fn remove_passkey(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<passkey_pages::RemoveForm>,
) -> AppResult<Response> {
    match passkey_pages::remove(&state, &actor, &id, &form).await? {
        Ok(done) => Ok(done),
        Err(errors) => {
            let mut page = mfa_page_for(&state, layout, &actor).await?;
            page.remove_id = id;
            page.remove_errors = errors;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
    }
}

impl MfaPage {
    fn passkey_name_max(&self) -> usize {
        passkey_model::MAX_NAME
    }
}

// ---------------------------------------------------------------- /login/mfa
