//! Billing: money, the product catalog (and later invoices and subscriptions).

pub mod automation;
pub mod catalog;
pub mod invoices;
pub mod payments;
/// Money sits at the bottom (shared by every feature); billing keeps its old path to it.
pub use crate::money;
