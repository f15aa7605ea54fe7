//! Trust levels 0–4 and the activity that earns them.
//!
//! Every member of a community has a trust level. Levels 1 to 3 are earned
//! automatically from activity counted in the transaction of each activity
//! (visits, topics entered, posts read, reading time, likes, posts); level 4
//! ("leader") is only granted by staff. The defaults follow Discourse's
//! published thresholds and every one is a community setting
//! ([`TrustSettings`]). Levels 0→1→2 are checked whenever the counters
//! change (one row read); level 3 looks at a window of recent days and is
//! checked on a member's first visit of each day, which is also when a
//! regular who no longer meets it drops back to 2 (never sooner than
//! `min_days_before_demotion` after promotion). A level set by staff is
//! locked: automation leaves it alone.

use crate::clock::DAY_MS;
use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CommunityId, TopicId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::store::{OptionalExt, optional};

/// How far a member is trusted in one community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrustLevel {
    /// 0: new; links, images and first-day topics are limited; may not flag.
    New,
    /// 1: basic; may flag.
    Basic,
    /// 2: member.
    Member,
    /// 3: regular; may retitle and recategorize in discussion categories.
    Regular,
    /// 4: leader; granted by staff only.
    Leader,
}

impl TrustLevel {
    /// Every level, lowest first.
    pub const ALL: [TrustLevel; 5] = [
        TrustLevel::New,
        TrustLevel::Basic,
        TrustLevel::Member,
        TrustLevel::Regular,
        TrustLevel::Leader,
    ];

    /// The level as a number, 0 to 4.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// The level with this number.
    pub fn from_number(n: u8) -> Option<TrustLevel> {
        TrustLevel::ALL.get(usize::from(n)).copied()
    }

    pub(crate) fn from_db(n: i64) -> Result<TrustLevel> {
        u8::try_from(n)
            .ok()
            .and_then(TrustLevel::from_number)
            .ok_or_else(|| Error::Storage(format!("unknown trust level {n} in database")))
    }
}

/// Cumulative activity a level asks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LevelRequirements {
    /// Distinct days with a visit.
    pub days_visited: u32,
    /// Distinct topics opened.
    pub topics_entered: u32,
    /// Posts read.
    pub posts_read: u32,
    /// Minutes spent reading.
    pub read_minutes: u32,
    /// Likes given.
    pub likes_given: u32,
    /// Likes received.
    pub likes_received: u32,
    /// Distinct topics replied to.
    pub topics_replied_to: u32,
}

impl Default for LevelRequirements {
    fn default() -> Self {
        // Level 1 (basic), as in Discourse.
        LevelRequirements {
            days_visited: 0,
            topics_entered: 5,
            posts_read: 30,
            read_minutes: 10,
            likes_given: 0,
            likes_received: 0,
            topics_replied_to: 0,
        }
    }
}

/// What level 3 ("regular") asks for, over the last `window_days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegularRequirements {
    /// The window (default 100 days).
    pub window_days: u32,
    /// Days visited in the window (default 50).
    pub days_visited: u32,
    /// Distinct topics replied to in the window (default 10).
    pub topics_replied_to: u32,
    /// Share of the topics created in the window that the member entered,
    /// in percent (default 25), at most `topics_viewed_cap` topics.
    pub topics_viewed_percent: u32,
    /// Cap on the topics-viewed requirement (default 500).
    pub topics_viewed_cap: u32,
    /// Share of the posts created in the window that the member read, in
    /// percent (default 25), at most `posts_read_cap`.
    pub posts_read_percent: u32,
    /// Cap on the posts-read requirement (default 20,000).
    pub posts_read_cap: u32,
    /// Topics entered ever (default 200).
    pub topics_viewed_all_time: u32,
    /// Posts read ever (default 500).
    pub posts_read_all_time: u32,
    /// Likes given in the window (default 30).
    pub likes_given: u32,
    /// Likes received in the window (default 20).
    pub likes_received: u32,
    /// At most this many flags against the member's posts that moderators
    /// agreed with (default 5).
    pub max_flags_agreed: u32,
    /// A regular keeps the level at least this long (default 14 days).
    pub min_days_before_demotion: u32,
}

