//! Billing automation: the bill run (renewals issued exactly once per period, periods rolled
//! over, trials converted, unpaid orders expired, dunning), its record for staff at
//! `/billing/bill-runs` with a dry run and the check for missed invoices. Everything reads the
//! one clock (`crate::clock`). Above subscriptions and invoices; neither imports it.

pub mod dunning;
pub mod dunning_model;
pub mod dunning_store;
pub mod handlers;
pub mod model;
pub mod pages;
pub mod reads;
pub mod service;
pub mod store;
