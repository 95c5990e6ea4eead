//! Operations: the `/ops` overview of tiles that refresh themselves (any staff role), and
//! the Prometheus `/metrics` endpoint (figures read from the database at scrape time beside
//! the process's own instruments in `telemetry`).

pub mod api;
pub mod backups;
pub mod guardian;
pub mod metrics;
pub mod model;
pub mod nodes;
pub mod pages;
pub mod service;