impl Default for RegularRequirements {
    fn default() -> Self {
        RegularRequirements {
            window_days: 100,
            days_visited: 50,
            topics_replied_to: 10,
            topics_viewed_percent: 25,
            topics_viewed_cap: 500,
            posts_read_percent: 25,
            posts_read_cap: 20_000,
            topics_viewed_all_time: 200,
            posts_read_all_time: 500,
            likes_given: 30,
            likes_received: 20,
            max_flags_agreed: 5,
            min_days_before_demotion: 14,
        }
    }
}

/// Limits on members at level 0.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NewMemberLimits {
    /// Links per post (default 2).
    pub max_links: u32,
    /// Images per post (default 1).
    pub max_images: u32,
    /// @mentions per post (default 2).
    pub max_mentions: u32,
    /// Topics in the first 24 hours after joining (default 3).
    pub topics_first_day: u32,
    /// Replies in the first 24 hours after joining (default 10).
    pub replies_first_day: u32,
}

impl Default for NewMemberLimits {
    fn default() -> Self {
        NewMemberLimits {
            max_links: 2,
            max_images: 1,
            max_mentions: 2,
            topics_first_day: 3,
            replies_first_day: 10,
        }
    }
}

/// Trust-level thresholds and what levels unlock. Part of
/// [`CommunitySettings`](crate::CommunitySettings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TrustSettings {
    /// 0 → 1 (default: 5 topics entered, 30 posts read, 10 minutes reading).
    pub basic: LevelRequirements,
    /// 1 → 2 (default: 15 days visited, 20 topics entered, 100 posts read,
    /// 60 minutes, 1 like given, 1 received, 3 topics replied to).
    pub member: LevelRequirements,
    /// 2 → 3.
    pub regular: RegularRequirements,
    /// Limits at level 0.
    pub new_member: NewMemberLimits,
    /// Lowest level that may flag posts (default 1).
    pub flag_min: TrustLevel,
    /// Lowest level that may retitle and recategorize other members'
    /// topics in discussion categories (default 3).
    pub recategorize_min: TrustLevel,
}

impl Default for TrustSettings {
    fn default() -> Self {
        TrustSettings {
            basic: LevelRequirements::default(),
            member: LevelRequirements {
                days_visited: 15,
                topics_entered: 20,
                posts_read: 100,
                read_minutes: 60,
                likes_given: 1,
                likes_received: 1,
                topics_replied_to: 3,
            },
            regular: RegularRequirements::default(),
            new_member: NewMemberLimits::default(),
            flag_min: TrustLevel::Basic,
            recategorize_min: TrustLevel::Regular,
        }
    }
}

impl TrustSettings {
    pub(crate) fn validate(&self) -> Result<()> {
        let r = &self.regular;
        if !(1..=3650).contains(&r.window_days) || r.days_visited > r.window_days {
            return Err(Error::invalid(
                "trust",
                "regular.window_days must be 1 to 3,650 and at least regular.days_visited",
            ));
        }
        if r.topics_viewed_percent > 100 || r.posts_read_percent > 100 {
            return Err(Error::invalid("trust", "percentages must be 0 to 100"));
        }
        if self.recategorize_min < TrustLevel::Basic {
            return Err(Error::invalid(
                "trust",
                "recategorize_min must be level 1 or higher",
            ));
        }
        Ok(())
    }
}

