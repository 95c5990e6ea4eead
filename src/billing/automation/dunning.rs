//! Dunning, run by each bill run after the periods: for every issued invoice with something
//! due, the steps its schedule says are due (`dunning_model::due_steps`) and not yet done.
//! Each step is done once per invoice: its `dunning_steps` row is inserted in the same
//! transaction as the step itself, so a second worker or a re-run finds the row and does
//! nothing, and a step that fails leaves no row (the next run tries again).
//!
//! Reminders go to the tenant's billing e-mail through the mail queue. A subscription's
//! invoice can also suspend it (reason OVERDUE), add a late fee (its own invoice: an issued
//! invoice is frozen) and, after the second grace, cancel it (no credit, the pod deleted) and
//! void its unpaid invoices. Paying resumes it (the subscriptions feature, on
//! `subscription.invoice_paid`).

use time::Date;
use time::macros::format_description;

use super::dunning_model::{LATE_FEE_REASON, Reach, Step, days_overdue, due_steps, late_fee_minor};
use super::dunning_store::{self as store, DunningRow};
use super::model::Settings;
use super::service::RunCounts;
use crate::actor::ClientInfo;
use crate::audit::{self, AuditActor, AuditEvent};
use crate::billing::invoices::service::{self as invoices, LateFeeInvoice};
use crate::billing::money;
use crate::db::{Db, TenantScope, Timestamp, Tx};
use crate::subscriptions::service as subs;
use crate::web::{AppError, AppResult};

/// Invoices read per page.
const PAGE: i64 = 500;

fn system(tenant_id: &str) -> AuditActor<'_> {
    static CLIENT: std::sync::LazyLock<ClientInfo> = std::sync::LazyLock::new(ClientInfo::default);
    AuditActor {
        tenant_id: Some(tenant_id),
        user_id: None,
        email: "system",
        client: &CLIENT,
    }
}

fn label(row: &DunningRow) -> &str {
    row.number.as_deref().unwrap_or(&row.id)
}

/// Dunning as of `now` (the bill run's clock): counts each step done, records failures.
pub async fn run(db: &Db, settings: &Settings, now: Timestamp, c: &mut RunCounts) -> AppResult<()> {
    let today = now.date();
    // the reminder before the due date reaches this far ahead
    let until = today
        .checked_add(time::Duration::days(settings.remind_before_days))
        .unwrap_or(today)
        .to_string();
    let mut after: Option<(String, String)> = None;
    loop {
        let page = store::work(
            &db.pool,
            &until,
            after.as_ref().map(|(d, id)| (d.as_str(), id.as_str())),
            PAGE,
        )
        .await?;
        for row in &page {
            if let Err(e) = one_invoice(db, settings, now, today, row, c).await {
                c.fail(&format!("invoice {}", label(row)), &e);
            }
        }
        match page.last() {
            Some(last) if page.len() as i64 == PAGE => {
                after = Some((last.due_date.clone(), last.id.clone()));
            }
            _ => return Ok(()),
        }
    }
}

async fn one_invoice(
    db: &Db,
    settings: &Settings,
    now: Timestamp,
    today: Date,
    row: &DunningRow,
    c: &mut RunCounts,
) -> AppResult<()> {
    let due = Date::parse(&row.due_date, format_description!("[year]-[month]-[day]"))
        .map_err(|e| AppError::Internal(anyhow::anyhow!("due date {:?}: {e}", row.due_date)))?;
    let reach = Reach::of(row.subscription_id.is_some(), &row.billing_reason);
    let steps = due_steps(due, today, settings, reach);
    if steps.is_empty() {
        return Ok(());
    }
    let done = store::done(&db.pool, &row.id).await?;
    for step in steps {
        if done.contains(&step.key()) {
            continue;
        }
        if do_step(db, settings, now, due, row, step).await? {
            c.dunning_steps += 1;
        }
    }
    Ok(())
}

