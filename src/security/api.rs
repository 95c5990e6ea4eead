//! `/api/v1/security`: the token owner's profile, browser sessions and API tokens, over the
//! same service functions as the security centre's pages. Reading needs READ; every change
//! needs WRITE + SECURITY. A token minting a token grants only scopes it holds itself; the new
//! secret is in the 201 answer only (never kept for an `Idempotency-Key` repeat). The events
//! log and the tenant policy are in `policy_api.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use super::model::{Scope, describe_user_agent};
use super::service::{self, TokenInput};
use super::store::SessionListRow;
use super::token_store::TokenRow;
use super::{passkeys, policy_api, reads};
use crate::api::idempotency::ShownOnce;
use crate::api::{ApiActor, ApiError, ApiJson, rfc3339};
use crate::db::Timestamp;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/security/profile", get(profile))
        .route("/api/v1/security/sessions", get(sessions))
        .route(
            "/api/v1/security/sessions/revoke-others",
            post(revoke_others),
        )
        .route(
            "/api/v1/security/sessions/{id}/revoke",
            post(revoke_session),
        )
        .route("/api/v1/security/tokens", get(tokens).post(create_token))
        .route("/api/v1/security/tokens/{id}/revoke", post(revoke_token))
        .merge(policy_api::routes())
}

#[derive(OpenApi)]
#[openapi(
    paths(profile, sessions, revoke_session, revoke_others, tokens, create_token, revoke_token),
    components(schemas(Profile, Session, SessionList, Revoked, Token, TokenList, NewToken,
        CreatedToken)),
    tags((name = "security", description = "Your profile, sessions, API tokens, the security \
events and the tenant policy"))
)]
struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = Doc::openapi();
    doc.merge(policy_api::openapi());
    doc
}

/// The token's user as the security centre shows them.
#[derive(Serialize, ToSchema)]
pub struct Profile {
    pub id: String,
    pub name: String,
    pub email: String,
    /// OWNER, ADMIN, BILLING, MEMBER or VIEWER.
    pub role: String,
    pub tenant: crate::api::TenantRef,
    /// A second factor is on (an authenticator app or a passkey).
    pub mfa_enabled: bool,
    /// The tenant's policy requires a second factor.
    pub mfa_required: bool,
    /// Unused recovery codes (0 without an authenticator app).
    pub recovery_codes_left: i64,
    /// Registered passkeys.
    pub passkeys: i64,
}

/// The token's user: name, e-mail, role, second factor and passkeys.
#[utoipa::path(get, path = "/api/v1/security/profile", tag = "security",
    description = "Scope: READ.",
    responses((status = 200, description = "The token's user", body = Profile)))]
async fn profile(State(state): State<AppState>, api: ApiActor) -> Result<Json<Profile>, ApiError> {
    api.read()?;
    let a = &api.actor;
    let factors = reads::own_factors(&state.db, a).await?;
    let passkeys = passkeys::service::list(&state, a).await?.len() as i64;
    Ok(Json(Profile {
        id: a.user_id.clone(),
        name: a.name.clone(),
        email: a.email.clone(),
        role: a.role.as_str().to_string(),
        tenant: crate::api::TenantRef {
            id: a.tenant_id.clone(),
            name: a.tenant_name.clone(),
        },
        mfa_enabled: factors.mfa_on,
        mfa_required: factors.mfa_required,
        recovery_codes_left: factors.recovery_codes_left,
        passkeys,
    }))
}

/// A signed-in browser session.
#[derive(Serialize, ToSchema)]
pub struct Session {
    pub id: String,
    pub ip: String,
    pub user_agent: String,
    /// The browser, read from the user agent ("Firefox", …).
    pub browser: String,
    /// The operating system, read from the user agent.
    pub os: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub last_seen_at: String,
}

