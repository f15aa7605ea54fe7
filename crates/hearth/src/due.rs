//! When stored work next falls due (pins that end, topic timers), known
//! per process so that a read checks it with two atomic loads and touches
//! the database only when something may be due.

use std::sync::atomic::{AtomicI64, Ordering};

/// How long (ms) what a process knows stays trusted: another process
/// sharing the database may store earlier work without this one knowing.
const RECHECK_MS: i64 = 60_000;

/// The earliest moment some stored work falls due, as last read.
pub(crate) struct Due {
    /// That moment (ms); `i64::MIN` until read once.
    next: AtomicI64,
    /// When it was read (ms).
    checked: AtomicI64,
}

impl Due {
    pub(crate) fn new() -> Due {
        Due {
            next: AtomicI64::new(i64::MIN),
            checked: AtomicI64::new(i64::MIN),
        }
    }

    /// `Some(seen)` when work may be due at `now` (ms): the moment known has
    /// come, or what is known is too old to trust. Hand `seen` back to
    /// [`Due::publish`].
    pub(crate) fn maybe(&self, now: i64) -> Option<i64> {
        let seen = self.next.load(Ordering::Relaxed);
        let fresh = now.saturating_sub(self.checked.load(Ordering::Relaxed)) < RECHECK_MS;
        (seen <= now || !fresh).then_some(seen)
    }

    /// Work stored by this process falls due at `at` (ms).
    pub(crate) fn lower(&self, at: i64) {
        self.next.fetch_min(at, Ordering::Relaxed);
    }

    /// Publishes `next`, read from the database at `now`, unless work was
    /// stored since `seen` was read (then the lower moment stays).
    pub(crate) fn publish(&self, seen: i64, next: i64, now: i64) {
        let _ = self
            .next
            .compare_exchange(seen, next, Ordering::Relaxed, Ordering::Relaxed);
        self.checked.store(now, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_unknown_reached_or_stale() {
        let d = Due::new();
        assert_eq!(d.maybe(1_000), Some(i64::MIN));
        d.publish(i64::MIN, 5_000, 1_000);
        assert_eq!(d.maybe(4_999), None);
        assert_eq!(d.maybe(5_000), Some(5_000));
        // Trusted for a minute only.
        d.publish(5_000, i64::MAX, 5_000);
        assert_eq!(d.maybe(5_000 + RECHECK_MS - 1), None);
        assert_eq!(d.maybe(5_000 + RECHECK_MS), Some(i64::MAX));
    }

    #[test]
    fn work_stored_meanwhile_is_not_forgotten() {
        let d = Due::new();
        let seen = d.maybe(0).unwrap_or(0);
        d.lower(700); // stored while the database was being read
        d.publish(seen, i64::MAX, 0);
        assert_eq!(d.maybe(699), None);
        assert_eq!(d.maybe(700), Some(700));
    }
}
