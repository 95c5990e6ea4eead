//! `/api/v1/tenants` and `/api/v1/users/{id}/…` for staff, over the same read and service
//! functions as the tenant and user pages: staff read tenants and their members (READ); staff
//! ADMIN+ create and edit tenants, and OWNER/ADMIN deactivate, reactivate and re-role members
//! (WRITE + ADMIN). A customer's token is refused on tenants (403); a member out of its scope
//! is 404.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use super::reads;
use super::store::{TenantRow, UserRow};
use super::tenants::{self, TenantInput};
use crate::api::{ApiActor, ApiError, ApiJson, ApiQuery, CursorQuery, rfc3339};
use crate::security::model::Scope;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tenants", get(list).post(create))
        .route("/api/v1/tenants/{id}", get(show).patch(update))
        .route("/api/v1/tenants/{id}/users", get(users))
        .route("/api/v1/users/{id}/deactivate", post(deactivate))
        .route("/api/v1/users/{id}/reactivate", post(reactivate))
        .route("/api/v1/users/{id}/role", post(change_role))
}

#[derive(OpenApi)]
#[openapi(
    paths(list, show, create, update, users, deactivate, reactivate, change_role),
    components(schemas(Tenant, TenantList, TenantBody, User, UserList, RoleBody)),
    tags((name = "tenants", description = "Tenants and their users (staff)"))
)]
struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

#[derive(Serialize, ToSchema)]
pub struct Tenant {
    pub id: String,
    /// OPERATOR (the platform's own) or CUSTOMER.
    pub kind: String,
    pub name: String,
    pub slug: String,
    pub billing_email: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    pub region: String,
    /// ISO 4217.
    pub currency: String,
    /// Offered BETA products.
    pub beta: bool,
    pub address: String,
    pub tax_id: String,
    /// Days between an invoice's issue and due dates.
    pub net_terms_days: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
}

fn tenant(t: &TenantRow) -> Tenant {
    Tenant {
        id: t.id.clone(),
        kind: t.kind.as_str().to_string(),
        name: t.name.clone(),
        slug: t.slug.clone(),
        billing_email: t.billing_email.clone(),
        country: t.country.clone(),
        region: t.region.clone(),
        currency: t.currency.clone(),
        beta: t.beta == 1,
        address: t.address.clone(),
        tax_id: t.tax_id.clone(),
        net_terms_days: t.net_terms_days,
        created_at: rfc3339(t.created_at),
    }
}

#[derive(Serialize, ToSchema)]
pub struct TenantList {
    pub items: Vec<Tenant>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub email: String,
    pub name: String,
    /// OWNER, ADMIN, BILLING, MEMBER or VIEWER.
    pub role: String,
    pub active: bool,
    /// RFC 3339, UTC.
    pub created_at: String,
}

fn user(u: &UserRow) -> User {
    User {
        id: u.id.clone(),
        tenant_id: u.tenant_id.clone(),
        tenant_name: u.tenant_name.clone(),
        email: u.email.clone(),
        name: u.name.clone(),
        role: u.role.as_str().to_string(),
        active: u.active == 1,
        created_at: rfc3339(u.created_at),
    }
}

#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    /// Tenants whose name or slug contains this.
    q: Option<String>,
    /// How many (1 to 100, 25 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

type Id = Path<String>;

/// Every tenant, newest first (staff).
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants",
    description = "Scope: READ. Staff.",
    params(ListQuery),
    responses((status = 200, description = "One page of tenants", body = TenantList)))]
