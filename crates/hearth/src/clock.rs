//! Where the engine gets the time from.

use std::sync::Mutex;
use time::OffsetDateTime;

/// A day in milliseconds: day numbers (`member_days.day`, the analytics'
/// days) are Unix milliseconds divided by it.
pub(crate) const DAY_MS: i64 = 86_400_000;

/// A source of the current time.
///
/// The engine never reads the system clock directly: every timestamp comes
/// from the [`Clock`] given in [`Config`](crate::Config), so tests can drive
/// time with a [`ManualClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time, in UTC.
    fn now(&self) -> OffsetDateTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that only moves when told to; for tests and simulations.
///
/// ```
/// use hearth::{Clock, ManualClock};
/// use time::macros::datetime;
///
/// let clock = ManualClock::new(datetime!(2026-01-01 0:00 UTC));
/// clock.advance(time::Duration::hours(2));
/// assert_eq!(clock.now(), datetime!(2026-01-01 2:00 UTC));
/// ```
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    /// A clock standing at `start`.
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock {
            now: Mutex::new(start),
        }
    }

    /// Moves the clock forward (or back, with a negative duration).
    pub fn advance(&self, by: time::Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Milliseconds since the Unix epoch, as stored in the database.
pub(crate) fn to_millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The inverse of [`to_millis`]; out-of-range values clamp to the epoch.
pub(crate) fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_round_trip() {
        let t = time::macros::datetime!(2026-11-23 06:40:39.123 UTC);
        assert_eq!(from_millis(to_millis(t)), t);
    }
}
