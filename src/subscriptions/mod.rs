//! Subscriptions: what a customer ordered, its periods and its lifecycle.

pub mod model;
