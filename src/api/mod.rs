//! `/api/v1`: JSON over bearer API tokens (`Authorization: Bearer mpn_…`).
//!
//! No cookies are read here, so a browser session never authenticates an API call, and the
//! CSRF layer has nothing to protect (it lets requests without Origin/Sec-Fetch-Site through).
//!
//! The conventions every resource follows live here: errors (`error`), who acts and the
//! scope checks (`auth`), cursor paging (`page`), JSON output of instants and amounts
//! (`output`), `Idempotency-Key` (`idempotency`), rate limits (`ratelimit`) and the OpenAPI
//! document with its reference page (`openapi`, `docs`). Features write their own `api.rs`
//! over their service functions and hand their routes and documents to `app.rs`.

use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::{any, get};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

pub mod auth;
pub mod docs;
pub mod error;
pub mod idempotency;
pub mod json;
pub mod openapi;
pub mod output;
pub mod page;
pub mod query;
pub mod ratelimit;

pub use auth::{ApiActor, bearer_auth};
pub use error::ApiError;
pub use json::ApiJson;
pub use output::{ApiMoney, rfc3339};
pub use page::{CursorQuery, Page, PageAt};
pub use query::ApiQuery;

/// `/api/v1`: `/me`, every feature's API routes (`features`, assembled by `app.rs`), a JSON
/// 404 for anything else, all behind the bearer-token check, the token's rate limit and
/// `Idempotency-Key` (in that order).
pub fn routes(state: AppState, features: Router<AppState>) -> Router<AppState> {
    let limiter = Arc::new(ratelimit::RateLimiter::new(
        state.config.api_rate_per_minute,
        state.config.api_rate_burst,
    ));
    Router::new()
        .route("/api/v1/me", get(me))
        .merge(features)
        .route("/api/v1/{*rest}", any(not_found))
        .route_layer(from_fn_with_state(state.clone(), idempotency::idempotency))
        .route_layer(from_fn_with_state(limiter, ratelimit::limit))
        .route_layer(from_fn_with_state(state, bearer_auth))
}

/// The user a token acts for.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub id: String,
    pub email: String,
    pub name: String,
    /// OWNER, ADMIN, BILLING, MEMBER or VIEWER.
    pub role: String,
    /// A member of the operator (platform staff).
    pub staff: bool,
    pub tenant: TenantRef,
    pub token: TokenInfo,
}

#[derive(Serialize, ToSchema)]
pub struct TenantRef {
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenInfo {
    pub id: String,
    /// The token's scopes that its user's role still allows.
    pub scopes: Vec<String>,
    /// RFC 3339, UTC.
    pub expires_at: String,
}

/// Who the token acts for, and what it may do.
#[utoipa::path(
    get,
    path = "/api/v1/me",
    tag = "account",
    description = "Scope: READ.",
    responses((status = 200, description = "The token's user and scopes", body = Me))
)]
pub async fn me(api: ApiActor) -> Result<Json<Me>, ApiError> {
    api.read()?;
    let a = &api.actor;
    Ok(Json(Me {
        id: a.user_id.clone(),
        email: a.email.clone(),
        name: a.name.clone(),
        role: a.role.as_str().to_string(),
        staff: a.is_staff,
        tenant: TenantRef {
            id: a.tenant_id.clone(),
            name: a.tenant_name.clone(),
        },
        token: TokenInfo {
            id: api.token_id.clone(),
            scopes: api.scopes.iter().map(|s| s.as_str().to_string()).collect(),
            expires_at: rfc3339(api.expires_at),
        },
    }))
}

async fn not_found() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::NOT_FOUND,
        "not_found",
        "No such API endpoint.",
    )
}
