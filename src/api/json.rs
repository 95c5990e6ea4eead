//! `ApiJson<T>`: the one way an API handler reads a JSON body.
//!
//! Like axum's `Json`, but every refusal is our JSON error, and a NUL character in any string
//! (a key or a value, however deeply nested — JSON can carry it as `\u0000`) is refused with
//! 422 and the field it was in, before anything reaches a service or the database
//! (PostgreSQL cannot store NUL in text; no field of ours legitimately holds one).

use axum::body::Bytes;
use axum::extract::{FromRequest, OptionalFromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::ApiError;

pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.trim_start().to_ascii_lowercase();
                v.starts_with("application/json")
                    || v.starts_with("application/") && v.contains("+json")
            });
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|_| {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "The request body is too large.",
            )
        })?;
        parse(&bytes).map(ApiJson)
    }
}

/// `Option<ApiJson<T>>`: `None` for a request without a body; a body is read as above.
impl<T: DeserializeOwned, S: Send + Sync> OptionalFromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Option<Self>, ApiError> {
        let empty = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() == b"0")
            || !req.headers().contains_key(header::CONTENT_TYPE);
        if empty {
            return Ok(None);
        }
        <ApiJson<T> as FromRequest<S>>::from_request(req, state)
            .await
            .map(Some)
    }
}

/// Parses `bytes` as JSON into `T`, refusing NUL characters with the field's path.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed_json",
            format!("The body is not valid JSON: {e}"),
        )
    })?;
    if let Some(field) = nul_in(&value, "") {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("{}: a NUL character is never valid here.", display(&field)),
        )
        .with_field(display(&field)));
    }
    serde_json::from_value(value).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid",
            format!("The body does not fit this endpoint: {e}"),
        )
    })
}

fn display(path: &str) -> String {
    if path.is_empty() {
        "body".into()
    } else {
        path.to_string()
    }
}

/// The path (`a.b[2]`) of the first string or key holding a NUL character.
fn nul_in(value: &Value, path: &str) -> Option<String> {
    match value {
        Value::String(s) => s.contains('\0').then(|| path.to_string()),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| nul_in(v, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            let here = if path.is_empty() {
                k.replace('\0', "\\u0000")
            } else {
                format!("{path}.{}", k.replace('\0', "\\u0000"))
            };
            if k.contains('\0') {
                Some(here)
            } else {
                nul_in(v, &here)
            }
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct In {
        #[allow(dead_code)]
        tenant_id: String,
    }

    #[test]
    fn nul_anywhere_is_refused_with_its_field() {
        let e = parse::<In>(br#"{"tenant_id":"a\u0000b"}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(e.field.as_deref(), Some("tenant_id"));
        let e = parse::<Value>(br#"{"a":{"b":["x","y\u0000"]}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("a.b[1]"));
        let e = parse::<Value>(br#"{"k\u0000":1}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("k\\u0000"));
        assert!(parse::<In>(br#"{"tenant_id":"ab"}"#).is_ok());
        assert_eq!(
            parse::<In>(b"{").unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            parse::<In>(b"{}").unwrap_err().status,
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
