//! HTTP for payments: the two webhook endpoints (no session: the signature is the
//! authentication), the customer's "Pay now", and the staff webhook inbox.

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::model::{InboxStatus, Provider};
use super::service::{self, Received};
use super::signature::StandardHeaders;
use super::store::{EventFilter, EventRow};
use crate::actor::Actor;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppResult, Hx, Layout, flash};

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn answer(r: AppResult<Received>) -> Response {
    match r {
        Ok(Received::Stored) => (StatusCode::OK, "stored").into_response(),
        Ok(Received::Repeated) => (StatusCode::OK, "already received").into_response(),
        Ok(Received::Rejected(why)) => {
            (StatusCode::BAD_REQUEST, format!("rejected: {why}")).into_response()
        }
        Ok(Received::NotConfigured) => {
            (StatusCode::NOT_FOUND, "this webhook is not configured").into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "could not store a webhook delivery");
            // The gateway retries on 5xx.
            (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response()
        }
    }
}

fn now_secs() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// `POST /billing/webhooks/stripe`
pub async fn stripe_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(
        service::receive_stripe(
            &state.db,
            &state.config.payments,
            header(&headers, "stripe-signature"),
            &body,
            now_secs(),
        )
        .await,
    )
}

/// `POST /billing/webhooks/generic`
pub async fn generic_webhook(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let h = StandardHeaders {
        id: header(&headers, "webhook-id"),
        timestamp: header(&headers, "webhook-timestamp"),
        signature: header(&headers, "webhook-signature"),
    };
    answer(service::receive_generic(&state.db, &state.config.payments, &h, &body, now_secs()).await)
}

/// `POST /billing/invoices/{id}/checkout`: to Stripe's payment page (303).
pub async fn checkout(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let url = service::start_checkout(
        &state.db,
        &state.config.payments,
        &state.config.base_url(),
        &actor,
        &id,
    )
    .await?;
    Ok(Redirect::to(&url).into_response())
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    status: String,
    #[serde(default)]
    provider: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "billing/webhooks/list.html", blocks = ["main"])]
struct InboxPage {
    layout: Layout,
    events: Vec<EventRow>,
    statuses: &'static [InboxStatus],
    providers: &'static [Provider],
    q: ListQuery,
    pager: Pager,
}

/// `GET /billing/webhooks`
pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(mut q): Query<ListQuery>,
) -> AppResult<Response> {
    q.status = InboxStatus::parse(&q.status)
        .map(|s| s.as_str().to_string())
        .unwrap_or_default();
    q.provider = Provider::parse(&q.provider)
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    let (events, total) = service::list(
        &state.db,
        &actor,
        &EventFilter {
            status: &q.status,
            provider: &q.provider,
        },
        req,
    )
    .await?;
    let pager = Pager::new(
        "/billing/webhooks",
        req,
        total,
        filter_query(&[("status", &q.status), ("provider", &q.provider)]),
    );
    let page = InboxPage {
        layout,
        events,
        statuses: InboxStatus::ALL,
        providers: Provider::ALL,
        q,
        pager,
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "billing/webhooks/show.html", blocks = ["main"])]
struct EventPage {
    layout: Layout,
    ev: EventRow,
    payload: String,
}

/// `GET /billing/webhooks/{id}`: the event with its raw payload.
pub async fn show(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let ev = service::get(&state.db, &actor, &id).await?;
    let payload = serde_json::from_str::<serde_json::Value>(&ev.payload)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| ev.payload.clone());
    let page = EventPage {
        layout,
        ev,
        payload,
    };
    Ok(page!(hx, page)?.into_response())
}

/// `POST /billing/webhooks/{id}/replay`
pub async fn replay(
    State(state): State<AppState>,
    actor: Actor,
    Path(id): Path<String>,
) -> AppResult<Response> {
    service::replay(&state.db, &actor, &id).await?;
    Ok(flash::success(
        &state,
        &format!("/billing/webhooks/{id}"),
        "The event is queued to be processed again; anything recorded already is not recorded twice.",
    ))
}
