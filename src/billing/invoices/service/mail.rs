//! The invoice e-mail.

use crate::billing::invoices::store;
use crate::billing::money;
use crate::db::Tx;
use crate::web::{AppError, AppResult};

/// Enqueues the invoice e-mail, with the PDF, to the buyer's billing address in the issuing
/// transaction: if the issue rolls back, no mail goes out.
pub(super) async fn send_invoice_mail(
    tx: &mut Tx,
    invoice_id: &str,
    buyer: &crate::auth::store::TenantRow,
    seller: &crate::auth::store::TenantRow,
) -> AppResult<()> {
    // read back with the number and totals this transaction just gave it
    let all = store::Visibility {
        scope: &crate::db::TenantScope::All,
        hide_drafts: false,
    };
    let inv = store::get_invoice(&mut **tx, &all, invoice_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let lines = store::lines(&mut **tx, invoice_id).await?;
    let number = inv.number.clone().unwrap_or_default();
    let pdf = crate::billing::invoices::pdf::render(&inv, &lines, &[], "Issued")?;
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
