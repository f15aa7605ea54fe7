//! Moderator actions on topics: close, archive, unlist, pin (in a category
//! or everywhere, until a time), move, retitle, merge and split, move in
//! time; and on posts: lock against the author's edits. Each one writes an
//! audit entry in its own transaction.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditAction, Target, check_reason, record};
use crate::category::CategoryKind;
use crate::clock::to_millis;
use crate::error::{Error, Result};
use crate::events::{EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CategoryId, CommunityId, PostId, TopicId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::rewards::reverse;
use crate::search::{index_post, refresh_scope};
use crate::store::OptionalExt;
use crate::tag_groups::check_tag_rules;
use crate::text::{clean_tags, clean_title, slugify};
use crate::topic::{Topic, TopicFlag, TopicState, audience, post_state, topic_state};

/// How [`Forum::pin_topic`] pins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    /// First in the community-wide list too, not only in its category.
    pub globally: bool,
    /// The pin ends by itself then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub until: Option<OffsetDateTime>,
}

/// Changes to a topic for [`Forum::update_topic`]; `None` leaves a field.
#[derive(Debug, Clone, Default)]
pub struct TopicUpdate {
    /// A new title.
    pub title: Option<String>,
    /// Move it to this category.
    pub category: Option<CategoryId>,
    /// Replace its tags.
    pub tags: Option<Vec<String>>,
}

/// What [`Forum::split_topic`] creates.
#[derive(Debug, Clone)]
pub struct NewSplit {
    /// The new topic's title.
    pub title: String,
    /// Its category.
    pub category: CategoryId,
}

/// A moderator's view of a topic that must exist and not be merged away
/// (deleted ones included).
fn live_topic(conn: &Conn, viewer: &Viewer, topic: TopicId) -> Result<TopicState> {
    let t = topic_state(conn, viewer, topic)?;
    if t.deleted {
        return Err(Error::conflict("the topic is deleted; restore it first"));
    }
    Ok(t)
}

fn topic_event(
    w: &mut Write<'_>,
    viewer: &Viewer,
    kind: EventKind,
    t: &TopicState,
    data: serde_json::Value,
) -> Result<()> {
    let cat = viewer.category(t.category)?;
    let mut e = NewEvent::new(kind, audience(cat));
    e.category = Some(cat.id);
    e.topic = Some(t.id);
    e.actor = viewer.user;
    e.subject = Some(t.author);
    e.data = data;
    w.emit(viewer.community, e)
}

/// Recomputes a topic's counters and last activity from its posts.
fn recount(w: &Write<'_>, topic: TopicId) -> Result<()> {
    w.tx.prepare_cached(
        "UPDATE topics SET
            post_count = (SELECT count(*) FROM posts WHERE topic_id = ?1 AND deleted_at IS NULL),
            like_count = (SELECT CAST(coalesce(sum(like_count), 0) AS BIGINT) FROM posts WHERE topic_id = ?1 AND deleted_at IS NULL),
            next_post_number = (SELECT coalesce(max(post_number), 0) + 1 FROM posts WHERE topic_id = ?1),
            bumped_at = coalesce((SELECT max(created_at) FROM posts WHERE topic_id = ?1 AND deleted_at IS NULL), bumped_at),
            last_poster_id = coalesce((SELECT user_id FROM posts WHERE topic_id = ?1 AND deleted_at IS NULL
                                       ORDER BY post_number DESC LIMIT 1), last_poster_id)
         WHERE id = ?1",
    )?
    .execute([topic])?;
    w.tx.prepare_cached("INSERT INTO topic_posters (topic_id, user_id) SELECT topic_id, user_id FROM posts WHERE topic_id = ?1 ON CONFLICT DO NOTHING")?
        .execute([topic])?;
    Ok(())
}

/// Re-indexes a post's title column (first posts carry the topic title).
fn reindex_title(w: &Write<'_>, post: PostId, title: &str) -> Result<()> {
    let body = crate::search::indexed_text(w.tx, post)?;
    index_post(w.tx, post, title, &body.unwrap_or_default())
}

/// Withdraws a topic's accepted answer (and its points) when it no longer
/// fits: the answer moved away, or the topic left its Q&A category.
fn drop_solution(w: &mut Write<'_>, viewer: &Viewer, topic: TopicId, answer: PostId) -> Result<()> {
    w.tx.prepare_cached("UPDATE topics SET solved_post_id = NULL WHERE id = ?1")?
        .execute([topic])?;
    reverse(w, viewer, Some(&format!("accepted:{answer}")), None, None)
}

