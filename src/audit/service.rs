//! What people read in the audit log: staff ADMIN+ every entry, a customer OWNER their own
//! tenant's (the scope decides).

use super::store::{self, EntryRow, Filter};
use crate::actor::Actor;
use crate::db::{Db, Timestamp};
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult};

/// What the log page filters on (dates already parsed; `until` exclusive).
pub struct LogQuery<'a> {
    pub actor: &'a str,
    pub action: &'a str,
    pub from: Option<Timestamp>,
    pub until: Option<Timestamp>,
}

/// One page of entries, their total, and the actions recorded in the scope (for the filter).
pub struct Log {
    pub entries: Vec<EntryRow>,
    pub total: i64,
    pub actions: Vec<String>,
}

pub async fn log(db: &Db, actor: &Actor, q: &LogQuery<'_>, req: PageRequest) -> AppResult<Log> {
    if !actor.can_view_audit() {
        return Err(AppError::Forbidden);
    }
    let scope = actor.scope();
    let filter = Filter {
        scope: &scope,
        actor: q.actor,
        action: q.action,
        from: q.from,
        until: q.until,
    };
    let (entries, total) = store::list(&db.pool, &filter, req.size, req.offset()).await?;
    let actions = store::actions(&db.pool, &scope).await?;
    Ok(Log {
        entries,
        total,
        actions,
    })
}
