//! Issuing: the buyer/seller snapshot, the gapless number, frozen totals and the mail,
//! one invoice or a batch of drafts.

use serde::{Deserialize, Serialize};

use super::drafts::{amounts, draft_for_change};
use super::mail::send_invoice_mail;
use super::{can_bill, changed_underneath, event, require};
use crate::audit;
use crate::auth::model::Actor;
use crate::billing::invoices::model;
use crate::billing::invoices::store::{self, InvoiceRow, Issue, LineRow, TaxRuleRow};
use crate::billing::money;
use crate::db::{Db, Timestamp, Tx, new_id};
use crate::web::{AppError, AppResult};

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
    pub(super) fn of(t: &crate::auth::store::TenantRow) -> Party {
        Party {
            name: t.name.clone(),
            address: t.address.clone(),
            email: t.billing_email.clone(),
            country: t.country.clone(),
            tax_id: t.tax_id.clone(),
        }
    }

    /// A stored snapshot: empty before issue (`None`); unreadable JSON is an error.
    pub fn parse(json: &str) -> Result<Option<Party>, serde_json::Error> {
        if json.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(json).map(Some)
    }
}

fn snapshot(inv: &InvoiceRow, which: &str, json: &str) -> AppResult<Option<Party>> {
    Party::parse(json).map_err(|e| {
        tracing::error!(invoice_id = %inv.id, which, error = %e, "unreadable party snapshot");
        AppError::Internal(anyhow::anyhow!(
            "invoice {}: unreadable {which} snapshot: {e}",
            inv.id
        ))
    })
}

impl InvoiceRow {
    /// The buyer frozen at issue (`None` on a draft).
    pub fn buyer(&self) -> AppResult<Option<Party>> {
        snapshot(self, "buyer", &self.buyer_snapshot)
    }
    /// The seller frozen at issue (`None` on a draft).
    pub fn seller(&self) -> AppResult<Option<Party>> {
        snapshot(self, "seller", &self.seller_snapshot)
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
    let ids = store::issuable_draft_ids(&db.pool, tenant_id).await?;
    Ok(issue_batch(db, actor, &ids).await?.len())
}

/// What every invoice of a billing run needs but does not change: read once per run.
#[derive(Default)]
pub struct IssueCache {
    seller: Option<crate::auth::store::TenantRow>,
    buyers: std::collections::HashMap<String, crate::auth::store::TenantRow>,
    rules: std::collections::HashMap<String, Option<TaxRuleRow>>,
}

impl IssueCache {
    /// The buyer (tenant `tenant_id`), the seller (the operator) and the buyer's region's tax
    /// rule, read on first use.
    pub(super) async fn parties(
        &mut self,
        tx: &mut Tx,
        tenant_id: &str,
    ) -> AppResult<(
        crate::auth::store::TenantRow,
        crate::auth::store::TenantRow,
        Option<TaxRuleRow>,
    )> {
        if !self.buyers.contains_key(tenant_id) {
            let buyer =
                crate::auth::store::get_tenant(&mut **tx, &crate::db::TenantScope::All, tenant_id)
                    .await?
                    .ok_or(AppError::NotFound)?;
            self.buyers.insert(tenant_id.to_string(), buyer);
        }
        let buyer = self.buyers[tenant_id].clone();
        if self.seller.is_none() {
            self.seller = crate::auth::store::operator_tenant(tx).await?;
        }
        let seller = self
            .seller
            .clone()
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no operator tenant")))?;
        if !self.rules.contains_key(&buyer.region) {
            let rule = store::tax_rule_for(tx, &buyer.region).await?;
            self.rules.insert(buyer.region.clone(), rule);
        }
        let rule = self.rules[&buyer.region].clone();
        Ok((buyer, seller, rule))
    }
}

pub async fn issue_in(
    tx: &mut Tx,
    db: &Db,
    actor: &Actor,
    id: &str,
    cache: &mut IssueCache,
) -> AppResult<Issued> {
    let inv = draft_for_change(tx, db, actor, id).await?;
    issue_locked(
        tx,
        actor.into(),
        inv,
        cache,
        time::OffsetDateTime::now_utc().date(),
    )
    .await
}

/// One line of a subscription's invoice, priced by the subscriptions feature.
pub struct OrderLine {
    pub description: String,
    pub quantity: i64,
    pub unit_price_minor: i64,
    pub product_id: String,
}

/// What a subscription's invoice bills.
pub struct SubscriptionInvoice<'a> {
    pub tenant_id: &'a str,
    pub currency: &'a str,
    pub subscription_id: &'a str,
    /// `FIRST` for the order's invoice (its period is known only at activation).
    pub reason: &'a str,
    pub period: Option<(Timestamp, Timestamp)>,
    pub lines: &'a [OrderLine],
    /// The issue date (by the clock of the bill run that issues it); due dates follow it.
    pub issued_on: time::Date,
}