/// Sets or clears a topic flag other than `Pinned` inside a write, with
/// its event and audit entry (the caller checked who may).
pub(crate) fn set_flag_in(
    w: &mut Write<'_>,
    viewer: &Viewer,
    state: &TopicState,
    flag: TopicFlag,
    on: bool,
    reason: Option<&str>,
) -> Result<()> {
    let column = flag.column();
    let before: bool =
        w.tx.prepare(&format!("SELECT {column} FROM topics WHERE id = ?1"))?
            .query_row([state.id], |r| r.get(0))?;
    w.tx.prepare(&format!("UPDATE topics SET {column} = ?2 WHERE id = ?1"))?
        .execute(params![state.id, on])?;
    if flag == TopicFlag::Unlisted {
        refresh_scope(w.tx, state.id)?;
    }
    topic_event(
        w,
        viewer,
        EventKind::TopicUpdated,
        state,
        serde_json::json!({ column: on }),
    )?;
    let action = match (flag, on) {
        (TopicFlag::Closed, true) => AuditAction::TopicClosed,
        (TopicFlag::Closed, false) => AuditAction::TopicOpened,
        (TopicFlag::Archived, true) => AuditAction::TopicArchived,
        (TopicFlag::Archived, false) => AuditAction::TopicUnarchived,
        (TopicFlag::Unlisted, true) => AuditAction::TopicUnlisted,
        (TopicFlag::Unlisted, false) => AuditAction::TopicListed,
        (TopicFlag::Pinned, _) => AuditAction::TopicPinned,
    };
    record(
        w,
        viewer,
        action,
        Target::Topic(state.id),
        serde_json::json!({ column: before }),
        serde_json::json!({ column: on }),
        reason,
    )
}

