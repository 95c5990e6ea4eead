//! The overview's backups tile (`/ops/tiles/backups`) and the staff list of backup runs
//! behind its figures (`/ops/backups?status=&pod=&from=`), read through
//! `cloudpods::backups::service`. With a driver that cannot back up, the tile says so
//! instead of counting zeros.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use super::model;
use super::pages::Freshness;
use crate::actor::Actor;
use crate::cloudpods::backups::model::{Frequency, RunStatus, overdue};
use crate::cloudpods::backups::service;
use crate::cloudpods::backups::store::{PodBackupRow, RunFilter, RunRow};
use crate::db::Timestamp;
use crate::jobs::model::precise;
use crate::page;
use crate::state::AppState;
use crate::web::pagination::filter_query;
use crate::web::{AppResult, Hx, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops/tiles/backups", get(tile))
        .route("/ops/backups", get(list))
}

/// Pods listed by last success on the tile.
pub const PODS_SHOWN: usize = 10;
/// Runs listed on `/ops/backups`.
pub const RUNS_SHOWN: i64 = 200;

impl PodBackupRow {
    pub fn last_success_label(&self) -> String {
        self.last_success
            .as_ref()
            .map_or_else(|| "never".to_string(), precise)
    }
    pub fn href(&self) -> String {
        format!("/ops/backups?pod={}", self.pod_id)
    }
    pub fn frequency_label(&self) -> &'static str {
        self.frequency.label()
    }
}

/// The pods under a policy split as the tile and the list show them.
pub struct PodHealth {
    pub pods: Vec<PodBackupRow>,
    pub overdue: Vec<PodBackupRow>,
}

impl PodHealth {
    fn of(rows: Vec<PodBackupRow>, now: Timestamp) -> PodHealth {
        let overdue = rows
            .iter()
            .filter(|r| {
                overdue(
                    r.frequency,
                    r.policy_created_at.0,
                    r.last_success.map(|t| t.0),
                    now.0,
                )
            })
            .cloned()
            .collect();
        PodHealth {
            pods: rows,
            overdue,
        }
    }
}

pub struct BackupsTile {
    pub read_at: Timestamp,
    /// Why the configured driver cannot back up (the tile says this, and no figures).
    pub unsupported: Option<String>,
    /// Today (UTC), `YYYY-MM-DD`.
    pub today: String,
    pub runs_today: i64,
    pub succeeded: i64,
    pub failed: i64,
    pub running: i64,
    pub health: PodHealth,
}

impl BackupsTile {
    /// Whole percent of today's ended runs that succeeded; None when none ended.
    pub fn success_rate(&self) -> Option<i64> {
        model::percent(self.succeeded, self.succeeded + self.failed)
    }
    /// Today's runs, of one status ("" for all).
    pub fn href(&self, status: &str) -> String {
        let q = filter_query(&[("status", status), ("from", &self.today)]);
        format!("/ops/backups?{}", q.trim_start_matches('&'))
    }
    pub fn pods_shown(&self) -> &[PodBackupRow] {
        &self.health.pods[..self.health.pods.len().min(PODS_SHOWN)]
    }
    pub fn pods_more(&self) -> usize {
        self.health.pods.len().saturating_sub(PODS_SHOWN)
    }
}

pub async fn read(state: &AppState, actor: &Actor, now: Timestamp) -> AppResult<BackupsTile> {
    let db = &state.db;
    let today: String = now.to_string().chars().take(10).collect();
    let midnight = Timestamp(Frequency::Daily.slot_of(now.0));
    let counts = service::counts_since(db, actor, midnight).await?;
    let n = |s: RunStatus| counts.iter().filter(|(r, _)| *r == s).map(|(_, n)| n).sum();
    let health = PodHealth::of(service::pod_health(db, actor).await?, now);
    let (succeeded, failed, running) = (
        n(RunStatus::Succeeded),
        n(RunStatus::Failed),
        n(RunStatus::Running),
    );
    Ok(BackupsTile {
        read_at: now,
        unsupported: state.provisioner.backup_unsupported(),
        today,
        runs_today: succeeded + failed + running,
        succeeded,
        failed,
        running,
        health,
    })
}

#[derive(Template)]
#[template(path = "ops/tile_backups.html")]
struct TileView {
    k: BackupsTile,
    fresh: Freshness,
}

async fn tile(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    let (st, who) = (&state, &actor);
    super::pages::memoized(st, who, "backups", |now| async move {
        let k = read(st, who, now).await?;
        crate::web::render(&TileView {
            k,
            fresh: Freshness::new(st, now),
        })
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub status: String,
    pub pod: String,
    /// `YYYY-MM-DD`: runs started that day (UTC) or later.
    pub from: String,
}

#[derive(Template)]
#[template(path = "ops/backups.html", blocks = ["main"])]
struct ListPage {
    layout: Layout,
    q: ListQuery,
    statuses: &'static [RunStatus],
    runs: Vec<RunRow>,
    total: i64,
    shown_max: i64,
    health: PodHealth,
    unsupported: Option<String>,
    bad_from: bool,
}

async fn list(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
    Query(q): Query<ListQuery>,
) -> AppResult<Response> {
    let now = state.clock.now();
    let status = RunStatus::parse(q.status.trim()).map_or("", |s| s.as_str());
    let from = q.from.trim();
    let since = (!from.is_empty())
        .then(|| Timestamp::from_date(from))
        .flatten();
    let f = RunFilter {
        status,
        pod_id: q.pod.trim(),
        since: since.map(|t| t.0),
        before: None,
    };
    let (runs, total) = service::list(&state.db, &actor, &f, RUNS_SHOWN).await?;
    let health = PodHealth::of(service::pod_health(&state.db, &actor).await?, now);
    let page = ListPage {
        layout,
        bad_from: !from.is_empty() && since.is_none(),
        q,
        statuses: RunStatus::ALL,
        runs,
        total,
        shown_max: RUNS_SHOWN,
        health,
        unsupported: state.provisioner.backup_unsupported(),
    };
    Ok(page!(hx, page)?.into_response())
}
