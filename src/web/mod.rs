//! The web shell: errors, htmx helpers, layout, flash messages, client info, pagination.

pub mod actions;
pub mod client;
pub mod error;
pub mod flash;
pub mod forms;
pub mod layout;
pub mod middleware;
pub mod pagination;

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::Html;

pub use error::{AppError, AppResult};
pub use forms::FieldErrors;
pub use layout::Layout;

/// htmx request headers. A fragment is answered for `HX-Request` unless the request is
/// boosted (a boosted link or form expects a whole page).
#[derive(Clone, Copy, Debug, Default)]
pub struct Hx {
    pub request: bool,
    pub boosted: bool,
}

impl Hx {
    pub fn wants_fragment(self) -> bool {
        self.request && !self.boosted
    }

    pub fn from_headers(headers: &axum::http::HeaderMap) -> Hx {
        Hx {
            request: headers.contains_key("hx-request"),
            boosted: headers.contains_key("hx-boosted"),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Hx {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Hx, Self::Rejection> {
        Ok(Hx::from_headers(&parts.headers))
    }
}

/// Renders a template; a render failure is an internal error, never a panic.
pub fn render<T: Template>(template: &T) -> AppResult<Html<String>> {
    template
        .render()
        .map(Html)
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

/// Full page, or only its `main` block for an htmx request. The page template declares
/// `blocks = ["main"]`, so the fragment is the same markup the page embeds.
#[macro_export]
macro_rules! page {
    ($hx:expr, $template:expr) => {{
        let t = $template;
        if $hx.wants_fragment() {
            $crate::web::render(&t.as_main())
        } else {
            $crate::web::render(&t)
        }
    }};
}

/// Only local paths are accepted as a post-login destination (no open redirect).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_local_only() {
        assert_eq!(safe_next(Some("/users?page=2")), "/users?page=2");
        assert_eq!(safe_next(Some("//evil.example")), "/");
        assert_eq!(safe_next(Some("https://evil.example")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
