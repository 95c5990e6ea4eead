//! SQL for subscriptions, their items and their timeline. Reads for a person take a
//! `TenantScope`; the job handlers act for the system with `TenantScope::All`.

use sqlx::{AnyPool, FromRow};

pub mod batch;
mod periods;
mod plan_change;
pub mod usage;
pub use periods::*;
pub use plan_change::*;

use super::model::{SubscriptionStatus, SuspendReason};
use crate::billing::catalog::model::Period;
use crate::db::filter::Where;
use crate::db::{Backend, Scoped, TenantScope, Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct SubscriptionRow {
    pub id: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub product_id: String,
    pub product_code: String,
    pub product_name: String,
    pub status: SubscriptionStatus,
    pub period: Period,
    pub quantity: i64,
    pub currency: String,
    pub pod_name: String,
    pub region: String,
    pub cloudpod_id: Option<String>,
    pub auto_renew: i64,
    pub trial_ends_at: Option<Timestamp>,
    pub current_period_start: Option<Timestamp>,
    pub current_period_end: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub failure_reason: String,
    pub created_by: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Period n is `period_bounds(billing_anchor, period, n)`; set at activation.
    pub billing_anchor: Option<Timestamp>,
    /// The current period's n (-1: the trial).
    pub period_number: i64,
    pub suspend_reason: SuspendReason,
    /// A downgrade waiting for the next period: the product the renewal switches to.
    pub pending_product_id: Option<String>,
}

pub(super) const SELECT: &str = "SELECT s.id, s.tenant_id, t.name AS tenant_name, s.product_id, \
    p.code AS product_code, p.name AS product_name, s.status, s.period, s.quantity, s.currency, \
    s.pod_name, s.region, s.cloudpod_id, s.auto_renew, s.trial_ends_at, s.current_period_start, \
    s.current_period_end, s.expires_at, s.failure_reason, s.created_by, s.created_at, \
    s.updated_at, s.billing_anchor, s.period_number, s.suspend_reason, s.pending_product_id \
    FROM subscriptions s JOIN tenants t ON t.id = s.tenant_id \
    JOIN products p ON p.id = s.product_id";

pub struct NewSubscription<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub product_id: &'a str,
    pub status: SubscriptionStatus,
    pub period: Period,
    pub quantity: i64,
    pub currency: &'a str,
    pub pod_name: &'a str,
    pub region: &'a str,
    pub trial_ends_at: Option<Timestamp>,
    pub expires_at: Option<Timestamp>,
    pub idempotency_key: &'a str,
    pub created_by: &'a str,
    pub now: Timestamp,
}

/// Inserts the subscription; `false` when the form's idempotency key was already used.
pub async fn insert(tx: &mut Tx, s: &NewSubscription<'_>) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "INSERT INTO subscriptions (id, tenant_id, product_id, status, period, quantity, currency, \
         pod_name, region, trial_ends_at, expires_at, idempotency_key, created_by, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) \
         ON CONFLICT (idempotency_key) DO NOTHING",
    )
    .bind(s.id)
    .bind(s.tenant_id)
    .bind(s.product_id)
    .bind(s.status.as_str())
    .bind(s.period.as_str())
    .bind(s.quantity)
    .bind(s.currency)
    .bind(s.pod_name)
    .bind(s.region)
    .bind(s.trial_ends_at.map(|t| t.0))
    .bind(s.expires_at.map(|t| t.0))
    .bind(s.idempotency_key)
    .bind(s.created_by)
    .bind(s.now.0)
    .execute(&mut **tx)
    .await?;
    Ok(n.rows_affected() == 1)
}

/// The subscription a form's idempotency key created, with its tenant.
pub async fn by_key(tx: &mut Tx, key: &str) -> sqlx::Result<Option<(String, String)>> {
    sqlx::query_as("SELECT id, tenant_id FROM subscriptions WHERE idempotency_key = $1")
        .bind(key)
        .fetch_optional(&mut **tx)
        .await
}

#[derive(Clone, Debug, FromRow)]
pub struct ItemRow {
    pub product_id: String,
    pub product_code: String,
    pub product_name: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub setup_fee_minor: i64,
}

