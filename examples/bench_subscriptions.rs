//! Subscription benchmarks (issue 13).
//!
//!   cargo run --release --example bench_subscriptions -- order <DATABASE_URL> [count] [concurrency] [tenants]
//!       places `count` (2,000) orders through the real service (`subscriptions::service::order`:
//!       the order form with `confirm=yes` and a fresh idempotency key each; the subscription,
//!       its item, its first invoice issued, the expiry job and the audit entry in one
//!       transaction), `concurrency` (4) at a time, each order by a customer OWNER of one of
//!       `tenants` (4) new customer tenants, and prints orders/s.
//!   cargo run --release --example bench_subscriptions -- seed <DATABASE_URL> [count] [tenants]
//!       adds `count` (10,000) subscriptions with their items and timelines, spread evenly over
//!       `tenants` (100) new customer tenants, in the statuses a running panel has; the first
//!       tenant gets the OWNER `customer@bench.test` with the password `a quiet harbour at dusk`.

use std::time::Instant;

use mpanel::auth::model::{Actor, ClientInfo, Role};
use mpanel::auth::store::{NewUser, insert_user};
use mpanel::db::{Db, Timestamp, new_id};
use mpanel::subscriptions::service::{self, OrderInput, OrderSettings};

/// The customer the benchmark script signs in as.
const CUSTOMER_EMAIL: &str = "customer@bench.test";
const CUSTOMER_PASSWORD: &str = "a quiet harbour at dusk";
/// Products the seed and the orders use (created once per database).
const PRODUCTS: usize = 20;
const DAY_MS: i64 = 86_400_000;

async fn tenant(db: &Db, kind: &str, slug: &str, name: &str) -> anyhow::Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO tenants (id, kind, name, slug, billing_email, country, region, currency, beta, created_at, updated_at, address, tax_id) \
         VALUES ($1, $2, $3, $4, $5, 'DE', 'eu-central', 'EUR', 0, $6, $6, '1 Bench Street', 'DE123')",
    )
    .bind(&id)
    .bind(kind)
    .bind(name)
    .bind(slug)
    .bind(format!("billing@{slug}.test"))
    .bind(Timestamp::now().0)
    .execute(&db.pool)
    .await?;
    Ok(id)
}

/// The operator tenant and the region's tax rule, unless the database has them.
async fn operator(db: &Db) -> anyhow::Result<()> {
    let taxes: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM tax_rules WHERE region = 'eu-central'")
            .fetch_one(&db.pool)
            .await?;
    if taxes == 0 {
        sqlx::query("INSERT INTO tax_rules (id, name, rate, region, created_at) VALUES ($1, 'VAT', '19', 'eu-central', 0)")
            .bind(new_id())
            .execute(&db.pool)
            .await?;
    }
    let operators: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tenants WHERE kind = 'OPERATOR'")
        .fetch_one(&db.pool)
        .await?;
    if operators == 0 {
        tenant(db, "OPERATOR", "bench-operator", "Bench operator").await?;
    }
    Ok(())
}

/// A product the benchmark orders: (id, code, monthly price in EUR).
#[derive(Clone)]
struct Product {
    id: String,
    code: String,
    monthly_minor: i64,
}

