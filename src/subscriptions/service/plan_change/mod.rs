//! Plan changes of a CloudPod subscription. An upgrade (the new plan costs more per period)
//! invoices the difference for the rest of the period at once (credit for the old plan's
//! unused time, charge for the new plan's, `model::proration`), and the subscription, its item
//! and its pod switch when that invoice is paid (at once when nothing is due). A downgrade
//! takes effect at the next period: the renewal bills the new plan, and the roll switches the
//! item and resizes the pod. One change at a time; disks never shrink. Who: the customer's
//! OWNER/ADMIN/BILLING and staff BILLING+ (as ordering).

use serde::Deserialize;
use serde_json::json;

use super::activation::system;
use super::order::QuoteLine;
use super::renewal::{RENEWAL, next_period};
use super::{can_order, event, subject, timeline};
use crate::audit::{self, AuditActor};
use crate::auth::model::Actor;
use crate::auth::store::TenantRow;
use crate::billing::catalog::model::{self as catalog, PriceQuery, Viewer};
use crate::billing::catalog::pricing;
use crate::billing::catalog::store::{self as catalog_store, PlanRow, ProductRow};
use crate::billing::invoices::service::{self as invoices, IssueCache, OrderLine};
use crate::billing::money;
use crate::cloudpods::model::Specs;
use crate::cloudpods::service as pods;
use crate::cloudpods::store as pod_store;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::jobs::{self, NewJob};
use crate::subscriptions::model::SubscriptionStatus;
use crate::subscriptions::model::proration::{ChangeKind, may_change, prorate};
use crate::subscriptions::store::{self, SubscriptionRow};
use crate::web::{AppError, AppResult, FieldErrors};

mod apply;
mod prepare;
mod status;
mod withdraw;
pub use withdraw::withdraw_downgrade;

pub use apply::resize_to_plan;
use apply::switch_plan;
pub(in crate::subscriptions::service) use apply::{resize_if_behind, switch_at_roll, upgrade_paid};
use prepare::prepare;
pub use status::{PlanStatus, PodView, plan_status};

/// The invoices' billing reason of an upgrade's difference.
pub const PLAN_CHANGE: &str = "PLAN_CHANGE";
/// The job that resizes a subscription's pod to its (changed) plan.
pub const PLAN_RESIZE_KIND: &str = "subscription.plan_resize";
/// How long a reviewed upgrade may be confirmed at the reviewed amounts.
const REVIEW_VALID_SECS: i64 = 15 * 60;

