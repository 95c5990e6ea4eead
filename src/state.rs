//! The application state every request and job handler reads: the database, the
//! configuration, the cookie key, the provisioner, the Prometheus instruments and the memo of polled fragments. It imports no feature: `app.rs`
//! builds it (`build_state`) and hands it to the router and the worker; services take the
//! narrow parts they need (`&Db`, `&Config`, the provisioner), not the whole state.

use std::ops::Deref;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum_extra::extract::cookie::Key;
use sha2::{Digest, Sha512};

use crate::clock::Clock;
use crate::config::Config;
use crate::db::Db;
use crate::memo::FragmentMemo;
use crate::provision;
use crate::telemetry::Telemetry;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub db: Db,
    pub config: Config,
    pub cookie_key: Key,
    /// The CloudPod driver (`MPANEL_PROVISIONER`), built and checked at start-up.
    pub provisioner: provision::Driver,
    /// Cached "a user exists": once true it stays true, so the setup check costs nothing.
    pub setup_done: AtomicBool,
    /// This instance's Prometheus instruments (HTTP, job runs, build).
    pub telemetry: Telemetry,
    /// The clock every schedule reads (the system clock; tests move a movable one).
    pub clock: Clock,
    /// Polled fragments (the `/ops` tiles) rendered within `MPANEL_OPS_TILE_MEMO_MS`.
    pub fragments: FragmentMemo,
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        db: Db,
        config: Config,
        secret: &[u8],
        provisioner: provision::Driver,
        clock: Clock,
    ) -> AppState {
        // Key wants 64 bytes; SHA-512 of the secret gives exactly that.
        let key = Key::from(&Sha512::digest(secret));
        let fragments = FragmentMemo::new(config.ops.ops_tile_memo_ms);
        AppState(Arc::new(Inner {
            fragments,
            db,
            config,
            cookie_key: key,
            provisioner,
            setup_done: AtomicBool::new(false),
            telemetry: Telemetry::new(),
            clock,
        }))
    }
}
