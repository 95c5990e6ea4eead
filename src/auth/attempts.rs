//! Sign-in attempt limits: GCRA per account (or known device) and per client address, over
//! the `login_throttle` table so every instance shares them. An attempt is reserved before
//! its password or code is checked, and given back only when it succeeds.

use super::model::Gcra;
use super::store;
use crate::db::Db;
use crate::state::AppState;
use crate::web::AppResult;

pub(crate) fn account_gcra(state: &AppState) -> Gcra {
    Gcra {
        burst: state.config.login_account_burst.max(1),
        interval_ms: i64::from(state.config.login_account_interval_secs) * 1000,
    }
}

pub(crate) fn ip_gcra(state: &AppState) -> Gcra {
    Gcra {
        burst: state.config.login_ip_burst.max(1),
        interval_ms: i64::from(state.config.login_ip_interval_secs) * 1000,
    }
}

/// The per-account limit key. A browser that signed in to this account before carries a
/// device id and gets its own allowance, so a stranger hammering the account cannot lock the
/// rightful owner out (OWASP "device cookies").
pub(crate) fn account_key(email: &str, device: Option<&str>) -> String {
    match device {
        Some(d) => format!("device:{email}:{d}"),
        None => format!("account:{email}"),
    }
}

/// Reserves one attempt on every `(key, limit)` before anything is verified: all or none.
/// Returns the seconds to wait when any limit is reached (the other reservations are given
/// back). Because the reservation is taken first, N parallel guesses use N attempts.
pub(crate) async fn reserve_attempt(
    db: &Db,
    limits: &[(&str, Gcra)],
    now_ms: i64,
) -> AppResult<Option<u64>> {
    let pool = &db.pool;
    for (i, (key, gcra)) in limits.iter().enumerate() {
        if store::throttle_reserve(pool, key, now_ms, gcra.interval_ms, gcra.limit_ms()).await? {
            continue;
        }
        for (taken, g) in &limits[..i] {
            store::throttle_refund(pool, taken, g.interval_ms).await?;
        }
        let wait = gcra
            .retry_after_ms(store::throttle_tat(pool, key).await?, now_ms)
            .unwrap_or(gcra.interval_ms);
        return Ok(Some((wait as u64).div_ceil(1000).max(1)));
    }
    Ok(None)
}

/// Gives a reserved attempt back (it succeeded: only failures count against a limit).
pub(crate) async fn refund_attempt(db: &Db, key: &str, gcra: Gcra) -> AppResult<()> {
    Ok(store::throttle_refund(&db.pool, key, gcra.interval_ms).await?)
}