fn session(r: &SessionListRow) -> Session {
    let (browser, os) = describe_user_agent(&r.user_agent);
    Session {
        id: r.id.clone(),
        ip: r.ip.clone(),
        user_agent: r.user_agent.clone(),
        browser,
        os,
        created_at: rfc3339(r.created_at),
        last_seen_at: rfc3339(r.last_seen_at),
    }
}

/// Every live session (a handful: the list is not paged).
#[derive(Serialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<Session>,
}

/// The token user's live browser sessions, most recently active first.
#[utoipa::path(get, path = "/api/v1/security/sessions", tag = "security",
    description = "Scope: READ. Sessions alive under the server's and the tenant's limits.",
    responses((status = 200, description = "The live sessions", body = SessionList)))]
async fn sessions(
    State(state): State<AppState>,
    api: ApiActor,
) -> Result<Json<SessionList>, ApiError> {
    api.read()?;
    let rows = service::live_sessions(&state, &api.actor, &api.actor.user_id).await?;
    Ok(Json(SessionList {
        items: rows.iter().map(session).collect(),
    }))
}

/// What a revocation ended.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// Sessions ended.
    pub ended: u64,
}

/// Ends one session: the token user's own, or (OWNER/ADMIN) a member's of their tenant. Its
/// browser is signed out on its next request.
#[utoipa::path(post, path = "/api/v1/security/sessions/{id}/revoke", tag = "security",
    description = "Scopes: WRITE + SECURITY. Another tenant's session is 404.",
    params(("id" = String, Path, description = "The session's id")),
    responses((status = 200, description = "The session was ended", body = Revoked)))]
async fn revoke_session(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Revoked>, ApiError> {
    api.write(Scope::Security)?;
    service::revoke_session(&state, &api.actor, &id).await?;
    Ok(Json(Revoked { ended: 1 }))
}

/// Signs the token's user out of every browser session ("sign out everywhere": a token is no
/// session, so none is kept). API tokens are not affected.
#[utoipa::path(post, path = "/api/v1/security/sessions/revoke-others", tag = "security",
    description = "Scopes: WRITE + SECURITY.",
    responses((status = 200, description = "The sessions ended", body = Revoked)))]
async fn revoke_others(
    State(state): State<AppState>,
    api: ApiActor,
) -> Result<Json<Revoked>, ApiError> {
    api.write(Scope::Security)?;
    let ended = service::revoke_other_sessions(&state, &api.actor).await?;
    Ok(Json(Revoked { ended }))
}

/// An API token (never its secret).
#[derive(Serialize, ToSchema)]
pub struct Token {
    pub id: String,
    pub name: String,
    /// Whose token it is.
    pub user_id: String,
    pub user_email: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    pub last_four: String,
    pub scopes: Vec<String>,
    /// ACTIVE, EXPIRED or REVOKED.
    pub status: String,
    /// RFC 3339, UTC.
    pub expires_at: String,
    /// RFC 3339, UTC; absent if never used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_at: Option<String>,
    /// RFC 3339, UTC; absent unless revoked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

fn token(t: &TokenRow, now: &Timestamp) -> Token {
    Token {
        id: t.id.clone(),
        name: t.name.clone(),
        user_id: t.user_id.clone(),
        user_email: t.user_email.clone(),
        prefix: t.prefix.clone(),
        last_four: t.last_four.clone(),
        scopes: Scope::parse_list(&t.scopes)
            .iter()
            .map(|s| s.as_str().to_string())
            .collect(),
        status: t.status(now).to_uppercase(),
        expires_at: rfc3339(t.expires_at),
        last_used_at: t.last_used_at.map(|v| rfc3339(Timestamp(v))),
        revoked_at: t.revoked_at.map(|v| rfc3339(Timestamp(v))),
        created_at: rfc3339(t.created_at),
    }
}

/// The token user's tokens and, for OWNER/ADMIN, their members' (staff ADMIN+: everyone's).
#[derive(Serialize, ToSchema)]
pub struct TokenList {
    /// The token user's own tokens, newest first.
    pub items: Vec<Token>,
    /// Other members' tokens (empty for those who may not see members).
    pub members: Vec<Token>,
}

/// API tokens, newest first.
#[utoipa::path(get, path = "/api/v1/security/tokens", tag = "security",
    description = "Scope: READ.",
    responses((status = 200, description = "The tokens", body = TokenList)))]
