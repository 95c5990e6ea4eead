//! Tax rules, by region, with a region-less default.

use sqlx::{AnyPool, FromRow};

use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct TaxRuleRow {
    pub id: String,
    pub name: String,
    pub rate: String,
    pub region: String,
    pub created_at: Timestamp,
}

pub async fn tax_rules(pool: &AnyPool) -> sqlx::Result<Vec<TaxRuleRow>> {
    sqlx::query_as("SELECT id, name, rate, region, created_at FROM tax_rules ORDER BY region, name")
        .fetch_all(pool)
        .await
}

/// The rule for a region, or the region-less default rule.
pub async fn tax_rule_for(tx: &mut Tx, region: &str) -> sqlx::Result<Option<TaxRuleRow>> {
    sqlx::query_as(
        "SELECT id, name, rate, region, created_at FROM tax_rules WHERE region = $1 OR region = '' \
         ORDER BY CASE WHEN region = '' THEN 1 ELSE 0 END LIMIT 1",
    )
    .bind(region)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert_tax_rule(tx: &mut Tx, r: &TaxRuleRow) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO tax_rules (id, name, rate, region, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&r.id)
    .bind(&r.name)
    .bind(&r.rate)
    .bind(&r.region)
    .bind(r.created_at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn delete_tax_rule(tx: &mut Tx, id: &str) -> sqlx::Result<Option<TaxRuleRow>> {
    sqlx::query_as(
        "DELETE FROM tax_rules WHERE id = $1 RETURNING id, name, rate, region, created_at",
    )
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}