pub async fn insert_item(
    tx: &mut Tx,
    id: &str,
    subscription_id: &str,
    position: i64,
    item: &ItemRow,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO subscription_items (id, subscription_id, position, product_id, quantity, \
         unit_price_minor, setup_fee_minor) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id)
    .bind(subscription_id)
    .bind(position)
    .bind(&item.product_id)
    .bind(item.quantity)
    .bind(item.unit_price_minor)
    .bind(item.setup_fee_minor)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The items of a subscription the caller has read in scope.
pub async fn items(pool: &AnyPool, subscription_id: &str) -> sqlx::Result<Vec<ItemRow>> {
    sqlx::query_as(
        "SELECT i.product_id, p.code AS product_code, p.name AS product_name, i.quantity, \
         i.unit_price_minor, i.setup_fee_minor FROM subscription_items i \
         JOIN products p ON p.id = i.product_id WHERE i.subscription_id = $1 ORDER BY i.position",
    )
    .bind(subscription_id)
    .fetch_all(pool)
    .await
}

#[derive(Clone, Debug, FromRow)]
pub struct EventRow {
    pub at: Timestamp,
    pub kind: String,
    pub summary: String,
    pub actor: String,
}

pub async fn add_event(
    tx: &mut Tx,
    subscription_id: &str,
    kind: &str,
    summary: &str,
    actor: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO subscription_events (id, subscription_id, at, kind, summary, actor) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(crate::db::new_id())
    .bind(subscription_id)
    .bind(Timestamp::now().0)
    .bind(kind)
    .bind(summary)
    .bind(actor)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn events(pool: &AnyPool, subscription_id: &str) -> sqlx::Result<Vec<EventRow>> {
    sqlx::query_as(
        "SELECT at, kind, summary, actor FROM subscription_events WHERE subscription_id = $1 \
         ORDER BY at, id",
    )
    .bind(subscription_id)
    .fetch_all(pool)
    .await
}

pub async fn get(
    pool: &AnyPool,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<SubscriptionRow>> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE s.id = $1{}",
        scope.and("s.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(pool)
    .await
}

/// The subscription for a change, in scope; locked on PostgreSQL.
pub async fn lock(
    tx: &mut Tx,
    backend: Backend,
    scope: &TenantScope,
    id: &str,
) -> sqlx::Result<Option<SubscriptionRow>> {
    let lock = backend.row_lock(Some("s"));
    sqlx::query_as(&format!(
        "{SELECT} WHERE s.id = $1{}{lock}",
        scope.and("s.tenant_id", 2)
    ))
    .bind(id)
    .scoped(scope)
    .fetch_optional(&mut **tx)
    .await
}

/// Moves the subscription from `from` to `to` (nothing when it moved meanwhile: 0 rows).
pub async fn set_status(
    tx: &mut Tx,
    id: &str,
    from: SubscriptionStatus,
    to: SubscriptionStatus,
    failure_reason: &str,
) -> sqlx::Result<u64> {
    let now = Timestamp::now().0;
    let ended = to.is_final().then_some(now);
    sqlx::query(
        "UPDATE subscriptions SET status = $1, failure_reason = $2, updated_at = $3, \
         ended_at = COALESCE($4, ended_at) WHERE id = $5 AND status = $6",
    )
    .bind(to.as_str())
    .bind(failure_reason)
    .bind(now)
    .bind(ended)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// ACTIVE from `start`: the current period `[start, end)` is period `number` counted from
/// `anchor` (0 with the anchor at `start`; -1, a trial, with the anchor at the trial's end).
pub async fn activate(
    tx: &mut Tx,
    id: &str,
    from: SubscriptionStatus,
    (start, end): (Timestamp, Timestamp),
    anchor: Timestamp,
    number: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE subscriptions SET status = 'ACTIVE', current_period_start = $1, \
         current_period_end = $2, failure_reason = '', expires_at = NULL, updated_at = $3, \
         billing_anchor = $4, period_number = $5, next_bill_at = $2 \
         WHERE id = $6 AND status = $7",
    )
    .bind(start.0)
    .bind(end.0)
    .bind(Timestamp::now().0)
    .bind(anchor.0)
    .bind(number)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

pub async fn set_pod(tx: &mut Tx, id: &str, pod_id: &str) -> sqlx::Result<u64> {
    sqlx::query("UPDATE subscriptions SET cloudpod_id = $1, updated_at = $2 WHERE id = $3")
        .bind(pod_id)
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}

#[derive(Debug, Default)]
pub struct SubscriptionFilter<'a> {
    pub tenant_id: &'a str,
    pub status: &'a str,
    pub product_id: &'a str,
    pub q: &'a str,
    /// Keyset paging (the API's cursor): subscriptions after this `(created_at, id)`, newest
    /// first.
    pub after: Option<(i64, &'a str)>,
}

pub async fn list(
    pool: &AnyPool,
    scope: &TenantScope,
    f: &SubscriptionFilter<'_>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<(Vec<SubscriptionRow>, i64)> {
    let mut w = Where::new();
    w.scope("s.tenant_id", scope)
        .eq("s.tenant_id", f.tenant_id)
        .eq("s.status", f.status)
        .eq("s.product_id", f.product_id)
        .contains(&["s.pod_name", "p.name", "p.code", "t.name"], f.q)
        .keyset_desc("s.created_at", "s.id", f.after);
    let n = w.next();
    let sql = format!(
        "{SELECT} {} ORDER BY s.created_at DESC, s.id DESC LIMIT ${n} OFFSET ${}",
        w.sql(),
        n + 1
    );
    let mut q = sqlx::query_as(&sql);
    for p in w.params() {
        q = q.bind(p);
    }
    let rows = q.bind(limit).bind(offset).fetch_all(pool).await?;
    // Only the text search reads the tenant's and the product's names: without it the count
    // needs no join (both are NOT NULL foreign keys), which is an index-only count instead of
    // two lookups per subscription (4 ms of the staff list over 10,000 on SQLite).
    let joins = if f.q.trim().is_empty() {
        ""
    } else {
        "JOIN tenants t ON t.id = s.tenant_id JOIN products p ON p.id = s.product_id"
    };
    let count_sql = format!("SELECT COUNT(*) FROM subscriptions s {joins} {}", w.sql());
    let mut q = sqlx::query_scalar(&count_sql);
    for p in w.params() {
        q = q.bind(p);
    }
    let total: i64 = q.fetch_one(pool).await?;
    Ok((rows, total))
}

/// The invoices of a subscription: (id, number, status, total, due, currency).
pub async fn invoices(
    pool: &AnyPool,
    subscription_id: &str,
) -> sqlx::Result<Vec<(String, Option<String>, String, i64, i64, String)>> {
    sqlx::query_as(
        "SELECT id, number, status, total_minor, due_minor, currency FROM invoices \
         WHERE subscription_id = $1 ORDER BY created_at, id",
    )
    .bind(subscription_id)
    .fetch_all(pool)
    .await
}

/// Whether an order of the tenant still waiting for activation will create a pod named so.
pub async fn pod_name_pending(tx: &mut Tx, tenant_id: &str, name: &str) -> sqlx::Result<bool> {
    let n: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscriptions WHERE tenant_id = $1 AND pod_name = $2 \
         AND cloudpod_id IS NULL AND status IN ('PENDING_ACTIVATION', 'ACTIVATION_FAILED')",
    )
    .bind(tenant_id)
    .bind(name)
    .fetch_one(&mut **tx)
    .await?;
    Ok(n > 0)
}

/// The first invoice of a subscription (the order's), if one was issued.
pub async fn first_invoice(tx: &mut Tx, subscription_id: &str) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "SELECT id FROM invoices WHERE subscription_id = $1 AND billing_reason = 'FIRST'",
    )
    .bind(subscription_id)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn invoice_is_paid(tx: &mut Tx, invoice_id: &str) -> sqlx::Result<bool> {
    let n: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE id = $1 AND status = 'PAID'")
            .bind(invoice_id)
            .fetch_one(&mut **tx)
            .await?;
    Ok(n > 0)
}

pub async fn set_auto_renew(tx: &mut Tx, id: &str, on: bool) -> sqlx::Result<u64> {
    sqlx::query("UPDATE subscriptions SET auto_renew = $1, updated_at = $2 WHERE id = $3")
        .bind(i64::from(on))
        .bind(Timestamp::now().0)
        .bind(id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}
