//! When stored work next falls due (pins that end, topic timers), known
//! per process so that a read checks it with two atomic loads and touches
//! the database only when something may be due.

use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::Result;

/// How long (ms) what a process knows stays trusted: another process
/// sharing the database may store earlier work without this one knowing.
const RECHECK_MS: i64 = 60_000;

/// The earliest moment some stored work falls due, as last read.
pub(crate) struct Due {
    /// That moment (ms); `i64::MIN` until read once.
    next: AtomicI64,
    /// When it was read (ms).
    checked: AtomicI64,
    /// How many times work was stored since this handle began: a reader
    /// that saw another count read the database before some of it.
    stored: Mutex<u64>,
}

/// What [`Due::maybe`] saw, for [`Due::publish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen(u64);

impl Due {
    pub(crate) fn new() -> Due {
        Due {
            next: AtomicI64::new(i64::MIN),
            checked: AtomicI64::new(i64::MIN),
            stored: Mutex::new(0),
        }
    }

    /// `Some(seen)` when work may be due at `now` (ms): the moment known has
    /// come, or what is known is too old to trust. Read the database, then
    /// hand `seen` back to [`Due::publish`]. Two atomic loads otherwise.
    fn maybe(&self, now: i64) -> Option<Seen> {
        let next = self.next.load(Ordering::Relaxed);
        let fresh = now.saturating_sub(self.checked.load(Ordering::Relaxed)) < RECHECK_MS;
        if next > now && fresh {
            return None;
        }
        Some(Seen(*self.stored.lock().unwrap_or_else(|e| e.into_inner())))
    }

    /// Work stored by this process falls due at `at` (ms).
    pub(crate) fn lower(&self, at: i64) {
        let mut stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        *stored += 1;
        self.next.fetch_min(at, Ordering::Relaxed);
    }

    /// Does the due work when some may be due (two atomic loads when none
    /// is): `next` reads the earliest moment from the database, `work`
    /// acts once it has come. After a failure the next try waits
    /// [`RECHECK_MS`], so failing work never turns every read into a
    /// write.
    pub(crate) fn run(
        &self,
        now: i64,
        next: impl Fn() -> Result<i64>,
        work: impl FnOnce() -> Result<()>,
    ) -> Result<()> {
        let Some(seen) = self.maybe(now) else {
            return Ok(());
        };
        let done = (|| {
            if next()? <= now {
                work()?;
            }
            next()
        })();
        match done {
            Ok(next) => {
                self.publish(seen, next, now);
                Ok(())
            }
            Err(e) => {
                self.publish(seen, now.saturating_add(RECHECK_MS), now);
                Err(e)
            }
        }
    }

    /// Publishes `next`, read from the database at `now` after `seen`; if
    /// work was stored meanwhile, the database read may have missed it, so
    /// the earlier moment of the two stays.
    fn publish(&self, seen: Seen, next: i64, now: i64) {
        let stored = self.stored.lock().unwrap_or_else(|e| e.into_inner());
        if *stored == seen.0 {
            self.next.store(next, Ordering::Relaxed);
        } else {
            self.next.fetch_min(next, Ordering::Relaxed);
        }
        self.checked.store(now, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_when_unknown_reached_or_stale() {
        let d = Due::new();
        let seen = d.maybe(1_000).expect("unknown at first");
        d.publish(seen, 5_000, 1_000);
        assert_eq!(d.maybe(4_999), None);
        let seen = d.maybe(5_000).expect("due");
        // Trusted for a minute only.
        d.publish(seen, i64::MAX, 5_000);
        assert_eq!(d.maybe(5_000 + RECHECK_MS - 1), None);
        assert!(d.maybe(5_000 + RECHECK_MS).is_some());
    }

    #[test]
    fn failing_work_is_tried_again_a_minute_later() {
        let d = Due::new();
        let fail = || Err(crate::error::Error::conflict("the database is read-only"));
        assert!(d.run(1_000, || Ok(0), fail).is_err());
        let mut tried = false;
        d.run(
            1_000 + RECHECK_MS - 1,
            || Ok(0),
            || {
                tried = true;
                Ok(())
            },
        )
        .expect("nothing to do yet");
        assert!(!tried, "not on every read");
        d.run(1_000 + RECHECK_MS, || Ok(i64::MAX), || Ok(()))
            .expect("tried again");
        assert_eq!(d.maybe(1_000 + RECHECK_MS + 1), None);
    }

    #[test]
    fn work_stored_meanwhile_is_not_forgotten() {
        // Before anything is known, and after.
        for known in [None, Some(10 * RECHECK_MS)] {
            let d = Due::new();
            if let Some(k) = known {
                let seen = d.maybe(0).expect("unknown");
                d.publish(seen, k, 0);
            }
            let seen = d.maybe(RECHECK_MS).expect("stale");
            d.lower(RECHECK_MS + 700); // stored while the database was being read
            d.publish(seen, i64::MAX, RECHECK_MS);
            assert!(d.maybe(RECHECK_MS + 700).is_some(), "{known:?}");
            if known.is_some() {
                assert_eq!(d.maybe(RECHECK_MS + 699), None);
            } // else: still unknown, so looked up again: safe
        }
    }
}
