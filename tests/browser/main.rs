//! Browser journeys in headless Debian chromium, driven through chromedriver.
//!
//! Built only with `--features browser-tests` (see `.ci/run`): these need chromium and
//! chromedriver, and fail loudly, never skip, when they are missing.

#[path = "../it/helpers.rs"]
mod helpers;

mod a11y;
mod browser;
mod catalog;
mod cloudpods;
mod components;
mod demo;
mod invoices;
mod jobs;
mod journeys;
mod ops;
mod passkeys;
mod payments;
mod plan_change;
mod screenshots;
mod security;
mod shell;
#[path = "../it/stripe_double.rs"]
mod stripe_double;
mod subscriptions;
mod theme;
