//! In-memory rate limits: a token bucket per client address, sign-in
//! attempt counters (per address, per account and address, per account),
//! and the per-account slow-down.
//!
//! These live in the process (one server); the engine's own rate limits on
//! posting are durable and apply whatever the front end.

use std::collections::HashMap;
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
}

/// A token bucket per client address.
#[derive(Debug)]
pub(crate) struct IpLimiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl IpLimiter {
    pub fn new(limit: RateLimit) -> Self {
        IpLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `ip`; `Err(wait)` if none is left.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let burst = f64::from(self.limit.burst.max(1));
        let rate = self.limit.per_second.max(f64::MIN_POSITIVE);
        if buckets.len() >= SWEEP_AT {
            // A bucket that has refilled completely carries no state.
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - b.tokens) / rate))
        }
    }
}

/// Attempts within a sliding window, per key.
#[derive(Debug)]
pub(crate) struct AttemptCounter {
    max: u32,
    window: Duration,
    seen: Mutex<HashMap<String, Vec<Instant>>>,
}

impl AttemptCounter {
    pub fn new(max: u32, window: Duration) -> Self {
        AttemptCounter {
            max,
            window,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(wait)` if `key` already used up its attempts in the window.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let Some(times) = seen.get_mut(key) else {
            return Ok(());
        };
        times.retain(|t| now.saturating_duration_since(*t) < self.window);
        if times.len() as u32 >= self.max {
            let oldest = times.first().copied().unwrap_or(now);
            Err(self
                .window
                .saturating_sub(now.saturating_duration_since(oldest)))
        } else {
            Ok(())
        }
    }

    /// Counts one attempt for `key`.
    pub fn record(&self, key: &str, now: Instant) {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= SWEEP_AT {
            let window = self.window;
            seen.retain(|_, t| {
                t.last()
                    .is_some_and(|l| now.saturating_duration_since(*l) < window)
            });
        }
        seen.entry(key.to_string()).or_default().push(now);
    }

    /// Forgets `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.seen
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }
}

/// Spaces attempts per key at least `gap` apart.
#[derive(Debug)]
pub(crate) struct Spacing {
    gap: Duration,
    last: Mutex<HashMap<String, Instant>>,
}

impl Spacing {
    pub fn new(gap: Duration) -> Self {
        Spacing {
            gap,
            last: Mutex::new(HashMap::new()),
        }
    }

    /// Takes the slot for `key`, or `Err(wait)` until the next one.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        if last.len() >= SWEEP_AT {
            let gap = self.gap;
            last.retain(|_, t| now.saturating_duration_since(*t) < gap);
        }
        if let Some(t) = last.get(key) {
            let since = now.saturating_duration_since(*t);
            if since < self.gap {
                return Err(self.gap - since);
            }
        }
        last.insert(key.to_string(), now);
        Ok(())
    }

    /// Forgets `key` (after a successful sign-in).
    pub fn clear(&self, key: &str) {
        self.last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
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
    fn spacing_allows_one_attempt_per_gap() {
        let s = Spacing::new(Duration::from_secs(2));
        let t0 = Instant::now();
        assert!(s.take("ada", t0).is_ok());
        assert_eq!(
            s.take("ada", t0 + Duration::from_secs(1)),
            Err(Duration::from_secs(1))
        );
        assert!(s.take("bob", t0).is_ok());
        assert!(s.take("ada", t0 + Duration::from_secs(2)).is_ok());
    }

    #[test]
    fn attempts_are_counted_in_a_window() {
        let c = AttemptCounter::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        c.record("ada", t0);
        assert!(c.check("ada", t0).is_ok());
        c.record("ada", t0);
        let wait = c
            .check("ada", t0 + Duration::from_secs(10))
            .expect_err("limited");
        assert_eq!(wait, Duration::from_secs(50));
        assert!(c.check("ada", t0 + Duration::from_secs(60)).is_ok());
        c.record("bob", t0);
        c.clear("bob");
        assert!(c.check("bob", t0).is_ok());
    }
}
