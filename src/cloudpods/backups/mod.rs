//! CloudPod backups: a policy per pod (daily or weekly, copies kept), made with the pod from
//! its plan's defaults and changed by the customer's ADMIN+; a scheduler tick enqueues one
//! `cloudpod.backup` job per due slot; every run is recorded. The pod page shows the policy
//! and the runs (`pages`); staff list every run on `/ops/backups` (the ops feature).

pub mod api;
pub mod handlers;
pub mod model;
pub mod pages;
pub mod service;
pub mod store;
