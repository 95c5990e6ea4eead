//! Integration tests: the real app over HTTP against a real database (see helpers.rs).

mod helpers;

mod audit;
mod auth;
mod cli;
mod members;
mod migrations;
mod security;
mod setup;
mod web_shell;