/// Change plans: whoever may order for the tenant.
pub fn can_change_plan(actor: &Actor) -> bool {
    can_order(actor)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanChangeInput {
    /// The new plan's product code.
    pub plan: String,
    /// The reviewed instant (ms): the confirmed upgrade bills the amounts that were shown.
    pub at: String,
    /// The plan the review was for: a confirm for another plan is reviewed first.
    pub reviewed: String,
    /// `yes` once the person confirmed the review.
    pub confirm: String,
}

/// A plan the subscription may change to, for the form.
pub struct PlanChoice {
    pub code: String,
    pub label: String,
}

/// What a change does, as the review shows it (from the lines the invoice is issued with).
pub struct PlanQuote {
    pub kind: ChangeKind,
    pub from_name: String,
    pub to_name: String,
    pub to_code: String,
    /// The instant the upgrade is priced at.
    pub at: Timestamp,
    /// When the change takes effect: the upgrade's instant, the downgrade's next period.
    pub effective: Timestamp,
    pub lines: Vec<QuoteLine>,
    pub credit: String,
    pub charge: String,
    pub difference: String,
    pub tax_name: String,
    pub tax: String,
    pub total: String,
    pub total_minor: i64,
    /// `credit`, `charge`, `tax` and the new plan's price per period in minor units (for the
    /// JSON API).
    pub credit_minor: i64,
    pub charge_minor: i64,
    pub tax_minor: i64,
    pub new_price_minor: i64,
    /// The new plan's price per period ("€39.99 per month").
    pub new_price: String,
}

impl PlanQuote {
    pub fn is_upgrade(&self) -> bool {
        self.kind == ChangeKind::Upgrade
    }
    pub fn at_ms(&self) -> i64 {
        self.at.0
    }
}

/// The new plan's product and its price for the subscription.
struct Target {
    product: ProductRow,
    unit_minor: i64,
}

/// A checked change, ready to be made.
struct Prepared {
    kind: ChangeKind,
    target: Target,
    lines: Vec<OrderLine>,
    quote: PlanQuote,
    period_end: Timestamp,
}

fn field(msg: impl Into<String>) -> AppError {
    AppError::Invalid(FieldErrors::one("plan", msg))
}

fn offered(p: &ProductRow, tenant: &TenantRow) -> bool {
    catalog::can_be_sold(p.status)
        && catalog::offered_to(
            p.visibility,
            Viewer::Tenant {
                beta: tenant.beta == 1,
            },
        )
}

async fn tenant_of(tx: &mut Tx, s: &SubscriptionRow) -> AppResult<TenantRow> {
    crate::auth::store::get_tenant(&mut **tx, &TenantScope::All, &s.tenant_id)
        .await?
        .ok_or(AppError::NotFound)
}

/// The price of one period of `product_id` for the subscription's tenant, currency, period
/// and region at `at`, as the catalog resolves it.
async fn price_for(
    db: &Db,
    s: &SubscriptionRow,
    product_id: &str,
    at: Timestamp,
) -> AppResult<Option<i64>> {
    let q = PriceQuery {
        tenant_id: &s.tenant_id,
        region: &s.region,
        currency: &s.currency,
        period: s.period,
        at: at.0,
    };
    let mut conn = db.pool.acquire().await?;
    Ok(pricing::resolve_one(&mut conn, product_id, &q)
        .await?
        .map(|r| r.amount_minor))
}

/// The unit price a pending product is billed at for the period starting `start`
/// (`renewal_lines`): its name, code and price; refused when the catalog has none.
pub(super) async fn pending_price(
    db: &Db,
    s: &SubscriptionRow,
    product_id: &str,
    start: Timestamp,
) -> AppResult<(ProductRow, i64)> {
    let p = catalog_store::get_product(&db.pool, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    match price_for(db, s, product_id, start).await? {
        Some(unit) => Ok((p, unit)),
        None => Err(AppError::refused(format!(
            "{} has no price {} in {} for the new plan",
            p.name,
            s.period.label(),
            s.currency
        ))),
    }
}

/// The plan the subscription's product is (None: not a CloudPod subscription).
async fn current_plan(db: &Db, s: &SubscriptionRow) -> AppResult<Option<PlanRow>> {
    Ok(catalog_store::plan_for_product(&db.pool, &s.product_id).await?)
}

/// The change that waits: an unpaid upgrade invoice, or a scheduled downgrade.
async fn pending_change(tx: &mut Tx, db: &Db, s: &SubscriptionRow) -> AppResult<Option<String>> {
    if let Some((inv, number)) = store::open_plan_change(tx, &s.id, PLAN_CHANGE).await? {
        let to = match store::charged_product(tx, &inv, &s.product_id).await? {
            Some(p) => catalog_store::get_product(&db.pool, &p)
                .await?
                .map_or_else(|| "another plan".to_string(), |p| p.name),
            None => "another plan".to_string(),
        };
        return Ok(Some(format!(
            "An upgrade to {to} waits for invoice {} to be paid; the pod is resized then.",
            number.unwrap_or_default()
        )));
    }
    if let Some(p) = &s.pending_product_id {
        let name = catalog_store::get_product(&db.pool, p)
            .await?
            .map_or_else(|| "another plan".to_string(), |p| p.name);
        let when = s
            .current_period_end
            .map_or_else(|| "the next period".to_string(), |t| t.to_string());
        return Ok(Some(format!(
            "A downgrade to {name} takes effect on {when}."
        )));
    }
    Ok(None)
}

/// The subscription and the plans it may change to (each with its price), for the form.
pub async fn plan_choices(
    db: &Db,
    actor: &Actor,
    id: &str,
) -> AppResult<(SubscriptionRow, Vec<PlanChoice>)> {
    if !can_change_plan(actor) {
        return Err(AppError::Forbidden);
    }
    let s = super::get(db, actor, id).await?;
    if current_plan(db, &s).await?.is_none() {
        return Err(AppError::refused(
            "Only CloudPod subscriptions change plans.",
        ));
    }
    let mut tx = db.pool.begin().await?;
    let tenant = tenant_of(&mut tx, &s).await?;
    drop(tx);
    let mut out = Vec::new();
    for plan in catalog_store::plans(&db.pool).await? {
        if plan.product_id == s.product_id {
            continue;
        }
        let Some(p) = catalog_store::get_product(&db.pool, &plan.product_id).await? else {
            continue;
        };
        if !offered(&p, &tenant) {
            continue;
        }
        let Some(unit) = price_for(db, &s, &p.id, Timestamp::now()).await? else {
            continue;
        };
        out.push(PlanChoice {
            label: format!(
                "{}: {} vCPU, {} MB RAM, {} GB disk, {} {}",
                p.name,
                plan.cpu_cores,
                plan.ram_mb,
                plan.disk_gb,
                money::format_money(unit.saturating_mul(s.quantity), &s.currency),
                s.period.label()
            ),
            code: p.code,
        });
    }
    Ok((s, out))
}

/// The review of a change at `now` (nothing is written).
pub async fn plan_quote(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &PlanChangeInput,
    now: Timestamp,
) -> AppResult<PlanQuote> {
    if !can_change_plan(actor) {
        return Err(AppError::Forbidden);
    }
    let s = super::get(db, actor, id).await?;
    let mut tx = db.pool.begin().await?;
    let p = prepare(&mut tx, db, &s, input, now).await?;
    drop(tx);
    Ok(p.quote)
}

/// The reviewed instant: within the last [`REVIEW_VALID_SECS`] and not in the future.
fn reviewed_at(input: &PlanChangeInput, now: Timestamp) -> AppResult<Timestamp> {
    let at = input.at.trim().parse::<i64>().ok().map(Timestamp);
    match at {
        Some(at) if at <= now && at >= now.plus_secs(-REVIEW_VALID_SECS) => Ok(at),
        _ => Err(field(
            "This review has expired: review the change again before confirming.",
        )),
    }
}

/// Makes the reviewed change: an upgrade's invoice (or the switch at once when nothing is
/// due), or a downgrade scheduled for the next period. Returns the message for the person.
pub async fn change_plan(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &PlanChangeInput,
    now: Timestamp,
) -> AppResult<String> {
    if !can_change_plan(actor) {
        return Err(AppError::Forbidden);
    }
    let at = reviewed_at(input, now)?;
    let mut tx = db.begin_write().await?;
    let s = store::lock(&mut tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)?;
    let p = prepare(&mut tx, db, &s, input, at).await?;
    let q = &p.quote;
    let message = match p.kind {
        ChangeKind::Upgrade if q.total_minor > 0 => {
            let (_, issued) = invoices::issue_for_subscription(
                &mut tx,
                db,
                actor,
                &invoices::SubscriptionInvoice {
                    tenant_id: &s.tenant_id,
                    currency: &s.currency,
                    subscription_id: &s.id,
                    reason: PLAN_CHANGE,
                    period: Some((at, p.period_end)),
                    lines: &p.lines,
                    issued_on: now.date(),
                },
                &mut IssueCache::default(),
            )
            .await?;
            let summary = format!(
                "Upgrade from {} to {}: invoice {} issued for {} (credit {}, charge {}); the \
                 pod is resized when it is paid",
                q.from_name, q.to_name, issued.number, q.total, q.credit, q.charge
            );
            timeline(&mut tx, &s.id, "plan", &summary, &actor.email).await?;
            audit::record(
                &mut tx,
                actor,
                event(
                    &s.tenant_id,
                    "subscription.upgrade_invoiced",
                    &s.id,
                    summary,
                ),
            )
            .await?;
            format!(
                "Invoice {} issued for {}: the plan changes to {} when it is paid.",
                issued.number, q.total, q.to_name
            )
        }
        ChangeKind::Upgrade => {
            switch_plan(
                &mut tx,
                actor.into(),
                &s,
                &p.target.product,
                p.target.unit_minor,
                "nothing to pay",
            )
            .await?;
            format!("Upgraded to {}: nothing to pay.", q.to_name)
        }
        ChangeKind::Downgrade => {
            store::set_pending_product(&mut tx, &s.id, Some(&p.target.product.id)).await?;
            let summary = format!(
                "Downgrade from {} to {} scheduled for {}: the renewal from then bills {}",
                q.from_name, q.to_name, q.effective, q.new_price
            );
            timeline(&mut tx, &s.id, "plan", &summary, &actor.email).await?;
            audit::record(
                &mut tx,
                actor,
                event(
                    &s.tenant_id,
                    "subscription.downgrade_scheduled",
                    &s.id,
                    summary,
                ),
            )
            .await?;
            format!("The plan changes to {} on {}.", q.to_name, q.effective)
        }
    };
    tx.commit().await?;
    Ok(message)
}
