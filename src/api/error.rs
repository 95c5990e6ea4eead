//! `ApiError`: every refusal of the JSON API, as `{"error": {"code", "message", "field"?}}`
//! with the matching status (400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 500).

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::web::AppError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// The request field the error is about, when there is one.
    pub field: Option<String>,
    /// Seconds to wait (429): sent as `Retry-After`.
    pub retry_after: Option<u64>,
}

/// The body of every error answer (for the OpenAPI document).
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// A stable, machine-readable code: `not_found`, `invalid`, `insufficient_scope`, …
    pub code: String,
    /// What went wrong, for a person.
    pub message: String,
    /// The request field (body member, query parameter or header) at fault, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    pub fn unauthorized(code: &'static str, message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn forbidden(code: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found() -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such resource.")
    }

    /// 400 for a malformed query parameter or header.
    pub fn bad_parameter(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_parameter", message).with_field(field)
    }

    /// 422 for a body member that breaks a rule.
    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_field(field)
    }

    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The request could not be completed.",
        )
    }

    pub fn too_many(retry_after: u64) -> ApiError {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests: slow down and try again after the time in Retry-After.",
            )
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> ApiError {
        tracing::error!(error = ?e, "api: database error");
        ApiError::internal()
    }
}

/// The service functions' errors, as the pages get them, in JSON: a field error keeps its
/// field (the first one, by name, with every message in the text), a refused rule is 409.
impl From<AppError> for ApiError {
    fn from(e: AppError) -> ApiError {
        match e {
            AppError::NotFound => ApiError::not_found(),
            AppError::Forbidden => {
                ApiError::forbidden("forbidden", "Your role does not allow this.")
            }
            AppError::Unauthenticated => ApiError::unauthorized(
                "invalid_token",
                "The token is missing, unknown, revoked or expired.",
            ),
            AppError::Invalid(errors) => {
                let first = errors.iter().next().map(|(f, _)| f.to_string());
                let message = errors
                    .iter()
                    .map(|(field, message)| format!("{field}: {message}"))
                    .collect::<Vec<_>>()
                    .join(" ");
                let e = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message);
                match first {
                    Some(f) => e.with_field(f),
                    None => e,
                }
            }
            AppError::Refused(m) => ApiError::new(StatusCode::CONFLICT, "refused", m),
            AppError::Stale(m) => {
                ApiError::new(StatusCode::PRECONDITION_FAILED, "stale", m).with_field("If-Match")
            }
            AppError::TooManyAttempts { retry_after_secs } => ApiError::too_many(retry_after_secs),
            AppError::Internal(e) => {
                tracing::error!(error = ?e, "api: internal error");
                ApiError::internal()
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            error["field"] = json!(field);
        }
        let body = Json(json!({ "error": error }));
        let mut res = (self.status, body).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            let value = format!("Bearer realm=\"mpanel\", error=\"{}\"", self.code);
            if let Ok(v) = HeaderValue::from_str(&value) {
                res.headers_mut().insert(header::WWW_AUTHENTICATE, v);
            }
        }
        if let Some(secs) = self.retry_after {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}
