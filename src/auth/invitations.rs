//! Service actions on invitations: one function per user action (permission, validation,
//! transaction, audit entry, mail). The inviter always gets the same answer, whether or not the
//! address already has an account somewhere: that is what keeps this from being an e-mail
//! oracle. An address with an account gets a notice instead of a link, and nothing is created
//! for it but the (unusable) invitation row, which lists like any other.

use super::invite_model::{self, InvitationState};
use super::invite_store::{self, InvitationRow, NewInvitation};
use super::model::{self, Actor, ClientInfo, Role};
use super::password::hash_password;
use super::service::{new_session_token, session_id_for};
use super::store::{self, NewUser};
use crate::audit::{self, AuditActor, AuditEvent};
use crate::db::{Db, Timestamp, Tx, is_unique_violation, new_id};
use crate::mail::{self, OutgoingMail};
use crate::web::{AppError, AppResult, FieldErrors};

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct InviteInput {
    /// Staff choose the tenant; a customer's invitations always go to their own.
    #[serde(default)]
    pub tenant_id: String,
    #[serde(default)]
    pub email: String,
    /// Optional: the invitee can set or correct it when accepting.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub role: String,
}

/// Invites `input.email` to a tenant; returns the normalised address for the answer
/// "Invitation sent to …", which is the same whether or not the address has an account.
/// A second invitation to an address with an open one renews it (new link, new expiry).
pub async fn invite(
    db: &Db,
    actor: &Actor,
    input: &InviteInput,
    base_url: &str,
) -> AppResult<String> {
    let tenant_id = if actor.is_staff && !input.tenant_id.is_empty() {
        input.tenant_id.clone()
    } else {
        actor.tenant_id.clone()
    };
    if !actor.can_manage_members_of(&tenant_id) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::new();
    let email = model::normalize_email(&input.email)
        .map_err(|m| errors.add("email", m))
        .unwrap_or_default();
    let name = input.name.trim().to_string();
    if !name.is_empty() {
        model::required_text(&mut errors, "name", &name, model::MAX_NAME);
    }
    let role = match input.role.parse::<Role>() {
        Ok(r) if r > actor.role => {
            errors.add("role", "You cannot grant a role above your own.");
            r
        }
        Ok(r) => r,
        Err(()) => {
            errors.add("role", "Choose a role.");
            Role::Viewer
        }
    };
    let tenant = store::get_tenant(&db.pool, &actor.scope(), &tenant_id).await?;
    let Some(tenant) = tenant else {
        errors.add("tenant_id", "Choose a tenant.");
        return Err(AppError::Invalid(errors));
    };
    errors.into_result().map_err(AppError::Invalid)?;

    let mut tx = db.begin_write().await?;
    let open = invite_store::find_open(&mut tx, &tenant_id, &email).await?;
    let invitation = Invitation {
        tenant_id: &tenant_id,
        tenant_name: &tenant.name,
        email: &email,
        name: &name,
        role,
    };
    let id = send(&mut tx, actor, &invitation, open.as_deref(), base_url).await?;
    let (action, verb) = if open.is_some() {
        ("invitation.resent", "Invited again")
    } else {
        ("invitation.created", "Invited")
    };
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&tenant_id),
            action,
            target_type: "invitation",
            target_id: &id,
            summary: format!("{verb} {email} as {role}"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(email)
}

/// What an invitation offers, for [`send`].
struct Invitation<'a> {
    tenant_id: &'a str,
    tenant_name: &'a str,
    email: &'a str,
    name: &'a str,
    role: Role,
}

