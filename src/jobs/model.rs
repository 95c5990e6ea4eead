//! Job states, the retry schedule, handler outcomes and who may see or touch jobs.

use std::fmt;
use std::time::Duration;

use crate::actor::{Actor, Role};

crate::text_enum!(JobState {
    // Waiting for a worker (possibly scheduled: `run_at` in the future).
    Available => "available" / "Waiting",
    Running => "running" / "Running",
    // Failed; runs again at `run_at`.
    Retryable => "retryable" / "Waiting to retry",
    Completed => "completed" / "Done",
    // Gave up: a permanent error, or `max_attempts` used.
    Discarded => "discarded" / "Failed",
    Cancelled => "cancelled" / "Cancelled",
});

/// available → running → completed | retryable → … | discarded | cancelled.
impl JobState {
    /// Final states never change again on their own (only a person's retry reopens them).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobState::Completed | JobState::Discarded | JobState::Cancelled
        )
    }

    /// Still to run or running: waiting, running or waiting to retry.
    pub fn is_open(self) -> bool {
        !self.is_final()
    }

    /// Cancel applies to jobs that are waiting; a running attempt is left to finish.
    pub fn can_cancel(self) -> bool {
        matches!(self, JobState::Available | JobState::Retryable)
    }

    /// "Retry now": a failed, given-up or cancelled job, or one waiting for its retry time.
    pub fn can_retry(self) -> bool {
        matches!(
            self,
            JobState::Retryable | JobState::Discarded | JobState::Cancelled
        )
    }
}

/// Why a handler did not complete. A retryable error runs the job again after the backoff
/// (until `max_attempts`); a permanent one discards it at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    Retryable(String),
    Permanent(String),
}

impl JobError {
    pub fn retry(message: impl fmt::Display) -> JobError {
        JobError::Retryable(message.to_string())
    }
    pub fn permanent(message: impl fmt::Display) -> JobError {
        JobError::Permanent(message.to_string())
    }
    pub fn message(&self) -> &str {
        match self {
            JobError::Retryable(m) | JobError::Permanent(m) => m,
        }
    }
}

impl fmt::Display for JobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// Database trouble inside a handler is usually passing: retry.
impl From<sqlx::Error> for JobError {
    fn from(e: sqlx::Error) -> JobError {
        JobError::Retryable(format!("database: {e}"))
    }
}

impl From<anyhow::Error> for JobError {
    fn from(e: anyhow::Error) -> JobError {
        JobError::Retryable(format!("{e:#}"))
    }
}

/// The state a failed attempt leads to.
pub fn after_failure(error: &JobError, attempt: i64, max_attempts: i64) -> JobState {
    match error {
        JobError::Permanent(_) => JobState::Discarded,
        JobError::Retryable(_) if attempt >= max_attempts => JobState::Discarded,
        JobError::Retryable(_) => JobState::Retryable,
    }
}

/// Delay before the next attempt after attempt `attempt` failed: `attempt⁴` seconds plus a
/// jitter of up to a tenth of that and one second, so jobs that failed together do not all
/// come back in the same instant. `unit` is a random number in [0, 1).
pub fn backoff(attempt: i64, unit: f64) -> Duration {
    // 100⁴ s is three years: past any sane max_attempts, and far from overflowing.
    let n = attempt.clamp(1, 100) as u64;
    let base_ms = n.pow(4) * 1000;
    let spread_ms = base_ms / 10 + 1000;
    let jitter_ms = (unit.clamp(0.0, 0.999_999) * spread_ms as f64) as u64;
    Duration::from_millis(base_ms + jitter_ms)
}

/// `2026-11-21 18:21:07 UTC`: job pages need seconds (the first retries come seconds apart).
pub fn precise(t: &crate::db::Timestamp) -> String {
    use time::macros::format_description;
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(t.0) * 1_000_000)
        .ok()
        .and_then(|d| {
            d.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
            ))
            .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

pub const DEFAULT_MAX_ATTEMPTS: i64 = 20;
pub const MAX_KIND: usize = 80;

/// Any staff member reads the queue.
pub fn can_view(actor: &Actor) -> bool {
    actor.is_staff
}

/// Staff ADMIN+ retry and cancel jobs.
pub fn can_manage(actor: &Actor) -> bool {
    actor.is_staff_at_least(Role::Admin)
}

