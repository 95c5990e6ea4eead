//! Gathers the figures `model::tiles` grants, each from the owning feature's read function
//! (SQL stays in the features' stores, tenant-scoped by the actor), each with the list link
//! whose filter shows the same rows.

use super::model::{self, Check, Focus, Rights, Tiles};
use crate::actor::Actor;
use crate::billing::invoices::store::{
    self as invoice_store, CurrencySum, InvoiceFilter, InvoiceRow, PaymentFilter, PaymentSum,
    Visibility,
};
use crate::billing::money::format_money;
use crate::cloudpods::model::PodStatus;
use crate::cloudpods::store::{self as pod_store, PodFilter, PodRow};
use crate::db::Timestamp;
use crate::jobs::JobState;
use crate::security::event_store::{self, EventFilter, EventRow};
use crate::state::AppState;
use crate::web::AppResult;

/// A count with the list that shows those rows.
pub struct Count {
    pub n: i64,
    pub href: String,
}

/// Money per currency (never summed across currencies), with the list behind it.
pub struct Money {
    pub count: i64,
    /// `EUR 1,234.00`, one per currency, in currency order.
    pub amounts: Vec<String>,
    pub href: String,
}

/// Invoices counted, with the amount still due per currency.
pub struct Invoices {
    pub count: i64,
    pub due: Vec<String>,
    pub href: String,
}

pub struct PodCounts {
    pub active: Count,
    pub failing: Count,
    /// No pods at all (deleted ones aside).
    pub none: bool,
}

pub struct Jobs {
    pub failed: Count,
    pub retrying: Count,
}

pub struct Events {
    pub today: Count,
    pub latest: Vec<EventRow>,
}

pub struct OwnPods {
    pub rows: Vec<PodRow>,
    pub total: i64,
}

pub struct InvoicesDue {
    pub rows: Vec<InvoiceRow>,
    pub summary: Invoices,
}

/// Everything the page shows; `None` where the role does not get the figure.
pub struct Dashboard {
    pub today: String,
    pub month_start: String,
    pub can_create_pods: bool,
    pub revenue_month: Option<Money>,
    pub payments_today: Option<Money>,
    pub open_invoices: Option<Invoices>,
    pub overdue_invoices: Option<Invoices>,
    pub drafts: Option<Invoices>,
    pub pod_counts: Option<PodCounts>,
    pub own_pods: Option<OwnPods>,
    pub invoices_due: Option<InvoicesDue>,
    pub jobs: Option<Jobs>,
    pub events: Option<Events>,
    pub checklist: Vec<Check>,
}

/// How many pods and due invoices a customer sees listed on the dashboard.
const LISTED: i64 = 10;
/// How many recent security events staff see.
const RECENT_EVENTS: i64 = 5;

impl Dashboard {
    /// Whether any figure tile is shown (customers have lists and the checklist only).
    pub fn has_figures(&self) -> bool {
        self.revenue_month.is_some()
            || self.payments_today.is_some()
            || self.open_invoices.is_some()
            || self.overdue_invoices.is_some()
            || self.drafts.is_some()
            || self.pod_counts.is_some()
            || self.jobs.is_some()
            || self.events.is_some()
    }
}

pub fn rights(actor: &Actor) -> Rights {
    Rights {
        invoices: crate::billing::invoices::service::can_read(actor),
        pods: crate::cloudpods::service::can_read(actor),
        create_pods: crate::cloudpods::service::can_manage(actor),
        jobs: crate::jobs::model::can_view(actor),
        security_events: crate::security::can_view_events(actor),
    }
}

pub async fn gather(state: &AppState, actor: &Actor) -> AppResult<Dashboard> {
    let r = rights(actor);
    let t: Tiles = model::tiles(Focus::of(actor.is_staff, actor.role), r);
    let today_date = time::OffsetDateTime::now_utc().date();
    let today = today_date.to_string();
    let month_start = model::month_start(today_date);
    let mut d = Dashboard {
        today: today.clone(),
        month_start: month_start.clone(),
        can_create_pods: r.create_pods,
        revenue_month: None,
        payments_today: None,
        open_invoices: None,
        overdue_invoices: None,
        drafts: None,
        pod_counts: None,
        own_pods: None,
        invoices_due: None,
        jobs: None,
        events: None,
        checklist: checklist(state, actor).await?,
    };
    if t.revenue_month {
        d.revenue_month = Some(money(state, actor, &month_start, &today).await?);
    }
    if t.payments_today {
        d.payments_today = Some(money(state, actor, &today, &today).await?);
    }
    if t.open_invoices {
        d.open_invoices = Some(invoices(state, actor, "ISSUED", "", 0).await?.1);
    }
    if t.overdue_invoices {
        d.overdue_invoices = Some(invoices(state, actor, "", &today, 0).await?.1);
    }
    if t.drafts {
        d.drafts = Some(invoices(state, actor, "DRAFT", "", 0).await?.1);
    }
    if t.invoices_due {
        let (rows, summary) = invoices(state, actor, "ISSUED", "", LISTED).await?;
        d.invoices_due = Some(InvoicesDue { rows, summary });
    }
    if t.pod_counts {
        d.pod_counts = Some(pod_counts(state, actor).await?);
    }
    if t.own_pods {
        let (rows, total) = pod_store::list(
            &state.db.pool,
            &actor.scope(),
            &PodFilter::default(),
            LISTED,
            0,
        )
        .await?;
        d.own_pods = Some(OwnPods { rows, total });
    }
    if t.failing_jobs {
        d.jobs = Some(jobs(state, actor).await?);
    }
    if t.security_events {
        d.events = Some(events(state, actor, &today).await?);
    }
    Ok(d)
}

