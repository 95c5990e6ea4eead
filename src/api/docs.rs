//! `/api/docs`: the API reference as a page in the shell, rendered on the server from the
//! generated OpenAPI document (no script, nothing from a CDN), and `/api/v1/openapi.json`.

use std::collections::BTreeMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::Value;

use crate::page;
use crate::state::AppState;
use crate::web::{AppResult, Hx, Layout};

/// `GET /api/docs`, for the page routes (so the shell knows who is signed in; no sign-in
/// needed).
pub fn page_routes(doc: Arc<Value>) -> Router<AppState> {
    let view = Arc::new(Reference::from_document(&doc));
    Router::new().route(
        "/api/docs",
        get(move |hx: Hx, layout: Layout| page(hx, layout, view.clone())),
    )
}

/// `GET /api/v1/openapi.json`, outside the bearer check.
pub fn document_routes(doc: Arc<Value>) -> Router<AppState> {
    Router::new().route(
        "/api/v1/openapi.json",
        get(move || super::openapi::serve(doc.clone())),
    )
}

pub struct Reference {
    pub description: String,
    pub version: String,
    pub groups: Vec<Group>,
    pub schemas: Vec<SchemaView>,
}

pub struct Group {
    pub tag: String,
    pub operations: Vec<OperationView>,
}

pub struct OperationView {
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<ParamView>,
    pub body: String,
    pub responses: Vec<ResponseView>,
}

pub struct ParamView {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub description: String,
}

pub struct ResponseView {
    pub status: String,
    pub description: String,
    pub body: String,
}

pub struct SchemaView {
    pub name: String,
    pub description: String,
    pub fields: Vec<FieldView>,
}

pub struct FieldView {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// A schema as a short type: `Pod`, `string`, `array of Pod`, `integer | null`.
fn kind(schema: &Value) -> String {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_string();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = schema.get(key).and_then(Value::as_array) {
            return list.iter().map(kind).collect::<Vec<_>>().join(" | ");
        }
    }
    let base = match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" | "),
        _ => "any".into(),
    };
    match schema.get("items") {
        Some(items) if base.starts_with("array") => {
            base.replacen("array", &format!("array of {}", kind(items)), 1)
        }
        _ => base,
    }
}

fn json_body(v: &Value) -> String {
    v.pointer("/content/application~1json/schema")
        .map(kind)
        .or_else(|| {
            v.get("content")
                .and_then(Value::as_object)
                .and_then(|c| c.keys().next().cloned())
        })
        .unwrap_or_default()
}

impl Reference {
    pub fn from_document(doc: &Value) -> Reference {
        let mut groups: BTreeMap<String, Vec<OperationView>> = BTreeMap::new();
        if let Some(paths) = doc.get("paths").and_then(Value::as_object) {
            for (path, item) in paths {
                for method in ["get", "post", "put", "patch", "delete"] {
                    let Some(op) = item.get(method) else { continue };
                    let tag = op
                        .pointer("/tags/0")
                        .and_then(Value::as_str)
                        .unwrap_or("other")
                        .to_string();
                    let params = op
                        .get("parameters")
                        .and_then(Value::as_array)
                        .map(|ps| {
                            ps.iter()
                                .map(|p| ParamView {
                                    name: text(p, "name"),
                                    location: text(p, "in"),
                                    required: p.get("required").and_then(Value::as_bool)
                                        == Some(true),
                                    description: text(p, "description"),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let responses = op
                        .get("responses")
                        .and_then(Value::as_object)
                        .map(|rs| {
                            rs.iter()
                                .map(|(status, r)| ResponseView {
                                    status: status.clone(),
                                    description: text(r, "description"),
                                    body: json_body(r),
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    groups.entry(tag).or_default().push(OperationView {
                        method: method.to_uppercase(),
                        path: path.clone(),
                        summary: text(op, "summary"),
                        description: text(op, "description"),
                        params,
                        body: op.get("requestBody").map(json_body).unwrap_or_default(),
                        responses,
                    });
                }
            }
        }
        let schemas = doc
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .map(|all| {
                all.iter()
                    .map(|(name, s)| {
                        let required: Vec<&str> = s
                            .get("required")
                            .and_then(Value::as_array)
                            .map(|r| r.iter().filter_map(Value::as_str).collect())
                            .unwrap_or_default();
                        let fields = s
                            .get("properties")
                            .and_then(Value::as_object)
                            .map(|props| {
                                props
                                    .iter()
                                    .map(|(f, p)| FieldView {
                                        name: f.clone(),
                                        kind: kind(p),
                                        required: required.contains(&f.as_str()),
                                        description: text(p, "description"),
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        SchemaView {
                            name: name.clone(),
                            description: text(s, "description"),
                            fields,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        Reference {
            description: doc
                .pointer("/info/description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            version: text(doc, "openapi"),
            groups: groups
                .into_iter()
                .map(|(tag, operations)| Group { tag, operations })
                .collect(),
            schemas,
        }
    }
}

#[derive(Template)]
#[template(path = "api/reference.html", blocks = ["main"])]
struct ReferencePage<'a> {
    layout: Layout,
    description: &'a str,
    version: &'a str,
    groups: &'a [Group],
    schemas: &'a [SchemaView],
}

async fn page(hx: Hx, layout: Layout, view: Arc<Reference>) -> AppResult<Response> {
    let page = ReferencePage {
        layout,
        description: &view.description,
        version: &view.version,
        groups: &view.groups,
        schemas: &view.schemas,
    };
    Ok(page!(hx, page)?.into_response())
}
