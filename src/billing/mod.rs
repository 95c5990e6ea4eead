//! Billing: money, the product catalog (and later invoices and subscriptions).

pub mod catalog;
pub mod invoices;
pub mod money;
