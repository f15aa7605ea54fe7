//! Throttles: how often something may happen per key, counted in the
//! database so that every process on it shares one count (sign-in attempts
//! per address and per account, when several web servers share a
//! database).
//!
//! Each key holds one row with the generic cell rate algorithm (GCRA): the
//! key's *theoretical arrival time*, the moment its whole allowance is
//! back. An attempt is one upsert that checks and advances that time
//! atomically, on SQLite and PostgreSQL alike (the row lock serialises
//! concurrent attempts on one key), so parallel requests cannot slip past
//! a limit. Rows whose time has passed carry no state and are swept as
//! attempts come in. Time is the forum's [`Clock`](crate::Clock).

use std::time::Duration;

use crate::clock::to_millis;
use crate::db::params;
use crate::error::Result;
use crate::forum::Forum;
use crate::store::optional;

/// Longest throttle key, in characters.
pub const MAX_THROTTLE_KEY: usize = 200;

/// A limit: up to `max` attempts at once, then one more each `per / max`,
/// so never more than `max` in any stretch of `per` after the first burst
/// has been spent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Throttle {
    /// Attempts allowed at once (at least 1).
    pub max: u32,
    /// The stretch of time in which `max` attempts come back.
    pub per: Duration,
}

impl Throttle {
    /// Milliseconds between two attempts once the burst is spent, and the
    /// burst tolerance: how far ahead of now the arrival time may be.
    fn shape(self) -> (i64, i64) {
        let per = self.per.as_millis().clamp(1, i64::MAX as u128 / 2) as i64;
        let interval = (per / i64::from(self.max.max(1))).max(1);
        (interval, per.saturating_sub(interval).max(0))
    }
}

/// What [`Forum::attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Go ahead; the attempt was counted.
    Allowed,
    /// Over the limit; nothing was counted. Try again after `retry_after`.
    Refused {
        /// How long until the next attempt is allowed.
        retry_after: Duration,
    },
}

