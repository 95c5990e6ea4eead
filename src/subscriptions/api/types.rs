//! The JSON shapes of `/api/v1/billing/subscriptions`, built from the service's rows and
//! reads: amounts as minor units with their currency, instants RFC 3339 in UTC.

use serde::Serialize;
use utoipa::ToSchema;

use crate::api::{ApiMoney, rfc3339};
use crate::subscriptions::model::SuspendReason;
use crate::subscriptions::service::{Detail, MetricUsage, PlanQuote, Quote, QuoteLine, Recorded};
use crate::subscriptions::store::SubscriptionRow;
use crate::subscriptions::store::usage::UsageRow;

#[derive(Serialize, ToSchema)]
pub struct Subscription {
    pub id: String,
    pub tenant: Ref,
    pub product: ProductRef,
    /// PENDING_ACTIVATION, ACTIVE, SUSPENDED, CANCEL_AT_PERIOD_END, CANCELLED, EXPIRED or
    /// ACTIVATION_FAILED.
    pub status: String,
    /// MONTHLY, YEARLY or HOURLY.
    pub period: String,
    pub quantity: i64,
    /// ISO 4217 code the subscription is billed in.
    pub currency: String,
    /// The CloudPod's name (CloudPod subscriptions).
    pub pod_name: String,
    pub region: String,
    pub cloudpod_id: Option<String>,
    /// False once it is set to cancel at the period's end.
    pub auto_renew: bool,
    /// RFC 3339, UTC; the end of a trial.
    pub trial_ends_at: Option<String>,
    /// The period running now; null until activated.
    pub current_period: Option<PeriodOut>,
    /// RFC 3339, UTC: an unpaid order expires then.
    pub expires_at: Option<String>,
    pub failure_reason: String,
    /// STAFF or OVERDUE while suspended; null otherwise.
    pub suspend_reason: Option<String>,
    /// A scheduled downgrade: the product the next period switches to.
    pub pending_product_id: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC.
    pub updated_at: String,
    /// The items (only on a single subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<Vec<Item>>,
    /// Its invoices, oldest first (only on a single subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoices: Option<Vec<InvoiceRef>>,
    /// The open period's unbilled usage per metered item (only on a single subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Vec<MetricOut>>,
    /// Its timeline, oldest first (only on a single subscription).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<EventOut>>,
    /// A plan change that waits (an unpaid upgrade, a scheduled downgrade), in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_change: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Ref {
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct ProductRef {
    pub id: String,
    pub code: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct PeriodOut {
    /// RFC 3339, UTC.
    pub start: String,
    /// RFC 3339, UTC (exclusive).
    pub end: String,
}

#[derive(Serialize, ToSchema)]
pub struct Item {
    pub product: ProductRef,
    pub quantity: i64,
    /// Per period.
    pub unit_price: ApiMoney,
    pub setup_fee: ApiMoney,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceRef {
    pub id: String,
    /// `draft` until issued.
    pub number: String,
    pub status: String,
    pub total: ApiMoney,
    pub due: ApiMoney,
}

#[derive(Serialize, ToSchema)]
pub struct MetricOut {
    /// The unit usage is counted in (the metric to record).
    pub metric: String,
    pub product_name: String,
    /// Units recorded in the open period, not yet billed.
    pub units: i64,
    pub records: i64,
}

#[derive(Serialize, ToSchema)]
pub struct EventOut {
    /// RFC 3339, UTC.
    pub at: String,
    pub kind: String,
    pub summary: String,
    pub actor: String,
}

#[derive(Serialize, ToSchema)]
pub struct SubscriptionList {
    pub items: Vec<Subscription>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// An order placed: the subscription and the first invoice issued for it (none for a trial
/// or a zero total: activation starts at once).
#[derive(Serialize, ToSchema)]
pub struct Ordered {
    pub subscription: Subscription,
    pub first_invoice_id: Option<String>,
}

/// What an action answers: the subscription as it is now, and what the action did in words
/// when the service says more than the status shows (a credit note, an invoice issued).
#[derive(Serialize, ToSchema)]
pub struct Acted {
    pub message: Option<String>,
    pub subscription: Subscription,
}

#[derive(Serialize, ToSchema)]
pub struct LineOut {
    pub description: String,
    pub quantity: i64,
    pub unit_price: ApiMoney,
    pub amount: ApiMoney,
}

/// The price breakdown of an order, from the lines its first invoice is issued with.
#[derive(Serialize, ToSchema)]
pub struct QuoteOut {
    pub tenant_name: String,
    pub product_name: String,
    pub period: String,
    pub lines: Vec<LineOut>,
    pub setup_fee: ApiMoney,
    pub subtotal: ApiMoney,
    pub discount: ApiMoney,
    pub tax_name: String,
    pub tax: ApiMoney,
    pub total: ApiMoney,
    /// Free days before the first invoice (then nothing is invoiced now).
    pub trial_days: i64,
}

/// What a plan change does: an upgrade's proration (credit for the old plan's unused time,
/// charge for the new plan's) invoiced at once, or a downgrade from the next period.
#[derive(Serialize, ToSchema)]
pub struct PlanPreview {
    /// UPGRADE or DOWNGRADE.
    pub kind: String,
    pub from: String,
    pub to: String,
    /// The new plan's product code.
    pub to_code: String,
    /// RFC 3339, UTC: the instant the change is priced at (send it back as `at` to confirm
    /// these amounts within 15 minutes).
    pub at: String,
    /// RFC 3339, UTC: when the change takes effect.
    pub effective: String,
    pub lines: Vec<LineOut>,
    pub credit: ApiMoney,
    pub charge: ApiMoney,
    pub tax_name: String,
    pub tax: ApiMoney,
    /// What the upgrade's invoice comes to (0 for a downgrade).
    pub total: ApiMoney,
    /// The new plan's price per period.
    pub new_price: ApiMoney,
}

/// A plan change reviewed (`preview`) or made (`message` says what happened).
#[derive(Serialize, ToSchema)]
pub struct PlanAnswer {
    pub preview: PlanPreview,
    pub message: Option<String>,
    pub subscription: Subscription,
}

#[derive(Serialize, ToSchema)]
pub struct UsageRecord {
    pub id: String,
    pub subscription_id: String,
    pub product_id: String,
    pub metric: String,
    pub quantity: i64,
    /// RFC 3339, UTC: when the usage happened.
    pub at: String,
    pub client_txn_id: String,
    /// The invoice that billed it, once billed.
    pub invoice_id: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A usage record posted: `created` is false when its client transaction id had recorded it
/// before (nothing was added).
#[derive(Serialize, ToSchema)]
pub struct UsagePosted {
    pub created: bool,
    pub record: UsageRecord,
}

/// The open period's unbilled usage per metric, and one page of the records, newest first.
#[derive(Serialize, ToSchema)]
pub struct UsageList {
    pub current_period: Option<PeriodOut>,
    pub metrics: Vec<MetricOut>,
    pub items: Vec<UsageRecord>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn period_of(s: &SubscriptionRow) -> Option<PeriodOut> {
    match (s.current_period_start, s.current_period_end) {
        (Some(a), Some(b)) => Some(PeriodOut {
            start: rfc3339(a),
            end: rfc3339(b),
        }),
        _ => None,
    }
}

/// The subscription as a list shows it (no detail).
pub fn subscription(s: &SubscriptionRow) -> Subscription {
    Subscription {
        id: s.id.clone(),
        tenant: Ref {
            id: s.tenant_id.clone(),
            name: s.tenant_name.clone(),
        },
        product: ProductRef {
            id: s.product_id.clone(),
            code: s.product_code.clone(),
            name: s.product_name.clone(),
        },
        status: s.status.as_str().into(),
        period: s.period.as_str().into(),
        quantity: s.quantity,
        currency: s.currency.clone(),
        pod_name: s.pod_name.clone(),
        region: s.region.clone(),
        cloudpod_id: s.cloudpod_id.clone(),
        auto_renew: s.auto_renew != 0,
        trial_ends_at: s.trial_ends_at.map(rfc3339),
        current_period: period_of(s),
        expires_at: s.expires_at.map(rfc3339),
        failure_reason: s.failure_reason.clone(),
        suspend_reason: (s.suspend_reason != SuspendReason::NotSuspended)
            .then(|| s.suspend_reason.as_str().to_string()),
        pending_product_id: s.pending_product_id.clone(),
        created_at: rfc3339(s.created_at),
        updated_at: rfc3339(s.updated_at),
        items: None,
        invoices: None,
        usage: None,
        events: None,
        pending_change: None,
    }
}

pub fn metric(m: &MetricUsage) -> MetricOut {
    MetricOut {
        metric: m.metric.clone(),
        product_name: m.product_name.clone(),
        units: m.units,
        records: m.records,
    }
}

/// The subscription with its detail, usage and pending plan change.
pub fn detailed(
    s: &SubscriptionRow,
    d: &Detail,
    usage: &[MetricUsage],
    pending_change: Option<String>,
) -> Subscription {
    let cur = &s.currency;
    Subscription {
        items: Some(
            d.items
                .iter()
                .map(|i| Item {
                    product: ProductRef {
                        id: i.product_id.clone(),
                        code: i.product_code.clone(),
                        name: i.product_name.clone(),
                    },
                    quantity: i.quantity,
                    unit_price: ApiMoney::new(i.unit_price_minor, cur),
                    setup_fee: ApiMoney::new(i.setup_fee_minor, cur),
                })
                .collect(),
        ),
        invoices: Some(
            d.invoices
                .iter()
                .map(|i| InvoiceRef {
                    id: i.id.clone(),
                    number: i.number.clone(),
                    status: i.status.clone(),
                    total: ApiMoney::new(i.total_minor, &i.currency),
                    due: ApiMoney::new(i.due_minor, &i.currency),
                })
                .collect(),
        ),
        usage: Some(usage.iter().map(metric).collect()),
        events: Some(
            d.events
                .iter()
                .map(|e| EventOut {
                    at: rfc3339(e.at),
                    kind: e.kind.clone(),
                    summary: e.summary.clone(),
                    actor: e.actor.clone(),
                })
                .collect(),
        ),
        pending_change,
        ..subscription(s)
    }
}

fn lines(lines: &[QuoteLine], cur: &str) -> Vec<LineOut> {
    lines
        .iter()
        .map(|l| LineOut {
            description: l.description.clone(),
            quantity: l.quantity,
            unit_price: ApiMoney::new(l.unit_minor, cur),
            amount: ApiMoney::new(l.amount_minor, cur),
        })
        .collect()
}

pub fn quote(q: &Quote) -> QuoteOut {
    let cur = &q.currency;
    QuoteOut {
        tenant_name: q.tenant_name.clone(),
        product_name: q.product_name.clone(),
        period: q.period.as_str().into(),
        lines: lines(&q.lines, cur),
        setup_fee: ApiMoney::new(q.setup_fee_minor, cur),
        subtotal: ApiMoney::new(q.subtotal_minor, cur),
        discount: ApiMoney::new(q.discount_minor, cur),
        tax_name: q.tax_name.clone(),
        tax: ApiMoney::new(q.tax_minor, cur),
        total: ApiMoney::new(q.total_minor, cur),
        trial_days: q.trial_days,
    }
}

pub fn plan_preview(q: &PlanQuote, cur: &str) -> PlanPreview {
    PlanPreview {
        kind: q.kind.label().to_uppercase(),
        from: q.from_name.clone(),
        to: q.to_name.clone(),
        to_code: q.to_code.clone(),
        at: rfc3339(q.at),
        effective: rfc3339(q.effective),
        lines: lines(&q.lines, cur),
        credit: ApiMoney::new(q.credit_minor, cur),
        charge: ApiMoney::new(q.charge_minor, cur),
        tax_name: q.tax_name.clone(),
        tax: ApiMoney::new(q.tax_minor, cur),
        total: ApiMoney::new(q.total_minor, cur),
        new_price: ApiMoney::new(q.new_price_minor, cur),
    }
}

pub fn usage_record(u: &UsageRow) -> UsageRecord {
    UsageRecord {
        id: u.id.clone(),
        subscription_id: u.subscription_id.clone(),
        product_id: u.product_id.clone(),
        metric: u.metric.clone(),
        quantity: u.quantity,
        at: rfc3339(u.at),
        client_txn_id: u.client_txn_id.clone(),
        invoice_id: u.invoice_id.clone(),
        created_at: rfc3339(u.created_at),
    }
}

pub fn posted(r: &Recorded) -> UsagePosted {
    UsagePosted {
        created: r.created,
        record: usage_record(&r.record),
    }
}
