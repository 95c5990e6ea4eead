//! The top of the house: the only module that knows every feature. Router assembly (every
//! feature's routes), middleware layers, job-handler registration, the worker and the server
//! loop; the state itself lives in `state.rs`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::csrf::CsrfLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

mod worker;
pub use worker::run_worker;

use crate::auth::{self, store};
use crate::config::Config;
use crate::db::{Db, Timestamp};
use crate::web::layout::{Nav, NavEntry};
use crate::web::{client, flash, middleware as mw};
use crate::{
    api, audit, billing, cloudpods, dashboard, jobs, ops, security, static_files, subscriptions,
    telemetry,
};

pub use crate::state::AppState;

/// The OpenAPI document of `/api/v1`: every feature's part (`api.rs`), generated from code.
pub fn openapi_document() -> serde_json::Value {
    api::openapi::document(vec![
        cloudpods::api::openapi(),
        cloudpods::backups::api::openapi(),
        billing::catalog::api::openapi(),
        billing::invoices::api::openapi(),
        subscriptions::api::openapi(),
        security::api::openapi(),
        auth::api::openapi(),
        ops::api::openapi(),
        ops::nodes::api::openapi(),
        ops::guardian::api::openapi(),
    ])
}

pub fn router(state: AppState) -> Router {
    let openapi = std::sync::Arc::new(openapi_document());
    let pages = Router::new()
        .route("/", get(dashboard::pages::dashboard))
        .route(
            "/setup",
            get(auth::pages::setup_form).post(auth::pages::setup_submit),
        )
        .route(
            "/login",
            get(auth::signin::pages::login_form).post(auth::signin::pages::login_submit),
        )
        .route(
            "/login/mfa",
            get(auth::signin::pages::login_mfa_form).post(auth::signin::pages::login_mfa_submit),
        )
        .route(
            "/login/passkey/options",
            post(auth::signin::passkey_pages::passwordless_options),
        )
        .route(
            "/login/passkey",
            post(auth::signin::passkey_pages::passwordless),
        )
        .route(
            "/login/mfa/passkey/options",
            post(auth::signin::passkey_pages::second_factor_options),
        )
        .route(
            "/login/mfa/passkey",
            post(auth::signin::passkey_pages::second_factor),
        )
        .route("/logout", post(auth::signin::pages::logout))
        .route(
            "/account/password",
            get(auth::pages::password_form).post(auth::pages::password_submit),
        )
        .route(
            "/tenants",
            get(auth::tenant_pages::list).post(auth::tenant_pages::create),
        )
        .route("/tenants/new", get(auth::tenant_pages::new_form))
        .route(
            "/tenants/{id}",
            get(auth::tenant_pages::show).post(auth::tenant_pages::update),
        )
        .route("/tenants/{id}/edit", get(auth::tenant_pages::edit_form))
        .route(
            "/users",
            get(auth::user_pages::list).post(auth::invite_pages::create),
        )
        .route("/users/new", get(auth::invite_pages::new_form))
        .route(
            "/users/invitations/{id}/resend",
            post(auth::invite_pages::resend),
        )
        .route(
            "/users/invitations/{id}/revoke",
            post(auth::invite_pages::revoke),
        )
        .route(
            "/invite/{token}",
            get(auth::invite_pages::accept_form).post(auth::invite_pages::accept_submit),
        )
        .route("/users/{id}", get(auth::user_pages::show))
        .route("/users/{id}/role", post(auth::user_pages::change_role))
        .route("/users/{id}/deactivate", post(auth::user_pages::deactivate))
        .route("/users/{id}/activate", post(auth::user_pages::activate))
        .route("/audit", get(audit::pages::list))
        .route("/tenants/{id}/beta", post(auth::tenant_pages::set_beta))
        .merge(billing::catalog::routes())
        .merge(billing::invoices::routes())
        .merge(security::routes())
        .merge(jobs::pages::routes())
        .merge(ops::pages::routes())
        .merge(ops::backups::routes())
        .merge(ops::nodes::pages::routes())
        .merge(ops::guardian::pages::routes())
        .merge(cloudpods::routes())
        .merge(subscriptions::routes())
        .merge(billing::automation::pages::routes())
        .merge(billing::payments::routes())
        .merge(api::docs::page_routes(openapi.clone()))
        .fallback(auth::pages::not_found)
        .method_not_allowed_fallback(crate::web::error::method_not_allowed)
        .layer(axum::middleware::from_fn(mw::attach_layout))
        // Pages hold account data: never cache them (the back button after sign-out included).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(from_fn_with_state(state.clone(), flash::flash_layer))
        .layer(from_fn_with_state(
            state.clone(),
            auth::session::session_layer,
        ))
        .layer(auth::session::auth_layer(&state));

    let csrf = CsrfLayer::new().with_rejection_response(mw::csrf_rejection);
    let mut app = Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        // Prometheus, with its bearer token (not served here without one).
        .route("/metrics", get(ops::metrics::main_address))
        // Outside the page routes: needs no session, so it works before sign-in as well.
        .route("/preferences/theme", post(crate::web::theme::set_theme))
        // Payment gateways sign their deliveries; they have no session.
        .merge(billing::payments::webhook_routes())
        .nest("/static", static_files::service())
        .merge(api::docs::document_routes(openapi))
        .merge(api::routes(
            state.clone(),
            cloudpods::api::routes()
                .merge(cloudpods::backups::api::routes())
                .merge(billing::catalog::api::routes())
                .merge(billing::invoices::api::routes())
                .merge(subscriptions::api::routes())
                .merge(ops::nodes::api::routes())
                .merge(ops::guardian::api::routes())
                .merge(security::api::routes())
                .merge(auth::api::routes())
                .merge(ops::api::routes()),
        ))
        .merge(pages)
        .layer(CatchPanicLayer::custom(mw::panic_response))
        .layer(axum::middleware::from_fn(mw::reject_nul_bytes))
        // Inside the header layers, so a 413 carries the security headers too; outside the
        // NUL check, which buffers form bodies.
        .layer(tower_http::limit::RequestBodyLimitLayer::new(1024 * 1024))
        .layer(csrf)
        .layer(axum::middleware::from_fn(mw::render_error_pages))
        .layer(from_fn_with_state(
            state.clone(),
            client::attach_client_info,
        ));
    for (name, value) in mw::security_headers() {
        app = app.layer(SetResponseHeaderLayer::if_not_present(name, value));
    }
    app.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(
                TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", id = %id, method = %req.method(), path = %req.uri().path())
                }),
            )
            .layer(PropagateRequestIdLayer::x_request_id()),
    )
    // Outermost, so every answer (pages, JSON, assets, error pages) is compressed by
    // Accept-Encoding (gzip, br); tiny bodies, images and event streams are left alone.
    .layer(CompressionLayer::new())
    // Applied to every route (so the matched route template is known) and outside the
    // others, so rejected, failed and compressed answers are all counted and timed.
    .layer(from_fn_with_state(
        state.telemetry.clone(),
        telemetry::track_http,
    ))
    .layer(axum::Extension(Nav(NAV)))
    .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.db.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(e) => {
            tracing::warn!(error = %e, "database not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}

/// Connects, migrates and builds the state on the system clock; shared by `serve` and the
/// benches.
pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    build_state_with_clock(config, crate::clock::Clock::system()).await
}

/// [`build_state`] on the given clock (the tests' movable one).
pub async fn build_state_with_clock(
    config: Config,
    clock: crate::clock::Clock,
) -> anyhow::Result<AppState> {
    let secret = config.load_secret()?;
    // A malformed MPANEL_SMTP_URL / MPANEL_MAIL_FROM refuses to start rather than fail later.
    crate::mail::Mailer::from_config(&config)?;
    // So is an incomplete Proxmox configuration.
    let provisioner = crate::provision::Driver::from_config(&config)?;
    // And a metrics token too short to be a secret.
    config.metrics_token()?;
    // And billing schedules that contradict each other.
    billing::automation::model::Settings::from_config(&config)?;
    // And node probe settings out of range.
    ops::nodes::model::ProbeSettings::from_config(&config)?;
    let db = Db::connect(&config.database_url(), config.db_max_connections).await?;
    db.migrate().await?;
    Ok(AppState::new(db, config, &secret, provisioner, clock))
}

/// Serves until `shutdown` resolves, then drains in-flight requests.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let purge = tokio::spawn(purge_expired_loop(state.clone()));
    let (stop_worker, stop_rx) = tokio::sync::watch::channel(false);
    let metrics = match state.config.ops.metrics_bind {
        Some(addr) => Some(tokio::spawn(serve_metrics(
            state.clone(),
            bind_metrics(addr).await?,
            stop_rx.clone(),
        ))),
        None => None,
    };
    let worker =
        (!state.config.no_worker).then(|| tokio::spawn(run_worker(state.clone(), stop_rx)));
    let app = router(state).into_make_service_with_connect_info::<SocketAddr>();
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            // The worker drains (grace period) while the server finishes its requests.
            let _ = stop_worker.send(true);
        })
        .await;
    if let Some(worker) = worker {
        let _ = worker.await;
    }
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    purge.abort();
    Ok(served?)
}

