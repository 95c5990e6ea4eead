//! SQL for the ops overview's security posture: counts over events, second factors and
//! tokens, in a scope (staff read every tenant).

use sqlx::AnyPool;

use super::model::EventKind;
use crate::db::{Scoped, TenantScope, Timestamp};

/// Security events at or after `since`, by type: `(type, count)`.
pub async fn event_counts_since(
    pool: &AnyPool,
    scope: &TenantScope,
    since: Timestamp,
) -> sqlx::Result<Vec<(EventKind, i64)>> {
    sqlx::query_as(&format!(
        "SELECT event_type, CAST(COUNT(*) AS BIGINT) FROM security_events \
         WHERE created_at >= $1{} GROUP BY event_type ORDER BY event_type",
        scope.and("tenant_id", 2)
    ))
    .bind(since.0)
    .scoped(scope)
    .fetch_all(pool)
    .await
}

/// Active users and how many of them have a second factor on, staff (the operator tenant)
/// and customers apart: `(1 for staff, users, with a second factor)`.
pub async fn mfa_adoption(
    pool: &AnyPool,
    scope: &TenantScope,
) -> sqlx::Result<Vec<(i64, i64, i64)>> {
    sqlx::query_as(&format!(
        "SELECT CAST(CASE WHEN t.kind = 'OPERATOR' THEN 1 ELSE 0 END AS BIGINT) AS staff, \
         CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN m.enabled = 1 THEN 1 ELSE 0 END) AS BIGINT) \
         FROM users u JOIN tenants t ON t.id = u.tenant_id \
         LEFT JOIN user_mfa m ON m.user_id = u.id \
         WHERE u.active = 1{} GROUP BY staff ORDER BY staff",
        scope.and("u.tenant_id", 1)
    ))
    .scoped(scope)
    .fetch_all(pool)
    .await
}
