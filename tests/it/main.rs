//! Integration tests: the real app over HTTP against a real database (see helpers.rs).

mod helpers;

mod audit;
mod auth;
mod cli;
mod jobs;
mod jobs_pages;
mod jobs_worker;
mod mail;
mod members;
mod migrations;
mod setup;
mod web_shell;
