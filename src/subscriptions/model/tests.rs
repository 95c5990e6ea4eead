use super::*;
use Event as E;
use SubscriptionStatus as S;

const EVENTS: [Event; 10] = [
    E::Activate,
    E::ActivationFails,
    E::RetryActivation,
    E::Suspend,
    E::Resume,
    E::CancelNow,
    E::CancelAtPeriodEnd,
    E::UndoCancel,
    E::PeriodEnds,
    E::Expire,
];

/// Every allowed transition, written out once; everything else must be refused.
const ALLOWED: [(SubscriptionStatus, Event, SubscriptionStatus); 13] = [
    (S::PendingActivation, E::Activate, S::Active),
    (
        S::PendingActivation,
        E::ActivationFails,
        S::ActivationFailed,
    ),
    (S::PendingActivation, E::Expire, S::Expired),
    (
        S::ActivationFailed,
        E::RetryActivation,
        S::PendingActivation,
    ),
    (S::ActivationFailed, E::CancelNow, S::Cancelled),
    (S::Active, E::Suspend, S::Suspended),
    (S::Active, E::CancelNow, S::Cancelled),
    (S::Active, E::CancelAtPeriodEnd, S::CancelAtPeriodEnd),
    (S::Suspended, E::Resume, S::Active),
    (S::Suspended, E::CancelNow, S::Cancelled),
    (S::CancelAtPeriodEnd, E::UndoCancel, S::Active),
    (S::CancelAtPeriodEnd, E::CancelNow, S::Cancelled),
    (S::CancelAtPeriodEnd, E::PeriodEnds, S::Cancelled),
];

#[test]
fn every_transition_is_allowed_or_refused_as_written() {
    let mut allowed = 0;
    for &from in S::ALL {
        for event in EVENTS {
            let expected = ALLOWED
                .iter()
                .find(|(f, e, _)| *f == from && *e == event)
                .map(|(_, _, to)| *to);
            match (from.next(event), expected) {
                (Ok(to), Some(want)) => {
                    assert_eq!(to, want, "{from:?} --{event:?}");
                    allowed += 1;
                }
                (Err(r), None) => assert_eq!(r, Refused { from, event }),
                (got, want) => panic!("{from:?} --{event:?}: got {got:?}, want {want:?}"),
            }
        }
    }
    assert_eq!(allowed, ALLOWED.len());
}

#[test]
fn final_states_refuse_everything() {
    for from in [S::Cancelled, S::Expired] {
        assert!(from.is_final());
        for event in EVENTS {
            assert!(from.next(event).is_err(), "{from:?} --{event:?}");
        }
    }
}

#[test]
fn refusals_read_as_sentences() {
    let r = S::Expired.next(E::Resume).unwrap_err();
    assert_eq!(
        r.to_string(),
        "A subscription that is expired cannot resume."
    );
    let r = S::PendingActivation.next(E::Suspend).unwrap_err();
    assert_eq!(
        r.to_string(),
        "A subscription that is pending activation cannot suspend."
    );
}

#[test]
fn status_text_round_trips() {
    for &s in S::ALL {
        assert_eq!(S::from_stored(s.as_str()).unwrap(), s);
    }
    assert!(S::from_stored("PAUSED").is_err());
}

fn at(date: &str, secs: i64) -> Timestamp {
    Timestamp::from_date(date).unwrap().plus_secs(secs)
}

#[test]
fn monthly_periods_are_anniversaries_with_month_ends_clamped() {
    let anchor = at("2027-01-31", 3_600 * 10);
    let p = |n| period_bounds(anchor, Period::Monthly, n).unwrap();
    assert_eq!(p(0), (anchor, at("2027-02-28", 36_000)));
    assert_eq!(p(1), (at("2027-02-28", 36_000), at("2027-03-31", 36_000)));
    assert_eq!(p(2).1, at("2027-04-30", 36_000));
    // leap year: Feb 29
    let anchor = at("2028-01-31", 0);
    assert_eq!(
        period_bounds(anchor, Period::Monthly, 0).unwrap().1,
        at("2028-02-29", 0)
    );
    // across a year end
    let anchor = at("2026-12-15", 0);
    assert_eq!(
        period_bounds(anchor, Period::Monthly, 0).unwrap().1,
        at("2027-01-15", 0)
    );
}

