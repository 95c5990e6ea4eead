//! mPanel: a hosting company's control panel.

pub mod app;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod jobs;
pub mod mail;
pub mod static_files;
pub mod web;
