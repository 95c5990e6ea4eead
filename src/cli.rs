//! Subcommands: serve (default), worker, migrate, admin create-owner, healthcheck.

use std::io::{IsTerminal, Read};

use anyhow::Context;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::app;
use crate::auth::model::{self, ClientInfo};
use crate::auth::service;
use crate::config::{AdminCommand, Cli, Command, Config};
use crate::db::Db;
use crate::web::AppError;

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    init_tracing(&cli.config.log);
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config).await,
        Command::Worker => worker(cli.config).await,
        Command::Migrate => {
            let db = Db::connect(&cli.config.database_url(), 2).await?;
            db.migrate().await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Admin(AdminCommand::CreateOwner { email, company }) => {
            create_owner(&cli.config, &email, &company).await
        }
        Command::Healthcheck => healthcheck(&cli.config).await,
    }
}

fn init_tracing(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let state = app::build_state(config).await?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    tracing::info!(
        "mPanel listening on {} (database: {})",
        state.config.base_url(),
        state.db.backend.dir()
    );
    app::serve(state, listener, app::shutdown_signal()).await
}

/// Only the job worker, until Ctrl-C or SIGTERM (running jobs get the grace period).
async fn worker(config: Config) -> anyhow::Result<()> {
    let state = app::build_state(config).await?;
    tracing::info!("mPanel worker (database: {})", state.db.backend.dir());
    let (stop, stop_rx) = tokio::sync::watch::channel(false);
    // A worker process's job run times are its own: it serves them on the metrics address.
    let metrics = match state.config.ops.metrics_bind {
        Some(addr) => Some(tokio::spawn(app::serve_metrics(
            state.clone(),
            app::bind_metrics(addr).await?,
            stop_rx.clone(),
        ))),
        None => None,
    };
    let worker = tokio::spawn(app::run_worker(state, stop_rx));
    app::shutdown_signal().await;
    let _ = stop.send(true);
    worker.await?;
    if let Some(metrics) = metrics {
        metrics.await?;
    }
    Ok(())
}

/// Password from stdin when piped (`echo pw | mpanel admin create-owner …`), otherwise generated
/// and printed once.
async fn create_owner(config: &Config, email: &str, company: &str) -> anyhow::Result<()> {
    let email = model::normalize_email(email).map_err(|m| anyhow::anyhow!("--email: {m}"))?;
    let (password, generated) = if std::io::stdin().is_terminal() {
        (crate::auth::password::generate_password(), true)
    } else {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input)?;
        let line = input.lines().next().unwrap_or("").to_string();
        if line.is_empty() {
            (crate::auth::password::generate_password(), true)
        } else {
            (line, false)
        }
    };
    let db = Db::connect(&config.database_url(), 2).await?;
    db.migrate().await?;
    // The operator tenant's password policy, once it has one.
    let rules = {
        let mut tx = db.begin_write().await?;
        let operator = crate::auth::store::operator_tenant_id(&mut tx).await?;
        let rules = match operator {
            Some(id) => crate::security::store::policy(&mut *tx, &id)
                .await?
                .password_rules(),
            None => model::PasswordRules::default(),
        };
        tx.rollback().await?;
        rules
    };
    if let Some(problem) = model::password_problem(&password, &email, &rules) {
        anyhow::bail!("password: {problem}");
    }
    let hash = crate::auth::password::hash_password(password.clone())
        .await
        .map_err(app_error)?;
    let client = ClientInfo {
        ip: "cli".into(),
        user_agent: "mpanel admin create-owner".into(),
    };
    service::create_operator_owner(&db, company, &email, &hash, &client, false)
        .await
        .map_err(app_error)?;
    println!("created OWNER {email}");
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

fn app_error(e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(errors) => anyhow::anyhow!("{}", errors.get("email")),
        AppError::Internal(e) => e,
        other => anyhow::anyhow!("{other}"),
    }
}

/// A bare HTTP/1.1 GET of /healthz on the bind address: the image needs no curl.
async fn healthcheck(config: &Config) -> anyhow::Result<()> {
    let mut addr = config.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let mut stream = tokio::time::timeout(
        std::time::Duration::from_secs(3),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .context("timed out")??;
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    anyhow::ensure!(
        response.starts_with("HTTP/1.1 200"),
        "unhealthy: {}",
        response.lines().next().unwrap_or("")
    );
    Ok(())
}
