//! Who an API request acts for: the bearer token, its user and tenant, and its scopes.
//!
//! Scopes are enforced here, the same way for every resource: READ for a GET; every change
//! needs WRITE plus the area's scope (BILLING, PROVISIONING, SECURITY, ADMIN). A token never
//! does more than its user's role allows *today*: a scope the user's current role would not
//! be granted is dropped when the token is read, and the service functions check the role
//! again as they do for the pages.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::actor::{Actor, ClientInfo, Role, TenantKind};
use crate::db::Timestamp;
use crate::security::crypto::{plausible_token, sha256_hex};
use crate::security::model::{Scope, ip_allowed_text};
use crate::security::token_store;
use crate::state::AppState;

/// The user a valid token acts for, and what the token may do.
#[derive(Clone, Debug)]
pub struct ApiActor {
    pub actor: Actor,
    pub token_id: String,
    /// The token's scopes that its user's current role still allows.
    pub scopes: Vec<Scope>,
    pub expires_at: Timestamp,
}

impl ApiActor {
    /// One scope, alone (e.g. READ for a GET).
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        if self.scopes.contains(&scope) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "insufficient_scope",
                format!("This token lacks the {} scope.", scope.as_str()),
            ))
        }
    }

    /// Reading: the READ scope.
    pub fn read(&self) -> Result<(), ApiError> {
        self.require(Scope::Read)
    }

    /// A change in `area` (BILLING, PROVISIONING, SECURITY or ADMIN): WRITE and the area's
    /// scope.
    pub fn write(&self, area: Scope) -> Result<(), ApiError> {
        self.require(Scope::Write)?;
        self.require(area)
    }

    /// A token minting a token: it may grant only scopes it holds itself (its user's role is
    /// checked again by the service).
    pub fn may_grant(&self, scopes: &[Scope]) -> Result<(), ApiError> {
        match scopes.iter().find(|s| !self.scopes.contains(s)) {
            None => Ok(()),
            Some(s) => Err(ApiError::forbidden(
                "scope_not_held",
                format!(
                    "This token cannot grant the {} scope: it does not hold it.",
                    s.as_str()
                ),
            )
            .with_field("scopes")),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for ApiActor {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<ApiActor, ApiError> {
        parts
            .extensions
            .get::<ApiActor>()
            .cloned()
            .ok_or_else(|| ApiError::unauthorized("invalid_token", "A bearer token is required."))
    }
}

/// Resolves the bearer token: unknown, revoked or expired tokens and inactive users are 401;
/// a request from outside the tenant's allowlist, or by a user who must enrol in MFA, is 403.
pub async fn bearer_auth(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let authorization = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let client = req
        .extensions()
        .get::<ClientInfo>()
        .cloned()
        .unwrap_or_default();
    match authenticate(&state, authorization.as_deref(), client).await {
        Ok(actor) => {
            req.extensions_mut().insert(actor);
            let mut res = next.run(req).await;
            res.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => e.into_response(),
    }
}

async fn authenticate(
    state: &AppState,
    authorization: Option<&str>,
    client: ClientInfo,
) -> Result<ApiActor, ApiError> {
    let invalid = || {
        ApiError::unauthorized(
            "invalid_token",
            "The token is missing, unknown, revoked or expired.",
        )
    };
    let token = authorization
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .ok_or_else(invalid)?;
    if !plausible_token(token) {
        return Err(invalid());
    }
    let row = token_store::bearer(&state.db.pool, &sha256_hex(token))
        .await?
        .ok_or_else(invalid)?;
    let now = Timestamp::now();
    if row.revoked_at.is_some() || row.expires_at <= now.0 || row.active != 1 {
        return Err(invalid());
    }
    if !ip_allowed_text(&row.ip_allowlist, &client.ip) {
        return Err(ApiError::forbidden(
            "ip_not_allowed",
            format!(
                "Your organisation does not allow API access from {}.",
                client.ip
            ),
        ));
    }
    if row.require_mfa == 1 && row.mfa_enabled == 0 {
        return Err(ApiError::forbidden(
            "mfa_required",
            "Your organisation requires two-factor authentication: enrol at /security/mfa.",
        ));
    }
    // Last use to the minute: a write per request would cost more than the lookup itself.
    if row.last_used_at.is_none_or(|t| now.0 - t > 60_000) {
        token_store::touch(&state.db.pool, &row.token_id, now).await?;
    }
    let role: Role = row.role;
    let scopes = Scope::parse_list(&row.scopes)
        .into_iter()
        .filter(|s| s.allowed_for(role))
        .collect();
    Ok(ApiActor {
        actor: Actor {
            user_id: row.user_id,
            email: row.email,
            name: row.name,
            tenant_id: row.tenant_id,
            tenant_name: row.tenant_name,
            role,
            is_staff: row.tenant_kind == TenantKind::Operator,
            session_id: String::new(),
            must_change_password: false,
            client,
        },
        token_id: row.token_id,
        scopes,
        expires_at: Timestamp(row.expires_at),
    })
}
