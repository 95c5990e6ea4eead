//! Issuing many subscription invoices at once (a bill run's batch): each invoice ends exactly
//! as [`super::issue_for_subscription`] would leave it (the same snapshots, totals, gapless
//! number, lines, tax line, summary, mail job and audit entry), written in a handful of
//! multi-row statements instead of about twenty per invoice.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::issuing::Party;
use super::mail::mail_job;
use super::{IssueCache, Issued, SubscriptionInvoice};
use crate::audit::{self, AuditActor, AuditEvent};
use crate::billing::invoices::model::{self, InvoiceSource, LineAmount, LineKind};
use crate::billing::invoices::store::{self, LineRow, batch};
use crate::billing::money;
use crate::db::{Timestamp, Tx, new_id};
use crate::jobs;
use crate::web::{AppError, AppResult};

struct Prepared {
    id: String,
    status: model::InvoiceStatus,
    number: String,
    due_date: String,
    tax_name: String,
    tax_rate: String,
    totals: model::Totals,
    buyer_name: String,
    buyer: String,
    seller: String,
    lines: Vec<LineRow>,
}

/// Issues every order in `orders` inside the caller's transaction; `who(tenant)` is the audit
/// actor for a tenant's invoice. The results are in the order of `orders`. A unique violation
/// (another run issued one of these periods) fails the whole call: the caller rolls back and
/// takes the invoices one at a time.
pub async fn issue_many_for_subscriptions<'a>(
    tx: &mut Tx,
    who: impl Fn(&'a str) -> AuditActor<'a>,
    orders: &[SubscriptionInvoice<'a>],
    cache: &mut IssueCache,
) -> AppResult<Vec<(String, Issued)>> {
    if orders.is_empty() {
        return Ok(Vec::new());
    }
    let mut prepared = Vec::with_capacity(orders.len());
    for o in orders {
        prepared.push(prepare(tx, o, cache).await?);
    }
    // numbers: one consecutive range per (tenant, year), in the order of `orders`
    let mut wanted: Vec<(String, i64, i64)> = Vec::new();
    for o in orders {
        let key = (o.tenant_id, i64::from(o.issued_on.year()));
        match wanted.iter_mut().find(|w| (w.0.as_str(), w.1) == key) {
            Some(w) => w.2 += 1,
            None => wanted.push((key.0.to_string(), key.1, 1)),
        }
    }
    let last = batch::reserve_numbers(tx, "INV", &wanted).await?;
    let mut next: HashMap<(String, i64), i64> = wanted
        .iter()
        .map(|(t, y, n)| {
            let end = last.get(&(t.clone(), *y)).copied().unwrap_or(0);
            ((t.clone(), *y), end - n + 1)
        })
        .collect();
    for (o, p) in orders.iter().zip(prepared.iter_mut()) {
        let year = o.issued_on.year();
        let seq = next
            .get_mut(&(o.tenant_id.to_string(), i64::from(year)))
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("no number reserved")))?;
        if *seq < 1 {
            return Err(AppError::Internal(anyhow::anyhow!(
                "number counter of {} returned no range",
                o.tenant_id
            )));
        }
        p.number = model::document_number("INV", year, *seq);
        *seq += 1;
    }

    let now = Timestamp::now().0;
    let dates: Vec<String> = orders.iter().map(|o| o.issued_on.to_string()).collect();
    let rows: Vec<batch::IssuedInvoice<'_>> = orders
        .iter()
        .zip(&prepared)
        .zip(&dates)
        .map(|((o, p), issue_date)| batch::IssuedInvoice {
            id: &p.id,
            tenant_id: o.tenant_id,
            status: p.status.as_str(),
            number: &p.number,
            currency: o.currency,
            source: InvoiceSource::Subscription.as_str(),
            subscription_id: o.subscription_id,
            billing_reason: o.reason,
            period: o.period.map(|(s, e)| (s.0, e.0)),
            issue_date,
            due_date: &p.due_date,
            tax_name: &p.tax_name,
            tax_rate: &p.tax_rate,
            subtotal: p.totals.subtotal,
            discount: p.totals.discount,
            tax: p.totals.tax,
            total: p.totals.total,
            buyer: &p.buyer,
            seller: &p.seller,
            at: now,
        })
        .collect();
    batch::insert_issued(tx, &rows).await?;
    let lines: Vec<LineRow> = prepared.iter().flat_map(|p| p.lines.clone()).collect();
    batch::insert_lines(tx, &lines).await?;

    let mut deltas: Vec<batch::SummaryDelta> = Vec::new();
    for (o, p) in orders.iter().zip(&prepared) {
        let key = (
            o.tenant_id.to_string(),
            p.status.as_str().to_string(),
            o.currency.to_string(),
        );
        let total = p.totals.total;
        match deltas.iter_mut().find(|d| d.0 == key) {
            Some(d) => {
                d.1.0 += 1;
                d.1.1 += total;
                d.1.2 += total;
            }
            None => deltas.push((key, (1, total, total))),
        }
    }
    batch::add_to_summaries(tx, &deltas).await?;

    let mails: Vec<jobs::NewJob> = orders
        .iter()
        .zip(&prepared)
        .map(|(o, p)| mail_job(&p.id, o.tenant_id))
        .collect();
    jobs::enqueue_many(tx, &mails).await?;

    let entries: Vec<(AuditActor<'a>, AuditEvent<'_>)> = orders
        .iter()
        .zip(&prepared)
        .map(|(o, p)| {
            (
                who(o.tenant_id),
                AuditEvent {
                    tenant_id: Some(o.tenant_id),
                    action: "invoice.issued",
                    target_type: "invoice",
                    target_id: &p.id,
                    summary: format!(
                        "Issued {} for {}: {}",
                        p.number,
                        p.buyer_name,
                        money::format_money(p.totals.total, o.currency)
                    ),
                },
            )
        })
        .collect();
    audit::record_many(tx, &entries).await?;

    // The tenant's account credit pays what it can of each new invoice, in order, as issuing
    // one at a time does; most tenants have none: one sum per tenant and currency.
    let mut with_credit: Vec<(&str, &str)> = Vec::new();
    let mut checked: Vec<(&str, &str)> = Vec::new();
    for (o, p) in orders.iter().zip(&prepared) {
        if p.status != model::InvoiceStatus::Issued {
            continue;
        }
        let key = (o.tenant_id, o.currency);
        if !checked.contains(&key) {
            checked.push(key);
            if store::credit_balance(&mut **tx, key.0, key.1).await? > 0 {
                with_credit.push(key);
            }
        }
        if with_credit.contains(&key) {
            super::credit::apply_credit(tx, who(o.tenant_id), &p.id).await?;
        }
    }

    Ok(prepared
        .into_iter()
        .map(|p| {
            (
                p.id,
                Issued {
                    number: p.number,
                    total_minor: p.totals.total,
                },
            )
        })
        .collect())
}

