//! Guardian findings: recording what the agent reports (through the API, on a pod the
//! token's scope finds), the staff list, triage (resolve or ignore with a reason, audited),
//! and what a pod's page shows.

use super::model::{self, FindingStatus, Severity};
use super::store::{self, Filter, FindingRow, NewFinding};
use crate::actor::Actor;
use crate::audit::{self, AuditEvent};
use crate::db::{Db, Timestamp};
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult, FieldErrors};

/// A finding as reported, before it is checked.
pub struct Report<'a> {
    pub key: &'a str,
    pub severity: &'a str,
    pub title: &'a str,
    pub detail: &'a str,
}

/// Checks a report: the first wrong field and why.
pub fn check(r: &Report<'_>) -> Result<Severity, (&'static str, String)> {
    if !model::valid_key(r.key) {
        return Err((
            "key",
            format!(
                "key must be 1–{} characters of letters, digits and . _ - : /.",
                model::MAX_KEY
            ),
        ));
    }
    let severity = Severity::parse(r.severity).ok_or((
        "severity",
        "severity must be CRITICAL, HIGH, MEDIUM or LOW.".to_string(),
    ))?;
    let title = r.title.trim();
    if title.is_empty() || title.chars().count() > model::MAX_TITLE {
        return Err((
            "title",
            format!("title must be 1–{} characters.", model::MAX_TITLE),
        ));
    }
    if r.detail.chars().count() > model::MAX_DETAIL {
        return Err((
            "detail",
            format!("detail is longer than {} characters.", model::MAX_DETAIL),
        ));
    }
    Ok(severity)
}

/// Records a checked report on the pod (whose tenant the caller found in the actor's scope).
/// Returns the finding's id and whether it is new (false: the same key seen again).
pub async fn record(
    db: &Db,
    pod_id: &str,
    pod_tenant: &str,
    r: &Report<'_>,
    severity: Severity,
    now: Timestamp,
) -> AppResult<(String, bool)> {
    let mut tx = db.begin_write().await?;
    let out = store::upsert(
        &mut tx,
        &NewFinding {
            tenant_id: pod_tenant,
            pod_id,
            key: r.key,
            severity,
            title: r.title.trim(),
            detail: r.detail,
            now,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(out)
}

pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &Filter<'_>,
    req: PageRequest,
) -> AppResult<(Vec<FindingRow>, i64)> {
    if !actor.is_staff {
        return Err(AppError::Forbidden);
    }
    Ok(store::list(&db.pool, &actor.scope(), filter, req.size, req.offset()).await?)
}

/// The findings on one pod the actor sees (its own pods for a customer), the latest first.
pub async fn for_pod(db: &Db, actor: &Actor, pod_id: &str) -> AppResult<Vec<FindingRow>> {
    let filter = Filter {
        pod_id,
        ..Filter::default()
    };
    Ok(store::list(&db.pool, &actor.scope(), &filter, 50, 0)
        .await?
        .0)
}

/// Open findings by severity, every severity listed (zeros included), worst first.
pub async fn open_counts(db: &Db, actor: &Actor) -> AppResult<Vec<(Severity, i64)>> {
    let rows = store::open_by_severity(&db.pool, &actor.scope()).await?;
    Ok(Severity::ALL
        .iter()
        .map(|s| {
            let n = rows.iter().filter(|(x, _)| x == s).map(|(_, n)| n).sum();
            (*s, n)
        })
        .collect())
}

/// Resolves or ignores an open finding with a reason.
pub async fn close(
    db: &Db,
    actor: &Actor,
    id: &str,
    to: FindingStatus,
    reason: &str,
    now: Timestamp,
) -> AppResult<FindingRow> {
    if !model::can_triage(actor) {
        return Err(AppError::Forbidden);
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > model::MAX_REASON {
        return Err(AppError::Invalid(FieldErrors::one(
            "reason",
            format!("Say why (at most {} characters).", model::MAX_REASON),
        )));
    }
    let mut tx = db.begin_write().await?;
    let f = store::get(&mut *tx, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !f.status.can_close() || to == FindingStatus::Open {
        return Err(AppError::Refused(format!(
            "This finding is {} already.",
            f.status.label().to_lowercase()
        )));
    }
    store::close(&mut tx, id, to, reason, &actor.email, now).await?;
    let verb = if to == FindingStatus::Resolved {
        "Resolved"
    } else {
        "Ignored"
    };
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&f.tenant_id),
            action: if to == FindingStatus::Resolved {
                "guardian.finding.resolve"
            } else {
                "guardian.finding.ignore"
            },
            target_type: "guardian_finding",
            target_id: id,
            summary: format!(
                "{verb} {} finding “{}” on {}: {reason}",
                f.severity.label(),
                f.title,
                f.pod_name
            ),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(f)
}
