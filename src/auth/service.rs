//! One function per user action: check permission, validate, transaction, audit.

use super::model::{self, Actor, ClientInfo, Role, TenantKind};
use super::password::{hash_password, verify_password};
use super::store::{self, NewTenant, NewUser};
use crate::audit::{self, AuditActor, AuditEvent};
use crate::db::{Db, is_unique_violation, new_id};
use crate::security::model::{EventKind, PasswordRules};
use crate::security::{self, SecurityEvent};
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors};

// ---------------------------------------------------------------- first run

pub struct SetupInput {
    pub company: String,
    pub email: String,
    pub password: String,
}

pub struct NewAccount {
    pub user_id: String,
    pub tenant_id: String,
}

/// Creates the operator tenant and its OWNER. Only while no user exists: a second (or racing)
/// submission gets `NotFound`, exactly as `/setup` answers once set up.
pub async fn setup(db: &Db, input: SetupInput, client: &ClientInfo) -> AppResult<NewAccount> {
    let mut errors = FieldErrors::new();
    let company = model::required_text(&mut errors, "company", &input.company, model::MAX_NAME);
    let email = match model::normalize_email(&input.email) {
        Ok(e) => e,
        Err(m) => {
            errors.add("email", m);
            String::new()
        }
    };
    // No tenant exists yet, so no tenant policy: the defaults apply.
    if let Some(p) = model::password_problem(&input.password, &email, &PasswordRules::default()) {
        errors.add("password", p);
    }
    errors.into_result().map_err(AppError::Invalid)?;
    let hash = hash_password(input.password).await?;
    create_operator_owner(db, &company, &email, &hash, client, true).await
}

