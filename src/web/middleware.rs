//! Cross-cutting layers: error pages, security headers, CSRF rejection, request ids.

use askama::Template;
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::Hx;
use super::error::ErrorPage;
use super::layout::Layout;

#[derive(Template)]
#[template(path = "errors/page.html")]
struct ErrorPageTemplate<'a> {
    layout: Layout,
    status: u16,
    title: &'a str,
    message: &'a str,
}

#[derive(Template)]
#[template(path = "errors/toast.html")]
struct ErrorToastTemplate<'a> {
    title: &'a str,
    message: &'a str,
}

/// Turns a response carrying an [`ErrorPage`] into a full page, or, for htmx, a toast that is
/// retargeted into the page's `#toasts` region.
pub async fn render_error_pages(req: Request, next: Next) -> Response {
    let hx = Hx::from_headers(req.headers());
    // Refused before the page routes (CSRF, body limit, NUL): no layout, but the chosen theme.
    let theme = super::theme::Theme::from_headers(req.headers());
    let is_api = req.uri().path().starts_with("/api/v1/");
    let res = next.run(req).await;
    let Some(page) = res.extensions().get::<ErrorPage>().cloned() else {
        return res;
    };
    // The JSON API answers in its own error shape (`api::ApiError`), even for what is
    // refused before its routes (a NUL in the query, a panic).
    if is_api {
        let status = res.status();
        let code = match status.as_u16() {
            400 => "bad_request",
            403 => "forbidden",
            404 => "not_found",
            413 => "too_large",
            s if s >= 500 => "internal",
            _ => "refused",
        };
        let body = serde_json::json!({"error": {"code": code, "message": page.message}});
        return (status, axum::Json(body)).into_response();
    }
    // The signed-in shell (navigation, Sign out), if `attach_layout` saw who is asking.
    let layout = res
        .extensions()
        .get::<Layout>()
        .cloned()
        .unwrap_or_else(|| Layout {
            theme,
            ..Layout::default()
        });
    let (mut parts, _) = res.into_parts();
    let html = if hx.wants_fragment() {
        parts
            .headers
            .insert("HX-Retarget", HeaderValue::from_static("#toasts"));
        parts
            .headers
            .insert("HX-Reswap", HeaderValue::from_static("beforeend"));
        ErrorToastTemplate {
            title: page.title,
            message: &page.message,
        }
        .render()
    } else {
        ErrorPageTemplate {
            layout,
            status: parts.status.as_u16(),
            title: page.title,
            message: &page.message,
        }
        .render()
    };
    let body = html.unwrap_or_else(|_| page.message.clone());
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body.into())
}

/// Inside the session layer: an error response carries the layout of the actor who asked
/// (their navigation and Sign out), so `render_error_pages`, which runs outside the session
/// layer, can show the error inside the shell.
pub async fn attach_layout(req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let layout = match Layout::from_request_parts(&mut parts, &()).await {
        Ok(l) => l,
        Err(never) => match never {},
    };
    let mut res = next.run(Request::from_parts(parts, body)).await;
    if res.extensions().get::<ErrorPage>().is_some() {
        res.extensions_mut().insert(Layout {
            flash: None,
            ..layout
        });
    }
    res
}

/// The response for a cross-site POST refused by the CSRF layer.
pub fn csrf_rejection(_err: tower_http::csrf::ProtectionError) -> Response {
    let mut res = StatusCode::FORBIDDEN.into_response();
    res.extensions_mut().insert(ErrorPage {
        title: "Request refused",
        message: "This form was sent from another site, so it was refused. Reload the page and try again."
            .into(),
    });
    res
}

/// A panic inside a handler becomes a logged 500 page; the process keeps serving.
pub fn panic_response(_panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let mut res = StatusCode::INTERNAL_SERVER_ERROR.into_response();
    res.extensions_mut().insert(ErrorPage {
        title: "Something went wrong",
        message: "The panel could not complete this request. It has been logged; please try again."
            .into(),
    });
    res
}

/// Strict CSP: scripts and styles only from our own origin, no inline code, no eval.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The CSP of a page whose form is redirected to another origin (a payment page): `origin`
/// added to `form-action`. `None` for an origin that is not a plain origin.
pub fn csp_with_form_target(origin: &str) -> Option<HeaderValue> {
    let origin = origin.trim().trim_end_matches('/');
    if origin.is_empty()
        || !origin.is_ascii()
        || origin.contains([';', ',', ' ', '\'', '"'])
        || !(origin.starts_with("https://") || origin.starts_with("http://"))
    {
        return None;
    }
    let csp = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'",
        &format!("form-action 'self' {origin}"),
    );
    HeaderValue::from_str(&csp).ok()
}

pub fn security_headers() -> Vec<(HeaderName, HeaderValue)> {
    vec![
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        ),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ),
        (
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        ),
    ]
}

/// PostgreSQL cannot store a NUL character in text, and no field of ours legitimately holds one,
/// so a request carrying one (in its URL or form body) is answered 400 here, in one place,
/// instead of failing deep inside a query.
pub async fn reject_nul_bytes(req: Request, next: Next) -> Response {
    let bad_uri = req.uri().to_string().contains("%00");
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if bad_uri {
        return nul_rejection();
    }
    if !is_form {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    // The body limit layer outside this one caps what can be buffered here.
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(_) => return StatusCode::PAYLOAD_TOO_LARGE.into_response(),
    };
    if bytes.contains(&0) || bytes.windows(3).any(|w| w == b"%00") {
        return nul_rejection();
    }
    next.run(Request::from_parts(parts, bytes.into())).await
}

fn nul_rejection() -> Response {
    let mut res = StatusCode::BAD_REQUEST.into_response();
    res.extensions_mut().insert(ErrorPage {
        title: "Bad request",
        message: "The request contained a NUL character, which is never valid here.".into(),
    });
    res
}
