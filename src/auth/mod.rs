//! Tenants, users, roles, sign-in and sessions.

pub mod api;
pub mod attempts;
pub mod invitations;
pub mod invite_model;
pub mod invite_pages;
pub mod invite_store;
pub mod model;
pub mod pages;
pub mod password;
pub mod reads;
pub mod service;
pub mod session;
pub mod signin;
pub mod store;
pub mod tenant_pages;
pub mod tenants;
pub mod user_pages;
