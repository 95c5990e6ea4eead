//! What staff read of the bill runs: the runs, the dry run of the next one, the check for
//! missed invoices, and the health figures of the ops overview. Staff BILLING+ (the health
//! figures: every staff member).

use crate::auth::model::Actor;
use crate::billing::invoices::service as invoices;
use crate::billing::money;
use crate::db::{Db, Timestamp};
use crate::subscriptions::service as subs;
use crate::web::pagination::PageRequest;
use crate::web::{AppError, AppResult};

use super::model::Settings;
use super::service::{PAGE, can_run};
use super::store::{self, RunRow};

pub async fn runs(db: &Db, actor: &Actor, req: PageRequest) -> AppResult<(Vec<RunRow>, i64)> {
    if !can_run(actor) {
        return Err(AppError::Forbidden);
    }
    Ok(store::list(&db.pool, req.size, req.offset()).await?)
}

pub async fn run(db: &Db, actor: &Actor, id: &str) -> AppResult<RunRow> {
    if !can_run(actor) {
        return Err(AppError::Forbidden);
    }
    store::get(&db.pool, id).await?.ok_or(AppError::NotFound)
}

/// One invoice the next run would issue.
#[derive(Clone, Debug)]
pub struct Planned {
    pub subscription_id: String,
    pub tenant_name: String,
    pub product_name: String,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub total: String,
    pub trial_conversion: bool,
}

/// The dry run: what a bill run at `now` would issue, with amounts (tax included), issuing
/// nothing. At most `limit` rows, and how many in all.
pub async fn preview(
    db: &Db,
    actor: &Actor,
    settings: &Settings,
    now: Timestamp,
    limit: usize,
) -> AppResult<(Vec<Planned>, usize)> {
    if !can_run(actor) {
        return Err(AppError::Forbidden);
    }
    let until = now.plus_secs(settings.lead_days * 86_400);
    let mut rows = Vec::new();
    let mut count = 0;
    let mut after: Option<(Timestamp, String)> = None;
    loop {
        let page = subs::renewal_work(
            db,
            until,
            after.as_ref().map(|(t, id)| (*t, id.as_str())),
            PAGE,
        )
        .await?;
        for (_, id) in &page {
            let Some(s) = subs::for_system(db, id).await? else {
                continue;
            };
            let Some(next) = subs::next_period(&s)? else {
                continue;
            };
            if !subs::renewal_due(&s, next.0, now, settings.lead_days) {
                continue;
            }
            let mut tx = db.pool.begin().await?;
            let billed =
                crate::subscriptions::store::period_invoice(&mut tx, &s.id, subs::RENEWAL, next)
                    .await?
                    .is_some();
            if billed {
                continue;
            }
            count += 1;
            if rows.len() < limit {
                let lines = subs::renewal_lines(db, &s, next).await?;
                let region = crate::auth::reads::find_tenant(db, actor, &s.tenant_id)
                    .await?
                    .map(|t| t.region)
                    .unwrap_or_default();
                let (totals, _) = invoices::quote_totals(&mut tx, &region, &lines).await?;
                rows.push(Planned {
                    subscription_id: s.id.clone(),
                    tenant_name: s.tenant_name.clone(),
                    product_name: s.product_name.clone(),
                    period_start: next.0,
                    period_end: next.1,
                    total: money::format_money(totals.total, &s.currency),
                    trial_conversion: s.period_number < 0,
                });
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => after = Some(last.clone()),
            _ => return Ok((rows, count)),
        }
    }
}

/// A subscription that should have an invoice and has none.
#[derive(Clone, Debug)]
pub struct Missed {
    pub subscription_id: String,
    pub tenant_name: String,
    pub product_name: String,
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub why: &'static str,
}

/// Every live subscription whose current period, or whose next period now due, has no
/// invoice though it should: nothing is missed silently.
pub async fn missed(
    db: &Db,
    actor: &Actor,
    settings: &Settings,
    now: Timestamp,
    limit: usize,
) -> AppResult<Vec<Missed>> {
    if !can_run(actor) {
        return Err(AppError::Forbidden);
    }
    let mut out: Vec<Missed> = subs::unbilled_current_periods(db, limit as i64)
        .await?
        .into_iter()
        .map(|(id, tenant, product, start, end)| Missed {
            subscription_id: id,
            tenant_name: tenant,
            product_name: product,
            period_start: start,
            period_end: end,
            why: "the current period has no invoice",
        })
        .collect();
    let (planned, _) = preview(db, actor, settings, now, limit).await?;
    // A due renewal past its period's start (not merely inside the lead) is late, not upcoming.
    for p in planned {
        if p.period_start <= now && out.len() < limit {
            out.push(Missed {
                subscription_id: p.subscription_id,
                tenant_name: p.tenant_name,
                product_name: p.product_name,
                period_start: p.period_start,
                period_end: p.period_end,
                why: "the period has started and its renewal invoice was not issued",
            });
        }
    }
    Ok(out)
}

/// The bill runs' health for the ops overview (every staff member): the latest run, live
/// subscriptions past their period's end without a new one, and periods without an invoice
/// (counted up to `cap`).
pub struct Health {
    pub last_run: Option<RunRow>,
    pub lagging: i64,
    pub unbilled: usize,
    pub cap: usize,
}

pub async fn health(db: &Db, actor: &Actor, now: Timestamp, cap: usize) -> AppResult<Health> {
    if !actor.is_staff {
        return Err(AppError::Forbidden);
    }
    Ok(Health {
        last_run: store::latest(&db.pool).await?,
        lagging: subs::count_lagging(db, now).await?,
        unbilled: subs::unbilled_current_periods(db, cap as i64).await?.len(),
        cap,
    })
}
