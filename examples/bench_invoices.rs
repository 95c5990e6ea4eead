//! Invoice benchmarks (issue 4).
//!
//!   cargo run --release --example bench_invoices -- issue <DATABASE_URL> [count] [concurrency] [tenants] [batch|single]
//!       creates `count` (10,000) five-line drafts spread over `tenants` (1) customer tenants,
//!       then times issuing them all — `single`: one `service::issue` transaction per invoice;
//!       `batch`: billing runs (`service::issue_batch`, 200 invoices per transaction), one
//!       run per tenant, `concurrency` runs at a time — and prints invoices/s.
//!   cargo run --release --example bench_invoices -- seed <DATABASE_URL> [count]
//!       adds `count` (200,000) issued invoices spread over 50 tenants, for the list benchmark.

use std::time::Instant;

use mpanel::auth::model::{Actor, ClientInfo, Role};
use mpanel::billing::invoices::service;
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

async fn operator(db: &Db) -> anyhow::Result<String> {
    let existing: Option<String> =
        sqlx::query_scalar("SELECT id FROM tenants WHERE kind = 'OPERATOR'")
            .fetch_optional(&db.pool)
            .await?;
    match existing {
        Some(id) => Ok(id),
        None => {
            sqlx::query("INSERT INTO tax_rules (id, name, rate, region, created_at) VALUES ($1, 'VAT', '19', 'eu-central', 0)")
                .bind(new_id())
                .execute(&db.pool)
                .await?;
            tenant(db, "OPERATOR", "bench-operator").await
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, url) = match (args.get(1), args.get(2)) {
        (Some(m), Some(u)) => (m.as_str(), u.as_str()),
        _ => anyhow::bail!("usage: bench_invoices issue|seed DATABASE_URL [count] [concurrency]"),
    };
    let db = Db::connect(url, 8).await?;
    db.migrate().await?;
    let operator = operator(&db).await?;
    match mode {
        "issue" => {
            let count: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10_000);
            let concurrency: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(4);
            let tenants: usize = args.get(5).and_then(|s| s.parse().ok()).unwrap_or(1);
            let batch = args.get(6).is_some_and(|m| m == "batch");
            issue(&db, &operator, count, concurrency, tenants, batch).await
        }
        "seed" => {
            seed(
                &db,
                args.get(3).and_then(|s| s.parse().ok()).unwrap_or(200_000),
            )
            .await
        }
        other => anyhow::bail!("unknown mode {other}"),
    }
}

