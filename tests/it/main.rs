//! Integration tests: the real app over HTTP against a real database (see helpers.rs).

mod helpers;
#[path = "../../src/security/passkeys/soft_authenticator.rs"]
mod soft_authenticator;

mod hardening;
mod invitations;
mod invoices;

mod api;
mod assets;
mod audit;
mod auth;
mod bill_runs;
mod catalog;
mod cli;
mod cloudpods;
mod components;
mod confirm;
mod dashboard;
mod dead_ends;
mod dunning;
mod jobs;
mod jobs_pages;
mod jobs_worker;
mod mail;
mod members;
mod metrics;
mod migrations;
mod notifications;
mod ops;
mod passkeys;
mod payments;
mod plan_changes;
mod proxmox;
mod proxmox_double;
mod security;
mod sessions;
mod setup;
mod stripe_double;
mod stylesheet;
mod subscriptions;
mod theme;
mod usage;
mod web_shell;
