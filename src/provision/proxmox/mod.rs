//! The Proxmox VE driver: the PVE REST API with an API token (DESIGN.md "Provisioning").
//!
//! Every call is resumable (see [`crate::provision`]): the VMID is saved before the clone
//! and each task's UPID before waiting on it, so a later attempt waits for the same task
//! instead of starting another. TLS trusts either a CA file or one pinned SHA-256
//! fingerprint of the server certificate; it never accepts any certificate.
//!
//! `settings` (configuration and its checks), `tls` (certificate trust), `client` (HTTP
//! calls and error mapping), `tasks` (UPID polling), `vm` (reading and changing one VM),
//! `driver` (the `Provisioner` implementation).

mod backup;
mod client;
mod driver;
mod settings;
mod tasks;
mod tls;
mod vm;

pub use client::Proxmox;
pub use settings::{ProxmoxSettings, ProxmoxTls};
pub use tls::{fingerprint_hex, parse_fingerprint};
pub use vm::pending_changes;
