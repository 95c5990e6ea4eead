//! Plan changes: which way a change goes, whether the subscription may make it, and what it
//! bills for the rest of the period. Pure rules, unit-tested.
//!
//! A change at instant `t` inside the period `[start, end)` credits the unused share of the
//! old plan and charges the new plan's share of the same time, both in exact whole seconds,
//! each rounded once (half away from zero) — the arithmetic of [`super::unused_credit`].

use super::{SubscriptionStatus, unused_credit};
use crate::db::types::Timestamp;

/// Which way a plan change goes, by price for the same period and quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// The new plan costs more: the difference for the rest of the period is invoiced now,
    /// the change happens when that invoice is paid.
    Upgrade,
    /// The new plan costs the same or less: it takes effect at the next period.
    Downgrade,
}

impl ChangeKind {
    /// `old` and `new` are what one period of each plan costs (quantity × unit price).
    pub fn of(old: i64, new: i64) -> ChangeKind {
        if new > old {
            ChangeKind::Upgrade
        } else {
            ChangeKind::Downgrade
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChangeKind::Upgrade => "upgrade",
            ChangeKind::Downgrade => "downgrade",
        }
    }
}

/// What an upgrade at `at` bills: the credit for the old plan's unused time and the charge
/// for the new plan over the same time, each in minor units, rounded once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proration {
    pub credit: i64,
    pub charge: i64,
}

impl Proration {
    /// charge − credit: what the change costs for the rest of the period.
    pub fn difference(self) -> i64 {
        self.charge - self.credit
    }
}

/// The proration of a change at `at` inside `[start, end)` from a plan costing `old` per
/// period to one costing `new` (minor units). Before the period nothing is used (the whole
/// period is credited and charged); at or after its end nothing is left (zero both).
pub fn prorate(old: i64, new: i64, start: Timestamp, end: Timestamp, at: Timestamp) -> Proration {
    Proration {
        credit: unused_credit(old, start, end, at),
        charge: unused_credit(new, start, end, at),
    }
}

