//! Usage on the subscription page: the open period's unbilled usage per metric, the latest
//! records, and (staff BILLING+) the form that records usage. `POST …/usage` answers a form
//! with the page (errors beside the fields, values kept) and a JSON body with JSON: 201 for a
//! new record, 200 for a repeat of its client transaction id, errors as the API shapes them.

use axum::Json;
use axum::extract::{FromRequest, Path, Request};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ShowPage, show_page};
use crate::api::ApiError;
use crate::auth::model::Actor;
use crate::state::AppState;
use crate::subscriptions::service::{self, MetricUsage, Recorded, UsageInput};
use crate::subscriptions::store::SubscriptionRow;
use crate::subscriptions::store::usage::UsageRow;
use crate::web::actions::ActionRequest as Req;
use crate::web::{AppError, AppResult, FieldErrors};

/// The usage section of the subscription page.
pub struct Panel {
    pub metrics: Vec<MetricUsage>,
    pub recent: Vec<UsageRow>,
    pub can_record: bool,
    pub form: UsageInput,
    pub errors: FieldErrors,
}

impl Panel {
    pub async fn load(state: &AppState, actor: &Actor, s: &SubscriptionRow) -> AppResult<Panel> {
        let metrics = service::current_usage(&state.db, s).await?;
        let recent = if metrics.is_empty() {
            Vec::new()
        } else {
            service::recent_records(&state.db, s, 10).await?
        };
        let form = UsageInput {
            metric: metrics
                .first()
                .map(|m| m.metric.clone())
                .unwrap_or_default(),
            client_txn_id: crate::db::new_id(),
            ..UsageInput::default()
        };
        Ok(Panel {
            can_record: service::can_record(actor) && s.status.is_live() && !metrics.is_empty(),
            metrics,
            recent,
            form,
            errors: FieldErrors::new(),
        })
    }
}

/// The JSON body: the form's fields, with a number allowed for the quantity.
#[derive(Deserialize, Default)]
#[serde(default)]
struct UsageJson {
    metric: String,
    quantity: Value,
    timestamp: Value,
    client_txn_id: String,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_json(req: &Request) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        })
}

pub async fn record(req: Req, Path(id): Path<String>, request: Request) -> AppResult<Response> {
    let now = req.state.clock.now();
    if is_json(&request) {
        let bytes = axum::body::Bytes::from_request(request, &req.state)
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("body: {e}")))?;
        return Ok(match json_record(&req, &id, &bytes, now).await {
            Ok(r) => r,
            Err(e) => e.into_response(),
        });
    }
    let axum::Form(form) = axum::Form::<UsageInput>::from_request(request, &req.state)
        .await
        .map_err(|_| {
            AppError::Invalid(FieldErrors::one("quantity", "The form could not be read."))
        })?;
    let r = service::record_usage(&req.state.db, &req.actor, &id, &form, now)
        .await
        .map(|r| message(&r));
    let Req {
        state,
        hx,
        layout,
        actor,
    } = req;
    crate::web::actions::answer(
        &state,
        hx,
        &format!("/billing/subscriptions/{id}"),
        r,
        || show_page(&state, layout, &actor, &id),
        |p: &mut ShowPage, errors| {
            p.usage.form = form.clone();
            p.usage.errors = errors;
        },
    )
    .await
}

fn message(r: &Recorded) -> String {
    let u = &r.record;
    if r.created {
        format!("Recorded {} {} at {}.", u.quantity, u.metric, u.at)
    } else {
        format!(
            "Already recorded: transaction {} is {} {} at {}; nothing was added.",
            u.client_txn_id, u.quantity, u.metric, u.at
        )
    }
}

async fn json_record(
    req: &Req,
    id: &str,
    bytes: &[u8],
    now: crate::db::Timestamp,
) -> Result<Response, ApiError> {
    let body: UsageJson = crate::api::json::parse(bytes)?;
    let input = UsageInput {
        metric: body.metric,
        quantity: text(&body.quantity),
        timestamp: text(&body.timestamp),
        client_txn_id: body.client_txn_id,
    };
    let r = service::record_usage(&req.state.db, &req.actor, id, &input, now)
        .await
        .map_err(api_error)?;
    let status = if r.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(record_json(&r))).into_response())
}

fn record_json(r: &Recorded) -> Value {
    let u = &r.record;
    json!({
        "id": u.id,
        "subscription_id": u.subscription_id,
        "product_id": u.product_id,
        "metric": u.metric,
        "quantity": u.quantity,
        "timestamp_ms": u.at.0,
        "timestamp": u.at.to_string(),
        "client_txn_id": u.client_txn_id,
        "invoice_id": u.invoice_id,
        "created": r.created,
    })
}

/// The API's error shape for what recording refused.
fn api_error(e: AppError) -> ApiError {
    match e {
        AppError::NotFound => {
            ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such subscription.")
        }
        AppError::Forbidden => ApiError::forbidden("forbidden", "Your role does not allow this."),
        AppError::Invalid(errors) => {
            let (field, message) = errors
                .iter()
                .next()
                .map(|(f, m)| (f.to_string(), m.to_string()))
                .unwrap_or_default();
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message).with_field(field)
        }
        AppError::Refused(m) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "refused", m),
        other => {
            tracing::error!(error = %other, "usage: record");
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "The request could not be completed.",
            )
        }
    }
}
