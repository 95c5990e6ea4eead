//! Service actions on tenants and their members.

use super::model::{self, Actor, Role, TenantKind};
use super::store::{self, NewTenant, UserRow};
use crate::audit::{self, AuditEvent};
use crate::db::{Db, new_id};
use crate::web::forms::OnUnique;
use crate::web::{AppError, AppResult, FieldErrors};

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct TenantInput {
    /// Postal address, several lines (edit form only).
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub tax_id: String,
    /// Payment terms in days (edit form only).
    #[serde(default)]
    pub net_terms_days: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub billing_email: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub region: String,
    #[serde(default)]
    pub currency: String,
}

pub async fn create_tenant(db: &Db, actor: &Actor, input: &TenantInput) -> AppResult<String> {
    if !actor.can_manage_tenants() {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let name = model::required_text(&mut errors, "name", &input.name, model::MAX_NAME);
    let slug = input.slug.trim().to_lowercase();
    if let Some(p) = model::slug_problem(&slug) {
        errors.add("slug", p);
    }
    let billing_email = model::normalize_email(&input.billing_email)
        .map_err(|m| errors.add("billing_email", m))
        .unwrap_or_default();
    let country = model::country_code(&input.country)
        .map_err(|m| errors.add("country", m))
        .unwrap_or_default();
    let region = model::required_text(&mut errors, "region", &input.region, 40);
    let currency = model::currency_code(&input.currency)
        .map_err(|m| errors.add("currency", m))
        .unwrap_or_default();
    errors.into_result().map_err(AppError::Invalid)?;

    let id = new_id();
    let mut tx = db.begin_write().await?;
    store::insert_tenant(
        &mut tx,
        &NewTenant {
            id: &id,
            kind: TenantKind::Customer.as_str(),
            name: &name,
            slug: &slug,
            billing_email: &billing_email,
            country: &country,
            region: &region,
            currency: &currency,
        },
    )
    .await
    .unique_field("slug", "That slug is already taken.")?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&id),
            action: "tenant.created",
            target_type: "tenant",
            target_id: &id,
            summary: format!("Created tenant {name} ({slug})"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

/// Loads the member an action is about, enforcing scope (404) then permission (403), and
/// locks their tenant for the rest of the transaction: every change to a tenant's roles or
/// active members is serialised, so "another active OWNER remains" stays true when two
/// owners demote or deactivate each other at the same moment. The member is read again
/// under the lock, as the racing change left it.
async fn member_for_change(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    user_id: &str,
) -> AppResult<UserRow> {
    let target = store::get_user(&mut **tx, &actor.scope(), user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.can_manage_members_of(&target.tenant_id) {
        return Err(AppError::Forbidden);
    }
    store::lock_tenant(tx, &target.tenant_id).await?;
    store::get_user(&mut **tx, &actor.scope(), user_id)
        .await?
        .ok_or(AppError::NotFound)
}

fn role_of(row: &UserRow) -> AppResult<Role> {
    Ok(row.role)
}

pub async fn change_role(
    db: &Db,
    actor: &Actor,
    user_id: &str,
    new_role: &str,
) -> AppResult<UserRow> {
    let new_role: Role = new_role
        .parse()
        .map_err(|()| AppError::Invalid(FieldErrors::one("role", "Choose a role.")))?;
    let mut tx = db.begin_write().await?;
    let target = member_for_change(&mut tx, actor, user_id).await?;
    let current = role_of(&target)?;
    let owners_left =
        store::count_other_active_owners(&mut tx, &target.tenant_id, &target.id).await?;
    if let Some(reason) = model::check_member_change(
        actor,
        current,
        target.id == actor.user_id,
        Some(new_role),
        owners_left,
    ) {
        return Err(AppError::refused(reason));
    }
    if current != new_role {
        store::set_user_role(&mut tx, &target.id, new_role.as_str()).await?;
        audit::record(
            &mut tx,
            actor,
            AuditEvent {
                tenant_id: Some(&target.tenant_id),
                action: "user.role_changed",
                target_type: "user",
                target_id: &target.id,
                summary: format!("Changed {} from {current} to {new_role}", target.email),
            },
        )
        .await?;
    }
    let updated = store::get_user(&mut *tx, &actor.scope(), user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(updated)
}

/// Deactivates (ending their sessions) or reactivates a member.
pub async fn set_active(db: &Db, actor: &Actor, user_id: &str, active: bool) -> AppResult<UserRow> {
    let mut tx = db.begin_write().await?;
    let target = member_for_change(&mut tx, actor, user_id).await?;
    let current = role_of(&target)?;
    if !active {
        let owners_left =
            store::count_other_active_owners(&mut tx, &target.tenant_id, &target.id).await?;
        if let Some(reason) = model::check_member_change(
            actor,
            current,
            target.id == actor.user_id,
            None,
            owners_left,
        ) {
            return Err(AppError::refused(reason));
        }
    } else if current > actor.role {
        return Err(AppError::refused(
            "You cannot change a member whose role is above your own.",
        ));
    }
    if (target.active == 1) != active {
        store::set_user_active(&mut tx, &target.id, active).await?;
        if !active {
            store::delete_user_sessions(&mut tx, &target.id, "").await?;
        }
        audit::record(
            &mut tx,
            actor,
            AuditEvent {
                tenant_id: Some(&target.tenant_id),
                action: if active {
                    "user.reactivated"
                } else {
                    "user.deactivated"
                },
                target_type: "user",
                target_id: &target.id,
                summary: format!(
                    "{} {}",
                    if active { "Reactivated" } else { "Deactivated" },
                    target.email
                ),
            },
        )
        .await?;
    }
    let updated = store::get_user(&mut *tx, &actor.scope(), user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(updated)
}

/// Flags a customer tenant for BETA products (staff ADMIN+).
pub async fn set_beta(db: &Db, actor: &Actor, tenant_id: &str, beta: bool) -> AppResult<()> {
    if !actor.can_manage_tenants() {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin_write().await?;
    if store::set_tenant_beta(&mut tx, tenant_id, beta).await? == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(tenant_id),
            action: "tenant.beta_changed",
            target_type: "tenant",
            target_id: tenant_id,
            summary: if beta {
                "Joined the beta programme".into()
            } else {
                "Left the beta programme".into()
            },
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Edits a tenant's details (staff ADMIN+): what invoices snapshot when they are issued.
pub async fn update_tenant(db: &Db, actor: &Actor, id: &str, input: &TenantInput) -> AppResult<()> {
    if !actor.can_manage_tenants() {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let name = model::required_text(&mut errors, "name", &input.name, model::MAX_NAME);
    let billing_email = model::normalize_email(&input.billing_email)
        .map_err(|m| errors.add("billing_email", m))
        .unwrap_or_default();
    let country = model::country_code(&input.country)
        .map_err(|m| errors.add("country", m))
        .unwrap_or_default();
    let region = model::required_text(&mut errors, "region", &input.region, 40);
    let currency = model::currency_code(&input.currency)
        .map_err(|m| errors.add("currency", m))
        .unwrap_or_default();
    let address = input.address.trim().replace("\r\n", "\n");
    if address.chars().count() > 500 || address.lines().count() > 8 {
        errors.add("address", "Use at most 8 lines and 500 characters.");
    }
    let tax_id = input.tax_id.trim().to_string();
    if tax_id.chars().count() > 40 || tax_id.chars().any(char::is_control) {
        errors.add("tax_id", "Use at most 40 plain characters.");
    }
    let net_terms_days = match input.net_terms_days.trim().parse::<i64>() {
        Ok(d) if (0..=365).contains(&d) => d,
        _ => {
            errors.add(
                "net_terms_days",
                "Use a whole number of days from 0 to 365.",
            );
            14
        }
    };
    errors.into_result().map_err(AppError::Invalid)?;
    let mut tx = db.begin_write().await?;
    let details = store::TenantDetails {
        name: &name,
        billing_email: &billing_email,
        country: &country,
        region: &region,
        currency: &currency,
        address: &address,
        tax_id: &tax_id,
        net_terms_days,
    };
    if store::update_tenant(&mut tx, id, &details).await? == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(id),
            action: "tenant.updated",
            target_type: "tenant",
            target_id: id,
            summary: format!("Edited the details of {name}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
