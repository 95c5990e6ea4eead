//! The web shell: errors, htmx helpers, layout, flash messages, client info, pagination.

pub mod actions;
pub mod badge;
pub mod client;
pub mod confirm;
pub mod error;
pub mod flash;
pub mod forms;
pub mod layout;
pub mod middleware;
pub mod pagination;
pub mod theme;

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

/// The one check for every redirect target taken from a request (`next`, and any path a
/// redirect is built from): a local path only, else `/`.
///
/// Accepted: a single `/` followed by a character that is neither `/` nor `\`, with no `\`,
/// control character or whitespace anywhere — in the text as given and after
/// percent-decoding (browsers drop a TAB or newline, so `/\t/evil.example` would become the
/// protocol-relative `//evil.example`; CR/LF could not even be put in a header).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if is_local_path(n) => n,
        _ => "/",
    }
}

fn is_local_path(raw: &str) -> bool {
    let mut text = std::borrow::Cow::Borrowed(raw);
    // Decoded until it stops changing (bounded), so double encoding hides nothing.
    for _ in 0..4 {
        let bytes = text.as_bytes();
        let second_ok = bytes.get(1).is_none_or(|b| *b != b'/' && *b != b'\\');
        let clean = !text
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace());
        if !(bytes.first() == Some(&b'/') && second_ok && clean) {
            return false;
        }
        match percent_decode(&text) {
            Some(decoded) if decoded != *text => text = std::borrow::Cow::Owned(decoded),
            Some(_) => return true,
            // Not valid UTF-8 once decoded: nothing a local link of ours looks like.
            None => return false,
        }
    }
    false
}

/// `%XX` → the byte; other text as it is. `None` when the result is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h)? * 16 + hex(l)?) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
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

    #[test]
    fn next_refuses_what_browsers_turn_into_another_host() {
        for bad in [
            "/\t/evil.example",
            "/%09/evil.example",
            "/%2509/evil.example",
            "/%2F/evil.example",
            "/%5cevil.example",
            "/\r\nSet-Cookie: x=1",
            "/%0d%0aSet-Cookie:%20x=1",
            "/\n/x",
            "/ok path",
            "/ok%20path",
            "/%ff",
            "",
            "evil.example",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        for good in [
            "/",
            "/billing/invoices?status=ISSUED&page=2",
            "/users/0190-ab",
            "/a%2Fb",
        ] {
            assert_eq!(safe_next(Some(good)), good);
        }
    }
}
