//! Signing in, in one place: the password step (attempt limits, known devices, the tenant's
//! IP allowlist), the second factor when the account has MFA, and the session — a state
//! machine whose transitions are [`flow`]. Sessions are tower-sessions over our `sessions`
//! table and axum-login over our users ([`sessions`]).
//!
//! `security/` holds MFA enrolment, tokens, events and policy; it never calls back into
//! sign-in. Sign-in uses it: the policy, MFA state and the second-factor check
//! (`security::factor`), and the security events it records.

pub mod events;
pub mod flow;
pub mod pages;
pub mod passkey;
pub mod passkey_pages;
pub mod password;
pub mod second_factor;
pub mod sessions;
