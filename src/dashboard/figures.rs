//! Gathers the figures `model::tiles` grants, each from the owning feature's read function
//! (SQL stays in the features' stores, tenant-scoped by the actor), each with the list link
//! whose filter shows the same rows.

use super::model::{self, Check, Focus, Rights, Tiles};
use crate::actor::Actor;
use crate::billing::invoices::service::reads as invoice_reads;
use crate::billing::invoices::store::{
    CurrencySum, InvoiceFilter, InvoiceRow, PaymentFilter, PaymentSum,
};
use crate::billing::money::format_money;
use crate::cloudpods::model::PodStatus;
use crate::cloudpods::store::{PodFilter, PodRow};
use crate::db::Db;
use crate::db::Timestamp;
use crate::jobs::JobState;
use crate::security::event_store::EventRow;
use crate::security::reads::{self as security_reads, EventsQuery};
use crate::web::AppResult;
use crate::web::pagination::PageRequest;

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

pub async fn gather(db: &Db, actor: &Actor) -> AppResult<Dashboard> {
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
        checklist: checklist(db, actor).await?,
    };
    if t.revenue_month {
        d.revenue_month = Some(money(db, actor, &month_start, &today).await?);
    }
    if t.payments_today {
        d.payments_today = Some(money(db, actor, &today, &today).await?);
    }
    if t.open_invoices {
        d.open_invoices = Some(invoices(db, actor, "ISSUED", "", 0).await?.1);
    }
    if t.overdue_invoices {
        d.overdue_invoices = Some(invoices(db, actor, "", &today, 0).await?.1);
    }
    if t.drafts {
        d.drafts = Some(invoices(db, actor, "DRAFT", "", 0).await?.1);
    }
    if t.invoices_due {
        let (rows, summary) = invoices(db, actor, "ISSUED", "", LISTED).await?;
        d.invoices_due = Some(InvoicesDue { rows, summary });
    }
    if t.pod_counts {
        d.pod_counts = Some(pod_counts(db, actor).await?);
    }
    if t.own_pods {
        let (rows, total) =
            crate::cloudpods::reads::list_pods(db, actor, &PodFilter::default(), first(LISTED))
                .await?;
        d.own_pods = Some(OwnPods { rows, total });
    }
    if t.failing_jobs {
        d.jobs = Some(jobs(db, actor).await?);
    }
    if t.security_events {
        d.events = Some(events(db, actor, &today).await?);
    }
    Ok(d)
}

/// Successful payments less refunds dated `from..=until`: the payments list's own sums.
async fn money(db: &Db, actor: &Actor, from: &str, until: &str) -> AppResult<Money> {
    let f = PaymentFilter {
        from,
        until,
        tenant_id: "",
    };
    let sums: Vec<PaymentSum> = invoice_reads::payment_sums(db, actor, &f).await?;
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
/// invoice list's own read; the first `listed` rows of them too.
async fn invoices(
    db: &Db,
    actor: &Actor,
    status: &str,
    overdue_on: &str,
    listed: i64,
) -> AppResult<(Vec<InvoiceRow>, Invoices)> {
    let f = InvoiceFilter {
        tenant_id: "",
        status,
        from: "",
        until: "",
        number: "",
        overdue_on,
        ..InvoiceFilter::default()
    };
    let (rows, sums): (_, Vec<CurrencySum>) =
        invoice_reads::list(db, actor, &f, first(listed)).await?;
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

/// The first `n` rows of a list (0: none, only its count and sums).
fn first(n: i64) -> PageRequest {
    PageRequest { page: 1, size: n }
}

async fn pod_counts(db: &Db, actor: &Actor) -> AppResult<PodCounts> {
    let counts = crate::cloudpods::reads::status_counts(db, actor).await?;
    let of = |s: PodStatus| -> Count {
        Count {
            n: counts
                .iter()
                .filter(|(st, _)| *st == s)
                .map(|(_, n)| n)
                .sum(),
            href: format!("/cloudpods?status={}", s.as_str()),
        }
    };
    let none = counts
        .iter()
        .all(|(st, n)| *n == 0 || *st == PodStatus::Deleted);
    Ok(PodCounts {
        active: of(PodStatus::Active),
        failing: of(PodStatus::Failed),
        none,
    })
}

async fn jobs(db: &Db, actor: &Actor) -> AppResult<Jobs> {
    let counts = crate::jobs::service::state_counts(db, actor).await?;
    let of = |s: JobState| -> Count {
        Count {
            n: counts
                .iter()
                .filter(|(st, _)| *st == s)
                .map(|(_, n)| n)
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
async fn events(db: &Db, actor: &Actor, today: &str) -> AppResult<Events> {
    let q = EventsQuery {
        event_type: "",
        user: "",
        from: Timestamp::from_date(today),
        until: None,
        after: None,
    };
    let (_, n) = security_reads::events(db, actor, &q, first(0)).await?;
    let all = EventsQuery { from: None, ..q };
    let (latest, _) = security_reads::events(db, actor, &all, first(RECENT_EVENTS)).await?;
    Ok(Events {
        today: Count {
            n,
            href: format!("/security/events?from={today}"),
        },
        latest,
    })
}

async fn checklist(db: &Db, actor: &Actor) -> AppResult<Vec<Check>> {
    let own = security_reads::own_factors(db, actor).await?;
    Ok(model::checklist(
        own.mfa_on,
        own.recovery_codes_left,
        own.mfa_required,
        crate::security::can_edit_policy(actor),
    ))
}
