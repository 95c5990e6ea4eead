//! The automation's settings, checked at start-up, and its pure rules.

use rust_decimal::Decimal;
use std::str::FromStr;

use crate::config::Config;
use crate::text_enum;

text_enum!(RunStatus {
    Running => "RUNNING" / "Running",
    Completed => "COMPLETED" / "Completed",
    Failures => "FAILURES" / "Completed with failures",
});

impl RunStatus {
    pub fn of(finished: bool, failed: i64) -> RunStatus {
        match (finished, failed) {
            (false, _) => RunStatus::Running,
            (true, 0) => RunStatus::Completed,
            (true, _) => RunStatus::Failures,
        }
    }
}

/// A late fee added once to an overdue invoice.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LateFee {
    /// Percent of the invoice's total.
    Percent(Decimal),
    /// A fixed amount in the invoice's currency (major units).
    Fixed(Decimal),
}

impl LateFee {
    /// `5%`, `2.5 %` or `10.00`; empty is none.
    pub fn parse(text: &str) -> Result<Option<LateFee>, String> {
        let t = text.trim();
        if t.is_empty() {
            return Ok(None);
        }
        let bad = || {
            format!(
                "MPANEL_LATE_FEE must be a percent such as 5% or an amount such as 10.00, not {t:?}"
            )
        };
        if let Some(p) = t.strip_suffix('%') {
            let p = Decimal::from_str(p.trim()).map_err(|_| bad())?;
            if p <= Decimal::ZERO || p > Decimal::from(100) {
                return Err(
                    "MPANEL_LATE_FEE as a percent must be above 0% and at most 100%".into(),
                );
            }
            return Ok(Some(LateFee::Percent(p)));
        }
        let a = Decimal::from_str(t).map_err(|_| bad())?;
        if a <= Decimal::ZERO || a.scale() > 2 || a > Decimal::from(100_000) {
            return Err(bad());
        }
        Ok(Some(LateFee::Fixed(a)))
    }
}

/// When things happen, from the configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Seconds between scheduled bill runs; 0: none (staff start them).
    pub every_secs: u64,
    /// Days before a period that its renewal invoice is issued.
    pub lead_days: i64,
    /// Days before the due date of the reminder (0: none).
    pub remind_before_days: i64,
    /// Days after the due date of the overdue reminders (zeros dropped), ascending.
    pub remind_after_days: Vec<i64>,
    /// Days overdue at which the service is suspended.
    pub suspend_after_days: i64,
    /// Days overdue at which the subscription is cancelled.
    pub cancel_after_days: i64,
    pub late_fee: Option<LateFee>,
    /// The panel's address, for links in reminders (empty: links relative to it).
    pub base_url: String,
}

impl Settings {
    /// The settings, or why they cannot work (refused at start-up).
    pub fn from_config(c: &Config) -> anyhow::Result<Settings> {
        Settings::new(
            c.bill_run_every_secs,
            c.renewal_lead_days,
            c.dunning_remind_before_days,
            &c.dunning_remind_after_days,
            c.dunning_suspend_after_days,
            c.dunning_cancel_after_days,
            &c.late_fee,
        )
        .map(|s| Settings {
            base_url: c.base_url(),
            ..s
        })
        .map_err(|e| anyhow::anyhow!(e))
    }

    pub fn new(
        every_secs: u64,
        lead_days: i64,
        remind_before_days: i64,
        remind_after_days: &str,
        suspend_after_days: i64,
        cancel_after_days: i64,
        late_fee: &str,
    ) -> Result<Settings, String> {
        let days = |name: &str, v: i64| -> Result<i64, String> {
            if (0..=366).contains(&v) {
                Ok(v)
            } else {
                Err(format!("{name} must be between 0 and 366 days, not {v}"))
            }
        };
        let mut after = Vec::new();
        for part in remind_after_days
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let d: i64 = part.parse().map_err(|_| {
                format!(
                    "MPANEL_DUNNING_REMIND_AFTER_DAYS must be days such as 1,7,14, not {part:?}"
                )
            })?;
            if d != 0 {
                after.push(days("MPANEL_DUNNING_REMIND_AFTER_DAYS", d)?);
            }
        }
        after.sort_unstable();
        after.dedup();
        let suspend = days("MPANEL_DUNNING_SUSPEND_AFTER_DAYS", suspend_after_days)?;
        let cancel = days("MPANEL_DUNNING_CANCEL_AFTER_DAYS", cancel_after_days)?;
        if cancel < suspend {
            return Err(format!(
                "MPANEL_DUNNING_CANCEL_AFTER_DAYS ({cancel}) must not be shorter than \
                 MPANEL_DUNNING_SUSPEND_AFTER_DAYS ({suspend})"
            ));
        }
        if every_secs != 0 && every_secs < 10 {
            return Err("MPANEL_BILL_RUN_EVERY_SECS must be 0 (off) or at least 10".into());
        }
        Ok(Settings {
            every_secs,
            lead_days: days("MPANEL_RENEWAL_LEAD_DAYS", lead_days)?,
            remind_before_days: days("MPANEL_DUNNING_REMIND_BEFORE_DAYS", remind_before_days)?,
            remind_after_days: after,
            suspend_after_days: suspend,
            cancel_after_days: cancel,
            late_fee: LateFee::parse(late_fee)?,
            base_url: String::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(after: &str, suspend: i64, cancel: i64, fee: &str) -> Result<Settings, String> {
        Settings::new(300, 7, 3, after, suspend, cancel, fee)
    }

    #[test]
    fn defaults_are_accepted() {
        let s = settings("1,7,14", 7, 30, "").unwrap();
        assert_eq!(s.remind_after_days, vec![1, 7, 14]);
        assert_eq!(s.late_fee, None);
    }

    #[test]
    fn a_zero_drops_a_reminder_and_order_does_not_matter() {
        assert_eq!(
            settings("14, 0,1", 7, 30, "").unwrap().remind_after_days,
            vec![1, 14]
        );
        assert_eq!(
            settings("", 7, 30, "").unwrap().remind_after_days,
            Vec::<i64>::new()
        );
    }

    #[test]
    fn contradictions_and_out_of_range_days_are_refused() {
        assert!(
            settings("1,7", 30, 7, "")
                .unwrap_err()
                .contains("must not be shorter")
        );
        assert!(settings("-1", 7, 30, "").is_err());
        assert!(settings("x", 7, 30, "").is_err());
        assert!(Settings::new(300, -1, 3, "1", 7, 30, "").is_err());
        assert!(Settings::new(300, 7, 3, "1", -7, 30, "").is_err());
        assert!(Settings::new(5, 7, 3, "1", 7, 30, "").is_err());
        assert!(Settings::new(0, 7, 3, "1", 7, 7, "").is_ok());
    }

    #[test]
    fn late_fees_parse_as_percent_or_amount() {
        assert_eq!(
            LateFee::parse("5%").unwrap(),
            Some(LateFee::Percent(Decimal::from(5)))
        );
        assert_eq!(
            LateFee::parse(" 10.00 ").unwrap(),
            Some(LateFee::Fixed(Decimal::from_str("10.00").unwrap()))
        );
        assert_eq!(LateFee::parse("").unwrap(), None);
        for bad in ["0%", "101%", "-3", "abc", "1.234", "0"] {
            assert!(LateFee::parse(bad).is_err(), "{bad}");
        }
    }
}