/// Stores a fresh token (new row, or renewing `existing`) and enqueues the mail: the link when
/// the address has no account, a notice when it has one. Both paths do the same queries.
async fn send(
    tx: &mut Tx,
    actor: &Actor,
    inv: &Invitation<'_>,
    existing: Option<&str>,
    base_url: &str,
) -> AppResult<String> {
    let (token, token_hash) = new_session_token();
    let now = Timestamp::now();
    let expires_at = invite_model::expiry_from(now.0);
    let id = existing.map_or_else(new_id, str::to_string);
    let row = NewInvitation {
        id: &id,
        tenant_id: inv.tenant_id,
        email: inv.email,
        name: inv.name,
        role: inv.role.as_str(),
        token_hash: &token_hash,
        invited_by: &actor.user_id,
        invited_by_email: &actor.email,
        expires_at,
        now: now.0,
    };
    if existing.is_some() {
        if invite_store::renew(tx, &row).await? == 0 {
            return Err(AppError::refused(
                "This invitation was accepted or revoked meanwhile.",
            ));
        }
    } else if let Err(e) = invite_store::insert(tx, &row).await {
        return Err(if is_unique_violation(&e) {
            AppError::refused("An invitation to this address was sent just now: try again.")
        } else {
            e.into()
        });
    }
    let has_account = invite_store::email_has_account(tx, inv.email).await?;
    let inviter = format!("{} ({})", actor.name, actor.email);
    let greeting = if inv.name.is_empty() {
        "Hello".to_string()
    } else {
        format!("Hello {}", inv.name)
    };
    let text_body = if has_account {
        format!(
            "{greeting},\n\n{inviter} tried to invite this address to {tenant} on mPanel.\n\n\
             This address already has an mPanel account, and an address can belong to one \
             organisation only, so nothing was created and you do not need to do anything.\n\
             To join {tenant}, ask them to invite a different address.\n\n\
             If you did not expect this message, you can ignore it.\n",
            tenant = inv.tenant_name
        )
    } else {
        format!(
            "{greeting},\n\n{inviter} invited you to join {tenant} on mPanel as {role}.\n\n\
             Choose your password with this link. It works once, until {expires}:\n\n\
             {base_url}/invite/{token}\n\n\
             If you did not expect this invitation, you can ignore it.\n",
            tenant = inv.tenant_name,
            role = inv.role,
            expires = Timestamp(expires_at),
        )
    };
    let mail = OutgoingMail {
        to: inv.email.to_string(),
        subject: format!("Invitation to {} on mPanel", inv.tenant_name),
        text_body,
        ..OutgoingMail::default()
    };
    mail::enqueue(tx, &mail).await?;
    Ok(id)
}

/// Loads an open invitation the actor may manage: another tenant's is 404, a role above the
/// actor's is refused.
async fn open_for_change(tx: &mut Tx, actor: &Actor, id: &str) -> AppResult<(InvitationRow, Role)> {
    let row = invite_store::get(tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !actor.can_manage_members_of(&row.tenant_id) {
        return Err(AppError::Forbidden);
    }
    if row.accepted_at.is_some() || row.revoked_at.is_some() {
        return Err(AppError::refused(
            "This invitation has already been accepted or revoked.",
        ));
    }
    let role: Role = row.role;
    if role > actor.role {
        return Err(AppError::refused(
            "You cannot change an invitation for a role above your own.",
        ));
    }
    Ok((row, role))
}

/// Sends a new link with a new expiry; the previous link stops working.
pub async fn resend(db: &Db, actor: &Actor, id: &str, base_url: &str) -> AppResult<String> {
    let mut tx = db.begin_write().await?;
    let (row, role) = open_for_change(&mut tx, actor, id).await?;
    let invitation = Invitation {
        tenant_id: &row.tenant_id,
        tenant_name: &row.tenant_name,
        email: &row.email,
        name: &row.name,
        role,
    };
    send(&mut tx, actor, &invitation, Some(&row.id), base_url).await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&row.tenant_id),
            action: "invitation.resent",
            target_type: "invitation",
            target_id: &row.id,
            summary: format!("Invited {} again as {role}", row.email),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.email)
}

