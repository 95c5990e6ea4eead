//! Core nodes and their probes: `/ops/servers` (staff ADMIN+ register, change, delete and
//! silence nodes), the probe pass the worker runs, and the metrics nodes push.

pub mod api;
pub mod hosts;
pub mod model;
pub mod pages;
pub mod probe;
pub mod probe_store;
pub mod probing;
pub mod service;
pub mod store;
pub mod tile;