impl Forum {
    /// Sets or clears a topic flag (pinned, closed, archived, unlisted).
    /// Moderators only; audited with the reason. `Pinned` pins globally
    /// with no end: see [`Forum::pin_topic`] for the other kinds of pin.
    pub fn set_topic_flag(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        flag: TopicFlag,
        on: bool,
        reason: Option<&str>,
    ) -> Result<Topic> {
        if flag == TopicFlag::Pinned {
            let pin = on.then_some(Pin {
                globally: true,
                until: None,
            });
            return self.pin_topic(actor, community, topic, pin, reason);
        }
        check_reason(reason)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = topic_state(w.tx, &viewer, topic)?;
            viewer.require_moderator()?;
            set_flag_in(w, &viewer, &state, flag, on, reason)
        })?;
        self.topic_only(actor, community, topic)
    }

    /// Pins a topic first in its category, or everywhere, optionally until
    /// a time; `None` unpins. Moderators only; audited. An expired pin is
    /// lifted (and audited, by the system) the next time a list is read.
    pub fn pin_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        pin: Option<Pin>,
        reason: Option<&str>,
    ) -> Result<Topic> {
        check_reason(reason)?;
        let now = self.now();
        if let Some(Pin { until: Some(u), .. }) = pin
            && u <= now
        {
            return Err(Error::invalid("until", "must be in the future"));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = live_topic(w.tx, &viewer, topic)?;
            viewer.require_moderator()?;
            let before = pin_state(w.tx, topic)?;
            let (on, global, until) = match pin {
                Some(p) => (true, p.globally, p.until.map(to_millis)),
                None => (false, false, None),
            };
            w.tx.prepare_cached(
                "UPDATE topics SET pinned = ?2, pinned_global = ?3, pinned_until = ?4 WHERE id = ?1",
            )?
            .execute(params![topic, on, global, until])?;
            topic_event(
                w,
                &viewer,
                EventKind::TopicUpdated,
                &state,
                serde_json::json!({ "pinned": on, "pinned_globally": global, "pinned_until": until }),
            )?;
            record(
                w,
                &viewer,
                if on { AuditAction::TopicPinned } else { AuditAction::TopicUnpinned },
                Target::Topic(topic),
                before,
                serde_json::json!({ "pinned": on, "globally": global, "until": until }),
                reason,
            )
        })?;
        if let Some(Pin { until: Some(u), .. }) = pin {
            // Lists check expiries against the earliest one known.
            self.pins.lower(to_millis(u));
        }
        self.topic_only(actor, community, topic)
    }

    /// Lifts pins whose time has come. Cheap when none has: two atomic
    /// loads.
    pub(crate) fn expire_pins(&self) -> Result<()> {
        let now = to_millis(self.now());
        self.pins
            .run(now, || self.next_pin_expiry(), || self.lift_pins(now))
    }

    fn lift_pins(&self, now: i64) -> Result<()> {
        self.write(|w| {
            let due: Vec<(CommunityId, TopicId)> = w
                .tx
                .prepare_cached(
                    "SELECT community_id, id FROM topics WHERE pinned_until IS NOT NULL AND pinned_until <= ?1",
                )?
                .query_map([now], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<db::Result<_>>()?;
            for (community, topic) in due {
                let viewer = self.viewer_in(w, &Actor::System, community)?;
                let viewer = Viewer { user: None, ..viewer };
                let before = pin_state(w.tx, topic)?;
                // Still due now that this transaction holds the community?
                // Another process may have lifted it meanwhile: then no
                // second event or audit entry.
                let lifted = w
                    .tx
                    .prepare_cached(
                        "UPDATE topics SET pinned = 0, pinned_global = 0, pinned_until = NULL
                         WHERE id = ?1 AND pinned_until IS NOT NULL AND pinned_until <= ?2",
                    )?
                    .execute(params![topic, now])?;
                if lifted == 0 {
                    continue;
                }
                let state = topic_state(w.tx, &viewer, topic);
                if let Ok(state) = state {
                    topic_event(
                        w,
                        &viewer,
                        EventKind::TopicUpdated,
                        &state,
                        serde_json::json!({ "pinned": false, "expired": true }),
                    )?;
                }
                record(
                    w,
                    &viewer,
                    AuditAction::TopicUnpinned,
                    Target::Topic(topic),
                    before,
                    serde_json::json!({ "pinned": false }),
                    Some("the pin expired"),
                )?;
            }
            Ok(())
        })
    }

    /// The earliest pin end still stored (`i64::MAX` when none).
    fn next_pin_expiry(&self) -> Result<i64> {
        let next: Option<i64> = self.read(|conn, _| {
            Ok(conn
                .prepare_cached(
                    "SELECT min(pinned_until) FROM topics WHERE pinned_until IS NOT NULL",
                )?
                .query_row(params![], |r| r.get(0))?)
        })?;
        Ok(next.unwrap_or(i64::MAX))
    }

    /// Locks a post against its author's edits (`true`) or unlocks it;
    /// moderators may still edit it. Moderators only; audited. Returns
    /// whether the post is now locked.
    pub fn lock_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        locked: bool,
    ) -> Result<bool> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = post_state(w.tx, &viewer, post)?;
            viewer.require_moderator()?;
            if state.locked == locked {
                return Ok(locked);
            }
            let at = locked.then(|| w.now_ms());
            w.tx.prepare_cached("UPDATE posts SET locked_at = ?2 WHERE id = ?1")?
                .execute(params![post, at])?;
            record(
                w,
                &viewer,
                AuditAction::PostLocked,
                Target::Post(post),
                serde_json::json!({ "locked": state.locked }),
                serde_json::json!({ "locked": locked }),
                None,
            )?;
            Ok(locked)
        })
    }

    /// Moves a topic in time: its first post to `at` (not in the future)
    /// and every other post by the same amount, none later than now —
    /// for topics imported or posted late. Moderators only; audited.
    /// Activity counted by day (analytics, points) stays where it was.
    pub fn change_topic_timestamp(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        at: OffsetDateTime,
    ) -> Result<Topic> {
        let at = to_millis(at);
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = live_topic(w.tx, &viewer, topic)?;
            viewer.require_moderator()?;
            let now = w.now_ms();
            if at > now {
                return Err(Error::invalid("timestamp", "must not be in the future"));
            }
            let first: i64 =
                w.tx.prepare_cached(
                    "SELECT created_at FROM posts WHERE topic_id = ?1 AND post_number = 1",
                )?
                .query_row([topic], |r| r.get(0))?;
            let delta = at - first;
            w.tx.prepare_cached(
                "UPDATE posts SET created_at = CASE WHEN created_at + ?2 > CAST(?3 AS BIGINT)
                                                    THEN CAST(?3 AS BIGINT) ELSE created_at + ?2 END
                 WHERE topic_id = ?1",
            )?
            .execute(params![topic, delta, now])?;
            w.tx.prepare_cached("UPDATE topics SET created_at = ?2 WHERE id = ?1")?
                .execute(params![topic, at])?;
            recount(w, topic)?;
            topic_event(
                w,
                &viewer,
                EventKind::TopicUpdated,
                &state,
                serde_json::json!({ "created_at": at }),
            )?;
            record(
                w,
                &viewer,
                AuditAction::TopicTimestampChanged,
                Target::Topic(topic),
                serde_json::json!({ "created_at": first }),
                serde_json::json!({ "created_at": at }),
                None,
            )
        })?;
        self.topic_only(actor, community, topic)
    }

    /// Retitles, re-tags or moves a topic. Moderators may do all of it;
    /// the author may retitle and re-tag, and move it to a category where
    /// they could open it; members at the community's `recategorize_min`
    /// trust level (3 by default) may do all of it between discussion
    /// categories. Changes by anyone but the author are audited.
    pub fn update_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        update: TopicUpdate,
        reason: Option<&str>,
    ) -> Result<Topic> {
        check_reason(reason)?;
        let viewer = self.read(|conn, now| self.viewer(conn, now, actor, community))?;
        let l = &viewer.config.settings.limits;
        let title = update
            .title
            .as_deref()
            .map(|t| clean_title(t, l.title_min_chars, l.title_max_chars))
            .transpose()?;
        let tags = update
            .tags
            .as_deref()
            .map(|t| clean_tags(t, l.max_tags, l.tag_max_chars))
            .transpose()?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = live_topic(w.tx, &viewer, topic)?;
            let from = viewer.category(state.category)?.clone();
            let to = match update.category {
                Some(c) if c != state.category => Some(viewer.category(c)?.clone()),
                _ => None,
            };
            let is_author = viewer.user == Some(state.author);
            let curator = viewer.effective_trust() >= viewer.config.settings.trust.recategorize_min
                && from.kind == CategoryKind::Discussion
                && to.as_ref().is_none_or(|c| c.kind == CategoryKind::Discussion);
            if !viewer.is_moderator() {
                viewer.require_poster()?;
                if state.archived {
                    return Err(Error::forbidden("this topic is archived"));
                }
                if !is_author && !curator {
                    return Err(Error::forbidden(format!(
                        "only the author, moderators and members from trust level {} may change topics in discussion categories",
                        viewer.config.settings.trust.recategorize_min.number()
                    )));
                }
                if let Some(to) = &to
                    && is_author
                    && !curator
                {
                    viewer.check_create_topic(to)?;
                }
            }
            let before = serde_json::json!({ "title": state.title, "category": state.category });
            let mut changed = serde_json::Map::new();
            if let Some(t) = title.as_ref().filter(|t| **t != state.title) {
                retitle(w, &state, t, viewer.user.unwrap_or(state.author), reason)?;
                changed.insert("title".into(), t.clone().into());
            }
            if let Some(tags) = &tags {
                let before: Vec<String> = w
                    .tx
                    .prepare_cached("SELECT tag FROM topic_tags WHERE topic_id = ?1")?
                    .query_map([topic], |r| r.get(0))?
                    .collect::<db::Result<_>>()?;
                check_tag_rules(w.tx, &viewer, &before, tags)?;
                w.tx.prepare_cached("DELETE FROM topic_tags WHERE topic_id = ?1")?.execute([topic])?;
                crate::topic::add_topic_tags(w.tx, viewer.community, topic, tags)?;
                w.tx.prepare_cached("UPDATE topics SET tags = ?2 WHERE id = ?1")?
                    .execute(params![topic, tags.join(",")])?;
                changed.insert("tags".into(), serde_json::json!(tags));
            }
            if let Some(to) = &to {
                w.tx.prepare_cached("UPDATE topics SET category_id = ?2 WHERE id = ?1")?
                    .execute(params![topic, to.id])?;
                if let Some(answer) = state.solved
                    && to.kind != CategoryKind::QuestionAndAnswer
                {
                    drop_solution(w, &viewer, topic, answer)?;
                }
                refresh_scope(w.tx, topic)?;
                let moved = TopicState { category: to.id, ..state.clone() };
                topic_event(w, &viewer, EventKind::TopicMoved, &moved, serde_json::json!({ "from": from.id, "to": to.id }))?;
                changed.insert("category".into(), to.id.0.into());
            }
            if changed.is_empty() {
                return Ok(());
            }
            if to.is_none() {
                topic_event(w, &viewer, EventKind::TopicUpdated, &state, serde_json::Value::Object(changed.clone()))?;
            }
            if !is_author {
                let action = if to.is_some() { AuditAction::TopicMoved } else { AuditAction::TopicRetitled };
                record(w, &viewer, action, Target::Topic(topic), before, serde_json::Value::Object(changed), reason)?;
            }
            Ok(())
        })?;
        self.topic_only(actor, community, topic)
    }

    /// Merges topic `from` into `into`: its posts move over (after the
    /// target's posts, keeping their order, ids, likes and points) and
    /// `from` becomes a redirect — reading it fails with
    /// [`Error::Moved`](crate::Error::Moved). Moderators only; audited.
    pub fn merge_topics(
        &self,
        actor: &Actor,
        community: CommunityId,
        from: TopicId,
        into: TopicId,
        reason: Option<&str>,
    ) -> Result<Topic> {
        check_reason(reason)?;
        if from == into {
            return Err(Error::invalid(
                "into",
                "a topic cannot be merged into itself",
            ));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_moderator()?;
            let source = live_topic(w.tx, &viewer, from)?;
            let target = live_topic(w.tx, &viewer, into)?;
            let next: i64 = w
                .tx
                .prepare_cached("SELECT next_post_number FROM topics WHERE id = ?1")?
                .query_row([into], |r| r.get(0))?;
            let posts: Vec<(PostId, i64)> = w
                .tx
                .prepare_cached("SELECT id, post_number FROM posts WHERE topic_id = ?1 ORDER BY post_number")?
                .query_map([from], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<db::Result<_>>()?;
            for (i, (post, number)) in posts.iter().enumerate() {
                w.tx.prepare_cached("UPDATE posts SET topic_id = ?2, post_number = ?3 WHERE id = ?1")?
                    .execute(params![post, into, next + i as i64])?;
                if *number == 1 {
                    reindex_title(w, *post, "")?;
                }
            }
            if let Some(answer) = source.solved {
                drop_solution(w, &viewer, from, answer)?;
            }
            let now = w.now_ms();
            w.tx.prepare_cached(
                "UPDATE topics SET merged_into = ?2, deleted_at = ?3, deleted_by = ?4, post_count = 0,
                        like_count = 0, pinned = 0, pinned_global = 0, pinned_until = NULL
                 WHERE id = ?1",
            )?
            .execute(params![from, into, now, viewer.user])?;
            recount(w, into)?;
            refresh_scope(w.tx, into)?;
            let ids: Vec<PostId> = posts.iter().map(|(p, _)| *p).collect();
            topic_event(w, &viewer, EventKind::TopicMerged, &target, serde_json::json!({ "from": from, "into": into, "posts": ids }))?;
            record(
                w,
                &viewer,
                AuditAction::TopicMerged,
                Target::Topic(from),
                serde_json::json!({ "topic": from, "title": source.title, "category": source.category }),
                serde_json::json!({ "into": into, "posts": ids }),
                reason,
            )
        })?;
        self.topic_only(actor, community, into)
    }

    /// Moves some replies of a topic into a new topic (the earliest of them
    /// becomes its first post). Moderators only; audited. Returns the new
    /// topic.
    pub fn split_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        posts: &[PostId],
        new: NewSplit,
        reason: Option<&str>,
    ) -> Result<Topic> {
        check_reason(reason)?;
        if posts.is_empty() || posts.len() > 1000 {
            return Err(Error::invalid(
                "posts",
                "name 1 to 1,000 posts to split off",
            ));
        }
        let viewer = self.read(|conn, now| self.viewer(conn, now, actor, community))?;
        let l = &viewer.config.settings.limits;
        let title = clean_title(&new.title, l.title_min_chars, l.title_max_chars)?;
        let created = self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_moderator()?;
            let source = live_topic(w.tx, &viewer, topic)?;
            let cat = viewer.category(new.category)?.clone();
            let mut moving: Vec<(PostId, i64, UserId, i64)> = Vec::with_capacity(posts.len());
            for p in posts {
                let row: (i64, UserId, i64, TopicId) = w
                    .tx
                    .prepare_cached("SELECT post_number, user_id, created_at, topic_id FROM posts WHERE id = ?1 AND community_id = ?2")?
                    .query_row(params![p, community], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                    .found("post")?;
                if row.3 != topic {
                    return Err(Error::invalid("posts", format!("post {p} is not in this topic")));
                }
                if row.0 == 1 {
                    return Err(Error::invalid("posts", "the first post stays; move the others"));
                }
                if !moving.iter().any(|m| m.0 == *p) {
                    moving.push((*p, row.0, row.1, row.2));
                }
            }
            moving.sort_by_key(|m| m.1);
            let (first, _, author, created_at) = moving[0];
            w.tx.prepare_cached(
                "INSERT INTO topics (community_id, category_id, user_id, title, slug, bumped_at, last_poster_id, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?3, ?6)",
            )?
            .execute(params![community, cat.id, author, title, slugify(&title), created_at])?;
            let split = TopicId(w.tx.last_insert_rowid()?);
            let ids: Vec<PostId> = moving.iter().map(|m| m.0).collect();
            for (i, (post, ..)) in moving.iter().enumerate() {
                w.tx.prepare_cached("UPDATE posts SET topic_id = ?2, post_number = ?3 WHERE id = ?1")?
                    .execute(params![post, split, i as i64 + 1])?;
            }
            // Replies whose parent ended up in the other topic lose the link.
            for t in [topic, split] {
                w.tx.prepare_cached(
                    "UPDATE posts SET reply_to_post_id = NULL WHERE topic_id = ?1 AND reply_to_post_id IS NOT NULL
                       AND reply_to_post_id NOT IN (SELECT id FROM posts WHERE topic_id = ?1)",
                )?
                .execute([t])?;
            }
            reindex_title(w, first, &title)?;
            if let Some(answer) = source.solved
                && ids.contains(&answer)
            {
                drop_solution(w, &viewer, topic, answer)?;
            }
            recount(w, topic)?;
            recount(w, split)?;
            refresh_scope(w.tx, topic)?;
            refresh_scope(w.tx, split)?;
            let new_state = TopicState {
                id: split,
                category: cat.id,
                author,
                title: title.clone(),
                closed: false,
                archived: false,
                deleted: false,
                solved: None,
                message: false,
            };
            topic_event(w, &viewer, EventKind::TopicSplit, &new_state, serde_json::json!({ "from": topic, "posts": ids }))?;
            record(
                w,
                &viewer,
                AuditAction::TopicSplit,
                Target::Topic(topic),
                serde_json::json!({ "topic": topic, "posts": ids }),
                serde_json::json!({ "topic": split, "title": title, "category": cat.id }),
                reason,
            )?;
            Ok(split)
        })?;
        self.topic_only(actor, community, created)
    }
}