impl Forum {
    /// Counts one attempt against `key` under `limit`, or refuses it (and
    /// counts nothing) when the key has used up its allowance. Keys are
    /// shared by every `Forum` handle and process on the database: name
    /// them for what they count (`"sign-in/address/203.0.113.9"`).
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("x.db"))?;
    /// use std::time::Duration;
    /// let limit = Throttle { max: 2, per: Duration::from_secs(60) };
    /// assert_eq!(forum.attempt("sign-in/ada", limit)?, Attempt::Allowed);
    /// assert_eq!(forum.attempt("sign-in/ada", limit)?, Attempt::Allowed);
    /// let Attempt::Refused { retry_after } = forum.attempt("sign-in/ada", limit)? else {
    ///     panic!("a third attempt at once is refused");
    /// };
    /// assert!(retry_after <= Duration::from_secs(30));
    /// forum.forget_attempts(&["sign-in/ada"])?;
    /// assert_eq!(forum.attempt("sign-in/ada", limit)?, Attempt::Allowed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn attempt(&self, key: &str, limit: Throttle) -> Result<Attempt> {
        crate::text::check_name("key", key, 1, MAX_THROTTLE_KEY)?;
        let (interval, tolerance) = limit.shape();
        let now = to_millis(self.now());
        let taken: Option<i64> = self.store.write(|tx| {
            tx.prepare_cached("DELETE FROM throttles WHERE tat <= ?1")?
                .execute(params![now])?;
            optional(
                tx.prepare_cached(
                    "INSERT INTO throttles (key, tat) VALUES (?1, ?2)
                     ON CONFLICT (key) DO UPDATE
                     SET tat = CASE WHEN throttles.tat > ?3 THEN throttles.tat ELSE ?3 END + ?4
                     WHERE throttles.tat <= ?5
                     RETURNING tat",
                )?
                .query_row(
                    params![key, now + interval, now, interval, now + tolerance],
                    |r| r.get(0),
                ),
            )
        })?;
        if taken.is_some() {
            return Ok(Attempt::Allowed);
        }
        let tat: Option<i64> = self.read(|conn, _| {
            optional(
                conn.prepare_cached("SELECT tat FROM throttles WHERE key = ?1")?
                    .query_row(params![key], |r| r.get(0)),
            )
        })?;
        let wait = tat.map_or(interval, |tat| tat - tolerance - now).max(1);
        Ok(Attempt::Refused {
            retry_after: Duration::from_millis(wait as u64),
        })
    }

    /// Gives each of `keys` its whole allowance back (after a successful
    /// sign-in), in one transaction.
    pub fn forget_attempts(&self, keys: &[&str]) -> Result<()> {
        self.store.write(|tx| {
            let mut forget = tx.prepare_cached("DELETE FROM throttles WHERE key = ?1")?;
            for key in keys {
                forget.execute(params![key])?;
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::{Config, ManualClock};

    fn forum() -> (tempfile::TempDir, Forum, Arc<ManualClock>) {
        let dir = tempfile::tempdir().expect("dir");
        let clock = Arc::new(ManualClock::new(
            time::macros::datetime!(2026-03-01 9:00 UTC),
        ));
        let config = Config {
            clock: clock.clone(),
            ..Config::default()
        };
        let forum = Forum::open_with(dir.path().join("t.db"), config).expect("open");
        (dir, forum, clock)
    }

    const SECOND: time::Duration = time::Duration::SECOND;

    #[test]
    fn a_burst_then_one_per_interval() {
        let (_d, f, clock) = forum();
        let limit = Throttle {
            max: 3,
            per: Duration::from_secs(60),
        };
        for _ in 0..3 {
            assert_eq!(f.attempt("k", limit).expect("attempt"), Attempt::Allowed);
        }
        // The fourth waits for one to come back: one per 20 s.
        assert_eq!(
            f.attempt("k", limit).expect("attempt"),
            Attempt::Refused {
                retry_after: Duration::from_secs(20)
            }
        );
        clock.advance(SECOND * 19);
        assert!(matches!(
            f.attempt("k", limit).expect("attempt"),
            Attempt::Refused { retry_after } if retry_after == Duration::from_secs(1)
        ));
        clock.advance(SECOND);
        assert_eq!(f.attempt("k", limit).expect("attempt"), Attempt::Allowed);
        assert!(matches!(
            f.attempt("k", limit).expect("attempt"),
            Attempt::Refused { .. }
        ));
        // Other keys are not affected; after `per` the whole burst is back.
        assert_eq!(
            f.attempt("other", limit).expect("attempt"),
            Attempt::Allowed
        );
        clock.advance(SECOND * 60);
        for _ in 0..3 {
            assert_eq!(f.attempt("k", limit).expect("attempt"), Attempt::Allowed);
        }
    }

    #[test]
    fn one_per_gap_and_forgetting() {
        let (_d, f, clock) = forum();
        let gap = Throttle {
            max: 1,
            per: Duration::from_secs(2),
        };
        assert_eq!(f.attempt("g", gap).expect("attempt"), Attempt::Allowed);
        assert_eq!(
            f.attempt("g", gap).expect("attempt"),
            Attempt::Refused {
                retry_after: Duration::from_secs(2)
            }
        );
        f.forget_attempts(&["g"]).expect("forget");
        assert_eq!(f.attempt("g", gap).expect("attempt"), Attempt::Allowed);
        clock.advance(SECOND * 2);
        assert_eq!(f.attempt("g", gap).expect("attempt"), Attempt::Allowed);
    }

    #[test]
    fn spent_rows_are_swept_and_keys_checked() {
        let (_d, f, clock) = forum();
        let limit = Throttle {
            max: 1,
            per: Duration::from_secs(1),
        };
        for i in 0..50 {
            f.attempt(&format!("k{i}"), limit).expect("attempt");
        }
        clock.advance(SECOND * 2);
        f.attempt("last", limit).expect("attempt");
        let rows: i64 = f
            .read(|c, _| {
                Ok(c.prepare_cached("SELECT count(*) FROM throttles")?
                    .query_row(params![], |r| r.get(0))?)
            })
            .expect("count");
        assert_eq!(rows, 1, "only the live key is left");
        assert!(f.attempt("", limit).is_err());
        assert!(f.attempt(&"x".repeat(MAX_THROTTLE_KEY + 1), limit).is_err());
        assert!(f.attempt(&"x".repeat(MAX_THROTTLE_KEY), limit).is_ok());
    }
}
