//! `/static`: vendored htmx and CSS, served from the binary so a release build runs from any
//! directory (and the Docker image needs no asset folder).

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

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
];

pub fn service() -> Router<crate::app::AppState> {
    let mut router = Router::new();
    for (path, content_type, body) in FILES {
        router = router.route(
            path,
            get(move || async move {
                (
                    [
                        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
                        (
                            header::CACHE_CONTROL,
                            HeaderValue::from_static("public, max-age=3600"),
                        ),
                    ],
                    *body,
                )
                    .into_response()
            }),
        );
    }
    router
}