/// A member's activity in one community, as trust levels count it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    /// Distinct days with a visit.
    pub days_visited: u32,
    /// Distinct topics opened.
    pub topics_entered: u32,
    /// Posts read.
    pub posts_read: u32,
    /// Minutes spent reading.
    pub read_minutes: u32,
    /// Likes given.
    pub likes_given: u32,
    /// Likes received.
    pub likes_received: u32,
    /// Posts written.
    pub posts_created: u32,
    /// Topics opened.
    pub topics_created: u32,
    /// Distinct topics replied to.
    pub topics_replied_to: u32,
    /// Flags against their posts that moderators agreed with.
    pub flags_agreed: u32,
    /// Flags they raised.
    pub flags_given: u32,
    /// Of those, resolved as agreed.
    pub flags_given_agreed: u32,
    /// Of those, resolved as disagreed.
    pub flags_given_disagreed: u32,
}

impl Activity {
    /// Share of this member's resolved flags that moderators agreed with, if
    /// any were resolved.
    pub fn flag_accuracy(&self) -> Option<f64> {
        let resolved = self.flags_given_agreed + self.flags_given_disagreed;
        (resolved > 0).then(|| f64::from(self.flags_given_agreed) / f64::from(resolved))
    }

    fn meets(&self, r: &LevelRequirements) -> bool {
        self.days_visited >= r.days_visited
            && self.topics_entered >= r.topics_entered
            && self.posts_read >= r.posts_read
            && self.read_minutes >= r.read_minutes
            && self.likes_given >= r.likes_given
            && self.likes_received >= r.likes_received
            && self.topics_replied_to >= r.topics_replied_to
    }
}

/// A member's trust level with the activity behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trust {
    /// The current level.
    pub level: TrustLevel,
    /// Set by staff; automation leaves it alone.
    pub locked: bool,
    /// Lifetime activity.
    pub activity: Activity,
}

/// Changes to a member's counters, applied by [`bump`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Delta {
    pub topics_entered: i64,
    pub posts_read: i64,
    pub read_ms: i64,
    pub likes_given: i64,
    pub likes_received: i64,
    pub posts_created: i64,
    pub topics_created: i64,
    pub topics_replied_to: i64,
    pub flags_agreed: i64,
    pub flags_given: i64,
    pub flags_given_agreed: i64,
    pub flags_given_disagreed: i64,
}

fn today(w: &Write<'_>) -> i64 {
    w.now_ms().div_euclid(DAY_MS)
}

