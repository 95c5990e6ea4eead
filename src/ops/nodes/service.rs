//! Core nodes: what staff do to them (register, change, delete, silence — audited), what the
//! overview and `/ops/servers` read, and the probe pass the worker runs.

use super::model::{self, NodeForm, ShownStatus};
use super::probe_store::{self, HourRow, ProbeRow};
use super::store::{self, NodeRow};
use crate::actor::Actor;
use crate::audit::{self, AuditEvent};
use crate::db::{Db, Timestamp};
use crate::web::forms::OnUnique;
use crate::web::{AppError, AppResult, FieldErrors};

/// A node as people see it.
pub struct NodeView {
    pub row: NodeRow,
    pub shown: ShownStatus,
}

impl NodeView {
    pub fn of(row: NodeRow, now: Timestamp) -> NodeView {
        let in_maintenance = row.maintenance_until.is_some_and(|t| t > now);
        let shown = ShownStatus::of(row.status, row.flapping == 1, in_maintenance);
        NodeView { row, shown }
    }

    pub fn href(&self) -> String {
        format!("/ops/servers/{}", self.row.id)
    }

    pub fn check_text(&self) -> String {
        match self.row.check_kind {
            model::CheckKind::Tcp => format!(
                "TCP {}:{}",
                self.row.address,
                self.row.check_port.unwrap_or_default()
            ),
            model::CheckKind::Http => format!(
                "{} → {}",
                self.row.check_url,
                self.row.expected_status.unwrap_or(200)
            ),
        }
    }

    pub fn cpu(&self) -> Option<String> {
        self.row
            .cpu_pct_x100
            .map(|v| format!("{} %", model::hundredths(v)))
    }
    pub fn ram(&self) -> Option<String> {
        Some(format!(
            "{} of {}",
            model::bytes_words(self.row.mem_used_bytes?),
            model::bytes_words(self.row.mem_total_bytes?)
        ))
    }
    pub fn disk(&self) -> Option<String> {
        Some(format!(
            "{} of {}",
            model::bytes_words(self.row.disk_used_bytes?),
            model::bytes_words(self.row.disk_total_bytes?)
        ))
    }
    pub fn load(&self) -> Option<String> {
        self.row.load1_x100.map(model::hundredths)
    }
    pub fn latency(&self) -> Option<String> {
        self.row.last_latency_ms.map(|ms| format!("{ms} ms"))
    }
    pub fn last_check(&self) -> Option<String> {
        self.row
            .last_check_at
            .map(|t| crate::jobs::model::precise(&t))
    }
    pub fn maintenance_until(&self) -> Option<String> {
        (self.shown == ShownStatus::Maintenance)
            .then(|| {
                self.row
                    .maintenance_until
                    .map(|t| crate::jobs::model::precise(&t))
            })
            .flatten()
    }
}