fn pin_state(conn: &Conn, topic: TopicId) -> Result<serde_json::Value> {
    let (pinned, global, until): (bool, bool, Option<i64>) = conn
        .prepare_cached("SELECT pinned, pinned_global, pinned_until FROM topics WHERE id = ?1")?
        .query_row([topic], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(serde_json::json!({ "pinned": pinned, "globally": global, "until": until }))
}

/// Changes a topic's title, keeping a revision of its first post.
fn retitle(
    w: &mut Write<'_>,
    state: &TopicState,
    title: &str,
    editor: UserId,
    reason: Option<&str>,
) -> Result<()> {
    let (post, source, version): (PostId, String, i64) =
        w.tx.prepare_cached(
            "SELECT id, source, version FROM posts WHERE topic_id = ?1 AND post_number = 1",
        )?
        .query_row([state.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .found("post")?;
    w.tx.prepare_cached(
        "INSERT INTO post_revisions (post_id, version, user_id, reason, old_source, new_source, old_title, new_title, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![post, version + 1, editor, reason, source, state.title, title, w.now_ms()])?;
    w.tx.prepare_cached("UPDATE posts SET version = ?2 WHERE id = ?1")?
        .execute(params![post, version + 1])?;
    w.tx.prepare_cached("UPDATE topics SET title = ?2, slug = ?3 WHERE id = ?1")?
        .execute(params![state.id, title, slugify(title)])?;
    reindex_title(w, post, title)
}
