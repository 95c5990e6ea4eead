//! Money: integer minor units with the currency's ISO 4217 exponent (JPY 0, USD 2, KWD 3).
//! Amounts are parsed and formatted exactly; no floating point anywhere.

use std::str::FromStr;

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Currency {
    pub code: &'static str,
    pub exponent: u32,
}

/// Currencies the panel can bill in.
pub const CURRENCIES: &[Currency] = &[
    Currency {
        code: "USD",
        exponent: 2,
    },
    Currency {
        code: "EUR",
        exponent: 2,
    },
    Currency {
        code: "GBP",
        exponent: 2,
    },
    Currency {
        code: "CHF",
        exponent: 2,
    },
    Currency {
        code: "CAD",
        exponent: 2,
    },
    Currency {
        code: "AUD",
        exponent: 2,
    },
    Currency {
        code: "SEK",
        exponent: 2,
    },
    Currency {
        code: "NOK",
        exponent: 2,
    },
    Currency {
        code: "DKK",
        exponent: 2,
    },
    Currency {
        code: "PLN",
        exponent: 2,
    },
    Currency {
        code: "BRL",
        exponent: 2,
    },
    Currency {
        code: "INR",
        exponent: 2,
    },
    Currency {
        code: "JPY",
        exponent: 0,
    },
    Currency {
        code: "KRW",
        exponent: 0,
    },
    Currency {
        code: "KWD",
        exponent: 3,
    },
    Currency {
        code: "BHD",
        exponent: 3,
    },
];

pub fn currency(code: &str) -> Option<Currency> {
    let code = code.trim();
    CURRENCIES
        .iter()
        .copied()
        .find(|c| c.code.eq_ignore_ascii_case(code))
}

pub fn currency_codes() -> Vec<&'static str> {
    CURRENCIES.iter().map(|c| c.code).collect()
}

/// The largest amount any money field takes, in whole units of any currency: far above any
/// price or payment, and low enough that sums of thousands of lines stay exact in an i64.
pub const MAX_WHOLE_UNITS: i64 = 1_000_000_000_000;

/// Parses what a person types ("9.99", "1200", "0.125") into minor units of `cur`.
/// Refuses negatives, more decimals than the currency has, amounts of
/// [`MAX_WHOLE_UNITS`] or more ("Amount too large", with checked arithmetic: nothing can
/// overflow), and anything that is not a number.
pub fn parse_amount(input: &str, cur: Currency) -> Result<i64, String> {
    let s = input.trim();
    if s.is_empty() {
        return Err("Enter an amount.".into());
    }
    if s.starts_with('-') {
        return Err("Amounts cannot be negative.".into());
    }
    let plain = s.chars().all(|c| c.is_ascii_digit() || c == '.') && s.matches('.').count() <= 1;
    if !plain || s == "." {
        return Err(format!("Enter a number like {}.", example(cur)));
    }
    let decimals = s.split_once('.').map_or(0, |(_, frac)| frac.len()) as u32;
    if decimals > cur.exponent {
        return Err(match cur.exponent {
            0 => format!("{} has no decimal places.", cur.code),
            n => format!("{} has {n} decimal places at most.", cur.code),
        });
    }
    let too_large = || {
        format!(
            "Amount too large: at most {} {}.",
            format_amount(max_minor(cur), cur),
            cur.code
        )
    };
    let value = Decimal::from_str(s).map_err(|_| too_large())?;
    value
        .checked_mul(Decimal::from(10i64.pow(cur.exponent)))
        .and_then(|minor| minor.to_i64())
        .filter(|minor| *minor <= max_minor(cur))
        .ok_or_else(too_large)
}

/// [`MAX_WHOLE_UNITS`] less one minor unit, in minor units of `cur`.
fn max_minor(cur: Currency) -> i64 {
    MAX_WHOLE_UNITS * 10i64.pow(cur.exponent) - 1
}

fn example(cur: Currency) -> &'static str {
    match cur.exponent {
        0 => "1200",
        3 => "12.500",
        _ => "12.50",
    }
}

/// `1234567` in USD → `12,345.67`; in JPY → `1,234,567`; in KWD → `1,234.567`.
pub fn format_amount(minor: i64, cur: Currency) -> String {
    let negative = minor < 0;
    let abs = minor.unsigned_abs();
    let scale = 10u64.pow(cur.exponent);
    let (whole, frac) = (abs / scale, abs % scale);
    let digits = whole.to_string();
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if negative { "-" } else { "" };
    if cur.exponent == 0 {
        format!("{sign}{grouped}")
    } else {
        format!(
            "{sign}{grouped}.{frac:0width$}",
            width = cur.exponent as usize
        )
    }
}

