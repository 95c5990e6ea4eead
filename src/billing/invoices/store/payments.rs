//! Payments and refunds recorded against an invoice.

use sqlx::FromRow;

use crate::billing::invoices::model::{PaymentKind, PaymentStatus};
use crate::db::{Timestamp, Tx};

#[derive(Clone, Debug, FromRow)]
pub struct PaymentRow {
    pub id: String,
    pub invoice_id: String,
    pub kind: PaymentKind,
    pub status: PaymentStatus,
    pub amount_minor: i64,
    pub method: String,
    pub reference: String,
    pub paid_on: String,
    pub refund_of: Option<String>,
    pub idempotency_key: String,
    pub created_by: String,
    pub created_at: Timestamp,
    /// The gateway the money came through ("" for none): with the reference, unique.
    pub gateway: String,
}

const PAYMENT_COLUMNS: &str = "id, invoice_id, kind, status, amount_minor, method, reference, paid_on, refund_of, idempotency_key, created_by, created_at, gateway";

/// Every payment and refund of an invoice, oldest first; `ex` is `&db.pool` or `&mut *tx`.
pub async fn payments<'e, E>(ex: E, invoice_id: &str) -> sqlx::Result<Vec<PaymentRow>>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE invoice_id = $1 ORDER BY created_at, id"
    ))
    .bind(invoice_id)
    .fetch_all(ex)
    .await
}

pub async fn payment_by_key(tx: &mut Tx, key: &str) -> sqlx::Result<Option<PaymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE idempotency_key = $1"
    ))
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
}

pub async fn insert_payment(tx: &mut Tx, p: &PaymentRow) -> sqlx::Result<()> {
    sqlx::query(&format!(
        "INSERT INTO payments ({PAYMENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    ))
    .bind(&p.id)
    .bind(&p.invoice_id)
    .bind(p.kind.as_str())
    .bind(p.status.as_str())
    .bind(p.amount_minor)
    .bind(&p.method)
    .bind(&p.reference)
    .bind(&p.paid_on)
    .bind(p.refund_of.as_deref())
    .bind(&p.idempotency_key)
    .bind(&p.created_by)
    .bind(p.created_at.0)
    .bind(&p.gateway)
    .execute(&mut **tx)
    .await
    .map(|_| ())
}

/// The successful payment (or refund) recorded under a gateway's reference, if any.
pub async fn payment_by_reference(
    tx: &mut Tx,
    gateway: &str,
    kind: PaymentKind,
    reference: &str,
) -> sqlx::Result<Option<PaymentRow>> {
    sqlx::query_as(&format!(
        "SELECT {PAYMENT_COLUMNS} FROM payments WHERE gateway = $1 AND kind = $2 AND reference = $3 AND status = 'SUCCESS' AND gateway <> '' AND reference <> ''"
    ))
    .bind(gateway)
    .bind(kind.as_str())
    .bind(reference)
    .fetch_optional(&mut **tx)
    .await
}
