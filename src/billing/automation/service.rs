//! The bill run and what staff see of it. A run reads the clock once (`as_of`) and then:
//! expires unpaid orders; for every live subscription whose period ends within the renewal
//! lead, issues the next period's invoice if due (exactly once, by the invoices' unique key on
//! subscription, period and reason) and rolls the period over once it has ended (or ends a
//! subscription cancelled at the period's end); then runs dunning. Two runs at once, a
//! retried run or two worker processes find each other's invoices instead of issuing twice.
//! Each run is recorded with what it did and why anything failed.

use crate::auth::model::{Actor, Role};
use crate::billing::invoices::service::IssueCache;
use crate::db::{Db, Timestamp, new_id};
use crate::jobs::{self, NewJob};
use crate::subscriptions::service::{self as subs, PeriodEnd, Renewal};
use crate::web::{AppError, AppResult};

use super::model::Settings;
use super::store::{self, Finished};

/// The job that runs a bill run; one at a time (its unique key).
pub const BILL_RUN_KIND: &str = "billing.bill_run";
const BILL_RUN_KEY: &str = "billing:bill-run";
/// Subscriptions read per page of the work list.
pub(super) const PAGE: i64 = 500;
/// Renewals issued per transaction (one durable commit each).
const BATCH: usize = 500;
/// Failures kept on the run's record.
const KEEP_FAILURES: usize = 50;
/// Periods one subscription may advance in one run (a clock far ahead; a bug must not spin).
const MAX_PERIODS_PER_RUN: usize = 1_000;

/// Staff BILLING+ see bill runs, start them and look at the dry run.
pub fn can_run(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Billing)
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RunCounts {
    pub issued: i64,
    pub already_billed: i64,
    pub periods_rolled: i64,
    pub ended: i64,
    pub expired: i64,
    pub dunning_steps: i64,
    pub failed: i64,
    pub failures: Vec<String>,
}

impl RunCounts {
    pub fn fail(&mut self, what: &str, e: &AppError) {
        self.failed += 1;
        if self.failures.len() < KEEP_FAILURES {
            self.failures.push(format!("{what}: {e}"));
        }
        tracing::warn!(what, error = %e, "bill run step failed");
    }
}

/// Runs a bill run as of `now` (the clock's), recorded as started by `started_by`.
pub async fn bill_run(
    db: &Db,
    settings: &Settings,
    now: Timestamp,
    started_by: &str,
) -> AppResult<(String, RunCounts)> {
    let id = new_id();
    let mut tx = db.begin_write().await?;
    store::insert(&mut tx, &id, started_by, now, Timestamp::now()).await?;
    tx.commit().await?;
    let mut c = RunCounts::default();
    expire_orders(db, now, &mut c).await?;
    periods(db, settings, now, &mut c).await?;
    super::dunning::run(db, settings, now, &mut c).await?;
    let failures = c.failures.join("\n");
    let mut tx = db.begin_write().await?;
    store::finish(
        &mut tx,
        &id,
        &Finished {
            issued: c.issued,
            already_billed: c.already_billed,
            periods_rolled: c.periods_rolled,
            ended: c.ended,
            expired: c.expired,
            dunning_steps: c.dunning_steps,
            failed: c.failed,
            failures: &failures,
        },
        Timestamp::now(),
    )
    .await?;
    tx.commit().await?;
    tracing::info!(run = %id, issued = c.issued, already = c.already_billed, rolled = c.periods_rolled, dunning = c.dunning_steps, failed = c.failed, "bill run finished");
    Ok((id, c))
}

async fn expire_orders(db: &Db, now: Timestamp, c: &mut RunCounts) -> AppResult<()> {
    let mut after: Option<(Timestamp, String)> = None;
    loop {
        let page = subs::expired_orders(
            db,
            now,
            after.as_ref().map(|(t, id)| (*t, id.as_str())),
            PAGE,
        )
        .await?;
        for (_, id) in &page {
            match subs::expire(db, id, now).await {
                Ok(true) => c.expired += 1,
                Ok(false) => {}
                Err(e) => c.fail(&format!("subscription {id}"), &e),
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.clone()),
            _ => return Ok(()),
        }
    }
}

async fn periods(db: &Db, settings: &Settings, now: Timestamp, c: &mut RunCounts) -> AppResult<()> {
    let mut cache = IssueCache::default();
    // First every subscription whose next period is to be invoiced, then every one whose
    // period has ended (most were handled in the first pass and answer at once).
    let until = now.plus_secs(settings.lead_days * 86_400);
    for pass in [Pass::Renewals(until), Pass::PeriodEnds(now)] {
        let mut after: Option<(Timestamp, String)> = None;
        loop {
            let after_ref = after.as_ref().map(|(t, id)| (*t, id.as_str()));
            let page = match pass {
                Pass::Renewals(until) => subs::renewal_work(db, until, after_ref, PAGE).await?,
                Pass::PeriodEnds(now) => subs::period_end_work(db, now, after_ref, PAGE).await?,
            };
            match pass {
                Pass::Renewals(_) => renew_page(db, settings, now, &page, &mut cache, c).await,
                Pass::PeriodEnds(_) => {
                    for (_, id) in &page {
                        if let Err(e) = one_subscription(db, settings, now, id, &mut cache, c).await
                        {
                            c.fail(&format!("subscription {id}"), &e);
                        }
                    }
                }
            }
            match page.last() {
                Some(last) if page.len() as i64 == PAGE => after = Some(last.clone()),
                _ => break,
            }
        }
    }
    Ok(())
}

