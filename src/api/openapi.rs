//! The OpenAPI 3.1 document of `/api/v1`, generated from the code: each feature derives its
//! part with utoipa (`#[utoipa::path]` on its handlers, `ToSchema` on its types), `app.rs`
//! hands the parts to [`document`], which adds what every operation shares — the bearer
//! security scheme, the error answers (400/401/403/404/422/429 with [`ErrorBody`]), the
//! `RateLimit-*` headers and, on every POST, the `Idempotency-Key` header — so a handler
//! documents only what is its own.

use axum::Json;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::error::{ErrorBody, ErrorDetail};
use super::output::ApiMoney;
use super::{Me, TenantRef, TokenInfo};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "mPanel API",
        version = "1",
        description = "The JSON API of mPanel. Authenticate with an API token from the security \
centre (`Authorization: Bearer mpn_…`). GET needs the READ scope; every change needs WRITE plus \
the area's scope (BILLING, PROVISIONING, SECURITY or ADMIN), and a token never does more than its \
user's role allows. Lists page with `?limit=&cursor=` (newest first; follow `next_cursor`). \
Amounts are integer minor units with their currency; instants are RFC 3339 in UTC. Every POST \
accepts an `Idempotency-Key`: the first answer is kept 24 hours and returned again for a repeat."
    ),
    paths(super::me),
    components(schemas(ErrorBody, ErrorDetail, ApiMoney, Me, TenantRef, TokenInfo)),
    tags((name = "account", description = "The token and its user"))
)]
struct Base;

/// The whole document: the base and every feature's part, with the shared conventions.
///
/// Two parts naming different schemas alike would silently share one (the last merged wins,
/// and the other's answers would be documented wrongly): that is a programming error, so it
/// stops the panel at start-up, as a clashing route does.
pub fn document(parts: Vec<utoipa::openapi::OpenApi>) -> Value {
    let mut doc = Base::openapi();
    let mut seen: std::collections::HashMap<String, Value> = std::collections::HashMap::new();
    for part in std::iter::once(&doc).chain(parts.iter()) {
        for (name, schema) in part.components.iter().flat_map(|c| c.schemas.iter()) {
            let schema = serde_json::to_value(schema).unwrap_or_default();
            if let Some(other) = seen.insert(name.clone(), schema.clone()) {
                assert_eq!(
                    other, schema,
                    "two OpenAPI parts define different schemas named {name}"
                );
            }
        }
    }
    for part in parts {
        doc.merge(part);
    }
    let mut doc = serde_json::to_value(&doc).unwrap_or_else(|_| json!({}));
    conventions(&mut doc);
    doc
}

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn error_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    })
}

fn conventions(doc: &mut Value) {
    doc["components"]["securitySchemes"]["bearer"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "An API token (mpn_…) from /security/tokens."
    });
    doc["security"] = json!([{"bearer": []}]);
    let rate_headers = json!({
        "RateLimit-Limit": {"description": "Requests the token may make at once", "schema": {"type": "integer"}},
        "RateLimit-Remaining": {"description": "Requests left now", "schema": {"type": "integer"}},
        "RateLimit-Reset": {"description": "Seconds until the allowance is full again", "schema": {"type": "integer"}}
    });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                continue;
            };
            let responses = op
                .entry("responses")
                .or_insert_with(|| json!({}))
                .as_object_mut();
            let Some(responses) = responses else { continue };
            for (code, description) in [
                (
                    "400",
                    "A malformed request, query parameter or header (see `field`)",
                ),
                ("401", "No token, or an unknown, revoked or expired one"),
                (
                    "403",
                    "The token lacks a scope, or its user's role does not allow this",
                ),
                ("404", "No such resource (another tenant's is never shown)"),
                ("422", "A field breaks a rule (see `field`)"),
                ("429", "Too many requests: wait for Retry-After"),
            ] {
                responses
                    .entry(code)
                    .or_insert_with(|| error_response(description));
            }
            if method != "get" {
                for (code, description) in [
                    (
                        "409",
                        "The action is refused in the resource's present state",
                    ),
                    ("413", "The body is too large"),
                    ("415", "The body is not JSON"),
                ] {
                    responses
                        .entry(code)
                        .or_insert_with(|| error_response(description));
                }
            }
            for response in responses.values_mut() {
                if let Some(r) = response.as_object_mut() {
                    r.insert("headers".into(), rate_headers.clone());
                }
            }
            if method == "post" {
                let params = op
                    .entry("parameters")
                    .or_insert_with(|| json!([]))
                    .as_array_mut();
                if let Some(params) = params {
                    params.push(json!({
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": false,
                        "description": "Any unique string (1–255 visible ASCII characters): a \
repeat with the same key within 24 hours gets the first answer again; the same key with a \
different request is 422.",
                        "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"}
                    }));
                }
            }
        }
    }
}

/// `GET /api/v1/openapi.json` (no token needed: it describes, it does not show data).
pub async fn serve(doc: std::sync::Arc<Value>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "no-cache")],
        Json(doc.as_ref().clone()),
    )
}
