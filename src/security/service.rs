//! Actions on sessions, API tokens and the tenant policy: permission check, validation,
//! transaction, security event (which also writes the audit entry), commit.

use super::crypto;
use super::model::{
    EventKind, Policy, PolicyInput, Scope, session_expired_by_policy, token_expiry,
};
use super::store::{self, SessionListRow};
use super::token_store::{self, NewToken, TokenRow};
use super::{SecurityEvent, can_edit_policy, record};
use crate::auth::model::{self, Actor};
use crate::auth::store::{self as auth_store, UserRow};
use crate::db::{Timestamp, Tx, new_id};
use crate::state::AppState;
use crate::web::{AppError, AppResult, FieldErrors};

/// Another user's row for a security action: out of scope is 404, too low a role 403, a
/// target ranked above the actor is refused.
async fn member_in_reach(tx: &mut Tx, actor: &Actor, user_id: &str) -> AppResult<UserRow> {
    let target = auth_store::get_user(&mut **tx, &actor.scope(), user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.can_manage_members_of(&target.tenant_id) {
        return Err(AppError::Forbidden);
    }
    if target.role > actor.role {
        return Err(AppError::refused(
            "You cannot act on a member whose role is above your own.",
        ));
    }
    Ok(target)
}

// ---------------------------------------------------------------- sessions

/// The member whose sessions an OWNER/ADMIN is looking at (404 outside their tenant).
pub async fn member_for_sessions(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> AppResult<UserRow> {
    let target = auth_store::get_user(&state.db.pool, &actor.scope(), user_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if target.id != actor.user_id && !actor.can_manage_members_of(&target.tenant_id) {
        return Err(AppError::Forbidden);
    }
    Ok(target)
}

/// Sessions still alive under both the server's limits and the tenant's own.
pub async fn live_sessions(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> AppResult<Vec<SessionListRow>> {
    let now = Timestamp::now();
    let idle_cutoff = now.plus_secs(-state.config.session_idle_minutes * 60);
    let rows =
        store::user_sessions(&state.db.pool, &actor.scope(), user_id, now, idle_cutoff).await?;
    let Some(tenant_id) = rows.first().map(|r| r.tenant_id.clone()) else {
        return Ok(rows);
    };
    let policy = store::policy(&state.db.pool, &tenant_id).await?;
    Ok(rows
        .into_iter()
        .filter(|r| {
            !session_expired_by_policy(
                now.0,
                r.created_at.0,
                r.last_seen_at.0,
                policy.idle_minutes,
                policy.absolute_minutes,
            )
        })
        .collect())
}

/// Ends one session: the actor's own, or a member's (OWNER/ADMIN). Returns its owner's id.
pub async fn revoke_session(state: &AppState, actor: &Actor, id: &str) -> AppResult<String> {
    let mut tx = state.db.begin_write().await?;
    let row = store::session(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = if row.user_id == actor.user_id {
        None
    } else {
        Some(member_in_reach(&mut tx, actor, &row.user_id).await?)
    };
    auth_store::delete_session(&mut *tx, &row.id).await?;
    let (browser, os) = super::model::describe_user_agent(&row.user_agent);
    let whose = subject
        .as_ref()
        .map_or_else(String::new, |u| format!(" of {}", u.email));
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::SessionRevoked,
            tenant_id: Some(&row.tenant_id),
            subject_user_id: subject.as_ref().map(|u| u.id.as_str()),
            summary: format!("Ended the session{whose} ({browser} on {os}, {})", row.ip),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.user_id)
}

/// "Sign out everywhere else".
pub async fn revoke_other_sessions(state: &AppState, actor: &Actor) -> AppResult<u64> {
    let mut tx = state.db.begin_write().await?;
    let ended =
        auth_store::delete_user_sessions(&mut tx, &actor.user_id, &actor.session_id).await?;
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::SessionRevoked,
            tenant_id: None,
            subject_user_id: None,
            summary: format!("Signed out {ended} other session(s)"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// An OWNER/ADMIN ends every session of a member of their tenant.
pub async fn end_member_sessions(
    state: &AppState,
    actor: &Actor,
    user_id: &str,
) -> AppResult<(UserRow, u64)> {
    let mut tx = state.db.begin_write().await?;
    let target = member_in_reach(&mut tx, actor, user_id).await?;
    if target.id == actor.user_id {
        return Err(AppError::refused(
            "Use \"Sign out all other sessions\" for your own sessions.",
        ));
    }
    let ended = auth_store::delete_user_sessions(&mut tx, &target.id, "").await?;
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::SessionRevoked,
            tenant_id: Some(&target.tenant_id),
            subject_user_id: Some(&target.id),
            summary: format!("Ended all {ended} session(s) of {}", target.email),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((target, ended))
}

// ---------------------------------------------------------------- API tokens

/// The token form; one checkbox per scope (plain forms send no lists).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct TokenInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub expires_on: String,
    pub scope_read: Option<String>,
    pub scope_write: Option<String>,
    pub scope_admin: Option<String>,
    pub scope_billing: Option<String>,
    pub scope_provisioning: Option<String>,
    pub scope_security: Option<String>,
}

impl TokenInput {
    pub fn scopes(&self) -> Vec<Scope> {
        [
            (Scope::Read, &self.scope_read),
            (Scope::Write, &self.scope_write),
            (Scope::Admin, &self.scope_admin),
            (Scope::Billing, &self.scope_billing),
            (Scope::Provisioning, &self.scope_provisioning),
            (Scope::Security, &self.scope_security),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_some())
        .map(|(s, _)| s)
        .collect()
    }

    pub fn has(&self, scope: &Scope) -> bool {
        self.scopes().contains(scope)
    }
}

pub struct CreatedToken {
    pub id: String,
    /// The only time the token exists outside the client: shown once, never stored.
    pub token: String,
}

pub const MAX_TOKEN_NAME: usize = 80;

pub async fn create_token(
    state: &AppState,
    actor: &Actor,
    input: &TokenInput,
) -> AppResult<CreatedToken> {
    let mut errors = FieldErrors::new();
    let name = model::required_text(&mut errors, "name", &input.name, MAX_TOKEN_NAME);
    let scopes = input.scopes();
    if scopes.is_empty() {
        errors.add("scopes", "Choose at least one scope.");
    } else if let Some(s) = scopes.iter().find(|s| !s.allowed_for(actor.role)) {
        errors.add(
            "scopes",
            format!(
                "Your role ({}) cannot grant the {} scope.",
                actor.role,
                s.as_str()
            ),
        );
    }
    let now = Timestamp::now();
    let expires_at = token_expiry(&input.expires_on, now.0)
        .map_err(|m| errors.add("expires_on", m))
        .unwrap_or(0);
    errors.into_result().map_err(AppError::Invalid)?;

    let generated = crypto::new_api_token();
    let id = new_id();
    let scopes_text = Scope::join(&scopes);
    let mut tx = state.db.begin_write().await?;
    token_store::insert(
        &mut tx,
        &NewToken {
            id: &id,
            tenant_id: &actor.tenant_id,
            user_id: &actor.user_id,
            name: &name,
            token_hash: &generated.hash,
            prefix: &generated.prefix,
            last_four: &generated.last_four,
            scopes: &scopes_text,
            expires_at,
        },
    )
    .await?;
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::TokenCreated,
            tenant_id: None,
            subject_user_id: None,
            summary: format!(
                "Created API token \"{name}\" ({}…{}; {scopes_text}; expires {})",
                generated.prefix,
                generated.last_four,
                Timestamp(expires_at)
            ),
        },
    )
    .await?;
    notify_account_change(
        &mut tx,
        actor,
        &format!("An API token named \"{name}\" was created"),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedToken {
        id,
        token: generated.token,
    })
}

/// Revokes the actor's own token, or (OWNER/ADMIN) a member's.
pub async fn revoke_token(state: &AppState, actor: &Actor, id: &str) -> AppResult<TokenRow> {
    let mut tx = state.db.begin_write().await?;
    let row = token_store::get(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let subject = if row.user_id == actor.user_id {
        None
    } else {
        Some(member_in_reach(&mut tx, actor, &row.user_id).await?)
    };
    if !token_store::revoke(&mut tx, &row.id).await? {
        return Err(AppError::refused("That token was already revoked."));
    }
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::TokenRevoked,
            tenant_id: Some(&row.tenant_id),
            subject_user_id: subject.as_ref().map(|u| u.id.as_str()),
            summary: format!(
                "Revoked API token \"{}\" ({}…{}) of {}",
                row.name, row.prefix, row.last_four, row.user_email
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row)
}

// ---------------------------------------------------------------- tenant policy

pub async fn save_policy(
    state: &AppState,
    actor: &Actor,
    input: &PolicyInput,
) -> AppResult<Policy> {
    save_policy_at(state, actor, input, None).await
}

/// [`save_policy`], only if the policy is still at `version` (from [`Policy::version`], as an
/// API client read it; `*` or `None` for any) once the tenant is locked; otherwise `Stale`.
pub async fn save_policy_at(
    state: &AppState,
    actor: &Actor,
    input: &PolicyInput,
    version: Option<&str>,
) -> AppResult<Policy> {
    if !can_edit_policy(actor) {
        return Err(AppError::Forbidden);
    }
    let client_ip = actor.client.ip.parse().ok();
    let policy = input.validate(client_ip).map_err(AppError::Invalid)?;
    let mut tx = state.db.begin_write().await?;
    // Two editors of one tenant's policy are serialised (PostgreSQL; SQLite already is).
    auth_store::lock_tenant(&mut tx, &actor.tenant_id).await?;
    let before = store::policy(&mut *tx, &actor.tenant_id).await?;
    if let Some(v) = version.map(str::trim)
        && v != "*"
        && v != before.version()
    {
        return Err(AppError::Stale(
            "The security policy changed since you read it: read it again and retry.".into(),
        ));
    }
    store::save_policy(&mut tx, &actor.tenant_id, &policy, &actor.user_id).await?;
    record(
        &mut tx,
        actor,
        SecurityEvent {
            kind: EventKind::PolicyUpdated,
            tenant_id: Some(&actor.tenant_id),
            subject_user_id: None,
            summary: super::policy::describe_change(&before, &policy),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(policy)
}

/// E-mails the account holder about a security-relevant change to their account (password
/// changed, MFA turned off, API token created), inside the change's own transaction.
pub async fn notify_account_change(
    tx: &mut crate::db::Tx,
    actor: &Actor,
    what: &str,
) -> AppResult<()> {
    let when = crate::db::Timestamp::now();
    let mail = crate::mail::OutgoingMail {
        to: actor.email.clone(),
        subject: format!("Security notice: {what}"),
        text_body: format!(
            "Hello {},\n\n{what} on your mPanel account ({}) at {when}.\n\
             From: {} ({})\n\n\
             If this was you, there is nothing to do. If it was not, change your password now \
             and sign out your other sessions under Security, or contact your administrator.\n",
            actor.name, actor.email, actor.client.ip, actor.client.user_agent
        ),
        ..crate::mail::OutgoingMail::default()
    };
    crate::mail::enqueue(tx, &mail).await?;
    Ok(())
}
