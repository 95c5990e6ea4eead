//! How the JSON API writes instants and amounts: RFC 3339 in UTC, and integer minor units
//! with their currency (`{"amount": 1999, "currency": "EUR"}` is EUR 19.99).

use serde::Serialize;
use utoipa::ToSchema;

use crate::db::Timestamp;

pub fn rfc3339(t: Timestamp) -> String {
    t.rfc3339()
}

/// An amount of money: integer minor units of the currency (cents for EUR, yen for JPY,
/// fils for KWD).
#[derive(Serialize, ToSchema, Clone, Debug, PartialEq, Eq)]
pub struct ApiMoney {
    /// Minor units of `currency` (exponent 0 for JPY, 2 for EUR/USD, 3 for KWD).
    pub amount: i64,
    /// ISO 4217 code.
    pub currency: String,
}

impl ApiMoney {
    pub fn new(amount: i64, currency: &str) -> ApiMoney {
        ApiMoney {
            amount,
            currency: currency.to_string(),
        }
    }
}