/// Shared by `/setup` and `mpanel admin create-owner`. With `first_run_only`, refuses once any
/// user exists; otherwise adds an OWNER to the existing operator tenant.
pub async fn create_operator_owner(
    db: &Db,
    company: &str,
    email: &str,
    password_hash: &str,
    client: &ClientInfo,
    first_run_only: bool,
) -> AppResult<NewAccount> {
    let mut tx = db.begin_write().await?;
    if first_run_only && store::count_users(&mut *tx).await? > 0 {
        return Err(AppError::NotFound);
    }
    let tenant_id = match store::operator_tenant_id(&mut tx).await? {
        // On PostgreSQL (READ COMMITTED) a racing setup can commit between the user count
        // above and this query: an operator tenant that exists now means setup is done.
        Some(_) if first_run_only => return Err(AppError::NotFound),
        Some(id) => id,
        None => {
            let id = new_id();
            let slug = slug_from(company);
            let inserted = store::insert_tenant(
                &mut tx,
                &NewTenant {
                    id: &id,
                    kind: TenantKind::Operator.as_str(),
                    name: company,
                    slug: &slug,
                    billing_email: email,
                    country: "US",
                    region: "default",
                    currency: "USD",
                },
            )
            .await;
            match inserted {
                Ok(()) => id,
                // The one-operator index: another setup won the race.
                Err(e) if is_unique_violation(&e) => return Err(AppError::NotFound),
                Err(e) => return Err(e.into()),
            }
        }
    };
    let user_id = new_id();
    let inserted = store::insert_user(
        &mut tx,
        &NewUser {
            id: &user_id,
            tenant_id: &tenant_id,
            email,
            name: email.split('@').next().unwrap_or(email),
            password_hash,
            role: Role::Owner.as_str(),
            must_change_password: false,
        },
    )
    .await;
    match inserted {
        Ok(()) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(if first_run_only {
                AppError::NotFound
            } else {
                AppError::Invalid(FieldErrors::one(
                    "email",
                    "That e-mail address is already in use.",
                ))
            });
        }
        Err(e) => return Err(e.into()),
    }
    audit::record(
        &mut tx,
        AuditActor {
            tenant_id: Some(&tenant_id),
            user_id: Some(&user_id),
            email,
            client,
        },
        AuditEvent {
            tenant_id: Some(&tenant_id),
            action: if first_run_only {
                "setup.completed"
            } else {
                "user.owner_created"
            },
            target_type: "user",
            target_id: &user_id,
            summary: format!("Created operator owner {email}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(NewAccount { user_id, tenant_id })
}

fn slug_from(name: &str) -> String {
    let mut slug = String::new();
    for c in name.to_lowercase().chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug
        .trim_end_matches('-')
        .chars()
        .take(40)
        .collect::<String>();
    if slug.len() < 2 {
        "operator".into()
    } else {
        slug
    }
}

// ---------------------------------------------------------------- sessions and login

/// A fresh session token for the cookie, and its SHA-256 (the only form stored).
pub fn new_session_token() -> (String, String) {
    use base64::Engine;
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let id = session_id_for(&token);
    (token, id)
}

pub fn session_id_for(token: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

pub async fn logout(state: &AppState, actor: &Actor) -> AppResult<()> {
    // The session itself is ended by the caller (`AuthSession::logout`).
    let mut tx = state.db.begin_write().await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "auth.logout",
            target_type: "user",
            target_id: &actor.user_id,
            summary: "Signed out".into(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- password

pub struct ChangePasswordInput {
    pub current: String,
    pub new: String,
    pub confirm: String,
}

/// Changes the actor's own password under their tenant's password rules; their other
/// sessions end.
/// Whether this actor's password change asks for the current password (see
/// [`model::current_password_needed`]).
pub async fn current_password_needed(db: &Db, actor: &Actor) -> AppResult<bool> {
    if !actor.must_change_password {
        return Ok(true);
    }
    let started = store::session_started_at(&db.pool, &actor.session_id).await?;
    Ok(started
        .is_none_or(|at| model::current_password_needed(true, at, crate::db::Timestamp::now())))
}

pub async fn change_password(db: &Db, actor: &Actor, input: ChangePasswordInput) -> AppResult<u64> {
    let ask_current = current_password_needed(db, actor).await?;
    let mut errors = FieldErrors::new();
    if ask_current && input.current.is_empty() {
        errors.add("current", "Enter your current password.");
    }
    let rules = security::store::policy(&db.pool, &actor.tenant_id)
        .await?
        .password_rules();
    if let Some(p) = model::password_problem(&input.new, &actor.email, &rules) {
        errors.add("new", p);
    } else if ask_current && input.new == input.current {
        errors.add("new", "Choose a password different from the current one.");
    }
    if input.confirm != input.new {
        errors.add("confirm", "The two new passwords do not match.");
    }
    errors.into_result().map_err(AppError::Invalid)?;
    let current_hash = {
        let mut tx = db.begin_write().await?;
        let h = store::password_hash(&mut tx, &actor.user_id).await?;
        tx.rollback().await?;
        h.ok_or(AppError::Unauthenticated)?
    };
    if ask_current {
        if !verify_password(input.current, current_hash).await? {
            return Err(AppError::Invalid(FieldErrors::one(
                "current",
                "That is not your current password.",
            )));
        }
    } else if verify_password(input.new.clone(), current_hash).await? {
        // the temporary password, not asked for, may still not be kept
        return Err(AppError::Invalid(FieldErrors::one(
            "new",
            "Choose a password different from the temporary one.",
        )));
    }
    let hash = hash_password(input.new).await?;
    let mut tx = db.begin_write().await?;
    store::set_password(&mut tx, &actor.user_id, &hash, false).await?;
    let ended = store::delete_user_sessions(&mut tx, &actor.user_id, &actor.session_id).await?;
    security::record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::PasswordChanged,
            tenant_id: None,
            subject_user_id: None,
            summary: format!("Changed own password; {ended} other session(s) ended"),
        },
    )
    .await?;
    security::service::notify_account_change(&mut tx, actor, "Your password was changed").await?;
    tx.commit().await?;
    Ok(ended)
}
