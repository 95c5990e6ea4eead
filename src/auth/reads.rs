//! What people read about tenants, members and invitations: each read makes the permission
//! decision and reads in the actor's scope, so pages only extract, call and render. Other
//! features' pages take their tenant pickers from here too.

use super::invite_store::{self, InvitationRow};
use super::model::Actor;
use super::store::{self, TenantRow, UserFilter, UserRow};
use crate::db::Db;
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult};

/// First-run setup is open while no user exists.
pub async fn setup_open(db: &Db) -> AppResult<bool> {
    Ok(store::count_users(&db.pool).await? == 0)
}

/// Members the actor may list: staff see every tenant's (narrowed to `tenant_id` if given), a
/// customer ADMIN+ their own tenant's (`tenant_id` is ignored for them).
pub async fn list_users(
    db: &Db,
    actor: &Actor,
    search: &str,
    tenant_id: &str,
    req: PageRequest,
) -> AppResult<(Vec<UserRow>, i64)> {
    if !actor.can_view_members() {
        return Err(AppError::Forbidden);
    }
    let scope = actor.scope();
    let filter = UserFilter {
        scope: &scope,
        tenant_id: if actor.is_staff { tenant_id } else { "" },
        search,
    };
    Ok(store::list_users(&db.pool, &filter, req.size, req.offset()).await?)
}

/// One member: anyone may see themselves; seeing others needs ADMIN+. Another tenant's
/// member is 404.
pub async fn get_user(db: &Db, actor: &Actor, id: &str) -> AppResult<UserRow> {
    let user = store::get_user(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.can_view_members() && user.id != actor.user_id {
        return Err(AppError::Forbidden);
    }
    Ok(user)
}

/// Every tenant as (id, name) for a staff picker; nothing for a customer (who has no choice).
pub async fn tenant_choices(db: &Db, actor: &Actor) -> AppResult<Vec<(String, String)>> {
    if !actor.is_staff {
        return Ok(Vec::new());
    }
    Ok(store::tenant_choices(&db.pool).await?)
}

/// Customer tenants as (id, name) for a staff "which customer" picker; nothing for a
/// customer.
pub async fn customer_tenant_choices(db: &Db, actor: &Actor) -> AppResult<Vec<(String, String)>> {
    if !actor.is_staff {
        return Ok(Vec::new());
    }
    Ok(store::customer_tenant_choices(&db.pool).await?)
}

/// The tenant list (staff only).
pub async fn list_tenants(
    db: &Db,
    actor: &Actor,
    search: &str,
    req: PageRequest,
) -> AppResult<(Vec<TenantRow>, i64)> {
    if !actor.can_view_tenants() {
        return Err(AppError::Forbidden);
    }
    Ok(store::list_tenants(&db.pool, search, req.size, req.offset()).await?)
}

/// One tenant for the staff tenant pages (404 when it does not exist).
pub async fn get_tenant(db: &Db, actor: &Actor, id: &str) -> AppResult<TenantRow> {
    if !actor.can_view_tenants() {
        return Err(AppError::Forbidden);
    }
    store::get_tenant(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// One tenant for its edit form (staff ADMIN+).
pub async fn tenant_for_edit(db: &Db, actor: &Actor, id: &str) -> AppResult<TenantRow> {
    if !actor.can_manage_tenants() {
        return Err(AppError::Forbidden);
    }
    store::get_tenant(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// A tenant in the actor's scope, if there is one with this id (a picker's choice that may be
/// stale); no permission beyond the scope.
pub async fn find_tenant(db: &Db, actor: &Actor, id: &str) -> AppResult<Option<TenantRow>> {
    Ok(store::get_tenant(&db.pool, &actor.scope(), id).await?)
}

/// A tenant's members, one page (staff tenant page).
pub async fn tenant_members(
    db: &Db,
    actor: &Actor,
    tenant: &TenantRow,
    req: PageRequest,
) -> AppResult<(Vec<UserRow>, i64)> {
    if !actor.can_view_tenants() {
        return Err(AppError::Forbidden);
    }
    let scope = actor.scope();
    let filter = UserFilter {
        scope: &scope,
        tenant_id: &tenant.id,
        search: "",
    };
    Ok(store::list_users(&db.pool, &filter, req.size, req.offset()).await?)
}

/// Open invitations in the actor's scope (one tenant, or all for staff when `tenant_id` is
/// empty), newest first.
pub async fn open_invitations(
    db: &Db,
    actor: &Actor,
    tenant_id: &str,
) -> AppResult<Vec<InvitationRow>> {
    if !actor.can_view_members() {
        return Err(AppError::Forbidden);
    }
    Ok(invite_store::list_open(&db.pool, &actor.scope(), tenant_id).await?)
}

/// One page of tenants for the API (staff only), newest first, after `after`.
pub async fn tenants_after(
    db: &Db,
    actor: &Actor,
    search: &str,
    after: Option<(i64, &str)>,
    limit: i64,
) -> AppResult<Vec<TenantRow>> {
    if !actor.can_view_tenants() {
        return Err(AppError::Forbidden);
    }
    Ok(store::tenants_after(&db.pool, search, after, limit).await?)
}

/// One page of a tenant's members for the API (staff only), newest first, after `after`.
pub async fn tenant_members_after(
    db: &Db,
    actor: &Actor,
    tenant: &TenantRow,
    after: Option<(i64, &str)>,
    limit: i64,
) -> AppResult<Vec<UserRow>> {
    if !actor.can_view_tenants() {
        return Err(AppError::Forbidden);
    }
    let scope = actor.scope();
    let filter = UserFilter {
        scope: &scope,
        tenant_id: &tenant.id,
        search: "",
    };
    Ok(store::users_after(&db.pool, &filter, after, limit).await?)
}