/// The payload as people read it: pretty JSON with secret-looking values masked (a payload
/// may carry a token or password that staff reading the queue must not see).
pub fn display_payload(payload: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(payload) {
        Ok(mut v) => {
            redact(&mut v);
            serde_json::to_string_pretty(&v).unwrap_or_else(|_| payload.to_string())
        }
        Err(_) => payload.to_string(),
    }
}

fn redact(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let k = k.to_lowercase();
                if ["password", "secret", "token"]
                    .iter()
                    .any(|s| k.contains(s))
                {
                    *val = serde_json::Value::String("••• hidden •••".into());
                } else {
                    redact(val);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_round_trip_their_stored_text_and_know_their_rules() {
        for st in JobState::ALL {
            assert_eq!(JobState::from_stored(st.as_str()).unwrap(), *st);
            assert_eq!(st.is_open(), !st.is_final());
        }
        assert!(JobState::from_stored("paused").is_err());
        assert_eq!(JobState::Available.as_str(), "available");
        let open: Vec<_> = JobState::ALL.iter().filter(|s| s.is_open()).collect();
        assert_eq!(
            open,
            [
                &JobState::Available,
                &JobState::Running,
                &JobState::Retryable
            ]
        );
        assert!(JobState::Retryable.can_retry() && JobState::Retryable.can_cancel());
        assert!(!JobState::Running.can_retry() && !JobState::Running.can_cancel());
        assert!(JobState::Discarded.can_retry() && !JobState::Completed.can_retry());
    }

    #[test]
    fn backoff_is_attempt_to_the_fourth_plus_bounded_jitter() {
        let secs = |attempt, unit| backoff(attempt, unit).as_millis() as u64;
        // no jitter: exactly attempt⁴ seconds
        assert_eq!(secs(1, 0.0), 1_000);
        assert_eq!(secs(2, 0.0), 16_000);
        assert_eq!(secs(3, 0.0), 81_000);
        assert_eq!(secs(5, 0.0), 625_000);
        assert_eq!(secs(10, 0.0), 10_000_000);
        // jitter stays below a tenth of the base plus one second
        assert!(secs(1, 0.999) < 1_000 + 1_100);
        assert!(secs(2, 0.5) > 16_000 && secs(2, 0.5) < 16_000 + 2_600);
        assert!(secs(10, 0.999) < 10_000_000 + 1_001_000);
        // nonsense input stays sane
        assert_eq!(secs(0, 0.0), 1_000);
        assert_eq!(secs(-3, -1.0), 1_000);
        assert!(secs(i64::MAX, 2.0) < 110_000_000_000_000);
        // the schedule grows
        let schedule: Vec<u64> = (1..=8).map(|a| secs(a, 0.5)).collect();
        assert!(schedule.windows(2).all(|w| w[0] < w[1]), "{schedule:?}");
    }

    #[test]
    fn failures_retry_until_max_attempts_and_permanent_errors_discard() {
        let retry = JobError::retry("timeout");
        assert_eq!(after_failure(&retry, 1, 3), JobState::Retryable);
        assert_eq!(after_failure(&retry, 2, 3), JobState::Retryable);
        assert_eq!(after_failure(&retry, 3, 3), JobState::Discarded);
        assert_eq!(
            after_failure(&JobError::permanent("bad payload"), 1, 3),
            JobState::Discarded
        );
    }

    #[test]
    fn states_parse_and_allow_the_right_actions() {
        for s in JobState::ALL {
            assert_eq!(JobState::parse(s.as_str()), Some(*s));
        }
        assert_eq!(JobState::parse("paused"), None);
        assert!(JobState::Available.can_cancel() && JobState::Retryable.can_cancel());
        assert!(!JobState::Running.can_cancel() && !JobState::Completed.can_cancel());
        assert!(JobState::Discarded.can_retry() && JobState::Cancelled.can_retry());
        assert!(!JobState::Completed.can_retry() && !JobState::Running.can_retry());
        assert!(JobState::Completed.is_final() && !JobState::Retryable.is_final());
    }

    #[test]
    fn precise_times_show_seconds() {
        let t = crate::db::Timestamp::from_date("2026-11-21")
            .unwrap()
            .plus_secs(67);
        assert_eq!(precise(&t), "2026-11-21 00:01:07 UTC");
    }

    #[test]
    fn payload_display_hides_secrets() {
        let shown =
            display_payload(r#"{"to":"a@b.test","api_token":"s3cr3t","n":[{"Password":"x"}]}"#);
        assert!(shown.contains("a@b.test"));
        assert!(!shown.contains("s3cr3t") && !shown.contains("\"x\""));
        assert_eq!(display_payload("not json"), "not json");
    }
}
