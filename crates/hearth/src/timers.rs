//! Topic timers: close, open or delete a topic at a set moment, or a while
//! after its last post ("close 7 days after the last reply"), as
//! Discourse's topic timers do. At most one timer per topic.
//!
//! Nothing needs to be scheduled by the embedder: a due timer runs the
//! next time anyone reads a topic list or a topic (one atomic load when
//! none is due; see `due.rs`), or when [`Forum::run_topic_timers`] is
//! called. Running takes the timer row in the transaction that acts, so
//! two processes never run one timer twice.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditAction, Target, record};
use crate::category::string_enum;
use crate::clock::{from_millis, to_millis};
use crate::curate::set_flag_in;
use crate::db::{self, OptionalExtension, params};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, PostId, TopicId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::topic::{TopicFlag, delete_in, topic_state};

/// The longest a timer may wait (Discourse allows about 20 years; a
/// community is unlikely to need more than ten).
pub const MAX_TIMER_DAYS: i64 = 3_650;

string_enum! {
    /// What a topic timer does when it runs.
    TimerAction {
        /// Closes the topic (no new replies).
        Close = "close",
        /// Opens a closed topic.
        Open = "open",
        /// Deletes the topic (moderators may restore it).
        Delete = "delete",
    }
}

/// When a timer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimerWhen {
    /// At this moment (in the future).
    #[serde(with = "time::serde::rfc3339")]
    At(OffsetDateTime),
    /// This long after the topic's last post: each new post puts it off.
    /// Only for [`TimerAction::Close`], as on Discourse.
    AfterLastPost(Duration),
}

/// A topic's timer, as [`Forum::topic_timer`] shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicTimer {
    /// The topic.
    pub topic: TopicId,
    /// What it does.
    pub action: TimerAction,
    /// When it runs next, as things stand (a new post moves an
    /// after-last-post timer).
    #[serde(with = "time::serde::rfc3339")]
    pub execute_at: OffsetDateTime,
    /// Set for timers counted from the last post.
    pub after_last_post: Option<Duration>,
    /// Who set it (`None`: the application).
    pub created_by: Option<UserId>,
}

/// A timer row: action, execute at, after last post, set by, and the
/// topic's last activity.
type TimerRow = (String, i64, Option<i64>, Option<UserId>, i64);

