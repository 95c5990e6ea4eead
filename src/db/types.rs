//! Column types shared by every feature.

use std::fmt;

use time::OffsetDateTime;
use time::macros::format_description;

/// A new UUIDv7 as text: time-ordered, so primary-key indexes stay append-mostly.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// An instant as Unix milliseconds UTC, the one representation stored in the database.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    sqlx::Type,
    serde::Serialize,
    serde::Deserialize,
)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn now() -> Timestamp {
        Timestamp((OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64)
    }

    pub fn plus_secs(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs.saturating_mul(1000)))
    }

    /// The UTC calendar date of this instant (1970-01-01 for an out-of-range one).
    pub fn date(self) -> time::Date {
        self.datetime().map_or(
            time::Date::from_julian_day(2_440_588).unwrap_or(time::Date::MIN),
            |d| d.date(),
        )
    }

    fn datetime(self) -> Option<OffsetDateTime> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000).ok()
    }

    /// `2026-11-21T18:21:07.123Z`: RFC 3339 in UTC with milliseconds, as the JSON API writes
    /// every instant.
    pub fn rfc3339(self) -> String {
        self.datetime()
            .and_then(|d| {
                d.format(format_description!(
                    "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
                ))
                .ok()
            })
            .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into())
    }

    /// Start of a calendar day (`YYYY-MM-DD`, UTC); `None` for anything else.
    pub fn from_date(date: &str) -> Option<Timestamp> {
        let d = time::Date::parse(date, format_description!("[year]-[month]-[day]")).ok()?;
        Some(Timestamp(
            (d.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000) as i64,
        ))
    }
}

impl fmt::Display for Timestamp {
    /// `2026-11-21 18:21 UTC`: what a person reads in a table.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.datetime().and_then(|d| {
            d.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        }) {
            Some(s) => f.write_str(&s),
            None => write!(f, "@{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_formats_and_parses_dates() {
        let t = Timestamp::from_date("2026-11-21").unwrap();
        assert_eq!(t.to_string(), "2026-11-21 00:00 UTC");
        assert_eq!(t.plus_secs(90).to_string(), "2026-11-21 00:01 UTC");
        assert!(Timestamp::from_date("2026-13-01").is_none());
        assert!(Timestamp::from_date("yesterday").is_none());
    }

    #[test]
    fn ids_are_time_ordered() {
        let a = new_id();
        let b = new_id();
        assert!(a < b, "{a} < {b}");
    }
}
