//! `GET /api/v1/ops/platform-overview` (staff, READ): the figures of every `/ops` tile as JSON,
//! read by the same functions the tiles use (`ops::service`, `ops::nodes::tile`), never
//! recomputed here.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use super::model::QueueColumn;
use super::nodes::tile::NodesTile;
use super::service::{self, BillingTile, ProvisioningTile, QueueTile, SecurityTile};
use crate::api::{ApiActor, ApiError, ApiMoney, rfc3339};
use crate::db::Timestamp;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/ops/platform-overview", get(overview))
}

#[derive(OpenApi)]
#[openapi(
    paths(overview),
    components(schemas(Overview, Queues, QueueCounts, KindCounts, OldestWaiting, Provisioning,
        ProvisioningFailure, Billing, LastBillRun, Security, Adoption, SeverityCount, Nodes,
        Node, StatusCount)),
    tags((name = "ops", description = "The operations overview (staff)"))
)]
struct Doc;

pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// Every tile of `/ops`.
#[derive(Serialize, ToSchema)]
pub struct Overview {
    /// RFC 3339, UTC: when the figures were read.
    pub read_at: String,
    pub queues: Queues,
    pub provisioning: Provisioning,
    pub billing: Billing,
    pub security: Security,
    pub nodes: Nodes,
}

/// Jobs by queue column (completed jobs are history, not queue).
#[derive(Serialize, ToSchema, Default)]
pub struct QueueCounts {
    /// Due and waiting for a worker.
    pub waiting: i64,
    /// Available, their time not yet come.
    pub scheduled: i64,
    pub running: i64,
    pub retryable: i64,
    /// Failed for good.
    pub discarded: i64,
    pub cancelled: i64,
}

impl QueueCounts {
    fn of(counts: &[i64]) -> QueueCounts {
        let mut q = QueueCounts::default();
        for (col, n) in QueueColumn::ALL.iter().zip(counts) {
            let slot = match col {
                QueueColumn::Waiting => &mut q.waiting,
                QueueColumn::Scheduled => &mut q.scheduled,
                QueueColumn::Running => &mut q.running,
                QueueColumn::Retryable => &mut q.retryable,
                QueueColumn::Discarded => &mut q.discarded,
                QueueColumn::Cancelled => &mut q.cancelled,
            };
            *slot = *n;
        }
        q
    }
}

#[derive(Serialize, ToSchema)]
pub struct KindCounts {
    pub kind: String,
    pub counts: QueueCounts,
}

