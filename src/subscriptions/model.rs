//! Subscriptions: the status machine, the billing periods (anniversary billing, month ends
//! clamped) and the credit for cancelling part-way through a paid period. Pure rules only.

use rust_decimal::{Decimal, RoundingStrategy};
use time::{Date, Month, OffsetDateTime};

use crate::billing::catalog::model::Period;
use crate::db::types::Timestamp;
use crate::text_enum;

pub mod proration;
pub mod usage;

text_enum!(SubscriptionStatus {
    PendingActivation => "PENDING_ACTIVATION" / "Pending activation",
    Active => "ACTIVE" / "Active",
    Suspended => "SUSPENDED" / "Suspended",
    CancelAtPeriodEnd => "CANCEL_AT_PERIOD_END" / "Cancels at period end",
    Cancelled => "CANCELLED" / "Cancelled",
    Expired => "EXPIRED" / "Expired",
    ActivationFailed => "ACTIVATION_FAILED" / "Activation failed",
});

text_enum!(SuspendReason {
    NotSuspended => "" / "Not suspended",
    Staff => "STAFF" / "Suspended by staff",
    Overdue => "OVERDUE" / "Suspended for an overdue invoice",
});

/// What can happen to a subscription. Each is one audited change on its timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// The first invoice is paid (or nothing was due) and the service is up.
    Activate,
    /// Provisioning the service failed; the reason is kept on the subscription.
    ActivationFails,
    /// Staff retry a failed activation.
    RetryActivation,
    /// Staff suspend (with a reason).
    Suspend,
    /// Staff resume a suspended subscription.
    Resume,
    /// Cancel now: the unused, paid part of the period is credited.
    CancelNow,
    /// Stop renewing; the service runs until the period ends.
    CancelAtPeriodEnd,
    /// Undo a cancel-at-period-end before the period ends.
    UndoCancel,
    /// The period of a cancel-at-period-end subscription has ended.
    PeriodEnds,
    /// The first invoice stayed unpaid past the order's expiry.
    Expire,
}

impl Event {
    pub fn label(self) -> &'static str {
        match self {
            Event::Activate => "activate",
            Event::ActivationFails => "record a failed activation",
            Event::RetryActivation => "retry the activation",
            Event::Suspend => "suspend",
            Event::Resume => "resume",
            Event::CancelNow => "cancel now",
            Event::CancelAtPeriodEnd => "cancel at period end",
            Event::UndoCancel => "keep the subscription",
            Event::PeriodEnds => "end the period",
            Event::Expire => "expire the order",
        }
    }
}

/// A transition the machine refuses, with words for the person who asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("A subscription that is {} cannot {}.", .from.phrase(), .event.label())]
pub struct Refused {
    pub from: SubscriptionStatus,
    pub event: Event,
}

impl SubscriptionStatus {
    /// The whole machine:
    ///
    /// ```text
    /// PENDING_ACTIVATION → ACTIVE | ACTIVATION_FAILED | EXPIRED
    /// ACTIVATION_FAILED  → PENDING_ACTIVATION (retry) | CANCELLED
    /// ACTIVE             → SUSPENDED | CANCELLED | CANCEL_AT_PERIOD_END
    /// SUSPENDED          → ACTIVE | CANCELLED
    /// CANCEL_AT_PERIOD_END → ACTIVE (undo) | CANCELLED (now, or when the period ends)
    /// CANCELLED, EXPIRED: final
    /// ```
    pub fn next(self, event: Event) -> Result<SubscriptionStatus, Refused> {
        use Event as E;
        use SubscriptionStatus as S;
        let to = match (self, event) {
            (S::PendingActivation, E::Activate) => S::Active,
            (S::PendingActivation, E::ActivationFails) => S::ActivationFailed,
            (S::PendingActivation, E::Expire) => S::Expired,
            (S::ActivationFailed, E::RetryActivation) => S::PendingActivation,
            (S::ActivationFailed, E::CancelNow) => S::Cancelled,
            (S::Active, E::Suspend) => S::Suspended,
            (S::Active, E::CancelNow) => S::Cancelled,
            (S::Active, E::CancelAtPeriodEnd) => S::CancelAtPeriodEnd,
            (S::Suspended, E::Resume) => S::Active,
            (S::Suspended, E::CancelNow) => S::Cancelled,
            (S::CancelAtPeriodEnd, E::UndoCancel) => S::Active,
            (S::CancelAtPeriodEnd, E::CancelNow) => S::Cancelled,
            (S::CancelAtPeriodEnd, E::PeriodEnds) => S::Cancelled,
            (from, event) => return Err(Refused { from, event }),
        };
        Ok(to)
    }

