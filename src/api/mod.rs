//! `/api/v1`: JSON over bearer API tokens (`Authorization: Bearer mpn_…`).
//!
//! No cookies are read here, so a browser session never authenticates an API call, and the
//! CSRF layer has nothing to protect (it lets requests without Origin/Sec-Fetch-Site through).

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get};
use axum::{Json, Router};
use serde_json::json;

use crate::actor::{Actor, ClientInfo, Role, TenantKind};
use crate::db::Timestamp;
use crate::security::crypto::{plausible_token, sha256_hex};
use crate::security::model::{Scope, ip_allowed_text};
use crate::security::token_store;
use crate::state::AppState;

pub mod json;

pub use json::ApiJson;

/// A JSON error: `{"error": {"code": "...", "message": "...", "field"?: "..."}}` with the
/// matching status.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The request field the error is about, when there is one.
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized(code: &'static str, message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        tracing::error!(error = ?e, "api: database error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The request could not be completed.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let body = Json(json!({ "error": error }));
        let mut res = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = format!("Bearer realm=\"mpanel\", error=\"{}\"", self.code);
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        res
    }
}

/// The user a valid token acts for, and what the token may do.
#[derive(Clone, Debug)]
pub struct ApiActor {
    pub actor: Actor,
    pub token_id: String,
    pub scopes: Vec<Scope>,
    pub expires_at: Timestamp,
}

impl ApiActor {
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

/// `/api/v1`: `/me`, every feature's API routes (`features`, assembled by `app.rs`), a JSON
/// 404 for anything else, all behind the bearer-token check.
pub fn routes(state: AppState, features: Router<AppState>) -> Router<AppState> {
    Router::new()
        .route("/api/v1/me", get(me))
        .merge(features)
        .route("/api/v1/{*rest}", any(not_found))
        .route_layer(from_fn_with_state(state, bearer_auth))
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
        scopes: Scope::parse_list(&row.scopes),
        expires_at: Timestamp(row.expires_at),
    })
}

/// `GET /api/v1/me`: who the token acts for (needs READ).
async fn me(api: ApiActor) -> Result<Json<serde_json::Value>, ApiError> {
    api.require(Scope::Read)?;
    let a = &api.actor;
    Ok(Json(json!({
        "id": a.user_id,
        "email": a.email,
        "name": a.name,
        "role": a.role.as_str(),
        "staff": a.is_staff,
        "tenant": {"id": a.tenant_id, "name": a.tenant_name},
        "token": {
            "id": api.token_id,
            "scopes": api.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            "expires_at": api.expires_at.0,
        },
    })))
}

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such API endpoint.")
}
