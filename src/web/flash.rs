//! One-shot messages carried across a redirect in a signed cookie.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, SameSite, SignedCookieJar};

use crate::state::AppState;

const COOKIE: &str = "mpanel_flash";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flash {
    /// "success" or "error": also shown as text, not only as a colour.
    pub kind: &'static str,
    pub message: String,
}

impl Flash {
    pub fn is_error(&self) -> bool {
        self.kind == "error"
    }
}

/// 303 to `to` (a local path: anything else goes to `/`, see [`super::safe_next`]), showing
/// `message` on the next page.
pub fn redirect_with(state: &AppState, to: &str, kind: &'static str, message: &str) -> Response {
    let cookie = Cookie::build((COOKIE, format!("{kind}:{message}")))
        .path("/")
        .http_only(true)
        .secure(state.config.secure_cookies())
        .same_site(SameSite::Lax)
        .build();
    let jar = SignedCookieJar::new(state.cookie_key.clone()).add(cookie);
    (jar, Redirect::to(super::safe_next(Some(to)))).into_response()
}

pub fn success(state: &AppState, to: &str, message: &str) -> Response {
    redirect_with(state, to, "success", message)
}

/// Reads the flash cookie into the request; clears it once a page (not a redirect) is served.
pub async fn flash_layer(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let jar = SignedCookieJar::from_headers(req.headers(), state.cookie_key.clone());
    let flash = jar.get(COOKIE).and_then(|c| {
        let (kind, message) = c.value().split_once(':')?;
        let kind = if kind == "error" { "error" } else { "success" };
        Some(Flash {
            kind,
            message: message.to_string(),
        })
    });
    let had_cookie = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.contains(COOKIE)));
    if let Some(f) = flash {
        req.extensions_mut().insert(f);
    }
    let mut res = next.run(req).await;
    let sets_new = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|v| v.to_str().is_ok_and(|s| s.starts_with(COOKIE)));
    if had_cookie && !sets_new && !res.status().is_redirection() {
        res.headers_mut().append(
            header::SET_COOKIE,
            HeaderValue::from_static("mpanel_flash=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
        );
    }
    res
}
