//! Invoice lines.

use sqlx::FromRow;

use crate::billing::invoices::model::LineKind;
use crate::db::Tx;

#[derive(Clone, Debug, FromRow)]
pub struct LineRow {
    pub id: String,
    pub invoice_id: String,
    pub position: i64,
    pub kind: LineKind,
    pub description: String,
    pub quantity: String,
    pub unit_price_minor: i64,
    pub amount_minor: i64,
    pub product_id: Option<String>,
}

const LINE_COLUMNS: &str = "id, invoice_id, position, kind, description, quantity, unit_price_minor, amount_minor, product_id";

/// An invoice's lines in order; `ex` is `&db.pool` or `&mut *tx`.
pub async fn lines<'e, E>(ex: E, invoice_id: &str) -> sqlx::Result<Vec<LineRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {LINE_COLUMNS} FROM invoice_lines WHERE invoice_id = $1 ORDER BY position"
    ))
    .bind(invoice_id)
    .fetch_all(ex)
    .await
}

pub async fn insert_line(tx: &mut Tx, l: &LineRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO invoice_lines ({LINE_COLUMNS}) VALUES ($1, $2, \
         (SELECT COALESCE(MAX(position), 0) + 1 FROM invoice_lines WHERE invoice_id = $2), $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&l.id)
    .bind(&l.invoice_id)
    .bind(l.kind.as_str())
    .bind(&l.description)
    .bind(&l.quantity)
    .bind(l.unit_price_minor)
    .bind(l.amount_minor)
    .bind(l.product_id.as_deref())
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

pub async fn delete_line(tx: &mut Tx, invoice_id: &str, line_id: &str) -> sqlx::Result<u64> {
    sqlx::query("DELETE FROM invoice_lines WHERE id = $1 AND invoice_id = $2")
        .bind(line_id)
        .bind(invoice_id)
        .execute(&mut **tx)
        .await
        .map(|r| r.rows_affected())
}
