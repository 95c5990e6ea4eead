//! Invoice actions. Staff BILLING+ create drafts, issue and record payments; staff ADMIN+
//! refund, void and credit; a customer's BILLING+ members read their own tenant's issued
//! invoices. Every state change is one conditional UPDATE: if the invoice changed underneath,
//! nothing happens and the person is told so.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::model::{self, InvoiceStatus, LineAmount, LineKind, PaymentKind, PaymentStatus};
use super::store::{
    self, Amounts, CreditNoteRow, InvoiceRow, Issue, LineRow, PaymentRow, TaxRuleRow, Visibility,
};
use crate::audit::{self, AuditEvent};
use crate::auth::model::{Actor, Role, TenantScope, required_text};
use crate::billing::catalog::model::{self as catalog, Period, PriceQuery};
use crate::billing::{catalog::pricing, money};
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::web::{AppError, AppResult, FieldErrors};

pub fn can_read(actor: &Actor) -> bool {
    actor.at_least(Role::Billing)
}

/// Staff BILLING+: drafts, issuing, payments.
pub fn can_bill(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Billing)
}

/// Staff ADMIN+: refunds, voids, credit notes, tax rules.
pub fn can_correct(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

fn require(allowed: bool) -> AppResult<()> {
    if allowed {
        Ok(())
    } else {
        Err(AppError::Forbidden)
    }
}

pub fn visibility(actor: &Actor) -> (TenantScope, bool) {
    (actor.scope(), !actor.is_staff)
}

fn changed_underneath() -> AppError {
    AppError::refused(
        "The invoice changed meanwhile (someone else acted on it). Reload and try again.",
    )
}

fn status_of(inv: &InvoiceRow) -> AppResult<InvoiceStatus> {
    InvoiceStatus::parse(&inv.status)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad status {}", inv.status)))
}

fn event<'a>(inv: &'a InvoiceRow, action: &'a str, summary: String) -> AuditEvent<'a> {
    AuditEvent {
        tenant_id: Some(&inv.tenant_id),
        action,
        target_type: "invoice",
        target_id: &inv.id,
        summary,
    }
}

fn label(inv: &InvoiceRow) -> String {
    inv.number.clone().unwrap_or_else(|| "draft".into())
}

/// Loads the invoice for a change: locked, in scope (404 otherwise).
async fn lock(tx: &mut Tx, db: &Db, actor: &Actor, id: &str) -> AppResult<InvoiceRow> {
    store::lock_invoice(tx, db.backend, &actor.scope(), id)
        .await?
        .ok_or(AppError::NotFound)
}

pub async fn get(db: &Db, actor: &Actor, id: &str) -> AppResult<InvoiceRow> {
    require(can_read(actor))?;
    let (scope, hide_drafts) = visibility(actor);
    store::get_invoice(
        &db.pool,
        &Visibility {
            scope: &scope,
            hide_drafts,
        },
        id,
    )
    .await?
    .ok_or(AppError::NotFound)
}

// ------------------------------------------------------------------ drafts

pub async fn create_draft(
    db: &Db,
    actor: &Actor,
    tenant_id: &str,
    currency: &str,
) -> AppResult<String> {
    require(can_bill(actor))?;
    let mut tx = db.begin_write().await?;
    let Some(tenant) = crate::auth::store::get_tenant_tx(&mut tx, tenant_id)
        .await?
        .filter(|t| t.kind == "CUSTOMER")
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

async fn draft_for_change(tx: &mut Tx, db: &Db, actor: &Actor, id: &str) -> AppResult<InvoiceRow> {
    require(can_bill(actor))?;
    let inv = lock(tx, db, actor, id).await?;
    if status_of(&inv)? != InvoiceStatus::Draft {
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
        kind: kind.as_str().into(),
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
    if !catalog::ProductStatus::parse(&product.status).is_some_and(catalog::can_be_sold) {
        e.add(
            "product_id",
            format!(
                "{} is {} and can no longer be sold.",
                product.code,
                product.status.to_lowercase()
            ),
        );
    }
    let period = Period::parse(&input.period).unwrap_or(Period::Monthly);
    let tenant = crate::auth::store::get_tenant_tx(&mut tx, &inv.tenant_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let query = PriceQuery {
        tenant_id: &tenant.id,
        region: &tenant.region,
        currency: &inv.currency,
        period,
        at: Timestamp::now().0,
    };
    let resolved = pricing::resolve_one(db, &product.id, &query).await?;
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
            kind: "ITEM".into(),
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
                kind: "ITEM".into(),
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
    let notes = notes.trim();
    if notes.chars().count() > 2000 {
        return Err(AppError::Invalid(FieldErrors::one(
            "notes",
            "Use at most 2000 characters.",
        )));
    }
    let mut tx = db.begin_write().await?;
    let inv = draft_for_change(&mut tx, db, actor, id).await?;
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
    let tenant = crate::auth::store::get_tenant_tx(&mut tx, &inv.tenant_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let rule = store::tax_rule_for(&mut tx, &tenant.region).await?;
    tx.rollback().await?;
    let rate = rule
        .as_ref()
        .and_then(|r| Decimal::from_str(&r.rate).ok())
        .unwrap_or_default();
    Ok((model::totals(&amounts(lines), rate), rule))
}

fn amounts(lines: &[LineRow]) -> Vec<LineAmount> {
    lines
        .iter()
        .filter_map(|l| {
            Some(LineAmount {
                kind: LineKind::parse(&l.kind)?,
                amount: l.amount_minor,
            })
        })
        .collect()
}

// ------------------------------------------------------------------ issue

/// Names, addresses and tax ids as they are at the moment of issue.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    pub address: String,
    pub email: String,
    pub country: String,
    pub tax_id: String,
}

impl Party {
    fn of(t: &crate::auth::store::TenantRow) -> Party {
        Party {
            name: t.name.clone(),
            address: t.address.clone(),
            email: t.billing_email.clone(),
            country: t.country.clone(),
            tax_id: t.tax_id.clone(),
        }
    }

    pub fn parse(json: &str) -> Party {
        serde_json::from_str(json).unwrap_or_default()
    }
}

/// What issuing produced; the e-mail job is enqueued by the caller inside the same transaction.
pub struct Issued {
    pub number: String,
    pub total_minor: i64,
}

/// DRAFT → ISSUED in one transaction: number from the tenant's yearly counter, dates, frozen
/// lines + TAX line, totals and buyer/seller snapshots.
pub async fn issue(db: &Db, actor: &Actor, id: &str) -> AppResult<Issued> {
    let mut tx = db.begin_write().await?;
    let issued = issue_in(&mut tx, db, actor, id, &mut IssueCache::default()).await?;
    tx.commit().await?;
    Ok(issued)
}

/// Drafts issued per transaction in a billing run: one commit (one fsync) for many invoices.
pub const BATCH: usize = 200;

/// A billing run: issues the given drafts in batches, each batch one transaction (a failure
/// rolls back only its own batch, numbers included, so the sequence stays gapless).
pub async fn issue_batch(db: &Db, actor: &Actor, ids: &[String]) -> AppResult<Vec<Issued>> {
    require(can_bill(actor))?;
    let mut issued = Vec::with_capacity(ids.len());
    let mut cache = IssueCache::default();
    for chunk in ids.chunks(BATCH) {
        let mut tx = db.begin_write().await?;
        for id in chunk {
            issued.push(issue_in(&mut tx, db, actor, id, &mut cache).await?);
        }
        tx.commit().await?;
    }
    Ok(issued)
}

/// Issues every draft (of one tenant, or all) that has at least one item.
pub async fn issue_all_drafts(db: &Db, actor: &Actor, tenant_id: &str) -> AppResult<usize> {
    require(can_bill(actor))?;
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT i.id FROM invoices i WHERE i.status = 'DRAFT' AND ($1 = '' OR i.tenant_id = $1) \
         AND EXISTS (SELECT 1 FROM invoice_lines l WHERE l.invoice_id = i.id AND l.kind = 'ITEM') \
         ORDER BY i.created_at, i.id",
    )
    .bind(tenant_id)
    .fetch_all(&db.pool)
    .await?;
    Ok(issue_batch(db, actor, &ids).await?.len())
}

/// What every invoice of a billing run needs but does not change: read once per run.
#[derive(Default)]
pub struct IssueCache {
    seller: Option<crate::auth::store::TenantRow>,
    buyers: std::collections::HashMap<String, crate::auth::store::TenantRow>,
    rules: std::collections::HashMap<String, Option<TaxRuleRow>>,
}

pub async fn issue_in(
    tx: &mut Tx,
    db: &Db,
    actor: &Actor,
    id: &str,
    cache: &mut IssueCache,
) -> AppResult<Issued> {
    let inv = draft_for_change(tx, db, actor, id).await?;
    let lines = store::lines_tx(tx, &inv.id).await?;
    if !lines.iter().any(|l| l.kind == "ITEM") {
        return Err(AppError::refused("Add at least one item before issuing."));
    }
    if !cache.buyers.contains_key(&inv.tenant_id) {
        let buyer = crate::auth::store::get_tenant_tx(tx, &inv.tenant_id)
            .await?
            .ok_or(AppError::NotFound)?;
        cache.buyers.insert(inv.tenant_id.clone(), buyer);
    }
    let buyer = cache.buyers[&inv.tenant_id].clone();
    if cache.seller.is_none() {
        cache.seller = crate::auth::store::operator_tenant(tx).await?;
    }
    let seller = cache
        .seller
        .clone()
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no operator tenant")))?;
    if !cache.rules.contains_key(&buyer.region) {
        let rule = store::tax_rule_for(tx, &buyer.region).await?;
        cache.rules.insert(buyer.region.clone(), rule);
    }
    let rule = cache.rules[&buyer.region].clone();
    let rate = rule
        .as_ref()
        .map_or(Ok(Decimal::ZERO), |r| Decimal::from_str(&r.rate))
        .map_err(|e| AppError::Internal(e.into()))?;
    let totals =
        model::totals(&amounts(&lines), rate).map_err(|e| AppError::refused(e.to_string()))?;
    let today = time::OffsetDateTime::now_utc().date();
    let due = today
        .checked_add(time::Duration::days(buyer.net_terms_days.clamp(0, 365)))
        .unwrap_or(today);
    let seq =
        store::next_document_number(tx, &inv.tenant_id, i64::from(today.year()), "INV").await?;
    let number = model::document_number("INV", today.year(), seq);
    let tax_name = rule
        .as_ref()
        .map_or_else(|| "No tax".to_string(), |r| r.name.clone());
    let issue = Issue {
        inv: &inv,
        number: &number,
        issue_date: &today.to_string(),
        due_date: &due.to_string(),
        tax_name: &tax_name,
        tax_rate: &rate.to_string(),
        subtotal: totals.subtotal,
        discount: totals.discount,
        tax: totals.tax,
        total: totals.total,
        buyer: &serde_json::to_string(&Party::of(&buyer))
            .map_err(|e| AppError::Internal(e.into()))?,
        seller: &serde_json::to_string(&Party::of(&seller))
            .map_err(|e| AppError::Internal(e.into()))?,
    };
    // A zero-total invoice is settled the moment it is issued.
    let status = model::settled_status(totals.total);
    if store::mark_issued(tx, &issue, status.as_str()).await? == 0 {
        return Err(changed_underneath());
    }
    if totals.tax > 0 {
        store::insert_line(
            tx,
            &LineRow {
                id: new_id(),
                invoice_id: inv.id.clone(),
                position: 0,
                kind: "TAX".into(),
                description: format!("{tax_name} ({rate}%)"),
                quantity: "1".into(),
                unit_price_minor: totals.tax,
                amount_minor: totals.tax,
                product_id: None,
            },
        )
        .await?;
    }
    send_invoice_mail(tx, &inv.id, &buyer, &seller).await?;
    audit::record(
        &mut *tx,
        actor,
        event(
            &inv,
            "invoice.issued",
            format!(
                "Issued {number} for {}: {}",
                buyer.name,
                money::format_money(totals.total, &inv.currency)
            ),
        ),
    )
    .await?;
    Ok(Issued {
        number,
        total_minor: totals.total,
    })
}

// ------------------------------------------------------------------ payments

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct PaymentInput {
    pub amount: String,
    pub method: String,
    pub reference: String,
    /// `YYYY-MM-DD`; today when empty.
    pub paid_on: String,
    /// SUCCESS or FAILED (a failed attempt is recorded, not counted).
    pub status: String,
    /// Generated into the form when it is rendered: a double submit records one payment.
    pub idempotency_key: String,
}

pub const METHODS: &[&str] = &["Bank transfer", "Card", "Cash", "PayPal", "Stripe", "Other"];

fn parse_day(e: &mut FieldErrors, field: &'static str, raw: &str) -> String {
    match raw.trim() {
        "" => time::OffsetDateTime::now_utc().date().to_string(),
        d if Timestamp::from_date(d).is_some() => d.to_string(),
        _ => {
            e.add(field, "Use a date like 2026-11-21.");
            String::new()
        }
    }
}

fn idempotency_key(e: &mut FieldErrors, raw: &str) -> String {
    let key = raw.trim();
    if key.len() < 16
        || key.len() > 64
        || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        e.add(
            "amount",
            "This form has expired. Reload the page and try again.",
        );
    }
    key.to_string()
}

fn apply(tx_inv: &InvoiceRow, paid: i64, refunded: i64, credited: i64) -> (Amounts, InvoiceStatus) {
    let due = model::amount_due(tx_inv.total_minor, credited, paid, refunded);
    (
        Amounts {
            paid,
            refunded,
            credited,
            due,
        },
        model::settled_status(due),
    )
}

async fn save_amounts(
    tx: &mut Tx,
    inv: &InvoiceRow,
    from: InvoiceStatus,
    to: InvoiceStatus,
    a: &Amounts,
) -> AppResult<()> {
    if from != to && !model::transition_allowed(from, to) {
        return Err(AppError::refused(format!(
            "A {} invoice cannot become {}.",
            from.label().to_lowercase(),
            to.label().to_lowercase()
        )));
    }
    if store::set_amounts(tx, inv, to.as_str(), a).await? == 0 {
        return Err(changed_underneath());
    }
    Ok(())
}

/// Records a payment. A repeated submission with the same idempotency key returns the first
/// payment instead of recording another.
pub async fn record_payment(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &PaymentInput,
) -> AppResult<PaymentRow> {
    require(can_bill(actor))?;
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    let mut e = FieldErrors::new();
    let key = idempotency_key(&mut e, &input.idempotency_key);
    if let Some(existing) = store::payment_by_key(&mut tx, &key).await? {
        return if existing.invoice_id == inv.id {
            Ok(existing)
        } else {
            Err(AppError::refused("This form belongs to another invoice."))
        };
    }
    let cur = money::currency(&inv.currency)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad currency")))?;
    let amount = money::parse_amount(&input.amount, cur)
        .map_err(|m| e.add("amount", m))
        .unwrap_or(0);
    let method = input.method.trim().to_string();
    if !METHODS.contains(&method.as_str()) {
        e.add("method", "Choose a payment method.");
    }
    let reference: String = input.reference.trim().chars().take(200).collect();
    let paid_on = parse_day(&mut e, "paid_on", &input.paid_on);
    let status = PaymentStatus::parse(if input.status.is_empty() {
        "SUCCESS"
    } else {
        &input.status
    })
    .unwrap_or_else(|| {
        e.add("status", "Choose whether the payment succeeded.");
        PaymentStatus::Success
    });
    e.into_result().map_err(AppError::Invalid)?;
    let from = status_of(&inv)?;
    if status == PaymentStatus::Success {
        model::check_payment(from, amount, inv.due_minor)
            .map_err(|m| AppError::Invalid(FieldErrors::one("amount", m)))?;
    } else if amount <= 0 {
        return Err(AppError::Invalid(FieldErrors::one(
            "amount",
            "The amount must be more than zero.",
        )));
    }
    let payment = PaymentRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        kind: PaymentKind::Payment.as_str().into(),
        status: status.as_str().into(),
        amount_minor: amount,
        method,
        reference,
        paid_on,
        refund_of: None,
        idempotency_key: key,
        created_by: actor.email.clone(),
        created_at: Timestamp::now(),
    };
    store::insert_payment(&mut tx, &payment).await?;
    if status == PaymentStatus::Success {
        let (amounts, to) = apply(
            &inv,
            inv.paid_minor + amount,
            inv.refunded_minor,
            inv.credited_minor,
        );
        save_amounts(&mut tx, &inv, from, to, &amounts).await?;
    }
    let summary = format!(
        "{} payment of {} on {} ({})",
        status.label(),
        money::format_money(amount, &inv.currency),
        label(&inv),
        payment.method
    );
    audit::record(
        &mut tx,
        actor,
        event(&inv, "invoice.payment_recorded", summary),
    )
    .await?;
    tx.commit().await?;
    Ok(payment)
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct RefundInput {
    pub payment_id: String,
    pub amount: String,
    pub reference: String,
    pub idempotency_key: String,
}

pub async fn refund(
    db: &Db,
    actor: &Actor,
    id: &str,
    input: &RefundInput,
) -> AppResult<PaymentRow> {
    require(can_correct(actor))?;
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    let mut e = FieldErrors::new();
    let key = idempotency_key(&mut e, &input.idempotency_key);
    if let Some(existing) = store::payment_by_key(&mut tx, &key).await? {
        return if existing.invoice_id == inv.id {
            Ok(existing)
        } else {
            Err(AppError::refused("This form belongs to another invoice."))
        };
    }
    let cur = money::currency(&inv.currency)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad currency")))?;
    let amount = money::parse_amount(&input.amount, cur)
        .map_err(|m| e.add("amount", m))
        .unwrap_or(0);
    e.into_result().map_err(AppError::Invalid)?;
    let all = store::payments_tx(&mut tx, &inv.id).await?;
    let original = all
        .iter()
        .find(|p| p.id == input.payment_id && p.kind == "PAYMENT")
        .ok_or(AppError::NotFound)?;
    let already: i64 = all
        .iter()
        .filter(|p| p.refund_of.as_deref() == Some(original.id.as_str()) && p.status == "SUCCESS")
        .map(|p| p.amount_minor)
        .sum();
    model::check_refund(
        original.status == "SUCCESS",
        original.amount_minor,
        already,
        amount,
    )
    .map_err(|m| AppError::Invalid(FieldErrors::one("amount", m)))?;
    let refund = PaymentRow {
        id: new_id(),
        invoice_id: inv.id.clone(),
        kind: PaymentKind::Refund.as_str().into(),
        status: "SUCCESS".into(),
        amount_minor: amount,
        method: original.method.clone(),
        reference: input.reference.trim().chars().take(200).collect(),
        paid_on: time::OffsetDateTime::now_utc().date().to_string(),
        refund_of: Some(original.id.clone()),
        idempotency_key: key,
        created_by: actor.email.clone(),
        created_at: Timestamp::now(),
    };
    store::insert_payment(&mut tx, &refund).await?;
    let from = status_of(&inv)?;
    let (amounts, to) = if from == InvoiceStatus::Void {
        (
            Amounts {
                paid: inv.paid_minor,
                refunded: inv.refunded_minor + amount,
                credited: inv.credited_minor,
                due: 0,
            },
            InvoiceStatus::Void,
        )
    } else {
        apply(
            &inv,
            inv.paid_minor,
            inv.refunded_minor + amount,
            inv.credited_minor,
        )
    };
    save_amounts(&mut tx, &inv, from, to, &amounts).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.refunded",
            format!(
                "Refunded {} of a payment on {}",
                money::format_money(amount, &inv.currency),
                label(&inv)
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(refund)
}

// ------------------------------------------------------------------ void and credit

pub async fn void(db: &Db, actor: &Actor, id: &str, confirmed: bool) -> AppResult<()> {
    require(can_correct(actor))?;
    if !confirmed {
        return Err(AppError::refused(
            "Tick the confirmation box to void this invoice.",
        ));
    }
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    model::check_void(status_of(&inv)?, inv.paid_minor, inv.refunded_minor)
        .map_err(AppError::Refused)?;
    if store::mark_void(&mut tx, &inv).await? == 0 {
        return Err(changed_underneath());
    }
    audit::record(
        &mut tx,
        actor,
        event(&inv, "invoice.voided", format!("Voided {}", label(&inv))),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default)]
pub struct CreditInput {
    pub amount: String,
    pub reason: String,
}

pub async fn credit(db: &Db, actor: &Actor, id: &str, input: &CreditInput) -> AppResult<String> {
    require(can_correct(actor))?;
    let mut tx = db.begin_write().await?;
    let inv = lock(&mut tx, db, actor, id).await?;
    let cur = money::currency(&inv.currency)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("bad currency")))?;
    let mut e = FieldErrors::new();
    let amount = money::parse_amount(&input.amount, cur)
        .map_err(|m| e.add("amount", m))
        .unwrap_or(0);
    let reason = required_text(&mut e, "reason", &input.reason, 500);
    e.into_result().map_err(AppError::Invalid)?;
    let from = status_of(&inv)?;
    model::check_credit(from, amount, inv.due_minor)
        .map_err(|m| AppError::Invalid(FieldErrors::one("amount", m)))?;
    let year = time::OffsetDateTime::now_utc().year();
    let seq = store::next_document_number(&mut tx, &inv.tenant_id, i64::from(year), "CN").await?;
    let number = model::document_number("CN", year, seq);
    store::insert_credit_note(
        &mut tx,
        &CreditNoteRow {
            id: new_id(),
            invoice_id: inv.id.clone(),
            tenant_id: inv.tenant_id.clone(),
            number: number.clone(),
            amount_minor: amount,
            reason,
            created_by: actor.email.clone(),
            created_at: Timestamp::now(),
        },
    )
    .await?;
    let (amounts, to) = apply(
        &inv,
        inv.paid_minor,
        inv.refunded_minor,
        inv.credited_minor + amount,
    );
    save_amounts(&mut tx, &inv, from, to, &amounts).await?;
    audit::record(
        &mut tx,
        actor,
        event(
            &inv,
            "invoice.credited",
            format!(
                "Credit note {number} for {} on {}",
                money::format_money(amount, &inv.currency),
                label(&inv)
            ),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(number)
}

// ------------------------------------------------------------------ tax rules

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
    if let Err(err) = store::insert_tax_rule(&mut tx, &rule).await {
        return Err(if crate::db::is_unique_violation(&err) {
            AppError::Invalid(FieldErrors::one(
                "region",
                "This region already has a tax rule: remove it first.",
            ))
        } else {
            err.into()
        });
    }
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

/// Enqueues the invoice e-mail, with the PDF, to the buyer's billing address in the issuing
/// transaction: if the issue rolls back, no mail goes out.
async fn send_invoice_mail(
    tx: &mut Tx,
    invoice_id: &str,
    buyer: &crate::auth::store::TenantRow,
    seller: &crate::auth::store::TenantRow,
) -> AppResult<()> {
    // read back with the number and totals this transaction just gave it
    let inv = store::invoice_tx(tx, invoice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = store::lines_tx(tx, invoice_id).await?;
    let number = inv.number.clone().unwrap_or_default();
    let pdf = super::pdf::render(&inv, &lines, &[], "Issued");
    let total = money::format_money(inv.total_minor, &inv.currency);
    let mail = crate::mail::OutgoingMail {
        to: format!(
            "{} <{}>",
            buyer.name.replace(['<', '>', '"', ',', ';'], " "),
            buyer.billing_email
        ),
        subject: format!("Invoice {number} from {}", seller.name),
        text_body: format!(
            "Hello {},\n\nplease find attached invoice {number} of {} for {total}, due on {}.\n\n{}\n",
            buyer.name, inv.issue_date, inv.due_date, seller.name
        ),
        attachments: vec![crate::mail::MailAttachment::new(
            &format!("{number}.pdf"),
            "application/pdf",
            &pdf,
        )],
        ..crate::mail::OutgoingMail::default()
    };
    crate::mail::enqueue(tx, &mail).await?;
    Ok(())
}
