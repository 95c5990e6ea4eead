//! The invoice e-mail. Issuing enqueues an `invoice.mail` job naming the invoice, in the
//! issuing transaction (if the issue rolls back, no mail goes out); the job renders the PDF
//! and the message from the invoice as it was frozen at issue (number, lines, totals, buyer
//! and seller snapshots) and sends it. A billing run of thousands of invoices writes a small
//! row per invoice instead of a PDF, and the rendering happens on the worker.

use crate::billing::invoices::store;
use crate::billing::money;
use crate::db::{Db, TenantScope, Tx};
use crate::jobs::{self, NewJob};
use crate::mail::{MailAttachment, OutgoingMail};
use crate::web::{AppError, AppResult};

/// The job that sends an issued invoice's e-mail.
pub const INVOICE_MAIL_KIND: &str = "invoice.mail";

pub(super) async fn send_invoice_mail(
    tx: &mut Tx,
    invoice_id: &str,
    tenant_id: &str,
) -> AppResult<()> {
    jobs::enqueue(tx, mail_job(invoice_id, tenant_id)).await?;
    Ok(())
}

/// The job that sends an issued invoice's e-mail.
pub(super) fn mail_job(invoice_id: &str, tenant_id: &str) -> NewJob {
    NewJob::new(
        INVOICE_MAIL_KIND,
        &serde_json::json!({ "invoice_id": invoice_id }),
    )
    .subject(format!("invoice:{invoice_id}"))
    .tenant(tenant_id)
    .max_attempts(12)
}

/// The e-mail of an issued invoice, with its PDF, as frozen at issue; `None` for a draft
/// (nothing to send).
pub async fn invoice_mail(db: &Db, invoice_id: &str) -> AppResult<Option<OutgoingMail>> {
    let all = store::Visibility {
        scope: &TenantScope::All,
        hide_drafts: false,
    };
    let inv = store::get_invoice(&db.pool, &all, invoice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let (Some(buyer), Some(seller)) = (inv.buyer()?, inv.seller()?) else {
        return Ok(None);
    };
    let lines = store::lines(&db.pool, invoice_id).await?;
    let number = inv.number.clone().unwrap_or_default();
    let pdf = crate::billing::invoices::pdf::render(&inv, &lines, &[], "Issued")?;
    let total = money::format_money(inv.total_minor, &inv.currency);
    Ok(Some(OutgoingMail {
        to: format!(
            "{} <{}>",
            buyer.name.replace(['<', '>', '"', ',', ';'], " "),
            buyer.email
        ),
        subject: format!("Invoice {number} from {}", seller.name),
        text_body: format!(
            "Hello {},\n\nplease find attached invoice {number} of {} for {total}, due on {}.\n\n{}\n",
            buyer.name, inv.issue_date, inv.due_date, seller.name
        ),
        attachments: vec![MailAttachment::new(
            &format!("{number}.pdf"),
            "application/pdf",
            &pdf,
        )],
        ..OutgoingMail::default()
    }))
}
