//! mPanel: a hosting company's control panel.

pub mod actor;
pub mod api;
pub mod app;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod cli;
pub mod clock;
pub mod cloudpods;
pub mod config;
pub mod dashboard;
pub mod db;
pub mod jobs;
pub mod mail;
pub mod memo;
pub mod money;
pub mod ops;
pub mod provision;
pub mod security;
pub mod state;
pub mod static_files;
pub mod subscriptions;
pub mod telemetry;
mod text_enum;
pub mod web;
