//! Passkeys (WebAuthn / FIDO2 through webauthn-rs): registered in `/security/mfa`, used as
//! the second factor after the password or alone (a discoverable credential) at `/login`.
//! `model` holds the rules, `store` the SQL, `service` the actions, `signin` the checks at
//! sign-in, `pages` the JSON
//! endpoints of the ceremony script (`static/passkeys.js`) and the remove form.

pub mod model;
pub mod pages;
pub mod service;
pub mod signin;
pub mod store;

#[cfg(test)]
pub mod soft_authenticator;
