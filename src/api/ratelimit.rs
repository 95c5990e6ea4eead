//! Rate limits per API token: a token bucket per token, in this instance's memory.
//!
//! Each token may make `burst` requests at once and `per_minute` on average. With several
//! `serve` instances each keeps its own buckets, so a token gets the rate from each instance
//! (documented in the README); nothing is shared through the database, which would cost a
//! write per request. Every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and
//! `RateLimit-Reset`; a refusal is 429 with `Retry-After`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::{ApiActor, ApiError};

/// Buckets idle (full) this long are forgotten when the map grows.
const FORGET_AFTER_SECS: f64 = 600.0;
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct RateLimiter {
    per_sec: f64,
    burst: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Clone, Copy, Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// What one request was allowed, for the headers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u64,
    pub remaining: u64,
    /// Seconds until the bucket is full again.
    pub reset_secs: u64,
    /// Seconds until the next request is allowed (0 when this one was).
    pub retry_after_secs: u64,
}

impl RateLimiter {
    pub fn new(per_minute: u32, burst: u32) -> RateLimiter {
        RateLimiter {
            per_sec: f64::from(per_minute.max(1)) / 60.0,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request from `key`'s bucket at `now`.
    pub fn check(&self, key: &str, now: Instant) -> Decision {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let (per_sec, burst) = (self.per_sec, self.burst);
            buckets.retain(|_, b| {
                let idle = now.saturating_duration_since(b.at).as_secs_f64();
                b.tokens + idle * per_sec < burst || idle < FORGET_AFTER_SECS
            });
        }
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.per_sec).min(self.burst);
        bucket.at = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let retry_after_secs = if allowed {
            0
        } else {
            ((1.0 - bucket.tokens) / self.per_sec).ceil() as u64
        };
        Decision {
            allowed,
            limit: self.burst as u64,
            remaining: bucket.tokens.floor() as u64,
            reset_secs: ((self.burst - bucket.tokens) / self.per_sec).ceil() as u64,
            retry_after_secs: retry_after_secs.max(u64::from(!allowed)),
        }
    }
}

impl Decision {
    fn headers(&self, headers: &mut HeaderMap) {
        headers.insert("ratelimit-limit", HeaderValue::from(self.limit));
        headers.insert("ratelimit-remaining", HeaderValue::from(self.remaining));
        headers.insert("ratelimit-reset", HeaderValue::from(self.reset_secs));
    }
}

/// The middleware: after the bearer check (it needs the token), before anything else.
pub async fn limit(State(limiter): State<Arc<RateLimiter>>, req: Request, next: Next) -> Response {
    let Some(token) = req
        .extensions()
        .get::<ApiActor>()
        .map(|a| a.token_id.clone())
    else {
        return next.run(req).await;
    };
    let decision = limiter.check(&token, Instant::now());
    let mut res = if decision.allowed {
        next.run(req).await
    } else {
        ApiError::too_many(decision.retry_after_secs).into_response()
    };
    decision.headers(res.headers_mut());
    res
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_bucket_allows_its_burst_then_refills_at_the_rate() {
        let l = RateLimiter::new(60, 3);
        let t0 = Instant::now();
        let d: Vec<Decision> = (0..4).map(|_| l.check("a", t0)).collect();
        assert!(d[..3].iter().all(|d| d.allowed));
        assert_eq!(d[2].remaining, 0);
        assert!(!d[3].allowed);
        assert_eq!(d[3].retry_after_secs, 1);
        // Another token has its own bucket.
        assert!(l.check("b", t0).allowed);
        // One per second comes back.
        let t1 = t0 + Duration::from_millis(1000);
        assert!(l.check("a", t1).allowed);
        assert!(!l.check("a", t1).allowed);
        let full = l.check("a", t1 + Duration::from_secs(60));
        assert!(full.allowed);
        assert_eq!(full.remaining, 2);
    }
}
