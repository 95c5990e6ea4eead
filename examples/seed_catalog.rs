//! Fills a database with a large catalog for benchmarks/catalog.sh:
//! 10,000 products (each with USD and EUR monthly prices), 100 customer tenants and
//! 50,000 price overrides spread over tenant, region and currency scopes.
//!
//!   cargo run --release --example seed_catalog -- <DATABASE_URL>

use mpanel::db::{Db, Timestamp, new_id};

const PRODUCTS: usize = 10_000;
const OVERRIDES_PER_PRODUCT: usize = 5;
const TENANTS: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .ok_or_else(|| anyhow::anyhow!("usage: seed_catalog DATABASE_URL"))?;
    let db = Db::connect(&url, 4).await?;
    db.migrate().await?;
    let now = Timestamp::now().0;
    let mut tx = db.begin_write().await?;
    let mut tenants = Vec::new();
    for i in 0..TENANTS {
        let id = new_id();
        sqlx::query(
            "INSERT INTO tenants (id, kind, name, slug, billing_email, country, region, currency, beta, created_at, updated_at) \
             VALUES ($1, 'CUSTOMER', $2, $3, $4, 'DE', $5, 'EUR', $6, $7, $7)",
        )
        .bind(&id)
        .bind(format!("Bench tenant {i}"))
        .bind(format!("bench-{i}"))
        .bind(format!("billing{i}@bench.test"))
        .bind(["eu-central", "us-east", "apac"][i % 3])
        .bind((i % 10 == 0) as i64)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tenants.push(id);
    }
    tx.commit().await?;
    let categories = [
        "ADDON", "EMAIL", "DOMAIN", "SECURITY", "BACKUP", "SUPPORT", "OTHER",
    ];
    for chunk in 0..(PRODUCTS / 1000) {
        let mut tx = db.begin_write().await?;
        for j in 0..1000 {
            let n = chunk * 1000 + j;
            let id = new_id();
            // 80% public, 10% beta, 10% private; 90% of those active
            let visibility = match n % 10 {
                0 => "PRIVATE",
                1 => "BETA",
                _ => "PUBLIC",
            };
            let status = if n % 10 == 5 { "INACTIVE" } else { "ACTIVE" };
            sqlx::query(
                "INSERT INTO products (id, code, name, description, category, billing_model, status, visibility, tax_category, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 'RECURRING', $6, $7, 'STANDARD', $8, $8)",
            )
            .bind(&id)
            .bind(format!("BENCH-{n:05}"))
            .bind(format!("Bench product {n:05}"))
            .bind("A product generated for the catalog benchmark.")
            .bind(categories[n % categories.len()])
            .bind(status)
            .bind(visibility)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            for (currency, amount) in [
                ("USD", 500 + (n as i64 % 5000)),
                ("EUR", 450 + (n as i64 % 4500)),
            ] {
                sqlx::query("INSERT INTO product_prices (id, product_id, currency, period, amount_minor, setup_fee_minor) VALUES ($1, $2, $3, 'MONTHLY', $4, 0)")
                    .bind(new_id())
                    .bind(&id)
                    .bind(currency)
                    .bind(amount)
                    .execute(&mut *tx)
                    .await?;
            }
            for k in 0..OVERRIDES_PER_PRODUCT {
                // distinct scopes per product so windows never overlap
                let (tenant, region) = match k {
                    0 => ("", ""),
                    1 => ("", "eu-central"),
                    2 => ("", "us-east"),
                    _ => (tenants[(n * 7 + k) % TENANTS].as_str(), ""),
                };
                let currency = if k == 4 { "USD" } else { "EUR" };
                sqlx::query(
                    "INSERT INTO price_overrides (id, product_id, tenant_id, region, currency, period, amount_minor, setup_fee_minor, valid_from, valid_until, created_at) \
                     VALUES ($1, $2, $3, $4, $5, 'MONTHLY', $6, 0, $7, $8, $9)",
                )
                .bind(new_id())
                .bind(&id)
                .bind(tenant)
                .bind(region)
                .bind(currency)
                .bind(400 + k as i64)
                .bind(if k == 0 { now - 86_400_000 } else { 0 })
                .bind(if k == 0 { now + 86_400_000 * 30 } else { i64::MAX })
                .bind(now)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
    }
    println!(
        "seeded {PRODUCTS} products, {} overrides, {TENANTS} tenants",
        PRODUCTS * OVERRIDES_PER_PRODUCT
    );
    Ok(())
}
