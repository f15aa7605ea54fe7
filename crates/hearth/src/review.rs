//! The review queue and flags.
//!
//! Two kinds of items wait for a moderator. A *queued post* was held by a
//! rule (a watched word, new-member approval, a category's trust bar, a
//! plugin): its content lives only in the queue and becomes a post when
//! approved, so it can never appear in lists, search or events before. A
//! *flagged post* is a published post that members (or a rule) flagged;
//! when enough flags from trusted members arrive it is hidden until a
//! moderator decides. Each decision is audited and its reason reaches the
//! author through [`Forum::my_reviews`].

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditAction, Target, record};
use crate::category::string_enum;
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CategoryId, CommunityId, PostId, ReviewId, TopicId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, CategoryAccess, Viewer};
use crate::store::{OptionalExt, parsed};
use crate::topic::{UserRef, user_ref};
use crate::trust::{Delta, bump};

string_enum! {
    /// Why a member flags a post.
    FlagKind {
        /// Advertising or other spam.
        Spam = "spam",
        /// Does not belong in this topic.
        OffTopic = "off_topic",
        /// Rude, abusive or otherwise inappropriate.
        Inappropriate = "inappropriate",
        /// Something else a moderator should look at (a message is required).
        NeedsModerator = "needs_moderator",
        /// Raised by a moderation rule, not a member.
        Rule = "rule",
    }
}

string_enum! {
    /// What kind of item waits in the queue.
    ReviewKind {
        /// A post held before publishing.
        QueuedPost = "queued_post",
        /// A published post that was flagged.
        FlaggedPost = "flagged_post",
    }
}

string_enum! {
    /// Where an item stands.
    ReviewStatus {
        /// Waiting for a moderator.
        Pending = "pending",
        /// Approved: the queued post was published, or the flagged post was
        /// found fine and is shown again.
        Approved = "approved",
        /// Rejected: the queued post was dropped, or the flags were right
        /// and the post stays hidden or was removed.
        Rejected = "rejected",
    }
}

/// What a queued post will become.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub(crate) enum Submission {
    Topic {
        title: String,
        body: String,
        tags: Vec<String>,
        nofollow: bool,
        /// The topic's id in the system that sent it, kept for approval.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
    },
    Reply {
        body: String,
        reply_to: Option<PostId>,
        nofollow: bool,
    },
    Edit {
        title: Option<String>,
        body: String,
        reason: Option<String>,
        nofollow: bool,
    },
}

impl Submission {
    pub(crate) fn body(&self) -> &str {
        match self {
            Submission::Topic { body, .. }
            | Submission::Reply { body, .. }
            | Submission::Edit { body, .. } => body,
        }
    }
}

/// A flag on a post, as moderators see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// Why.
    pub kind: FlagKind,
    /// Who flagged (`None`: a rule).
    pub flagger: Option<UserRef>,
    /// The flagger's message, or the rule's reason.
    pub message: String,
    /// Whether it counted towards hiding the post.
    pub counts: bool,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An item of the review queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReviewItem {
    /// Its id.
    pub id: ReviewId,
    /// Queued or flagged.
    pub kind: ReviewKind,
    /// Pending, approved or rejected.
    pub status: ReviewStatus,
    /// The author of the post.
    pub author: UserRef,
    /// The category.
    pub category: CategoryId,
    /// The topic (absent for a queued new topic).
    pub topic: Option<TopicId>,
    /// The post (flagged posts, queued edits, and queued posts once approved).
    pub post: Option<PostId>,
    /// The title of a queued new topic or edit.
    pub title: Option<String>,
    /// The queued Markdown, or the flagged post's current source.
    pub body: String,
    /// Why it is here (shown to the author for queued posts).
    pub reason: String,
    /// Flags, for flagged posts (oldest first).
    pub flags: Vec<Flag>,
    /// Whether the flagged post is hidden now.
    pub hidden: bool,
    /// When it entered the queue.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When a moderator decided.
    #[serde(with = "time::serde::rfc3339::option")]
    pub decided_at: Option<OffsetDateTime>,
    /// Who decided.
    pub decided_by: Option<UserId>,
    /// The moderator's reason, sent to the author.
    pub decision_reason: Option<String>,
}

