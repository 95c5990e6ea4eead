//! Metered usage: what one usage record may say (a whole quantity within bounds, a metric, a
//! time inside the open period and not in the future, a client transaction id), and how a
//! period's usage of one product becomes an invoice line (a unit price, or the catalog's
//! graduated/volume tiers). Pure.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

use crate::billing::catalog::model::{BillingModel, PricingError, Tier, TierMode, tiered_charge};
use crate::db::Timestamp;

/// The largest quantity one record may carry: anything above is a client's bug.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000;
/// How far ahead of the clock a record's time may be (clients' clocks drift a little).
pub const MAX_AHEAD_SECS: i64 = 300;
/// The longest client transaction id.
pub const MAX_TXN_ID: usize = 100;

/// Whether a product of this billing model is priced by usage (never a flat period price).
pub fn is_metered(model: BillingModel) -> bool {
    matches!(model, BillingModel::UsageBased | BillingModel::UsageTiered)
}

/// A whole number of units from 1 to [`MAX_QUANTITY`].
pub fn parse_quantity(raw: &str) -> Result<i64, String> {
    let raw = raw.trim().replace('_', "");
    match raw.parse::<i64>() {
        Ok(n) if n <= 0 => {
            Err("Use a quantity of at least 1: zero and negative usage is never recorded.".into())
        }
        Ok(n) if n > MAX_QUANTITY => Err(format!(
            "A quantity above {MAX_QUANTITY} in one record is not plausible; send it in smaller records."
        )),
        Ok(n) => Ok(n),
        Err(_) if raw.starts_with('-') && raw[1..].chars().all(|c| c.is_ascii_digit()) => {
            Err("Use a quantity of at least 1: zero and negative usage is never recorded.".into())
        }
        Err(_) if !raw.is_empty() && raw.chars().all(|c| c.is_ascii_digit()) => Err(format!(
            "A quantity above {MAX_QUANTITY} in one record is not plausible; send it in smaller records."
        )),
        Err(_) => Err("Use a whole number of units, e.g. 250.".into()),
    }
}

/// The record's time: empty is `now`; else RFC 3339 (`2026-11-30T18:00:00Z`), or a
/// `YYYY-MM-DDTHH:MM[:SS]` time read as UTC (what a datetime-local field sends).
pub fn parse_at(raw: &str, now: Timestamp) -> Result<Timestamp, String> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(now);
    }
    let parsed = OffsetDateTime::parse(raw, &Rfc3339).ok().or_else(|| {
        let local = time::PrimitiveDateTime::parse(
            raw,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
        .or_else(|_| {
            time::PrimitiveDateTime::parse(
                raw,
                format_description!("[year]-[month]-[day]T[hour]:[minute]"),
            )
        })
        .ok()?;
        Some(local.assume_utc())
    });
    parsed
        .map(|d| Timestamp((d.unix_timestamp_nanos() / 1_000_000) as i64))
        .ok_or_else(|| {
            "Use a time such as 2026-11-30T18:00:00Z (RFC 3339, UTC if no offset), or leave it \
             empty for now."
                .to_string()
        })
}

/// A client transaction id: 1 to [`MAX_TXN_ID`] visible characters, no spaces.
pub fn parse_txn_id(raw: &str) -> Result<String, String> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(
            "Give the client transaction id: a repeat with the same id records nothing twice."
                .into(),
        );
    }
    if id.chars().count() > MAX_TXN_ID || id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "Use at most {MAX_TXN_ID} characters without spaces for the transaction id."
        ));
    }
    Ok(id.to_string())
}

/// Why a record at `at` cannot be accepted for the open period `[start, end)` at `now`:
/// before the period starts (that period is invoiced already), more than five minutes
/// ahead of the clock, or after the end of a period the subscription ends with.
pub fn time_problem(
    at: Timestamp,
    (start, end): (Timestamp, Timestamp),
    ends_with_period: bool,
    now: Timestamp,
) -> Option<String> {
    if at < start {
        return Some(format!(
            "This time falls in a period already invoiced: the open period started {start}."
        ));
    }
    if at > now.plus_secs(MAX_AHEAD_SECS) {
        return Some(format!(
            "This time is more than {} minutes in the future (now is {now}).",
            MAX_AHEAD_SECS / 60
        ));
    }
    if ends_with_period && at >= end {
        return Some(format!(
            "The subscription ends at {end}: usage after that is not accepted."
        ));
    }
    None
}

