//! Database access: one `sqlx::AnyPool` over SQLite (default) or PostgreSQL.
//!
//! The Any driver moves only i64, f64, String and bytes, so ids are TEXT UUIDv7,
//! instants are i64 Unix milliseconds and flags are 0/1 integers (see DESIGN.md).

pub mod bulk;
pub mod filter;
mod migrate;
pub mod page_cache;
pub mod scope;
pub mod types;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};

pub use migrate::{MIGRATIONS, Migration};
pub use scope::{Scoped, TenantScope, like_pattern};
pub use types::{Timestamp, new_id};

pub type Tx = Transaction<'static, Any>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> anyhow::Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            anyhow::bail!("unsupported database URL (use sqlite://… or postgres://…)")
        }
    }

    /// The clause that locks the rows a read returns for the rest of the transaction:
    /// `FOR UPDATE [OF alias]` on PostgreSQL; nothing on SQLite, whose write transaction
    /// (`BEGIN IMMEDIATE`) already holds the database lock.
    pub fn row_lock(self, of: Option<&str>) -> String {
        match (self, of) {
            (Backend::Sqlite, _) => String::new(),
            (Backend::Postgres, None) => " FOR UPDATE".to_string(),
            (Backend::Postgres, Some(alias)) => format!(" FOR UPDATE OF {alias}"),
        }
    }

    pub fn dir(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
    /// Rendered anonymous pages read from this database (see page_cache.rs).
    pub pages: std::sync::Arc<page_cache::PageCache>,
}

impl Db {
    /// Connects, creating the SQLite file (and its directory) when needed.
    pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite => prepare_sqlite_url(url)?,
            Backend::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url).context("parsing the database URL")?;
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Per-connection settings; WAL itself is persistent in the file.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
                             PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to the {} database", backend.dir()))?;
        Ok(Db {
            pool,
            backend,
            pages: Default::default(),
        })
    }

    /// Starts a write transaction. On SQLite this is `BEGIN IMMEDIATE`, so the write lock is
    /// taken up front and a read-then-write transaction never fails with SQLITE_BUSY midway.
    pub async fn begin_write(&self) -> Result<Tx, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        migrate::run(self).await
    }

    /// `/readyz`: the database answers a trivial query.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
    }
}

/// Adds `mode=rwc` (create if missing) and creates the parent directory of a file database.
fn prepare_sqlite_url(url: &str) -> anyhow::Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    let parent = Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty());
    if let Some(parent) = parent.filter(|_| path != ":memory:") {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut url = format!("sqlite://{path}");
    if query.is_empty() {
        url.push_str("?mode=rwc");
    } else {
        url.push('?');
        url.push_str(query);
        if !query.contains("mode=") {
            url.push_str("&mode=rwc");
        }
    }
    Ok(url)
}

/// True when the error is a unique-constraint violation (duplicate slug, email, …).
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    err.as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_url_gets_create_mode() {
        let dir = std::env::temp_dir().join(format!("mpanel-url-{}", new_id()));
        let url = format!("sqlite://{}/x.db", dir.display());
        assert_eq!(prepare_sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(dir.exists());
        assert_eq!(
            prepare_sqlite_url("sqlite::memory:?cache=shared").unwrap(),
            "sqlite://:memory:?cache=shared&mode=rwc"
        );
    }

    #[test]
    fn backend_from_url() {
        assert_eq!(Backend::from_url("sqlite://a.db").unwrap(), Backend::Sqlite);
        assert_eq!(
            Backend::from_url("postgres://x/y").unwrap(),
            Backend::Postgres
        );
        assert!(Backend::from_url("mysql://x").is_err());
    }
}
