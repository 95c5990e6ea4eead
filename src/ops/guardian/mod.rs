//! Guardian findings: the security agent reports findings on pods
//! (`POST /api/v1/guardian/findings`, token scope SECURITY); staff triage them on
//! `/ops/guardian`; customers see their own pods' findings on the pod page.

pub mod api;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;
