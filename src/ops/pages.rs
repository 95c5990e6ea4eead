//! `/ops`, the overview: each tile is also its own fragment (`/ops/tiles/<name>`) that the
//! page polls with htmx, so a wall screen stays current without reloading.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;

use super::service::{self, BillingTile, ProvisioningTile, QueueTile, SecurityTile};
use crate::actor::Actor;
use crate::db::Timestamp;
use crate::jobs::model::precise;
use crate::ops::model::QueueColumn;
use crate::ops::nodes::tile::NodesTile;
use crate::page;
use crate::state::AppState;
use crate::web::{AppResult, Hx, Layout};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ops", get(index))
        .route("/ops/tiles/queues", get(queues_tile))
        .route("/ops/tiles/security", get(security_tile))
        .route("/ops/tiles/billing", get(billing_tile))
        .route("/ops/tiles/provisioning", get(provisioning_tile))
        .route("/ops/tiles/nodes", get(nodes_tile))
}

/// What every tile shows beside its figures: when they were read and how often it polls.
pub struct Freshness {
    pub read_at: String,
    pub refresh_secs: u64,
}

impl Freshness {
    pub(super) fn new(state: &AppState, at: Timestamp) -> Freshness {
        Freshness {
            read_at: precise(&at),
            refresh_secs: state.config.ops.ops_refresh_secs.max(1),
        }
    }
}

#[derive(Template)]
#[template(path = "ops/index.html", blocks = ["main"])]
struct OverviewPage {
    layout: Layout,
    columns: &'static [QueueColumn],
    q: QueueTile,
    s: SecurityTile,
    b: BillingTile,
    p: ProvisioningTile,
    n: NodesTile,
    k: super::backups::BackupsTile,
    fresh: Freshness,
}

pub async fn index(
    State(state): State<AppState>,
    hx: Hx,
    layout: Layout,
    actor: Actor,
) -> AppResult<Response> {
    let now = Timestamp::now();
    let q = service::queues(&state.db, &actor, now).await?;
    let s = service::security(&state.db, &actor, now).await?;
    let b = service::billing(&state.db, &actor, state.clock.now()).await?;
    let p = service::provisioning(&state.db, &actor, now).await?;
    let n = super::nodes::tile::read(&state.db, &actor, state.clock.now()).await?;
    let k = super::backups::read(&state, &actor, state.clock.now()).await?;
    let page = OverviewPage {
        n,
        k,
        layout,
        columns: QueueColumn::ALL,
        q,
        s,
        b,
        p,
        fresh: Freshness::new(&state, now),
    };
    Ok(page!(hx, page)?.into_response())
}

#[derive(Template)]
#[template(path = "ops/tile_queues.html")]
struct QueuesTile {
    columns: &'static [QueueColumn],
    q: QueueTile,
    fresh: Freshness,
}

pub async fn queues_tile(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    memoized(&state, &actor, "queues", |_| async {
        let now = Timestamp::now();
        let q = service::queues(&state.db, &actor, now).await?;
        crate::web::render(&QueuesTile {
            columns: QueueColumn::ALL,
            q,
            fresh: Freshness::new(&state, now),
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "ops/tile_security.html")]
struct SecurityTileView {
    s: SecurityTile,
    fresh: Freshness,
}

pub async fn security_tile(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    memoized(&state, &actor, "security", |_| async {
        let now = Timestamp::now();
        let s = service::security(&state.db, &actor, now).await?;
        crate::web::render(&SecurityTileView {
            s,
            fresh: Freshness::new(&state, now),
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "ops/tile_billing.html")]
struct BillingTileView {
    b: BillingTile,
    fresh: Freshness,
}

pub async fn billing_tile(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    let (st, who) = (&state, &actor);
    memoized(st, who, "billing", |at| async move {
        let b = service::billing(&st.db, who, at).await?;
        crate::web::render(&BillingTileView {
            b,
            fresh: Freshness::new(st, Timestamp::now()),
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "ops/tile_provisioning.html")]
struct ProvisioningTileView {
    p: ProvisioningTile,
    fresh: Freshness,
}

pub async fn provisioning_tile(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    memoized(&state, &actor, "provisioning", |_| async {
        let now = Timestamp::now();
        let p = service::provisioning(&state.db, &actor, now).await?;
        crate::web::render(&ProvisioningTileView {
            p,
            fresh: Freshness::new(&state, now),
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "ops/tile_nodes.html")]
struct NodesTileView {
    n: NodesTile,
    fresh: Freshness,
}

pub async fn nodes_tile(State(state): State<AppState>, actor: Actor) -> AppResult<Response> {
    let (st, who) = (&state, &actor);
    memoized(st, who, "nodes", |now| async move {
        let n = super::nodes::tile::read(&st.db, who, now).await?;
        crate::web::render(&NodesTileView {
            n,
            fresh: Freshness::new(st, now),
        })
    })
    .await
}

/// A tile's fragment for this staff member: permission checked on every request, the
/// fragment rendered at most once per `MPANEL_OPS_TILE_MEMO_MS` for everyone who sees the
/// same thing (the same tenant scope and role).
pub(crate) async fn memoized<F, Fut>(
    state: &AppState,
    actor: &Actor,
    tile: &str,
    render: F,
) -> AppResult<Response>
where
    F: FnOnce(Timestamp) -> Fut,
    Fut: std::future::Future<Output = AppResult<Html<String>>>,
{
    service::require_view(actor)?;
    let key = format!("{tile}:{}:{}", actor.tenant_id, actor.role.as_str());
    let body = state
        .fragments
        .get_or_render(key, state.clock.now(), |at| async move {
            render(at).await.map(|Html(html)| Bytes::from(html))
        })
        .await?;
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response())
}