/// `PRODUCTS` public, active, recurring products with monthly and yearly prices in EUR and USD.
async fn catalog(db: &Db) -> anyhow::Result<Vec<Product>> {
    let categories = ["EMAIL", "DOMAIN", "SECURITY", "BACKUP", "SUPPORT", "OTHER"];
    let now = Timestamp::now().0;
    let mut out = Vec::new();
    let mut tx = db.begin_write().await?;
    for n in 0..PRODUCTS {
        let code = format!("SUBBENCH-{n:02}");
        let monthly = 299 + 250 * n as i64;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT id FROM products WHERE code = $1")
                .bind(&code)
                .fetch_optional(&mut *tx)
                .await?;
        let id = match existing {
            Some(id) => id,
            None => {
                let id = new_id();
                sqlx::query(
                    "INSERT INTO products (id, code, name, description, category, billing_model, status, visibility, tax_category, created_at, updated_at) \
                     VALUES ($1, $2, $3, 'A service for the subscription benchmark.', $4, 'RECURRING', 'ACTIVE', 'PUBLIC', 'STANDARD', $5, $5)",
                )
                .bind(&id)
                .bind(&code)
                .bind(format!("Bench service {n:02}"))
                .bind(categories[n % categories.len()])
                .bind(now)
                .execute(&mut *tx)
                .await?;
                for (currency, period, amount, setup) in [
                    ("EUR", "MONTHLY", monthly, 0),
                    ("EUR", "YEARLY", monthly * 10, 0),
                    ("USD", "MONTHLY", monthly + 50, 0),
                    ("USD", "YEARLY", (monthly + 50) * 10, 0),
                ] {
                    sqlx::query("INSERT INTO product_prices (id, product_id, currency, period, amount_minor, setup_fee_minor) VALUES ($1, $2, $3, $4, $5, $6)")
                        .bind(new_id())
                        .bind(&id)
                        .bind(currency)
                        .bind(period)
                        .bind(amount)
                        .bind(setup)
                        .execute(&mut *tx)
                        .await?;
                }
                id
            }
        };
        out.push(Product {
            id,
            code,
            monthly_minor: monthly,
        });
    }
    tx.commit().await?;
    Ok(out)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, url) = match (args.get(1), args.get(2)) {
        (Some(m), Some(u)) => (m.as_str(), u.as_str()),
        _ => anyhow::bail!(
            "usage: bench_subscriptions order DATABASE_URL [count] [concurrency] [tenants] | seed DATABASE_URL [count] [tenants]"
        ),
    };
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    // An order holds its write transaction's connection while `check` prices the product
    // through the pool: each concurrent order may need two connections at once.
    let concurrency = if mode == "order" { arg(4, 4) } else { 1 };
    let db = Db::connect(url, (2 * concurrency as u32).max(8)).await?;
    db.migrate().await?;
    operator(&db).await?;
    let products = catalog(&db).await?;
    match mode {
        "order" => order(&db, &products, arg(3, 2000), arg(4, 4), arg(5, 4)).await,
        "seed" => seed(&db, &products, arg(3, 10_000), arg(4, 100)).await,
        other => anyhow::bail!("unknown mode {other}"),
    }
}

fn customer_owner(tenant_id: &str) -> Actor {
    Actor {
        user_id: new_id(),
        email: "owner@order.bench.test".into(),
        name: "Bench owner".into(),
        tenant_id: tenant_id.into(),
        tenant_name: "Bench customer".into(),
        role: Role::Owner,
        is_staff: false,
        session_id: String::new(),
        must_change_password: false,
        client: ClientInfo {
            ip: "127.0.0.1".into(),
            user_agent: "bench".into(),
        },
    }
}