/// Successful payments less refunds dated `from..=until`: the payments list's own sums.
async fn money(state: &AppState, actor: &Actor, from: &str, until: &str) -> AppResult<Money> {
    let f = PaymentFilter {
        from,
        until,
        tenant_id: "",
    };
    let sums: Vec<PaymentSum> =
        invoice_store::payment_sums(&state.db.pool, &actor.scope(), &f).await?;
    Ok(Money {
        count: sums.iter().map(|s| s.count).sum(),
        amounts: sums
            .iter()
            .map(|s| format_money(s.net_minor(), &s.currency))
            .collect(),
        href: format!("/billing/payments?from={from}&until={until}"),
    })
}

/// Invoices of one stored status, or (`overdue_on` set) the overdue ones, through the
/// invoice list's own query; `listed` rows of them too.
async fn invoices(
    state: &AppState,
    actor: &Actor,
    status: &str,
    overdue_on: &str,
    listed: i64,
) -> AppResult<(Vec<InvoiceRow>, Invoices)> {
    let (scope, hide_drafts) = crate::billing::invoices::service::visibility(actor);
    let f = InvoiceFilter {
        tenant_id: "",
        status,
        from: "",
        until: "",
        number: "",
        overdue_on,
    };
    let v = Visibility {
        scope: &scope,
        hide_drafts,
    };
    let (rows, sums): (_, Vec<CurrencySum>) =
        invoice_store::list_invoices(&state.db.pool, &v, &f, listed, 0).await?;
    let filter = if overdue_on.is_empty() {
        status
    } else {
        crate::billing::invoices::pages::OVERDUE
    };
    Ok((
        rows,
        Invoices {
            count: sums.iter().map(|s| s.count).sum(),
            due: sums
                .iter()
                .map(|s| format_money(s.due_minor, &s.currency))
                .collect(),
            href: format!("/billing/invoices?status={filter}"),
        },
    ))
}

async fn pod_counts(state: &AppState, actor: &Actor) -> AppResult<PodCounts> {
    let counts = pod_store::status_counts(&state.db.pool, &actor.scope()).await?;
    let of = |s: PodStatus| -> Count {
        Count {
            n: counts
                .iter()
                .filter(|(st, _)| PodStatus::parse(st) == Some(s))
                .map(|(_, n)| n)
                .sum(),
            href: format!("/cloudpods?status={}", s.as_str()),
        }
    };
    let none = counts
        .iter()
        .all(|(st, n)| *n == 0 || PodStatus::parse(st) == Some(PodStatus::Deleted));
    Ok(PodCounts {
        active: of(PodStatus::Active),
        failing: of(PodStatus::Failed),
        none,
    })
}

async fn jobs(state: &AppState, actor: &Actor) -> AppResult<Jobs> {
    let counts = crate::jobs::store::counts(&state.db.pool, &actor.scope()).await?;
    let of = |s: JobState| -> Count {
        Count {
            n: counts
                .iter()
                .filter(|(_, st, _)| *st == s)
                .map(|(_, _, n)| n)
                .sum(),
            href: format!("/ops/jobs?state={}", s.as_str()),
        }
    };
    Ok(Jobs {
        failed: of(JobState::Discarded),
        retrying: of(JobState::Retryable),
    })
}

/// Security events since midnight UTC, as the events list filtered `from` today shows them.
async fn events(state: &AppState, actor: &Actor, today: &str) -> AppResult<Events> {
    let scope = actor.scope();
    let f = EventFilter {
        scope: &scope,
        event_type: "",
        user: "",
        from: Timestamp::from_date(today),
        until: None,
    };
    let (_, n) = event_store::list_events(&state.db.pool, &f, 0, 0).await?;
    let all = EventFilter { from: None, ..f };
    let (latest, _) = event_store::list_events(&state.db.pool, &all, RECENT_EVENTS, 0).await?;
    Ok(Events {
        today: Count {
            n,
            href: format!("/security/events?from={today}"),
        },
        latest,
    })
}

async fn checklist(state: &AppState, actor: &Actor) -> AppResult<Vec<Check>> {
    let pool = &state.db.pool;
    let mfa_on = crate::security::store::mfa(pool, &actor.user_id)
        .await?
        .is_some_and(|m| m.enabled == 1);
    let codes = if mfa_on {
        crate::security::store::unused_recovery_codes(pool, &actor.user_id).await?
    } else {
        0
    };
    let policy = crate::security::store::policy(pool, &actor.tenant_id).await?;
    Ok(model::checklist(
        mfa_on,
        codes,
        policy.require_mfa,
        crate::security::can_edit_policy(actor),
    ))
}