/// Adds `d` to a member's counters (lifetime and today's) and re-checks
/// levels 0→1→2. Non-members (and the system) are ignored.
pub(crate) fn bump(w: &mut Write<'_>, viewer: &Viewer, user: UserId, d: Delta) -> Result<()> {
    let community = viewer.community;
    let max = w.tx.greatest();
    w.tx.prepare_cached(&format!(
        "INSERT INTO member_activity (community_id, user_id, topics_entered, posts_read, read_ms,
             likes_given, likes_received, posts_created, topics_created, topics_replied_to,
             flags_agreed, flags_given, flags_given_agreed, flags_given_disagreed)
         SELECT ?1, ?2, {max}(?3, 0), {max}(?4, 0), {max}(?5, 0), {max}(?6, 0), {max}(?7, 0), {max}(?8, 0),
                {max}(?9, 0), {max}(?10, 0), {max}(?11, 0), {max}(?12, 0), {max}(?13, 0), {max}(?14, 0)
         WHERE EXISTS (SELECT 1 FROM memberships WHERE community_id = ?1 AND user_id = ?2)
         ON CONFLICT (community_id, user_id) DO UPDATE SET
             topics_entered = {max}(member_activity.topics_entered + ?3, 0), posts_read = {max}(member_activity.posts_read + ?4, 0),
             read_ms = {max}(member_activity.read_ms + ?5, 0), likes_given = {max}(member_activity.likes_given + ?6, 0),
             likes_received = {max}(member_activity.likes_received + ?7, 0), posts_created = {max}(member_activity.posts_created + ?8, 0),
             topics_created = {max}(member_activity.topics_created + ?9, 0),
             topics_replied_to = {max}(member_activity.topics_replied_to + ?10, 0),
             flags_agreed = {max}(member_activity.flags_agreed + ?11, 0), flags_given = {max}(member_activity.flags_given + ?12, 0),
             flags_given_agreed = {max}(member_activity.flags_given_agreed + ?13, 0),
             flags_given_disagreed = {max}(member_activity.flags_given_disagreed + ?14, 0)"
    ))?
    .execute(params![
        community,
        user,
        d.topics_entered,
        d.posts_read,
        d.read_ms,
        d.likes_given,
        d.likes_received,
        d.posts_created,
        d.topics_created,
        d.topics_replied_to,
        d.flags_agreed,
        d.flags_given,
        d.flags_given_agreed,
        d.flags_given_disagreed
    ])?;
    // Did the member do something themselves (not only receive likes)?
    let acted = d.topics_entered > 0
        || d.posts_read > 0
        || d.likes_given > 0
        || d.topics_replied_to > 0
        || d.posts_created > 0
        || d.topics_created > 0;
    if acted
        || d.topics_entered != 0
        || d.posts_read != 0
        || d.likes_given != 0
        || d.likes_received != 0
        || d.topics_replied_to != 0
    {
        // `acted` is left out of the SET list: naming it would rewrite the
        // partial index `member_days_active` on every update, even when it
        // stays 1 (one more WAL page per reply). The row tells whether it
        // still needs setting (no row: not a member).
        let day = today(w);
        const UPSERT: &str = "INSERT INTO member_days (community_id, user_id, day, topics_entered,
                                  posts_read, likes_given, likes_received, topics_replied_to, acted)
             SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9
             WHERE EXISTS (SELECT 1 FROM memberships WHERE community_id = ?1 AND user_id = ?2)
             ON CONFLICT (community_id, user_id, day) DO UPDATE SET
                 topics_entered = member_days.topics_entered + ?4, posts_read = member_days.posts_read + ?5,
                 likes_given = member_days.likes_given + ?6, likes_received = member_days.likes_received + ?7,
                 topics_replied_to = member_days.topics_replied_to + ?8";
        let values = params![
            community,
            user,
            day,
            d.topics_entered,
            d.posts_read,
            d.likes_given,
            d.likes_received,
            d.topics_replied_to,
            acted
        ];
        let marked: Option<bool> = if w.tx.dialect() == db::Dialect::Sqlite {
            // No `RETURNING` on SQLite (see `Conn::insert_id`): the row
            // is read back, and only when it matters.
            w.tx.prepare_cached(UPSERT)?.execute(values)?;
            if acted {
                optional(
                    w.tx.prepare_cached(
                        "SELECT acted <> 0 FROM member_days
                         WHERE community_id = ?1 AND user_id = ?2 AND day = ?3",
                    )?
                    .query_row(params![community, user, day], |r| r.get(0)),
                )?
            } else {
                None
            }
        } else {
            optional(
                w.tx.prepare_cached(&format!("{UPSERT} RETURNING acted <> 0"))?
                    .query_row(values, |r| r.get(0)),
            )?
        };
        if acted && marked == Some(false) {
            set_acted(w, community, user, day)?;
        }
        if acted && !w.acted.contains(&(community, user)) {
            w.acted.push((community, user));
        }
    }
    evaluate(w, viewer, user, false)
}

/// Counts a new topic and post in the community's per-day totals.
pub(crate) fn count_content(w: &Write<'_>, community: CommunityId, topic: bool) -> Result<()> {
    w.tx.prepare_cached(
        "INSERT INTO community_days (community_id, day, topics, posts) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (community_id, day) DO UPDATE SET topics = community_days.topics + ?3,
                                                       posts = community_days.posts + 1",
    )?
    .execute(params![community, today(w), i64::from(topic)])?;
    Ok(())
}

