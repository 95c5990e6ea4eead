//! A subscription's invoice other than the first became fully paid (the
//! `subscription.invoice_paid` job): it goes on the timeline, and what waited for the payment
//! happens now: a paid plan-change invoice switches the plan and resizes the pod, and a
//! subscription suspended for an overdue invoice resumes once nothing is overdue any more
//! (`today` by the clock).

use super::plan_change::{PLAN_CHANGE, upgrade_paid};
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
    if store::invoice_reason(&mut tx, invoice_id).await?.as_deref() == Some(PLAN_CHANGE) {
        upgrade_paid(&mut tx, db, &s, invoice_id).await?;
    }
    super::overdue::resume_if_settled(&mut tx, db, &s, today).await?;
    tx.commit().await?;
    Ok(())
}