/// The amount as a form value ("12.50"): no grouping, so it parses back unchanged.
pub fn input_amount(minor: i64, cur: Currency) -> String {
    format_amount(minor, cur).replace(',', "")
}

/// `USD 12.50`: code first, unambiguous in every locale.
pub fn format_money(minor: i64, code: &str) -> String {
    match currency(code) {
        Some(cur) => format!("{} {}", cur.code, format_amount(minor, cur)),
        None => format!("{code} {minor} (minor units)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(code: &str) -> Currency {
        currency(code).unwrap()
    }

    #[test]
    fn parses_by_exponent() {
        assert_eq!(parse_amount("9.99", c("USD")), Ok(999));
        assert_eq!(parse_amount("9.9", c("USD")), Ok(990));
        assert_eq!(parse_amount("12", c("USD")), Ok(1200));
        assert_eq!(parse_amount(" 0.01 ", c("eur")), Ok(1));
        assert_eq!(parse_amount("1200", c("JPY")), Ok(1200));
        assert_eq!(parse_amount("1.234", c("KWD")), Ok(1234));
        assert_eq!(parse_amount("1.2", c("KWD")), Ok(1200));
        assert_eq!(parse_amount("0", c("USD")), Ok(0));
    }

    #[test]
    fn refuses_what_the_currency_cannot_hold() {
        assert!(
            parse_amount("9.999", c("USD"))
                .unwrap_err()
                .contains("2 decimal places")
        );
        assert!(
            parse_amount("12.5", c("JPY"))
                .unwrap_err()
                .contains("no decimal places")
        );
        assert!(
            parse_amount("1.2345", c("KWD"))
                .unwrap_err()
                .contains("3 decimal places")
        );
        assert!(
            parse_amount("-1", c("USD"))
                .unwrap_err()
                .contains("negative")
        );
        for junk in [
            "", ".", "1.2.3", "1e5", "12,50", "abc", "+5", "0x10", "NaN", " 1 2",
        ] {
            assert!(parse_amount(junk, c("USD")).is_err(), "{junk:?}");
        }
        assert!(parse_amount("999999999999999999999", c("USD")).is_err());
        assert!(parse_amount("92233720368547758.07", c("USD")).is_err());
        // 28+ digits once panicked inside the multiplication
        for huge in [
            "9999999999999999999999999999",
            "99999999999999999999999999999",
            "79228162514264337593543950335",
            "99999999999999999999999999999999999999999",
        ] {
            for code in ["USD", "JPY", "KWD"] {
                let err = parse_amount(huge, c(code)).unwrap_err();
                assert!(err.starts_with("Amount too large"), "{huge} {code}: {err}");
            }
        }
        assert_eq!(
            parse_amount("999999999999.99", c("USD")),
            Ok(99_999_999_999_999)
        );
        assert!(parse_amount("1000000000000", c("USD")).is_err());
        assert_eq!(parse_amount("999999999999", c("JPY")), Ok(999_999_999_999));
        assert_eq!(
            parse_amount("999999999999.999", c("KWD")),
            Ok(999_999_999_999_999)
        );
    }

    #[test]
    fn formats_by_exponent() {
        assert_eq!(format_amount(1_234_567, c("USD")), "12,345.67");
        assert_eq!(format_amount(5, c("USD")), "0.05");
        assert_eq!(format_amount(1_234_567, c("JPY")), "1,234,567");
        assert_eq!(format_amount(1_234_567, c("KWD")), "1,234.567");
        assert_eq!(format_amount(-1050, c("EUR")), "-10.50");
        assert_eq!(format_amount(0, c("KWD")), "0.000");
        assert_eq!(format_money(999, "USD"), "USD 9.99");
        assert_eq!(input_amount(123_456, c("USD")), "1234.56");
        assert_eq!(
            format_amount(i64::MIN, c("USD")),
            "-92,233,720,368,547,758.08"
        );
    }

    #[test]
    fn round_trips() {
        for code in ["USD", "JPY", "KWD"] {
            for minor in [0, 1, 99, 1000, 123_456_789] {
                let cur = c(code);
                assert_eq!(parse_amount(&input_amount(minor, cur), cur), Ok(minor));
            }
        }
    }
}