/// Records a visit; on the first of a UTC day, counts the day and reviews
/// level 3.
pub(crate) fn visit(w: &mut Write<'_>, viewer: &Viewer, user: UserId) -> Result<()> {
    let community = viewer.community;
    let day = today(w);
    let changed =
        w.tx.prepare_cached(
            "INSERT INTO member_activity (community_id, user_id, days_visited, last_visit_day)
             SELECT ?1, ?2, 1, ?3
             WHERE EXISTS (SELECT 1 FROM memberships WHERE community_id = ?1 AND user_id = ?2)
             ON CONFLICT (community_id, user_id) DO UPDATE
             SET days_visited = member_activity.days_visited + 1, last_visit_day = ?3
             WHERE member_activity.last_visit_day < ?3",
        )?
        .execute(params![community, user, day])?;
    if changed > 0 {
        set_acted(w, community, user, day)?;
        evaluate(w, viewer, user, true)?;
    }
    Ok(())
}

/// Marks the day as one each event's actor did something (members only):
/// every event of a write, in its transaction, so `member_days.acted` is
/// the event log's record of who was active when.
pub(crate) fn mark_acted(w: &Write<'_>) -> Result<()> {
    let day = today(w);
    let mut done: Vec<(CommunityId, UserId)> = Vec::new();
    for e in &w.events {
        // Joining is counted as joining, not as a day of activity (adding
        // someone else is activity).
        let joined_self = e.kind == crate::events::EventKind::MemberJoined && e.subject == e.actor;
        let Some(actor) = e.actor.filter(|_| !joined_self) else {
            continue;
        };
        if done.contains(&(e.community, actor)) || w.acted.contains(&(e.community, actor)) {
            continue;
        }
        done.push((e.community, actor));
        set_acted(w, e.community, actor, day)?;
    }
    Ok(())
}

/// Marks `day` as one `user` acted on (members only). A day already marked
/// is not written again: the row and the partial index
/// `member_days_active` stay untouched.
fn set_acted(w: &Write<'_>, community: CommunityId, user: UserId, day: i64) -> Result<()> {
    w.tx.prepare_cached(
        "INSERT INTO member_days (community_id, user_id, day, acted)
         SELECT ?1, ?2, ?3, 1
         WHERE EXISTS (SELECT 1 FROM memberships WHERE community_id = ?1 AND user_id = ?2)
         ON CONFLICT (community_id, user_id, day) DO UPDATE SET acted = 1 WHERE member_days.acted = 0",
    )?
    .execute(params![community, user, day])?;
    Ok(())
}

/// Records reading in a topic: the highest post number seen and the time
/// spent.
pub(crate) fn read_progress(
    w: &mut Write<'_>,
    viewer: &Viewer,
    user: UserId,
    topic: TopicId,
    highest: i64,
    read_ms: i64,
) -> Result<()> {
    let before: i64 = optional(
        w.tx.prepare_cached(
            "SELECT last_read_post FROM topic_views WHERE topic_id = ?1 AND user_id = ?2",
        )?
        .query_row(params![topic, user], |r| r.get(0)),
    )?
    .unwrap_or(0);
    let newly = (highest - before).max(0);
    if newly > 0 {
        w.tx.prepare_cached(
            "UPDATE topic_views SET last_read_post = ?3 WHERE topic_id = ?1 AND user_id = ?2",
        )?
        .execute(params![topic, user, highest])?;
    }
    bump(
        w,
        viewer,
        user,
        Delta {
            posts_read: newly,
            read_ms,
            ..Delta::default()
        },
    )
}

/// The columns of `member_activity a` that [`activity_at`] reads.
const ACTIVITY_COLUMNS: &str = "a.days_visited, a.topics_entered, a.posts_read, a.read_ms,
    a.likes_given, a.likes_received, a.posts_created, a.topics_created, a.topics_replied_to,
    a.flags_agreed, a.flags_given, a.flags_given_agreed, a.flags_given_disagreed";

