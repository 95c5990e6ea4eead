//! Credit notes issued against an invoice.

use sqlx::{AnyPool, FromRow};

use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct CreditNoteRow {
    pub id: String,
    pub invoice_id: String,
    pub tenant_id: String,
    pub number: String,
    pub amount_minor: i64,
    pub reason: String,
    pub created_by: String,
    pub created_at: Timestamp,
}

const CREDIT_COLUMNS: &str =
    "id, invoice_id, tenant_id, number, amount_minor, reason, created_by, created_at";

pub async fn credit_notes(pool: &AnyPool, invoice_id: &str) -> sqlx::Result<Vec<CreditNoteRow>> {
    sqlx::query_as(&format!(
        "SELECT {CREDIT_COLUMNS} FROM credit_notes WHERE invoice_id = $1 ORDER BY created_at, id"
    ))
    .bind(invoice_id)
    .fetch_all(pool)
    .await
}

pub async fn insert_credit_note(tx: &mut Tx, c: &CreditNoteRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO credit_notes ({CREDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    ))
    .bind(&c.id)
    .bind(&c.invoice_id)
    .bind(&c.tenant_id)
    .bind(&c.number)
    .bind(c.amount_minor)
    .bind(&c.reason)
    .bind(&c.created_by)
    .bind(c.created_at.0)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}
