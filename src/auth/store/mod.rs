//! SQL for tenants, users, sessions and the login throttle. No rules here: only queries.
//! Every read of tenant-owned rows takes a [`TenantScope`](super::model::TenantScope).
//!
//! Split by responsibility: `tenants`, `users`, `sessions` (sign-in lookups, live sessions,
//! purging) and `throttle` (the login throttle's counters).

mod sessions;
mod tenants;
mod throttle;
mod users;

pub use sessions::{
    LiveSession, LoginRow, NewSession, SessionRow, delete_session, delete_user_sessions,
    find_live_session, find_login, insert_session, load_live_session, purge_expired,
    save_session_data, session_started_at, session_user, touch_session,
};
pub use tenants::{
    NewTenant, TenantDetails, TenantRow, customer_tenant_choices, get_tenant, insert_tenant,
    list_tenants, lock_tenant, operator_tenant, operator_tenant_id, set_tenant_beta,
    tenant_choices, tenants_after, update_tenant,
};
pub use throttle::{throttle_clear, throttle_refund, throttle_reserve, throttle_tat};
pub use users::{
    NewUser, UserFilter, UserRow, count_other_active_owners, count_users, get_user, insert_user,
    list_users, password_hash, set_password, set_user_active, set_user_role, users_after,
};

pub use crate::db::like_pattern;