/// The [`ACTIVITY_COLUMNS`] starting at column `at`; all zero when they are
/// `NULL` (no activity row).
fn activity_at(r: &db::Row<'_>, at: usize) -> db::Result<Activity> {
    let n = |i: usize| -> db::Result<i64> { Ok(r.get::<_, Option<i64>>(at + i)?.unwrap_or(0)) };
    let count = |i: usize| -> db::Result<u32> { Ok(u32::try_from(n(i)?).unwrap_or(u32::MAX)) };
    Ok(Activity {
        days_visited: count(0)?,
        topics_entered: count(1)?,
        posts_read: count(2)?,
        read_minutes: u32::try_from(n(3)? / 60_000).unwrap_or(u32::MAX),
        likes_given: count(4)?,
        likes_received: count(5)?,
        posts_created: count(6)?,
        topics_created: count(7)?,
        topics_replied_to: count(8)?,
        flags_agreed: count(9)?,
        flags_given: count(10)?,
        flags_given_agreed: count(11)?,
        flags_given_disagreed: count(12)?,
    })
}

fn load_activity(conn: &Conn, community: CommunityId, user: UserId) -> Result<Activity> {
    Ok(optional(
        conn.prepare_cached(&format!(
            "SELECT {ACTIVITY_COLUMNS} FROM member_activity a WHERE a.community_id = ?1 AND a.user_id = ?2"
        ))?
        .query_row(params![community, user], |r| activity_at(r, 0)),
    )?
    .unwrap_or_default())
}

/// Whether the member meets level 3 now (windowed requirements).
fn meets_regular(
    conn: &Conn,
    community: CommunityId,
    user: UserId,
    all: &Activity,
    r: &RegularRequirements,
    day: i64,
) -> Result<bool> {
    if all.topics_entered < r.topics_viewed_all_time
        || all.posts_read < r.posts_read_all_time
        || all.flags_agreed > r.max_flags_agreed
    {
        return Ok(false);
    }
    let since = day - i64::from(r.window_days) + 1;
    let (days, entered, read, given, received, replied): (i64, i64, i64, i64, i64, i64) = conn
        .prepare_cached(
            "SELECT count(*), CAST(coalesce(sum(topics_entered), 0) AS BIGINT), CAST(coalesce(sum(posts_read), 0) AS BIGINT),
                    CAST(coalesce(sum(likes_given), 0) AS BIGINT), CAST(coalesce(sum(likes_received), 0) AS BIGINT),
                    CAST(coalesce(sum(topics_replied_to), 0) AS BIGINT)
             FROM member_days WHERE community_id = ?1 AND user_id = ?2 AND day >= ?3",
        )?
        .query_row(params![community, user, since], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })?;
    let (topics, posts): (i64, i64) = conn
        .prepare_cached(
            "SELECT CAST(coalesce(sum(topics), 0) AS BIGINT), CAST(coalesce(sum(posts), 0) AS BIGINT) FROM community_days
             WHERE community_id = ?1 AND day >= ?2",
        )?
        .query_row(params![community, since], |r| Ok((r.get(0)?, r.get(1)?)))?;
    let share = |total: i64, pct: u32, cap: u32| (total * i64::from(pct) / 100).min(i64::from(cap));
    Ok(days >= i64::from(r.days_visited)
        && replied >= i64::from(r.topics_replied_to)
        && entered >= share(topics, r.topics_viewed_percent, r.topics_viewed_cap)
        && read >= share(posts, r.posts_read_percent, r.posts_read_cap)
        && given >= i64::from(r.likes_given)
        && received >= i64::from(r.likes_received))
}

