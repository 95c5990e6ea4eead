//! `/static`: vendored htmx and CSS, served from the binary so a release build runs from any
//! directory (and the Docker image needs no asset folder).
//!
//! Each asset is served at a fingerprinted URL with a hash of its bytes in the name
//! (`/static/app.3f2a9c1d.css`, see [`url`]) and cached for a year as `immutable`: a new
//! release changes the URL, never the bytes behind one. The plain URL (`/static/app.css`)
//! keeps working with a short cache (an hour) for anything that links it directly.

use std::borrow::Cow;
use std::sync::LazyLock;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use sha2::{Digest, Sha256};

const FILES: &[(&str, &str, &[u8])] = &[
    (
        "/vendor/htmx.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/vendor/htmx.min.js"),
    ),
    (
        "/vendor/pico.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/vendor/pico.min.css"),
    ),
    (
        "/app.css",
        "text/css; charset=utf-8",
        include_bytes!("../static/app.css"),
    ),
    (
        "/app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/app.js"),
    ),
    (
        "/passkeys.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../static/passkeys.js"),
    ),
];

/// Cache policy of a fingerprinted URL: its bytes never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Cache policy of a plain URL, whose bytes change with each release.
const SHORT: &str = "public, max-age=3600";

struct Asset {
    /// Under `/static`, e.g. `/app.css`.
    path: &'static str,
    /// Under `/static`, e.g. `/app.3f2a9c1d.css`.
    hashed: String,
    /// The full URL pages link, e.g. `/static/app.3f2a9c1d.css`.
    url: String,
    content_type: &'static str,
    body: &'static [u8],
}

/// The assets with their fingerprinted paths, hashed once at start-up.
static ASSETS: LazyLock<Vec<Asset>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|&(path, content_type, body)| {
            let hashed = hashed_path(path, body);
            Asset {
                path,
                url: format!("/static{hashed}"),
                hashed,
                content_type,
                body,
            }
        })
        .collect()
});

/// `path` with the first 8 bytes of the SHA-256 of `body` (16 hex digits) before its
/// extension: `/app.css` → `/app.0123456789abcdef.css` (`/LICENSE` → `/LICENSE.0123…`).
pub fn hashed_path(path: &str, body: &[u8]) -> String {
    let digest = Sha256::digest(body);
    let hash: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let name_start = path.rfind('/').map_or(0, |i| i + 1);
    match path[name_start..].rfind('.').filter(|&dot| dot > 0) {
        Some(dot) => {
            let (stem, ext) = path.split_at(name_start + dot);
            format!("{stem}.{hash}{ext}")
        }
        None => format!("{path}.{hash}"),
    }
}

/// The URL to link for the asset at `path` under `/static` (`url("/app.css")` is
/// `/static/app.<hash>.css`). Templates call it: `{{ crate::static_files::url("/app.css") }}`.
/// An unknown path gets its plain URL (which answers 404).
pub fn url(path: &str) -> Cow<'static, str> {
    match ASSETS.iter().find(|a| a.path == path) {
        Some(asset) => Cow::Borrowed(asset.url.as_str()),
        None => Cow::Owned(format!("/static{path}")),
    }
}

pub fn service() -> Router<crate::state::AppState> {
    let mut router = Router::new();
    for asset in ASSETS.iter() {
        let (content_type, body) = (asset.content_type, asset.body);
        for (path, cache) in [(asset.hashed.as_str(), IMMUTABLE), (asset.path, SHORT)] {
            router = router.route(
                path,
                get(move || async move {
                    (
                        [
                            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                        ],
                        body,
                    )
                        .into_response()
                }),
            );
        }
    }
    router
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_goes_before_the_extension_and_follows_the_content() {
        let a = hashed_path("/vendor/htmx.min.js", b"one");
        let b = hashed_path("/vendor/htmx.min.js", b"two");
        assert_ne!(a, b, "other bytes, other URL");
        assert_eq!(a, hashed_path("/vendor/htmx.min.js", b"one"), "stable");
        let hash = &a["/vendor/htmx.min.".len()..a.len() - ".js".len()];
        assert_eq!(hash.len(), 16, "{a}");
        assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{a}");
        assert!(
            a.starts_with("/vendor/htmx.min.") && a.ends_with(".js"),
            "{a}"
        );

        let css = hashed_path("/app.css", b"body{}");
        assert!(css.starts_with("/app.") && css.ends_with(".css"), "{css}");
        assert!(hashed_path("/LICENSE", b"x").starts_with("/LICENSE."));
        assert!(hashed_path("/.hidden", b"x").starts_with("/.hidden."));
    }

    #[test]
    fn every_asset_has_a_fingerprinted_url() {
        for (path, _, body) in FILES {
            let u = url(path);
            assert_eq!(u, format!("/static{}", hashed_path(path, body)));
            assert_ne!(u, format!("/static{path}"));
        }
        assert_eq!(url("/nope.css"), "/static/nope.css");
    }
}