fn require_view(actor: &Actor) -> AppResult<()> {
    if crate::ops::model::can_view(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

fn require_manage(actor: &Actor) -> AppResult<()> {
    if model::can_manage(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Every node, the worst first (DOWN, DEGRADED, UNKNOWN, MAINTENANCE, UP), then by name.
pub async fn list(db: &Db, actor: &Actor, now: Timestamp) -> AppResult<Vec<NodeView>> {
    require_view(actor)?;
    let mut nodes: Vec<NodeView> = store::list(&db.pool, &actor.scope(), now)
        .await?
        .into_iter()
        .map(|r| NodeView::of(r, now))
        .collect();
    nodes.sort_by(|a, b| (a.shown.rank(), &a.row.hostname).cmp(&(b.shown.rank(), &b.row.hostname)));
    Ok(nodes)
}

pub async fn get(db: &Db, actor: &Actor, id: &str, now: Timestamp) -> AppResult<NodeView> {
    require_view(actor)?;
    let row = store::get(&db.pool, &actor.scope(), id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(NodeView::of(row, now))
}

/// A node's latest probes and its hourly roll-ups, newest first.
pub async fn history(db: &Db, node: &NodeView) -> AppResult<(Vec<ProbeRow>, Vec<HourRow>)> {
    Ok((
        probe_store::recent_probes(&db.pool, &node.row.id, 50).await?,
        probe_store::hourly(&db.pool, &node.row.id, 48).await?,
    ))
}

const HOSTNAME_TAKEN: &str = "A node with this host name is registered already.";

pub async fn create(db: &Db, actor: &Actor, form: &NodeForm, now: Timestamp) -> AppResult<String> {
    require_manage(actor)?;
    let input = model::check_form(form).map_err(AppError::Invalid)?;
    let mut tx = db.begin_write().await?;
    let id = store::insert(&mut tx, &actor.tenant_id, &input, now)
        .await
        .unique_field("hostname", HOSTNAME_TAKEN)?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "ops.node.create",
            target_type: "node",
            target_id: &id,
            summary: format!(
                "Registered {} node {} ({}, checked every {} s)",
                input.node_type.label(),
                input.hostname,
                input.address,
                input.interval_secs
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

pub async fn update(
    db: &Db,
    actor: &Actor,
    id: &str,
    form: &NodeForm,
    now: Timestamp,
) -> AppResult<()> {
    require_manage(actor)?;
    let input = model::check_form(form).map_err(AppError::Invalid)?;
    let mut tx = db.begin_write().await?;
    let old = store::get(&mut *tx, &actor.scope(), id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    let (port, url, expected) = match &input.check {
        model::Check::Tcp { port } => (Some(i64::from(*port)), String::new(), None),
        model::Check::Http {
            url,
            expected_status,
        } => (None, url.clone(), Some(i64::from(*expected_status))),
    };
    // Another address or check: what the probes said no longer holds.
    let reset = old.address != input.address
        || old.check_kind != input.check.kind()
        || old.check_port != port
        || old.check_url != url
        || old.expected_status != expected;
    store::update(&mut tx, id, &input, reset, now)
        .await
        .unique_field("hostname", HOSTNAME_TAKEN)?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "ops.node.update",
            target_type: "node",
            target_id: id,
            summary: format!(
                "Changed node {}{}",
                input.hostname,
                if reset {
                    " (new check: status starts afresh)"
                } else {
                    ""
                }
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What a delete would remove, for the confirmation (the same refusals as the delete).
pub async fn check_delete(db: &Db, actor: &Actor, id: &str, now: Timestamp) -> AppResult<NodeView> {
    require_manage(actor)?;
    get(db, actor, id, now).await
}

pub async fn delete(db: &Db, actor: &Actor, id: &str, now: Timestamp) -> AppResult<String> {
    require_manage(actor)?;
    let mut tx = db.begin_write().await?;
    let node = store::get(&mut *tx, &actor.scope(), id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    store::delete(&mut tx, id).await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "ops.node.delete",
            target_type: "node",
            target_id: id,
            summary: format!("Deleted node {} and its probe history", node.hostname),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(node.hostname)
}

pub const MAX_MAINTENANCE_MINUTES: i64 = 7 * 24 * 60;

/// Silences the node from now for `minutes`.
pub async fn start_maintenance(
    db: &Db,
    actor: &Actor,
    id: &str,
    minutes: &str,
    reason: &str,
    now: Timestamp,
) -> AppResult<Timestamp> {
    require_manage(actor)?;
    let mut e = FieldErrors::new();
    let minutes = minutes.trim().parse::<i64>().ok();
    if !minutes.is_some_and(|m| (1..=MAX_MAINTENANCE_MINUTES).contains(&m)) {
        e.add(
            "minutes",
            "Enter the window's length in minutes (at most a week).",
        );
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        e.add("reason", "Say why (at most 200 characters).");
    }
    e.into_result().map_err(AppError::Invalid)?;
    let ends = now.plus_secs(minutes.unwrap_or(1) * 60);
    let mut tx = db.begin_write().await?;
    let node = store::get(&mut *tx, &actor.scope(), id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    store::add_maintenance(&mut tx, id, now, ends, reason, &actor.email).await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "ops.node.maintenance",
            target_type: "node",
            target_id: id,
            summary: format!(
                "Maintenance of {} until {}: {reason}",
                node.hostname,
                crate::jobs::model::precise(&ends)
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ends)
}

pub async fn end_maintenance(db: &Db, actor: &Actor, id: &str, now: Timestamp) -> AppResult<()> {
    require_manage(actor)?;
    let mut tx = db.begin_write().await?;
    let node = store::get(&mut *tx, &actor.scope(), id, now)
        .await?
        .ok_or(AppError::NotFound)?;
    if store::end_maintenance(&mut tx, id, now).await? == 0 {
        return Err(AppError::Refused(
            "The node is not in a maintenance window.".into(),
        ));
    }
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "ops.node.maintenance_end",
            target_type: "node",
            target_id: id,
            summary: format!("Ended the maintenance of {}", node.hostname),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Stores metrics a node pushed, on the node the actor's scope finds by id or host name;
/// None when there is none (nothing stored).
pub async fn push_metrics(
    db: &Db,
    actor: &Actor,
    node_key: &str,
    metrics: &store::Metrics,
    now: Timestamp,
) -> AppResult<Option<NodeRow>> {
    let mut tx = db.begin_write().await?;
    let Some(node) = store::find(&mut *tx, &actor.scope(), node_key, now).await? else {
        return Ok(None);
    };
    store::record_metrics(&mut tx, &node.id, metrics).await?;
    tx.commit().await?;
    Ok(Some(node))
}
