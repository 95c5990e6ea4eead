//! An in-process imitation of the part of Stripe the panel uses: `POST /v1/checkout/sessions`
//! (form-encoded, bearer secret key, Idempotency-Key) records what it was asked and answers a
//! session id and its hosted page URL; that page (`/pay/{id}`) has a Pay button which, like
//! Stripe once the card is charged, posts a signed `checkout.session.completed` event to the
//! panel's webhook and sends the customer back to the session's success URL.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

pub const SECRET_KEY: &str = "sk_test_double_4eC39HqLyjWDarjtT1zdp7dc";
pub const WEBHOOK_SECRET: &str = "whsec_double_signing_secret_0123456789";

#[derive(Clone, Debug)]
pub struct Session {
    pub id: String,
    pub params: HashMap<String, String>,
    pub idempotency_key: String,
}

impl Session {
    pub fn param(&self, k: &str) -> &str {
        self.params.get(k).map(String::as_str).unwrap_or("")
    }
}

#[derive(Default)]
struct Inner {
    sessions: Vec<Session>,
    by_key: HashMap<String, String>,
    /// The panel's base URL, known once it runs.
    panel: Option<String>,
    paid: Vec<String>,
}

#[derive(Clone, Default)]
pub struct StripeDouble {
    inner: Arc<Mutex<Inner>>,
    pub base: String,
}

impl StripeDouble {
    pub async fn start() -> StripeDouble {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let double = StripeDouble {
            inner: Arc::default(),
            base,
        };
        let app = Router::new()
            .route("/v1/checkout/sessions", post(create_session))
            .route("/pay/{id}", get(pay_page).post(pay))
            .with_state(double.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        double
    }

    pub fn set_panel(&self, base: &str) {
        self.inner.lock().unwrap().panel = Some(base.to_string());
    }

    pub fn sessions(&self) -> Vec<Session> {
        self.inner.lock().unwrap().sessions.clone()
    }

    /// Configures an app to use this double (API, keys, checkout origin).
    pub fn configure(&self, c: &mut mpanel::config::Config) {
        c.payments.stripe_secret_key = Some(SECRET_KEY.into());
        c.payments.stripe_webhook_secret = Some(WEBHOOK_SECRET.into());
        c.payments.stripe_api_url = self.base.clone();
        c.payments.stripe_checkout_origin = self.base.clone();
    }
}

async fn create_session(
    State(d): State<StripeDouble>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if auth != format!("Bearer {SECRET_KEY}") {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})),
        )
            .into_response();
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut inner = d.inner.lock().unwrap();
    let id = match inner.by_key.get(&key) {
        Some(id) if !key.is_empty() => id.clone(),
        _ => {
            let id = format!("cs_test_{}", inner.sessions.len() + 1);
            inner.sessions.push(Session {
                id: id.clone(),
                params: form.into_iter().collect(),
                idempotency_key: key.clone(),
            });
            inner.by_key.insert(key, id.clone());
            id
        }
    };
    Json(json!({
        "id": id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "open",
        "url": format!("{}/pay/{id}", d.base),
    }))
    .into_response()
}

async fn pay_page(State(d): State<StripeDouble>, Path(id): Path<String>) -> Response {
    let inner = d.inner.lock().unwrap();
    let Some(s) = inner.sessions.iter().find(|s| s.id == id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><title>Stripe Checkout (test double)</title></head>\
         <body><main><h1>Pay {} {}</h1><p>{}</p>\
         <form method=\"post\" action=\"/pay/{id}\"><button type=\"submit\">Pay</button></form>\
         <a href=\"{}\">Cancel</a></main></body></html>",
        s.param("line_items[0][price_data][unit_amount]"),
        s.param("line_items[0][price_data][currency]"),
        s.param("line_items[0][price_data][product_data][name]"),
        s.param("cancel_url"),
    ))
    .into_response()
}

/// The `checkout.session.completed` event Stripe sends for a paid session.
pub fn completed_event(s: &Session) -> Value {
    json!({
        "id": format!("evt_{}", s.id),
        "object": "event",
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": s.id,
            "object": "checkout.session",
            "payment_status": "paid",
            "status": "complete",
            "amount_total": s.param("line_items[0][price_data][unit_amount]").parse::<i64>().unwrap(),
            "currency": s.param("line_items[0][price_data][currency]"),
            "payment_intent": format!("pi_{}", s.id),
            "client_reference_id": s.param("client_reference_id"),
            "metadata": {"invoice_id": s.param("metadata[invoice_id]")},
        }}
    })
}

/// Posts `event` to the panel's Stripe webhook, signed as Stripe signs it.
pub async fn deliver(panel: &str, event: &Value) -> reqwest::Response {
    let body = event.to_string();
    let t = time::OffsetDateTime::now_utc().unix_timestamp();
    reqwest::Client::new()
        .post(format!("{panel}/billing/webhooks/stripe"))
        .header("content-type", "application/json")
        .header(
            "stripe-signature",
            mpanel::billing::payments::signature::sign_stripe(body.as_bytes(), WEBHOOK_SECRET, t),
        )
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn pay(State(d): State<StripeDouble>, Path(id): Path<String>) -> Response {
    let (session, panel) = {
        let mut inner = d.inner.lock().unwrap();
        let Some(s) = inner.sessions.iter().find(|s| s.id == id).cloned() else {
            return StatusCode::NOT_FOUND.into_response();
        };
        inner.paid.push(id.clone());
        (s, inner.panel.clone().expect("the panel's address is set"))
    };
    let res = deliver(&panel, &completed_event(&session)).await;
    assert!(res.status().is_success(), "the panel refused the webhook");
    Redirect::to(session.param("success_url")).into_response()
}
