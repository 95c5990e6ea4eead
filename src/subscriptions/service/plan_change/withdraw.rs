//! Withdrawing a scheduled downgrade before it takes effect: the subscription keeps its plan.
//! Once the next period's renewal invoice is issued (it bills the new plan) the change stands;
//! the refusal says so.

use super::*;

pub async fn withdraw_downgrade(db: &Db, actor: &Actor, id: &str) -> AppResult<String> {
    if !can_change_plan(actor) {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let Some(to) = s.pending_product_id.clone() else {
        return Err(AppError::refused("No plan change is scheduled."));
    };
    if let Some(next) = next_period(&s)?
        && store::period_invoice(&mut tx, &s.id, RENEWAL, next)
            .await?
            .is_some()
    {
        return Err(AppError::refused(format!(
            "The renewal invoice for the period from {} is already issued for the new plan; \
             the change can no longer be withdrawn.",
            next.0.date()
        )));
    }
    store::set_pending_product(&mut tx, &s.id, None).await?;
    let name = catalog_store::get_product(&db.pool, &to)
        .await?
        .map_or_else(|| "another plan".to_string(), |p| p.name);
    let summary = format!(
        "Scheduled downgrade to {name} withdrawn: {} stays",
        s.product_name
    );
    timeline(&mut tx, &s.id, "plan", &summary, &actor.email).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &s.tenant_id,
            "subscription.downgrade_withdrawn",
            &s.id,
            summary,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(format!(
        "The downgrade to {name} is withdrawn: {} renews as it is.",
        s.product_name
    ))
}
