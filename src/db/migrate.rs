//! Embedded migrations, one SQL file per version and backend.
//!
//! The same file names exist under `migrations/sqlite` and `migrations/postgres`; an
//! integration test checks that both directories and this list stay in step.

use anyhow::Context;
use sqlx::Row;

use super::{Backend, Db, Timestamp};

pub struct Migration {
    pub version: i64,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

macro_rules! migration {
    ($version:expr, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../../migrations/sqlite/", $name)),
            postgres: include_str!(concat!("../../migrations/postgres/", $name)),
        }
    };
}

pub const MIGRATIONS: &[Migration] = &[
    migration!(1, "0001_foundation.sql"),
    migration!(2, "0002_catalog.sql"),
    migration!(3, "0003_security.sql"),
    migration!(4, "0004_jobs.sql"),
    migration!(5, "0005_invoices.sql"),
    migration!(6, "0006_cloudpods.sql"),
    migration!(7, "0007_invitations.sql"),
    migration!(8, "0008_session_data.sql"),
    migration!(9, "0009_payment_dates.sql"),
    migration!(10, "0010_subscriptions.sql"),
    migration!(11, "0011_billing_automation.sql"),
    migration!(12, "0012_payments.sql"),
    migration!(13, "0013_ops_nodes.sql"),
    migration!(14, "0014_passkeys.sql"),
    migration!(15, "0015_api.sql"),
    migration!(16, "0016_backups.sql"),
    migration!(17, "0017_ops_speed.sql"),
];

pub(super) async fn run(db: &Db) -> anyhow::Result<()> {
    let mut tx = db.begin_write().await?;
    if db.backend == Backend::Postgres {
        // Several `mpanel serve` instances may start together: one migrates, the others wait.
        sqlx::query("SELECT pg_advisory_xact_lock(7372556)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<i64> = sqlx::query("SELECT version FROM schema_migrations")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get::<i64, _>(0))
        .collect::<Result<_, _>>()?;
    for m in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match db.backend {
            Backend::Sqlite => m.sqlite,
            Backend::Postgres => m.postgres,
        };
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .with_context(|| format!("applying migration {}", m.name))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(Timestamp::now().0)
        .execute(&mut *tx)
        .await?;
        tracing::info!(migration = m.name, "applied migration");
    }
    tx.commit().await?;
    Ok(())
}
