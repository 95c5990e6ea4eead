//! Price overrides for one tenant or region, in a time window.

use serde::Deserialize;

use super::{parse_currency, parse_money, parse_period, product_event, require_write};
use crate::audit;
use crate::auth::model::{Actor, TenantScope};
use crate::billing::catalog::model::Override;
use crate::billing::catalog::store;
use crate::billing::money;
use crate::db::{Db, Timestamp, new_id};
use crate::web::{AppError, AppResult, FieldErrors};

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct OverrideInput {
    pub tenant_id: String,
    pub region: String,
    pub currency: String,
    pub period: String,
    pub amount: String,
    pub setup_fee: String,
    /// `YYYY-MM-DD`, first day the price applies (empty: from now on… and before).
    pub valid_from: String,
    /// `YYYY-MM-DD`, last day the price applies (inclusive; empty: open-ended).
    pub valid_until: String,
}

pub async fn add_override(
    db: &Db,
    actor: &Actor,
    product_id: &str,
    input: &OverrideInput,
) -> AppResult<String> {
    require_write(actor)?;
    let mut tx = db.begin_write().await?;
    let product = store::lock_product(&mut tx, db.backend, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut e = FieldErrors::new();
    let tenant_id = input.tenant_id.trim().to_string();
    if !tenant_id.is_empty()
        && crate::auth::store::get_tenant(&db.pool, &TenantScope::All, &tenant_id)
            .await?
            .is_none()
    {
        e.add("tenant_id", "Choose a tenant from the list.");
    }
    let region = input.region.trim().to_string();
    if region.chars().count() > 40 || region.chars().any(char::is_control) {
        e.add("region", "Use at most 40 plain characters.");
    }
    let cur = parse_currency(&mut e, &input.currency);
    let period = parse_period(&mut e, &input.period, product.billing_model);
    let amount = parse_money(&mut e, "amount", &input.amount, cur, false);
    let setup = parse_money(&mut e, "setup_fee", &input.setup_fee, cur, true);
    let mut date = |field: &'static str, raw: &str, default: i64, day_end: bool| -> i64 {
        match raw.trim() {
            "" => default,
            d => match Timestamp::from_date(d) {
                Some(t) if day_end => t.plus_secs(86_400).0,
                Some(t) => t.0,
                None => {
                    e.add(field, "Use a date like 2026-12-31.");
                    default
                }
            },
        }
    };
    let valid_from = date("valid_from", &input.valid_from, 0, false);
    let valid_until = date("valid_until", &input.valid_until, i64::MAX, true);
    if valid_from >= valid_until {
        e.add(
            "valid_until",
            "The last day must not be before the first day.",
        );
    }
    e.into_result().map_err(AppError::Invalid)?;
    let Some(cur) = cur else {
        return Err(AppError::NotFound);
    };
    let rule = Override {
        id: new_id(),
        tenant_id,
        region,
        currency: cur.code.into(),
        period,
        amount_minor: amount,
        setup_fee_minor: setup,
        valid_from,
        valid_until,
    };
    // the product row lock (or BEGIN IMMEDIATE) makes this check-then-insert race-free
    for existing in store::overrides_in_scope(&mut tx, &rule, product_id).await? {
        if existing.rule().overlaps(&rule) {
            return Err(AppError::Invalid(FieldErrors::one(
                "valid_from",
                format!(
                    "This window overlaps an existing override for the same scope ({}).",
                    window_label(existing.valid_from, existing.valid_until)
                ),
            )));
        }
    }
    store::insert_override(&mut tx, product_id, &rule).await?;
    let summary = format!(
        "{}: override {} {} for {} ({})",
        product.code,
        money::format_money(amount, cur.code),
        period.label(),
        scope_label(&rule.tenant_id, &rule.region),
        window_label(valid_from, valid_until)
    );
    audit::record(
        &mut tx,
        actor,
        product_event("product.override_added", product_id, summary),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(rule.id)
}

pub async fn delete_override(
    db: &Db,
    actor: &Actor,
    product_id: &str,
    override_id: &str,
) -> AppResult<()> {
    require_write(actor)?;
    let mut tx = db.begin_write().await?;
    let product = store::lock_product(&mut tx, db.backend, product_id)
        .await?
        .ok_or(AppError::NotFound)?;
    if store::delete_override(&mut tx, product_id, override_id).await? == 0 {
        return Err(AppError::NotFound);
    }
    audit::record(
        &mut tx,
        actor,
        product_event(
            "product.override_removed",
            product_id,
            format!("{}: removed a price override", product.code),
        ),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(())
}

pub fn scope_label(tenant: &str, region: &str) -> String {
    match (tenant.is_empty(), region.is_empty()) {
        (true, true) => "every tenant and region".into(),
        (true, false) => format!("region {region}"),
        (false, true) => "one tenant".into(),
        (false, false) => format!("one tenant in region {region}"),
    }
}

/// "2026-01-01 → 2026-03-31", "always", "from 2026-01-01", "until 2026-03-31" (last day shown).
pub fn window_label(from: i64, until: i64) -> String {
    let day = |t: i64| {
        Timestamp(t)
            .to_string()
            .chars()
            .take(10)
            .collect::<String>()
    };
    match (from <= 0, until == i64::MAX) {
        (true, true) => "always".into(),
        (false, true) => format!("from {}", day(from)),
        (true, false) => format!("until {}", day(until - 86_400_000)),
        (false, false) => format!("{} → {}", day(from), day(until - 86_400_000)),
    }
}
