//! The home page (`GET /`): a dashboard by role. It composes several features, so it sits in
//! the app layer beside `app.rs`: it reads the features' stores and permission rules, and no
//! feature imports it.
//!
//! - `model` — pure decisions: which figures a role gets, the security checklist, dates.
//! - `figures` — gathers each figure from its feature's read function, with its list link.
//! - `pages` — the handler.

pub mod figures;
pub mod model;
pub mod pages;