/// How a metered product is priced for a period.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UsagePrice {
    /// Every unit at the resolved usage price.
    PerUnit { unit_minor: i64 },
    /// The catalog's tiers, graduated or volume.
    Tiered { tiers: Vec<Tier>, mode: TierMode },
}

/// One invoice line for `units` of a metric under `price`: (quantity, unit price) as the
/// invoice multiplies them. A unit price bills `units × price`; tiers bill their charge once
/// (the tiers, not a unit price, make the amount).
pub fn usage_line(units: i64, price: &UsagePrice) -> Result<(i64, i64), PricingError> {
    if units < 0 {
        return Err(PricingError::NegativeQuantity);
    }
    match price {
        UsagePrice::PerUnit { unit_minor } => {
            units
                .checked_mul(*unit_minor)
                .ok_or(PricingError::Overflow)?;
            Ok((units, *unit_minor))
        }
        UsagePrice::Tiered { tiers, mode } => Ok((1, tiered_charge(tiers, *mode, units)?)),
    }
}

/// The line's words: "Bandwidth (BW): 1,500 GB, 2026-11-01 – 2026-12-01 (graduated tiers)".
pub fn usage_description(
    name: &str,
    code: &str,
    units: i64,
    metric: &str,
    (start, end): (Timestamp, Timestamp),
    price: &UsagePrice,
) -> String {
    let how = match price {
        UsagePrice::PerUnit { .. } => String::new(),
        UsagePrice::Tiered { mode, .. } => match mode {
            TierMode::Graduated => " (graduated tiers)".into(),
            TierMode::Volume => " (volume tiers)".into(),
        },
    };
    format!(
        "{name} ({code}): {} {metric} used {} – {}{how}",
        group_digits(units),
        start.date(),
        end.date()
    )
}

