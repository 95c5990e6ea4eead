//! The webhook inbox for staff: list, one event, the troubled count, replay.

use super::*;

/// Staff replay one verified event: back to PENDING and processed again (idempotent).
pub async fn replay(db: &Db, actor: &Actor, id: &str) -> AppResult<()> {
    if !can_view_inbox(actor) {
        return Err(AppError::Forbidden);
    }
    let mut tx = db.begin_write().await?;
    let ev = store::lock_event(&mut tx, id, &db.backend.row_lock(None))
        .await?
        .ok_or(AppError::NotFound)?;
    if !ev.status.can_replay() || store::reopen(&mut tx, id).await? == 0 {
        return Err(AppError::refused(
            "A delivery whose signature did not verify is never processed.",
        ));
    }
    enqueue_processing(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "payments.webhook_replayed",
            target_type: "webhook_event",
            target_id: id,
            summary: format!(
                "Replayed {} event {} ({})",
                ev.provider.label(),
                ev.event_id,
                ev.event_type
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    f: &EventFilter<'_>,
    req: crate::web::pagination::PageRequest,
) -> AppResult<(Vec<EventRow>, i64)> {
    if !can_view_inbox(actor) {
        return Err(AppError::Forbidden);
    }
    let rows = store::list_events(&db.pool, f, req.size, req.offset()).await?;
    let total = store::count_events(&db.pool, f).await?;
    Ok((rows, total))
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> AppResult<EventRow> {
    if !can_view_inbox(actor) {
        return Err(AppError::Forbidden);
    }
    store::get_event(&db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

/// Failed events plus events pending longer than they should (the ops overview).
pub async fn troubled_count(db: &Db, now: Timestamp) -> AppResult<i64> {
    Ok(store::count_troubled(&db.pool, now.plus_secs(-model::STUCK_AFTER_SECS)).await?)
}
