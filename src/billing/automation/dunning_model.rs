//! The dunning schedule, pure: for an unpaid invoice's due date, today's date (by the clock)
//! and the settings, which steps are due. Each step is done once per invoice (its key is the
//! `dunning_steps` row); the service subtracts the steps already done.

use rust_decimal::{Decimal, RoundingStrategy};
use time::Date;

use super::model::{LateFee, Settings};

/// One step of dunning an invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The reminder before the due date (once, whatever the number of days).
    RemindBefore,
    /// The reminder `n` days after the due date.
    RemindAfter(i64),
    /// The late fee, added once as its own invoice.
    LateFee,
    /// The service suspended with the reason OVERDUE.
    Suspend,
    /// The subscription cancelled, its pod deleted, the open invoice voided.
    Cancel,
}

impl Step {
    /// The step's key in `dunning_steps`.
    pub fn key(self) -> String {
        match self {
            Step::RemindBefore => "REMIND_BEFORE".into(),
            Step::RemindAfter(n) => format!("REMIND_AFTER_{n}"),
            Step::LateFee => "LATE_FEE".into(),
            Step::Suspend => "SUSPEND".into(),
            Step::Cancel => "CANCEL".into(),
        }
    }

    pub fn is_reminder(self) -> bool {
        matches!(self, Step::RemindBefore | Step::RemindAfter(_))
    }
}

/// What dunning may do to an invoice, by what it bills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// Not tied to a subscription, or an order's first invoice (its payment activates, it
    /// never resumes): reminders only.
    RemindersOnly,
    /// A subscription's late fee: reminders, suspension and cancellation, no fee on a fee.
    NoFee,
    /// A subscription's renewal (or other) invoice: every step.
    Full,
}

impl Reach {
    pub fn of(subscription: bool, billing_reason: &str) -> Reach {
        match (subscription, billing_reason) {
            (false, _) | (true, "FIRST") => Reach::RemindersOnly,
            (true, LATE_FEE_REASON) => Reach::NoFee,
            (true, _) => Reach::Full,
        }
    }
}

/// The billing reason of a late fee's invoice.
pub const LATE_FEE_REASON: &str = "LATE_FEE";

/// Days from `due` to `today`: negative before the due date, 0 on it, 1 the day after.
pub fn days_overdue(due: Date, today: Date) -> i64 {
    (today - due).whole_days()
}

/// The steps due for an invoice due on `due` as of `today`, in the order they are done.
///
/// - The reminder before: from `remind_before_days` before the due date until the day
///   before it (0: none). Not sent late: once the due date has come, the overdue reminders
///   take over.
/// - Overdue reminders: only the latest one reached (an invoice first seen 14 days overdue
///   gets the 14-day reminder, not three at once).
/// - An invoice is overdue from the day after its due date; the suspension, the late fee
///   (with the suspension) and the cancellation come at their number of days overdue, at
///   least one.
/// - When the cancellation is due, it is the only step: reminding of, or adding a fee to, an
///   invoice that is voided the same moment means nothing.
pub fn due_steps(due: Date, today: Date, s: &Settings, reach: Reach) -> Vec<Step> {
    let d = days_overdue(due, today);
    let mut steps = Vec::new();
    let full = reach != Reach::RemindersOnly;
    if full && d >= s.cancel_after_days.max(1) {
        steps.push(Step::Cancel);
        return steps;
    }
    if s.remind_before_days > 0 && (-s.remind_before_days..0).contains(&d) {
        steps.push(Step::RemindBefore);
    }
    if let Some(n) = s
        .remind_after_days
        .iter()
        .copied()
        .filter(|n| d >= *n)
        .max()
    {
        steps.push(Step::RemindAfter(n));
    }
    if full && d >= s.suspend_after_days.max(1) {
        if reach == Reach::Full && s.late_fee.is_some() {
            steps.push(Step::LateFee);
        }
        steps.push(Step::Suspend);
    }
    steps
}

