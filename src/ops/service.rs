//! What the overview's tiles read, each in one function that checks the actor may see the
//! overview and reads through the owning feature's store in the actor's scope.

use super::model::{self, KindRow};
use crate::actor::Actor;
use crate::db::{Db, Timestamp};
use crate::jobs;
use crate::web::{AppError, AppResult};

pub fn require_view(actor: &Actor) -> AppResult<()> {
    if model::can_view(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

/// Hours in the trend lines.
pub const TREND_HOURS: usize = 24;
const HOUR_MS: i64 = 3_600_000;

/// The queue tile.
pub struct QueueTile {
    pub read_at: Timestamp,
    pub rows: Vec<KindRow>,
    pub totals: Vec<i64>,
    /// The kind and age (ms) of the job that has waited longest for a worker.
    pub oldest: Option<(String, i64)>,
    /// Jobs completed in the last hour.
    pub completed_last_hour: i64,
    /// Failed attempts per hour over the last 24 hours, oldest first.
    pub failures: Vec<i64>,
    pub failures_total: i64,
}

impl QueueTile {
    pub fn oldest_age(&self) -> Option<String> {
        self.oldest.as_ref().map(|(_, ms)| model::age_words(*ms))
    }

    /// Where the oldest waiting job is listed (its kind, waiting).
    pub fn oldest_href(&self) -> Option<String> {
        self.oldest
            .as_ref()
            .map(|(kind, _)| model::jobs_href(kind, model::QueueColumn::Waiting))
    }

    /// `(column, total)` pairs for the template.
    pub fn total_cells(&self) -> Vec<(model::QueueColumn, i64)> {
        model::QueueColumn::ALL
            .iter()
            .copied()
            .zip(self.totals.iter().copied())
            .collect()
    }

    pub fn spark_points(&self) -> String {
        model::spark_points(&self.failures)
    }
}

pub async fn queues(db: &Db, actor: &Actor, now: Timestamp) -> AppResult<QueueTile> {
    require_view(actor)?;
    let scope = actor.scope();
    let counts = jobs::read::state_counts(&db.pool, &scope, now, false).await?;
    let (rows, totals) = model::queue_table(&counts);
    let oldest = jobs::read::oldest_waiting(&db.pool, &scope, now)
        .await?
        .into_iter()
        .min_by_key(|(_, due)| due.0)
        .map(|(kind, due)| (kind, now.0 - due.0));
    let completed_last_hour =
        jobs::read::completed_since(&db.pool, &scope, Timestamp(now.0 - HOUR_MS)).await?;
    // The window is (now - 24 h, now]: hour 23 ends with this instant.
    let start = Timestamp(now.0 - TREND_HOURS as i64 * HOUR_MS + 1);
    let by_hour = jobs::read::failed_attempts_by_hour(&db.pool, &scope, start).await?;
    let failures = model::hourly(&by_hour, TREND_HOURS);
    Ok(QueueTile {
        read_at: now,
        rows,
        totals,
        oldest,
        completed_last_hour,
        failures_total: failures.iter().sum(),
        failures,
    })
}

/// Users with a second factor among the active users of one side (staff or customers).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Adoption {
    pub users: i64,
    pub with_mfa: i64,
}

impl Adoption {
    /// `62 %`, or None when there is nobody to count.
    pub fn percent(&self) -> Option<i64> {
        model::percent(self.with_mfa, self.users)
    }
}

/// The security posture tile: the last 24 hours' sign-in failures, lock-outs and new API
/// tokens (from the security events), and second-factor adoption now.
pub struct SecurityTile {
    pub read_at: Timestamp,
    pub login_failed: i64,
    pub login_locked: i64,
    pub tokens_created: i64,
    pub staff: Adoption,
    pub customers: Adoption,
    /// The events list's `from` date covering the window (it filters by whole days).
    pub since_date: String,
    /// Open guardian findings by severity, worst first (zeros included).
    pub findings: Vec<(crate::ops::guardian::model::Severity, i64)>,
}

impl SecurityTile {
    /// The open findings of one severity.
    pub fn findings_href(&self, s: &crate::ops::guardian::model::Severity) -> String {
        format!("/ops/guardian?status=OPEN&severity={}", s.as_str())
    }

    /// The security events of `kind` from the window's first day on.
    pub fn events_href(&self, kind: &str) -> String {
        format!(
            "/security/events?event_type={kind}&from={}",
            self.since_date
        )
    }
}

pub async fn security(db: &Db, actor: &Actor, now: Timestamp) -> AppResult<SecurityTile> {
    use crate::security::model::EventKind;
    use crate::security::posture_store;
    require_view(actor)?;
    let scope = actor.scope();
    let since = Timestamp(now.0 - TREND_HOURS as i64 * HOUR_MS);
    let events = posture_store::event_counts_since(&db.pool, &scope, since).await?;
    let count = |k: EventKind| events.iter().filter(|(e, _)| *e == k).map(|(_, n)| n).sum();
    let mut staff = Adoption::default();
    let mut customers = Adoption::default();
    for (is_staff, users, with_mfa) in posture_store::mfa_adoption(&db.pool, &scope).await? {
        let side = if is_staff == 1 {
            &mut staff
        } else {
            &mut customers
        };
        side.users += users;
        side.with_mfa += with_mfa;
    }
    Ok(SecurityTile {
        read_at: now,
        login_failed: count(EventKind::LoginFailed),
        login_locked: count(EventKind::LoginLocked),
        tokens_created: count(EventKind::TokenCreated),
        staff,
        customers,
        since_date: since.to_string().chars().take(10).collect(),
        findings: crate::ops::guardian::service::open_counts(db, actor).await?,
    })
}

/// The billing tile: issued invoices past their due date with an amount still due, counted,
/// and what is due per currency (never summed across currencies).
pub struct BillingTile {
    pub read_at: Timestamp,
    pub overdue: i64,
    /// `EUR 1,234.00`, one per currency, in currency order.
    pub due: Vec<String>,
    /// The same amounts as (currency, minor units), for the JSON API.
    pub due_minor: Vec<(String, i64)>,
    /// The bill runs: the latest, subscriptions past their period without a new one, and
    /// periods without an invoice.
    pub runs: crate::billing::automation::reads::Health,
    /// Staff BILLING+ open the bill runs' pages; others see the figures only.
    pub may_open_runs: bool,
    /// Payment webhook events that failed or are stuck pending (see `billing::payments`).
    pub webhooks_troubled: i64,
    /// Staff ADMIN+ open the webhook inbox.
    pub may_open_webhooks: bool,
}

impl BillingTile {
    pub fn last_run_label(&self) -> String {
        match &self.runs.last_run {
            None => "never".into(),
            Some(r) => format!("{} ({} issued)", r.started_at, r.issued),
        }
    }
    pub fn last_run_status(&self) -> Option<&'static str> {
        self.runs.last_run.as_ref().map(|r| {
            crate::billing::automation::model::RunStatus::of(r.finished_at.is_some(), r.failed)
                .label()
        })
    }
    pub fn unbilled_text(&self) -> String {
        if self.runs.unbilled >= self.runs.cap {
            format!("{}+", self.runs.cap)
        } else {
            self.runs.unbilled.to_string()
        }
    }
    /// The invoice list's overdue filter: the same rows.
    pub fn href(&self) -> String {
        format!(
            "/billing/invoices?status={}",
            crate::billing::invoices::pages::OVERDUE
        )
    }
}

