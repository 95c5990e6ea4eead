//! The security centre: TOTP MFA with recovery codes, second-factor sign-in, sessions, API
//! tokens, the security events log and per-tenant security policy.

pub mod api;
pub mod common_passwords;
pub mod crypto;
pub mod event_store;
pub mod factor;
pub mod gate;
pub mod mfa;
pub mod mfa_pages;
pub mod model;
pub mod pages;
pub mod passkeys;
pub mod policy;
pub mod policy_api;
pub mod posture_store;
pub mod reads;
pub mod service;
pub mod store;
pub mod token_pages;
pub mod token_store;

use axum::Router;
use axum::routing::{get, post};

use crate::actor::{Actor, Role};
use crate::audit::{self, AuditActor, AuditEvent};
use crate::db::{Db, Tx};
use crate::state::AppState;
use model::EventKind;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/security", get(pages::overview))
        .route("/security/mfa", get(mfa_pages::mfa_page))
        .route("/security/mfa/setup", post(mfa_pages::setup))
        .route("/security/mfa/enable", post(mfa_pages::enable))
        .route("/security/mfa/disable", post(mfa_pages::disable))
        .route(
            "/security/mfa/recovery-codes",
            post(mfa_pages::regenerate_codes),
        )
        .route(
            "/security/mfa/passkeys/options",
            post(passkeys::pages::register_options),
        )
        .route("/security/mfa/passkeys", post(passkeys::pages::register))
        .route(
            "/security/mfa/passkeys/{id}/remove",
            post(mfa_pages::remove_passkey),
        )
        .route("/security/sessions", get(pages::sessions))
        .route(
            "/security/sessions/revoke-others",
            post(pages::revoke_other_sessions),
        )
        .route(
            "/security/sessions/{id}/revoke",
            post(pages::revoke_session),
        )
        .route(
            "/security/users/{id}/sessions/revoke",
            post(pages::end_member_sessions),
        )
        .route(
            "/security/tokens",
            get(token_pages::list).post(token_pages::create),
        )
        .route("/security/tokens/{id}/revoke", post(token_pages::revoke))
        .route("/security/events", get(pages::events))
        .route(
            "/security/policy",
            get(pages::policy_form).post(pages::policy_submit),
        )
}

/// The key that encrypts TOTP secrets, derived from the app's secret (see [`crypto`]).
pub fn secret_key(state: &AppState) -> crypto::SecretKey {
    crypto::SecretKey::derive(state.cookie_key.master())
}

/// OWNER/ADMIN see their tenant's security events; staff ADMIN+ see everyone's.
pub fn can_view_events(actor: &Actor) -> bool {
    actor.at_least(Role::Admin)
}

/// OWNER/ADMIN edit their own tenant's policy.
pub fn can_edit_policy(actor: &Actor) -> bool {
    actor.at_least(Role::Admin)
}

/// One security event: what happened, to whom, in which tenant.
pub struct SecurityEvent<'a> {
    pub kind: EventKind,
    /// The tenant it belongs to; defaults to the actor's.
    pub tenant_id: Option<&'a str>,
    /// The user it is about when that is not the actor (a member whose session was ended).
    pub subject_user_id: Option<&'a str>,
    pub summary: String,
}

/// Writes the security event and its audit-log entry in the caller's transaction: one call per
/// action, and both commit or roll back with the change itself.
pub async fn record(
    tx: &mut Tx,
    actor: impl Into<AuditActor<'_>>,
    event: SecurityEvent<'_>,
) -> sqlx::Result<()> {
    let a = actor.into();
    event_store::insert_event(
        tx,
        &event_store::NewEvent {
            tenant_id: event.tenant_id.or(a.tenant_id),
            user_id: a.user_id,
            subject_user_id: event.subject_user_id,
            email: a.email,
            event_type: event.kind.as_str(),
            summary: &event.summary,
            ip: &a.client.ip,
            user_agent: &a.client.user_agent,
        },
    )
    .await?;
    audit::record(
        tx,
        AuditActor {
            tenant_id: a.tenant_id,
            user_id: a.user_id,
            email: a.email,
            client: a.client,
        },
        AuditEvent {
            tenant_id: event.tenant_id,
            action: event.kind.audit_action(),
            target_type: "user",
            target_id: event.subject_user_id.or(a.user_id).unwrap_or(""),
            summary: event.summary,
        },
    )
    .await
}

/// [`record`] in a transaction of its own, for events that change nothing else (a failed
/// sign-in, a refused code).
pub async fn record_now(
    db: &Db,
    actor: impl Into<AuditActor<'_>>,
    event: SecurityEvent<'_>,
) -> sqlx::Result<()> {
    let mut tx = db.begin_write().await?;
    record(&mut tx, actor, event).await?;
    tx.commit().await
}
