//! Operations: the Prometheus `/metrics` endpoint (figures read from the database at
//! scrape time beside the process's own instruments in `telemetry`).

pub mod metrics;
