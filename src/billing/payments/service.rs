//! Online payments: receiving signed webhooks into the inbox, processing them through a job,
//! replaying one, starting a Stripe Checkout for an invoice, and the inbox's reads.

mod checkout;
mod inbox;
pub use checkout::*;
pub use inbox::*;

use serde_json::Value;

use super::model::{self, Action, InboxStatus, Provider};
use super::signature::{self, SignatureError, StandardHeaders};
use super::store::{self, EventFilter, EventRow, NewEvent, Settled};
use super::stripe::{CheckoutRequest, StripeClient};
use crate::actor::{ClientInfo, Role};
use crate::audit::{self, AuditEvent};
use crate::auth::model::Actor;
use crate::billing::invoices::service as invoices;
use crate::billing::invoices::service::gateway::{
    self as gw, GatewayDispute, GatewayPayment, GatewayRefund, Recorded, RefundAmount,
};
use crate::config::PaymentConfig;
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::jobs::{JobError, NewJob};
use crate::web::{AppError, AppResult};

/// The job that processes one stored event (payload `{"event": "<row id>"}`).
pub const WEBHOOK_KIND: &str = "payments.webhook";

/// The most of a rejected delivery's body kept for staff to read.
const REJECTED_BODY_MAX: usize = 16 * 1024;

/// Staff ADMIN+ read the inbox and replay events.
pub fn can_view_inbox(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

/// What the endpoint answers.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    /// Stored and queued for processing.
    Stored,
    /// This event id was stored before: nothing more happens.
    Repeated,
    /// The signature did not verify (kept in the inbox as REJECTED).
    Rejected(String),
    /// No secret configured for this endpoint: it does not accept anything.
    NotConfigured,
}

async fn enqueue_processing(tx: &mut Tx, row_id: &str) -> sqlx::Result<()> {
    crate::jobs::enqueue(
        tx,
        NewJob::new(WEBHOOK_KIND, &serde_json::json!({ "event": row_id }))
            .unique_key(format!("webhook:{row_id}"))
            .subject(format!("webhook:{row_id}")),
    )
    .await
    .map(|_| ())
}