#[derive(Serialize, ToSchema)]
pub struct OldestWaiting {
    pub kind: String,
    /// How long it has waited, in milliseconds.
    pub age_ms: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Queues {
    pub totals: QueueCounts,
    pub by_kind: Vec<KindCounts>,
    /// The job that has waited longest for a worker; absent when none waits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest_waiting: Option<OldestWaiting>,
    pub completed_last_hour: i64,
    /// Failed attempts per hour over the last 24 hours, oldest first.
    pub failures_by_hour: Vec<i64>,
    pub failures_total: i64,
}

fn queues(q: &QueueTile) -> Queues {
    Queues {
        totals: QueueCounts::of(&q.totals),
        by_kind: q
            .rows
            .iter()
            .map(|r| KindCounts {
                kind: r.kind.clone(),
                counts: QueueCounts::of(&r.counts),
            })
            .collect(),
        oldest_waiting: q.oldest.as_ref().map(|(kind, age_ms)| OldestWaiting {
            kind: kind.clone(),
            age_ms: *age_ms,
        }),
        completed_last_hour: q.completed_last_hour,
        failures_by_hour: q.failures.clone(),
        failures_total: q.failures_total,
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProvisioningFailure {
    pub job_id: String,
    /// The pod, when it still exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pod_name: Option<String>,
    pub error: String,
    /// RFC 3339, UTC.
    pub at: String,
}

/// Provisioning jobs that ended in the last 24 hours.
#[derive(Serialize, ToSchema)]
pub struct Provisioning {
    pub succeeded: i64,
    pub failed: i64,
    /// Whole percent; absent when none ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub success_rate_percent: Option<i64>,
    /// The latest failures (at most 5).
    pub failures: Vec<ProvisioningFailure>,
}

fn provisioning(p: &ProvisioningTile) -> Provisioning {
    Provisioning {
        succeeded: p.succeeded,
        failed: p.failed,
        success_rate_percent: p.success_rate(),
        failures: p
            .failures
            .iter()
            .map(|f| ProvisioningFailure {
                job_id: f.job_id.clone(),
                pod_id: f.pod_id.clone(),
                pod_name: f.pod_name.clone(),
                error: f.error.clone(),
                at: rfc3339(f.at),
            })
            .collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct LastBillRun {
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// RFC 3339, UTC; absent while it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<String>,
    pub issued: i64,
    pub failed: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Billing {
    /// Issued invoices past their due date with an amount still due.
    pub overdue_invoices: i64,
    /// What those invoices still owe, per currency (never summed across currencies).
    pub overdue_due: Vec<ApiMoney>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_bill_run: Option<LastBillRun>,
    /// Subscriptions past their period without a new one.
    pub lagging_subscriptions: i64,
    /// Current periods without an invoice (counted up to `unbilled_cap`).
    pub unbilled_periods: i64,
    pub unbilled_cap: i64,
    /// Payment webhook events failed or stuck pending.
    pub webhooks_troubled: i64,
}

fn billing(b: &BillingTile) -> Billing {
    Billing {
        overdue_invoices: b.overdue,
        overdue_due: b
            .due_minor
            .iter()
            .map(|(currency, minor)| ApiMoney::new(*minor, currency))
            .collect(),
        last_bill_run: b.runs.last_run.as_ref().map(|r| LastBillRun {
            id: r.id.clone(),
            started_at: rfc3339(r.started_at),
            finished_at: r.finished_at.map(rfc3339),
            issued: r.issued,
            failed: r.failed,
        }),
        lagging_subscriptions: b.runs.lagging,
        unbilled_periods: b.runs.unbilled as i64,
        unbilled_cap: b.runs.cap as i64,
        webhooks_troubled: b.webhooks_troubled,
    }
}

/// Active users of one side with a second factor.
#[derive(Serialize, ToSchema)]
pub struct Adoption {
    pub users: i64,
    pub with_mfa: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SeverityCount {
    /// CRITICAL, HIGH, MEDIUM or LOW.
    pub severity: String,
    pub open: i64,
}

/// The last 24 hours' security events, second-factor adoption, open guardian findings.
#[derive(Serialize, ToSchema)]
pub struct Security {
    pub login_failed: i64,
    pub login_locked: i64,
    pub tokens_created: i64,
    pub staff_mfa: Adoption,
    pub customer_mfa: Adoption,
    /// Open guardian findings by severity, worst first (zeros included).
    pub open_findings: Vec<SeverityCount>,
}

fn security(s: &SecurityTile) -> Security {
    let adoption = |a: &service::Adoption| Adoption {
        users: a.users,
        with_mfa: a.with_mfa,
    };
    Security {
        login_failed: s.login_failed,
        login_locked: s.login_locked,
        tokens_created: s.tokens_created,
        staff_mfa: adoption(&s.staff),
        customer_mfa: adoption(&s.customers),
        open_findings: s
            .findings
            .iter()
            .map(|(sev, n)| SeverityCount {
                severity: sev.as_str().to_string(),
                open: *n,
            })
            .collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct Node {
    pub id: String,
    pub hostname: String,
    /// UP, DOWN, DEGRADED (flapping), MAINTENANCE or UNKNOWN.
    pub status: String,
    /// RFC 3339, UTC; absent before the first probe.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_check_at: Option<String>,
}

/// The core nodes (the worst twenty, as on the tile; every node counted by status) and their
/// 24-hour trends.
#[derive(Serialize, ToSchema)]
pub struct Nodes {
    pub down: i64,
    /// Registered nodes.
    pub total: i64,
    /// Nodes per shown status (UP, DOWN, DEGRADED, UNKNOWN, MAINTENANCE); statuses with none
    /// left out.
    pub by_status: Vec<StatusCount>,
    /// The worst twenty, the worst first.
    pub nodes: Vec<Node>,
    /// Failed probes per hour, oldest first.
    pub failures_by_hour: Vec<i64>,
    pub failures_total: i64,
    /// Mean pushed CPU % per hour, oldest first (0 for hours without samples).
    pub cpu_by_hour: Vec<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct StatusCount {
    pub status: String,
    pub nodes: i64,
}

fn nodes(n: &NodesTile) -> Nodes {
    Nodes {
        down: n.down() as i64,
        total: n.total as i64,
        by_status: n
            .by_status
            .iter()
            .map(|(s, c)| StatusCount {
                status: s.as_str().to_string(),
                nodes: *c as i64,
            })
            .collect(),
        nodes: n
            .nodes
            .iter()
            .map(|v| Node {
                id: v.row.id.clone(),
                hostname: v.row.hostname.clone(),
                status: v.shown.as_str().to_string(),
                last_check_at: v.row.last_check_at.map(rfc3339),
            })
            .collect(),
        failures_by_hour: n.failures.clone(),
        failures_total: n.failures_total,
        cpu_by_hour: n.cpu.clone(),
    }
}

/// Every `/ops` tile's figures (staff only).
#[utoipa::path(get, path = "/api/v1/ops/platform-overview", tag = "ops",
    description = "Scope: READ. Staff.",
    responses((status = 200, description = "The overview's figures", body = Overview)))]
async fn overview(
    State(state): State<AppState>,
    api: ApiActor,
) -> Result<Json<Overview>, ApiError> {
    api.read()?;
    let a = &api.actor;
    // As the page reads them: instants now, schedules on the panel's clock.
    let now = Timestamp::now();
    let q = service::queues(&state.db, a, now).await?;
    let s = service::security(&state.db, a, now).await?;
    let b = service::billing(&state.db, a, state.clock.now()).await?;
    let p = service::provisioning(&state.db, a, now).await?;
    let n = super::nodes::tile::read(&state.db, a, state.clock.now()).await?;
    Ok(Json(Overview {
        read_at: rfc3339(now),
        queues: queues(&q),
        provisioning: provisioning(&p),
        billing: billing(&b),
        security: security(&s),
        nodes: nodes(&n),
    }))
}
