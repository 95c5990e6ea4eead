//! The JSON shapes of the invoice API: answers built from the store's rows, and the bodies
//! it accepts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::{ApiError, ApiMoney, rfc3339};
use crate::billing::invoices::model::{CalcError, Totals};
use crate::billing::invoices::service::Party as PartyRow;
use crate::billing::invoices::store::{CreditNoteRow, InvoiceRow, LineRow, PaymentRow, TaxRuleRow};

#[derive(Serialize, ToSchema)]
pub struct Invoice {
    pub id: String,
    pub tenant: InvoiceTenant,
    /// DRAFT, ISSUED, PAID or VOID.
    pub status: String,
    /// The status as the pages show it ("Partially paid, overdue", …).
    pub status_text: String,
    /// Given at issue; null on a draft.
    pub number: Option<String>,
    /// ISO 4217 code: every amount of the invoice is in it.
    pub currency: String,
    /// `YYYY-MM-DD`; null on a draft.
    pub issue_date: Option<String>,
    /// `YYYY-MM-DD`; null on a draft.
    pub due_date: Option<String>,
    pub tax_name: String,
    /// Percent, as frozen at issue ("19").
    pub tax_rate: String,
    pub subtotal: ApiMoney,
    pub discount: ApiMoney,
    pub tax: ApiMoney,
    pub total: ApiMoney,
    pub paid: ApiMoney,
    pub refunded: ApiMoney,
    pub credited: ApiMoney,
    /// What is still to pay.
    pub due: ApiMoney,
    pub notes: String,
    /// SUBSCRIPTION, USAGE, ADJUSTMENT or MANUAL.
    pub source: String,
    pub subscription_id: Option<String>,
    pub billing_reason: String,
    /// The buyer as frozen at issue; null on a draft.
    pub buyer: Option<Party>,
    /// The seller as frozen at issue; null on a draft.
    pub seller: Option<Party>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// The lines (only on a single invoice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<Vec<Line>>,
    /// Payments, failed attempts and refunds (only on a single invoice).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payments: Option<Vec<Payment>>,
    /// Only on a single invoice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credit_notes: Option<Vec<CreditNote>>,
    /// A single draft's totals as they would be issued now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preview: Option<DraftPreview>,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceTenant {
    pub id: String,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct Party {
    pub name: String,
    pub address: String,
    pub email: String,
    pub country: String,
    pub tax_id: String,
}

#[derive(Serialize, ToSchema)]
pub struct Line {
    pub id: String,
    pub position: i64,
    /// ITEM, DISCOUNT, TAX (added at issue) or ADJUSTMENT.
    pub kind: String,
    pub description: String,
    /// A decimal number as text ("2", "1.5").
    pub quantity: String,
    pub unit_price: ApiMoney,
    pub amount: ApiMoney,
    /// The catalog product the line was priced from.
    pub product_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Payment {
    pub id: String,
    /// PAYMENT or REFUND.
    pub kind: String,
    /// SUCCESS or FAILED.
    pub status: String,
    pub amount: ApiMoney,
    pub method: String,
    pub reference: String,
    /// `YYYY-MM-DD`.
    pub paid_on: String,
    /// A refund's payment.
    pub refund_of: Option<String>,
    /// What is left of a payment to refund (0 for a refund or a failed attempt).
    pub refundable: ApiMoney,
    /// RFC 3339, UTC.
    pub created_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct CreditNote {
    pub id: String,
    pub number: String,
    pub amount: ApiMoney,
    pub reason: String,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A draft's totals if it were issued now, with the tax rule of the tenant's region.
#[derive(Serialize, ToSchema)]
pub struct DraftPreview {
    pub subtotal: Option<ApiMoney>,
    pub discount: Option<ApiMoney>,
    pub tax: Option<ApiMoney>,
    pub total: Option<ApiMoney>,
    /// The tax rule that would apply ("" for none).
    pub tax_name: String,
    pub tax_rate: String,
    /// Why the draft could not be issued as it is (the amounts are then null).
    pub problem: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct InvoiceList {
    pub items: Vec<Invoice>,
    /// The cursor of the next page; absent on the last one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A new draft (staff BILLING+).
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DraftBody {
    /// The customer tenant billed.
    pub tenant_id: String,
    /// ISO 4217; the tenant's currency when absent.
    pub currency: String,
}

/// A line for a draft: a free line (`kind`, `description`, `quantity`, `unit_price`), or,
/// with `product_id`, a line priced from the catalog for the tenant (`period`, `quantity`;
/// a setup fee adds its own line).
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LineBody {
    /// ITEM, DISCOUNT or ADJUSTMENT (free lines).
    pub kind: String,
    pub description: String,
    pub quantity: Option<Quantity>,
    /// Minor units of the invoice's currency; an ADJUSTMENT may be negative (free lines).
    pub unit_price: Option<i64>,
    /// A catalog product: the line is priced from the catalog.
    pub product_id: String,
    /// MONTHLY, YEARLY, … (product lines; MONTHLY when absent).
    pub period: String,
}

/// A quantity: a whole number, or a decimal as text ("2.5", at most 4 decimal places).
#[derive(Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum Quantity {
    Whole(i64),
    Text(String),
}

impl Quantity {
    pub fn text(q: Option<&Quantity>) -> String {
        match q {
            Some(Quantity::Whole(n)) => n.to_string(),
            Some(Quantity::Text(t)) => t.clone(),
            None => String::new(),
        }
    }
}

/// A draft's editable fields.
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NotesBody {
    /// Printed on the invoice; at most 2000 characters.
    pub notes: Option<String>,
}

/// A payment received (staff BILLING+).
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentBody {
    /// Minor units of the invoice's currency.
    pub amount: Option<i64>,
    /// Bank transfer, Card, Cash, PayPal, Stripe or Other.
    pub method: String,
    pub reference: String,
    /// `YYYY-MM-DD`; today when absent.
    pub paid_on: String,
    /// SUCCESS (counted; the default) or FAILED (a failed attempt, recorded only).
    pub status: String,
}

/// A refund of a payment (staff ADMIN+).
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RefundBody {
    /// The payment refunded.
    pub payment_id: String,
    /// Minor units of the invoice's currency.
    pub amount: Option<i64>,
    pub reference: String,
}

/// A credit note on an issued invoice (staff ADMIN+).
#[derive(Deserialize, Default, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CreditNoteBody {
    /// Minor units of the invoice's currency; at most what is due.
    pub amount: Option<i64>,
    pub reason: String,
}

fn money(inv: &InvoiceRow, minor: i64) -> ApiMoney {
    ApiMoney::new(minor, &inv.currency)
}

fn some_date(d: &str) -> Option<String> {
    (!d.is_empty()).then(|| d.to_string())
}

fn party(p: Option<PartyRow>) -> Option<Party> {
    p.map(|p| Party {
        name: p.name,
        address: p.address,
        email: p.email,
        country: p.country,
        tax_id: p.tax_id,
    })
}

/// The invoice without its parts.
pub fn invoice(inv: &InvoiceRow) -> Result<Invoice, ApiError> {
    Ok(Invoice {
        id: inv.id.clone(),
        tenant: InvoiceTenant {
            id: inv.tenant_id.clone(),
            name: inv.tenant_name.clone(),
        },
        status: inv.status.as_str().into(),
        status_text: inv.status_text(),
        number: inv.number.clone(),
        currency: inv.currency.clone(),
        issue_date: some_date(&inv.issue_date),
        due_date: some_date(&inv.due_date),
        tax_name: inv.tax_name.clone(),
        tax_rate: inv.tax_rate.clone(),
        subtotal: money(inv, inv.subtotal_minor),
        discount: money(inv, inv.discount_minor),
        tax: money(inv, inv.tax_minor),
        total: money(inv, inv.total_minor),
        paid: money(inv, inv.paid_minor),
        refunded: money(inv, inv.refunded_minor),
        credited: money(inv, inv.credited_minor),
        due: money(inv, inv.due_minor),
        notes: inv.notes.clone(),
        source: inv.source.as_str().into(),
        subscription_id: inv.subscription_id.clone(),
        billing_reason: inv.billing_reason.clone(),
        buyer: party(inv.buyer()?),
        seller: party(inv.seller()?),
        created_at: rfc3339(inv.created_at),
        lines: None,
        payments: None,
        credit_notes: None,
        preview: None,
    })
}

pub fn line(inv: &InvoiceRow, l: &LineRow) -> Line {
    Line {
        id: l.id.clone(),
        position: l.position,
        kind: l.kind.as_str().into(),
        description: l.description.clone(),
        quantity: l.quantity.clone(),
        unit_price: money(inv, l.unit_price_minor),
        amount: money(inv, l.amount_minor),
        product_id: l.product_id.clone(),
    }
}

/// One payment row; `all` are its invoice's rows (for what is left to refund).
pub fn payment(inv: &InvoiceRow, p: &PaymentRow, all: &[PaymentRow]) -> Payment {
    Payment {
        id: p.id.clone(),
        kind: p.kind.as_str().into(),
        status: p.status.as_str().into(),
        amount: money(inv, p.amount_minor),
        method: p.method.clone(),
        reference: p.reference.clone(),
        paid_on: p.paid_on.clone(),
        refund_of: p.refund_of.clone(),
        refundable: money(inv, p.refundable(all)),
        created_at: rfc3339(p.created_at),
    }
}

pub fn credit_note(inv: &InvoiceRow, c: &CreditNoteRow) -> CreditNote {
    CreditNote {
        id: c.id.clone(),
        number: c.number.clone(),
        amount: money(inv, c.amount_minor),
        reason: c.reason.clone(),
        created_at: rfc3339(c.created_at),
    }
}

pub fn preview(
    inv: &InvoiceRow,
    totals: Result<Totals, CalcError>,
    rule: Option<&TaxRuleRow>,
) -> DraftPreview {
    let (tax_name, tax_rate) = rule
        .map(|r| (r.name.clone(), r.rate.clone()))
        .unwrap_or_default();
    match totals {
        Ok(t) => DraftPreview {
            subtotal: Some(money(inv, t.subtotal)),
            discount: Some(money(inv, t.discount)),
            tax: Some(money(inv, t.tax)),
            total: Some(money(inv, t.total)),
            tax_name,
            tax_rate,
            problem: None,
        },
        Err(e) => DraftPreview {
            subtotal: None,
            discount: None,
            tax: None,
            total: None,
            tax_name,
            tax_rate,
            problem: Some(e.to_string()),
        },
    }
}
