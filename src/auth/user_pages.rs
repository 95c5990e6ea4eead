//! Handlers for `/users`: staff see every tenant's users, a customer ADMIN+ their members.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::invite_pages::{self, InvitationView};
use super::model::{Actor, Role};
use super::reads;
use super::store::UserRow;
use super::tenants;
use crate::page;
use crate::state::AppState;
use crate::web::confirm::{self, Confirm};
use crate::web::flash::Flash;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, Hx, Layout, flash};

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    tenant_id: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "users/list.html", blocks = ["main"])]
struct UserListPage {
    layout: Layout,
    users: Vec<UserRow>,
    q: String,
    tenant_id: String,
    tenants: Vec<(String, String)>,
    pager: Pager,
    is_staff: bool,
    invitations: Vec<InvitationView>,
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(query): Query<ListQuery>,
) -> AppResult<Response> {
    let q = query.q.trim().to_string();
    let tenant_id = if actor.is_staff {
        query.tenant_id.trim().to_string()
    } else {
        String::new()
    };
    let req = PageRequest::new(parse_page(query.page.as_deref()));
    let (users, total) = reads::list_users(&state.db, &actor, &q, &tenant_id, req).await?;
    let tenants = reads::tenant_choices(&state.db, &actor).await?;
    let invitations = invite_pages::open_invitations(&state, &actor, &tenant_id).await?;
    let pager = Pager::new(
        "/users",
        req,
        total,
        filter_query(&[("q", &q), ("tenant_id", &tenant_id)]),
    );
    Ok(page!(
        hx,
        UserListPage {
            layout,
            users,
            q,
            tenant_id,
            tenants,
            pager,
            is_staff: actor.is_staff,
            invitations
        }
    )?
    .into_response())
}

#[derive(Template)]
#[template(path = "users/show.html", blocks = ["main", "member"])]
struct UserPage {
    layout: Layout,
    user: UserRow,
    roles: Vec<Role>,
    can_manage: bool,
    is_self: bool,
    notice: Option<Flash>,
}

fn user_page(layout: Layout, actor: &Actor, user: UserRow, notice: Option<Flash>) -> UserPage {
    let can_manage = actor.can_manage_members_of(&user.tenant_id);
    UserPage {
        layout,
        roles: actor.role.grantable(),
        can_manage,
        is_self: user.id == actor.user_id,
        user,
        notice,
    }
}

pub async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = reads::get_user(&state.db, &actor, &id).await?;
    Ok(page!(hx, user_page(layout, &actor, user, None))?.into_response())
}

/// After a member action: the refreshed member card for htmx, a redirect otherwise.
fn after_change(
    state: &AppState,
    hx: Hx,
    layout: Layout,
    actor: &Actor,
    user: UserRow,
    message: String,
) -> AppResult<Response> {
    if hx.wants_fragment() {
        let notice = Some(Flash {
            kind: "success",
            message,
        });
        let page = user_page(layout, actor, user, notice);
        return Ok(crate::web::render(&page.as_member())?.into_response());
    }
    Ok(flash::success(
        state,
        &format!("/users/{}", user.id),
        &message,
    ))
}

#[derive(Deserialize, Default)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

pub async fn change_role(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<RoleForm>,
) -> AppResult<Response> {
    let user = tenants::change_role(&state.db, &actor, &id, &form.role)
        .await
        .map_err(|e| match e {
            AppError::Invalid(errors) => AppError::refused(errors.get("role").to_string()),
            e => e,
        })?;
    let msg = format!("{} is now {}.", user.email, user.role);
    after_change(&state, hx, layout, &actor, user, msg)
}

#[derive(Deserialize, Default)]
pub struct ConfirmForm {
    #[serde(default)]
    confirm: String,
}

pub async fn deactivate(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<ConfirmForm>,
) -> AppResult<Response> {
    if !confirm::confirmed(&form.confirm) {
        // the same refusals as the action (not found, no right), then the question
        let user = crate::auth::reads::get_user(&state.db, &actor, &id).await?;
        if !actor.can_manage_members_of(&user.tenant_id) {
            return Err(AppError::Forbidden);
        }
        let ask = Confirm::new(format!("Deactivate {}?", user.email), format!("/users/{id}/deactivate"))
            .consequence("They are signed out everywhere and cannot sign in until someone with the right to manage members activates them again.")
            .button("Deactivate member")
            .back(format!("/users/{id}"));
        return confirm::ask(hx, layout, ask);
    }
    let user = tenants::set_active(&state.db, &actor, &id, false).await?;
    let msg = format!(
        "{} has been deactivated and signed out everywhere.",
        user.email
    );
    after_change(&state, hx, layout, &actor, user, msg)
}

pub async fn activate(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let user = tenants::set_active(&state.db, &actor, &id, true).await?;
    let msg = format!("{} can sign in again.", user.email);
    after_change(&state, hx, layout, &actor, user, msg)
}
