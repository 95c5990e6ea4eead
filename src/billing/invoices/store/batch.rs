//! SQL for issuing a batch of invoices at once (a bill run): numbers reserved per tenant in
//! one statement, the invoices, their lines and the summary deltas each in one multi-row
//! statement.

use std::collections::HashMap;

use sqlx::Row;

use super::LineRow;
use crate::db::Tx;
use crate::db::bulk::{Marks, Val, bind_all, insert_rows, values_sql};

/// An invoice inserted already issued (the state `insert_subscription_draft`, its lines and
/// `mark_issued` would leave it in).
pub struct IssuedInvoice<'a> {
    pub id: &'a str,
    pub tenant_id: &'a str,
    pub status: &'a str,
    pub number: &'a str,
    pub currency: &'a str,
    pub source: &'a str,
    pub subscription_id: &'a str,
    pub billing_reason: &'a str,
    pub period: Option<(i64, i64)>,
    pub issue_date: &'a str,
    pub due_date: &'a str,
    pub tax_name: &'a str,
    pub tax_rate: &'a str,
    pub subtotal: i64,
    pub discount: i64,
    pub tax: i64,
    pub total: i64,
    pub buyer: &'a str,
    pub seller: &'a str,
    pub at: i64,
}

/// Reserves `count` consecutive numbers of `kind` for each (tenant, year): returns the last
/// number of each range (the range is `last - count + 1 ..= last`). One statement; the
/// counter rows stay locked until the transaction ends, as with `next_document_number`.
pub async fn reserve_numbers(
    tx: &mut Tx,
    kind: &str,
    wanted: &[(String, i64, i64)],
) -> sqlx::Result<HashMap<(String, i64), i64>> {
    if wanted.is_empty() {
        return Ok(HashMap::new());
    }
    let values: Vec<Val> = wanted
        .iter()
        .flat_map(|(tenant, year, count)| {
            [
                Val::from(tenant.as_str()),
                Val::Int(*year),
                Val::from(kind),
                Val::Int(*count),
            ]
        })
        .collect();
    let sql = format!(
        "INSERT INTO document_counters (tenant_id, year, kind, last) VALUES {} \
         ON CONFLICT (tenant_id, year, kind) DO UPDATE SET last = document_counters.last + excluded.last \
         RETURNING tenant_id, year, last",
        values_sql(wanted.len(), 4, Marks::of(tx))
    );
    let rows = bind_all(sqlx::query(&sql), &values)
        .fetch_all(&mut **tx)
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                (r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?),
                r.try_get::<i64, _>(2)?,
            ))
        })
        .collect()
}

pub async fn insert_issued(tx: &mut Tx, invoices: &[IssuedInvoice<'_>]) -> sqlx::Result<u64> {
    let rows: Vec<Vec<Val>> = invoices
        .iter()
        .map(|i| {
            vec![
                i.id.into(),
                i.tenant_id.into(),
                i.status.into(),
                i.number.into(),
                i.currency.into(),
                i.issue_date.into(),
                i.due_date.into(),
                i.tax_name.into(),
                i.tax_rate.into(),
                i.subtotal.into(),
                i.discount.into(),
                i.tax.into(),
                i.total.into(),
                // due: the total; a zero total is settled at issue
                i.total.into(),
                i.buyer.into(),
                i.seller.into(),
                Val::Int(1),
                i.at.into(),
                i.at.into(),
                i.source.into(),
                i.subscription_id.into(),
                i.period.map(|p| p.0).into(),
                i.period.map(|p| p.1).into(),
                i.billing_reason.into(),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "invoices",
        &[
            "id",
            "tenant_id",
            "status",
            "number",
            "currency",
            "issue_date",
            "due_date",
            "tax_name",
            "tax_rate",
            "subtotal_minor",
            "discount_minor",
            "tax_minor",
            "total_minor",
            "due_minor",
            "buyer_snapshot",
            "seller_snapshot",
            "version",
            "created_at",
            "updated_at",
            "source",
            "subscription_id",
            "period_start",
            "period_end",
            "billing_reason",
        ],
        &rows,
        "",
    )
    .await
}

/// Lines with their positions set by the caller.
pub async fn insert_lines(tx: &mut Tx, lines: &[LineRow]) -> sqlx::Result<u64> {
    let rows: Vec<Vec<Val>> = lines
        .iter()
        .map(|l| {
            vec![
                l.id.as_str().into(),
                l.invoice_id.as_str().into(),
                l.position.into(),
                l.kind.as_str().into(),
                l.description.as_str().into(),
                l.quantity.as_str().into(),
                l.unit_price_minor.into(),
                l.amount_minor.into(),
                l.product_id.as_deref().into(),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "invoice_lines",
        &[
            "id",
            "invoice_id",
            "position",
            "kind",
            "description",
            "quantity",
            "unit_price_minor",
            "amount_minor",
            "product_id",
        ],
        &rows,
        "",
    )
    .await
}

/// (tenant, status, currency) and the (count, total, due) to add to its summary row.
pub type SummaryDelta = ((String, String, String), (i64, i64, i64));

/// Adds (count, total, due) to each (tenant, status, currency) summary row, one statement
/// (the keys must be distinct).
pub async fn add_to_summaries(tx: &mut Tx, deltas: &[SummaryDelta]) -> sqlx::Result<()> {
    let rows: Vec<Vec<Val>> = deltas
        .iter()
        .map(|((tenant, status, currency), (count, total, due))| {
            vec![
                tenant.as_str().into(),
                status.as_str().into(),
                currency.as_str().into(),
                (*count).into(),
                (*total).into(),
                (*due).into(),
            ]
        })
        .collect();
    insert_rows(
        tx,
        "invoice_summaries",
        &[
            "tenant_id",
            "status",
            "currency",
            "count",
            "total_minor",
            "due_minor",
        ],
        &rows,
        " ON CONFLICT (tenant_id, status, currency) DO UPDATE SET \
         count = invoice_summaries.count + excluded.count, \
         total_minor = invoice_summaries.total_minor + excluded.total_minor, \
         due_minor = invoice_summaries.due_minor + excluded.due_minor",
    )
    .await
    .map(|_| ())
}