async fn prepare(
    tx: &mut Tx,
    o: &SubscriptionInvoice<'_>,
    cache: &mut IssueCache,
) -> AppResult<Prepared> {
    if o.lines.is_empty() {
        return Err(AppError::refused("Add at least one item before issuing."));
    }
    let (buyer, seller, rule) = cache.parties(tx, o.tenant_id).await?;
    let rate = super::rule_rate(rule.as_ref())?;
    let id = new_id();
    let mut lines = Vec::with_capacity(o.lines.len() + 1);
    for (n, l) in o.lines.iter().enumerate() {
        let amount = model::line_amount(Decimal::from(l.quantity), l.unit_price_minor)
            .map_err(|e| AppError::refused(e.to_string()))?;
        lines.push(LineRow {
            id: new_id(),
            invoice_id: id.clone(),
            position: n as i64 + 1,
            kind: LineKind::Item,
            description: l.description.clone(),
            quantity: l.quantity.to_string(),
            unit_price_minor: l.unit_price_minor,
            amount_minor: amount,
            product_id: Some(l.product_id.clone()),
        });
    }
    let amounts: Vec<LineAmount> = lines
        .iter()
        .map(|l| LineAmount {
            kind: l.kind,
            amount: l.amount_minor,
        })
        .collect();
    let totals = model::totals(&amounts, rate).map_err(|e| AppError::refused(e.to_string()))?;
    let tax_name = rule
        .as_ref()
        .map_or_else(|| "No tax".to_string(), |r| r.name.clone());
    if totals.tax > 0 {
        lines.push(LineRow {
            id: new_id(),
            invoice_id: id.clone(),
            position: lines.len() as i64 + 1,
            kind: LineKind::Tax,
            description: format!("{tax_name} ({rate}%)"),
            quantity: "1".into(),
            unit_price_minor: totals.tax,
            amount_minor: totals.tax,
            product_id: None,
        });
    }
    let today = o.issued_on;
    let due = today
        .checked_add(time::Duration::days(buyer.net_terms_days.clamp(0, 365)))
        .unwrap_or(today);
    Ok(Prepared {
        id,
        status: model::settled_status(totals.total),
        number: String::new(),
        due_date: due.to_string(),
        tax_name,
        tax_rate: rate.to_string(),
        totals,
        buyer_name: buyer.name.clone(),
        buyer: serde_json::to_string(&Party::of(&buyer))
            .map_err(|e| AppError::Internal(e.into()))?,
        seller: serde_json::to_string(&Party::of(&seller))
            .map_err(|e| AppError::Internal(e.into()))?,
        lines,
    })
}
