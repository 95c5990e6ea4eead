//! Tax rules (by country and region) staff manage.

use serde::Deserialize;

use super::{can_correct, require};
use crate::audit::{self, AuditEvent};
use crate::auth::model::{Actor, required_text};
use crate::billing::invoices::model;
use crate::billing::invoices::store::{self, TaxRuleRow};
use crate::db::{Db, Timestamp, new_id};
use crate::web::forms::OnUnique;
use crate::web::{AppError, AppResult, FieldErrors};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TaxRuleInput {
    pub name: String,
    pub rate: String,
    pub region: String,
}

pub async fn add_tax_rule(db: &Db, actor: &Actor, input: &TaxRuleInput) -> AppResult<()> {
    require(can_correct(actor))?;
    let mut e = FieldErrors::new();
    let name = required_text(&mut e, "name", &input.name, 80);
    let rate = model::parse_rate(&input.rate)
        .map_err(|m| e.add("rate", m))
        .ok();
    let region = input.region.trim().to_string();
    if region.chars().count() > 40 || region.chars().any(char::is_control) {
        e.add("region", "Use at most 40 plain characters.");
    }
    e.into_result().map_err(AppError::Invalid)?;
    let rate = rate.unwrap_or_default();
    let rule = TaxRuleRow {
        id: new_id(),
        name,
        rate: rate.to_string(),
        region,
        created_at: Timestamp::now(),
    };
    let mut tx = db.begin_write().await?;
    store::insert_tax_rule(&mut tx, &rule).await.unique_field(
        "region",
        "This region already has a tax rule: remove it first.",
    )?;
    let region_label = if rule.region.is_empty() {
        "every other region".to_string()
    } else {
        format!("region {}", rule.region)
    };
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "tax_rule.created",
            target_type: "tax_rule",
            target_id: &rule.id,
            summary: format!("{} {}% for {region_label}", rule.name, rule.rate),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_tax_rule(db: &Db, actor: &Actor, id: &str) -> AppResult<()> {
    require(can_correct(actor))?;
    let mut tx = db.begin_write().await?;
    let rule = store::delete_tax_rule(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "tax_rule.deleted",
            target_type: "tax_rule",
            target_id: id,
            summary: format!("Removed {} {}%", rule.name, rule.rate),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