pub async fn billing(db: &Db, actor: &Actor, now: Timestamp) -> AppResult<BillingTile> {
    use crate::billing::invoices::store::{InvoiceFilter, Visibility, list_invoices};
    require_view(actor)?;
    let scope = actor.scope();
    let v = Visibility {
        scope: &scope,
        hide_drafts: true,
    };
    let today: String = now.to_string().chars().take(10).collect();
    let f = InvoiceFilter {
        tenant_id: "",
        status: "",
        from: "",
        until: "",
        number: "",
        overdue_on: &today,
        ..InvoiceFilter::default()
    };
    let (_, sums) = list_invoices(&db.pool, &v, &f, 0, 0).await?;
    let runs = crate::billing::automation::reads::health(db, actor, now, 100).await?;
    let webhooks_troubled = crate::billing::payments::service::troubled_count(db, now).await?;
    Ok(BillingTile {
        webhooks_troubled,
        may_open_webhooks: crate::billing::payments::service::can_view_inbox(actor),
        runs,
        may_open_runs: crate::billing::automation::service::can_run(actor),
        read_at: now,
        overdue: sums.iter().map(|s| s.count).sum(),
        due_minor: sums
            .iter()
            .map(|s| (s.currency.clone(), s.due_minor))
            .collect(),
        due: sums
            .iter()
            .map(|s| crate::billing::money::format_money(s.due_minor, &s.currency))
            .collect(),
    })
}