fn group_digits(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: Timestamp = Timestamp(1_790_000_000_000);

    fn tiers() -> Vec<Tier> {
        // 1–100 at 0.10, 101–1000 at 0.05 (+1.00 flat), above at 0.01
        vec![
            Tier {
                up_to: Some(100),
                unit_minor: 10,
                flat_minor: 0,
            },
            Tier {
                up_to: Some(1000),
                unit_minor: 5,
                flat_minor: 100,
            },
            Tier {
                up_to: None,
                unit_minor: 1,
                flat_minor: 0,
            },
        ]
    }

    fn charge(mode: TierMode, units: i64) -> i64 {
        let (q, unit) = usage_line(
            units,
            &UsagePrice::Tiered {
                tiers: tiers(),
                mode,
            },
        )
        .unwrap();
        q * unit
    }

    #[test]
    fn graduated_usage_at_the_tier_edges() {
        assert_eq!(charge(TierMode::Graduated, 0), 0);
        assert_eq!(charge(TierMode::Graduated, 1), 10);
        assert_eq!(
            charge(TierMode::Graduated, 100),
            1000,
            "last unit of tier 1"
        );
        assert_eq!(
            charge(TierMode::Graduated, 101),
            1000 + 5 + 100,
            "first unit of tier 2 brings its flat fee"
        );
        assert_eq!(charge(TierMode::Graduated, 1000), 1000 + 900 * 5 + 100);
        assert_eq!(charge(TierMode::Graduated, 1001), 1000 + 4500 + 100 + 1);
    }

    #[test]
    fn volume_usage_at_the_tier_edges() {
        assert_eq!(charge(TierMode::Volume, 100), 100 * 10);
        assert_eq!(
            charge(TierMode::Volume, 101),
            101 * 5 + 100,
            "every unit at tier 2"
        );
        assert_eq!(charge(TierMode::Volume, 1000), 1000 * 5 + 100);
        assert_eq!(charge(TierMode::Volume, 1001), 1001, "every unit at tier 3");
    }

    #[test]
    fn a_unit_price_bills_each_unit_and_overflow_is_refused() {
        let p = UsagePrice::PerUnit { unit_minor: 3 };
        assert_eq!(usage_line(250, &p), Ok((250, 3)));
        assert_eq!(usage_line(i64::MAX / 2, &p), Err(PricingError::Overflow));
        let huge = UsagePrice::Tiered {
            tiers: vec![Tier {
                up_to: None,
                unit_minor: i64::MAX / 2,
                flat_minor: 0,
            }],
            mode: TierMode::Volume,
        };
        assert_eq!(usage_line(3, &huge), Err(PricingError::Overflow));
    }

    #[test]
    fn quantities_are_whole_positive_and_plausible() {
        assert_eq!(parse_quantity(" 250 "), Ok(250));
        assert_eq!(parse_quantity("1_000"), Ok(1000));
        assert_eq!(parse_quantity(&MAX_QUANTITY.to_string()), Ok(MAX_QUANTITY));
        for bad in ["0", "-5", "-0"] {
            assert!(
                parse_quantity(bad).unwrap_err().contains("at least 1"),
                "{bad}"
            );
        }
        for absurd in [
            (MAX_QUANTITY + 1).to_string(),
            "99999999999999999999999".into(),
        ] {
            assert!(
                parse_quantity(&absurd)
                    .unwrap_err()
                    .contains("not plausible"),
                "{absurd}"
            );
        }
        for junk in ["", "1.5", "ten", "1e3"] {
            assert!(
                parse_quantity(junk).unwrap_err().contains("whole number"),
                "{junk}"
            );
        }
    }

    #[test]
    fn times_parse_as_rfc3339_or_utc_local_and_empty_is_now() {
        assert_eq!(parse_at("", NOW), Ok(NOW));
        let t = parse_at("2026-11-30T18:00:00Z", NOW).unwrap();
        assert_eq!(t.to_string(), "2026-11-30 18:00 UTC");
        assert_eq!(parse_at("2026-11-30T19:00:00+01:00", NOW), Ok(t));
        assert_eq!(parse_at("2026-11-30T18:00", NOW), Ok(t));
        assert!(parse_at("yesterday", NOW).is_err());
    }

    #[test]
    fn a_time_must_be_in_the_open_period_and_not_ahead() {
        let period = (NOW.plus_secs(-86_400), NOW.plus_secs(86_400));
        assert_eq!(time_problem(NOW, period, false, NOW), None);
        assert_eq!(
            time_problem(period.0, period, false, NOW),
            None,
            "the first instant"
        );
        assert!(
            time_problem(Timestamp(period.0.0 - 1), period, false, NOW)
                .unwrap()
                .contains("already invoiced")
        );
        assert_eq!(time_problem(NOW.plus_secs(300), period, false, NOW), None);
        assert!(
            time_problem(NOW.plus_secs(301), period, false, NOW)
                .unwrap()
                .contains("future")
        );
        // a period that ends the subscription accepts nothing after its end
        let ending = (NOW.plus_secs(-86_400), NOW.plus_secs(60));
        assert_eq!(time_problem(NOW.plus_secs(59), ending, true, NOW), None);
        assert!(
            time_problem(NOW.plus_secs(60), ending, true, NOW)
                .unwrap()
                .contains("ends at")
        );
        assert_eq!(time_problem(NOW.plus_secs(60), ending, false, NOW), None);
    }

    #[test]
    fn transaction_ids_are_required_and_bounded() {
        assert_eq!(parse_txn_id(" abc-1 "), Ok("abc-1".into()));
        assert!(parse_txn_id("").is_err());
        assert!(parse_txn_id("a b").is_err());
        assert!(parse_txn_id(&"x".repeat(101)).is_err());
    }

    #[test]
    fn only_usage_models_are_metered_and_lines_read_well() {
        assert!(is_metered(BillingModel::UsageBased) && is_metered(BillingModel::UsageTiered));
        assert!(!is_metered(BillingModel::Recurring) && !is_metered(BillingModel::OneTime));
        let d = usage_description(
            "Bandwidth",
            "BW",
            1_500_000,
            "GB",
            (NOW, NOW.plus_secs(86_400)),
            &UsagePrice::Tiered {
                tiers: tiers(),
                mode: TierMode::Volume,
            },
        );
        assert!(d.starts_with("Bandwidth (BW): 1,500,000 GB used "), "{d}");
        assert!(d.ends_with("(volume tiers)"), "{d}");
    }
}
