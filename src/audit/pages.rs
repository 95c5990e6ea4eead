//! `/audit`: staff ADMIN+ see every entry, a customer OWNER their own tenant's.

use askama::Template;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::service::{self, LogQuery};
use super::store::EntryRow;
use crate::actor::Actor;
use crate::db::Timestamp;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::{PageRequest, Pager, filter_query, parse_page};
use crate::web::{AppResult, FieldErrors, Hx, Layout};

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "audit/list.html", blocks = ["main"])]
struct AuditPage {
    layout: Layout,
    entries: Vec<EntryRow>,
    actions: Vec<String>,
    q: AuditQuery,
    errors: FieldErrors,
    pager: Pager,
    show_tenant: bool,
}

pub async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<AuditQuery>,
) -> AppResult<Response> {
    let mut errors = FieldErrors::new();
    let mut date = |field: &'static str, raw: &str| -> Option<Timestamp> {
        let raw = raw.trim();
        if raw.is_empty() {
            return None;
        }
        let t = Timestamp::from_date(raw);
        if t.is_none() {
            errors.add(field, "Use a date like 2026-11-21.");
        }
        t
    };
    let from = date("from", &q.from);
    // "until" is inclusive for people: entries of that whole day.
    let until = date("until", &q.until).map(|t| t.plus_secs(86_400));
    let query = LogQuery {
        actor: &q.actor,
        action: &q.action,
        from,
        until,
    };
    let req = PageRequest::new(parse_page(q.page.as_deref()));
    let log = service::log(&state.db, &actor, &query, req).await?;
    let pager = Pager::new(
        "/audit",
        req,
        log.total,
        filter_query(&[
            ("actor", &q.actor),
            ("action", &q.action),
            ("from", &q.from),
            ("until", &q.until),
        ]),
    );
    Ok(page!(
        hx,
        AuditPage {
            layout,
            entries: log.entries,
            actions: log.actions,
            q,
            errors,
            pager,
            show_tenant: actor.is_staff
        }
    )?
    .into_response())
}