async fn tokens(State(state): State<AppState>, api: ApiActor) -> Result<Json<TokenList>, ApiError> {
    api.read()?;
    let lists = reads::tokens(&state.db, &api.actor).await?;
    let now = Timestamp::now();
    Ok(Json(TokenList {
        items: lists.own.iter().map(|t| token(t, &now)).collect(),
        members: lists.members.iter().map(|t| token(t, &now)).collect(),
    }))
}

/// A new token for the token's user.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NewToken {
    /// 1 to 80 characters.
    pub name: String,
    /// The last day it works, `YYYY-MM-DD` (at most a year ahead).
    pub expires_on: String,
    /// READ, WRITE, ADMIN, BILLING, PROVISIONING, SECURITY: only scopes this token holds, and
    /// its user's role allows.
    pub scopes: Vec<String>,
}

/// A new token: its secret is shown here once and never again.
#[derive(Serialize, ToSchema)]
pub struct CreatedToken {
    #[serde(flatten)]
    pub token: Token,
    /// The token itself (`mpn_…`), for `Authorization: Bearer`.
    pub secret: String,
}

/// Creates a token for the token's user. A token grants only scopes it holds itself (403
/// `scope_not_held`). The secret is in this answer only.
#[utoipa::path(post, path = "/api/v1/security/tokens", tag = "security",
    description = "Scopes: WRITE + SECURITY. Grants at most the calling token's own scopes.",
    request_body = NewToken,
    responses((status = 201, description = "The new token and its secret", body = CreatedToken)))]
async fn create_token(
    State(state): State<AppState>,
    api: ApiActor,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<Response, ApiError> {
    api.write(Scope::Security)?;
    let mut scopes = Vec::new();
    for name in &body.scopes {
        let s = Scope::parse(name)
            .ok_or_else(|| ApiError::invalid("scopes", format!("\"{name}\" is not a scope.")))?;
        scopes.push(s);
    }
    api.may_grant(&scopes)?;
    let on = |s: Scope| scopes.contains(&s).then(|| "on".to_string());
    let input = TokenInput {
        name: body.name,
        expires_on: body.expires_on,
        scope_read: on(Scope::Read),
        scope_write: on(Scope::Write),
        scope_admin: on(Scope::Admin),
        scope_billing: on(Scope::Billing),
        scope_provisioning: on(Scope::Provisioning),
        scope_security: on(Scope::Security),
    };
    let created = service::create_token(&state, &api.actor, &input).await?;
    let row = reads::token(&state.db, &api.actor, &created.id).await?;
    let mut res = (
        StatusCode::CREATED,
        Json(CreatedToken {
            token: token(&row, &Timestamp::now()),
            secret: created.token,
        }),
    )
        .into_response();
    res.extensions_mut().insert(ShownOnce);
    Ok(res)
}

/// Revokes a token: the token user's own, or (OWNER/ADMIN) a member's. It is refused from its
/// next request on.
#[utoipa::path(post, path = "/api/v1/security/tokens/{id}/revoke", tag = "security",
    description = "Scopes: WRITE + SECURITY. Another tenant's token is 404; a revoked one 409.",
    params(("id" = String, Path, description = "The token's id")),
    responses((status = 200, description = "The revoked token", body = Token)))]
async fn revoke_token(
    State(state): State<AppState>,
    api: ApiActor,
    Path(id): Path<String>,
) -> Result<Json<Token>, ApiError> {
    api.write(Scope::Security)?;
    service::revoke_token(&state, &api.actor, &id).await?;
    let row = reads::token(&state.db, &api.actor, &id).await?;
    Ok(Json(token(&row, &Timestamp::now())))
}
