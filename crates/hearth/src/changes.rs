//! Where a community's committed state stands, and waiting for it to
//! move: how a process learns of writes made by another process (or
//! another `Forum` handle) on the same database, to drop what it cached.
//!
//! The stamp is read from the database (the community's last event and
//! its configuration version), so it is right on every backend; waiting
//! is where the backends differ: PostgreSQL wakes the waiter when another
//! session commits a change in any community (`LISTEN`/`NOTIFY`), SQLite
//! polls. Either way a waiter checks the stamp again at least every
//! [`CHANGE_POLL`], so a lost notification costs latency, never correctness.

use std::time::{Duration, Instant};

use crate::db::params;
use crate::error::Result;
use crate::forum::Forum;
use crate::ids::{CommunityId, EventId};
use crate::store::OptionalExt;

/// How often a waiter looks at the database when nothing wakes it
/// earlier: always on SQLite, as a safety net on PostgreSQL.
pub const CHANGE_POLL: Duration = Duration::from_millis(50);

/// On PostgreSQL a notification wakes the waiter; it still looks again
/// this often by itself.
const POLL_NOTIFIED: Duration = Duration::from_secs(1);

/// A community's committed state, as far as caches care: it moves on every
/// committed change that appends an event or changes the settings or
/// categories. Compare two stamps with `==`; their contents are private.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeStamp {
    last_event: i64,
    config_version: i64,
}

impl ChangeStamp {
    /// The community's last committed event (`EventId(0)` for none).
    /// Events of one community commit in id order, so a process that has
    /// already seen this event through its own hooks has seen every change
    /// it stands for.
    pub fn last_event(&self) -> EventId {
        EventId(self.last_event)
    }

    /// Whether the settings or categories changed between the two stamps
    /// (some of those changes append no event).
    pub fn settings_differ(&self, other: &ChangeStamp) -> bool {
        self.config_version != other.config_version
    }
}

impl Forum {
    /// The community's stamp now.
    pub fn change_stamp(&self, community: CommunityId) -> Result<ChangeStamp> {
        self.read(|conn, _| {
            let config_version: i64 = conn
                .prepare_cached("SELECT config_version FROM communities WHERE id = ?1")?
                .query_row(params![community], |r| r.get(0))
                .found("community")?;
            let last_event: i64 = conn
                .prepare_cached("SELECT coalesce(max(id), 0) FROM events WHERE community_id = ?1")?
                .query_row(params![community], |r| r.get(0))?;
            Ok(ChangeStamp {
                last_event,
                config_version,
            })
        })
    }

    /// Waits until the community's stamp differs from `seen`, or `timeout`
    /// passes; returns the stamp then (equal to `seen` after a timeout).
    /// For a process's cache of what another process may change: a thread
    /// that loops on this and drops the cache when the stamp moves.
    pub fn wait_for_change(
        &self,
        community: CommunityId,
        seen: ChangeStamp,
        timeout: Duration,
    ) -> Result<ChangeStamp> {
        let deadline = Instant::now() + timeout;
        let nap = if self.store.notifies() {
            POLL_NOTIFIED
        } else {
            CHANGE_POLL
        };
        loop {
            let now = self.change_stamp(community)?;
            let left = deadline.saturating_duration_since(Instant::now());
            if now != seen || left.is_zero() {
                return Ok(now);
            }
            self.store.wait_for_notice(left.min(nap));
        }
    }
}
