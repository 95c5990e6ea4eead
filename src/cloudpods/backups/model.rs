//! Backup policies and runs: the schedule's slots, the window a successful backup must fall
//! in, who may change a policy, and the form's rules. Pure; unit-tested.

use crate::actor::{Actor, Role};
use crate::text_enum;
use crate::web::FieldErrors;

text_enum!(Frequency {
    Daily => "DAILY" / "Daily",
    Weekly => "WEEKLY" / "Weekly",
});

text_enum!(RunStatus {
    Running => "RUNNING" / "Running",
    Succeeded => "SUCCEEDED" / "Succeeded",
    Failed => "FAILED" / "Failed",
});

pub const DAY_MS: i64 = 86_400_000;
/// 1970-01-01 was a Thursday: weekly slots start on Mondays, 00:00 UTC.
const MONDAY_OFFSET_MS: i64 = 4 * DAY_MS;
/// Copies kept: at least one, at most this.
pub const MAX_RETENTION: i64 = 100;

/// The job that runs one slot of one pod's policy.
pub const BACKUP_KIND: &str = "cloudpod.backup";

impl Frequency {
    pub fn period_ms(self) -> i64 {
        match self {
            Frequency::Daily => DAY_MS,
            Frequency::Weekly => 7 * DAY_MS,
        }
    }

    /// Start of the slot `at` falls in (UTC days; weeks from Monday).
    pub fn slot_of(self, at: i64) -> i64 {
        let offset = match self {
            Frequency::Daily => 0,
            Frequency::Weekly => MONDAY_OFFSET_MS,
        };
        (at - offset).div_euclid(self.period_ms()) * self.period_ms() + offset
    }

    /// Start of the slot after the one `at` falls in.
    pub fn next_slot(self, at: i64) -> i64 {
        self.slot_of(at) + self.period_ms()
    }

    /// Where a pod's last successful backup must have finished for it to count as backed up
    /// at `now`: the start of the previous slot (one slot may still be running).
    pub fn window_start(self, now: i64) -> i64 {
        self.slot_of(now) - self.period_ms()
    }
}

/// Whether a pod lacks a successful backup in its policy's window at `now`. A policy made
/// after the window began has had no full slot yet and is not counted.
pub fn overdue(
    frequency: Frequency,
    policy_created: i64,
    last_success: Option<i64>,
    now: i64,
) -> bool {
    let start = frequency.window_start(now);
    policy_created <= start && last_success.is_none_or(|at| at < start)
}

/// Who may change a pod's policy: the customer's ADMIN+ on their own pods, staff ADMIN+.
/// Why no backup is made, as the actor is told: staff get the driver's reason, customers a
/// sentence without the platform's internals.
pub fn unsupported_for(actor: &Actor, why: Option<String>) -> Option<String> {
    why.map(|why| {
        if actor.is_staff {
            why
        } else {
            "Automatic backups are not available on this platform yet, so none are made for \
             this pod."
                .to_string()
        }
    })
}

pub fn can_edit_policy(actor: &Actor) -> bool {
    actor.at_least(Role::Admin)
}

/// A validated policy form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolicyValues {
    pub frequency: Frequency,
    pub retention: i64,
}

/// Checks the form: a known frequency and 1 ..= 100 copies.
pub fn check_policy(frequency: &str, retention: &str) -> Result<PolicyValues, FieldErrors> {
    let mut e = FieldErrors::new();
    let f = Frequency::parse(frequency.trim());
    if f.is_none() {
        e.add("frequency", "Choose daily or weekly.");
    }
    let r = match retention.trim().parse::<i64>() {
        Ok(n) if (1..=MAX_RETENTION).contains(&n) => Some(n),
        _ => {
            e.add(
                "retention",
                format!("Keep a whole number of backups from 1 to {MAX_RETENTION}."),
            );
            None
        }
    };
    match (f, r) {
        (Some(frequency), Some(retention)) => Ok(PolicyValues {
            frequency,
            retention,
        }),
        _ => Err(e),
    }
}

/// `1.5 GiB`, `300 MiB`, `12 KiB`, `900 B`.
pub fn size_words(bytes: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_utc_days_and_monday_weeks() {
        // 2026-11-30 is a Monday; 12:00 UTC.
        let monday_noon = 1_795_996_800_000 + 12 * 3_600_000;
        let monday = Frequency::Daily.slot_of(monday_noon);
        assert_eq!(monday % DAY_MS, 0);
        assert_eq!(Frequency::Weekly.slot_of(monday_noon), monday);
        assert_eq!(Frequency::Weekly.slot_of(monday + 6 * DAY_MS + 1), monday);
        assert_eq!(Frequency::Weekly.next_slot(monday), monday + 7 * DAY_MS);
        assert_eq!(Frequency::Daily.next_slot(monday_noon), monday + DAY_MS);
        assert_eq!(Frequency::Daily.window_start(monday_noon), monday - DAY_MS);
    }

    #[test]
    fn overdue_needs_a_success_since_the_previous_slot() {
        let now = 10 * DAY_MS + 5;
        let start = 9 * DAY_MS;
        assert!(overdue(Frequency::Daily, 0, None, now));
        assert!(overdue(Frequency::Daily, 0, Some(start - 1), now));
        assert!(!overdue(Frequency::Daily, 0, Some(start), now));
        // made after the window began: not yet expected
        assert!(!overdue(Frequency::Daily, start + 1, None, now));
    }

    #[test]
    fn the_form_wants_a_frequency_and_a_count() {
        assert_eq!(
            check_policy("WEEKLY", " 4 "),
            Ok(PolicyValues {
                frequency: Frequency::Weekly,
                retention: 4
            })
        );
        let e = check_policy("HOURLY", "0").unwrap_err();
        assert!(e.has("frequency") && e.has("retention"));
        assert!(check_policy("DAILY", "101").unwrap_err().has("retention"));
    }

    #[test]
    fn sizes_read_in_binary_units() {
        assert_eq!(size_words(900), "900 B");
        assert_eq!(size_words(1_610_612_736), "1.5 GiB");
    }
}
