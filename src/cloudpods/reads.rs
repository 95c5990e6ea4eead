//! What people read about pods besides one pod (`service::get`): the list, a pod's jobs, and
//! the pickers of the create form. Each read makes the permission decision and reads in the
//! actor's scope.

use super::model::PodStatus;
use super::service::{can_manage, can_read, subject};
use super::store::{self, PodFilter, PodRow};
use crate::auth::model::Actor;
use crate::db::Db;
use crate::jobs::read::JobRow;
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult};

/// One page of the pods the actor sees, and their total. Only staff narrow by tenant.
pub async fn list_pods(
    db: &Db,
    actor: &Actor,
    filter: &PodFilter<'_>,
    req: PageRequest,
) -> AppResult<(Vec<PodRow>, i64)> {
    if !can_read(actor) {
        return Err(AppError::Forbidden);
    }
    let filter = PodFilter {
        tenant_id: if actor.is_staff { filter.tenant_id } else { "" },
        ..*filter
    };
    Ok(store::list(&db.pool, &actor.scope(), &filter, req.size, req.offset()).await?)
}

/// The latest jobs acting on a pod the actor has read (`service::get`), newest first.
pub async fn pod_jobs(db: &Db, actor: &Actor, pod: &PodRow, limit: i64) -> AppResult<Vec<JobRow>> {
    Ok(
        crate::jobs::read::list_for_subject(&db.pool, &actor.scope(), &subject(&pod.id), limit)
            .await?,
    )
}

/// The name of the staff member's own (operator) tenant, which pods created by hand belong to.
pub async fn own_tenant_name(db: &Db, actor: &Actor) -> AppResult<String> {
    if !can_manage(actor) || !actor.is_staff {
        return Err(AppError::Forbidden);
    }
    Ok(crate::auth::reads::find_tenant(db, actor, &actor.tenant_id)
        .await?
        .map(|t| t.name)
        .unwrap_or_default())
}

/// How many pods the actor sees in each status.
pub async fn status_counts(db: &Db, actor: &Actor) -> AppResult<Vec<(PodStatus, i64)>> {
    if !can_read(actor) {
        return Err(AppError::Forbidden);
    }
    Ok(store::status_counts(&db.pool, &actor.scope()).await?)
}
