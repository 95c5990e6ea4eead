//! Catalog actions: staff BILLING+ read, staff ADMIN+ write; customers only see `/catalog`.

use serde::Deserialize;

use super::model::{
    self, BillingModel, Category, Override, Period, ProductStatus, TaxCategory, Tier, TierMode,
    Visibility,
};
use super::store::{self, PlanSpecs, ProductFields, ProductRow, TierRow};
use crate::audit::{self, AuditEvent};
use crate::auth::model::{Actor, Role, TenantScope, required_text};
use crate::billing::money::{self, Currency};
use crate::db::{Db, Timestamp, is_unique_violation, new_id};
use crate::web::{AppError, AppResult, FieldErrors};

pub fn can_read(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Billing)
}

pub fn can_write(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

fn require_write(actor: &Actor) -> AppResult<()> {
    if can_write(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn require_read(actor: &Actor) -> AppResult<()> {
    if can_read(actor) {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProductInput {
    pub code: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub billing_model: String,
    pub status: String,
    pub visibility: String,
    pub tax_category: String,
    pub unit_name: String,
    pub tier_mode: String,
    pub stripe_price_id: String,
    pub whmcs_product_id: String,
}

impl ProductInput {
    pub fn from_row(p: &ProductRow) -> ProductInput {
        ProductInput {
            code: p.code.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.clone(),
            billing_model: p.billing_model.clone(),
            status: p.status.clone(),
            visibility: p.visibility.clone(),
            tax_category: p.tax_category.clone(),
            unit_name: p.unit_name.clone(),
            tier_mode: p.tier_mode.clone(),
            stripe_price_id: p.stripe_price_id.clone(),
            whmcs_product_id: p.whmcs_product_id.clone(),
        }
    }
}

/// A product form that passed validation, with normalised values.
struct ValidProduct {
    code: String,
    name: String,
    description: String,
    category: Category,
    model: BillingModel,
    status: ProductStatus,
    visibility: Visibility,
    tax: TaxCategory,
    unit_name: String,
    tier_mode: TierMode,
    stripe_price_id: String,
    whmcs_product_id: String,
}

impl ValidProduct {
    fn fields(&self) -> ProductFields<'_> {
        ProductFields {
            code: &self.code,
            name: &self.name,
            description: &self.description,
            category: self.category.as_str(),
            billing_model: self.model.as_str(),
            visibility: self.visibility.as_str(),
            tax_category: self.tax.as_str(),
            unit_name: &self.unit_name,
            tier_mode: self.tier_mode.as_str(),
            stripe_price_id: &self.stripe_price_id,
            whmcs_product_id: &self.whmcs_product_id,
        }
    }
}

fn choice<T: Copy>(
    errors: &mut FieldErrors,
    field: &'static str,
    parsed: Option<T>,
    fallback: T,
) -> T {
    parsed.unwrap_or_else(|| {
        errors.add(field, "Choose one of the options.");
        fallback
    })
}

fn validate_product(input: &ProductInput) -> Result<ValidProduct, FieldErrors> {
    let mut e = FieldErrors::new();
    let code = input.code.trim().to_uppercase();
    if code.len() < 2 || code.len() > 40 {
        e.add("code", "Use 2 to 40 characters.");
    } else if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        e.add("code", "Use letters, digits, '-', '_' and '.' only.");
    }
    let name = required_text(&mut e, "name", &input.name, 120);
    let description = input.description.trim().to_string();
    if description.chars().count() > 2000 {
        e.add("description", "Use at most 2000 characters.");
    }
    let category = choice(
        &mut e,
        "category",
        Category::parse(&input.category),
        Category::Other,
    );
    let model = choice(
        &mut e,
        "billing_model",
        BillingModel::parse(&input.billing_model),
        BillingModel::Recurring,
    );
    let status = if input.status.trim().is_empty() {
        ProductStatus::Active
    } else {
        choice(
            &mut e,
            "status",
            ProductStatus::parse(&input.status),
            ProductStatus::Active,
        )
    };
    let visibility = choice(
        &mut e,
        "visibility",
        Visibility::parse(&input.visibility),
        Visibility::Private,
    );
    let tax = choice(
        &mut e,
        "tax_category",
        TaxCategory::parse(&input.tax_category),
        TaxCategory::Standard,
    );
    let tier_mode = if input.tier_mode.trim().is_empty() {
        TierMode::Graduated
    } else {
        choice(
            &mut e,
            "tier_mode",
            TierMode::parse(&input.tier_mode),
            TierMode::Graduated,
        )
    };
    let unit_name = input.unit_name.trim().to_string();
    let usage = matches!(model, BillingModel::UsageBased | BillingModel::UsageTiered);
    if usage && unit_name.is_empty() {
        e.add(
            "unit_name",
            "Usage-priced products need a unit, e.g. GB or request.",
        );
    } else if unit_name.chars().count() > 20 || unit_name.chars().any(char::is_control) {
        e.add("unit_name", "Use at most 20 plain characters.");
    }
    let stripe_price_id = input.stripe_price_id.trim().to_string();
    if !stripe_price_id.is_empty()
        && (!stripe_price_id.starts_with("price_")
            || stripe_price_id.len() > 100
            || !stripe_price_id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        e.add("stripe_price_id", "A Stripe price id looks like price_1Nx…");
    }
    let whmcs_product_id = input.whmcs_product_id.trim().to_string();
    if !whmcs_product_id.is_empty()
        && (whmcs_product_id.len() > 12 || !whmcs_product_id.chars().all(|c| c.is_ascii_digit()))
    {
        e.add("whmcs_product_id", "A WHMCS product id is a number.");
    }
    e.into_result()?;
    Ok(ValidProduct {
        code,
        name,
        description,
        category,
        model,
        status,
        visibility,
        tax,
        unit_name: if usage { unit_name } else { String::new() },
        tier_mode,
        stripe_price_id,
        whmcs_product_id,
    })
}

fn duplicate_code(e: sqlx::Error) -> AppError {
    if is_unique_violation(&e) {
        AppError::Invalid(FieldErrors::one(
            "code",
            "Another product already uses this code.",
        ))
    } else {
        e.into()
    }
}

pub async fn create_product(db: &Db, actor: &Actor, input: &ProductInput) -> AppResult<String> {
    require_write(actor)?;
    let p = validate_product(input).map_err(AppError::Invalid)?;
    if p.status == ProductStatus::Deprecated {
        return Err(AppError::Invalid(FieldErrors::one(
            "status",
            "A new product cannot start deprecated.",
        )));
    }
    let id = new_id();
    let mut tx = db.begin_write().await?;
    store::insert_product(&mut tx, &id, p.status.as_str(), &p.fields())
        .await
        .map_err(duplicate_code)?;
    audit::record(
        &mut tx,
        actor,
        product_event(
            "product.created",
            &id,
            format!("Created product {} ({})", p.name, p.code),
        ),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(id)
}

fn product_event<'a>(action: &'a str, id: &'a str, summary: String) -> AuditEvent<'a> {
    AuditEvent {
        tenant_id: None,
        action,
        target_type: "product",
        target_id: id,
        summary,
    }
}

pub async fn get_product(db: &Db, actor: &Actor, id: &str) -> AppResult<ProductRow> {
    require_read(actor)?;
    store::get_product(&db.pool, id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn update_product(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &ProductInput,
) -> AppResult<()> {
    require_write(actor)?;
    let p = validate_product(input).map_err(AppError::Invalid)?;
    let mut tx = db.begin_write().await?;
    let current = store::lock_product(&mut tx, db.backend, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if current.billing_model != p.model.as_str() {
        let misfits = store::prices(&db.pool, id)
            .await?
            .into_iter()
            .filter(|r| {
                Period::parse(&r.period)
                    .is_none_or(|per| !model::periods_for(p.model).contains(&per))
            })
            .count();
        if misfits > 0 {
            return Err(AppError::Invalid(FieldErrors::one(
                "billing_model",
                format!(
                    "Remove the {misfits} price(s) whose period does not fit a {} product first.",
                    p.model.label()
                ),
            )));
        }
    }
    store::update_product(&mut tx, id, &p.fields())
        .await
        .map_err(duplicate_code)?;
    audit::record(
        &mut tx,
        actor,
        product_event(
            "product.updated",
            id,
            format!("Edited product {} ({})", p.name, p.code),
        ),
    )
    .await?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(())
}

/// Moves a product along its status machine. `expected` is the status the person saw; if the
/// product changed meanwhile the update matches nothing and the action is refused cleanly.
pub async fn change_status(
    db: &Db,
    actor: &Actor,
    id: &str,
    to: &str,
    expected: &str,
) -> AppResult<ProductRow> {
    require_write(actor)?;
    let to = ProductStatus::parse(to).ok_or_else(|| AppError::refused("Choose a status."))?;
    let mut tx = db.begin_write().await?;
    let current = store::lock_product(&mut tx, db.backend, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let from = ProductStatus::parse(&current.status)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad status {}", current.status)))?;
    if !expected.is_empty() && expected != from.as_str() {
        return Err(AppError::refused(format!(
            "{} changed meanwhile: it is now {}. Reload and try again.",
            current.code,
            from.label()
        )));
    }
    if from == to {
        return Ok(current);
    }
    if !model::transition_allowed(from, to) {
        return Err(AppError::refused(format!(
            "A {} product cannot become {}.",
            from.label().to_lowercase(),
            to.label().to_lowercase()
        )));
    }
    if store::set_status(&mut tx, id, from.as_str(), to.as_str()).await? == 0 {
        return Err(AppError::refused(
            "The product changed meanwhile. Reload and try again.",
        ));
    }
    audit::record(
        &mut tx,
        actor,
        product_event(
            "product.status_changed",
            id,
            format!("{}: {} → {}", current.code, from, to),
        ),
    )
    .await?;
    let updated = store::lock_product(&mut tx, db.backend, id)
        .await?
        .ok_or(AppError::NotFound)?;
    tx.commit().await?;
    db.pages.invalidate();
    Ok(updated)
}

fn parse_currency(e: &mut FieldErrors, raw: &str) -> Option<Currency> {
    let c = money::currency(raw);
    if c.is_none() {
        e.add(
            "currency",
            "Choose a supported currency (e.g. USD, EUR, JPY, KWD).",
        );
    }
    c
}

fn parse_period(e: &mut FieldErrors, raw: &str, product_model: BillingModel) -> Period {
    match Period::parse(raw) {
        Some(p) if model::periods_for(product_model).contains(&p) => p,
        Some(p) => {
            e.add(
                "period",
                format!(
                    "A {} product is not priced {}.",
                    product_model.label().to_lowercase(),
                    p.label()
                ),
            );
            p
        }
        None => {
            e.add("period", "Choose a period.");
            Period::Monthly
        }
    }
}

fn parse_money(
    e: &mut FieldErrors,
    field: &'static str,
    raw: &str,
    cur: Option<Currency>,
    optional: bool,
) -> i64 {
    let Some(cur) = cur else { return 0 };
    if optional && raw.trim().is_empty() {
        return 0;
    }
    money::parse_amount(raw, cur).unwrap_or_else(|m| {
        e.add(field, m);
        0
    })
}

fn product_model(p: &ProductRow) -> AppResult<BillingModel> {
    BillingModel::parse(&p.billing_model)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad billing model {}", p.billing_model)))
}

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
    let period = parse_period(&mut e, &input.period, product_model(&product)?);
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
    if product_model(&product)? != BillingModel::UsageTiered {
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
    let existing = store::tiers_tx(&mut tx, product_id, cur.code).await?;
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
    let period = parse_period(&mut e, &input.period, product_model(&product)?);
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
        if existing.rule().is_some_and(|x| x.overlaps(&rule)) {
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

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PlanInput {
    pub cpu_cores: String,
    pub ram_mb: String,
    pub disk_gb: String,
    pub max_websites: String,
    pub max_email_accounts: String,
}

pub async fn update_plan(db: &Db, actor: &Actor, code: &str, input: &PlanInput) -> AppResult<()> {
    require_write(actor)?;
    let mut e = FieldErrors::new();
    let mut number = |field: &'static str, raw: &str, min: i64, max: i64| -> i64 {
        match raw.trim().parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => n,
            _ => {
                e.add(
                    field,
                    if min < 0 {
                        format!("Use a whole number from 0 to {max}, or -1 for unlimited.")
                    } else {
                        format!("Use a whole number from {min} to {max}.")
                    },
                );
                min
            }
        }
    };
    let specs = PlanSpecs {
        cpu_cores: number("cpu_cores", &input.cpu_cores, 1, 256),
        ram_mb: number("ram_mb", &input.ram_mb, 128, 4_194_304),
        disk_gb: number("disk_gb", &input.disk_gb, 1, 1_048_576),
        max_websites: number("max_websites", &input.max_websites, -1, 1_000_000),
        max_email_accounts: number(
            "max_email_accounts",
            &input.max_email_accounts,
            -1,
            1_000_000,
        ),
    };
    e.into_result().map_err(AppError::Invalid)?;
    let mut tx = db.begin_write().await?;
    if store::update_plan(&mut tx, code, &specs).await? == 0 {
        return Err(AppError::NotFound);
    }
    let summary = format!(
        "Plan {code}: {} vCPU, {} MB RAM, {} GB disk, {} websites, {} e-mail accounts",
        specs.cpu_cores, specs.ram_mb, specs.disk_gb, specs.max_websites, specs.max_email_accounts
    );
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: None,
            action: "plan.updated",
            target_type: "cloudpod_plan",
            target_id: code,
            summary,
        },
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
