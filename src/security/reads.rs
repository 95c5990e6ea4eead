//! What people read in the security centre (their tokens and recent events, the events log,
//! the policy form) and the tenant password rules other features' pages show. Each read makes
//! the permission decision and reads in the actor's scope.

use super::event_store::{self, EventFilter, EventRow};
use super::model::PasswordRules;
use super::policy::Policy;
use super::store::SessionListRow;
use super::token_store::{self, TokenRow};
use super::{can_edit_policy, can_view_events, store};
use crate::actor::Actor;
use crate::db::{Db, Timestamp};
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult};

/// A tenant's password rules (the defaults when it has no policy row), e.g. for the minimum
/// length a password form shows.
pub async fn password_rules(db: &Db, tenant_id: &str) -> AppResult<PasswordRules> {
    Ok(store::policy(&db.pool, tenant_id).await?.password_rules())
}

/// The actor's own tenant policy, for its edit form (OWNER/ADMIN).
pub async fn policy_for_edit(db: &Db, actor: &Actor) -> AppResult<Policy> {
    if !can_edit_policy(actor) {
        return Err(AppError::Forbidden);
    }
    Ok(store::policy(&db.pool, &actor.tenant_id).await?)
}

/// How many of the actor's own API tokens are usable now.
pub async fn active_token_count(db: &Db, actor: &Actor) -> AppResult<usize> {
    let now = Timestamp::now();
    Ok(token_store::list(&db.pool, &actor.scope(), &actor.user_id)
        .await?
        .iter()
        .filter(|t| t.is_active(&now))
        .count())
}

/// The actor's own latest security events.
pub async fn recent_own_events(db: &Db, actor: &Actor, limit: i64) -> AppResult<Vec<EventRow>> {
    Ok(event_store::recent_user_events(&db.pool, &actor.user_id, limit).await?)
}

/// The tokens page's lists: the actor's own tokens, and other members' tokens for those who
/// may see members (their tenant; staff ADMIN+ everyone).
pub struct TokenLists {
    pub own: Vec<TokenRow>,
    pub members: Vec<TokenRow>,
    pub show_members: bool,
}

pub async fn tokens(db: &Db, actor: &Actor) -> AppResult<TokenLists> {
    let scope = actor.scope();
    let own = token_store::list(&db.pool, &scope, &actor.user_id).await?;
    let show_members = actor.can_view_members();
    let members = if show_members {
        token_store::list(&db.pool, &scope, "")
            .await?
            .into_iter()
            .filter(|t| t.user_id != actor.user_id)
            .collect()
    } else {
        Vec::new()
    };
    Ok(TokenLists {
        own,
        members,
        show_members,
    })
}

/// The security events log, one page (OWNER/ADMIN their tenant, staff everyone). The
/// filter's scope is the actor's.
#[derive(Clone, Copy)]
pub struct EventsQuery<'a> {
    pub event_type: &'a str,
    pub user: &'a str,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// After this `(created_at, id)`: the API's cursor (`None` on the pages).
    pub after: Option<(i64, &'a str)>,
}

pub async fn events(
    db: &Db,
    actor: &Actor,
    q: &EventsQuery<'_>,
    req: PageRequest,
) -> AppResult<(Vec<EventRow>, i64)> {
    if !can_view_events(actor) {
        return Err(AppError::Forbidden);
    }
    let scope = actor.scope();
    let filter = EventFilter {
        scope: &scope,
        event_type: q.event_type,
        user: q.user,
        from: q.from,
        until: q.until,
        after: q.after,
    };
    Ok(event_store::list_events(&db.pool, &filter, req.size, req.offset()).await?)
}

/// What the actor's own security checklist needs: second factor on, recovery codes left (0
/// when it is off), and whether the tenant's policy requires a second factor.
pub struct OwnFactors {
    pub mfa_on: bool,
    pub recovery_codes_left: i64,
    pub mfa_required: bool,
}

pub async fn own_factors(db: &Db, actor: &Actor) -> AppResult<OwnFactors> {
    let totp_on = store::mfa(&db.pool, &actor.user_id)
        .await?
        .is_some_and(|m| m.enabled == 1);
    // A passkey is a second factor too (recovery codes come only with the app).
    let mfa_on =
        totp_on || super::passkeys::store::count_for_user(&db.pool, &actor.user_id).await? > 0;
    let recovery_codes_left = if totp_on {
        store::unused_recovery_codes(&db.pool, &actor.user_id).await?
    } else {
        0
    };
    let mfa_required = store::policy(&db.pool, &actor.tenant_id).await?.require_mfa;
    Ok(OwnFactors {
        mfa_on,
        recovery_codes_left,
        mfa_required,
    })
}

/// One session in the actor's scope, for the question before ending it (404 out of scope;
/// ending it checks who may).
pub async fn session(db: &Db, actor: &Actor, id: &str) -> AppResult<SessionListRow> {
    store::session(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

/// One API token in the actor's scope, for the question before revoking it (404 out of
/// scope; revoking checks who may).
pub async fn token(db: &Db, actor: &Actor, id: &str) -> AppResult<TokenRow> {
    token_store::get(&db.pool, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}
