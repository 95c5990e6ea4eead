//! "Change plan": choose a plan → review (the credit and charge lines and the total of an
//! upgrade, or the date a downgrade takes effect) → confirm. The form works as a plain POST
//! (303 to the subscription) and as an htmx fragment (the subscription's section comes back
//! with the message); errors come back beside the field with the choice kept. The plan
//! section of the subscription page refreshes itself while an upgrade waits for its payment
//! or the pod is being resized.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use super::super::service::{self, PlanChangeInput, PlanChoice, PlanQuote, PlanStatus};
use super::super::store::SubscriptionRow;
use crate::auth::model::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::actions::ActionPage;
use crate::web::flash::Flash;
use crate::web::{AppError, AppResult, FieldErrors, Hx, Layout, flash};

impl SubscriptionRow {
    pub fn page_url(&self) -> String {
        format!("/billing/subscriptions/{}", self.id)
    }
}

#[derive(Template)]
#[template(path = "subscriptions/plan_change.html", blocks = ["main"])]
struct ChangePage {
    layout: Layout,
    s: SubscriptionRow,
    choices: Vec<PlanChoice>,
    form: PlanChangeInput,
    errors: FieldErrors,
    quote: Option<PlanQuote>,
}

async fn change_page(
    state: &AppState,
    actor: &Actor,
    layout: Layout,
    id: &str,
    form: PlanChangeInput,
    errors: FieldErrors,
    quote: Option<PlanQuote>,
) -> AppResult<ChangePage> {
    let (s, choices) = service::plan_choices(&state.db, actor, id).await?;
    Ok(ChangePage {
        layout,
        s,
        choices,
        form,
        errors,
        quote,
    })
}

pub async fn form(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let page = change_page(
        &state,
        &actor,
        layout,
        &id,
        PlanChangeInput::default(),
        FieldErrors::new(),
        None,
    )
    .await?;
    Ok(page!(hx, page)?.into_response())
}

/// Without `confirm=yes` (or for another plan than the one reviewed) it answers the review;
/// with it, the change is made.
pub async fn submit(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
    Form(mut form): Form<PlanChangeInput>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let confirmed =
        crate::web::confirm::confirmed(&form.confirm) && form.reviewed.trim() == form.plan.trim();
    let result = if confirmed {
        match service::change_plan(&state.db, &actor, &id, &form, now).await {
            Ok(message) => return done(&state, hx, layout, &actor, &id, message).await,
            Err(e) => Err(e),
        }
    } else {
        service::plan_quote(&state.db, &actor, &id, &form, now)
            .await
            .map(Some)
    };
    form.confirm.clear();
    match result {
        Ok(quote) => {
            form.reviewed = form.plan.trim().to_string();
            let page =
                change_page(&state, &actor, layout, &id, form, FieldErrors::new(), quote).await?;
            Ok(page!(hx, page)?.into_response())
        }
        Err(AppError::Invalid(errors)) => {
            form.reviewed.clear();
            let page = change_page(&state, &actor, layout, &id, form, errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page!(hx, page)?).into_response())
        }
        Err(e) => Err(e),
    }
}

/// After the change: the subscription page with the message (htmx), or a 303 to it.
async fn done(
    state: &AppState,
    hx: Hx,
    layout: Layout,
    actor: &Actor,
    id: &str,
    message: String,
) -> AppResult<Response> {
    let url = format!("/billing/subscriptions/{id}");
    if !hx.wants_fragment() {
        return Ok(flash::success(state, &url, &message));
    }
    let mut page = super::show_page(state, layout, actor, id).await?;
    page.set_notice(Flash {
        kind: "success",
        message,
    });
    let mut res = page.main_html()?.into_response();
    if let Ok(v) = axum::http::HeaderValue::from_str(&url) {
        res.headers_mut().insert("HX-Push-Url", v);
    }
    Ok(res)
}

#[derive(Template)]
#[template(path = "subscriptions/plan_status.html")]
struct StatusFragment {
    p: PlanStatus,
}

/// The plan section alone: the subscription page's section polls it while a change is in
/// flight.
pub async fn status(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let s = service::get(&state.db, &actor, &id).await?;
    let p = service::plan_status(&state.db, &actor, &s)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(crate::web::render(&StatusFragment { p })?.into_response())
}

/// Withdraws a scheduled downgrade (the subscription keeps its plan).
pub async fn withdraw(req: super::Req, Path(id): Path<String>) -> AppResult<Response> {
    let r = service::withdraw_downgrade(&req.state.db, &req.actor, &id).await;
    super::respond(req, id, r).await
}
