//! Unpaid orders expire: the `subscription.expire` job, enqueued with the order to run at its
//! expiry instant, voids the first invoice if it is still unpaid and marks the subscription
//! EXPIRED. No pod was created (pods are created only after the payment).

use super::activation::system;
use super::{event, timeline};
use crate::audit;
use crate::billing::invoices::service as invoices;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::jobs::{self, NewJob};
use crate::subscriptions::model::{Event, SubscriptionStatus};
use crate::subscriptions::store;
use crate::web::{AppError, AppResult};

pub const EXPIRE_KIND: &str = "subscription.expire";

pub(super) async fn enqueue_expiry(
    tx: &mut Tx,
    id: &str,
    tenant_id: &str,
    at: Timestamp,
) -> AppResult<()> {
    jobs::enqueue(
        tx,
        NewJob::new(EXPIRE_KIND, &serde_json::json!({ "subscription_id": id }))
            .unique_key(format!("subscription-expire:{id}"))
            .subject(super::subject(id))
            .tenant(tenant_id)
            .run_at(at),
    )
    .await?;
    Ok(())
}

/// Expires the order if it is still waiting for its first payment and its time is up;
/// otherwise does nothing (it was paid, or the job ran early).
pub async fn expire(db: &Db, id: &str, now: Timestamp) -> AppResult<bool> {
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let due = s.expires_at.is_some_and(|at| at <= now);
    if s.status != SubscriptionStatus::PendingActivation || !due || s.cloudpod_id.is_some() {
        return Ok(false);
    }
    let to = SubscriptionStatus::next(s.status, Event::Expire)
        .map_err(|r| AppError::refused(r.to_string()))?;
    if let Some(inv) = store::first_invoice(&mut tx, &s.id).await? {
        match invoices::void_unpaid_in(
            &mut tx,
            db,
            system(&s.tenant_id),
            &inv,
            "the order was not paid in time",
        )
        .await
        {
            Ok(number) => {
                timeline(
                    &mut tx,
                    &s.id,
                    "invoice",
                    &format!("Invoice {number} voided: not paid in time"),
                    "system",
                )
                .await?;
            }
            Err(AppError::Refused(why)) => {
                // part of it was paid: keep the order open for the rest, and stop asking
                store::clear_expiry(&mut tx, &s.id).await?;
                timeline(
                    &mut tx,
                    &s.id,
                    "invoice",
                    &format!("Not expired: {why}"),
                    "system",
                )
                .await?;
                tx.commit().await?;
                return Ok(false);
            }
            Err(e) => return Err(e),
        }
    }
    if store::set_status(&mut tx, &s.id, s.status, to, "").await? == 0 {
        return Ok(false);
    }
    timeline(
        &mut tx,
        &s.id,
        "state",
        "Expired: the order was not paid in time",
        "system",
    )
    .await?;
    audit::record(
        &mut tx,
        system(&s.tenant_id),
        event(
            &s.tenant_id,
            "subscription.expired",
            &s.id,
            format!("The order of {} expired unpaid", s.product_name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
