//! Handlers for `/tenants` (staff only).

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::model::Actor;
use super::reads;
use super::store::{TenantRow, UserRow};
use super::tenants::{self, TenantInput};
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "tenants/list.html", blocks = ["main"])]
struct TenantListPage {
    layout: Layout,
    tenants: Vec<TenantRow>,
    q: String,
    pager: Pager,
    can_create: bool,
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(query): Query<ListQuery>,
) -> AppResult<Response> {
    let q = query.q.trim().to_string();
    let req = PageRequest::new(parse_page(query.page.as_deref()));
    let (tenants, total) = reads::list_tenants(&state.db, &actor, &q, req).await?;
    let pager = Pager::new("/tenants", req, total, filter_query(&[("q", &q)]));
    Ok(page!(
        hx,
        TenantListPage {
            layout,
            tenants,
            q,
            pager,
            can_create: actor.can_manage_tenants()
        }
    )?
    .into_response())
}

#[derive(Template)]
#[template(path = "tenants/new.html", blocks = ["main"])]
struct NewTenantPage {
    layout: Layout,
    form: TenantInput,
    errors: FieldErrors,
    currencies: Vec<&'static str>,
}

fn currencies() -> Vec<&'static str> {
    crate::money::currency_codes()
}

pub async fn new_form(hx: Hx, layout: Layout, actor: Actor) -> AppResult<Response> {
    if !actor.can_manage_tenants() {
        return Err(AppError::Forbidden);
    }
    let form = TenantInput {
        currency: "USD".into(),
        region: "default".into(),
        ..TenantInput::default()
    };
    Ok(page!(
        hx,
        NewTenantPage {
            layout,
            form,
            errors: FieldErrors::new(),
            currencies: currencies()
        }
    )?
    .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Form(form): Form<TenantInput>,
) -> AppResult<Response> {
    match tenants::create_tenant(&state.db, &actor, &form).await {
        Ok(id) => Ok(flash::success(
            &state,
            &format!("/tenants/{id}"),
            &format!("Tenant {} created.", form.name.trim()),
        )),
        Err(AppError::Invalid(errors)) => {
            let page = NewTenantPage {
                layout,
                form,
                errors,
                currencies: currencies(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

#[derive(Template)]
#[template(path = "tenants/show.html", blocks = ["main"])]
struct TenantPage {
    layout: Layout,
    tenant: TenantRow,
    members: Vec<UserRow>,
    pager: Pager,
    can_manage: bool,
    can_manage_tenants: bool,
}

pub async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Query(query): Query<ListQuery>,
) -> AppResult<Response> {
    let tenant = reads::get_tenant(&state.db, &actor, &id).await?;
    let req = PageRequest::new(parse_page(query.page.as_deref()));
    let (members, total) = reads::tenant_members(&state.db, &actor, &tenant, req).await?;
    let pager = Pager::new(format!("/tenants/{}", tenant.id), req, total, String::new());
    let can_manage = actor.can_manage_members_of(&tenant.id);
    Ok(page!(
        hx,
        TenantPage {
            layout,
            tenant,
            members,
            pager,
            can_manage,
            can_manage_tenants: actor.can_manage_tenants(),
        }
    )?
    .into_response())
}

#[derive(Deserialize, Default)]
pub struct BetaForm {
    #[serde(default)]
    beta: String,
}

pub async fn set_beta(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<BetaForm>,
) -> AppResult<Response> {
    let beta = form.beta == "1";
    tenants::set_beta(&state.db, &actor, &id, beta).await?;
    let msg = if beta {
        "The tenant now sees beta products."
    } else {
        "The tenant no longer sees beta products."
    };
    Ok(flash::success(&state, &format!("/tenants/{id}"), msg))
}

#[derive(Template)]
#[template(path = "tenants/edit.html", blocks = ["main"])]
struct EditTenantPage {
    layout: Layout,
    id: String,
    form: TenantInput,
    errors: FieldErrors,
    currencies: Vec<&'static str>,
}

pub async fn edit_form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let t = reads::tenant_for_edit(&state.db, &actor, &id).await?;
    let form = TenantInput {
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
    Ok(page!(
        hx,
        EditTenantPage {
            layout,
            id,
            form,
            errors: FieldErrors::new(),
            currencies: currencies()
        }
    )?
    .into_response())
}

pub async fn update(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(form): Form<TenantInput>,
) -> AppResult<Response> {
    match tenants::update_tenant(&state.db, &actor, &id, &form).await {
        Ok(()) => Ok(flash::success(
            &state,
            &format!("/tenants/{id}"),
            "Tenant details saved.",
        )),
        Err(AppError::Invalid(errors)) => {
            let page = EditTenantPage {
                layout,
                id,
                form,
                errors,
                currencies: currencies(),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}
