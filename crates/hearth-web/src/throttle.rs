//! The per-address request limit: a token bucket per client address, kept
//! in the process. With several server processes behind a load balancer
//! each process counts for itself (an address may get up to N times the
//! rate across N processes); the limits that guard accounts — sign-in
//! attempts (see `pages::check_credentials`) — and the engine's own limits
//! on posting are kept in the database and shared.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::RateLimit;

/// Above this many tracked keys, idle entries are swept.
const SWEEP_AT: usize = 10_000;

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// The limit it is counted against (kept for sweeping).
    rate: f64,
    burst: f64,
}

/// A token bucket per key (an address; a member and a plugin action), each
/// counted against the limit it is checked with.
#[derive(Debug)]
pub(crate) struct Buckets<K> {
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq> Default for Buckets<K> {
    fn default() -> Self {
        Buckets {
            buckets: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Hash + Eq> Buckets<K> {
    /// Takes one token for `key` under `limit`; `Err(wait)` if none is left.
    pub fn check(&self, key: K, limit: RateLimit, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = f64::from(limit.burst.max(1));
        let rate = limit.per_second.max(f64::MIN_POSITIVE);
        if buckets.len() >= SWEEP_AT {
            // A bucket that has refilled completely carries no state.
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * b.rate < b.burst
            });
        }
        let b = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
            rate,
            burst,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        (b.rate, b.burst) = (rate, burst);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

/// A token bucket per client address.
#[derive(Debug)]
pub(crate) struct IpLimiter {
    limit: RateLimit,
    buckets: Buckets<IpAddr>,
}

impl IpLimiter {
    pub fn new(limit: RateLimit) -> Self {
        IpLimiter {
            limit,
            buckets: Buckets::default(),
        }
    }

    /// Takes one token for `ip`; `Err(wait)` if none is left.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        self.buckets.check(ip, self.limit, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_allows_burst_then_refills() {
        let l = IpLimiter::new(RateLimit {
            per_second: 2.0,
            burst: 3,
        });
        let ip: IpAddr = [10, 0, 0, 1].into();
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check(ip, t0).is_ok());
        }
        let wait = l.check(ip, t0).expect_err("burst used");
        assert!(wait <= Duration::from_millis(500) && wait > Duration::ZERO);
        // Another address is unaffected.
        assert!(l.check([10, 0, 0, 2].into(), t0).is_ok());
        assert!(l.check(ip, t0 + Duration::from_millis(500)).is_ok());
        assert!(l.check(ip, t0 + Duration::from_millis(500)).is_err());
    }

    #[test]
    fn each_key_counts_against_the_limit_it_is_checked_with() {
        let b: Buckets<(&str, u32)> = Buckets::default();
        let per_minute = |n: u32| RateLimit {
            per_second: f64::from(n) / 60.0,
            burst: n,
        };
        let t0 = Instant::now();
        for _ in 0..2 {
            assert!(b.check(("vote", 1), per_minute(2), t0).is_ok());
        }
        let wait = b
            .check(("vote", 1), per_minute(2), t0)
            .expect_err("two a minute");
        assert!(wait > Duration::from_secs(29) && wait <= Duration::from_secs(30));
        assert!(b.check(("vote", 2), per_minute(2), t0).is_ok());
        assert!(b.check(("react", 1), per_minute(1), t0).is_ok());
        assert!(b.check(("react", 1), per_minute(1), t0).is_err());
    }
}
