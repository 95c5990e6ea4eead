//! Pay now: a Stripe Checkout Session for an invoice.

use super::*;

/// The customer's "Pay now": a Stripe Checkout Session for the amount due; returns its URL.
pub async fn start_checkout(
    db: &Db,
    cfg: &PaymentConfig,
    base_url: &str,
    actor: &Actor,
    invoice_id: &str,
) -> AppResult<String> {
    let inv = invoices::get(db, actor, invoice_id).await?;
    if actor.is_staff {
        return Err(AppError::refused(
            "Online payment is for the customer; staff record payments on the invoice.",
        ));
    }
    let Some(key) = cfg
        .stripe_secret_key
        .as_deref()
        .filter(|_| cfg.stripe_enabled())
    else {
        return Err(AppError::refused("Online payment is not set up."));
    };
    if !crate::billing::invoices::model::can_pay(inv.status) || inv.due_minor <= 0 {
        return Err(AppError::refused("This invoice has nothing left to pay."));
    }
    let client = StripeClient::new(&cfg.stripe_api_url, key.trim())?;
    let page = format!("{base_url}/billing/invoices/{}", inv.id);
    let success = format!("{page}?checkout=done");
    let number = inv.number.clone().unwrap_or_default();
    let session = client
        .create_checkout_session(&CheckoutRequest {
            invoice_id: &inv.id,
            invoice_number: &number,
            amount_minor: inv.due_minor,
            currency: &inv.currency,
            customer_email: &actor.email,
            success_url: &success,
            cancel_url: &page,
            idempotency_key: &format!("mpanel-checkout-{}-{}-{}", inv.id, inv.due_minor, inv.version),
        })
        .await
        .map_err(|e| {
            tracing::warn!(invoice_id = %inv.id, error = %e, "could not create a Stripe Checkout Session");
            AppError::refused("The payment page could not be opened. Please try again in a moment.")
        })?;
    let mut tx = db.begin_write().await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&inv.tenant_id),
            action: "invoice.checkout_started",
            target_type: "invoice",
            target_id: &inv.id,
            summary: format!(
                "Started paying {} online ({}, Stripe session {})",
                number,
                crate::billing::money::format_money(inv.due_minor, &inv.currency),
                session.id
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(session.url)
}