async fn list(
    State(state): State<AppState>,
    api: ApiActor,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<TenantList>, ApiError> {
    api.read()?;
    let at = CursorQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let search = q.q.as_deref().unwrap_or_default().trim();
    let rows = reads::tenants_after(&state.db, &api.actor, search, at.after(), at.fetch()).await?;
    let page = at.finish(rows, |t| (t.created_at.0, t.id.as_str()));
    Ok(Json(TenantList {
        items: page.items.iter().map(tenant).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One tenant (staff).
#[utoipa::path(get, path = "/api/v1/tenants/{id}", tag = "tenants",
    description = "Scope: READ. Staff.",
    params(("id" = String, Path, description = "The tenant's id")),
    responses((status = 200, description = "The tenant", body = Tenant)))]
async fn show(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<Tenant>, ApiError> {
    api.read()?;
    Ok(Json(tenant(
        &reads::get_tenant(&state.db, &api.actor, &id).await?,
    )))
}

#[derive(Deserialize, Default, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct PageQuery {
    /// How many (1 to 100, 25 when absent).
    limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A tenant's users, newest first (staff).
#[utoipa::path(get, path = "/api/v1/tenants/{id}/users", tag = "tenants",
    description = "Scope: READ. Staff.",
    params(("id" = String, Path, description = "The tenant's id"), PageQuery),
    responses((status = 200, description = "One page of the tenant's users", body = UserList)))]
async fn users(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<UserList>, ApiError> {
    api.read()?;
    let at = CursorQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let t = reads::get_tenant(&state.db, &api.actor, &id).await?;
    let rows =
        reads::tenant_members_after(&state.db, &api.actor, &t, at.after(), at.fetch()).await?;
    let page = at.finish(rows, |u| (u.created_at.0, u.id.as_str()));
    Ok(Json(UserList {
        items: page.items.iter().map(user).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// A tenant's details. Creating: `slug` is set once and `address`, `tax_id` and
/// `net_terms_days` are edited afterwards; editing: only the fields given change (not `slug`).
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TenantBody {
    pub name: Option<String>,
    /// Lower-case letters, digits and dashes (creation only).
    pub slug: Option<String>,
    pub billing_email: Option<String>,
    /// ISO 3166 alpha-2.
    pub country: Option<String>,
    pub region: Option<String>,
    /// ISO 4217.
    pub currency: Option<String>,
    /// Postal address, up to 8 lines (editing only).
    pub address: Option<String>,
    /// Editing only.
    pub tax_id: Option<String>,
    /// 0 to 365 (editing only).
    pub net_terms_days: Option<i64>,
}

impl TenantBody {
    fn over(self, mut f: TenantInput) -> TenantInput {
        let set = |slot: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *slot = v;
            }
        };
        set(&mut f.name, self.name);
        set(&mut f.slug, self.slug);
        set(&mut f.billing_email, self.billing_email);
        set(&mut f.country, self.country);
        set(&mut f.region, self.region);
        set(&mut f.currency, self.currency);
        set(&mut f.address, self.address);
        set(&mut f.tax_id, self.tax_id);
        if let Some(d) = self.net_terms_days {
            f.net_terms_days = d.to_string();
        }
        f
    }
}

/// Creates a customer tenant (staff ADMIN+).
#[utoipa::path(post, path = "/api/v1/tenants", tag = "tenants",
    description = "Scopes: WRITE + ADMIN. Staff ADMIN+.",
    request_body = TenantBody,
    responses((status = 201, description = "The new tenant", body = Tenant)))]
async fn create(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<(StatusCode, Json<Tenant>), ApiError> {
    api.write(Scope::Admin)?;
    for (given, field) in [
        (body.address.is_some(), "address"),
        (body.tax_id.is_some(), "tax_id"),
        (body.net_terms_days.is_some(), "net_terms_days"),
    ] {
        if given {
            return Err(ApiError::invalid(
                field,
                format!("{field} is set by editing the tenant once it exists."),
            ));
        }
    }
    let input = body.over(TenantInput::default());
    let id = tenants::create_tenant(&state.db, &api.actor, &input).await?;
    let t = reads::get_tenant(&state.db, &api.actor, &id).await?;
    Ok((StatusCode::CREATED, Json(tenant(&t))))
}

/// Edits a tenant's details (staff ADMIN+): only the fields given change.
#[utoipa::path(patch, path = "/api/v1/tenants/{id}", tag = "tenants",
    description = "Scopes: WRITE + ADMIN. Staff ADMIN+.",
    params(("id" = String, Path, description = "The tenant's id")),
    request_body = TenantBody,
    responses((status = 200, description = "The tenant as edited", body = Tenant)))]
async fn update(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(body): ApiJson<TenantBody>,
) -> Result<Json<Tenant>, ApiError> {
    api.write(Scope::Admin)?;
    if body.slug.is_some() {
        return Err(ApiError::invalid("slug", "A tenant's slug is set once."));
    }
    let t = reads::tenant_for_edit(&state.db, &api.actor, &id).await?;
    let current = TenantInput {
        name: t.name,
        slug: t.slug,
        billing_email: t.billing_email,
        country: t.country,
        region: t.region,
        currency: t.currency,
        address: t.address,
        tax_id: t.tax_id,
        net_terms_days: t.net_terms_days.to_string(),
    };
    tenants::update_tenant(&state.db, &api.actor, &id, &body.over(current)).await?;
    Ok(Json(tenant(
        &reads::get_tenant(&state.db, &api.actor, &id).await?,
    )))
}

/// Deactivates a member (their sessions end); OWNER/ADMIN, never the last active OWNER.
#[utoipa::path(post, path = "/api/v1/users/{id}/deactivate", tag = "tenants",
    description = "Scopes: WRITE + ADMIN. OWNER/ADMIN of the user's tenant, or staff ADMIN+.",
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = User)))]
async fn deactivate(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<User>, ApiError> {
    api.write(Scope::Admin)?;
    Ok(Json(user(
        &tenants::set_active(&state.db, &api.actor, &id, false).await?,
    )))
}

/// Reactivates a member.
#[utoipa::path(post, path = "/api/v1/users/{id}/reactivate", tag = "tenants",
    description = "Scopes: WRITE + ADMIN. OWNER/ADMIN of the user's tenant, or staff ADMIN+.",
    params(("id" = String, Path, description = "The user's id")),
    responses((status = 200, description = "The user", body = User)))]
async fn reactivate(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
) -> Result<Json<User>, ApiError> {
    api.write(Scope::Admin)?;
    Ok(Json(user(
        &tenants::set_active(&state.db, &api.actor, &id, true).await?,
    )))
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RoleBody {
    /// OWNER, ADMIN, BILLING, MEMBER or VIEWER (at most your own).
    pub role: String,
}

/// Changes a member's role.
#[utoipa::path(post, path = "/api/v1/users/{id}/role", tag = "tenants",
    description = "Scopes: WRITE + ADMIN. OWNER/ADMIN of the user's tenant, or staff ADMIN+.",
    params(("id" = String, Path, description = "The user's id")),
    request_body = RoleBody,
    responses((status = 200, description = "The user", body = User)))]
async fn change_role(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Id,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Json<User>, ApiError> {
    api.write(Scope::Admin)?;
    Ok(Json(user(
        &tenants::change_role(&state.db, &api.actor, &id, &body.role).await?,
    )))
}