/// Re-checks a member's level: promotions to 1 and 2 always, level 3 (up
/// or down) only when `windowed`.
fn evaluate(w: &mut Write<'_>, viewer: &Viewer, user: UserId, windowed: bool) -> Result<()> {
    let community = viewer.community;
    // Levels 2 and up change only on the daily review: skip the read when
    // the acting member's own level (loaded in this transaction) says so.
    if !windowed && viewer.user == Some(user) && viewer.trust >= TrustLevel::Member {
        return Ok(());
    }
    // The membership and its activity in one statement.
    let Some((level, locked, since, activity)) = optional(
        w.tx.prepare_cached(&format!(
            "SELECT m.trust_level, m.trust_locked, m.trust_since, {ACTIVITY_COLUMNS}
             FROM memberships m
             LEFT JOIN member_activity a ON a.community_id = m.community_id AND a.user_id = m.user_id
             WHERE m.community_id = ?1 AND m.user_id = ?2"
        ))?
        .query_row(params![community, user], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, bool>(1)?,
                r.get::<_, Option<i64>>(2)?,
                activity_at(r, 3)?,
            ))
        }),
    )?
    else {
        return Ok(());
    };
    let level = TrustLevel::from_db(level)?;
    if locked || level == TrustLevel::Leader || (level >= TrustLevel::Member && !windowed) {
        return Ok(());
    }
    let settings = &viewer.config.settings.trust;
    let mut next = level;
    if next == TrustLevel::New && activity.meets(&settings.basic) {
        next = TrustLevel::Basic;
    }
    if next == TrustLevel::Basic && activity.meets(&settings.member) {
        next = TrustLevel::Member;
    }
    if windowed && next >= TrustLevel::Member {
        let ok = meets_regular(
            w.tx,
            community,
            user,
            &activity,
            &settings.regular,
            today(w),
        )?;
        if next == TrustLevel::Member && ok {
            next = TrustLevel::Regular;
        } else if next == TrustLevel::Regular && !ok {
            let held = w.now_ms() - since.unwrap_or(0);
            if held >= i64::from(settings.regular.min_days_before_demotion) * DAY_MS {
                next = TrustLevel::Member;
            }
        }
    }
    if next != level {
        set_level(w, community, user, level, next, false, None)?;
    }
    Ok(())
}

fn set_level(
    w: &mut Write<'_>,
    community: CommunityId,
    user: UserId,
    from: TrustLevel,
    to: TrustLevel,
    locked: bool,
    by: Option<UserId>,
) -> Result<()> {
    w.tx.prepare_cached(
        "UPDATE memberships SET trust_level = ?3, trust_locked = ?4, trust_since = ?5
         WHERE community_id = ?1 AND user_id = ?2",
    )?
    .execute(params![community, user, to.number(), locked, w.now_ms()])?;
    let mut e = NewEvent::new(EventKind::TrustChanged, Audience::Members);
    e.actor = by;
    e.subject = Some(user);
    e.data = serde_json::json!({ "from": from.number(), "to": to.number(), "locked": locked });
    w.emit(community, e)
}

