//! One error type for every handler and service function.
//!
//! `AppError` becomes a status code plus an [`ErrorPage`] marker; the `render_error_pages`
//! middleware turns that into a full page or an htmx toast fragment, depending on the request.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::forms::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden,
    #[error("sign-in required")]
    Unauthenticated,
    /// Bad form input: handlers re-render the form with these beside the fields.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// A business rule refused the action (last owner, state changed underneath, …).
    #[error("{0}")]
    Refused(String),
    /// The request named a version of the resource (`If-Match`) that is no longer current.
    #[error("{0}")]
    Stale(String),
    #[error("too many attempts")]
    TooManyAttempts { retry_after_secs: u64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for AppError {
    fn from(e: sqlx::Error) -> AppError {
        AppError::Internal(e.into())
    }
}

/// What the error page shows; attached to error responses as an extension.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub title: &'static str,
    pub message: String,
}

impl AppError {
    pub fn refused(message: impl Into<String>) -> AppError {
        AppError::Refused(message.into())
    }

    fn status_and_page(&self) -> (StatusCode, ErrorPage) {
        let (status, title, message) = match self {
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Not found",
                "There is nothing here, or it is not yours to see.".to_string(),
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your role does not allow this. Ask an administrator of your organisation."
                    .to_string(),
            ),
            AppError::Unauthenticated => (
                StatusCode::UNAUTHORIZED,
                "Sign-in required",
                "Please sign in.".to_string(),
            ),
            AppError::Invalid(_) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Check the form",
                "Some fields need attention.".to_string(),
            ),
            AppError::Refused(msg) | AppError::Stale(msg) => {
                (StatusCode::CONFLICT, "Not done", msg.clone())
            }
            AppError::TooManyAttempts { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "Too many attempts",
                format!("Too many attempts. Try again in {retry_after_secs} seconds."),
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "The panel could not complete this request. It has been logged; please try again."
                    .to_string(),
            ),
        };
        (status, ErrorPage { title, message })
    }
}

/// A page opened (or reloaded) at an address that only a form's button sends, e.g. the
/// recovery codes shown once after `POST /security/mfa/recovery-codes`: a 405 inside the shell
/// that says nothing was done and where to go, instead of the browser's bare error.
pub async fn method_not_allowed() -> Response {
    let mut res = StatusCode::METHOD_NOT_ALLOWED.into_response();
    res.extensions_mut().insert(ErrorPage {
        title: "Not a page",
        message: "This address is an action that a button sends; it cannot be opened or \
                  reloaded, and nothing was done. Go back to the page you came from, or \
                  choose one from the menu. (What is shown once, such as new recovery codes \
                  or a new token, cannot be shown again: create new ones there.)"
            .to_string(),
    });
    res
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::Internal(e) = &self {
            // The request id is on the enclosing span, so this line can be matched to the request.
            tracing::error!(error = ?e, "internal error");
        }
        if let AppError::Unauthenticated = self {
            let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, "/login")]).into_response();
            // htmx follows a redirect inside the swap; HX-Redirect makes it a full navigation.
            res.headers_mut()
                .insert("HX-Redirect", HeaderValue::from_static("/login"));
            return res;
        }
        let (status, page) = self.status_and_page();
        let mut res = status.into_response();
        if let AppError::TooManyAttempts { retry_after_secs } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        res.extensions_mut().insert(page);
        res
    }
}

pub type AppResult<T> = Result<T, AppError>;