/// The late fee on an invoice of `total_minor` in a currency of `exponent` decimals: a
/// percent of the total, or the fixed amount in minor units; rounded once, half away from
/// zero. At least one minor unit when the fee is configured and the total positive.
pub fn late_fee_minor(fee: LateFee, total_minor: i64, exponent: u32) -> i64 {
    let amount = match fee {
        LateFee::Percent(p) => Decimal::from(total_minor) * p / Decimal::from(100),
        LateFee::Fixed(a) => a * Decimal::from(10i64.pow(exponent)),
    };
    let rounded = amount.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    i64::try_from(rounded).unwrap_or(i64::MAX).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;
    use time::macros::date;

    fn settings(before: i64, after: &str, fee: &str) -> Settings {
        Settings::new(300, 7, before, after, 7, 30, fee).unwrap()
    }

    const DUE: Date = date!(2026 - 03 - 15);

    fn on(day: Date) -> Vec<Step> {
        due_steps(DUE, day, &settings(3, "1,7,14", ""), Reach::Full)
    }

    #[test]
    fn the_reminder_before_comes_in_its_window_only() {
        assert_eq!(on(date!(2026 - 03 - 11)), vec![]);
        assert_eq!(on(date!(2026 - 03 - 12)), vec![Step::RemindBefore]);
        assert_eq!(on(date!(2026 - 03 - 14)), vec![Step::RemindBefore]);
        // on the due day nothing: not before, not yet overdue
        assert_eq!(on(DUE), vec![]);
    }

    #[test]
    fn overdue_reminders_come_from_the_day_after_and_only_the_latest() {
        assert_eq!(on(date!(2026 - 03 - 16)), vec![Step::RemindAfter(1)]);
        assert_eq!(on(date!(2026 - 03 - 21)), vec![Step::RemindAfter(1)]);
        // day 7: the 7-day reminder and the suspension
        assert_eq!(
            on(date!(2026 - 03 - 22)),
            vec![Step::RemindAfter(7), Step::Suspend]
        );
        assert_eq!(
            on(date!(2026 - 03 - 29)),
            vec![Step::RemindAfter(14), Step::Suspend]
        );
        // the day before the cancellation, and on it: only the cancellation
        assert_eq!(
            on(date!(2026 - 04 - 13)),
            vec![Step::RemindAfter(14), Step::Suspend]
        );
        assert_eq!(on(date!(2026 - 04 - 14)), vec![Step::Cancel]);
        assert_eq!(on(date!(2027 - 01 - 01)), vec![Step::Cancel]);
    }

    #[test]
    fn zeros_disable_reminders() {
        let s = settings(0, "", "");
        assert_eq!(
            due_steps(DUE, date!(2026 - 03 - 14), &s, Reach::Full),
            vec![]
        );
        assert_eq!(
            due_steps(DUE, date!(2026 - 03 - 16), &s, Reach::Full),
            vec![]
        );
        assert_eq!(
            due_steps(DUE, date!(2026 - 03 - 22), &s, Reach::Full),
            vec![Step::Suspend]
        );
        // a zero among the days only drops that one
        let s = settings(3, "0,7", "");
        assert_eq!(
            due_steps(DUE, date!(2026 - 03 - 16), &s, Reach::Full),
            vec![]
        );
    }

    #[test]
    fn a_late_fee_comes_with_the_suspension_never_on_a_fee_or_a_plain_invoice() {
        let s = settings(3, "1,7,14", "5%");
        let day7 = date!(2026 - 03 - 22);
        assert_eq!(
            due_steps(DUE, date!(2026 - 03 - 21), &s, Reach::Full),
            vec![Step::RemindAfter(1)]
        );
        assert_eq!(
            due_steps(DUE, day7, &s, Reach::Full),
            vec![Step::RemindAfter(7), Step::LateFee, Step::Suspend]
        );
        assert_eq!(
            due_steps(DUE, day7, &s, Reach::NoFee),
            vec![Step::RemindAfter(7), Step::Suspend]
        );
        assert_eq!(
            due_steps(DUE, day7, &s, Reach::RemindersOnly),
            vec![Step::RemindAfter(7)]
        );
        assert_eq!(
            due_steps(DUE, date!(2026 - 05 - 01), &s, Reach::RemindersOnly),
            vec![Step::RemindAfter(14)]
        );
    }

    #[test]
    fn zero_day_graces_still_wait_until_the_invoice_is_overdue() {
        let s = Settings::new(300, 7, 3, "1", 0, 0, "").unwrap();
        assert_eq!(due_steps(DUE, DUE, &s, Reach::Full), vec![]);
        assert_eq!(
            due_steps(DUE, date!(2026 - 03 - 16), &s, Reach::Full),
            vec![Step::Cancel]
        );
    }

    #[test]
    fn reaches_by_what_the_invoice_bills() {
        assert_eq!(Reach::of(false, ""), Reach::RemindersOnly);
        assert_eq!(Reach::of(true, "FIRST"), Reach::RemindersOnly);
        assert_eq!(Reach::of(true, "LATE_FEE"), Reach::NoFee);
        assert_eq!(Reach::of(true, "RENEWAL"), Reach::Full);
    }

    #[test]
    fn late_fees_round_once() {
        let pct = |p: &str| LateFee::Percent(Decimal::from_str(p).unwrap());
        assert_eq!(late_fee_minor(pct("5"), 1190, 2), 60); // 59.5 → 60
        assert_eq!(late_fee_minor(pct("2.5"), 1000, 2), 25);
        assert_eq!(late_fee_minor(pct("0.01"), 10, 2), 1); // never nothing
        let fixed = LateFee::Fixed(Decimal::from_str("10.00").unwrap());
        assert_eq!(late_fee_minor(fixed, 1, 2), 1000);
        assert_eq!(late_fee_minor(fixed, 1, 0), 10);
        assert_eq!(Step::RemindAfter(14).key(), "REMIND_AFTER_14");
        assert!(Step::RemindBefore.is_reminder() && !Step::Cancel.is_reminder());
    }
}
