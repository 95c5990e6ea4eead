//! Products: validation of the product form, create, read, update, status changes.

use serde::Deserialize;

use super::{product_event, require_read, require_write};
use crate::audit;
use crate::auth::model::{Actor, required_text};
use crate::billing::catalog::model::{
    self, BillingModel, Category, ProductStatus, TaxCategory, TierMode, Visibility,
};
use crate::billing::catalog::store::{self, ProductFields, ProductRow};
use crate::db::{Db, new_id};
use crate::web::forms::unique_to_field;
use crate::web::{AppError, AppResult, FieldErrors};

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
    /// Free days a new subscription starts with (empty: none).
    pub trial_days: String,
}

impl ProductInput {
    pub fn from_row(p: &ProductRow) -> ProductInput {
        ProductInput {
            code: p.code.clone(),
            name: p.name.clone(),
            description: p.description.clone(),
            category: p.category.as_str().into(),
            billing_model: p.billing_model.as_str().into(),
            status: p.status.as_str().into(),
            visibility: p.visibility.as_str().into(),
            tax_category: p.tax_category.as_str().into(),
            unit_name: p.unit_name.clone(),
            tier_mode: p.tier_mode.as_str().into(),
            stripe_price_id: p.stripe_price_id.clone(),
            whmcs_product_id: p.whmcs_product_id.clone(),
            trial_days: p.trial_days.to_string(),
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
    trial_days: i64,
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
            trial_days: self.trial_days,
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
    let trial_days = match input.trial_days.trim() {
        "" => 0,
        raw => raw
            .parse::<i64>()
            .ok()
            .filter(|d| (0..=365).contains(d))
            .unwrap_or_else(|| {
                e.add("trial_days", "Use a whole number of days from 0 to 365.");
                0
            }),
    };
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
        trial_days,
    })
}

fn duplicate_code(e: sqlx::Error) -> AppError {
    unique_to_field(e, "code", "Another product already uses this code.")
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
    update_product_at(db, actor, id, input, None).await
}

/// A product's version for `If-Match`: it changes with every edit (its `updated_at`).
pub fn product_version(p: &ProductRow) -> String {
    format!("\"p{}\"", p.updated_at.0)
}

/// [`update_product`], only if the product is still at `version` (from
/// [`product_version`]) when locked; otherwise `Stale`.
pub async fn update_product_at(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &ProductInput,
    version: Option<&str>,
) -> AppResult<()> {
    require_write(actor)?;
    let p = validate_product(input).map_err(AppError::Invalid)?;
    let mut tx = db.begin_write().await?;
    let current = store::lock_product(&mut tx, db.backend, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if let Some(v) = version
        && v.trim() != "*"
        && v.trim() != product_version(&current)
    {
        return Err(AppError::Stale(format!(
            "{} changed since you read it: read it again and retry.",
            current.code
        )));
    }
    if current.billing_model != p.model {
        let misfits = store::prices(&db.pool, id)
            .await?
            .into_iter()
            .filter(|r| !model::periods_for(p.model).contains(&r.period))
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
    let from = current.status;
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
