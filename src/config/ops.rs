//! The operations side's settings: the `/ops` overview's tiles, Prometheus `/metrics` and the
//! node probe loop.

use std::net::SocketAddr;

use clap::Args;

#[derive(Args, Debug, Clone)]
pub struct OpsConfig {
    /// Seconds between refreshes of each `/ops` overview tile (while its tab is visible).
    #[arg(
        long,
        env = "MPANEL_OPS_REFRESH_SECS",
        default_value_t = 10,
        global = true
    )]
    pub ops_refresh_secs: u64,

    /// Milliseconds an `/ops` tile, once read, is answered from memory to every screen that
    /// polls it (one database read per tile and interval however many screens); the tile
    /// shows when it was read. 0: read on every request.
    #[arg(
        long,
        env = "MPANEL_OPS_TILE_MEMO_MS",
        default_value_t = 2000,
        global = true
    )]
    pub ops_tile_memo_ms: u64,

    /// Bearer token Prometheus sends to read `/metrics` (at least 32 characters). Without it
    /// `/metrics` is not served on the main address.
    #[arg(
        long,
        env = "MPANEL_METRICS_TOKEN",
        hide_env_values = true,
        global = true
    )]
    pub metrics_token: Option<String>,

    /// A separate address serving only `/metrics` (e.g. 127.0.0.1:9464, reachable by the
    /// Prometheus server alone). The token is asked there too when one is set.
    #[arg(long, env = "MPANEL_METRICS_BIND", global = true)]
    pub metrics_bind: Option<SocketAddr>,

    /// Node probes: failures in a row that mark a node DOWN.
    #[arg(
        long,
        env = "MPANEL_PROBE_DOWN_AFTER",
        default_value_t = 3,
        global = true
    )]
    pub probe_down_after: u64,

    /// Node probes: successes in a row that mark a node UP.
    #[arg(
        long,
        env = "MPANEL_PROBE_UP_AFTER",
        default_value_t = 2,
        global = true
    )]
    pub probe_up_after: u64,

    /// Node probes: UP/DOWN changes within the flap window that show a node as flapping
    /// (DEGRADED) instead of alternating.
    #[arg(
        long,
        env = "MPANEL_PROBE_FLAP_CHANGES",
        default_value_t = 4,
        global = true
    )]
    pub probe_flap_changes: u64,

    /// Node probes: the flap window in seconds.
    #[arg(
        long,
        env = "MPANEL_PROBE_FLAP_WINDOW_SECS",
        default_value_t = 900,
        global = true
    )]
    pub probe_flap_window_secs: u64,

    /// Node probes one worker runs at the same time.
    #[arg(
        long,
        env = "MPANEL_PROBE_CONCURRENCY",
        default_value_t = 32,
        global = true
    )]
    pub probe_concurrency: u64,
}
