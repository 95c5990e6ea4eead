//! A product's prices per currency and period, and its volume/graduated tiers.

use serde::Deserialize;

use super::{parse_currency, parse_money, parse_period, product_event, require_write};
use crate::audit;
use crate::auth::model::Actor;
use crate::billing::catalog::model::{self, BillingModel, Tier};
use crate::billing::catalog::store::{self, TierRow};
use crate::billing::money;
use crate::db::{Db, new_id};
use crate::web::{AppError, AppResult, FieldErrors};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PriceInput {
    pub currency: String,
    pub period: String,
    pub amount: String,
    pub setup_fee: String,
}

/// Sets (or replaces) the base price for one currency and period.
pub async fn set_price(
    db: &Db,
    actor: &Actor,
    product_id: &str,
    input: &PriceInput,
) -> AppResult<()> {
    require_write(actor)?;
    let mut tx = db.begin_write().await?;
    let product = store::lock_product(&mut tx, db.backend, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut e = FieldErrors::new();
    let cur = parse_currency(&mut e, &input.currency);
    let period = parse_period(&mut e, &input.period, product.billing_model);
    let amount = parse_money(&mut e, "amount", &input.amount, cur, false);
    let setup = parse_money(&mut e, "setup_fee", &input.setup_fee, cur, true);
    e.into_result().map_err(AppError::Invalid)?;
    let Some(cur) = cur else {
        return Err(AppError::NotFound);
    };
    store::upsert_price(
        &mut tx,
        &new_id(),
        product_id,
        cur.code,
        period.as_str(),
        amount,
        setup,
    )
    .await?;
    let summary = format!(
        "{}: {} {} (setup {})",
        product.code,
        money::format_money(amount, cur.code),
        period.label(),
        money::format_money(setup, cur.code)
    );
    audit::record(
        &mut tx,
        actor,
        product_event("product.price_set", product_id, summary),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(())
}

pub async fn delete_price(
    db: &Db,
    actor: &Actor,
    product_id: &str,
    price_id: &str,
) -> AppResult<()> {
    require_write(actor)?;
    let mut tx = db.begin_write().await?;
    let product = store::lock_product(&mut tx, db.backend, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let removed = store::delete_price(&mut tx, product_id, price_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let summary = format!(
        "{}: removed {} {}",
        product.code,
        money::format_money(removed.amount_minor, &removed.currency),
        removed.period
    );
    audit::record(
        &mut tx,
        actor,
        product_event("product.price_removed", product_id, summary),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct TierInput {
    pub currency: String,
    /// Empty for the open-ended last tier.
    pub up_to: String,
    pub unit_price: String,
    pub flat_fee: String,
}

pub async fn add_tier(
    db: &Db,
    actor: &Actor,
    product_id: &str,
    input: &TierInput,
) -> AppResult<()> {
    require_write(actor)?;
    let mut tx = db.begin_write().await?;
    let product = store::lock_product(&mut tx, db.backend, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut e = FieldErrors::new();
    if product.billing_model != BillingModel::UsageTiered {
        e.add("up_to", "Only usage-tiered products have tiers.");
    }
    let cur = parse_currency(&mut e, &input.currency);
    let up_to = match input.up_to.trim() {
        "" => -1,
        raw => {
            match raw.parse::<i64>() {
                Ok(n) if n >= 1 => n,
                _ => {
                    e.add("up_to", "Use a whole number of units (1 or more), or leave empty for the last tier.");
                    -1
                }
            }
        }
    };
    let unit = parse_money(&mut e, "unit_price", &input.unit_price, cur, false);
    let flat = parse_money(&mut e, "flat_fee", &input.flat_fee, cur, true);
    e.into_result().map_err(AppError::Invalid)?;
    let Some(cur) = cur else {
        return Err(AppError::NotFound);
    };
    let existing = store::tiers_in(&mut *tx, product_id, cur.code).await?;
    if existing.iter().any(|t| t.up_to == up_to) {
        let msg = if up_to < 0 {
            "There already is an open-ended tier in this currency."
        } else {
            "There already is a tier with this bound."
        };
        return Err(AppError::Invalid(FieldErrors::one("up_to", msg)));
    }
    let row = TierRow {
        id: new_id(),
        product_id: product_id.into(),
        currency: cur.code.into(),
        up_to,
        unit_minor: unit,
        flat_minor: flat,
    };
    store::insert_tier(&mut tx, &row).await?;
    let bound = if up_to < 0 {
        "∞".to_string()
    } else {
        up_to.to_string()
    };
    let summary = format!(
        "{}: tier up to {bound} at {} per {}",
        product.code,
        money::format_money(unit, cur.code),
        product.unit_name
    );
    audit::record(
        &mut tx,
        actor,
        product_event("product.tier_added", product_id, summary),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(())
}

pub async fn delete_tier(db: &Db, actor: &Actor, product_id: &str, tier_id: &str) -> AppResult<()> {
    require_write(actor)?;
    let mut tx = db.begin_write().await?;
    let product = store::lock_product(&mut tx, db.backend, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let removed = store::delete_tier(&mut tx, product_id, tier_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let summary = format!(
        "{}: removed the {} tier up to {}",
        product.code, removed.currency, removed.up_to
    );
    audit::record(
        &mut tx,
        actor,
        product_event("product.tier_removed", product_id, summary),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(())
}

/// Tiers of one currency as pricing input.
pub fn tier_set(rows: &[TierRow], currency: &str) -> Vec<Tier> {
    let mut tiers: Vec<Tier> = rows
        .iter()
        .filter(|r| r.currency == currency)
        .map(TierRow::tier)
        .collect();
    model::sort_tiers(&mut tiers);
    tiers
}
