//! Drafts and their lines: create, add (free or from a product price), delete, notes,
//! delete the draft, and the totals preview.

use serde::Deserialize;

use super::{can_bill, changed_underneath, event, label, lock, require};
use crate::audit::{self, AuditEvent};
use crate::auth::model::{Actor, required_text};
use crate::billing::catalog::model::{self as catalog, Period, PriceQuery};
use crate::billing::invoices::model::{self, InvoiceStatus, LineAmount, LineKind};
use crate::billing::invoices::store::{self, InvoiceRow, LineRow, TaxRuleRow};
use crate::billing::{catalog::pricing, money};
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::web::{AppError, AppResult, FieldErrors};

pub async fn create_draft(
    db: &Db,
    actor: &Actor,
    tenant_id: &str,
    currency: &str,
) -> AppResult<String> {
    require(can_bill(actor))?;
    let mut tx = db.begin_write().await?;
    let Some(tenant) =
        crate::auth::store::get_tenant(&mut *tx, &crate::db::TenantScope::All, tenant_id)
            .await?
            .filter(|t| t.kind == crate::actor::TenantKind::Customer)
    else {
        return Err(AppError::Invalid(FieldErrors::one(
            "tenant_id",
            "Choose a customer tenant.",
        )));
    };
    let currency = if currency.trim().is_empty() {
        tenant.currency.clone()
    } else {
        currency.trim().to_uppercase()
    };
    if money::currency(&currency).is_none() {
        return Err(AppError::Invalid(FieldErrors::one(
            "currency",
            "Choose a supported currency.",
        )));
    }
    let id = new_id();
    store::insert_draft(&mut tx, &id, &tenant.id, &currency).await?;
    audit::record(
        &mut tx,
        actor,
        AuditEvent {
            tenant_id: Some(&tenant.id),
            action: "invoice.draft_created",
            target_type: "invoice",
            target_id: &id,
            summary: format!("Draft invoice in {currency} for {}", tenant.name),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct LineInput {
    pub kind: String,
    pub description: String,
    pub quantity: String,
    pub unit_price: String,
}

pub(super) async fn draft_for_change(
    tx: &mut Tx,
    db: &Db,
    actor: &Actor,
    id: &str,
) -> AppResult<InvoiceRow> {
    require(can_bill(actor))?;
    let inv = lock(tx, db, actor, id).await?;
    if inv.status != InvoiceStatus::Draft {
        return Err(AppError::refused(format!(
            "Invoice {} is issued: it can no longer be edited. Correct it with a credit note.",
            label(&inv)
        )));
    }
    Ok(inv)
}

/// Bumps the draft's version so that an issue racing with this edit fails cleanly.
async fn touch(tx: &mut Tx, inv: &InvoiceRow, notes: Option<&str>) -> AppResult<()> {
    if store::touch_draft(tx, &inv.id, inv.version, notes).await? == 0 {
        return Err(changed_underneath());
    }
    Ok(())
}

pub async fn add_line(db: &Db, actor: &Actor, id: &str, input: &LineInput) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    let inv = draft_for_change(&mut tx, db, actor, id).await?;
    let cur = money::currency(&inv.currency)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad currency")))?;
    let mut e = FieldErrors::new();
    let kind = match LineKind::parse(&input.kind) {
        Some(LineKind::Tax) => {
            e.add(
                "kind",
                "Tax is added from the tax rules when the invoice is issued.",
            );
            LineKind::Tax
        }
        Some(k) => k,
        None => {
            e.add("kind", "Choose a line type.");
            LineKind::Item
        }
    };
    let description = required_text(&mut e, "description", &input.description, 200);
    let quantity = model::parse_quantity(&input.quantity)
        .map_err(|m| e.add("quantity", m))
        .ok();
    // Adjustments may lower the total: they accept a leading minus sign.
    let (negative, raw_price) = match input.unit_price.trim().strip_prefix('-') {
        Some(rest) if kind == LineKind::Adjustment => (true, rest),
        _ => (false, input.unit_price.trim()),
    };
    let unit = money::parse_amount(raw_price, cur)
        .map_err(|m| e.add("unit_price", m))
        .ok();
    e.into_result().map_err(AppError::Invalid)?;
    let (Some(quantity), Some(unit)) = (quantity, unit) else {
        return Err(AppError::NotFound);
    };
    let unit = if negative { -unit } else { unit };
    let amount = model::line_amount(quantity, unit)
        .map_err(|err| AppError::Invalid(FieldErrors::one("quantity", err.to_string())))?;
    let line = LineRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        position: 0,
        kind,
        description,
        quantity: quantity.to_string(),
        unit_price_minor: unit,
        amount_minor: amount,
        product_id: None,
    };
    store::insert_line(&mut tx, &line).await?;
    touch(&mut tx, &inv, None).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.line_added",
            format!(
                "{}: {} {}",
                kind,
                line.description,
                money::format_money(amount, &inv.currency)
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProductLineInput {
    pub product_id: String,
    pub period: String,
    pub quantity: String,
}

/// A line priced from the catalog for the invoice's tenant (their overrides apply), plus a
/// separate line for the setup fee when there is one.
pub async fn add_product_line(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &ProductLineInput,
) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    let inv = draft_for_change(&mut tx, db, actor, id).await?;
    let mut e = FieldErrors::new();
    let product = crate::billing::catalog::store::get_product(&db.pool, &input.product_id).await?;
    let quantity = model::parse_quantity(&input.quantity)
        .map_err(|m| e.add("quantity", m))
        .ok();
    let Some(product) = product else {
        return Err(AppError::Invalid(FieldErrors::one(
            "product_id",
            "Choose a product.",
        )));
    };
    if !catalog::can_be_sold(product.status) {
        e.add(
            "product_id",
            format!(
                "{} is {} and can no longer be sold.",
                product.code,
                product.status.label().to_lowercase()
            ),
        );
    }
    let period = Period::parse(&input.period).unwrap_or(Period::Monthly);
    let tenant =
        crate::auth::store::get_tenant(&mut *tx, &crate::db::TenantScope::All, &inv.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
    let query = PriceQuery {
        tenant_id: &tenant.id,
        region: &tenant.region,
        currency: &inv.currency,
        period,
        at: Timestamp::now().0,
    };
    let resolved = pricing::resolve_one(&mut tx, &product.id, &query).await?;
    if resolved.is_none() {
        e.add(
            "period",
            format!(
                "{} has no price {} in {}.",
                product.code,
                period.label(),
                inv.currency
            ),
        );
    }
    e.into_result().map_err(AppError::Invalid)?;
    let (Some(quantity), Some(price)) = (quantity, resolved) else {
        return Err(AppError::NotFound);
    };
    let amount = model::line_amount(quantity, price.amount_minor)
        .map_err(|err| AppError::Invalid(FieldErrors::one("quantity", err.to_string())))?;
    let description = format!("{} ({}, {})", product.name, product.code, period.label());
    store::insert_line(
        &mut tx,
        &LineRow {
            id: new_id(),
            invoice_id: inv.id.clone(),
            position: 0,
            kind: LineKind::Item,
            description: description.clone(),
            quantity: quantity.to_string(),
            unit_price_minor: price.amount_minor,
            amount_minor: amount,
            product_id: Some(product.id.clone()),
        },
    )
    .await?;
    if price.setup_fee_minor > 0 {
        store::insert_line(
            &mut tx,
            &LineRow {
                id: new_id(),
                invoice_id: inv.id.clone(),
                position: 0,
                kind: LineKind::Item,
                description: format!("Setup fee: {}", product.name),
                quantity: "1".into(),
                unit_price_minor: price.setup_fee_minor,
                amount_minor: price.setup_fee_minor,
                product_id: Some(product.id.clone()),
            },
        )
        .await?;
    }
    touch(&mut tx, &inv, None).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.line_added",
            format!(
                "{description}: {} ({})",
                money::format_money(amount, &inv.currency),
                price.source.label()
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_line(db: &Db, actor: &Actor, id: &str, line_id: &str) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    let inv = draft_for_change(&mut tx, db, actor, id).await?;
    if store::delete_line(&mut tx, &inv.id, line_id).await? == 0 {
        return Err(AppError::NotFound);
    }
    touch(&mut tx, &inv, None).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.line_removed",
            "Removed a line from the draft".into(),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn set_notes(db: &Db, actor: &Actor, id: &str, notes: &str) -> AppResult<()> {
    set_notes_at(db, actor, id, notes, None).await
}

/// [`set_notes`], only if the draft is still at `version` (from [`invoice_version`]; `*`
/// or `None`: any) when locked; otherwise `Stale`.
pub async fn set_notes_at(
    db: &Db,
    actor: &Actor,
    id: &str,
    notes: &str,
    version: Option<&str>,
) -> AppResult<()> {
    let notes = notes.trim();
    if notes.chars().count() > 2000 {
        return Err(AppError::Invalid(FieldErrors::one(
            "notes",
            "Use at most 2000 characters.",
        )));
    }
    let mut tx = db.begin_write().await?;
    let inv = draft_for_change(&mut tx, db, actor, id).await?;
    if let Some(v) = version.map(str::trim)
        && v != "*"
        && v != invoice_version(&inv)
    {
        return Err(AppError::Stale(format!(
            "The draft for {} changed since you read it: read it again and retry.",
            inv.tenant_name
        )));
    }
    touch(&mut tx, &inv, Some(notes)).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.notes_changed",
            "Changed the draft's notes".into(),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The invoice's version as an `ETag`: it changes with every edit of a draft and every
/// change of state.
pub fn invoice_version(inv: &InvoiceRow) -> String {
    format!("\"i{}\"", inv.version)
}

pub async fn delete_draft(db: &Db, actor: &Actor, id: &str) -> AppResult<()> {
    let mut tx = db.begin_write().await?;
    let inv = draft_for_change(&mut tx, db, actor, id).await?;
    if store::delete_draft(&mut tx, &inv).await? == 0 {
        return Err(changed_underneath());
    }
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.draft_deleted",
            format!("Deleted a draft for {}", inv.tenant_name),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Draft totals as they would be issued now (tax from the tenant's region rule).
pub async fn preview_totals(
    db: &Db,
    inv: &InvoiceRow,
    lines: &[LineRow],
) -> AppResult<(Result<model::Totals, model::CalcError>, Option<TaxRuleRow>)> {
    let mut tx = db.pool.begin().await?;
    let tenant =
        crate::auth::store::get_tenant(&mut *tx, &crate::db::TenantScope::All, &inv.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
    let rule = store::tax_rule_for(&mut tx, &tenant.region).await?;
    tx.rollback().await?;
    let rate = super::rule_rate(rule.as_ref())?;
    Ok((model::totals(&amounts(lines), rate), rule))
}

pub(super) fn amounts(lines: &[LineRow]) -> Vec<LineAmount> {
    lines
        .iter()
        .map(|l| LineAmount {
            kind: l.kind,
            amount: l.amount_minor,
        })
        .collect()
}