/// A moderator's decision on a [`ReviewItem`]. It is always about the
/// post: approving means the post may be seen, rejecting means it may not.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Queued: publish it. Flagged: the post is fine — the flags are
    /// disagreed with and a hidden post is shown again.
    Approve,
    /// Publish (queued) or keep showing (flagged) with this Markdown instead
    /// of the author's; a flagged post's flags count as agreed with.
    ApproveWithEdit {
        /// The moderator's version.
        body: String,
    },
    /// Queued: drop it. Flagged: the flags were right — the post stays
    /// hidden. The reason is sent to the author.
    Reject {
        /// Shown to the author.
        reason: String,
    },
    /// Drop the queued post or delete the flagged one (its points are
    /// reversed), and silence the author until `until`.
    DeleteAndSilence {
        /// Shown to the author.
        reason: String,
        /// When the silence ends.
        until: OffsetDateTime,
    },
}

impl Decision {
    fn name(&self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::ApproveWithEdit { .. } => "approve_with_edit",
            Decision::Reject { .. } => "reject",
            Decision::DeleteAndSilence { .. } => "delete_and_silence",
        }
    }

    fn reason(&self) -> Option<&str> {
        match self {
            Decision::Reject { reason } | Decision::DeleteAndSilence { reason, .. } => Some(reason),
            _ => None,
        }
    }
}

/// Which items [`Forum::review_queue`] lists.
#[derive(Debug, Clone, Default)]
pub struct ReviewFilter {
    /// Only this status (default: pending).
    pub status: Option<ReviewStatus>,
    /// Only this kind.
    pub kind: Option<ReviewKind>,
}

fn staff_event(
    kind: EventKind,
    review: ReviewId,
    author: UserId,
    actor: Option<UserId>,
) -> NewEvent {
    let mut e = NewEvent::new(kind, Audience::Staff);
    e.actor = actor;
    e.subject = Some(author);
    e.data = serde_json::json!({ "review": review });
    e
}

/// Puts a post in the queue instead of publishing it.
#[allow(clippy::too_many_arguments)]
pub(crate) fn queue_post(
    w: &mut Write<'_>,
    viewer: &Viewer,
    cat: &CategoryAccess,
    author: UserId,
    topic: Option<TopicId>,
    post: Option<PostId>,
    submission: &Submission,
    reason: &str,
) -> Result<ReviewId> {
    let payload = serde_json::to_string(submission).map_err(|e| Error::Storage(e.to_string()))?;
    w.tx.prepare_cached(
        "INSERT INTO reviewables (community_id, kind, status, user_id, category_id, topic_id, post_id,
                                  payload, reason, created_at)
         VALUES (?1, 'queued_post', 'pending', ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![viewer.community, author, cat.id, topic, post, payload, reason, w.now_ms()])?;
    let id = ReviewId(w.tx.last_insert_rowid()?);
    let mut e = staff_event(EventKind::ReviewQueued, id, author, Some(author));
    e.data = serde_json::json!({ "review": id, "kind": "queued_post" });
    w.emit(viewer.community, e)?;
    Ok(id)
}

