//! `/security/tokens`: create (shown once), list, revoke.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::Scope;
use super::reads;
use super::service::{self, TokenInput};
use super::token_store::TokenRow;
use crate::actor::Actor;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

#[derive(Template)]
#[template(path = "security/tokens.html", blocks = ["main"])]
struct TokensPage {
    layout: Layout,
    own: Vec<TokenRow>,
    /// Other members' tokens, for OWNER/ADMIN (their tenant) and staff ADMIN+ (everyone).
    members: Vec<TokenRow>,
    show_members: bool,
    scopes: Vec<Scope>,
    form: TokenInput,
    errors: FieldErrors,
    now: Timestamp,
    max_date: String,
    min_date: String,
}

async fn tokens_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    form: TokenInput,
    errors: FieldErrors,
) -> AppResult<TokensPage> {
    let reads::TokenLists {
        own,
        members,
        show_members,
    } = reads::tokens(&state.db, actor).await?;
    let now = Timestamp::now();
    let date = |t: Timestamp| t.to_string().chars().take(10).collect::<String>();
    Ok(TokensPage {
        layout,
        own,
        members,
        show_members,
        scopes: Scope::ALL
            .into_iter()
            .filter(|s| s.allowed_for(actor.role))
            .collect(),
        form,
        errors,
        now,
        min_date: date(now),
        max_date: date(now.plus_secs(365 * 86_400)),
    })
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    // A sensible default a person can change: 90 days ahead (the field is required).
    let in_90_days = Timestamp::now().plus_secs(90 * 86_400).to_string();
    let form = TokenInput {
        scope_read: Some("on".into()),
        expires_on: in_90_days.chars().take(10).collect(),
        ..TokenInput::default()
    };
    let page = tokens_page(&state, layout, &actor, form, FieldErrors::new()).await?;
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "security/token_created.html", blocks = ["main"])]
struct TokenCreatedPage {
    layout: Layout,
    name: String,
    token: String,
}

pub async fn create(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<TokenInput>,
) -> AppResult<Response> {
    match service::create_token(&state, &actor, &form).await {
        Ok(created) => {
            let page = TokenCreatedPage {
                layout,
                name: form.name.trim().to_string(),
                token: created.token,
            };
            // The token exists only in this response: never cached.
            let mut res = page!(hx, page)?.into_response();
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            Ok(res)
        }
        Err(AppError::Invalid(errors)) => {
            let page = tokens_page(&state, layout, &actor, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    if !confirm::confirmed(&form.confirm) {
        // a token out of reach is 404 as on revoking; the service checks the rest
        let row = super::reads::token(&state.db, &actor, &id).await?;
        let ask = Confirm::new(format!("Revoke the token \"{}\"?", row.name), format!("/security/tokens/{id}/revoke"))
            .consequence("Programs using it are refused from now on. A revoked token cannot be restored; create a new one if it is needed again.")
            .button("Revoke token")
            .back("/security/tokens");
        return confirm::ask(hx, layout, ask);
    }
    let row = service::revoke_token(&state, &actor, &id).await?;
    Ok(flash::success(
        &state,
        "/security/tokens",
        &format!(
            "Token \"{}\" has been revoked and no longer works.",
            row.name
        ),
    ))
}
