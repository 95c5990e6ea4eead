//! Invoice pages: list, new draft, the invoice (draft editor or issued view with actions),
//! PDF download, tax rules.

mod actions;
mod list;
mod payments;
mod show;
mod tax_rules;

pub use actions::{
    ConfirmForm, NotesForm, add_line, add_product_line, credit, delete_draft, delete_line, issue,
    pay, pdf, refund, set_notes, void,
};
pub use list::{BillingRunForm, ListQuery, NewForm, OVERDUE, create, issue_drafts, list, new_form};
pub use payments::{PaymentsQuery, payments};
pub use show::{LineView, PaymentView, ShowPage, show};
pub use tax_rules::{add_tax_rule, delete_tax_rule, tax_rules};

use super::model::{self, InvoiceStatus};
use super::service::{self};
use super::store::{CurrencySum, InvoiceRow};
use crate::billing::money;

fn today() -> String {
    time::OffsetDateTime::now_utc().date().to_string()
}

impl InvoiceRow {
    pub fn status_text(&self) -> String {
        model::display_status(
            self.status,
            self.due_minor,
            self.paid_minor - self.refunded_minor,
            &self.due_date,
            &today(),
        )
    }
    pub fn label(&self) -> String {
        self.number.clone().unwrap_or_else(|| "Draft".into())
    }
    pub fn total(&self) -> String {
        money::format_money(self.total_minor, &self.currency)
    }
    pub fn due(&self) -> String {
        money::format_money(self.due_minor, &self.currency)
    }
    /// Takes `i64` or `&i64`: templates pass fields by reference.
    pub fn money(&self, minor: impl std::borrow::Borrow<i64>) -> String {
        money::format_money(*minor.borrow(), &self.currency)
    }
    pub fn is_draft(&self) -> bool {
        self.status == InvoiceStatus::Draft
    }
    /// The same rules the service applies (see `model`): the page offers what would pass.
    pub fn can_pay(&self) -> bool {
        model::can_pay(self.status)
    }
    pub fn can_credit(&self) -> bool {
        model::can_credit(self.status)
    }
    pub fn can_void(&self) -> bool {
        model::can_void(self.status, self.paid_minor, self.refunded_minor)
    }
    /// Why void is not offered (the refusal `check_void` would give); empty when it is, or
    /// when the invoice is void already.
    pub fn why_not_void(&self) -> String {
        if self.status == InvoiceStatus::Void {
            return String::new();
        }
        model::check_void(self.status, self.paid_minor, self.refunded_minor)
            .err()
            .unwrap_or_default()
    }
}

/// Name, address, country, e-mail and tax id, one per line (shown with `white-space: pre-line`);
/// empty before issue (no snapshot yet).
fn party_text(p: Option<service::Party>) -> String {
    let Some(p) = p else {
        return String::new();
    };
    let mut lines = vec![p.name.clone()];
    lines.extend(
        p.address
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from),
    );
    for (prefix, value) in [("", &p.country), ("", &p.email), ("Tax id: ", &p.tax_id)] {
        if !value.is_empty() {
            lines.push(format!("{prefix}{value}"));
        }
    }
    lines.join("\n")
}

impl CurrencySum {
    pub fn total(&self) -> String {
        money::format_money(self.total_minor, &self.currency)
    }
    pub fn due(&self) -> String {
        money::format_money(self.due_minor, &self.currency)
    }
}
