//! Handlers for invitations: the invite form at `/users/new` (POST `/users`), resend and revoke
//! on the members list, and the public link `/invite/{token}` where the invitee sets a password.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::invitations::{self, AcceptInput, Accepted, InviteInput};
use super::invite_model::InvitationState;
use super::invite_store::InvitationRow;
use super::model::{Actor, ClientInfo, Role};
use super::reads;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

/// An open invitation as the members list shows it.
pub struct InvitationView {
    pub row: InvitationRow,
    pub expires: String,
    pub state: InvitationState,
}

/// Open invitations the actor manages (one tenant, or all for staff when `tenant_id` is empty).
pub async fn open_invitations(
    state: &AppState,
    actor: &Actor,
    tenant_id: &str,
) -> AppResult<Vec<InvitationView>> {
    let now = Timestamp::now().0;
    let rows = reads::open_invitations(&state.db, actor, tenant_id).await?;
    Ok(rows
        .into_iter()
        .map(|row| InvitationView {
            expires: Timestamp(row.expires_at).to_string(),
            state: InvitationState::at(row.expires_at, row.accepted_at, row.revoked_at, now),
            row,
        })
        .collect())
}

#[derive(Template)]
#[template(path = "users/new.html", blocks = ["main"])]
struct InvitePage {
    layout: Layout,
    form: InviteInput,
    errors: FieldErrors,
    roles: Vec<Role>,
    /// The role the form asks for, if it is one.
    selected_role: Option<Role>,
    tenants: Vec<(String, String)>,
    is_staff: bool,
}

#[derive(Deserialize, Default)]
pub struct NewQuery {
    #[serde(default)]
    tenant_id: String,
}

async fn invite_page(
    state: &AppState,
    layout: Layout,
    actor: &Actor,
    form: InviteInput,
    errors: FieldErrors,
) -> AppResult<InvitePage> {
    let tenants = reads::tenant_choices(&state.db, actor).await?;
    Ok(InvitePage {
        layout,
        selected_role: Role::parse(&form.role),
        form,
        errors,
        roles: actor.role.grantable(),
        tenants,
        is_staff: actor.is_staff,
    })
}

pub async fn new_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<NewQuery>,
) -> AppResult<Response> {
    if !actor.can_view_members() {
        return Err(AppError::Forbidden);
    }
    let form = InviteInput {
        tenant_id: q.tenant_id,
        role: "MEMBER".into(),
        ..InviteInput::default()
    };
    let page = invite_page(&state, layout, &actor, form, FieldErrors::new()).await?;
    Ok(page!(hx, page)?.into_response())
}

fn sent(state: &AppState, email: &str) -> Response {
    flash::success(state, "/users", &format!("Invitation sent to {email}."))
}

/// POST `/users`: the same answer whether or not the address already has an account.
pub async fn create(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<InviteInput>,
) -> AppResult<Response> {
    let base_url = state.config.base_url();
    match invitations::invite(&state.db, &actor, &form, &base_url).await {
        Ok(email) => Ok(sent(&state, &email)),
        Err(AppError::Invalid(errors)) => {
            let page = invite_page(&state, layout, &actor, form, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

pub async fn resend(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let base_url = state.config.base_url();
    let email = invitations::resend(&state.db, &actor, &id, &base_url).await?;
    Ok(sent(&state, &email))
}

#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    if form.confirm != "yes" {
        return Err(AppError::refused(
            "Tick the confirmation box to revoke this invitation.",
        ));
    }
    let email = invitations::revoke(&state.db, &actor, &id).await?;
    Ok(flash::success(
        &state,
        "/users",
        &format!("The invitation to {email} was revoked: its link no longer works."),
    ))
}

#[derive(Template)]
#[template(path = "users/accept.html", blocks = ["main"])]
struct AcceptPage {
    layout: Layout,
    token: String,
    email: String,
    tenant_name: String,
    role: Role,
    full_name: String,
    min_length: usize,
    errors: FieldErrors,
}

#[derive(Template)]
#[template(path = "users/invite_invalid.html", blocks = ["main"])]
struct InvalidPage {
    layout: Layout,
}

fn invalid(hx: Hx, layout: Layout) -> AppResult<Response> {
    Ok((StatusCode::GONE, page!(hx, InvalidPage { layout })?).into_response())
}

async fn accept_page(
    state: &AppState,
    layout: Layout,
    token: String,
    inv: InvitationRow,
    name: String,
    errors: FieldErrors,
) -> AppResult<AcceptPage> {
    let rules = crate::security::reads::password_rules(&state.db, &inv.tenant_id).await?;
    Ok(AcceptPage {
        layout,
        token,
        email: inv.email,
        tenant_name: inv.tenant_name,
        role: inv.role,
        full_name: name,
        min_length: rules.min_length,
        errors,
    })
}

/// GET `/invite/{token}`: no sign-in needed; the link is the credential.
pub async fn accept_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let Some(inv) = invitations::pending_by_token(&state.db, &token).await? else {
        return invalid(hx, layout);
    };
    let name = inv.name.clone();
    let page = accept_page(&state, layout, token, inv, name, FieldErrors::new()).await?;
    Ok(page!(hx, page)?.into_response())
}

pub async fn accept_submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    client: ClientInfo,
    Path(token): Path<String>,
    Form(form): Form<AcceptInput>,
) -> AppResult<Response> {
    match invitations::accept(&state.db, &client, &token, &form).await {
        Ok(Accepted::Done { .. }) => Ok(flash::success(
            &state,
            "/login",
            "Your account is ready: sign in.",
        )),
        Ok(Accepted::LinkInvalid) => invalid(hx, layout),
        Err(AppError::Invalid(errors)) => {
            let Some(inv) = invitations::pending_by_token(&state.db, &token).await? else {
                return invalid(hx, layout);
            };
            let page = accept_page(&state, layout, token, inv, form.name, errors).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}
