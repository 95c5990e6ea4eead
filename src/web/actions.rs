//! How an action on an object's page answers (pay an invoice, resize a pod, …): htmx gets the
//! refreshed page section with a notice, a plain form a redirect with a flash message, and bad
//! input the page again with the errors beside the failing form's fields.

use std::future::Future;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{Html, IntoResponse, Response};

use super::flash::{self, Flash};
use super::{AppError, AppResult, FieldErrors, Hx, Layout};
use crate::actor::Actor;
use crate::state::AppState;

/// The parts of a request an action answers with; an extractor, so an action handler takes
/// it as one argument (the signed-in actor first: no actor, no action).
pub struct ActionRequest {
    pub state: AppState,
    pub hx: Hx,
    pub layout: Layout,
    pub actor: Actor,
}

impl FromRequestParts<AppState> for ActionRequest {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<ActionRequest, Response> {
        let actor = Actor::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let hx = Hx::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let layout = Layout::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(ActionRequest {
            state: state.clone(),
            hx,
            layout,
            actor,
        })
    }
}

/// A page that actions re-render.
pub trait ActionPage {
    /// The page's `main` block: what htmx swaps in.
    fn main_html(&self) -> AppResult<Html<String>>;
    /// The whole page.
    fn full_html(&self) -> AppResult<Html<String>>;
    /// Shown at the top of the refreshed section.
    fn set_notice(&mut self, notice: Flash);
}

/// Implements [`ActionPage`] for an askama page with `blocks = ["main"]` and a
/// `notice: Option<Flash>` field.
#[macro_export]
macro_rules! action_page {
    ($page:ty) => {
        impl $crate::web::actions::ActionPage for $page {
            fn main_html(&self) -> $crate::web::AppResult<axum::response::Html<String>> {
                $crate::web::render(&self.as_main())
            }
            fn full_html(&self) -> $crate::web::AppResult<axum::response::Html<String>> {
                $crate::web::render(self)
            }
            fn set_notice(&mut self, notice: $crate::web::flash::Flash) {
                self.notice = Some(notice);
            }
        }
    };
}

/// `result` carries the success message; `load` builds the page at `url` afresh (after the
/// change); `on_invalid` puts the submitted values and their errors back into it.
pub async fn answer<P, Fut>(
    state: &AppState,
    hx: Hx,
    url: &str,
    result: AppResult<String>,
    load: impl FnOnce() -> Fut,
    on_invalid: impl FnOnce(&mut P, FieldErrors),
) -> AppResult<Response>
where
    P: ActionPage,
    Fut: Future<Output = AppResult<P>>,
{
    match result {
        Ok(message) if hx.wants_fragment() => {
            let mut page = load().await?;
            page.set_notice(Flash {
                kind: "success",
                message,
            });
            Ok(page.main_html()?.into_response())
        }
        Ok(message) => Ok(flash::success(state, url, &message)),
        Err(AppError::Invalid(errors)) => {
            let mut page = load().await?;
            on_invalid(&mut page, errors);
            let html = if hx.wants_fragment() {
                page.main_html()?
            } else {
                page.full_html()?
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, html).into_response())
        }
        Err(e) => Err(e),
    }
}