async fn order(
    db: &Db,
    products: &[Product],
    count: usize,
    concurrency: usize,
    tenants: usize,
) -> anyhow::Result<()> {
    let concurrency = concurrency.max(1);
    let mut customers = Vec::new();
    for i in 0..tenants.max(1) {
        let slug = format!("order-{i}-{}", new_id());
        customers.push(tenant(db, "CUSTOMER", &slug, &format!("Order customer {i}")).await?);
    }
    let codes: Vec<String> = products.iter().map(|p| p.code.clone()).collect();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (db, codes, customers) = (db.clone(), codes.clone(), customers.clone());
        tasks.push(tokio::spawn(async move {
            let settings = OrderSettings { expiry_days: 7 };
            // order n goes to worker n % concurrency, for customer n % tenants
            for n in (w..count).step_by(concurrency) {
                let actor = customer_owner(&customers[n % customers.len()]);
                let input = OrderInput {
                    product: codes[n % codes.len()].clone(),
                    period: if n % 5 == 0 { "YEARLY" } else { "MONTHLY" }.into(),
                    quantity: (1 + n % 3).to_string(),
                    idempotency_key: new_id(),
                    confirm: "yes".into(),
                    ..OrderInput::default()
                };
                service::order(&db, &actor, &settings, &input)
                    .await
                    .map_err(|e| anyhow::anyhow!("order {n}: {e:?}"))?;
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    // what the orders wrote, counted back from the database
    let subscriptions: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM subscriptions WHERE status = 'PENDING_ACTIVATION' \
         AND tenant_id IN (SELECT id FROM tenants WHERE slug LIKE 'order-%')",
    )
    .fetch_one(&db.pool)
    .await?;
    let invoices: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM invoices WHERE status = 'ISSUED' AND billing_reason = 'FIRST' \
         AND tenant_id IN (SELECT id FROM tenants WHERE slug LIKE 'order-%')",
    )
    .fetch_one(&db.pool)
    .await?;
    println!(
        "{count} orders over {} customer tenant(s), {concurrency} concurrent: {secs:.2} s, {:.0} orders/s \
         ({subscriptions} pending subscriptions and {invoices} issued first invoices of bench orders in the database)",
        customers.len(),
        count as f64 / secs
    );
    Ok(())
}

/// A status mix like a running panel's: mostly active, some suspended, ending, ended, waiting
/// for their first payment, and the odd failed activation.
fn status_of(n: usize) -> &'static str {
    match n % 40 {
        0..=27 => "ACTIVE",
        28 | 29 => "SUSPENDED",
        30 | 31 => "CANCEL_AT_PERIOD_END",
        32..=34 => "CANCELLED",
        35 | 36 => "EXPIRED",
        37 | 38 => "PENDING_ACTIVATION",
        _ => "ACTIVATION_FAILED",
    }
}

async fn seed(db: &Db, products: &[Product], count: usize, tenants: usize) -> anyhow::Result<()> {
    let tenants = tenants.max(1);
    let mut ids = Vec::new();
    for i in 0..tenants {
        let slug = format!("subs-{i}-{}", new_id());
        ids.push(tenant(db, "CUSTOMER", &slug, &format!("Bench customer {i:03}")).await?);
    }
    let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE email = $1")
        .bind(CUSTOMER_EMAIL)
        .fetch_one(&db.pool)
        .await?;
    if exists == 0 {
        let hash = mpanel::auth::password::hash_password(CUSTOMER_PASSWORD.into())
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        let mut tx = db.begin_write().await?;
        insert_user(
            &mut tx,
            &NewUser {
                id: &new_id(),
                tenant_id: &ids[0],
                email: CUSTOMER_EMAIL,
                name: "Bench customer",
                password_hash: &hash,
                role: Role::Owner.as_str(),
                must_change_password: false,
            },
        )
        .await?;
        tx.commit().await?;
    } else {
        // a second seed of the same database: the customer moves to this seed's first tenant
        sqlx::query("UPDATE users SET tenant_id = $1 WHERE email = $2")
            .bind(&ids[0])
            .bind(CUSTOMER_EMAIL)
            .execute(&db.pool)
            .await?;
    }
    let now = Timestamp::now().0;
    // created over the past year, oldest first
    let step = (365 * DAY_MS) / count.max(1) as i64;
    for chunk in 0..count.div_ceil(1000) {
        let mut tx = db.begin_write().await?;
        for j in 0..1000.min(count - chunk * 1000) {
            let n = chunk * 1000 + j;
            let id = new_id();
            let p = &products[(n / tenants) % products.len()];
            let status = status_of(n / tenants + n);
            let yearly = n % 7 == 0;
            let quantity = 1 + (n % 4) as i64;
            let created = now - (count - n) as i64 * step;
            let period_ms = if yearly { 365 * DAY_MS } else { 30 * DAY_MS };
            // the current period: the one containing now (pending ones have none yet)
            let elapsed = (now - created) % period_ms;
            let (start, end) = match status {
                "PENDING_ACTIVATION" | "ACTIVATION_FAILED" => (None, None),
                _ => (Some(now - elapsed), Some(now - elapsed + period_ms)),
            };
            let ended = match status {
                "CANCELLED" | "EXPIRED" => Some(created + (now - created) / 2),
                _ => None,
            };
            let expires = (status == "PENDING_ACTIVATION").then_some(created + 7 * DAY_MS);
            let failure = if status == "ACTIVATION_FAILED" {
                "The provisioning job gave up after 5 attempts."
            } else {
                ""
            };
            sqlx::query(
                "INSERT INTO subscriptions (id, tenant_id, product_id, status, period, quantity, currency, \
                 auto_renew, current_period_start, current_period_end, expires_at, failure_reason, \
                 idempotency_key, created_by, created_at, updated_at, ended_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7, $8, $9, $10, $11, $12, $13, $14, $14, $15)",
            )
            .bind(&id)
            .bind(&ids[n % tenants])
            .bind(&p.id)
            .bind(status)
            .bind(if yearly { "YEARLY" } else { "MONTHLY" })
            .bind(quantity)
            .bind(i64::from(status != "CANCEL_AT_PERIOD_END"))
            .bind(start)
            .bind(end)
            .bind(expires)
            .bind(failure)
            .bind(new_id())
            .bind(CUSTOMER_EMAIL)
            .bind(created)
            .bind(ended)
            .execute(&mut *tx)
            .await?;
            let unit = if yearly {
                p.monthly_minor * 10
            } else {
                p.monthly_minor
            };
            sqlx::query(
                "INSERT INTO subscription_items (id, subscription_id, position, product_id, quantity, unit_price_minor, setup_fee_minor) \
                 VALUES ($1, $2, 0, $3, $4, $5, 0)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(&p.id)
            .bind(quantity)
            .bind(unit)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO subscription_events (id, subscription_id, at, kind, summary, actor) \
                 VALUES ($1, $2, $3, 'order', $4, $5)",
            )
            .bind(new_id())
            .bind(&id)
            .bind(created)
            .bind(format!("Ordered {quantity} × {}", p.code))
            .bind(CUSTOMER_EMAIL)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    println!(
        "seeded {count} subscriptions over {tenants} customer tenants ({} for {CUSTOMER_EMAIL})",
        count.div_ceil(tenants)
    );
    Ok(())
}