impl Forum {
    /// A member's trust level and the activity behind it. Visible to the
    /// member themselves and to moderators.
    pub fn trust(&self, actor: &Actor, community: CommunityId, user: UserId) -> Result<Trust> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if viewer.user != Some(user) && !viewer.is_moderator() {
                return Err(Error::forbidden(
                    "only the member and moderators see trust details",
                ));
            }
            let (level, locked): (i64, bool) = conn
                .prepare_cached(
                    "SELECT trust_level, trust_locked FROM memberships
                     WHERE community_id = ?1 AND user_id = ?2",
                )?
                .query_row(params![community, user], |r| Ok((r.get(0)?, r.get(1)?)))
                .found("member")?;
            Ok(Trust {
                level: TrustLevel::from_db(level)?,
                locked,
                activity: load_activity(conn, community, user)?,
            })
        })
    }

    /// Sets a member's trust level by hand and locks it (automation no
    /// longer changes it); `None` unlocks it and lets activity decide again
    /// from the current level. Moderators only; level 4 only this way.
    pub fn set_trust_level(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        level: Option<TrustLevel>,
        reason: Option<&str>,
    ) -> Result<()> {
        crate::audit::check_reason(reason)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_moderator()?;
            let current: i64 = w
                .tx
                .prepare_cached(
                    "SELECT trust_level FROM memberships WHERE community_id = ?1 AND user_id = ?2",
                )?
                .query_row(params![community, user], |r| r.get(0))
                .found("member")?;
            let current = TrustLevel::from_db(current)?;
            match level {
                Some(to) => set_level(w, community, user, current, to, true, viewer.user)?,
                None => {
                    w.tx.prepare_cached(
                        "UPDATE memberships SET trust_locked = 0 WHERE community_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![community, user])?;
                    evaluate(w, &viewer, user, true)?;
                }
            }
            crate::audit::record(
                w,
                &viewer,
                crate::audit::AuditAction::TrustLevelSet,
                crate::audit::Target::Member(user),
                serde_json::json!({ "level": current.number() }),
                serde_json::json!({ "level": level.map(TrustLevel::number), "locked": level.is_some() }),
                reason,
            )
        })
    }

    /// Records that a member visited the community today (the web layer
    /// calls this once per request or session; repeated calls on one day
    /// count once). Guests and non-members are ignored.
    pub fn record_visit(&self, actor: &Actor, community: CommunityId) -> Result<()> {
        let Actor::User(user) = *actor else {
            return Ok(());
        };
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            visit(w, &viewer, user)
        })
    }

    /// Records visits of many members at once (once per member per day
    /// counts), in one transaction: what a web layer buffers.
    /// Non-members are skipped.
    pub fn record_visits(&self, community: CommunityId, users: &[UserId]) -> Result<usize> {
        if users.is_empty() {
            return Ok(0);
        }
        self.write(|w| {
            let mut n = 0;
            for user in users {
                let Ok(viewer) = self.viewer_in(w, &Actor::User(*user), community) else {
                    continue;
                };
                if viewer.role.is_some() {
                    visit(w, &viewer, *user)?;
                    n += 1;
                }
            }
            Ok(n)
        })
    }

    /// Records reading progress in a topic: the highest post number the
    /// member has seen and the time spent reading since the last call
    /// (capped at 10 minutes per call), as a browser reports it.
    pub fn record_reading(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        highest_post_number: i64,
        read_time: std::time::Duration,
    ) -> Result<()> {
        let Actor::User(user) = *actor else {
            return Ok(());
        };
        if highest_post_number < 1 {
            return Err(Error::invalid(
                "highest_post_number",
                "post numbers start at 1",
            ));
        }
        let ms = i64::try_from(read_time.as_millis())
            .unwrap_or(i64::MAX)
            .min(600_000);
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let (topic_id, last) = crate::topic::readable_topic(w.tx, &viewer, topic)?;
            crate::topic::count_entry(w, &viewer, user, topic_id)?;
            read_progress(
                w,
                &viewer,
                user,
                topic_id,
                highest_post_number.min(last),
                ms,
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_round_trip() {
        for l in TrustLevel::ALL {
            assert_eq!(TrustLevel::from_number(l.number()), Some(l));
        }
        assert_eq!(TrustLevel::from_number(5), None);
        assert!(TrustLevel::New < TrustLevel::Leader);
    }

    #[test]
    fn requirements_are_all_required() {
        let r = TrustSettings::default().basic;
        let mut a = Activity {
            topics_entered: 5,
            posts_read: 30,
            read_minutes: 10,
            ..Activity::default()
        };
        assert!(a.meets(&r));
        a.read_minutes = 9;
        assert!(!a.meets(&r));
    }

    #[test]
    fn accuracy() {
        let a = Activity {
            flags_given_agreed: 3,
            flags_given_disagreed: 1,
            ..Activity::default()
        };
        assert_eq!(a.flag_accuracy(), Some(0.75));
        assert_eq!(Activity::default().flag_accuracy(), None);
    }
}
