//! Bill-run benchmark (issue 14).
//!
//!   cargo run --release --example bench_bill_run -- <DATABASE_URL> [count]
//!       fills an empty database with `count` (100,000) ACTIVE monthly subscriptions over 100
//!       customer tenants, all due for renewal on the same day, then times one bill run (it
//!       issues every renewal invoice) and a second run (it finds nothing to do), and prints
//!       invoices/s.

use std::time::Instant;

use mpanel::billing::automation::model::Settings;
use mpanel::billing::automation::service;
use mpanel::db::{Db, Timestamp, new_id};

async fn tenant(db: &Db, kind: &str, slug: &str) -> anyhow::Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO tenants (id, kind, name, slug, billing_email, country, region, currency, beta, created_at, updated_at, address, tax_id) \
         VALUES ($1, $2, $3, $4, $5, 'DE', 'eu-central', 'EUR', 0, $6, $6, '1 Bench Street', 'DE123')",
    )
    .bind(&id)
    .bind(kind)
    .bind(format!("Bench {slug}"))
    .bind(slug)
    .bind(format!("billing@{slug}.test"))
    .bind(Timestamp::now().0)
    .execute(&db.pool)
    .await?;
    Ok(id)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // RUST_LOG=mpanel=debug shows, e.g., a batch taken one at a time
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().collect();
    let Some(url) = args.get(1) else {
        anyhow::bail!("usage: bench_bill_run DATABASE_URL [count]");
    };
    let count: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let db = Db::connect(url, 8).await?;
    db.migrate().await?;
    let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions")
        .fetch_one(&db.pool)
        .await?;
    anyhow::ensure!(existing == 0, "use an empty database");
    sqlx::query("INSERT INTO tax_rules (id, name, rate, region, created_at) VALUES ($1, 'VAT', '19', 'eu-central', 0)")
        .bind(new_id())
        .execute(&db.pool)
        .await?;
    tenant(&db, "OPERATOR", "bench-operator").await?;
    let mut tenants = Vec::new();
    for i in 0..100 {
        tenants.push(tenant(&db, "CUSTOMER", &format!("bench-{i:03}")).await?);
    }
    let now = Timestamp::now();
    let product = new_id();
    sqlx::query(
        "INSERT INTO products (id, code, name, description, category, billing_model, status, \
         visibility, tax_category, created_at, updated_at) VALUES ($1, 'BENCH-SUPPORT', \
         'Bench support', '', 'SUPPORT', 'RECURRING', 'ACTIVE', 'PUBLIC', 'STANDARD', $2, $2)",
    )
    .bind(&product)
    .bind(now.0)
    .execute(&db.pool)
    .await?;
    // Period 0 started 25 days ago: it ends in 3 to 6 days, inside the 7-day renewal lead.
    let anchor = now.plus_secs(-25 * 86_400);
    let (start, end) = mpanel::subscriptions::model::period_bounds(
        anchor,
        mpanel::billing::catalog::model::Period::Monthly,
        0,
    )?;
    let t0 = Instant::now();
    for chunk in (0..count).collect::<Vec<_>>().chunks(1_000) {
        let mut tx = db.begin_write().await?;
        for &i in chunk {
            let id = new_id();
            sqlx::query(
                "INSERT INTO subscriptions (id, tenant_id, product_id, status, period, quantity, \
                 currency, idempotency_key, created_by, created_at, updated_at, \
                 current_period_start, current_period_end, billing_anchor, period_number, next_bill_at) \
                 VALUES ($1, $2, $3, 'ACTIVE', 'MONTHLY', 1, 'EUR', $4, 'bench', $5, $5, $6, $7, $6, 0, $7)",
            )
            .bind(&id)
            .bind(&tenants[i % tenants.len()])
            .bind(&product)
            .bind(format!("bench-{i}"))
            .bind(now.0)
            .bind(start.0)
            .bind(end.0)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO subscription_items (id, subscription_id, position, product_id, \
                 quantity, unit_price_minor, setup_fee_minor) VALUES ($1, $2, 0, $3, 1, 1000, 0)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(&product)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    println!(
        "seeded {count} subscriptions in {:.1} s",
        t0.elapsed().as_secs_f64()
    );

    let settings = Settings::new(0, 7, 3, "1,7,14", 7, 30, "").map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    let (_, first) = service::bill_run(&db, &settings, now, "bench").await?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "first run: {} issued, {} failed in {secs:.1} s = {:.0} invoices/s",
        first.issued,
        first.failed,
        first.issued as f64 / secs
    );
    anyhow::ensure!(
        first.issued == count as i64,
        "expected {count} invoices: {first:?}"
    );
    let t = Instant::now();
    let (_, second) = service::bill_run(&db, &settings, now, "bench").await?;
    println!(
        "second run: {} issued, {} already billed in {:.2} s",
        second.issued,
        second.already_billed,
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