pub async fn bind_metrics(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    use anyhow::Context;
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics address {addr}"))
}

/// The separate metrics address (`MPANEL_METRICS_BIND`): `/metrics` and nothing else, until
/// `stop` turns true.
pub async fn serve_metrics(
    state: AppState,
    listener: tokio::net::TcpListener,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let app = Router::new()
        .route("/metrics", get(ops::metrics::metrics_address))
        .with_state(state);
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        })
        .await;
    if let Err(e) = served {
        tracing::warn!(error = %e, "the metrics address stopped");
    }
}

/// Every job handler of the application, feature by feature; `serve` and `worker` run these.
pub fn job_registry(state: &AppState) -> jobs::Registry {
    let mut r = jobs::Registry::new();
    crate::mail::register(&mut r, &state.config);
    billing::invoices::handlers::register(&mut r, &state.config);
    cloudpods::handlers::register(&mut r, state);
    cloudpods::backups::handlers::register(&mut r, state);
    subscriptions::handlers::register(&mut r, state);
    billing::automation::handlers::register(&mut r, state);
    billing::payments::handlers::register(&mut r);
    r
}

/// The navigation, in order: each feature's entry and who sees it (the layout shows the
/// entries whose `show` allows the signed-in actor).
static NAV: &[NavEntry] = &[
    NavEntry::new("", "/", "Dashboard", |_| true),
    NavEntry::new(
        "Billing",
        "/billing/invoices",
        "Invoices",
        billing::invoices::service::can_read,
    ),
    NavEntry::new("Billing", "/billing/subscriptions", "Subscriptions", |a| {
        a.is_staff
    }),
    NavEntry::new("Services", "/billing/subscriptions", "Services", |a| {
        !a.is_staff
    }),
    NavEntry::new(
        "Billing",
        "/billing/bill-runs",
        "Bill runs",
        billing::automation::service::can_run,
    ),
    NavEntry::new(
        "Billing",
        "/billing/payments",
        "Payments",
        billing::invoices::service::can_read,
    ),
    NavEntry::new(
        "Billing",
        "/billing/webhooks",
        "Payment webhooks",
        billing::payments::service::can_view_inbox,
    ),
    NavEntry::new(
        "Billing",
        "/billing/products",
        "Products",
        billing::catalog::service::can_read,
    ),
    NavEntry::new(
        "Billing",
        "/billing/plans",
        "Plans",
        billing::catalog::service::can_read,
    ),
    NavEntry::new(
        "Billing",
        "/billing/tax-rules",
        "Tax rules",
        billing::invoices::service::can_bill,
    ),
    NavEntry::new("Billing", "/catalog", "Catalog", |_| true),
    NavEntry::new(
        "CloudPods",
        "/cloudpods",
        "CloudPods",
        cloudpods::service::can_read,
    ),
    NavEntry::new("Security", "/security", "Security", |_| true),
    NavEntry::new("Security", "/account/password", "Password", |_| true),
    NavEntry::new("Security", "/audit", "Audit log", |a| a.can_view_audit()),
    NavEntry::new("Operations", "/ops", "Operations", ops::model::can_view),
    NavEntry::new("Administration", "/tenants", "Tenants", |a| {
        a.can_view_tenants()
    }),
    NavEntry::new("Administration", "/users", "Users", |a| {
        a.is_staff && a.can_view_members()
    }),
    NavEntry::new("Administration", "/users", "Members", |a| {
        !a.is_staff && a.can_view_members()
    }),
];

/// Expired sessions and spent throttle rows are removed every few minutes.
async fn purge_expired_loop(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(300));
    loop {
        tick.tick().await;
        let now = Timestamp::now();
        let idle_cutoff = now.plus_secs(-state.config.session_idle_minutes * 60);
        match store::purge_expired(&state.db.pool, now, idle_cutoff).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sessions = n, "removed expired sessions"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired sessions"),
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