/// Creates and issues a subscription's invoice (source SUBSCRIPTION) inside the caller's
/// transaction. The caller (the subscriptions service) decided who may order; the buyer sees
/// this invoice as any other issued one. Returns the invoice id and what issuing produced.
pub async fn issue_for_subscription<'a>(
    tx: &mut Tx,
    db: &Db,
    who: impl Into<audit::AuditActor<'a>>,
    order: &SubscriptionInvoice<'_>,
    cache: &mut IssueCache,
) -> AppResult<(String, Issued)> {
    issue_for_subscription_as(
        tx,
        db,
        who,
        order,
        model::InvoiceSource::Subscription,
        cache,
    )
    .await
}

/// [`issue_for_subscription`] with the invoice's source named: USAGE for a period's metered
/// usage (its own billing reason keeps it apart from the period's price).
pub async fn issue_for_subscription_as<'a>(
    tx: &mut Tx,
    db: &Db,
    who: impl Into<audit::AuditActor<'a>>,
    order: &SubscriptionInvoice<'_>,
    source: model::InvoiceSource,
    cache: &mut IssueCache,
) -> AppResult<(String, Issued)> {
    let id = new_id();
    store::insert_subscription_draft(
        tx,
        &store::SubscriptionDraft {
            id: &id,
            tenant_id: order.tenant_id,
            currency: order.currency,
            subscription_id: order.subscription_id,
            reason: order.reason,
            period_start: order.period.map(|p| p.0),
            period_end: order.period.map(|p| p.1),
            source,
        },
    )
    .await?;
    for l in order.lines {
        let amount =
            model::line_amount(rust_decimal::Decimal::from(l.quantity), l.unit_price_minor)
                .map_err(|e| AppError::refused(e.to_string()))?;
        store::insert_line(
            tx,
            &LineRow {
                id: new_id(),
                invoice_id: id.clone(),
                position: 0,
                kind: model::LineKind::Item,
                description: l.description.clone(),
                quantity: l.quantity.to_string(),
                unit_price_minor: l.unit_price_minor,
                amount_minor: amount,
                product_id: Some(l.product_id.clone()),
            },
        )
        .await?;
    }
    let inv = store::lock_invoice(tx, db.backend, &crate::db::TenantScope::All, &id)
        .await?
        .ok_or(AppError::NotFound)?;
    let issued = issue_locked(tx, who.into(), inv, cache, order.issued_on).await?;
    Ok((id, issued))
}

/// The tax a buyer in `region` pays on `lines` (the same rule and arithmetic issuing uses).
pub async fn quote_totals(
    tx: &mut Tx,
    region: &str,
    lines: &[OrderLine],
) -> AppResult<(model::Totals, String)> {
    let rule = store::tax_rule_for(tx, region).await?;
    let rate = super::rule_rate(rule.as_ref())?;
    let mut amounts = Vec::with_capacity(lines.len());
    for l in lines {
        let amount =
            model::line_amount(rust_decimal::Decimal::from(l.quantity), l.unit_price_minor)
                .map_err(|e| AppError::refused(e.to_string()))?;
        amounts.push(model::LineAmount {
            kind: model::LineKind::Item,
            amount,
        });
    }
    let totals = model::totals(&amounts, rate).map_err(|e| AppError::refused(e.to_string()))?;
    let name = rule.map_or_else(
        || "No tax".to_string(),
        |r| format!("{} ({}%)", r.name, rate),
    );
    Ok((totals, name))
}

pub(super) async fn issue_locked(
    tx: &mut Tx,
    who: audit::AuditActor<'_>,
    inv: InvoiceRow,
    cache: &mut IssueCache,
    today: time::Date,
) -> AppResult<Issued> {
    let lines = store::lines(&mut **tx, &inv.id).await?;
    if !lines.iter().any(|l| l.kind == model::LineKind::Item) {
        return Err(AppError::refused("Add at least one item before issuing."));
    }
    let (buyer, seller, rule) = cache.parties(tx, &inv.tenant_id).await?;
    let rate = super::rule_rate(rule.as_ref())?;
    let totals =
        model::totals(&amounts(&lines), rate).map_err(|e| AppError::refused(e.to_string()))?;
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
                kind: model::LineKind::Tax,
                description: format!("{tax_name} ({rate}%)"),
                quantity: "1".into(),
                unit_price_minor: totals.tax,
                amount_minor: totals.tax,
                product_id: None,
            },
        )
        .await?;
    }
    send_invoice_mail(tx, &inv.id, &inv.tenant_id).await?;
    audit::record(
        &mut *tx,
        who,
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
    // The tenant's account credit pays what it can of the new invoice, in this transaction.
    if status == model::InvoiceStatus::Issued {
        super::credit::apply_credit(tx, who, &inv.id).await?;
    }
    Ok(Issued {
        number,
        total_minor: totals.total,
    })
}

#[cfg(test)]
mod tests {
    use super::Party;

    #[test]
    fn snapshots_parse_or_fail() {
        assert!(Party::parse("").unwrap().is_none());
        let p =
            Party::parse(r#"{"name":"Acme","address":"","email":"","country":"DE","tax_id":""}"#)
                .unwrap()
                .unwrap();
        assert_eq!((p.name.as_str(), p.country.as_str()), ("Acme", "DE"));
        assert!(Party::parse("{not json").is_err());
    }
}
