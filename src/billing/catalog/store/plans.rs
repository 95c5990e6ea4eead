//! CloudPod plans: the specs sold with a product.

use sqlx::{AnyPool, FromRow};

use crate::billing::catalog::model::ProductStatus;
use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct PlanRow {
    pub code: String,
    pub product_id: String,
    pub product_name: String,
    pub product_status: ProductStatus,
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub max_websites: i64,
    pub max_email_accounts: i64,
    /// The backup policy a new pod on this plan gets (`DAILY` or `WEEKLY`, copies kept).
    pub backup_frequency: String,
    pub backup_retention: i64,
    pub updated_at: Timestamp,
}

const PLAN_SELECT: &str = "SELECT p.code, p.product_id, pr.name AS product_name, \
     pr.status AS product_status, p.cpu_cores, p.ram_mb, p.disk_gb, p.max_websites, \
     p.max_email_accounts, p.backup_frequency, p.backup_retention, p.updated_at FROM cloudpod_plans p JOIN products pr ON pr.id = p.product_id";

pub async fn plans(pool: &AnyPool) -> sqlx::Result<Vec<PlanRow>> {
    sqlx::query_as(&format!("{PLAN_SELECT} ORDER BY p.sort_order, p.code"))
        .fetch_all(pool)
        .await
}

/// The plan a CLOUDPOD product sells; `ex` is `&db.pool` or a connection (`&mut **tx`).
pub async fn plan_for_product<'e, E>(ex: E, product_id: &str) -> sqlx::Result<Option<PlanRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!("{PLAN_SELECT} WHERE p.product_id = $1"))
        .bind(product_id)
        .fetch_optional(ex)
        .await
}

/// One plan by code (a pod created or resized on it); `ex` is `&db.pool` or `&mut *tx`.
pub async fn plan<'e, E>(ex: E, code: &str) -> sqlx::Result<Option<PlanRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!("{PLAN_SELECT} WHERE p.code = $1"))
        .bind(code)
        .fetch_optional(ex)
        .await
}

pub struct PlanSpecs {
    pub cpu_cores: i64,
    pub ram_mb: i64,
    pub disk_gb: i64,
    pub max_websites: i64,
    pub max_email_accounts: i64,
}

pub async fn update_plan(tx: &mut Tx, code: &str, s: &PlanSpecs) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE cloudpod_plans SET cpu_cores = $1, ram_mb = $2, disk_gb = $3, max_websites = $4, \
         max_email_accounts = $5, updated_at = $6 WHERE code = $7",
    )
    .bind(s.cpu_cores)
    .bind(s.ram_mb)
    .bind(s.disk_gb)
    .bind(s.max_websites)
    .bind(s.max_email_accounts)
    .bind(Timestamp::now().0)
    .bind(code)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}

/// The backup policy new pods on the plan get.
pub async fn update_plan_backups(
    tx: &mut Tx,
    code: &str,
    frequency: &str,
    retention: i64,
) -> sqlx::Result<u64> {
    sqlx::query(
        "UPDATE cloudpod_plans SET backup_frequency = $1, backup_retention = $2 WHERE code = $3",
    )
    .bind(frequency)
    .bind(retention)
    .bind(code)
    .execute(&mut **tx)
    .await
    .map(|r| r.rows_affected())
}
