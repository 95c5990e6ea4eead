//! The session layers (tower-sessions over our table, axum-login over our users), the
//! per-request [`Actor`], and the redirects every page obeys (first-run setup, forced
//! password change, required MFA, the tenant's IP allowlist).

use std::sync::atomic::Ordering;

use axum::extract::{FromRequestParts, Request, State};

use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};

use super::model::{Actor, ClientInfo, Role, TenantKind};
use super::signin::sessions::{AuthSession, loaded_row};
use super::store;
use crate::db::Timestamp;
use crate::security::gate::{self, Gate};
use crate::state::AppState;
use crate::web::AppError;

/// `__Host-` pins the cookie to this host and path `/`, and requires Secure: only over https.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.config.secure_cookies() {
        "__Host-mpanel_session"
    } else {
        "mpanel_session"
    }
}

const DEVICE_COOKIE: &str = "mpanel_device";

/// tower-sessions (cookie `mpanel_session`, HttpOnly, SameSite=Lax, a browser-session cookie;
/// `__Host-` and Secure over https) over our `sessions` table, and axum-login on top.
pub fn auth_layer(
    state: &AppState,
) -> axum_login::AuthManagerLayer<
    super::signin::sessions::Backend,
    super::signin::sessions::DbSessionStore,
> {
    let store = super::signin::sessions::DbSessionStore::new(
        state.db.clone(),
        state.config.session_ttl_minutes,
        state.config.session_idle_minutes,
    );
    let sessions = tower_sessions::SessionManagerLayer::new(store)
        .with_name(session_cookie_name(state))
        .with_http_only(true)
        // Lax, not Strict: a link from an e-mail to the panel should arrive signed in.
        .with_same_site(tower_sessions::cookie::SameSite::Lax)
        .with_secure(state.config.secure_cookies())
        .with_path("/")
        .with_expiry(tower_sessions::Expiry::OnSessionEnd);
    axum_login::AuthManagerLayerBuilder::new(
        super::signin::sessions::Backend::new(state.db.clone()),
        sessions,
    )
    .build()
}

/// The device id this browser holds for `user_id` (signed, so it cannot be forged).
pub fn device_for(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    email: &str,
) -> Option<String> {
    let jar = SignedCookieJar::from_headers(headers, state.cookie_key.clone());
    let value = jar.get(DEVICE_COOKIE)?.value().to_string();
    let (owner, device) = value.rsplit_once('|')?;
    (owner == email).then(|| device.to_string())
}

pub fn device_cookie(state: &AppState, email: &str) -> SignedCookieJar {
    let device = crate::db::new_id();
    let cookie = Cookie::build((DEVICE_COOKIE, format!("{email}|{device}")))
        .path("/login")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Strict)
        .max_age(time::Duration::days(180))
        .build();
    SignedCookieJar::new(state.cookie_key.clone()).add(cookie)
}

/// Paths that work before setup, before sign-in and during a forced password change.
fn is_public_asset(path: &str) -> bool {
    path.starts_with("/static/")
        || path == "/healthz"
        || path == "/readyz"
        || path == "/favicon.ico"
}

/// Loads the actor for the session cookie and applies the redirects that precede any page.
pub async fn session_layer(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path().to_string();
    if is_public_asset(&path) {
        return next.run(req).await;
    }
    if !state.setup_done.load(Ordering::Relaxed) {
        match store::count_users(&state.db.pool).await {
            Ok(0) if path != "/setup" => return Redirect::to("/setup").into_response(),
            Ok(0) => return next.run(req).await,
            Ok(_) => state.setup_done.store(true, Ordering::Relaxed),
            Err(e) => return AppError::from(e).into_response(),
        }
    }
    let auth = req.extensions().get::<AuthSession>().cloned();
    if let Some(auth) = auth.filter(|a| a.user.is_some()) {
        let client = req
            .extensions()
            .get::<ClientInfo>()
            .cloned()
            .unwrap_or_default();
        match load_actor(&state, &auth.session, client).await {
            Ok(Some((actor, checks))) => {
                if !checks.ip_allowed && path != "/logout" {
                    return gate::ip_refused(&actor.client.ip);
                }
                if actor.must_change_password && !allowed_during_password_change(&path) {
                    return Redirect::to("/account/password").into_response();
                }
                if checks.must_enrol_mfa
                    && !actor.must_change_password
                    && !gate::allowed_while_enrolling(&path)
                {
                    return Redirect::to("/security/mfa").into_response();
                }
                req.extensions_mut().insert(actor);
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    next.run(req).await
}

fn allowed_during_password_change(path: &str) -> bool {
    path == "/account/password" || path == "/logout"
}

/// The actor behind the request's signed-in session (the store read its row with the
/// record), with what the tenant policy says about this request. A session past its
/// tenant's own (stricter) limits ends here.
async fn load_actor(
    state: &AppState,
    session: &tower_sessions::Session,
    client: ClientInfo,
) -> Result<Option<(Actor, Gate)>, AppError> {
    let now = Timestamp::now();
    let Some(row) = loaded_row(session).await else {
        return Ok(None);
    };
    if gate::session_outlived_policy(&row, now) {
        session
            .flush()
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
        return Ok(None);
    }
    let checks = Gate::for_session(&row, &client.ip);
    // Writing last-seen on every request would make each page view a write; once a minute
    // is precise enough for idle timeouts and the sessions list.
    if now.0 - row.last_seen_at.0 > 60_000 {
        store::touch_session(&state.db.pool, &row.id, now).await?;
    }
    let role: Role = row.role;
    let actor = Actor {
        user_id: row.user_id,
        email: row.email,
        name: row.name,
        tenant_id: row.tenant_id,
        tenant_name: row.tenant_name,
        role,
        is_staff: row.tenant_kind == TenantKind::Operator,
        session_id: row.id,
        must_change_password: row.must_change_password == 1,
        client,
    };
    Ok(Some((actor, checks)))
}

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = AppError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Actor, AppError> {
        parts
            .extensions
            .get::<Actor>()
            .cloned()
            .ok_or(AppError::Unauthenticated)
    }
}

/// The actor when signed in, for pages that also serve visitors.
pub struct MaybeActor(pub Option<Actor>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeActor {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<MaybeActor, Self::Rejection> {
        Ok(MaybeActor(parts.extensions.get::<Actor>().cloned()))
    }
}