/// The pending flagged-post item for `post`, created if needed.
fn flagged_item(
    w: &mut Write<'_>,
    viewer: &Viewer,
    post: PostId,
    reason: &str,
) -> Result<ReviewId> {
    if let Some(id) = pending_item(w.tx, post)? {
        return Ok(id);
    }
    let (author, topic, category): (UserId, TopicId, CategoryId) = w
        .tx
        .prepare_cached(
            "SELECT p.user_id, p.topic_id, t.category_id FROM posts p JOIN topics t ON t.id = p.topic_id
             WHERE p.id = ?1",
        )?
        .query_row([post], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .found("post")?;
    w.tx.prepare_cached(
        "INSERT INTO reviewables (community_id, kind, status, user_id, category_id, topic_id, post_id,
                                  reason, created_at)
         VALUES (?1, 'flagged_post', 'pending', ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![viewer.community, author, category, topic, post, reason, w.now_ms()])?;
    let id = ReviewId(w.tx.last_insert_rowid()?);
    let mut e = staff_event(EventKind::ReviewQueued, id, author, viewer.user);
    e.post = Some(post);
    e.topic = Some(topic);
    e.data = serde_json::json!({ "review": id, "kind": "flagged_post" });
    w.emit(viewer.community, e)?;
    Ok(id)
}

/// The pending review item of a flagged post, if it has one.
fn pending_item(conn: &Conn, post: PostId) -> Result<Option<ReviewId>> {
    crate::store::optional(
        conn.prepare_cached(
            "SELECT id FROM reviewables WHERE post_id = ?1 AND kind = 'flagged_post' AND status = 'pending'",
        )?
        .query_row([post], |r| r.get(0)),
    )
}

/// A flag raised by a rule (a watched word with the `Flag` action) or an
/// extension holding a post; returns its review item.
pub(crate) fn rule_flag(
    w: &mut Write<'_>,
    viewer: &Viewer,
    post: PostId,
    reason: &str,
) -> Result<ReviewId> {
    let item = flagged_item(w, viewer, post, reason)?;
    w.tx.prepare_cached(
        "INSERT INTO flags (community_id, post_id, user_id, kind, message, counts, reviewable_id, status, created_at)
         VALUES (?1, ?2, NULL, 'rule', ?3, 0, ?4, 'pending', ?5)",
    )?
    .execute(params![viewer.community, post, reason, item, w.now_ms()])?;
    Ok(item)
}

/// Hides or shows a post (and its topic, for a first post), keeping the
/// search indexes in step.
pub(crate) fn set_hidden(
    w: &mut Write<'_>,
    viewer: &Viewer,
    post: PostId,
    hide: bool,
) -> Result<bool> {
    let at = hide.then(|| w.now_ms());
    let changed =
        w.tx.prepare_cached(
            "UPDATE posts SET hidden_at = ?2 WHERE id = ?1 AND (hidden_at IS NULL) = ?3",
        )?
        .execute(params![post, at, hide])?;
    if changed == 0 {
        return Ok(false);
    }
    let (topic, number, author, category): (TopicId, i64, UserId, CategoryId) =
        w.tx.prepare_cached(
            "SELECT p.topic_id, p.post_number, p.user_id, t.category_id
             FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = ?1",
        )?
        .query_row([post], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    if number == 1 {
        w.tx.prepare_cached("UPDATE topics SET hidden_at = ?2 WHERE id = ?1")?
            .execute(params![topic, at])?;
    }
    crate::search::refresh_scope(w.tx, topic)?;
    let mut e = NewEvent::new(
        if hide {
            EventKind::PostHidden
        } else {
            EventKind::PostUnhidden
        },
        Audience::Staff,
    );
    e.category = Some(category);
    e.topic = Some(topic);
    e.post = Some(post);
    e.actor = viewer.user;
    e.subject = Some(author);
    w.emit(viewer.community, e)?;
    record(
        w,
        viewer,
        if hide {
            AuditAction::PostHidden
        } else {
            AuditAction::PostUnhidden
        },
        Target::Post(post),
        serde_json::json!({ "hidden": !hide }),
        serde_json::json!({ "hidden": hide }),
        None,
    )?;
    Ok(true)
}

const ITEM_SELECT: &str =
    "SELECT r.id, r.kind, r.status, r.user_id, r.category_id, r.topic_id, r.post_id,
        r.payload, r.reason, r.created_at, r.decided_at, r.decided_by, r.decision_reason,
        p.source, p.hidden_at IS NOT NULL,
        u.id, u.username, u.display_name, u.avatar_url
     FROM reviewables r JOIN users u ON u.id = r.user_id
     LEFT JOIN posts p ON p.id = r.post_id AND r.kind = 'flagged_post'
     WHERE ";

fn load_items(conn: &Conn, filter: &str, p: impl db::Params) -> Result<Vec<ReviewItem>> {
    let mut stmt = conn.prepare_cached(&format!("{ITEM_SELECT}{filter}"))?;
    let rows = stmt.query_map(p, |r| {
        let payload: String = r.get(7)?;
        let submission: Option<Submission> = serde_json::from_str(&payload).ok();
        let (title, body) = match &submission {
            Some(Submission::Topic { title, body, .. }) => (Some(title.clone()), body.clone()),
            Some(Submission::Edit { title, body, .. }) => (title.clone(), body.clone()),
            Some(Submission::Reply { body, .. }) => (None, body.clone()),
            None => (None, r.get::<_, Option<String>>(13)?.unwrap_or_default()),
        };
        Ok(ReviewItem {
            id: r.get(0)?,
            kind: parsed(r, 1, ReviewKind::parse)?,
            status: parsed(r, 2, ReviewStatus::parse)?,
            author: user_ref(r, 15)?,
            category: r.get(4)?,
            topic: r.get(5)?,
            post: r.get(6)?,
            title,
            body,
            reason: r.get(8)?,
            flags: Vec::new(),
            hidden: r.get::<_, Option<bool>>(14)?.unwrap_or(false),
            created_at: from_millis(r.get(9)?),
            decided_at: r.get::<_, Option<i64>>(10)?.map(from_millis),
            decided_by: r.get(11)?,
            decision_reason: r.get(12)?,
        })
    })?;
    let mut out = rows.collect::<db::Result<Vec<_>>>()?;
    for item in &mut out {
        if item.kind == ReviewKind::FlaggedPost {
            item.flags = load_flags(conn, item.id)?;
        }
    }
    Ok(out)
}

fn load_flags(conn: &Conn, item: ReviewId) -> Result<Vec<Flag>> {
    let mut stmt = conn.prepare_cached(
        "SELECT f.kind, f.message, f.counts, f.created_at,
                u.id, u.username, u.display_name, u.avatar_url
         FROM flags f LEFT JOIN users u ON u.id = f.user_id
         WHERE f.reviewable_id = ?1 ORDER BY f.id",
    )?;
    let rows = stmt.query_map([item], |r| {
        Ok(Flag {
            kind: parsed(r, 0, FlagKind::parse)?,
            message: r.get(1)?,
            counts: r.get(2)?,
            created_at: from_millis(r.get(3)?),
            flagger: match r.get::<_, Option<UserId>>(4)? {
                Some(_) => Some(user_ref(r, 4)?),
                None => None,
            },
        })
    })?;
    Ok(rows.collect::<db::Result<_>>()?)
}

fn load_item(conn: &Conn, community: CommunityId, id: ReviewId) -> Result<ReviewItem> {
    load_items(
        conn,
        "r.id = ?1 AND r.community_id = ?2",
        params![id, community],
    )?
    .pop()
    .ok_or(Error::not_found("review item"))
}

fn payload(conn: &Conn, id: ReviewId) -> Result<Submission> {
    let s: String = conn
        .prepare_cached("SELECT payload FROM reviewables WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?;
    serde_json::from_str(&s).map_err(|e| Error::Storage(format!("queued post unreadable: {e}")))
}

impl Forum {
    /// Flags a post. Members at the community's `flag_min` trust level or
    /// higher may flag, once per post, never their own posts. When flags
    /// from members at `flag_hide_min_trust` or higher reach
    /// `flags_to_hide` — or a moderator flags — the post is hidden until a
    /// moderator decides. `NeedsModerator` needs a message and never hides.
    pub fn flag_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        kind: FlagKind,
        message: &str,
    ) -> Result<ReviewId> {
        crate::text::check_len("message", message, 0, 1000)?;
        if kind == FlagKind::Rule {
            return Err(Error::invalid(
                "kind",
                "rule flags are raised by rules only",
            ));
        }
        if kind == FlagKind::NeedsModerator && message.trim().is_empty() {
            return Err(Error::invalid(
                "message",
                "tell the moderators what needs their attention",
            ));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = crate::topic::post_state(w.tx, &viewer, post)?;
            let user = viewer.require_poster()?;
            if state.deleted || state.topic.deleted {
                return Err(Error::not_found("post"));
            }
            if state.author == user {
                return Err(Error::forbidden("you cannot flag your own post"));
            }
            let trust = viewer.effective_trust();
            let settings = &viewer.config.settings;
            if trust < settings.trust.flag_min {
                return Err(Error::forbidden(format!(
                    "flagging opens at trust level {}; keep reading and taking part",
                    settings.trust.flag_min.number()
                )));
            }
            let already: bool = w
                .tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM flags WHERE post_id = ?1 AND user_id = ?2)")?
                .query_row(params![post, user], |r| r.get(0))?;
            if already {
                return Err(Error::conflict("you already flagged this post"));
            }
            let counts = kind != FlagKind::NeedsModerator
                && (trust >= settings.moderation.flag_hide_min_trust || viewer.is_official());
            let item = flagged_item(w, &viewer, post, &format!("flagged as {}", kind.as_str()))?;
            w.tx.prepare_cached(
                "INSERT INTO flags (community_id, post_id, user_id, kind, message, counts, reviewable_id, status, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'pending', ?8)",
            )?
            .execute(params![community, post, user, kind.as_str(), message.trim(), counts, item, w.now_ms()])?;
            bump(w, &viewer, user, Delta { flags_given: 1, ..Delta::default() })?;
            let mut e = staff_event(EventKind::PostFlagged, item, state.author, Some(user));
            e.post = Some(post);
            e.topic = Some(state.topic.id);
            e.data = serde_json::json!({ "review": item, "kind": kind.as_str() });
            w.emit(community, e)?;
            let counted: i64 = w
                .tx
                .prepare_cached("SELECT count(*) FROM flags WHERE reviewable_id = ?1 AND counts = 1")?
                .query_row([item], |r| r.get(0))?;
            let threshold = i64::from(settings.moderation.flags_to_hide);
            if counts && (viewer.is_moderator() || counted >= threshold) {
                // Hidden by the community: the audit names no one.
                let system = Viewer { user: None, ..viewer.clone() };
                set_hidden(w, &system, post, true)?;
            }
            Ok(item)
        })
    }

    /// Holds a published post for review on an extension's behalf — a
    /// spam checker that asked an outside service: the post is hidden until
    /// a moderator decides, as when a moderator flags it, and the review
    /// item's reason says which `source` held it and why. A post already
    /// waiting keeps its item (returned). The system actor only: the plugin
    /// host calls this for plugins granted `hold-posts`.
    pub fn hold_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        source: &str,
        reason: &str,
    ) -> Result<ReviewId> {
        self.ext_review(actor, community, post, source, reason, "held", true)
    }

    /// Hides a post on an extension's behalf, at any time (a moderation
    /// bot acting on a report): hidden until a moderator decides, the
    /// review item saying "hidden by `source`: `reason`". A post already
    /// waiting keeps its item. The system actor only: the plugin host
    /// calls this for plugins granted `hide-posts`.
    pub fn hide_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        source: &str,
        reason: &str,
    ) -> Result<ReviewId> {
        self.ext_review(actor, community, post, source, reason, "hidden", true)
    }

    /// Flags a post for the moderators on an extension's behalf: a
    /// review item ("flagged by `source`: `reason`") and the staff event a
    /// member's flag raises, the post left as it is. A post already
    /// waiting keeps its item. The system actor only: the plugin host
    /// calls this for plugins granted `flag-posts`.
    pub fn ext_flag_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        source: &str,
        reason: &str,
    ) -> Result<ReviewId> {
        self.ext_review(actor, community, post, source, reason, "flagged", false)
    }

    /// Puts a post before the moderators for an extension (`verb` names
    /// what it did), hiding it when `hide`.
    #[allow(clippy::too_many_arguments)]
    fn ext_review(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        source: &str,
        reason: &str,
        verb: &str,
        hide: bool,
    ) -> Result<ReviewId> {
        crate::text::check_len("reason", reason, 1, 500)?;
        crate::text::check_len("source", source, 1, 50)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            if !viewer.system {
                return Err(Error::forbidden(format!(
                    "posts are {verb} by extensions, through the system actor"
                )));
            }
            let state = crate::topic::post_state(w.tx, &viewer, post)?;
            if state.deleted || state.topic.deleted {
                return Err(Error::not_found("post"));
            }
            let text = format!("{verb} by {source}: {}", reason.trim());
            let item = match pending_item(w.tx, post)? {
                Some(id) => id,
                None => {
                    let item = rule_flag(w, &viewer, post, &text)?;
                    let mut e = staff_event(EventKind::PostFlagged, item, state.author, None);
                    e.post = Some(post);
                    e.topic = Some(state.topic.id);
                    e.data =
                        serde_json::json!({ "review": item, "kind": "rule", "source": source });
                    w.emit(community, e)?;
                    item
                }
            };
            if hide {
                set_hidden(w, &viewer, post, true)?;
            }
            Ok(item)
        })
    }

    /// The review queue, oldest first (pending items by default).
    /// Moderators only.
    pub fn review_queue(
        &self,
        actor: &Actor,
        community: CommunityId,
        filter: &ReviewFilter,
        page: &PageRequest,
    ) -> Result<Page<ReviewItem>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.require_moderator()?;
            let after = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => 0,
            };
            let limit = page.limit();
            let status = filter.status.unwrap_or(ReviewStatus::Pending);
            let items = load_items(
                conn,
                "r.community_id = ?1 AND r.status = ?2 AND (CAST(?3 AS TEXT) IS NULL OR r.kind = ?3) AND r.id > ?4
                 ORDER BY r.id LIMIT ?5",
                params![
                    community,
                    status.as_str(),
                    filter.kind.map(ReviewKind::as_str),
                    after,
                    limit as i64 + 1
                ],
            )?;
            Ok(Page::from_rows(items, limit, |i: &ReviewItem| {
                Cursor::from_parts(&[i.id.0])
            }))
        })
    }

    /// One review item. Moderators, and the author of a queued post.
    pub fn review_item(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: ReviewId,
    ) -> Result<ReviewItem> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let item = load_item(conn, community, id)?;
            let own = viewer.user == Some(item.author.id) && item.kind == ReviewKind::QueuedPost;
            if !(viewer.is_moderator() || own) {
                return Err(Error::not_found("review item"));
            }
            Ok(item)
        })
    }

    /// The acting member's own queued posts, newest first, with their
    /// status and any reason a moderator gave.
    pub fn my_reviews(
        &self,
        actor: &Actor,
        community: CommunityId,
        page: &PageRequest,
    ) -> Result<Page<ReviewItem>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let Some(user) = viewer.user else {
                return Err(Error::forbidden(
                    "sign in to see your posts awaiting review",
                ));
            };
            let before = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => i64::MAX,
            };
            let limit = page.limit();
            let items = load_items(
                conn,
                "r.community_id = ?1 AND r.user_id = ?2 AND r.kind = 'queued_post' AND r.id < ?3
                 ORDER BY r.id DESC LIMIT ?4",
                params![community, user, before, limit as i64 + 1],
            )?;
            Ok(Page::from_rows(items, limit, |i: &ReviewItem| {
                Cursor::from_parts(&[i.id.0])
            }))
        })
    }

    /// Decides a pending review item. Moderators only. Approving a queued
    /// post publishes it as its author wrote it (or as edited), bypassing
    /// the rules that held it; permissions are checked again as of now, so
    /// a post for a topic that was deleted meanwhile cannot be approved.
    pub fn decide_review(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: ReviewId,
        decision: Decision,
    ) -> Result<ReviewItem> {
        crate::audit::check_reason(decision.reason())?;
        if let Decision::Reject { reason } | Decision::DeleteAndSilence { reason, .. } = &decision
            && reason.trim().is_empty()
        {
            return Err(Error::invalid("reason", "tell the author why"));
        }
        // Render outside the write lock: the queued (or edited) Markdown as
        // its author would have it.
        let (item, viewer) = self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.require_moderator()?;
            Ok((load_item(conn, community, id)?, viewer))
        })?;
        if item.status != ReviewStatus::Pending {
            return Err(Error::conflict("this item was already decided"));
        }
        let author_actor = Actor::User(item.author.id);
        let publish = match (&item.kind, &decision) {
            (ReviewKind::QueuedPost, Decision::Approve | Decision::ApproveWithEdit { .. }) => {
                let submission = self.read(|conn, _| payload(conn, id))?;
                let body = match &decision {
                    Decision::ApproveWithEdit { body } => body.clone(),
                    _ => submission.body().to_string(),
                };
                let author =
                    self.read(|conn, now| self.viewer(conn, now, &author_actor, community))?;
                let l = &author.config.settings.limits;
                crate::text::check_body(&body, l.body_min_chars, l.body_max_bytes)?;
                let nofollow = match &submission {
                    Submission::Topic { nofollow, .. }
                    | Submission::Reply { nofollow, .. }
                    | Submission::Edit { nofollow, .. } => *nofollow,
                };
                let rendered = self.render_post(&author, &body, nofollow)?;
                Some((submission, body, rendered))
            }
            (ReviewKind::FlaggedPost, Decision::ApproveWithEdit { body }) => {
                let l = &viewer.config.settings.limits;
                crate::text::check_body(body, l.body_min_chars, l.body_max_bytes)?;
                None
            }
            _ => None,
        };
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_moderator()?;
            let status: String = w
                .tx
                .prepare_cached("SELECT status FROM reviewables WHERE id = ?1 AND community_id = ?2")?
                .query_row(params![id, community], |r| r.get(0))
                .found("review item")?;
            if status != "pending" {
                return Err(Error::conflict("this item was already decided"));
            }
            let approved = matches!(decision, Decision::Approve | Decision::ApproveWithEdit { .. });
            let mut post = item.post;
            let mut agreed_flaggers = Vec::new();
            match item.kind {
                ReviewKind::QueuedPost => {
                    if let Some((submission, body, rendered)) = &publish {
                        let author = self.viewer_in(w, &author_actor, community)?;
                        post = Some(self.publish_submission(w, &author, &item, submission, body, rendered)?);
                    }
                }
                ReviewKind::FlaggedPost => {
                    let Some(p) = item.post else {
                        return Err(Error::Storage("flagged item without a post".into()));
                    };
                    let flags = if matches!(decision, Decision::Approve) { "disagreed" } else { "agreed" };
                    let flaggers = self.resolve_flags(w, &viewer, id, item.author.id, flags)?;
                    if flags == "agreed" {
                        agreed_flaggers = flaggers;
                    }
                    match &decision {
                        Decision::Approve => {
                            set_hidden(w, &viewer, p, false)?;
                        }
                        Decision::ApproveWithEdit { body } => {
                            self.moderator_edit(w, &viewer, p, body)?;
                            set_hidden(w, &viewer, p, false)?;
                        }
                        Decision::Reject { .. } => {
                            set_hidden(w, &viewer, p, true)?;
                        }
                        Decision::DeleteAndSilence { .. } => {
                            crate::topic::delete_in(w, &viewer, p)?;
                        }
                    }
                }
            }
            if let Decision::DeleteAndSilence { until, reason } = &decision {
                crate::member::silence_in(w, &viewer, item.author.id, Some(*until), Some(reason))?;
            }
            w.tx.prepare_cached(
                "UPDATE reviewables SET status = ?2, decided_at = ?3, decided_by = ?4, decision = ?5,
                        decision_reason = ?6, post_id = coalesce(post_id, ?7)
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                if approved { "approved" } else { "rejected" },
                w.now_ms(),
                viewer.user,
                decision.name(),
                decision.reason().map(str::trim),
                post
            ])?;
            let mut e = staff_event(EventKind::ReviewDecided, id, item.author.id, viewer.user);
            e.post = post;
            e.data = serde_json::json!({
                "review": id,
                "decision": decision.name(),
                "kind": item.kind.as_str(),
                "agreed_flaggers": agreed_flaggers,
            });
            w.emit(community, e)?;
            record(
                w,
                &viewer,
                AuditAction::ReviewDecided,
                Target::Review(id),
                serde_json::json!({ "status": "pending", "kind": item.kind.as_str() }),
                serde_json::json!({ "decision": decision.name(), "post": post }),
                decision.reason(),
            )
        })?;
        self.read(|conn, _| load_item(conn, community, id))
    }

    fn resolve_flags(
        &self,
        w: &mut Write<'_>,
        viewer: &Viewer,
        item: ReviewId,
        author: UserId,
        outcome: &str,
    ) -> Result<Vec<UserId>> {
        let flaggers: Vec<UserId> = w
            .tx
            .prepare_cached(
                "SELECT user_id FROM flags WHERE reviewable_id = ?1 AND status = 'pending' AND user_id IS NOT NULL",
            )?
            .query_map([item], |r| r.get(0))?
            .collect::<db::Result<_>>()?;
        w.tx.prepare_cached(
            "UPDATE flags SET status = ?2 WHERE reviewable_id = ?1 AND status = 'pending'",
        )?
        .execute(params![item, outcome])?;
        let agreed = outcome == "agreed";
        for f in &flaggers {
            let d = if agreed {
                Delta {
                    flags_given_agreed: 1,
                    ..Delta::default()
                }
            } else {
                Delta {
                    flags_given_disagreed: 1,
                    ..Delta::default()
                }
            };
            bump(w, viewer, *f, d)?;
        }
        if agreed && !flaggers.is_empty() {
            bump(
                w,
                viewer,
                author,
                Delta {
                    flags_agreed: 1,
                    ..Delta::default()
                },
            )?;
        }
        Ok(flaggers)
    }
}