async fn store_rejected(db: &Db, provider: Provider, why: &str, body: &[u8]) -> AppResult<()> {
    let text =
        String::from_utf8_lossy(&body[..body.len().min(REJECTED_BODY_MAX)]).replace('\0', "");
    let mut tx = db.begin_write().await?;
    store::insert_event(
        &mut tx,
        &NewEvent {
            id: &new_id(),
            provider,
            event_id: "",
            event_type: "",
            verified: false,
            verification: why,
            status: InboxStatus::Rejected,
            payload: &text,
            received_at: Timestamp::now(),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores a verified event once by id and queues it, in one transaction.
async fn store_verified(
    db: &Db,
    provider: Provider,
    event_id: &str,
    event_type: &str,
    body: &str,
) -> AppResult<Received> {
    let id = new_id();
    let mut tx = db.begin_write().await?;
    let inserted = store::insert_event(
        &mut tx,
        &NewEvent {
            id: &id,
            provider,
            event_id,
            event_type,
            verified: true,
            verification: "signature verified",
            status: InboxStatus::Pending,
            payload: body,
            received_at: Timestamp::now(),
        },
    )
    .await?;
    if !inserted {
        return Ok(Received::Repeated);
    }
    enqueue_processing(&mut tx, &id).await?;
    tx.commit().await?;
    Ok(Received::Stored)
}

async fn rejected(
    db: &Db,
    provider: Provider,
    e: SignatureError,
    body: &[u8],
) -> AppResult<Received> {
    if e == SignatureError::NotConfigured {
        return Ok(Received::NotConfigured);
    }
    store_rejected(db, provider, e.describe(), body).await?;
    Ok(Received::Rejected(e.describe().to_string()))
}

/// `POST /billing/webhooks/stripe`: verify on the raw body, then parse, store, queue.
pub async fn receive_stripe(
    db: &Db,
    cfg: &PaymentConfig,
    header: Option<&str>,
    body: &[u8],
    now_secs: i64,
) -> AppResult<Received> {
    let secret = cfg.stripe_webhook_secret.as_deref().unwrap_or("").trim();
    if let Err(e) = signature::verify_stripe(header, body, secret, now_secs) {
        return rejected(db, Provider::Stripe, e, body).await;
    }
    let parsed = std::str::from_utf8(body)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(t).ok().map(|v| (t, v)));
    let Some((text, value)) = parsed else {
        store_rejected(
            db,
            Provider::Stripe,
            "verified, but the body is not JSON",
            body,
        )
        .await?;
        return Ok(Received::Rejected("the body is not JSON".into()));
    };
    let Some((event_id, event_type)) = model::stripe_envelope(&value) else {
        store_rejected(
            db,
            Provider::Stripe,
            "verified, but not a Stripe event",
            body,
        )
        .await?;
        return Ok(Received::Rejected("not a Stripe event".into()));
    };
    store_verified(db, Provider::Stripe, &event_id, &event_type, text).await
}

/// `POST /billing/webhooks/generic`: Standard Webhooks, the message id is the event id.
pub async fn receive_generic(
    db: &Db,
    cfg: &PaymentConfig,
    headers: &StandardHeaders<'_>,
    body: &[u8],
    now_secs: i64,
) -> AppResult<Received> {
    let event_id =
        match signature::verify_standard(headers, body, &cfg.generic_webhook_secrets, now_secs) {
            Ok(id) => id,
            Err(e) => return rejected(db, Provider::Generic, e, body).await,
        };
    let parsed = std::str::from_utf8(body)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(t).ok().map(|v| (t, v)));
    let Some((text, value)) = parsed else {
        store_rejected(
            db,
            Provider::Generic,
            "verified, but the body is not JSON",
            body,
        )
        .await?;
        return Ok(Received::Rejected("the body is not JSON".into()));
    };
    store_verified(
        db,
        Provider::Generic,
        event_id,
        &model::generic_type(&value),
        text,
    )
    .await
}

/// PostgreSQL: one transaction at a time per payment reference, so a refund deciding to
/// wait and the payment that releases waiting events never miss each other. SQLite's write
/// transaction already serialises them.
async fn serialize_on(tx: &mut Tx, key: &str) -> sqlx::Result<()> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(key)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn wait_key(gateway: &str, reference: &str) -> String {
    format!("{gateway}:{reference}")
}

/// What one processing attempt decided.
struct Outcome {
    status: InboxStatus,
    text: String,
    waits_for: String,
    invoice_id: String,
}

impl Outcome {
    fn new(status: InboxStatus, text: impl Into<String>) -> Outcome {
        Outcome {
            status,
            text: text.into(),
            waits_for: String::new(),
            invoice_id: String::new(),
        }
    }
    fn on(mut self, invoice_id: &str) -> Outcome {
        self.invoice_id = invoice_id.to_string();
        self
    }
}

fn recorded_outcome(r: Recorded, what: &str, waits_for: String) -> Outcome {
    match r {
        Recorded::New {
            invoice_id,
            credit_minor,
            ..
        } => {
            let mut text = format!("{what} recorded");
            if credit_minor > 0 {
                text.push_str(" (part became account credit)");
            } else if credit_minor < 0 {
                text.push_str(" (account credit reduced)");
            }
            Outcome::new(InboxStatus::Processed, text).on(&invoice_id)
        }
        Recorded::Already {
            invoice_id,
            payment_id,
        } => Outcome::new(
            InboxStatus::Processed,
            format!("{what} was recorded already ({payment_id}): nothing counted twice"),
        )
        .on(&invoice_id),
        Recorded::PaymentUnknown => Outcome {
            status: InboxStatus::Waiting,
            text: "waiting for the payment it refers to".into(),
            waits_for,
            invoice_id: String::new(),
        },
    }
}

async fn act(tx: &mut Tx, ev: &EventRow, action: Action) -> AppResult<Outcome> {
    let client = ClientInfo {
        ip: "-".into(),
        user_agent: format!("{} webhook {}", ev.provider.as_str(), ev.event_id),
    };
    Ok(match action {
        Action::Ignore(why) => Outcome::new(InboxStatus::Ignored, why),
        Action::Payment {
            invoice_id,
            amount_minor,
            currency,
            reference,
            gateway,
        } => {
            let key = wait_key(&gateway, &reference);
            serialize_on(tx, &key).await?;
            let r = gw::record_gateway_payment(
                tx,
                &client,
                &GatewayPayment {
                    invoice_id: &invoice_id,
                    gateway: &gateway,
                    reference: &reference,
                    amount_minor,
                    currency: &currency,
                },
            )
            .await?;
            // Refunds or disputes that arrived first can go now.
            for waiting in store::take_waiting(tx, &key).await? {
                enqueue_processing(tx, &waiting).await?;
            }
            recorded_outcome(r, "Payment", String::new())
        }
        Action::Refund {
            gateway,
            payment_reference,
            reference,
            cumulative,
            amount_minor,
        } => {
            let key = wait_key(&gateway, &payment_reference);
            serialize_on(tx, &key).await?;
            let r = gw::record_gateway_refund(
                tx,
                &client,
                &GatewayRefund {
                    gateway: &gateway,
                    payment_reference: &payment_reference,
                    reference: &reference,
                    amount: if cumulative {
                        RefundAmount::Cumulative(amount_minor)
                    } else {
                        RefundAmount::Exact(amount_minor)
                    },
                },
            )
            .await?;
            recorded_outcome(r, "Refund", key)
        }
        Action::Dispute {
            gateway,
            payment_reference,
            reference,
            amount_minor,
            reason,
        } => {
            let key = wait_key(&gateway, &payment_reference);
            serialize_on(tx, &key).await?;
            let r = gw::flag_dispute(
                tx,
                &client,
                &GatewayDispute {
                    gateway: &gateway,
                    payment_reference: &payment_reference,
                    reference: &reference,
                    amount_minor,
                    reason: &reason,
                },
            )
            .await?;
            recorded_outcome(r, "Dispute", key)
        }
    })
}

/// The job: processes one stored event. Idempotent (the gateway reference is recorded once,
/// whatever is replayed or redelivered) and order-independent (a refund or dispute before its
/// payment waits for it, and the payment releases it).
///
/// `job_id`'s unique key is let go when the event settles, so a payment released event (or a
/// replay) can queue it again at once, even before the worker marks this job done.
pub async fn process(db: &Db, row_id: &str, job_id: &str) -> Result<(), JobError> {
    let mut tx = db
        .begin_write()
        .await
        .map_err(|e| JobError::retry(e.to_string()))?;
    let lock = db.backend.row_lock(None);
    let Some(ev) = store::lock_event(&mut tx, row_id, &lock)
        .await
        .map_err(|e| JobError::retry(e.to_string()))?
    else {
        return Err(JobError::permanent("the webhook event does not exist"));
    };
    if ev.status != InboxStatus::Pending && ev.status != InboxStatus::Failed {
        return Ok(());
    }
    let parsed: Result<Action, String> = serde_json::from_str::<Value>(&ev.payload)
        .map_err(|e| e.to_string())
        .and_then(|v| match ev.provider {
            Provider::Stripe => model::stripe_action(&v),
            Provider::Generic => model::generic_action(&v),
        });
    let result = match parsed {
        Ok(action) => act(&mut tx, &ev, action).await,
        Err(m) => Err(AppError::Refused(format!("unreadable event: {m}"))),
    };
    match result {
        Ok(o) => {
            store::settle(
                &mut tx,
                &ev.id,
                &Settled {
                    status: o.status,
                    outcome: &o.text,
                    error: "",
                    waits_for: &o.waits_for,
                    invoice_id: &o.invoice_id,
                },
            )
            .await
            .map_err(|e| JobError::retry(e.to_string()))?;
            crate::jobs::release_key(&mut tx, job_id)
                .await
                .map_err(|e| JobError::retry(e.to_string()))?;
            tx.commit()
                .await
                .map_err(|e| JobError::retry(e.to_string()))?;
            Ok(())
        }
        Err(e) => {
            drop(tx);
            let (message, permanent) = match e {
                AppError::NotFound => (
                    "the invoice named by the event does not exist".to_string(),
                    true,
                ),
                AppError::Refused(m) => (m, true),
                other => (other.to_string(), false),
            };
            let _ = store::record_failure(&db.pool, &ev.id, &message).await;
            if permanent {
                Err(JobError::permanent(message))
            } else {
                Err(JobError::retry(message))
            }
        }
    }
}