/// Renewals a batch per transaction; a subscription whose period has also ended goes on
/// through [`one_subscription`] (roll over, and catch up if the clock is far ahead).
async fn renew_page(
    db: &Db,
    settings: &Settings,
    now: Timestamp,
    page: &[(Timestamp, String)],
    cache: &mut IssueCache,
    c: &mut RunCounts,
) {
    let ids: Vec<String> = page.iter().map(|(_, id)| id.clone()).collect();
    for chunk in ids.chunks(BATCH) {
        let results = match subs::renew_batch(db, chunk, now, settings.lead_days, cache).await {
            Ok(r) => r,
            Err(e) => {
                for id in chunk {
                    c.fail(&format!("subscription {id}"), &e);
                }
                continue;
            }
        };
        for (id, r) in chunk.iter().zip(results) {
            match r {
                Ok(r) => {
                    count(c, &r.renewal);
                    if r.period_end.is_some_and(|end| end <= now)
                        && let Err(e) = one_subscription(db, settings, now, id, cache, c).await
                    {
                        c.fail(&format!("subscription {id}"), &e);
                    }
                }
                Err(e) => c.fail(&format!("subscription {id}"), &e),
            }
        }
    }
}

fn count(c: &mut RunCounts, r: &Renewal) {
    match r {
        Renewal::Issued { .. } => c.issued += 1,
        Renewal::AlreadyBilled => c.already_billed += 1,
        Renewal::NotDue => {}
    }
}

#[derive(Clone, Copy)]
enum Pass {
    Renewals(Timestamp),
    PeriodEnds(Timestamp),
}

/// A subscription whose period has ended: roll it over (or end it), then invoice the period
/// after if that is due too, until nothing is left at `now` (a clock far ahead catches up). A
/// period whose next one is not invoiced yet is invoiced first.
async fn one_subscription(
    db: &Db,
    settings: &Settings,
    now: Timestamp,
    id: &str,
    cache: &mut IssueCache,
    c: &mut RunCounts,
) -> AppResult<()> {
    let mut invoiced_first = false;
    for _ in 0..MAX_PERIODS_PER_RUN {
        match subs::end_of_period(db, id, now).await {
            Ok(PeriodEnd::Rolled) => {
                c.periods_rolled += 1;
                let renewed = subs::renew(db, id, now, settings.lead_days, cache).await?;
                count(c, &renewed.renewal);
            }
            Ok(PeriodEnd::Ended) => {
                c.ended += 1;
                return Ok(());
            }
            Ok(PeriodEnd::NotYet) => return Ok(()),
            Err(AppError::Refused(_)) if !invoiced_first => {
                invoiced_first = true;
                let renewed = subs::renew(db, id, now, settings.lead_days, cache).await?;
                count(c, &renewed.renewal);
            }
            Err(e) => return Err(e),
        }
    }
    Err(AppError::refused(format!(
        "more than {MAX_PERIODS_PER_RUN} periods to catch up in one run"
    )))
}

/// Starts a bill run on the queue now (staff's "Run now", or the schedule). `false` when one
/// is already waiting or running.
pub async fn start(db: &Db, started_by: &str) -> AppResult<bool> {
    let mut tx = db.begin_write().await?;
    let job = jobs::enqueue(
        &mut tx,
        NewJob::new(
            BILL_RUN_KIND,
            &serde_json::json!({ "started_by": started_by }),
        )
        .unique_key(BILL_RUN_KEY)
        .subject("billing:bill-runs")
        .max_attempts(3),
    )
    .await?;
    tx.commit().await?;
    Ok(!job.duplicate)
}

/// Staff start a bill run.
pub async fn run_now(db: &Db, actor: &Actor) -> AppResult<bool> {
    if !can_run(actor) {
        return Err(AppError::Forbidden);
    }
    let started = start(db, &actor.email).await?;
    if started {
        let mut tx = db.begin_write().await?;
        crate::audit::record(
            &mut tx,
            actor,
            crate::audit::AuditEvent {
                tenant_id: None,
                action: "billing.bill_run_started",
                target_type: "bill_run",
                target_id: "",
                summary: "Started a bill run".into(),
            },
        )
        .await?;
        tx.commit().await?;
    }
    Ok(started)
}
