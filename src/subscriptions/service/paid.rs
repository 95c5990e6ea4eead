//! A subscription's invoice other than the first became fully paid (the
//! `subscription.invoice_paid` job): it goes on the timeline, and what waited for the payment
//! happens now: a subscription suspended for an overdue invoice resumes once nothing is
//! overdue any more (`today` by the clock).

use super::timeline;
use crate::billing::money;
use crate::db::{Db, TenantScope};
use crate::subscriptions::store;
use crate::web::{AppError, AppResult};

/// The invoice `invoice_id` of subscription `id` is paid.
pub async fn invoice_paid(db: &Db, id: &str, invoice_id: &str, today: time::Date) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &TenantScope::All, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some((number, total, currency)) = store::invoice_summary(&mut tx, invoice_id).await? else {
        return Err(AppError::NotFound);
    };
    timeline(
        &mut tx,
        &s.id,
        "payment",
        &format!(
            "Invoice {} paid: {}",
            number.unwrap_or_default(),
            money::format_money(total, &currency)
        ),
        "system",
    )
    .await?;
    super::overdue::resume_if_settled(&mut tx, db, &s, today).await?;
    tx.commit().await?;
    Ok(())
}
