//! The one clock every schedule reads: renewals, trial ends, order expiry, dunning. The panel
//! runs on the system clock; tests run on a movable one they advance through a year of
//! renewals in seconds. Nothing a person can reach (pages, API, CLI, settings) moves it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::db::Timestamp;

#[derive(Clone, Debug, Default)]
pub struct Clock {
    /// Milliseconds added to the system time; `None` on the system clock, which cannot move.
    offset_ms: Option<Arc<AtomicI64>>,
}

impl Clock {
    /// The system clock (the panel's).
    pub fn system() -> Clock {
        Clock { offset_ms: None }
    }

    /// A clock that starts at the system time and moves only forward when told: for tests.
    pub fn movable() -> Clock {
        Clock {
            offset_ms: Some(Arc::new(AtomicI64::new(0))),
        }
    }

    pub fn now(&self) -> Timestamp {
        let offset = self
            .offset_ms
            .as_ref()
            .map_or(0, |o| o.load(Ordering::SeqCst));
        Timestamp(Timestamp::now().0.saturating_add(offset))
    }

    /// The current UTC date by this clock.
    pub fn today(&self) -> time::Date {
        self.now().date()
    }

    /// Moves a movable clock `secs` seconds forward (never back). Panics on the system clock:
    /// a test that believes it moved time when it did not would pass for the wrong reason.
    pub fn advance(&self, secs: i64) {
        let offset = self
            .offset_ms
            .as_ref()
            .expect("only a movable clock can be advanced");
        offset.fetch_add(secs.max(0).saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves a movable clock forward to `at` (nothing if `at` is already past).
    pub fn advance_to(&self, at: Timestamp) {
        let ahead = at.0 - self.now().0;
        if ahead > 0 {
            self.offset_ms
                .as_ref()
                .expect("only a movable clock can be advanced")
                .fetch_add(ahead, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_movable_clock_moves_forward_only() {
        let c = Clock::movable();
        let before = c.now();
        c.advance(86_400);
        assert!(c.now().0 - before.0 >= 86_400_000);
        let after = c.now();
        c.advance(-1_000);
        assert!(c.now() >= after, "never back");
        c.advance_to(Timestamp(after.0 - 5_000));
        assert!(c.now() >= after);
        c.advance_to(after.plus_secs(3_600));
        assert!(c.now() >= after.plus_secs(3_600));
    }

    #[test]
    #[should_panic(expected = "only a movable clock")]
    fn the_system_clock_cannot_be_moved() {
        Clock::system().advance(1);
    }

    #[test]
    fn clones_share_one_time() {
        let c = Clock::movable();
        let d = c.clone();
        c.advance(3_600);
        assert!((d.now().0 - c.now().0).abs() < 1_000);
    }
}