fn load_timer(conn: &db::Conn, topic: TopicId) -> Result<Option<TopicTimer>> {
    let row: Option<TimerRow> = conn
        .prepare_cached(
            "SELECT tt.action, tt.execute_at, tt.after_last_post, tt.created_by, t.bumped_at
             FROM topic_timers tt JOIN topics t ON t.id = tt.topic_id WHERE tt.topic_id = ?1",
        )?
        .query_row([topic], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .optional()?;
    let Some((action, at, after, by, bumped)) = row else {
        return Ok(None);
    };
    let at = match after {
        Some(ms) => at.max(bumped.saturating_add(ms)),
        None => at,
    };
    Ok(Some(TopicTimer {
        topic,
        action: TimerAction::parse(&action)?,
        execute_at: from_millis(at),
        after_last_post: after.map(Duration::milliseconds),
        created_by: by,
    }))
}

impl Forum {
    /// Sets a topic's timer (replacing any other), or removes it with
    /// `None`. Moderators only; audited. Returns the timer as set.
    pub fn set_topic_timer(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        timer: Option<(TimerAction, TimerWhen)>,
    ) -> Result<Option<TopicTimer>> {
        let now = self.now();
        let longest = Duration::days(MAX_TIMER_DAYS);
        let row = match timer {
            None => None,
            Some((action, TimerWhen::At(at))) => {
                if at <= now {
                    return Err(Error::invalid("time", "must be in the future"));
                }
                if at - now > longest {
                    return Err(Error::invalid(
                        "time",
                        format!("at most {MAX_TIMER_DAYS} days ahead"),
                    ));
                }
                Some((action, to_millis(at), None))
            }
            Some((action, TimerWhen::AfterLastPost(after))) => {
                if action != TimerAction::Close {
                    return Err(Error::invalid(
                        "based_on_last_post",
                        "only a close timer counts from the last post",
                    ));
                }
                if after <= Duration::ZERO || after > longest {
                    return Err(Error::invalid(
                        "time",
                        format!("between a minute and {MAX_TIMER_DAYS} days"),
                    ));
                }
                let ms = i64::try_from(after.whole_milliseconds()).unwrap_or(i64::MAX);
                Some((action, to_millis(now).saturating_add(ms), Some(ms)))
            }
        };
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = topic_state(w.tx, &viewer, topic)?;
            viewer.require_moderator()?;
            if state.deleted && row.is_some() {
                return Err(Error::conflict("the topic is deleted; restore it first"));
            }
            let before = load_timer(w.tx, topic)?;
            w.tx.prepare_cached("DELETE FROM topic_timers WHERE topic_id = ?1")?
                .execute([topic])?;
            if let Some((action, at, after)) = row {
                let by = viewer.user;
                w.tx.prepare_cached(
                    "INSERT INTO topic_timers (topic_id, action, execute_at, after_last_post,
                                               created_by, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )?
                .execute(params![
                    topic,
                    action.as_str(),
                    at,
                    after,
                    by,
                    w.now_ms()
                ])?;
            }
            record(
                w,
                &viewer,
                AuditAction::TopicTimerSet,
                Target::Topic(topic),
                serde_json::to_value(&before).unwrap_or_default(),
                serde_json::to_value(load_timer(w.tx, topic)?).unwrap_or_default(),
                None,
            )
        })?;
        if let Some((_, at, _)) = row {
            self.timers.lower(at);
        }
        self.read(|conn, _| load_timer(conn, topic))
    }

    /// A topic's timer, for anyone who may read the topic ("this topic
    /// closes in 3 days").
    pub fn topic_timer(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<Option<TopicTimer>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            topic_state(conn, &viewer, topic)?;
            load_timer(conn, topic)
        })
    }

    /// Runs every timer whose moment has come, in every community, each in
    /// its own transaction; returns how many acted (or the first failure,
    /// once every due timer was tried). Reads run this by
    /// themselves when something is due; call it to act without waiting
    /// for a reader (for example from a periodic job).
    pub fn run_topic_timers(&self) -> Result<u64> {
        let now = to_millis(self.now());
        let due: Vec<(CommunityId, TopicId)> = self.read(|conn, _| {
            Ok(conn
                .prepare_cached(
                    "SELECT t.community_id, tt.topic_id FROM topic_timers tt
                     JOIN topics t ON t.id = tt.topic_id
                     WHERE tt.execute_at <= ?1 ORDER BY tt.execute_at",
                )?
                .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<db::Result<_>>()?)
        })?;
        // One timer failing does not hold up the others; the first
        // failure is reported once all were tried.
        let mut acted = 0;
        let mut failed = None;
        for (community, topic) in due {
            match self.run_timer(community, topic, now) {
                Ok(true) => acted += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(%topic, error = %e, "a topic timer failed; it stays due");
                    failed.get_or_insert(e);
                }
            }
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(acted),
        }
    }

    /// Lifts expired pins and runs due timers, when any may be due (cheap
    /// otherwise). For read paths: a failure here is logged, not returned,
    /// so that reading never fails for work the reader did not ask for.
    pub(crate) fn run_due_work(&self) {
        if let Err(e) = self.expire_pins() {
            tracing::warn!(error = %e, "could not lift expired pins; trying again on a later read");
        }
        if let Err(e) = self.run_due_timers() {
            tracing::warn!(error = %e, "could not run due topic timers; trying again on a later read");
        }
    }

    /// Runs due timers when one may be due. Cheap otherwise.
    fn run_due_timers(&self) -> Result<()> {
        let now = to_millis(self.now());
        self.timers.run(
            now,
            || self.next_timer(),
            || self.run_topic_timers().map(|_| ()),
        )
    }

    fn next_timer(&self) -> Result<i64> {
        let next: Option<i64> = self.read(|conn, _| {
            Ok(conn
                .prepare_cached("SELECT min(execute_at) FROM topic_timers")?
                .query_row(params![], |r| r.get(0))?)
        })?;
        Ok(next.unwrap_or(i64::MAX))
    }

    /// Runs one topic's timer if it is still due; `false` when another
    /// process ran it first or a new post put it off.
    fn run_timer(&self, community: CommunityId, topic: TopicId, now: i64) -> Result<bool> {
        self.write(|w| {
            let row: Option<(String, Option<i64>, i64)> =
                w.tx.prepare_cached(
                    "SELECT tt.action, tt.after_last_post, t.bumped_at
                     FROM topic_timers tt JOIN topics t ON t.id = tt.topic_id
                     WHERE tt.topic_id = ?1 AND tt.execute_at <= ?2",
                )?
                .query_row(params![topic, now], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .optional()?;
            let Some((action, after, bumped)) = row else {
                return Ok(false);
            };
            if let Some(after) = after {
                let at = bumped.saturating_add(after);
                if at > now {
                    w.tx.prepare_cached(
                        "UPDATE topic_timers SET execute_at = ?2 WHERE topic_id = ?1",
                    )?
                    .execute(params![topic, at])?;
                    return Ok(false);
                }
            }
            w.tx.prepare_cached("DELETE FROM topic_timers WHERE topic_id = ?1")?
                .execute([topic])?;
            let viewer = self.viewer_in(w, &Actor::System, community)?;
            let viewer = Viewer {
                user: None,
                ..viewer
            };
            let Ok(state) = topic_state(w.tx, &viewer, topic) else {
                return Ok(false); // merged away: nothing to act on
            };
            let reason = Some("the topic's timer ran");
            match TimerAction::parse(&action)? {
                TimerAction::Close | TimerAction::Open if state.deleted => Ok(false),
                TimerAction::Close if state.closed => Ok(false),
                TimerAction::Open if !state.closed => Ok(false),
                TimerAction::Close => {
                    set_flag_in(w, &viewer, &state, TopicFlag::Closed, true, reason)?;
                    Ok(true)
                }
                TimerAction::Open => {
                    set_flag_in(w, &viewer, &state, TopicFlag::Closed, false, reason)?;
                    Ok(true)
                }
                TimerAction::Delete => {
                    if state.deleted {
                        return Ok(false);
                    }
                    let first: PostId =
                        w.tx.prepare_cached(
                            "SELECT id FROM posts WHERE topic_id = ?1 AND post_number = 1",
                        )?
                        .query_row([topic], |r| r.get(0))?;
                    delete_in(w, &viewer, first)
                }
            }
        })
    }
}
