//! The header bell's count per member, reused while nothing it depends on
//! can have changed.
//!
//! Counting a member's unread notifications checks each one against what
//! they may still read — a tenth of a member's page. The count stays good
//! while the community's generation (every commit, every form sent, other
//! processes' commits through the change watcher) and this process's
//! *view epoch* (views are written without an event, and reading a topic
//! reads its notifications) are the ones it was counted in, and for at most
//! [`FRESH`]: the bound for what another process changes without an event
//! (its members' views).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hearth::UserId;

/// The longest a count is reused.
pub(crate) const FRESH: Duration = Duration::from_secs(10);
/// At most this many members' counts; when full, the cache starts over.
const MAX_ENTRIES: usize = 50_000;

#[derive(Debug, Clone, Copy)]
struct Count {
    generation: u64,
    epoch: u64,
    at: Instant,
    unread: u64,
}

/// Counts by member (see the module's documentation).
#[derive(Debug, Default)]
pub(crate) struct Bells {
    epoch: AtomicU64,
    counts: Mutex<HashMap<UserId, Count>>,
}

/// What [`Bells::stamp`] read: the state a count about to be made belongs
/// to. Read it *before* counting, so a change committed meanwhile makes the
/// count stale rather than hidden.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Stamp {
    generation: u64,
    epoch: u64,
}

impl Bells {
    /// The state now, for `generation` (the community's).
    pub fn stamp(&self, generation: u64) -> Stamp {
        Stamp {
            generation,
            epoch: self.epoch.load(Ordering::Acquire),
        }
    }

    /// The member's count, if it was made in `stamp`'s state less than
    /// [`FRESH`] ago.
    pub fn get(&self, user: UserId, stamp: Stamp) -> Option<u64> {
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        counts
            .get(&user)
            .filter(|c| {
                c.generation == stamp.generation && c.epoch == stamp.epoch && c.at.elapsed() < FRESH
            })
            .map(|c| c.unread)
    }

    /// Keeps the member's count, made in `stamp`'s state.
    pub fn put(&self, user: UserId, stamp: Stamp, unread: u64) {
        let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        if counts.len() >= MAX_ENTRIES && !counts.contains_key(&user) {
            counts.clear();
        }
        counts.insert(
            user,
            Count {
                generation: stamp.generation,
                epoch: stamp.epoch,
                at: Instant::now(),
                unread,
            },
        );
    }

    /// The view epoch now: it moves whenever members' views are written.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// Members' views were written (which reads their notifications about
    /// those topics): every count made before is stale.
    pub fn views_written(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_is_reused_only_in_the_state_it_was_made_in() {
        let bells = Bells::default();
        let (ada, bo) = (UserId(1), UserId(2));
        let s = bells.stamp(7);
        assert_eq!(bells.get(ada, s), None);
        bells.put(ada, s, 3);
        assert_eq!(bells.get(ada, bells.stamp(7)), Some(3));
        // Another member's count is their own.
        assert_eq!(bells.get(bo, bells.stamp(7)), None);
        // A commit in the community.
        assert_eq!(bells.get(ada, bells.stamp(8)), None);
        // Views written since it was counted.
        bells.views_written();
        assert_eq!(bells.get(ada, bells.stamp(7)), None);
        // A count made from a stamp read before the views were written is
        // stale as soon as it is kept.
        bells.put(ada, s, 3);
        assert_eq!(bells.get(ada, bells.stamp(7)), None);
    }

    #[test]
    fn a_count_is_not_kept_past_its_freshness() {
        let bells = Bells::default();
        let s = bells.stamp(1);
        bells.put(UserId(1), s, 5);
        if let Some(c) = bells
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&UserId(1))
        {
            c.at = Instant::now().checked_sub(FRESH).unwrap_or(c.at);
        }
        assert_eq!(bells.get(UserId(1), s), None);
    }
}
