//! What people read about invoices besides one invoice (`service::get`, which applies the
//! visibility): the list, an invoice's lines, payments and credit notes, the tax rules. Each
//! read makes the permission decision; the parts of an invoice are read for an invoice the
//! actor has already been allowed to see.

use super::{can_bill, can_read, require, visibility};
use crate::auth::model::Actor;
use crate::billing::invoices::store::{
    self, CreditNoteRow, CurrencySum, InvoiceFilter, InvoiceRow, LineRow, PaymentFilter,
    PaymentListRow, PaymentRow, PaymentSum, TaxRuleRow, Visibility,
};
use crate::db::Db;
use crate::web::AppResult;
use crate::web::pagination::PageRequest;

/// One page of the invoices the actor sees (customers never see drafts), and the count and
/// sums per currency of every match (none for a `keyset` page: the API's cursor).
pub async fn list(
    db: &Db,
    actor: &Actor,
    filter: &InvoiceFilter<'_>,
    req: PageRequest,
) -> AppResult<(Vec<InvoiceRow>, Vec<CurrencySum>)> {
    require(can_read(actor))?;
    let (scope, hide_drafts) = visibility(actor);
    let v = Visibility {
        scope: &scope,
        hide_drafts,
    };
    Ok(store::list_invoices(&db.pool, &v, filter, req.size, req.offset()).await?)
}

/// The lines of an invoice read through `service::get`.
pub async fn lines(db: &Db, inv: &InvoiceRow) -> AppResult<Vec<LineRow>> {
    Ok(store::lines(&db.pool, &inv.id).await?)
}

/// The payments and refunds of an invoice read through `service::get`.
pub async fn payments(db: &Db, inv: &InvoiceRow) -> AppResult<Vec<PaymentRow>> {
    Ok(store::payments(&db.pool, &inv.id).await?)
}

/// The credit notes of an invoice read through `service::get`.
pub async fn credit_notes(db: &Db, inv: &InvoiceRow) -> AppResult<Vec<CreditNoteRow>> {
    Ok(store::credit_notes(&db.pool, &inv.id).await?)
}

/// The tax rules (billing staff).
pub async fn tax_rules(db: &Db, actor: &Actor) -> AppResult<Vec<TaxRuleRow>> {
    require(can_bill(actor))?;
    Ok(store::tax_rules(&db.pool).await?)
}

/// One page of the successful payments and refunds the actor sees (those who may read
/// invoices), with received/refunded/net per currency over every match. Only staff narrow by
/// tenant.
pub async fn payments_list(
    db: &Db,
    actor: &Actor,
    filter: &PaymentFilter<'_>,
    req: PageRequest,
) -> AppResult<(Vec<PaymentListRow>, Vec<PaymentSum>)> {
    require(can_read(actor))?;
    let filter = PaymentFilter {
        tenant_id: if actor.is_staff { filter.tenant_id } else { "" },
        ..*filter
    };
    Ok(store::list_payments(&db.pool, &actor.scope(), &filter, req.size, req.offset()).await?)
}

/// The payments list's sums alone (the dashboard's money figures).
pub async fn payment_sums(
    db: &Db,
    actor: &Actor,
    filter: &PaymentFilter<'_>,
) -> AppResult<Vec<PaymentSum>> {
    require(can_read(actor))?;
    let filter = PaymentFilter {
        tenant_id: if actor.is_staff { filter.tenant_id } else { "" },
        ..*filter
    };
    Ok(store::payment_sums(&db.pool, &actor.scope(), &filter).await?)
}