/// One step in one transaction with its row. `false` when someone else did it meanwhile or
/// the invoice was paid meanwhile.
async fn do_step(
    db: &Db,
    settings: &Settings,
    now: Timestamp,
    due: Date,
    row: &DunningRow,
    step: Step,
) -> AppResult<bool> {
    let mut tx = db.begin_write().await?;
    if store::claim(&mut tx, &row.id, &step.key(), now).await? == 0 {
        return Ok(false);
    }
    if !store::still_due(&mut tx, &row.id).await? {
        return Ok(false);
    }
    match step {
        Step::RemindBefore | Step::RemindAfter(_) => {
            remind(&mut tx, settings, now.date(), due, row).await?;
        }
        Step::LateFee => late_fee(&mut tx, db, settings, now, row).await?,
        Step::Suspend => {
            if let Some(sub) = &row.subscription_id {
                // not active (a staff suspension, cancelled): nothing to do, and done
                subs::suspend_overdue_in(&mut tx, db, sub, label(row)).await?;
            }
        }
        Step::Cancel => {
            if let Some(sub) = &row.subscription_id {
                cancel(&mut tx, db, now, sub, row).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(true)
}

async fn remind(
    tx: &mut Tx,
    settings: &Settings,
    today: Date,
    due: Date,
    row: &DunningRow,
) -> AppResult<()> {
    let buyer = crate::auth::store::get_tenant(&mut **tx, &TenantScope::All, &row.tenant_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let seller = crate::auth::store::operator_tenant(tx)
        .await?
        .map(|t| t.name)
        .unwrap_or_default();
    let number = label(row);
    let amount = money::format_money(row.due_minor, &row.currency);
    let link = format!("{}/billing/invoices/{}", settings.base_url, row.id);
    let late = days_overdue(due, today);
    let (subject, when) = if late > 0 {
        (
            format!("Overdue: invoice {number} ({amount})"),
            format!(
                "was due on {due} and is {late} day{} overdue",
                if late == 1 { "" } else { "s" }
            ),
        )
    } else {
        (
            format!("Reminder: invoice {number} is due on {due}"),
            format!("is due on {due}"),
        )
    };
    let mut body = format!(
        "Hello {},\n\n{amount} of invoice {number} of {} {when}.\n\nSee and pay it at {link}\n",
        buyer.name, row.issue_date
    );
    if Reach::of(row.subscription_id.is_some(), &row.billing_reason) != Reach::RemindersOnly {
        let suspend = due
            .checked_add(time::Duration::days(settings.suspend_after_days.max(1)))
            .unwrap_or(due);
        if today < suspend {
            body.push_str(&format!(
                "\nIf it is not paid by {suspend}, the service it bills is suspended until it is.\n"
            ));
        }
    }
    body.push_str(&format!("\n{seller}\n"));
    let mail = crate::mail::OutgoingMail {
        to: format!(
            "{} <{}>",
            buyer.name.replace(['<', '>', '"', ',', ';'], " "),
            buyer.billing_email
        ),
        subject: subject.clone(),
        text_body: body,
        ..crate::mail::OutgoingMail::default()
    };
    crate::mail::enqueue(tx, &mail).await?;
    audit::record(
        &mut *tx,
        system(&row.tenant_id),
        AuditEvent {
            tenant_id: Some(&row.tenant_id),
            action: "invoice.reminder_sent",
            target_type: "invoice",
            target_id: &row.id,
            summary: format!("Reminder sent to {}: {subject}", buyer.billing_email),
        },
    )
    .await?;
    Ok(())
}

async fn late_fee(
    tx: &mut Tx,
    db: &Db,
    settings: &Settings,
    now: Timestamp,
    row: &DunningRow,
) -> AppResult<()> {
    let (Some(fee), Some(sub)) = (settings.late_fee, &row.subscription_id) else {
        return Ok(());
    };
    let exponent = crate::money::currency(&row.currency)
        .map(|c| c.exponent)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("currency {}", row.currency)))?;
    let amount = late_fee_minor(fee, row.total_minor, exponent);
    let (_, issued) = invoices::issue_late_fee_in(
        tx,
        db,
        system(&row.tenant_id),
        &LateFeeInvoice {
            tenant_id: &row.tenant_id,
            currency: &row.currency,
            subscription_id: sub,
            period: row.period_start.zip(row.period_end),
            reason: LATE_FEE_REASON,
            description: format!("Late fee for invoice {}", label(row)),
            amount_minor: amount,
            issued_on: now.date(),
        },
    )
    .await?;
    tracing::info!(invoice = %row.id, fee = %issued.number, "late fee issued");
    Ok(())
}

async fn cancel(
    tx: &mut Tx,
    db: &Db,
    now: Timestamp,
    sub: &str,
    row: &DunningRow,
) -> AppResult<()> {
    let cancelled = subs::cancel_overdue_in(tx, db, sub, label(row), now).await?;
    let why = format!("invoice {} was not paid", label(row));
    // cancelled now: none of its unpaid invoices is delivered (a later period's renewal, a
    // late fee); already ended before: only this invoice
    let ids = if cancelled.is_some() {
        store::unpaid_of_subscription(tx, sub).await?
    } else {
        vec![row.id.clone()]
    };
    for id in ids {
        invoices::close_unpaid_in(tx, db, system(&row.tenant_id), &id, &why).await?;
    }
    Ok(())
}