async fn issue(
    db: &Db,
    operator: &str,
    count: usize,
    concurrency: usize,
    tenants: usize,
    batch: bool,
) -> anyhow::Result<()> {
    let mut customers = Vec::new();
    for _ in 0..tenants {
        customers.push(tenant(db, "CUSTOMER", &format!("issue-{}", new_id())).await?);
    }
    let actor = Actor {
        user_id: new_id(),
        email: "bench@bench.test".into(),
        name: "Bench".into(),
        tenant_id: operator.into(),
        tenant_name: "Bench operator".into(),
        role: Role::Owner,
        is_staff: true,
        session_id: String::new(),
        must_change_password: false,
        client: ClientInfo {
            ip: "127.0.0.1".into(),
            user_agent: "bench".into(),
        },
    };
    // drafts per tenant, in creation order
    let mut ids: Vec<Vec<String>> = vec![Vec::new(); tenants];
    for chunk in 0..count.div_ceil(1000) {
        let mut tx = db.begin_write().await?;
        for j in 0..1000.min(count - chunk * 1000) {
            let id = new_id();
            let t = (chunk * 1000 + j) % tenants;
            let customer = &customers[t];
            sqlx::query("INSERT INTO invoices (id, tenant_id, status, currency, created_at, updated_at) VALUES ($1, $2, 'DRAFT', 'EUR', $3, $3)")
                .bind(&id)
                .bind(customer)
                .bind(Timestamp::now().0)
                .execute(&mut *tx)
                .await?;
            for n in 1..=5i64 {
                sqlx::query("INSERT INTO invoice_lines (id, invoice_id, position, kind, description, quantity, unit_price_minor, amount_minor) VALUES ($1, $2, $3, 'ITEM', 'Bench line', '2', $4, $5)")
                    .bind(new_id())
                    .bind(&id)
                    .bind(n)
                    .bind(999 * n)
                    .bind(2 * 999 * n)
                    .execute(&mut *tx)
                    .await?;
            }
            ids[t].push(id);
        }
        tx.commit().await?;
    }
    for (t, customer) in customers.iter().enumerate() {
        sqlx::query("INSERT INTO invoice_summaries (tenant_id, status, currency, count, total_minor, due_minor) VALUES ($1, 'DRAFT', 'EUR', $2, 0, 0)")
            .bind(customer)
            .bind(ids[t].len() as i64)
            .execute(&db.pool)
            .await?;
    }
    let started = Instant::now();
    // `concurrency` workers share the tenants; each issues its tenants' drafts in order
    let mut per_worker: Vec<Vec<Vec<String>>> = vec![Vec::new(); concurrency];
    for (t, drafts) in ids.into_iter().enumerate() {
        per_worker[t % concurrency].push(drafts);
    }
    if tenants == 1 && !batch {
        // one tenant, single transactions: split its drafts across the workers
        let all: Vec<String> = per_worker.concat().concat();
        per_worker = all
            .chunks(count.div_ceil(concurrency))
            .map(|c| vec![c.to_vec()])
            .collect();
    }
    let mut tasks = Vec::new();
    for work in per_worker {
        let (db, actor) = (db.clone(), actor.clone());
        tasks.push(tokio::spawn(async move {
            for drafts in work {
                if batch {
                    service::issue_batch(&db, &actor, &drafts)
                        .await
                        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                } else {
                    for id in drafts {
                        service::issue(&db, &actor, &id)
                            .await
                            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
                    }
                }
            }
            Ok::<(), anyhow::Error>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let secs = started.elapsed().as_secs_f64();
    let issued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices WHERE status = 'ISSUED' AND tenant_id IN (SELECT id FROM tenants WHERE slug LIKE 'issue-%')").fetch_one(&db.pool).await?;
    println!(
        "{} {count} five-line invoices over {tenants} tenant(s), {concurrency} concurrent: {secs:.2} s, {:.0} invoices/s ({issued} issued bench invoices in the database)",
        if batch {
            "billing runs (200 per transaction):"
        } else {
            "one transaction per invoice:"
        },
        count as f64 / secs
    );
    Ok(())
}

async fn seed(db: &Db, count: usize) -> anyhow::Result<()> {
    let mut tenants = Vec::new();
    for i in 0..50 {
        tenants.push(tenant(db, "CUSTOMER", &format!("list-{i}-{}", new_id())).await?);
    }
    let year = time::OffsetDateTime::now_utc().year();
    let now = Timestamp::now().0;
    for chunk in 0..count.div_ceil(2000) {
        let mut tx = db.begin_write().await?;
        for j in 0..2000.min(count - chunk * 2000) {
            let n = chunk * 2000 + j;
            let status = if n % 3 == 0 { "PAID" } else { "ISSUED" };
            let total = 1000 + (n as i64 % 50_000);
            sqlx::query(
                "INSERT INTO invoices (id, tenant_id, status, number, currency, issue_date, due_date, total_minor, subtotal_minor, due_minor, paid_minor, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'EUR', '2026-01-15', '2026-01-29', $5, $5, $6, $7, $8, $8)",
            )
            .bind(new_id())
            .bind(&tenants[n % tenants.len()])
            .bind(status)
            .bind(format!("INV-{year}-S{n:07}"))
            .bind(total)
            .bind(if status == "PAID" { 0 } else { total })
            .bind(if status == "PAID" { total } else { 0 })
            .bind(now - n as i64)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
    }
    // the seeded rows bypass the service, so rebuild their summaries once
    sqlx::query("DELETE FROM invoice_summaries")
        .execute(&db.pool)
        .await?;
    sqlx::query(
        "INSERT INTO invoice_summaries (tenant_id, status, currency, count, total_minor, due_minor) \
         SELECT tenant_id, status, currency, COUNT(*), CAST(SUM(total_minor) AS BIGINT), CAST(SUM(due_minor) AS BIGINT) \
         FROM invoices GROUP BY tenant_id, status, currency",
    )
    .execute(&db.pool)
    .await?;
    println!("seeded {count} issued invoices over 50 tenants");
    Ok(())
}