/// The kind of the job that provisions a pod (a first provisioning or a retry).
pub const PROVISION_KIND: &str = "cloudpod.provision";
/// Failures listed on the provisioning tile.
pub const PROVISION_FAILURES_SHOWN: i64 = 5;

/// One provisioning given up in the window: the job, and its pod when it still exists.
pub struct ProvisionFailure {
    pub job_id: String,
    pub pod_id: Option<String>,
    pub pod_name: Option<String>,
    pub error: String,
    pub at: Timestamp,
}

impl ProvisionFailure {
    pub fn pod_href(&self) -> Option<String> {
        self.pod_id.as_ref().map(|id| format!("/cloudpods/{id}"))
    }
    pub fn job_href(&self) -> String {
        format!("/ops/jobs/{}", self.job_id)
    }
}

/// The provisioning tile: provisioning jobs that ended in the last 24 hours.
pub struct ProvisioningTile {
    pub read_at: Timestamp,
    pub succeeded: i64,
    pub failed: i64,
    pub failures: Vec<ProvisionFailure>,
}

impl ProvisioningTile {
    /// Whole percent of the ended provisionings that succeeded; None when none ended.
    pub fn success_rate(&self) -> Option<i64> {
        model::percent(self.succeeded, self.succeeded + self.failed)
    }
    pub fn href(state: &str) -> String {
        let q = crate::web::pagination::filter_query(&[("kind", PROVISION_KIND), ("state", state)]);
        format!("/ops/jobs?{}", &q[1..])
    }
    pub fn succeeded_href(&self) -> String {
        Self::href("completed")
    }
    pub fn failed_href(&self) -> String {
        Self::href("discarded")
    }
}

pub async fn provisioning(db: &Db, actor: &Actor, now: Timestamp) -> AppResult<ProvisioningTile> {
    require_view(actor)?;
    let scope = actor.scope();
    let since = Timestamp(now.0 - TREND_HOURS as i64 * HOUR_MS);
    let (succeeded, failed) =
        jobs::read::outcomes_since(&db.pool, &scope, PROVISION_KIND, since).await?;
    let rows = jobs::read::discarded_since(
        &db.pool,
        &scope,
        PROVISION_KIND,
        since,
        PROVISION_FAILURES_SHOWN,
    )
    .await?;
    let mut failures = Vec::with_capacity(rows.len());
    for j in rows {
        let pod_id = j
            .subject
            .as_deref()
            .and_then(|s| s.strip_prefix("cloudpod:"))
            .map(str::to_string);
        let pod_name = match &pod_id {
            Some(id) => match crate::cloudpods::service::get(db, actor, id).await {
                Ok(p) => Some(p.name),
                Err(AppError::NotFound) => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        failures.push(ProvisionFailure {
            pod_id: pod_name.as_ref().and(pod_id),
            pod_name,
            error: j.last_error.unwrap_or_default(),
            at: j.finished_at.unwrap_or(j.updated_at),
            job_id: j.id,
        });
    }
    Ok(ProvisioningTile {
        read_at: now,
        succeeded,
        failed,
        failures,
    })
}
