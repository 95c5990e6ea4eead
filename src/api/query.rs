//! `ApiQuery<T>`: axum's `Query`, refusing a malformed query string with our JSON 400.

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::ApiError;

pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(q)) => Ok(ApiQuery(q)),
            Err(e) => {
                // serde_urlencoded names the parameter in its message ("limit: invalid digit …").
                let text = e.body_text();
                let detail = text
                    .strip_prefix("Failed to deserialize query string: ")
                    .unwrap_or(&text);
                let e = ApiError::new(
                    axum::http::StatusCode::BAD_REQUEST,
                    "invalid_parameter",
                    format!("A query parameter is malformed: {detail}"),
                );
                Err(match detail.split_once(':') {
                    Some((field, _)) if !field.contains(' ') => e.with_field(field),
                    _ => e,
                })
            }
        }
    }
}