#[test]
fn yearly_and_hourly_periods() {
    let leap = at("2028-02-29", 0);
    assert_eq!(
        period_bounds(leap, Period::Yearly, 0).unwrap(),
        (leap, at("2029-02-28", 0))
    );
    // the anchor, not the clamped end, drives the next boundaries
    assert_eq!(
        period_bounds(leap, Period::Yearly, 3).unwrap(),
        (at("2031-02-28", 0), at("2032-02-29", 0))
    );
    let t = at("2026-11-30", 59);
    assert_eq!(
        period_bounds(t, Period::Hourly, 2).unwrap(),
        (t.plus_secs(7_200), t.plus_secs(10_800))
    );
    assert_eq!(
        period_bounds(t, Period::Once, 0),
        Err(PeriodError::NotRecurring)
    );
}

#[test]
fn credit_at_the_edges_of_a_period() {
    let (start, end) = period_bounds(at("2027-02-01", 0), Period::Monthly, 0).unwrap();
    let len = 28 * 86_400;
    // before or at the first second: everything back
    assert_eq!(unused_credit(1_000, start, end, start), 1_000);
    assert_eq!(
        unused_credit(1_000, start, end, start.plus_secs(-60)),
        1_000
    );
    // one second used
    assert_eq!(
        unused_credit(2_419_200, start, end, start.plus_secs(1)),
        2_419_199
    );
    // the last second: one second's worth, rounded once
    assert_eq!(unused_credit(2_419_200, start, end, end.plus_secs(-1)), 1);
    assert_eq!(unused_credit(1_000, start, end, end.plus_secs(-1)), 0);
    // at or after the end: nothing
    assert_eq!(unused_credit(1_000, start, end, end), 0);
    assert_eq!(unused_credit(1_000, start, end, end.plus_secs(3_600)), 0);
    // half-way, and a half unit rounds away from zero
    assert_eq!(
        unused_credit(1_001, start, end, start.plus_secs(len / 2)),
        501
    );
    // milliseconds inside a second do not count
    assert_eq!(
        unused_credit(2_419_200, start, end, Timestamp(start.0 + 999)),
        2_419_200
    );
}

#[test]
fn credit_on_a_leap_day_and_an_hourly_period() {
    // February 2028 has 29 days: a month paid 2,900 credits 100 per remaining day
    let (start, end) = period_bounds(at("2028-02-01", 0), Period::Monthly, 0).unwrap();
    assert_eq!(unused_credit(2_900, start, end, at("2028-02-29", 0)), 100);
    assert_eq!(unused_credit(2_900, start, end, at("2028-02-28", 0)), 200);
    // an hour paid 7 (¥7 has no minor unit): 15 minutes left → 1.75 → 2
    let (start, end) = period_bounds(at("2026-12-01", 0), Period::Hourly, 0).unwrap();
    assert_eq!(unused_credit(7, start, end, start.plus_secs(2_700)), 2);
    // 30 minutes left of 7 → 3.5 → 4 (half away from zero)
    assert_eq!(unused_credit(7, start, end, start.plus_secs(1_800)), 4);
}

#[test]
fn nothing_paid_or_an_empty_period_credits_nothing() {
    let t = at("2027-01-01", 0);
    assert_eq!(unused_credit(0, t, t.plus_secs(10), t), 0);
    assert_eq!(unused_credit(100, t, t, t), 0);
    assert_eq!(unused_credit(-5, t, t.plus_secs(10), t), 0);
}