/// Withdraws an invitation: its link stops working.
pub async fn revoke(db: &Db, actor: &Actor, id: &str) -> AppResult<String> {
    let mut tx = db.begin_write().await?;
    let (row, role) = open_for_change(&mut tx, actor, id).await?;
    invite_store::revoke(&mut tx, &row.id, Timestamp::now().0).await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&row.tenant_id),
            action: "invitation.revoked",
            target_type: "invitation",
            target_id: &row.id,
            summary: format!("Revoked the invitation of {} as {role}", row.email),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(row.email)
}

/// The pending invitation behind a link, or `None` when the link is unknown, used, revoked or
/// expired (all answered alike).
pub async fn pending_by_token(db: &Db, token: &str) -> AppResult<Option<InvitationRow>> {
    if !invite_model::plausible_token(token) {
        return Ok(None);
    }
    let row = invite_store::by_token(&db.pool, &session_id_for(token)).await?;
    Ok(row.filter(|r| is_pending(r, Timestamp::now())))
}

fn is_pending(r: &InvitationRow, now: Timestamp) -> bool {
    InvitationState::at(r.expires_at, r.accepted_at, r.revoked_at, now.0).usable()
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct AcceptInput {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub confirm: String,
}

pub enum Accepted {
    /// The account exists: the invitee can sign in with `email`.
    Done { email: String },
    /// Unknown, used, revoked or expired link.
    LinkInvalid,
}

/// Creates the invitee's account from a pending link, with the password they chose (the
/// tenant's password policy applies), and uses the link up.
pub async fn accept(
    db: &Db,
    client: &ClientInfo,
    token: &str,
    input: &AcceptInput,
) -> AppResult<Accepted> {
    let Some(inv) = pending_by_token(db, token).await? else {
        return Ok(Accepted::LinkInvalid);
    };
    let mut errors = FieldErrors::new();
    let name = model::required_text(&mut errors, "name", &input.name, model::MAX_NAME);
    let rules = crate::security::store::policy(&db.pool, &inv.tenant_id)
        .await?
        .password_rules();
    if let Some(p) = model::password_problem(&input.password, &inv.email, &rules) {
        errors.add("password", p);
    } else if input.password != input.confirm {
        errors.add("confirm", "The two passwords differ.");
    }
    errors.into_result().map_err(AppError::Invalid)?;

    let hash = hash_password(input.password.clone()).await?;
    let user_id = new_id();
    let mut tx = db.begin_write().await?;
    // Checked again inside the transaction: the link may have been used or revoked meanwhile.
    let current = invite_store::by_token(&mut *tx, &session_id_for(token)).await?;
    let Some(inv) = current.filter(|r| is_pending(r, Timestamp::now())) else {
        return Ok(Accepted::LinkInvalid);
    };
    let inserted = store::insert_user(
        &mut tx,
        &NewUser {
            id: &user_id,
            tenant_id: &inv.tenant_id,
            email: &inv.email,
            name: &name,
            password_hash: &hash,
            role: inv.role.as_str(),
            must_change_password: false,
        },
    )
    .await;
    match inserted {
        // The address got an account elsewhere since: this link can no longer be used.
        Err(e) if is_unique_violation(&e) => return Ok(Accepted::LinkInvalid),
        Err(e) => return Err(e.into()),
        Ok(()) => {}
    }
    if invite_store::mark_accepted(&mut tx, &inv.id, &user_id, Timestamp::now().0).await? == 0 {
        return Ok(Accepted::LinkInvalid);
    }
    let who = AuditActor {
        tenant_id: Some(&inv.tenant_id),
        user_id: Some(&user_id),
        email: &inv.email,
        client,
    };
    audit::record(
        &mut tx,
        who,
        AuditEvent {
            tenant_id: Some(&inv.tenant_id),
            action: "invitation.accepted",
            target_type: "user",
            target_id: &user_id,
            summary: format!(
                "{} accepted the invitation to {} as {}",
                inv.email, inv.tenant_name, inv.role
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Accepted::Done { email: inv.email })
}