    /// The status as it reads after "a subscription that is …".
    pub fn phrase(self) -> &'static str {
        match self {
            SubscriptionStatus::PendingActivation => "pending activation",
            SubscriptionStatus::Active => "active",
            SubscriptionStatus::Suspended => "suspended",
            SubscriptionStatus::CancelAtPeriodEnd => "set to cancel at the period's end",
            SubscriptionStatus::Cancelled => "cancelled",
            SubscriptionStatus::Expired => "expired",
            SubscriptionStatus::ActivationFailed => "waiting for a retry of its failed activation",
        }
    }

    pub fn can(self, event: Event) -> bool {
        self.next(event).is_ok()
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Cancelled | SubscriptionStatus::Expired
        )
    }

    /// The service is delivered (renewals are billed) in these states.
    pub fn is_live(self) -> bool {
        matches!(
            self,
            SubscriptionStatus::Active
                | SubscriptionStatus::Suspended
                | SubscriptionStatus::CancelAtPeriodEnd
        )
    }

    pub fn can_suspend(self) -> bool {
        self.can(Event::Suspend)
    }
    pub fn can_resume(self) -> bool {
        self.can(Event::Resume)
    }
    pub fn can_cancel_now(self) -> bool {
        self.can(Event::CancelNow)
    }
    pub fn can_cancel_at_period_end(self) -> bool {
        self.can(Event::CancelAtPeriodEnd)
    }
    pub fn can_undo_cancel(self) -> bool {
        self.can(Event::UndoCancel)
    }
    pub fn can_retry(self) -> bool {
        self.can(Event::RetryActivation)
    }

    /// Badge tone for the status helper.
    pub fn tone(self) -> &'static str {
        match self {
            SubscriptionStatus::Active => "ok",
            SubscriptionStatus::PendingActivation | SubscriptionStatus::CancelAtPeriodEnd => "info",
            SubscriptionStatus::Suspended => "warn",
            SubscriptionStatus::ActivationFailed => "bad",
            SubscriptionStatus::Cancelled | SubscriptionStatus::Expired => "muted",
        }
    }
}

impl SuspendReason {
    /// A subscription in `status` suspended for this reason waits for an overdue invoice to
    /// be paid (and resumes by itself when it is).
    pub fn waits_for_payment(self, status: SubscriptionStatus) -> bool {
        status == SubscriptionStatus::Suspended && self == SuspendReason::Overdue
    }
}

/// A recurring period could not be computed (a `ONCE` price, or a date past year 9999).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("a one-time price has no billing period")]
    NotRecurring,
    #[error("the period ends beyond the supported calendar")]
    OutOfRange,
}

fn to_datetime(t: Timestamp) -> Result<OffsetDateTime, PeriodError> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
        .map_err(|_| PeriodError::OutOfRange)
}

fn from_datetime(d: OffsetDateTime) -> Timestamp {
    Timestamp((d.unix_timestamp_nanos() / 1_000_000) as i64)
}

/// `anchor` plus `months` calendar months, the day clamped to the target month's last day
/// (Jan 31 + 1 month = Feb 28/29), the time of day kept.
fn add_months(anchor: OffsetDateTime, months: i64) -> Result<OffsetDateTime, PeriodError> {
    let total = i64::from(anchor.year()) * 12 + i64::from(anchor.month() as u8 - 1) + months;
    let year = i32::try_from(total.div_euclid(12)).map_err(|_| PeriodError::OutOfRange)?;
    let month =
        Month::try_from((total.rem_euclid(12) + 1) as u8).map_err(|_| PeriodError::OutOfRange)?;
    let day = anchor.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).map_err(|_| PeriodError::OutOfRange)?;
    Ok(anchor.replace_date(date))
}

/// The `n`-th period (0 = the first) of a subscription billed from `anchor`, as
/// `[start, end)`. Anniversary billing: every boundary is computed from the anchor, so a
/// subscription started on Jan 31 renews on Feb 28, then Mar 31 (not Mar 28).
pub fn period_bounds(
    anchor: Timestamp,
    period: Period,
    n: i64,
) -> Result<(Timestamp, Timestamp), PeriodError> {
    let at = |k: i64| -> Result<Timestamp, PeriodError> {
        match period {
            Period::Once => Err(PeriodError::NotRecurring),
            Period::Hourly => k
                .checked_mul(3_600_000)
                .and_then(|ms| anchor.0.checked_add(ms))
                .map(Timestamp)
                .ok_or(PeriodError::OutOfRange),
            Period::Monthly => Ok(from_datetime(add_months(to_datetime(anchor)?, k)?)),
            Period::Yearly => Ok(from_datetime(add_months(
                to_datetime(anchor)?,
                k.checked_mul(12).ok_or(PeriodError::OutOfRange)?,
            )?)),
        }
    };
    Ok((at(n)?, at(n + 1)?))
}

/// The credit for cancelling at `now` a period `[start, end)` paid with `paid` minor units:
/// the unused share in whole seconds, `paid × unused / length`, rounded once, half away from
/// zero. Nothing before the period starts is "used"; nothing is owed back after it ends.
pub fn unused_credit(paid: i64, start: Timestamp, end: Timestamp, now: Timestamp) -> i64 {
    let secs = |t: Timestamp| t.0.div_euclid(1000);
    let (start, end, now) = (secs(start), secs(end), secs(now));
    let length = end - start;
    if length <= 0 || paid <= 0 {
        return 0;
    }
    let unused = (end - now.max(start)).clamp(0, length);
    let (paid, unused, length) = (
        Decimal::from(paid),
        Decimal::from(unused),
        Decimal::from(length),
    );
    // multiply first (exact); amounts are bounded far below where this could overflow, but
    // if it ever did, the ratio first is still correct to 28 significant digits
    let credit = paid
        .checked_mul(unused)
        .map(|x| x / length)
        .unwrap_or_else(|| paid * (unused / length));
    let rounded = credit.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).expect("a credit is never more than the amount paid")
}

#[cfg(test)]
mod tests;
