//! Compression by Accept-Encoding, and fingerprinted static assets with a long cache.

use std::io::Read;

use reqwest::StatusCode;

use crate::helpers::*;

async fn get_encoded(c: &TestClient, path: &str, accept: &str) -> reqwest::Response {
    c.http
        .get(c.url(path))
        .header("Accept-Encoding", accept)
        .send()
        .await
        .unwrap()
}

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .unwrap();
    out
}

fn unbrotli(bytes: &[u8]) -> String {
    let mut out = String::new();
    brotli_decompressor::Decompressor::new(bytes, 4096)
        .read_to_string(&mut out)
        .unwrap();
    out
}

/// The `href`/`src` URLs under `/static/` that a page links.
fn static_links(html: &str) -> Vec<String> {
    let mut links = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for (i, _) in html.match_indices(attr) {
            let rest = &html[i + attr.len()..];
            let url = &rest[..rest.find('"').unwrap()];
            if url.starts_with("/static/") {
                links.push(url.to_string());
            }
        }
    }
    links
}

#[tokio::test]
async fn pages_json_and_error_pages_are_compressed_by_accept_encoding() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;

    let res = get_encoded(&owner, "/", "gzip").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(
        res.headers()["vary"]
            .to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")
    );
    let html = gunzip(&res.bytes().await.unwrap());
    assert!(html.starts_with("<!doctype html>"), "{html}");

    let res = get_encoded(&owner, "/", "br").await;
    assert_eq!(res.headers()["content-encoding"], "br");
    let html = unbrotli(&res.bytes().await.unwrap());
    assert!(html.starts_with("<!doctype html>"), "{html}");

    // Both offered: either is fine, but compressed.
    let res = get_encoded(&owner, "/", "gzip, deflate, br").await;
    let enc = res.headers()["content-encoding"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(enc == "br" || enc == "gzip", "{enc}");

    // Not asked: not compressed.
    let res = owner.get("/").await;
    assert!(!res.headers().contains_key("content-encoding"));
    assert!(res.text().await.unwrap().starts_with("<!doctype html>"));

    // An error page rendered by the error middleware.
    let res = get_encoded(&owner, "/no-such-page", "gzip").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-encoding"], "gzip");
    assert!(gunzip(&res.bytes().await.unwrap()).contains("<html"));

    // JSON (the API's error answer).
    let res = get_encoded(&owner, "/api/v1/me", "br").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(res.headers()["content-encoding"], "br");
    let body: serde_json::Value =
        serde_json::from_str(&unbrotli(&res.bytes().await.unwrap())).unwrap();
    assert!(body.is_object(), "{body}");
}

#[tokio::test]
async fn linked_assets_are_fingerprinted_immutable_and_compressed() {
    let app = TestApp::spawn().await;
    let owner = app.setup_owner().await;
    let html = owner.get("/").await.text().await.unwrap();
    let links = static_links(&html);
    assert_eq!(links.len(), 5, "{links:?}");
    for (plain, content_type) in [
        ("/static/app.css", "text/css"),
        ("/static/app.js", "text/javascript"),
        ("/static/passkeys.js", "text/javascript"),
        ("/static/vendor/pico.min.css", "text/css"),
        ("/static/vendor/htmx.min.js", "text/javascript"),
    ] {
        assert!(!links.iter().any(|l| l == plain), "{plain} is linked plain");
        let (stem, ext) = plain.rsplit_once('.').unwrap();
        let url = links
            .iter()
            .find(|l| l.starts_with(&format!("{stem}.")) && l.ends_with(&format!(".{ext}")))
            .unwrap_or_else(|| panic!("no fingerprinted link for {plain} in {links:?}"));
        let hash = &url[stem.len() + 1..url.len() - ext.len() - 1];
        assert!(
            hash.len() >= 8 && hash.chars().all(|c| c.is_ascii_hexdigit()),
            "{url}"
        );

        let res = owner.get(url).await;
        assert_eq!(res.status(), StatusCode::OK, "{url}");
        let cache = res.headers()["cache-control"].to_str().unwrap();
        assert!(cache.contains("immutable"), "{url}: {cache}");
        assert!(cache.contains("max-age=31536000"), "{url}: {cache}");
        assert!(
            res.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(content_type),
            "{url}"
        );
        let fingerprinted = res.bytes().await.unwrap();

        // The plain URL still answers the same bytes, with a short cache.
        let res = owner.get(plain).await;
        assert_eq!(res.status(), StatusCode::OK, "{plain}");
        assert_eq!(res.headers()["cache-control"], "public, max-age=3600");
        assert_eq!(res.bytes().await.unwrap(), fingerprinted, "{plain}");

        // Compressed on request too.
        let res = get_encoded(&owner, url, "gzip").await;
        assert_eq!(res.headers()["content-encoding"], "gzip", "{url}");
        assert_eq!(
            gunzip(&res.bytes().await.unwrap()).as_bytes(),
            &fingerprinted[..],
            "{url}"
        );
    }

    // A made-up fingerprint is not served.
    let res = owner.get("/static/app.0000000000000000.css").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}