/// Whether a subscription in `status` may make a change of `kind`; the reason when not.
/// Upgrades need an ACTIVE subscription (a suspended one pays what it owes first); a downgrade
/// waits for the next period, so it needs one that renews (ACTIVE or SUSPENDED).
pub fn may_change(status: SubscriptionStatus, kind: ChangeKind) -> Result<(), String> {
    use SubscriptionStatus as S;
    match (status, kind) {
        (S::Active, _) | (S::Suspended, ChangeKind::Downgrade) => Ok(()),
        (S::Suspended, ChangeKind::Upgrade) => Err(
            "A suspended subscription cannot be upgraded: it must be resumed first.".to_string(),
        ),
        (S::CancelAtPeriodEnd, _) => Err(format!(
            "A subscription set to cancel at the period's end cannot {}: keep the subscription \
             first.",
            kind.label()
        )),
        (from, kind) => Err(format!(
            "A subscription that is {} cannot {}.",
            from.phrase(),
            kind.label()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::catalog::model::Period;
    use crate::subscriptions::model::period_bounds;

    /// 2026-01-01T00:00:00Z
    const JAN_1: Timestamp = Timestamp(1_767_225_600_000);

    #[test]
    fn higher_price_upgrades_same_or_lower_downgrades() {
        assert_eq!(ChangeKind::of(1999, 3999), ChangeKind::Upgrade);
        assert_eq!(ChangeKind::of(3999, 1999), ChangeKind::Downgrade);
        assert_eq!(ChangeKind::of(1999, 1999), ChangeKind::Downgrade);
    }

    #[test]
    fn at_the_first_second_the_whole_period_is_credited_and_charged() {
        let (start, end) = period_bounds(JAN_1, Period::Monthly, 0).unwrap();
        let p = prorate(1999, 3999, start, end, start);
        assert_eq!(
            p,
            Proration {
                credit: 1999,
                charge: 3999
            }
        );
        assert_eq!(p.difference(), 2000);
        // 999 ms in is still the first second: nothing used yet
        assert_eq!(prorate(1999, 3999, start, end, Timestamp(start.0 + 999)), p);
    }

    #[test]
    fn at_the_last_second_one_second_is_left() {
        // January: 31 days = 2,678,400 s; one second left of 1999 and 3999 cents is 0.0007…
        // and 0.0015 cents: both round to zero.
        let (start, end) = period_bounds(JAN_1, Period::Monthly, 0).unwrap();
        let last = end.plus_secs(-1);
        assert_eq!(
            prorate(1999, 3999, start, end, last),
            Proration {
                credit: 0,
                charge: 0
            }
        );
        // a large yearly price: 1 s of 31,536,000 s × 100,000,000 = 3.17… → 3
        let (ys, ye) = period_bounds(JAN_1, Period::Yearly, 0).unwrap();
        assert_eq!(
            prorate(100_000_000, 300_000_000, ys, ye, ye.plus_secs(-1)),
            Proration {
                credit: 3,
                charge: 10
            }
        );
        // at the end and after it nothing is left
        assert_eq!(
            prorate(1999, 3999, start, end, end),
            Proration {
                credit: 0,
                charge: 0
            }
        );
        assert_eq!(
            prorate(1999, 3999, start, end, end.plus_secs(86_400)),
            Proration {
                credit: 0,
                charge: 0
            }
        );
    }

    #[test]
    fn mid_period_exact_seconds_one_rounding_per_line() {
        let (start, end) = period_bounds(JAN_1, Period::Monthly, 0).unwrap();
        // 10 days in: 21 of 31 days left. 1999 × 21/31 = 1354.16… → 1354;
        // 3999 × 21/31 = 2709 exactly
        let at = start.plus_secs(10 * 86_400);
        let p = prorate(1999, 3999, start, end, at);
        assert_eq!(
            p,
            Proration {
                credit: 1354,
                charge: 2709
            }
        );
        assert_eq!(p.difference(), 1355);
        // half way through a 30-day April: 1999 / 2 = 999.5 → 1000 (half away from zero)
        let april = Timestamp(1_775_001_600_000); // 2026-04-01
        let (s, e) = period_bounds(april, Period::Monthly, 0).unwrap();
        let half = s.plus_secs(15 * 86_400);
        assert_eq!(
            prorate(1999, 3999, s, e, half),
            Proration {
                credit: 1000,
                charge: 2000
            }
        );
    }

    #[test]
    fn an_hourly_period_prorates_by_the_second() {
        let (start, end) = period_bounds(JAN_1, Period::Hourly, 0).unwrap();
        assert_eq!(end.0 - start.0, 3_600_000);
        // a quarter in: three quarters of 100 and 300
        let p = prorate(100, 300, start, end, start.plus_secs(900));
        assert_eq!(
            p,
            Proration {
                credit: 75,
                charge: 225
            }
        );
        // one second in: 99.97… → 100 and 299.91… → 300
        assert_eq!(
            prorate(100, 300, start, end, start.plus_secs(1)),
            Proration {
                credit: 100,
                charge: 300
            }
        );
        // the last second: 0.027… and 0.083… → 0
        assert_eq!(
            prorate(100, 300, start, end, end.plus_secs(-1)),
            Proration {
                credit: 0,
                charge: 0
            }
        );
    }

    #[test]
    fn who_may_change_what() {
        use SubscriptionStatus as S;
        assert!(may_change(S::Active, ChangeKind::Upgrade).is_ok());
        assert!(may_change(S::Active, ChangeKind::Downgrade).is_ok());
        assert!(may_change(S::Suspended, ChangeKind::Downgrade).is_ok());
        let e = may_change(S::Suspended, ChangeKind::Upgrade).unwrap_err();
        assert!(e.contains("suspended"), "{e}");
        let e = may_change(S::Cancelled, ChangeKind::Upgrade).unwrap_err();
        assert!(e.contains("cancelled") && e.contains("upgrade"), "{e}");
        assert!(may_change(S::CancelAtPeriodEnd, ChangeKind::Downgrade).is_err());
        assert!(may_change(S::PendingActivation, ChangeKind::Upgrade).is_err());
        assert!(may_change(S::Expired, ChangeKind::Downgrade).is_err());
    }
}
