//! Topics and posts: creating, replying, editing, deleting, likes, accepted
//! answers, views, bookmarks, and the lists that show them.

use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditAction, Target, record};
use crate::category::{CategoryKind, Visibility};
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::hooks::{DraftKind, PostDraft, run_filters};
use crate::ids::{CategoryId, CommunityId, PostId, ReviewId, TopicId, UserId};
use crate::once::{Once, Remembered, remember};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, CategoryAccess, Role, Viewer};
use crate::render::{RENDER_VERSION, Rendered, nofollow_all};
use crate::review::{ReviewItem, Submission, queue_post, rule_flag};
use crate::rewards::{Rule, award, reverse};
use crate::rules::{Screening, check_post_limits, screen_state, screen_words};
use crate::search::{index_new_post, index_new_reply, index_post, refresh_scope};
use crate::store::{OptionalExt, optional};
use crate::tag_groups::check_tag_rules;
use crate::text::{check_body, clean_tags, clean_title, slugify};
use crate::trust::{Delta, bump, count_content, visit};

/// A user as shown next to content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRef {
    /// Their id.
    pub id: UserId,
    /// Their username.
    pub username: String,
    /// Their display name (may be empty).
    pub display_name: String,
    /// Their avatar.
    pub avatar_url: Option<String>,
}

/// A link in a post (Discourse's `link_counts`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostLink {
    /// The post it is in.
    pub post: PostId,
    /// Where it points.
    pub url: String,
    /// Whether it points into this community.
    pub internal: bool,
}

/// A topic, as lists and topic pages show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Topic {
    /// Its id.
    pub id: TopicId,
    /// Its community.
    pub community: CommunityId,
    /// Its category.
    pub category: CategoryId,
    /// Who opened it.
    pub author: UserRef,
    /// The title.
    pub title: String,
    /// URL-friendly title.
    pub slug: String,
    /// Tags, normalised.
    pub tags: Vec<String>,
    /// Shown first in its category's list.
    pub pinned: bool,
    /// Shown first in the community-wide list too.
    pub pinned_globally: bool,
    /// When the pin ends by itself.
    #[serde(with = "time::serde::rfc3339::option")]
    pub pinned_until: Option<OffsetDateTime>,
    /// No new replies (moderators still may).
    pub closed: bool,
    /// Read-only for everyone, still searchable.
    pub archived: bool,
    /// Left out of lists and search; readable by link.
    pub unlisted: bool,
    /// The accepted answer, if any.
    pub accepted_answer: Option<PostId>,
    /// Visible posts, the first one included.
    pub post_count: i64,
    /// Replies (visible posts after the first).
    pub reply_count: i64,
    /// Likes on all its posts.
    pub like_count: i64,
    /// Views.
    pub view_count: i64,
    /// Who posted last.
    pub last_poster: UserRef,
    /// When it was opened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last activity.
    #[serde(with = "time::serde::rfc3339")]
    pub bumped_at: OffsetDateTime,
    /// Soft-deleted (only moderators see such topics).
    pub deleted: bool,
}

/// A post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Post {
    /// Its id.
    pub id: PostId,
    /// Its topic.
    pub topic: TopicId,
    /// Its community.
    pub community: CommunityId,
    /// 1 for the topic's first post, then increasing.
    pub post_number: i64,
    /// The author.
    pub author: UserRef,
    /// The post this replies to, if any.
    pub reply_to: Option<PostId>,
    /// Written by staff or an expert (professional, not user-generated).
    pub official: bool,
    /// The author's role here now (`None`: no longer a member).
    pub author_role: Option<crate::permissions::Role>,
    /// The author's trust level here now (level 0 for non-members).
    pub author_trust: crate::trust::TrustLevel,
    /// The Markdown source.
    pub source: String,
    /// Sanitized HTML.
    pub html: String,
    /// Revision number, starting at 1; pass it back when editing.
    pub version: i64,
    /// Likes.
    pub like_count: i64,
    /// Whether the viewer liked it.
    pub liked: bool,
    /// Whether the viewer bookmarked it.
    pub bookmarked: bool,
    /// Whether it is the topic's accepted answer.
    pub accepted: bool,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last edited.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Soft-deleted (only moderators see such posts).
    pub deleted: bool,
    /// Hidden by flags until a moderator decides (only moderators and the
    /// author see such posts).
    pub hidden: bool,
}

/// A post's Markdown source and what is stored with it, as
/// [`Forum::post_sources`] reads it: no joins, no rendered HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSource {
    /// Its id.
    pub id: PostId,
    /// Its topic.
    pub topic: TopicId,
    /// Its author.
    pub author: UserId,
    /// 1 for the topic's first post, then increasing.
    pub post_number: i64,
    /// When it was written.
    pub created_at: OffsetDateTime,
    /// Likes.
    pub like_count: i64,
    /// The Markdown source.
    pub source: String,
    /// Soft-deleted (only moderators see such posts).
    pub deleted: bool,
    /// Hidden by flags (only moderators and the author see such posts).
    pub hidden: bool,
}

/// A topic with one page of its posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopicView {
    /// The topic.
    pub topic: Topic,
    /// The category's kind (to show Q&A, articles, ...).
    pub kind: CategoryKind,
    /// The accepted answer, shown under the question.
    pub accepted_answer: Option<Post>,
    /// Posts in order of `post_number`.
    pub posts: Page<Post>,
    /// Who takes part, when the topic is a private conversation.
    pub participants: Option<crate::messages::Participants>,
    /// The topic's tags with their numbers, in its order.
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// What [`Forum::create_topic`] needs.
#[derive(Debug, Clone)]
pub struct NewTopic {
    /// Where.
    pub category: CategoryId,
    /// The title.
    pub title: String,
    /// The first post, in Markdown.
    pub body: String,
    /// Tags.
    pub tags: Vec<String>,
}

/// What [`Forum::reply`] needs.
#[derive(Debug, Clone)]
pub struct NewReply {
    /// The reply, in Markdown.
    pub body: String,
    /// The post it answers (same topic).
    pub reply_to: Option<PostId>,
}

/// What [`Forum::edit_post`] needs.
#[derive(Debug, Clone, Default)]
pub struct PostEdit {
    /// The new Markdown source.
    pub body: String,
    /// A new title (first posts only).
    pub title: Option<String>,
    /// Why (shown in the revision history).
    pub reason: Option<String>,
    /// The version the edit was based on; if the post has moved on, the edit
    /// fails with `Conflict` instead of overwriting someone else's change.
    pub base_version: Option<i64>,
}

/// One kept revision of a post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Revision {
    /// The version this edit produced (2 for the first edit).
    pub version: i64,
    /// Who edited.
    pub editor: UserId,
    /// Why.
    pub reason: Option<String>,
    /// Source before.
    pub old_source: String,
    /// Source after.
    pub new_source: String,
    /// Title before (first posts, when it changed).
    pub old_title: Option<String>,
    /// Title after.
    pub new_title: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A topic flag moderators set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopicFlag {
    /// Shown first in lists.
    Pinned,
    /// No new replies.
    Closed,
    /// Read-only for everyone.
    Archived,
    /// Out of lists and search.
    Unlisted,
}

impl TopicFlag {
    pub(crate) fn column(self) -> &'static str {
        match self {
            TopicFlag::Pinned => "pinned",
            TopicFlag::Closed => "closed",
            TopicFlag::Archived => "archived",
            TopicFlag::Unlisted => "unlisted",
        }
    }
}

/// Which topics [`Forum::latest`] lists.
#[derive(Debug, Clone, Default)]
pub struct TopicFilter {
    /// Only this category.
    pub category: Option<CategoryId>,
    /// Only topics with this tag.
    pub tag: Option<String>,
}

/// Most topics [`Forum::top_topics`] returns per call.
pub const MAX_TOP_TOPICS: usize = 100;

/// How far back [`Forum::top_topics`] looks: topics started within it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopPeriod {
    /// The last 24 hours.
    Daily,
    /// The last 7 days.
    Weekly,
    /// The last 30 days.
    Monthly,
    /// The last 90 days.
    Quarterly,
    /// The last 365 days.
    Yearly,
    /// Ever.
    All,
}

impl TopPeriod {
    /// Every period, shortest first.
    pub const ALL: [TopPeriod; 6] = [
        TopPeriod::Daily,
        TopPeriod::Weekly,
        TopPeriod::Monthly,
        TopPeriod::Quarterly,
        TopPeriod::Yearly,
        TopPeriod::All,
    ];

    /// Its name, as Discourse's `period` parameter spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            TopPeriod::Daily => "daily",
            TopPeriod::Weekly => "weekly",
            TopPeriod::Monthly => "monthly",
            TopPeriod::Quarterly => "quarterly",
            TopPeriod::Yearly => "yearly",
            TopPeriod::All => "all",
        }
    }

    /// The period with this name.
    pub fn parse(name: &str) -> Option<TopPeriod> {
        TopPeriod::ALL.into_iter().find(|p| p.as_str() == name)
    }

    fn days(self) -> Option<i64> {
        match self {
            TopPeriod::Daily => Some(1),
            TopPeriod::Weekly => Some(7),
            TopPeriod::Monthly => Some(30),
            TopPeriod::Quarterly => Some(90),
            TopPeriod::Yearly => Some(365),
            TopPeriod::All => None,
        }
    }
}

/// Internal: what permission checks need about a topic.
#[derive(Debug, Clone)]
pub(crate) struct TopicState {
    pub id: TopicId,
    pub category: CategoryId,
    pub author: UserId,
    pub title: String,
    pub closed: bool,
    pub archived: bool,
    pub deleted: bool,
    pub solved: Option<PostId>,
    /// A private message (in the inbox), which this viewer may read.
    pub message: bool,
}

/// Internal: what checks need about a post.
#[derive(Debug, Clone)]
pub(crate) struct PostState {
    pub topic: TopicState,
    pub author: UserId,
    pub post_number: i64,
    pub source: String,
    pub version: i64,
    pub deleted: bool,
    /// A moderator locked it against its author's edits.
    pub locked: bool,
}

pub(crate) fn audience(c: &CategoryAccess) -> Audience {
    match c.visibility {
        Visibility::Public => Audience::Public,
        Visibility::Members => Audience::Members,
        Visibility::Groups => Audience::Groups,
    }
}

/// A topic as the viewer may see it: `NotFound` when its category is
/// unreadable, when it is deleted or hidden (except for moderators, and
/// the author of a hidden one), and `Moved` when it was merged away.
pub(crate) fn topic_state(conn: &Conn, viewer: &Viewer, id: TopicId) -> Result<TopicState> {
    let (mut t, hidden, merged_into): (TopicState, bool, Option<TopicId>) = conn
        .prepare_cached(
            "SELECT id, category_id, user_id, title, closed, archived, deleted_at IS NOT NULL, solved_post_id,
                    hidden_at IS NOT NULL, merged_into
             FROM topics WHERE id = ?1 AND community_id = ?2",
        )?
        .query_row(params![id, viewer.community], |r| {
            Ok((
                TopicState {
                    id: r.get(0)?,
                    category: r.get(1)?,
                    author: r.get(2)?,
                    title: r.get(3)?,
                    closed: r.get(4)?,
                    archived: r.get(5)?,
                    deleted: r.get(6)?,
                    solved: r.get(7)?,
                    message: false,
                },
                r.get(8)?,
                r.get(9)?,
            ))
        })
        .found("topic")?;
    if viewer.config.inbox().is_some_and(|c| c.id == t.category) {
        if !crate::messages::may_read(conn, viewer, t.id)? {
            return Err(Error::not_found("topic"));
        }
        t.message = true;
    } else {
        viewer
            .category(t.category)
            .map_err(|_| Error::not_found("topic"))?;
    }
    if let Some(target) = merged_into {
        // Redirect only to a topic the viewer may read.
        topic_state(conn, viewer, target).map_err(|_| Error::not_found("topic"))?;
        return Err(Error::Moved { topic: target });
    }
    if (t.deleted || (hidden && viewer.user != Some(t.author))) && !viewer.is_moderator() {
        return Err(Error::not_found("topic"));
    }
    Ok(t)
}

pub(crate) fn post_state(conn: &Conn, viewer: &Viewer, id: PostId) -> Result<PostState> {
    #[allow(clippy::type_complexity)]
    let (topic, author, number, source, version, deleted, hidden, locked): (
        TopicId,
        UserId,
        i64,
        String,
        i64,
        bool,
        bool,
        bool,
    ) = conn
        .prepare_cached(
            "SELECT topic_id, user_id, post_number, source, version, deleted_at IS NOT NULL,
                    hidden_at IS NOT NULL, locked_at IS NOT NULL
             FROM posts WHERE id = ?1 AND community_id = ?2",
        )?
        .query_row(params![id, viewer.community], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .found("post")?;
    let topic = topic_state(conn, viewer, topic).map_err(|_| Error::not_found("post"))?;
    if (deleted || hidden) && !viewer.is_moderator() && viewer.user != Some(author) {
        return Err(Error::not_found("post"));
    }
    Ok(PostState {
        topic,
        author,
        post_number: number,
        source,
        version,
        deleted,
        locked,
    })
}

/// May the viewer add a post to this topic?
pub(crate) fn check_reply(viewer: &Viewer, t: &TopicState) -> Result<UserId> {
    let user = viewer.require_poster()?;
    let cat = viewer.topic_category(t)?;
    if t.deleted {
        return Err(Error::not_found("topic"));
    }
    if t.archived {
        return Err(Error::forbidden("this topic is archived"));
    }
    if t.closed && !viewer.is_moderator() {
        return Err(Error::forbidden("this topic is closed"));
    }
    if cat.read_only && !viewer.is_moderator() {
        return Err(Error::forbidden("this category is read-only"));
    }
    Ok(user)
}

/// May the viewer edit this post?
pub(crate) fn check_edit(viewer: &Viewer, p: &PostState) -> Result<UserId> {
    let user = viewer.require_poster()?;
    if p.deleted {
        return Err(Error::forbidden("restore the post before editing it"));
    }
    if p.topic.archived {
        return Err(Error::forbidden("this topic is archived"));
    }
    if p.author != user && !viewer.is_moderator() {
        return Err(Error::forbidden("you can only edit your own posts"));
    }
    if p.locked && !viewer.is_moderator() {
        return Err(Error::forbidden(
            "a moderator locked this post; ask one to change it",
        ));
    }
    Ok(user)
}

/// A readable topic's id and highest post number (for reading progress).
pub(crate) fn readable_topic(conn: &Conn, viewer: &Viewer, id: TopicId) -> Result<(TopicId, i64)> {
    let t = topic_state(conn, viewer, id)?;
    let last: i64 = conn
        .prepare_cached("SELECT next_post_number - 1 FROM topics WHERE id = ?1")?
        .query_row([t.id], |r| r.get(0))?;
    Ok((t.id, last))
}

/// Counts a member's first entry into a topic; returns whether it was new.
pub(crate) fn count_entry(
    w: &mut Write<'_>,
    viewer: &Viewer,
    user: UserId,
    topic: TopicId,
) -> Result<bool> {
    let new =
        w.tx.prepare_cached(
            "INSERT INTO topic_views (topic_id, user_id, viewed_day) VALUES (?1, ?2, -1) ON CONFLICT DO NOTHING",
        )?
        .execute(params![topic, user])?
            > 0;
    if new {
        bump(
            w,
            viewer,
            user,
            Delta {
                topics_entered: 1,
                ..Delta::default()
            },
        )?;
    }
    visit(w, viewer, user)?;
    Ok(new)
}

/// A draft that passed the text rules, rendered.
pub(crate) struct Prepared {
    pub rendered: Rendered,
    pub screening: Screening,
}

/// Most tags [`Forum::tags`] returns.
pub const MAX_TAGS: usize = 1000;

/// A tag of a topic with its number in the community (what Discourse's
/// API calls the tag's `id`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    /// Its number, given the first time a topic of the community carried
    /// it and never given to another tag.
    pub id: i64,
    /// The tag (lowercase).
    pub name: String,
}

/// A tag and how many topics carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagCount {
    /// Its number in the community (see [`Tag`]).
    pub id: i64,
    /// The tag (lowercase).
    pub name: String,
    /// Topics with it that the reader may see.
    pub topic_count: i64,
}

/// Most posts [`Forum::latest_posts`] returns at once.
pub const MAX_LATEST_POSTS: usize = 50;

/// Posts [`Forum::posts_by_ids`] reads with one statement (unused places
/// are id 0, which no post has).
const POSTS_PER_READ: usize = 16;

/// [`Forum::posts_by_ids`]' filter: the community `?2`, the ids `?3`…
static BY_IDS_FILTER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "p.community_id = ?2 AND p.id IN ({})",
        db::placeholders(3, POSTS_PER_READ)
    )
});

/// What [`Forum::post_sources`] reads of a post.
const SOURCE_COLUMNS: &str = "p.id, p.topic_id, p.user_id, p.post_number, p.created_at,
     p.like_count, p.source, p.deleted_at IS NOT NULL, p.hidden_at IS NOT NULL";

/// [`Forum::post_sources`]' statement for one post (SQLite).
static SOURCE_BY_ID: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("SELECT {SOURCE_COLUMNS} FROM posts p WHERE p.id = ?1 AND p.community_id = ?2")
});

/// [`Forum::post_sources`]' statement for a chunk (PostgreSQL): the
/// community `?1`, the ids `?2`…
static SOURCES_BY_IDS: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "SELECT {SOURCE_COLUMNS} FROM posts p WHERE p.community_id = ?1 AND p.id IN ({})",
        db::placeholders(2, POSTS_PER_READ)
    )
});

/// Most ids [`Forum::posts_by_ids`] reads at once.
pub const MAX_POSTS_BY_IDS: usize = 500;

/// Most replies [`Forum::replies`] returns.
pub const MAX_REPLIES: usize = 100;

/// What a write closure that may queue returns.
enum Outcome<T> {
    Published(T),
    Queued(ReviewId, String),
    /// A request key's earlier result (see [`crate::once`]).
    Recalled(Remembered),
}

impl<T> Outcome<T> {
    fn into_result(self) -> Result<T> {
        match self {
            Outcome::Published(t) => Ok(t),
            Outcome::Queued(review, reason) => Err(Error::PendingReview { review, reason }),
            Outcome::Recalled(_) => Err(Error::Storage(
                "a recalled request key reached a write that takes none".into(),
            )),
        }
    }
}

impl Forum {
    /// Renders Markdown for `community`, linking mentions of its members.
    fn render_for(&self, viewer: &Viewer, source: &str) -> Result<Rendered> {
        let renderer = viewer.config.renderer()?;
        let community = viewer.community;
        let markup = crate::markup::HookMarkup::new(self.hooks(), community);
        // Only documents that mention someone need the database.
        renderer.render_with(
            source,
            &mut |names| {
                self.read(|conn, _| {
                    let mut stmt = conn.prepare_cached(
                        "SELECT 1 FROM users u JOIN memberships m ON m.user_id = u.id
                     WHERE u.username_lower = ?1 AND m.community_id = ?2",
                    )?;
                    let mut found = HashSet::new();
                    for n in names {
                        if stmt.exists(params![n, community])? {
                            found.insert(n.clone());
                        }
                    }
                    Ok(found)
                })
            },
            &markup,
        )
    }

    /// Renders a post body, marking every link nofollow when a rule said so.
    pub(crate) fn render_post(
        &self,
        viewer: &Viewer,
        source: &str,
        nofollow: bool,
    ) -> Result<Rendered> {
        let mut r = self.render_for(viewer, source)?;
        if r.is_blank() {
            return Err(Error::invalid_as(
                "body",
                crate::error::Problem::Blank,
                "shows nothing once rendered (only markup, scripts or invisible characters); \
                 write some text",
            ));
        }
        if nofollow {
            r.html = nofollow_all(&r.html);
        }
        Ok(r)
    }

    /// Checks limits, runs the filters (which may rewrite or hold the post),
    /// then the moderation rules that look at the text, and renders.
    pub(crate) fn prepare_post(
        &self,
        viewer: &Viewer,
        cat: &CategoryAccess,
        draft: &mut PostDraft,
    ) -> Result<Prepared> {
        let l = &viewer.config.settings.limits;
        check_body(&draft.body, l.body_min_chars, l.body_max_bytes)?;
        // Plugins' draft filters never see private messages (no plugin
        // interface grants reading them yet).
        let held_by_hook = if cat.inbox {
            None
        } else {
            run_filters(&self.hooks(), draft)?
        };
        check_body(&draft.body, l.body_min_chars, l.body_max_bytes)?;
        // Rules run after the hooks, so a hook's rewrite cannot bypass them.
        let words = match viewer.config.compiled_words() {
            Some(w) => w,
            None => self.read(|conn, _| viewer.config.watched_words(conn))?,
        };
        let mut screening = screen_words(&words, cat, &mut draft.title, &mut draft.body)?;
        check_body(&draft.body, l.body_min_chars, l.body_max_bytes)?;
        if viewer.is_official() {
            // Staff, experts and moderators are not held or flagged by rules.
            screening.queue = None;
            screening.flag = None;
        } else if screening.queue.is_none() {
            screening.queue = held_by_hook;
        }
        let rendered = self.render_post(viewer, &draft.body, screening.nofollow)?;
        check_post_limits(viewer, &rendered)?;
        Ok(Prepared {
            rendered,
            screening,
        })
    }

    pub(crate) fn load_viewer(&self, actor: &Actor, community: CommunityId) -> Result<Viewer> {
        // One statement: no snapshot needed.
        self.peek(|conn, now| self.viewer(conn, now, actor, community))
    }

    /// Renders Markdown exactly as a post by `actor` would be rendered
    /// (limits and Markdown extensions; draft filters excluded), for
    /// composer previews.
    pub fn preview(&self, actor: &Actor, community: CommunityId, markdown: &str) -> Result<String> {
        let viewer = self.load_viewer(actor, community)?;
        let l = &viewer.config.settings.limits;
        check_body(markdown, l.body_min_chars, l.body_max_bytes)?;
        Ok(self.render_for(&viewer, markdown)?.html)
    }

    /// A member's bio as HTML: Markdown rendered and sanitized exactly as
    /// a post is (an empty bio is empty). For profiles, and for other short
    /// texts a page shows, such as the community's welcome.
    pub fn render_bio(&self, actor: &Actor, community: CommunityId, bio: &str) -> Result<String> {
        if bio.trim().is_empty() {
            return Ok(String::new());
        }
        let viewer = self.load_viewer(actor, community)?;
        Ok(self.render_for(&viewer, bio)?.html)
    }

    /// Opens a topic with its first post. Returns the topic and the post.
    ///
    /// The moderation rules run first: a refused post fails with
    /// [`Error::Blocked`](crate::Error::Blocked) or
    /// [`Error::RateLimited`](crate::Error::RateLimited); a post held for
    /// review fails with [`Error::PendingReview`](crate::Error::PendingReview)
    /// and is published when a moderator approves it.
    pub fn create_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewTopic,
    ) -> Result<(Topic, Post)> {
        self.create_topic_with(actor, community, new, None, None)
    }

    /// [`Forum::create_topic`], at most once per `request_key`: a retry
    /// with the same key (by the same author in the same community, within
    /// [`REQUEST_KEY_TTL_HOURS`](crate::REQUEST_KEY_TTL_HOURS)) returns the
    /// topic the first call created — or the same
    /// [`Error::PendingReview`](crate::Error::PendingReview) — and creates
    /// nothing. The key is stored in the transaction that creates the
    /// topic, so this holds even if the process dies before answering.
    /// Reusing a key for a different topic fails with
    /// [`Error::Invalid`](crate::Error::Invalid) (field `request_key`).
    pub fn create_topic_once(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewTopic,
        request_key: &str,
    ) -> Result<(Topic, Post)> {
        let once = Once::new(
            request_key,
            &[
                b"topic",
                &new.category.0.to_le_bytes(),
                new.title.as_bytes(),
                new.body.as_bytes(),
                new.tags.join("\n").as_bytes(),
            ],
        )?;
        self.create_topic_with(actor, community, new, Some(&once), None)
    }

    pub(crate) fn create_topic_with(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewTopic,
        once: Option<&Once>,
        external_id: Option<&str>,
    ) -> Result<(Topic, Post)> {
        if let Some(ext) = external_id {
            crate::external_topics::check_external_id(ext)?;
        }
        let viewer = self.load_viewer(actor, community)?;
        let l = viewer.config.settings.limits.clone();
        let title = clean_title(&new.title, l.title_min_chars, l.title_max_chars)?;
        let mut tags = clean_tags(&new.tags, l.max_tags, l.tag_max_chars)?;
        let requested_tags = tags.clone();
        let cat = viewer.category(new.category)?.clone();
        let author = viewer.check_create_topic(&cat)?;
        if let Some(once) = once
            && let Some(before) =
                self.read(|conn, now| once.recall(conn, now, community, author))?
        {
            return self.recalled_topic(actor, community, before);
        }
        let mut draft = PostDraft {
            kind: DraftKind::NewTopic,
            community,
            category: new.category,
            topic: None,
            post: None,
            author,
            title: Some(title.clone()),
            body: new.body,
        };
        let prepared = self.prepare_post(&viewer, &cat, &mut draft)?;
        let title = draft.title.clone().unwrap_or(title);
        for t in clean_tags(&prepared.screening.tags, u32::MAX, l.tag_max_chars)? {
            if !tags.contains(&t) {
                tags.push(t);
            }
        }
        let outcome = self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let cat = viewer.category(new.category)?.clone();
            let author = viewer.check_create_topic(&cat)?;
            if let Some(once) = once
                && let Some(before) = once.recall(w.tx, w.now_ms(), community, author)?
            {
                return Ok(Outcome::Recalled(before));
            }
            check_tag_rules(w.tx, &viewer, &[], &requested_tags)?;
            let state_hold = screen_state(
                w,
                &viewer,
                &cat,
                DraftKind::NewTopic,
                None,
                author,
                &draft.body,
            )?;
            if let Some(reason) = prepared.screening.queue.clone().or(state_hold) {
                let submission = Submission::Topic {
                    title: title.clone(),
                    body: draft.body.clone(),
                    tags: tags.clone(),
                    nofollow: prepared.screening.nofollow,
                    external_id: external_id.map(str::to_owned),
                };
                let id = queue_post(w, &viewer, &cat, author, None, None, &submission, &reason)?;
                let queued = Remembered::Queued(id, reason.clone());
                remember(once, w, community, author, queued)?;
                return Ok(Outcome::Queued(id, reason));
            }
            let (topic, post) = publish_topic(
                w,
                &viewer,
                &cat,
                author,
                (&title, &tags, external_id),
                &draft.body,
                &prepared.rendered,
            )?;
            if let Some(reason) = &prepared.screening.flag {
                rule_flag(w, &viewer, post, reason)?;
            }
            remember(once, w, community, author, Remembered::Post(post))?;
            let topic = load_topics(w.tx, "t.id = ?1", params![topic])?
                .pop()
                .ok_or(Error::not_found("topic"))?;
            Ok(Outcome::Published((topic, load_post(w.tx, &viewer, post)?)))
        })?;
        match outcome {
            Outcome::Recalled(before) => self.recalled_topic(actor, community, before),
            other => other.into_result(),
        }
    }

    /// What a remembered request key created, as its first call answered.
    fn recalled_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        before: Remembered,
    ) -> Result<(Topic, Post)> {
        let post = self.recalled_post(actor, community, before)?;
        Ok((self.topic_only(actor, community, post.topic)?, post))
    }

    fn recalled_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        before: Remembered,
    ) -> Result<Post> {
        match before {
            Remembered::Post(post) => self.post(actor, community, post),
            Remembered::Queued(review, reason) => Err(Error::PendingReview { review, reason }),
        }
    }

    /// Adds a reply to a topic. The moderation rules apply as for
    /// [`Forum::create_topic`].
    pub fn reply(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        new: NewReply,
    ) -> Result<Post> {
        self.reply_with(actor, community, topic, new, None)
    }

    /// [`Forum::reply`], at most once per `request_key`, as
    /// [`Forum::create_topic_once`] is for topics.
    pub fn reply_once(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        new: NewReply,
        request_key: &str,
    ) -> Result<Post> {
        let reply_to = new.reply_to.map_or(0, |p| p.0);
        let once = Once::new(
            request_key,
            &[
                b"reply",
                &topic.0.to_le_bytes(),
                &reply_to.to_le_bytes(),
                new.body.as_bytes(),
            ],
        )?;
        self.reply_with(actor, community, topic, new, Some(&once))
    }

    fn reply_with(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        new: NewReply,
        once: Option<&Once>,
    ) -> Result<Post> {
        // Checked again inside the write: no snapshot needed here.
        let (viewer, state) = self.peek(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let state = topic_state(conn, &viewer, topic)?;
            Ok((viewer, state))
        })?;
        let author = check_reply(&viewer, &state)?;
        if let Some(once) = once
            && let Some(before) =
                self.read(|conn, now| once.recall(conn, now, community, author))?
        {
            return self.recalled_post(actor, community, before);
        }
        let cat = viewer.topic_category(&state)?.clone();
        let mut draft = PostDraft {
            kind: DraftKind::Reply,
            community,
            category: state.category,
            topic: Some(topic),
            post: None,
            author,
            title: None,
            body: new.body,
        };
        let prepared = self.prepare_post(&viewer, &cat, &mut draft)?;
        let outcome = self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = topic_state(w.tx, &viewer, topic)?;
            let author = check_reply(&viewer, &state)?;
            if let Some(once) = once
                && let Some(before) = once.recall(w.tx, w.now_ms(), community, author)?
            {
                return Ok(Outcome::Recalled(before));
            }
            let cat = viewer.topic_category(&state)?.clone();
            let state_hold = screen_state(
                w,
                &viewer,
                &cat,
                DraftKind::Reply,
                Some(topic),
                author,
                &draft.body,
            )?;
            if cat.inbox
                && let Some(reason) = prepared.screening.queue.clone()
            {
                // Moderators do not read messages in the review queue;
                // state holds (a new member's first posts) do not apply.
                return Err(crate::messages::held(reason));
            }
            let state_hold = state_hold.filter(|_| !cat.inbox);
            if let Some(reason) = prepared.screening.queue.clone().or(state_hold) {
                check_reply_to(w, topic, new.reply_to)?;
                let submission = Submission::Reply {
                    body: draft.body.clone(),
                    reply_to: new.reply_to,
                    nofollow: prepared.screening.nofollow,
                };
                let id = queue_post(
                    w,
                    &viewer,
                    &cat,
                    author,
                    Some(topic),
                    None,
                    &submission,
                    &reason,
                )?;
                let queued = Remembered::Queued(id, reason.clone());
                remember(once, w, community, author, queued)?;
                return Ok(Outcome::Queued(id, reason));
            }
            let post = publish_reply(
                w,
                &viewer,
                &state,
                author,
                &draft.body,
                new.reply_to,
                &prepared.rendered,
            )?;
            if let Some(reason) = &prepared.screening.flag {
                rule_flag(w, &viewer, post, reason)?;
            }
            remember(once, w, community, author, Remembered::Post(post))?;
            // The answer is read here, in the writer's snapshot, rather
            // than in a read transaction of its own after the commit.
            Ok(Outcome::Published(load_post(w.tx, &viewer, post)?))
        })?;
        match outcome {
            Outcome::Recalled(before) => self.recalled_post(actor, community, before),
            other => other.into_result(),
        }
    }

    /// Edits a post, keeping a revision. Authors edit their own posts,
    /// moderators any. A `title` is allowed only on a topic's first post.
    /// Watched words and link limits apply; an edit a rule holds for review
    /// fails with [`Error::PendingReview`](crate::Error::PendingReview) and
    /// the post stays as it was until a moderator approves.
    pub fn edit_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        edit: PostEdit,
    ) -> Result<Post> {
        let viewer = self.load_viewer(actor, community)?;
        let state = self.read(|conn, _| post_state(conn, &viewer, post))?;
        let editor = check_edit(&viewer, &state)?;
        let l = viewer.config.settings.limits.clone();
        let title = match &edit.title {
            Some(t) if state.post_number == 1 => {
                Some(clean_title(t, l.title_min_chars, l.title_max_chars)?)
            }
            Some(_) => {
                return Err(Error::invalid(
                    "title",
                    "only a topic's first post has a title",
                ));
            }
            None => None,
        };
        if let Some(r) = &edit.reason {
            crate::text::check_len("reason", r, 0, 500)?;
        }
        let cat = viewer.topic_category(&state.topic)?.clone();
        let mut draft = PostDraft {
            kind: DraftKind::Edit,
            community,
            category: state.topic.category,
            topic: Some(state.topic.id),
            post: Some(post),
            author: editor,
            title,
            body: edit.body.clone(),
        };
        let prepared = self.prepare_post(&viewer, &cat, &mut draft)?;
        let outcome = self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = post_state(w.tx, &viewer, post)?;
            let editor = check_edit(&viewer, &state)?;
            if let Some(base) = edit.base_version
                && base != state.version
            {
                return Err(Error::conflict(format!(
                    "the post changed since version {base} (now {}); reload and edit again",
                    state.version
                )));
            }
            if let Some(reason) = prepared.screening.queue.clone() {
                let cat = viewer.topic_category(&state.topic)?.clone();
                let submission = Submission::Edit {
                    title: draft.title.clone(),
                    body: draft.body.clone(),
                    reason: edit.reason.clone(),
                    nofollow: prepared.screening.nofollow,
                };
                let id = queue_post(
                    w,
                    &viewer,
                    &cat,
                    editor,
                    Some(state.topic.id),
                    Some(post),
                    &submission,
                    &reason,
                )?;
                return Ok(Outcome::Queued(id, reason));
            }
            apply_edit(
                w,
                &viewer,
                &state,
                editor,
                draft.title.as_deref(),
                &draft.body,
                edit.reason.as_deref(),
                &prepared.rendered,
            )?;
            if let Some(reason) = &prepared.screening.flag {
                rule_flag(w, &viewer, post, reason)?;
            }
            Ok(Outcome::Published(()))
        })?;
        outcome.into_result()?;
        self.post(actor, community, post)
    }

    /// Publishes an approved queued post as its author (`author` is the
    /// author's viewer inside the write).
    pub(crate) fn publish_submission(
        &self,
        w: &mut Write<'_>,
        author: &Viewer,
        item: &ReviewItem,
        submission: &Submission,
        body: &str,
        rendered: &Rendered,
    ) -> Result<PostId> {
        match submission {
            Submission::Topic {
                title,
                tags,
                external_id,
                ..
            } => {
                let cat = author.category(item.category)?.clone();
                let user = author.check_create_topic(&cat)?;
                let external_id = external_id.as_deref();
                let topic = (title.as_str(), tags.as_slice(), external_id);
                Ok(publish_topic(w, author, &cat, user, topic, body, rendered)?.1)
            }
            Submission::Reply { reply_to, .. } => {
                let topic = item.topic.ok_or(Error::not_found("topic"))?;
                let state = topic_state(w.tx, author, topic)?;
                let user = check_reply(author, &state)?;
                publish_reply(w, author, &state, user, body, *reply_to, rendered)
            }
            Submission::Edit { title, reason, .. } => {
                let post = item.post.ok_or(Error::not_found("post"))?;
                let state = post_state(w.tx, author, post)?;
                let user = check_edit(author, &state)?;
                apply_edit(
                    w,
                    author,
                    &state,
                    user,
                    title.as_deref(),
                    body,
                    reason.as_deref(),
                    rendered,
                )?;
                Ok(post)
            }
        }
    }

    /// A moderator's edit made while deciding a flag (rendered here, in the
    /// write: such edits are rare and small).
    pub(crate) fn moderator_edit(
        &self,
        w: &mut Write<'_>,
        viewer: &Viewer,
        post: PostId,
        body: &str,
    ) -> Result<()> {
        let state = post_state(w.tx, viewer, post)?;
        let editor = viewer.user.unwrap_or(state.author);
        // Extensions render without the database, so asking them here,
        // inside the write, takes no lock they could wait for.
        let markup = crate::markup::HookMarkup::new(self.hooks(), viewer.community);
        let rendered =
            viewer
                .config
                .renderer()?
                .render_with(body, &mut |_| Ok(HashSet::new()), &markup)?;
        apply_edit(
            w,
            viewer,
            &state,
            editor,
            None,
            body,
            Some("edited by a moderator during review"),
            &rendered,
        )
    }

    /// Soft-deletes a post (the author or a moderator). Deleting a topic's
    /// first post deletes the topic. Restore with [`Forum::restore_post`].
    pub fn delete_post(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<()> {
        self.set_deleted(actor, community, post, true)
    }

    /// Restores a soft-deleted post (moderators, or the author of a post
    /// they deleted themselves).
    pub fn restore_post(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<()> {
        self.set_deleted(actor, community, post, false)
    }

    fn set_deleted(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        delete: bool,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = post_state(w.tx, &viewer, post)?;
            let actor_id = viewer.user;
            let is_author = actor_id == Some(state.author);
            if delete {
                if state.deleted {
                    return Err(Error::conflict("already deleted"));
                }
                if !viewer.is_moderator() {
                    viewer.require_poster()?;
                    if !is_author {
                        return Err(Error::forbidden("you can only delete your own posts"));
                    }
                    if state.topic.archived {
                        return Err(Error::forbidden("this topic is archived"));
                    }
                }
            } else {
                if !state.deleted {
                    return Err(Error::conflict("not deleted"));
                }
                let deleted_by: Option<UserId> =
                    w.tx.prepare_cached("SELECT deleted_by FROM posts WHERE id = ?1")?
                        .query_row([post], |r| r.get(0))?;
                if !(viewer.is_moderator() || (is_author && deleted_by == actor_id)) {
                    return Err(Error::forbidden("only moderators can restore this post"));
                }
            }
            apply_delete(w, &viewer, &state, post, delete)
        })
    }

    /// Likes a post. One like per member per post; not your own posts.
    pub fn like(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<()> {
        self.set_like(actor, community, post, true)
    }

    /// Withdraws a like.
    pub fn unlike(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<()> {
        self.set_like(actor, community, post, false)
    }

    fn set_like(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
        like: bool,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = post_state(w.tx, &viewer, post)?;
            let user = viewer.require_poster()?;
            if state.deleted || state.topic.deleted {
                return Err(Error::not_found("post"));
            }
            if state.author == user {
                return Err(Error::forbidden("you cannot like your own post"));
            }
            crate::rules::check_like_toggles(w, &viewer, user, post)?;
            let changed = if like {
                w.tx.prepare_cached("INSERT INTO likes (post_id, user_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
                    .execute(params![post, user, w.now_ms()])?
            } else {
                w.tx.prepare_cached("DELETE FROM likes WHERE post_id = ?1 AND user_id = ?2")?
                    .execute(params![post, user])?
            };
            if changed == 0 {
                return Err(Error::conflict(if like { "already liked" } else { "not liked" }));
            }
            let delta: i64 = if like { 1 } else { -1 };
            w.tx.prepare_cached("UPDATE posts SET like_count = like_count + ?2 WHERE id = ?1")?
                .execute(params![post, delta])?;
            w.tx.prepare_cached("UPDATE topics SET like_count = like_count + ?2 WHERE id = ?1")?
                .execute(params![state.topic.id, delta])?;
            let cat = viewer.topic_category(&state.topic)?;
            let kind = if like { EventKind::PostLiked } else { EventKind::PostUnliked };
            let mut e = NewEvent::new(kind, audience(cat));
            e.category = Some(cat.id);
            e.topic = Some(state.topic.id);
            e.post = Some(post);
            e.actor = Some(user);
            e.subject = Some(state.author);
            w.emit(community, e)?;
            let sign = if like { 1 } else { -1 };
            bump(w, &viewer, user, Delta { likes_given: sign, ..Delta::default() })?;
            bump(w, &viewer, state.author, Delta { likes_received: sign, ..Delta::default() })?;
            let cause = format!("like:{post}:{user}");
            let cat = cat.clone();
            if like {
                award(w, &viewer, state.author, Rule::LikeReceived, &cause, Some(post), Some(&cat))
            } else {
                reverse(w, &viewer, Some(&cause), None, Some(&cat))
            }
        })
    }

    /// Marks a reply as the accepted answer of its question (Q&A categories
    /// only). The topic's author and moderators may accept.
    pub fn accept_answer(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = post_state(w.tx, &viewer, post)?;
            let user = viewer
                .require_poster()
                .or_else(|e| if viewer.system { Ok(UserId(0)) } else { Err(e) })?;
            let cat = viewer.category(state.topic.category)?.clone();
            if cat.kind != CategoryKind::QuestionAndAnswer {
                return Err(Error::invalid(
                    "post",
                    "answers can only be accepted in question-and-answer categories",
                ));
            }
            if state.topic.author != user && !viewer.is_moderator() {
                return Err(Error::forbidden(
                    "only the asker or a moderator can accept an answer",
                ));
            }
            if state.post_number == 1 {
                return Err(Error::invalid(
                    "post",
                    "the question itself cannot be its answer",
                ));
            }
            if state.deleted || state.topic.deleted {
                return Err(Error::not_found("post"));
            }
            if state.topic.archived {
                return Err(Error::forbidden("this topic is archived"));
            }
            if state.topic.solved == Some(post) {
                return Err(Error::conflict("already the accepted answer"));
            }
            w.tx.prepare_cached("UPDATE topics SET solved_post_id = ?2 WHERE id = ?1")?
                .execute(params![state.topic.id, post])?;
            refresh_scope(w.tx, state.topic.id)?;
            let mut e = NewEvent::new(EventKind::TopicSolved, audience(&cat));
            e.category = Some(cat.id);
            e.topic = Some(state.topic.id);
            e.post = Some(post);
            e.actor = viewer.user;
            e.subject = Some(state.author);
            e.data = serde_json::json!({ "previous": state.topic.solved });
            w.emit(community, e)?;
            if let Some(previous) = state.topic.solved {
                reverse(
                    w,
                    &viewer,
                    Some(&format!("accepted:{previous}")),
                    None,
                    Some(&cat),
                )?;
            }
            // Accepting your own answer earns nothing.
            if state.author != state.topic.author {
                let cause = format!("accepted:{post}");
                award(
                    w,
                    &viewer,
                    state.author,
                    Rule::AnswerAccepted,
                    &cause,
                    Some(post),
                    Some(&cat),
                )?;
            }
            Ok(())
        })
    }

    /// Withdraws a topic's accepted answer.
    pub fn unaccept_answer(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = topic_state(w.tx, &viewer, topic)?;
            if viewer.user != Some(state.author) && !viewer.is_moderator() {
                return Err(Error::forbidden(
                    "only the asker or a moderator can do this",
                ));
            }
            let Some(answer) = state.solved else {
                return Err(Error::conflict("the topic has no accepted answer"));
            };
            w.tx.prepare_cached("UPDATE topics SET solved_post_id = NULL WHERE id = ?1")?
                .execute([topic])?;
            refresh_scope(w.tx, topic)?;
            let cat = viewer.category(state.category)?;
            let mut e = NewEvent::new(EventKind::TopicUnsolved, audience(cat));
            e.category = Some(cat.id);
            e.topic = Some(topic);
            e.post = Some(answer);
            e.actor = viewer.user;
            w.emit(community, e)?;
            let cat = cat.clone();
            reverse(
                w,
                &viewer,
                Some(&format!("accepted:{answer}")),
                None,
                Some(&cat),
            )
        })
    }

    /// Counts a view: once per member per day, every time for guests (the
    /// web layer de-duplicates guests by address). A member's notifications
    /// about the topic are marked read.
    pub fn record_view(&self, actor: &Actor, community: CommunityId, topic: TopicId) -> Result<()> {
        self.write(|w| self.view_in(w, actor, community, topic))
    }

    /// Records many views in one transaction (a web layer buffers page
    /// views and flushes them, so reading never waits on the writer).
    /// Guests' views of a topic are added up; a member's repeated views of
    /// a topic count once, as with [`Forum::record_view`]. Views of topics
    /// an actor may not see are skipped. Returns how many views were
    /// recorded.
    pub fn record_views(
        &self,
        community: CommunityId,
        views: &[(Actor, TopicId)],
    ) -> Result<usize> {
        if views.is_empty() {
            return Ok(0);
        }
        let mut guests: std::collections::BTreeMap<TopicId, i64> = Default::default();
        let mut members: std::collections::BTreeSet<(UserId, TopicId)> = Default::default();
        for (actor, topic) in views {
            match actor {
                Actor::Guest => *guests.entry(*topic).or_default() += 1,
                Actor::User(u) => {
                    members.insert((*u, *topic));
                }
                _ => {}
            }
        }
        self.write(|w| {
            let mut recorded = 0usize;
            let skip = |e: Error| match e {
                Error::NotFound { .. } | Error::Forbidden { .. } | Error::Moved { .. } => Ok(()),
                e => Err(e),
            };
            if !guests.is_empty() {
                let viewer = self.viewer_in(w, &Actor::Guest, community)?;
                for (topic, n) in &guests {
                    match topic_state(w.tx, &viewer, *topic) {
                        Ok(_) => {
                            w.tx.prepare_cached(
                                "UPDATE topics SET view_count = view_count + ?2 WHERE id = ?1",
                            )?
                            .execute(params![topic, n])?;
                            recorded += *n as usize;
                        }
                        Err(e) => skip(e)?,
                    }
                }
            }
            for (user, topic) in &members {
                match self.view_in(w, &Actor::User(*user), community, *topic) {
                    Ok(()) => recorded += 1,
                    Err(e) => skip(e)?,
                }
            }
            Ok(recorded)
        })
    }

    fn view_in(
        &self,
        w: &mut Write<'_>,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<()> {
        let (tx, now) = (w.tx, w.now_ms());
        let viewer = self.viewer_in(w, actor, community)?;
        topic_state(tx, &viewer, topic)?;
        let counted = match viewer.user {
            Some(user) => {
                // Reading is visiting.
                if viewer.role.is_some() {
                    crate::trust::visit(w, &viewer, user)?;
                }
                count_entry(w, &viewer, user, topic)?;
                // Reading a topic reads what you were notified about in it.
                tx.prepare_cached(
                    "UPDATE notifications SET read_at = ?3
                     WHERE user_id = ?1 AND community_id = ?4 AND topic_id = ?2
                       AND read_at IS NULL",
                )?
                .execute(params![user, topic, now, community])?;
                let day = now.div_euclid(86_400_000);
                tx.prepare_cached(
                    "INSERT INTO topic_views (topic_id, user_id, viewed_day) VALUES (?1, ?2, ?3)
                     ON CONFLICT (topic_id, user_id) DO UPDATE SET viewed_day = excluded.viewed_day
                     WHERE topic_views.viewed_day < excluded.viewed_day",
                )?
                .execute(params![topic, user, day])?
                    > 0
            }
            None => true,
        };
        if counted {
            tx.prepare_cached("UPDATE topics SET view_count = view_count + 1 WHERE id = ?1")?
                .execute([topic])?;
        }
        Ok(())
    }

    /// Bookmarks a post for the acting member.
    pub fn bookmark(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<()> {
        self.write(|w| {
            let (tx, now) = (w.tx, w.now_ms());
            let viewer = self.viewer_in(w, actor, community)?;
            post_state(tx, &viewer, post)?;
            let Some(user) = viewer.user.filter(|_| viewer.is_member()) else {
                return Err(Error::forbidden("sign in as a member to bookmark"));
            };
            tx.prepare_cached("INSERT INTO bookmarks (user_id, post_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
                .execute(params![user, post, now])?;
            Ok(())
        })
    }

    /// Removes a bookmark.
    pub fn unbookmark(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<()> {
        let Actor::User(user) = *actor else {
            return Err(Error::forbidden("sign in to manage bookmarks"));
        };
        self.store.write(|tx| {
            tx.prepare_cached(
                "DELETE FROM bookmarks WHERE user_id = ?1 AND post_id IN (SELECT id FROM posts WHERE id = ?2 AND community_id = ?3)",
            )?
            .execute(params![user, post, community])?;
            Ok(())
        })
    }

    /// The acting member's bookmarks in this community that they may still
    /// read, newest first.
    pub fn bookmarks(
        &self,
        actor: &Actor,
        community: CommunityId,
        page: &PageRequest,
    ) -> Result<Page<Post>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let Some(user) = viewer.user else {
                return Err(Error::forbidden("sign in to see bookmarks"));
            };
            let limit = page.limit();
            let [after_at, after_id] = match &page.after {
                Some(c) => c.parts::<2>()?,
                None => [i64::MAX, i64::MAX],
            };
            let sql = format!(
                "SELECT b.post_id, b.created_at FROM bookmarks b
                 JOIN posts p ON p.id = b.post_id JOIN topics t ON t.id = p.topic_id
                 WHERE b.user_id = ?1 AND p.community_id = ?2 AND t.category_id IN {}
                   AND p.deleted_at IS NULL AND t.deleted_at IS NULL
                   AND p.hidden_at IS NULL AND t.hidden_at IS NULL
                   AND (b.created_at, b.post_id) < (?3, ?4)
                 ORDER BY b.created_at DESC, b.post_id DESC LIMIT ?5",
                viewer.readable_sql()
            );
            let mut stmt = conn.prepare(&sql)?;
            let rows: Vec<(PostId, i64)> = stmt
                .query_map(
                    params![user, community, after_at, after_id, limit as i64 + 1],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .collect::<db::Result<_>>()?;
            let mut posts = Vec::new();
            for (id, at) in rows {
                posts.push((load_posts(conn, &viewer, "p.id = ?2", &[&id])?.pop(), at));
            }
            let posts: Vec<(Post, i64)> = posts
                .into_iter()
                .filter_map(|(p, at)| p.map(|p| (p, at)))
                .collect();
            let page = Page::from_rows(posts, limit, |(p, at)| Cursor::from_parts(&[*at, p.id.0]));
            Ok(Page {
                items: page.items.into_iter().map(|(p, _)| p).collect(),
                next: page.next,
            })
        })
    }

    /// A topic without its posts.
    pub fn topic_only(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<Topic> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            topic_state(conn, &viewer, topic)?;
            load_topics(conn, "t.id = ?1", params![topic])?
                .pop()
                .ok_or(Error::not_found("topic"))
        })
    }

    /// [`Forum::topic_only`] with its category's kind, in one read. A
    /// conversation's topic (in no category anyone reads as one) is
    /// `NotFound`, as [`Forum::category`] answers for its inbox.
    pub fn topic_with_kind(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<(Topic, CategoryKind)> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            topic_state(conn, &viewer, topic)?;
            let t = load_topics(conn, "t.id = ?1", params![topic])?
                .pop()
                .ok_or(Error::not_found("topic"))?;
            let kind = viewer.category(t.category)?.kind;
            Ok((t, kind))
        })
    }

    /// A topic with a page of its posts (by post number). Deleted posts are
    /// shown only to moderators.
    pub fn topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        page: &PageRequest,
    ) -> Result<TopicView> {
        self.run_due_work();
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let state = topic_state(conn, &viewer, topic)?;
            let t = load_topics(conn, "t.id = ?1", params![topic])?
                .pop()
                .ok_or(Error::not_found("topic"))?;
            let after = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => 0,
            };
            let limit = page.limit();
            let deleted = hidden_posts_filter(&viewer);
            let posts = load_posts(
                conn,
                &viewer,
                &format!("p.topic_id = ?2 AND p.post_number > ?3{deleted} ORDER BY p.post_number LIMIT ?4"),
                &[&topic, &after, &(limit as i64 + 1)],
            )?;
            let accepted_answer = match state.solved {
                Some(a) => load_posts(conn, &viewer, "p.id = ?2 AND p.deleted_at IS NULL AND p.hidden_at IS NULL", &[&a])?.pop(),
                None => None,
            };
            let participants = if state.message {
                Some(crate::messages::participants_of(conn, topic)?)
            } else {
                None
            };
            Ok(TopicView {
                kind: viewer.topic_category(&state)?.kind,
                participants,
                tags: numbered_tags(conn, &t)?,
                topic: t,
                accepted_answer,
                posts: Page::from_rows(posts, limit, |p: &Post| Cursor::from_parts(&[p.post_number])),
            })
        })
    }

    /// The links in a topic's posts that the actor may read (deleted and
    /// hidden posts' only for whoever sees those posts), by post then URL.
    pub fn topic_links(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<Vec<PostLink>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            topic_state(conn, &viewer, topic)?;
            let me = viewer.user.map_or(0, |u| u.0);
            // `?1` (the viewer) only where the filter uses it: PostgreSQL
            // refuses a parameter it cannot type.
            let hidden = hidden_posts_filter(&viewer);
            let sql = format!(
                "SELECT l.post_id, l.url, l.internal FROM post_links l JOIN posts p ON p.id = l.post_id
                 WHERE p.topic_id = ?{}{hidden} ORDER BY l.post_id, l.url LIMIT 1000",
                if hidden.is_empty() { 1 } else { 2 }
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let row = |r: &db::Row<'_>| {
                Ok(PostLink {
                    post: r.get(0)?,
                    url: r.get(1)?,
                    internal: r.get(2)?,
                })
            };
            let rows = if hidden.is_empty() {
                stmt.query_map(params![topic], row)?
                    .collect::<db::Result<_>>()?
            } else {
                stmt.query_map(params![me, topic], row)?
                    .collect::<db::Result<_>>()?
            };
            Ok(rows)
        })
    }

    /// One post.
    pub fn post(&self, actor: &Actor, community: CommunityId, post: PostId) -> Result<Post> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            post_state(conn, &viewer, post)?;
            load_post(conn, &viewer, post)
        })
    }

    /// Many posts by id, in one read: each as [`Forum::post`] gives it, or
    /// `None` where that would be `NotFound` (not there, or not for
    /// `actor`'s eyes). At most [`MAX_POSTS_BY_IDS`] ids.
    pub fn posts_by_ids(
        &self,
        actor: &Actor,
        community: CommunityId,
        posts: &[PostId],
    ) -> Result<Vec<Option<Post>>> {
        check_ids(posts)?;
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            // A chunk a statement, on SQLite too: the post's statement is a
            // large one.
            by_ids(conn, &viewer, posts, |ids| {
                load_posts(conn, &viewer, &BY_IDS_FILTER, &by_ids_params(&viewer, ids))
            })
        })
    }

    /// Many posts' Markdown sources by id, in one read: as
    /// [`Forum::posts_by_ids`] decides who sees what (`None` where
    /// [`Forum::post`] would be `NotFound`), without what a [`Post`] joins
    /// in (author's name and standing, the reader's like and bookmark, the
    /// accepted answer, the rendered HTML) — for readers that parse the
    /// source themselves, such as plugins. At most [`MAX_POSTS_BY_IDS`]
    /// ids.
    pub fn post_sources(
        &self,
        actor: &Actor,
        community: CommunityId,
        posts: &[PostId],
    ) -> Result<Vec<Option<PostSource>>> {
        check_ids(posts)?;
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            by_ids(conn, &viewer, posts, |ids| {
                let source = |r: &db::Row| -> db::Result<PostSource> {
                    Ok(PostSource {
                        id: r.get(0)?,
                        topic: r.get(1)?,
                        author: r.get(2)?,
                        post_number: r.get(3)?,
                        created_at: from_millis(r.get(4)?),
                        like_count: r.get(5)?,
                        source: r.get(6)?,
                        deleted: r.get(7)?,
                        hidden: r.get(8)?,
                    })
                };
                if conn.dialect() == db::Dialect::Sqlite {
                    // In process, a lookup a post costs less than an `IN`
                    // list (which SQLite first builds into a b-tree).
                    let mut stmt = conn.prepare_cached(&SOURCE_BY_ID)?;
                    let mut found = Vec::with_capacity(ids.len());
                    for id in ids.iter().filter(|id| **id != 0) {
                        if let Some(p) =
                            optional(stmt.query_row(params![id, viewer.community], source))?
                        {
                            found.push(p);
                        }
                    }
                    return Ok(found);
                }
                let params = by_ids_params(&viewer, ids);
                let mut stmt = conn.prepare_cached(&SOURCES_BY_IDS)?;
                let rows = stmt.query_map(params, source)?;
                Ok(rows.collect::<db::Result<_>>()?)
            })
        })
    }

    /// A post in a private conversation, for the embedder's trusted
    /// consumers (such as plugins an operator granted `private-messages`):
    /// only [`Actor::System`] may ask (others get `Forbidden`), and a post
    /// that is not in a conversation, or is deleted, is `NotFound` — the
    /// system's ordinary reads never include conversations.
    pub fn conversation_post(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
    ) -> Result<Post> {
        if !matches!(actor, Actor::System) {
            return Err(Error::forbidden(
                "only the system reads private conversations' posts",
            ));
        }
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let category: Option<CategoryId> = crate::store::optional(
                conn.prepare_cached(
                    "SELECT t.category_id FROM posts p JOIN topics t ON t.id = p.topic_id
                     WHERE p.id = ?1 AND p.deleted_at IS NULL AND t.deleted_at IS NULL",
                )?
                .query_row(params![post], |r| r.get(0)),
            )?;
            // Categories are per community: another community's post is
            // not found here either.
            let in_conversation = category.is_some_and(|c| {
                viewer
                    .config
                    .categories
                    .iter()
                    .any(|a| a.id == c && a.inbox)
            });
            if !in_conversation {
                return Err(Error::not_found("post"));
            }
            load_post(conn, &viewer, post)
        })
    }

    /// The direct replies to a post (those written with `reply_to` it), in
    /// order, at most [`MAX_REPLIES`]: what the viewer may read of them,
    /// when they may read the post itself.
    pub fn replies(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
    ) -> Result<Vec<Post>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let state = post_state(conn, &viewer, post)?;
            let deleted = hidden_posts_filter(&viewer);
            load_posts(
                conn,
                &viewer,
                &format!(
                    "p.reply_to_post_id = ?2 AND p.topic_id = ?3{deleted} ORDER BY p.post_number LIMIT ?4"
                ),
                &[&post, &state.topic.id, &(MAX_REPLIES as i64)],
            )
        })
    }

    /// The community's newest posts that `actor` may read, newest first,
    /// before `before` (a post id; all when `None`): at most `limit`,
    /// capped at [`MAX_LATEST_POSTS`]. Posts of deleted, hidden or
    /// unlisted topics and deleted posts are left out (hidden posts are
    /// shown to moderators and their authors, as in a topic).
    pub fn latest_posts(
        &self,
        actor: &Actor,
        community: CommunityId,
        before: Option<PostId>,
        limit: usize,
    ) -> Result<Vec<Post>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let topics = if viewer.is_moderator() {
                ""
            } else {
                " AND t.hidden_at IS NULL AND t.unlisted = 0"
            };
            let hidden = if viewer.is_moderator() {
                ""
            } else {
                " AND (p.hidden_at IS NULL OR p.user_id = ?1)"
            };
            load_posts(
                conn,
                &viewer,
                &format!(
                    "p.community_id = ?2 AND p.id < ?3 AND t.category_id IN {}
                     AND t.deleted_at IS NULL AND t.merged_into IS NULL AND p.deleted_at IS NULL
                     {topics}{hidden}
                     ORDER BY p.id DESC LIMIT ?4",
                    viewer.readable_sql()
                ),
                &[
                    &community,
                    &before.map_or(i64::MAX, |p| p.0),
                    &(limit.min(MAX_LATEST_POSTS) as i64),
                ],
            )
        })
    }

    /// A post's revision history, oldest first. Visible to whoever may read
    /// the post.
    pub fn revisions(
        &self,
        actor: &Actor,
        community: CommunityId,
        post: PostId,
    ) -> Result<Vec<Revision>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            post_state(conn, &viewer, post)?;
            let mut stmt = conn.prepare_cached(
                "SELECT version, user_id, reason, old_source, new_source, old_title, new_title, created_at
                 FROM post_revisions WHERE post_id = ?1 ORDER BY version",
            )?;
            let rows = stmt.query_map([post], |r| {
                Ok(Revision {
                    version: r.get(0)?,
                    editor: r.get(1)?,
                    reason: r.get(2)?,
                    old_source: r.get(3)?,
                    new_source: r.get(4)?,
                    old_title: r.get(5)?,
                    new_title: r.get(6)?,
                    created_at: from_millis(r.get(7)?),
                })
            })?;
            Ok(rows.collect::<db::Result<_>>()?)
        })
    }

    /// The tags of the topics `actor` may see (the same topics as
    /// [`Forum::latest`] lists), most used first, at most `limit` (capped
    /// at [`MAX_TAGS`]). A tag used only in private categories is not
    /// listed to those who can't read them.
    pub fn tags(
        &self,
        actor: &Actor,
        community: CommunityId,
        limit: usize,
    ) -> Result<Vec<TagCount>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT g.tag, n.id, count(*) FROM topic_tags g JOIN topics t ON t.id = g.topic_id
                 JOIN tags n ON n.community_id = t.community_id AND n.name = g.tag
                 WHERE t.community_id = ?1 AND t.category_id IN {} AND t.deleted_at IS NULL
                   AND t.hidden_at IS NULL AND t.unlisted = 0
                 GROUP BY g.tag, n.id ORDER BY count(*) DESC, g.tag LIMIT ?2",
                viewer.readable_sql()
            ))?;
            let rows = stmt.query_map(params![community, limit.min(MAX_TAGS) as i64], |r| {
                Ok(TagCount {
                    name: r.get(0)?,
                    id: r.get(1)?,
                    topic_count: r.get(2)?,
                })
            })?;
            Ok(rows.collect::<db::Result<_>>()?)
        })
    }

    /// Topics by last activity, pinned first; only what `actor` may read,
    /// never deleted or unlisted ones.
    pub fn latest(
        &self,
        actor: &Actor,
        community: CommunityId,
        filter: &TopicFilter,
        page: &PageRequest,
    ) -> Result<Page<Topic>> {
        self.run_due_work();
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            // A category list puts the category's pins first; the
            // community-wide list only global pins.
            let (cats, pin) = match filter.category {
                Some(c) => {
                    viewer.category(c)?;
                    (format!("({c})"), "t.pinned")
                }
                None => (viewer.readable_sql(), "t.pinned_global"),
            };
            let [pinned, bumped, id] = match &page.after {
                Some(c) => c.parts::<3>()?,
                None => [i64::MAX, i64::MAX, i64::MAX],
            };
            let limit = page.limit();
            let tag = if filter.tag.is_some() {
                " AND EXISTS (SELECT 1 FROM topic_tags g WHERE g.topic_id = t.id AND g.tag = ?6)"
            } else {
                ""
            };
            let sql = format!(
                "t.community_id = ?1 AND t.category_id IN {cats} AND t.deleted_at IS NULL
                 AND t.hidden_at IS NULL AND t.unlisted = 0 {tag}
                 AND ({pin}, t.bumped_at, t.id) < (?2, ?3, ?4)
                 ORDER BY {pin} DESC, t.bumped_at DESC, t.id DESC LIMIT ?5"
            );
            let tag_value = filter.tag.clone().unwrap_or_default().to_lowercase();
            let rows = if filter.tag.is_some() {
                load_topics(
                    conn,
                    &sql,
                    params![community, pinned, bumped, id, limit as i64 + 1, tag_value],
                )?
            } else {
                load_topics(
                    conn,
                    &sql,
                    params![community, pinned, bumped, id, limit as i64 + 1],
                )?
            };
            let category_list = filter.category.is_some();
            Ok(Page::from_rows(rows, limit, |t: &Topic| {
                Cursor::from_parts(&[
                    i64::from(if category_list {
                        t.pinned
                    } else {
                        t.pinned_globally
                    }),
                    crate::clock::to_millis(t.bumped_at),
                    t.id.0,
                ])
            }))
        })
    }

    /// The most active topics started in the last `period` that the actor
    /// may read (listed, not deleted or hidden): by score — 2 per reply, 1
    /// per like, 1 per 20 views — then newest first; `limit` (at most
    /// [`MAX_TOP_TOPICS`]) from `offset`.
    pub fn top_topics(
        &self,
        actor: &Actor,
        community: CommunityId,
        period: TopPeriod,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<Topic>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let since = match period.days() {
                Some(d) => now - d * crate::clock::DAY_MS,
                None => i64::MIN,
            };
            let sql = format!(
                "t.community_id = ?1 AND t.category_id IN {} AND t.deleted_at IS NULL
                 AND t.hidden_at IS NULL AND t.unlisted = 0 AND t.created_at >= ?2
                 ORDER BY 2 * (t.post_count - 1) + t.like_count + t.view_count / 20 DESC, t.id DESC
                 LIMIT ?3 OFFSET ?4",
                viewer.readable_sql()
            );
            load_topics(
                conn,
                &sql,
                params![
                    community,
                    since,
                    limit.min(MAX_TOP_TOPICS) as i64,
                    i64::try_from(offset).unwrap_or(i64::MAX)
                ],
            )
        })
    }

    /// A member's posts in this community, newest first, that the actor may
    /// read (for a profile's "recent posts"). Deleted and hidden posts, and
    /// posts in deleted, hidden or unlisted topics, are left out.
    pub fn posts_by(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        page: &PageRequest,
    ) -> Result<Page<Post>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let before = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => i64::MAX,
            };
            let limit = page.limit();
            let filter = format!(
                "p.community_id = ?2 AND p.user_id = ?3 AND p.id < ?4
                 AND t.category_id IN {} AND p.deleted_at IS NULL AND p.hidden_at IS NULL
                 AND t.deleted_at IS NULL AND t.hidden_at IS NULL AND t.unlisted = 0
                 ORDER BY p.id DESC LIMIT ?5",
                viewer.readable_sql()
            );
            let rows = load_posts(
                conn,
                &viewer,
                &filter,
                &[&community, &user, &before, &(limit as i64 + 1)],
            )?;
            Ok(Page::from_rows(rows, limit, |p: &Post| {
                Cursor::from_parts(&[p.id.0])
            }))
        })
    }

    /// Re-renders posts stored with an older [`RENDER_VERSION`], `batch`
    /// posts per transaction, calling `progress(done, total)` after each
    /// batch. Returns how many posts were re-rendered.
    pub fn rerender_posts(&self, batch: usize, progress: &mut dyn FnMut(u64, u64)) -> Result<u64> {
        let batch = batch.clamp(1, 10_000);
        let total: u64 = self.read(|conn, _| {
            Ok(conn
                .prepare_cached("SELECT count(*) FROM posts WHERE render_version < ?1")?
                .query_row([RENDER_VERSION], |r| r.get::<_, i64>(0))? as u64)
        })?;
        let mut done = 0u64;
        loop {
            let rows: Vec<(PostId, CommunityId, String)> = self.read(|conn, _| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, community_id, source FROM posts WHERE render_version < ?1 ORDER BY id LIMIT ?2",
                )?;
                Ok(stmt
                    .query_map(params![RENDER_VERSION, batch as i64], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<db::Result<_>>()?)
            })?;
            if rows.is_empty() {
                break;
            }
            let mut rendered = Vec::with_capacity(rows.len());
            let mut viewers: HashMap<CommunityId, Viewer> = HashMap::new();
            for (id, community, source) in &rows {
                let viewer = match viewers.entry(*community) {
                    Entry::Occupied(v) => v.into_mut(),
                    Entry::Vacant(v) => v.insert(self.load_viewer(&Actor::System, *community)?),
                };
                // A post that no longer passes today's limits keeps its old
                // HTML, cleaned by today's author allowlist (so nothing an
                // older allowlist let through survives), and is marked
                // current so the job terminates.
                let (html, markup) = match self.render_for(viewer, source) {
                    Ok(r) => (r.html, Some(r.markup)),
                    Err(_) => {
                        let old: String = self.read(|conn, _| {
                            Ok(conn
                                .prepare_cached("SELECT html FROM posts WHERE id = ?1")?
                                .query_row([id], |r| r.get(0))?)
                        })?;
                        (viewer.config.renderer()?.sanitize(&old), None)
                    }
                };
                rendered.push((*id, html, markup));
            }
            self.store.write(|tx| {
                for (id, html, markup) in &rendered {
                    tx.prepare_cached(
                        "UPDATE posts SET html = ?2, render_version = ?3, markup = ?4 WHERE id = ?1",
                    )?
                    .execute(params![id, html, RENDER_VERSION, markup])?;
                }
                Ok(())
            })?;
            done += rows.len() as u64;
            progress(done, total.max(done));
        }
        Ok(done)
    }
}

impl Forum {
    /// Renders imported posts again (HTML, mentions, links) and indexes
    /// them for search, a batch per transaction. A post that no longer
    /// renders under today's limits is shown as its text when `as_text`
    /// (an import, which has no HTML yet), else left as it is.
    pub(crate) fn rebuild_posts(
        &self,
        community: CommunityId,
        posts: &[PostId],
        as_text: bool,
    ) -> Result<()> {
        let viewer = self.load_viewer(&Actor::System, community)?;
        let mut rendered = Vec::with_capacity(posts.len());
        for post in posts {
            let (source, number, title): (String, i64, String) = self.read(|conn, _| {
                Ok(conn
                    .prepare_cached(
                        "SELECT p.source, p.post_number, t.title FROM posts p JOIN topics t ON t.id = p.topic_id
                         WHERE p.id = ?1",
                    )?
                    .query_row([post], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?)
            })?;
            // What no longer renders under today's limits is shown as text
            // (or kept as it is).
            let r = match self.render_for(&viewer, &source) {
                Ok(r) => r,
                Err(_) if !as_text => continue,
                Err(_) => Rendered {
                    html: format!("<p>{}</p>", crate::render::escape_text(&source)),
                    text: source.clone(),
                    mentions: Vec::new(),
                    links: Vec::new(),
                    uploads: crate::uploads::names_in(&source),
                    markup: String::new(),
                },
            };
            rendered.push((*post, if number == 1 { title } else { String::new() }, r));
        }
        self.write(|w| {
            for (post, title, r) in &rendered {
                w.tx.prepare_cached(
                    "UPDATE posts SET html = ?2, render_version = ?3, markup = ?4 WHERE id = ?1",
                )?
                .execute(params![post, r.html, RENDER_VERSION, r.markup])?;
                record_refs(w, *post, r)?;
                index_post(w.tx, *post, title, &r.text)?;
            }
            Ok(())
        })
    }
}

/// Deletes a post as a moderator (deciding a review, running a timer,
/// deleting a member); `false` when it was deleted already (on its own,
/// or with its topic).
pub(crate) fn delete_in(w: &mut Write<'_>, viewer: &Viewer, post: PostId) -> Result<bool> {
    let state = post_state(w.tx, viewer, post)?;
    if state.deleted {
        return Ok(false);
    }
    apply_delete(w, viewer, &state, post, true)?;
    Ok(true)
}

/// Soft-deletes or restores a post (and its topic, for a first post),
/// keeping counters, the search indexes and the ledger in step; audited
/// when a moderator acts on someone else's post.
fn apply_delete(
    w: &mut Write<'_>,
    viewer: &Viewer,
    state: &PostState,
    post: PostId,
    delete: bool,
) -> Result<()> {
    let community = viewer.community;
    let actor_id = viewer.user;
    let now = w.now_ms();
    let (at, by) = if delete {
        (Some(now), actor_id)
    } else {
        (None, None)
    };
    w.tx.prepare_cached("UPDATE posts SET deleted_at = ?2, deleted_by = ?3 WHERE id = ?1")?
        .execute(params![post, at, by])?;
    if state.post_number == 1 {
        w.tx.prepare_cached("UPDATE topics SET deleted_at = ?2, deleted_by = ?3 WHERE id = ?1")?
            .execute(params![state.topic.id, at, by])?;
    }
    let delta = if delete { -1 } else { 1 };
    let likes: i64 =
        w.tx.prepare_cached("SELECT like_count FROM posts WHERE id = ?1")?
            .query_row([post], |r| r.get(0))?;
    w.tx.prepare_cached(
        "UPDATE topics SET post_count = post_count + ?2, like_count = like_count + ?3 WHERE id = ?1",
    )?
    .execute(params![state.topic.id, delta, delta * likes])?;
    if delete && state.topic.solved == Some(post) {
        w.tx.prepare_cached("UPDATE topics SET solved_post_id = NULL WHERE id = ?1")?
            .execute([state.topic.id])?;
    }
    refresh_scope(w.tx, state.topic.id)?;
    let cat = viewer.topic_category(&state.topic)?;
    let kind = if delete {
        EventKind::PostDeleted
    } else {
        EventKind::PostRestored
    };
    let mut e = NewEvent::new(kind, audience(cat));
    e.category = Some(cat.id);
    e.topic = Some(state.topic.id);
    e.post = Some(post);
    e.actor = actor_id;
    e.subject = Some(state.author);
    e.data = serde_json::json!({ "topic_deleted": state.post_number == 1 });
    w.emit(community, e)?;
    if delete {
        // Points earned by removed content are taken back (a restore
        // does not give them again).
        let cat = cat.clone();
        let posts: Vec<PostId> = if state.post_number == 1 {
            w.tx.prepare_cached("SELECT id FROM posts WHERE topic_id = ?1")?
                .query_map([state.topic.id], |r| r.get(0))?
                .collect::<db::Result<_>>()?
        } else {
            vec![post]
        };
        for p in posts {
            reverse(w, viewer, None, Some(p), Some(&cat))?;
        }
    }
    if actor_id != Some(state.author) {
        record(
            w,
            viewer,
            if delete {
                AuditAction::PostDeleted
            } else {
                AuditAction::PostRestored
            },
            Target::Post(post),
            serde_json::json!({ "deleted": !delete }),
            serde_json::json!({ "deleted": delete, "topic_deleted": state.post_number == 1 }),
            None,
        )?;
    }
    Ok(())
}

/// Opens a topic with its first post (permissions and rules already checked).
#[allow(clippy::too_many_arguments)]
/// Title, tags and external id of a topic to publish.
pub(crate) type TopicHead<'a> = (&'a str, &'a [String], Option<&'a str>);

pub(crate) fn publish_topic(
    w: &mut Write<'_>,
    viewer: &Viewer,
    cat: &CategoryAccess,
    author: UserId,
    (title, tags, external_id): TopicHead<'_>,
    body: &str,
    rendered: &Rendered,
) -> Result<(TopicId, PostId)> {
    let now = w.now_ms();
    if let Some(ext) = external_id {
        crate::external_topics::check_free(w.tx, viewer.community, ext)?;
    }
    w.tx.prepare_cached(
        "INSERT INTO topics (community_id, category_id, user_id, title, slug, tags, bumped_at,
                             last_poster_id, created_at, external_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?3, ?7, ?8)",
    )?
    .execute(params![
        viewer.community,
        cat.id,
        author,
        title,
        slugify(title),
        tags.join(","),
        now,
        external_id
    ])?;
    let topic = TopicId(w.tx.last_insert_rowid()?);
    add_topic_tags(w.tx, viewer.community, topic, tags)?;
    let mut e = NewEvent::new(EventKind::TopicCreated, audience(cat));
    e.category = Some(cat.id);
    e.topic = Some(topic);
    e.actor = Some(author);
    e.subject = Some(author);
    w.emit(viewer.community, e)?;
    let post = insert_post(
        w,
        viewer,
        cat,
        topic,
        author,
        body,
        rendered,
        None,
        Some(title),
    )?;
    Ok((topic, post))
}

fn check_reply_to(w: &Write<'_>, topic: TopicId, reply_to: Option<PostId>) -> Result<()> {
    if let Some(parent) = reply_to {
        let ok: bool = w
            .tx
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM posts WHERE id = ?1 AND topic_id = ?2 AND deleted_at IS NULL)",
            )?
            .query_row(params![parent, topic], |r| r.get(0))?;
        if !ok {
            return Err(Error::invalid(
                "reply_to",
                "must be a visible post of the same topic",
            ));
        }
    }
    Ok(())
}

/// Adds a reply (permissions and rules already checked).
pub(crate) fn publish_reply(
    w: &mut Write<'_>,
    viewer: &Viewer,
    state: &TopicState,
    author: UserId,
    body: &str,
    reply_to: Option<PostId>,
    rendered: &Rendered,
) -> Result<PostId> {
    check_reply_to(w, state.id, reply_to)?;
    let cat = viewer.topic_category(state)?.clone();
    insert_post(
        w, viewer, &cat, state.id, author, body, rendered, reply_to, None,
    )
}

/// Applies an edit: a revision, the new source and HTML, the title, the
/// search index, an event, and an audit entry when the editor is not the
/// author.
#[allow(clippy::too_many_arguments)]
pub(crate) fn apply_edit(
    w: &mut Write<'_>,
    viewer: &Viewer,
    state: &PostState,
    editor: UserId,
    title: Option<&str>,
    body: &str,
    reason: Option<&str>,
    rendered: &Rendered,
) -> Result<()> {
    let post_id: PostId =
        w.tx.prepare_cached("SELECT id FROM posts WHERE topic_id = ?1 AND post_number = ?2")?
            .query_row(params![state.topic.id, state.post_number], |r| r.get(0))?;
    let new_title = title.filter(|t| *t != state.topic.title);
    if body == state.source && new_title.is_none() {
        return Ok(());
    }
    let version = state.version + 1;
    let now = w.now_ms();
    w.tx.prepare_cached(
        "INSERT INTO post_revisions (post_id, version, user_id, reason, old_source, new_source,
                                     old_title, new_title, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        post_id,
        version,
        editor,
        reason,
        state.source,
        body,
        new_title.map(|_| &state.topic.title),
        new_title,
        now
    ])?;
    w.tx.prepare_cached(
        "UPDATE posts SET source = ?2, html = ?3, render_version = ?4, version = ?5, updated_at = ?6,
                          markup = ?7
         WHERE id = ?1",
    )?
    .execute(params![post_id, body, rendered.html, RENDER_VERSION, version, now, rendered.markup])?;
    if let Some(t) = new_title {
        w.tx.prepare_cached("UPDATE topics SET title = ?2, slug = ?3 WHERE id = ?1")?
            .execute(params![state.topic.id, t, slugify(t)])?;
    }
    let index_title = if state.post_number == 1 {
        new_title.unwrap_or(&state.topic.title).to_string()
    } else {
        String::new()
    };
    record_refs(w, post_id, rendered)?;
    index_post(w.tx, post_id, &index_title, &rendered.text)?;
    let cat = viewer.topic_category(&state.topic)?;
    let mut e = NewEvent::new(EventKind::PostEdited, audience(cat));
    e.category = Some(cat.id);
    e.topic = Some(state.topic.id);
    e.post = Some(post_id);
    e.actor = Some(editor);
    e.subject = Some(state.author);
    e.data = serde_json::json!({ "version": version, "title_changed": new_title.is_some() });
    w.emit(viewer.community, e)?;
    if editor != state.author {
        record(
            w,
            viewer,
            AuditAction::PostEdited,
            Target::Post(post_id),
            serde_json::json!({ "version": state.version, "title": new_title.map(|_| &state.topic.title) }),
            serde_json::json!({ "version": version, "title": new_title }),
            reason,
        )?;
    }
    Ok(())
}

/// Inserts a post and everything that goes with it: counters, mentions,
/// links, search index, event.
#[allow(clippy::too_many_arguments)]
fn insert_post(
    w: &mut Write<'_>,
    viewer: &Viewer,
    cat: &CategoryAccess,
    topic: TopicId,
    author: UserId,
    source: &str,
    rendered: &Rendered,
    reply_to: Option<PostId>,
    title: Option<&str>,
) -> Result<PostId> {
    let now = w.now_ms();
    // The topic's counters, bump and last poster change with the number
    // the post takes: in one statement on PostgreSQL; SQLite reads the
    // number first, in the same write, rather than run `RETURNING` (see
    // `Conn::insert_id` for what that costs there).
    const BUMP: &str = "UPDATE topics SET next_post_number = next_post_number + 1,
                            post_count = post_count + 1, bumped_at = ?2, last_poster_id = ?3
                        WHERE id = ?1";
    let number: i64 = if w.tx.dialect() == db::Dialect::Sqlite {
        let number =
            w.tx.prepare_cached("SELECT next_post_number FROM topics WHERE id = ?1")?
                .query_row([topic], |r| r.get(0))?;
        w.tx.prepare_cached(BUMP)?
            .execute(params![topic, now, author])?;
        number
    } else {
        w.tx.prepare_cached(&format!("{BUMP} RETURNING next_post_number - 1"))?
            .query_row(params![topic, now, author], |r| r.get(0))?
    };
    let official = viewer.role.is_some_and(Role::is_official);
    let post = w.tx.insert_id(
        "INSERT INTO posts (community_id, topic_id, user_id, post_number, reply_to_post_id, official,
                            source, html, render_version, created_at, updated_at, markup)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10, ?11)",
        params![
            viewer.community,
            topic,
            author,
            number,
            reply_to,
            official,
            source,
            rendered.html,
            RENDER_VERSION,
            now,
            rendered.markup
        ],
    )?;
    let post = PostId(post);
    insert_refs(w, post, rendered)?;
    if number == 1 {
        index_new_post(w.tx, post, title.unwrap_or(""), &rendered.text)?;
    } else {
        index_new_reply(w.tx, post, &rendered.text)?;
    }
    let first_in_topic =
        w.tx.prepare_cached(
            "INSERT INTO topic_posters (topic_id, user_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![topic, author])?
            > 0;
    count_content(w, viewer.community, number == 1)?;
    bump(
        w,
        viewer,
        author,
        Delta {
            posts_created: 1,
            topics_created: i64::from(number == 1),
            topics_replied_to: i64::from(number > 1 && first_in_topic),
            ..Delta::default()
        },
    )?;
    let reply_to_author: Option<UserId> = match reply_to {
        Some(p) => optional(
            w.tx.prepare_cached("SELECT user_id FROM posts WHERE id = ?1")?
                .query_row([p], |r| r.get(0)),
        )?,
        None => None,
    };
    let mut e = NewEvent::new(EventKind::PostCreated, audience(cat));
    e.category = Some(cat.id);
    e.topic = Some(topic);
    e.post = Some(post);
    e.actor = Some(author);
    e.subject = reply_to_author;
    e.data = serde_json::json!({
        "post_number": number,
        "reply_to": reply_to,
        "category_kind": cat.kind.as_str(),
        "mentions": rendered.mentions,
    });
    if cat.inbox {
        e.data["message"] = serde_json::Value::Bool(true);
    }
    w.emit(viewer.community, e)?;
    match cat.kind {
        CategoryKind::QuestionAndAnswer => {
            award(
                w,
                viewer,
                author,
                Rule::QaPost,
                &format!("post:{post}"),
                Some(post),
                Some(cat),
            )?;
        }
        CategoryKind::KnowledgeBase if number == 1 => {
            let cause = format!("article:{post}");
            award(
                w,
                viewer,
                author,
                Rule::KnowledgeBaseArticle,
                &cause,
                Some(post),
                Some(cat),
            )?;
        }
        _ => {}
    }
    Ok(post)
}

/// Replaces a post's recorded mentions and links with those of `r`.
fn record_refs(w: &Write<'_>, post: PostId, r: &Rendered) -> Result<()> {
    w.tx.prepare_cached("DELETE FROM mentions WHERE post_id = ?1")?
        .execute([post])?;
    w.tx.prepare_cached("DELETE FROM post_links WHERE post_id = ?1")?
        .execute([post])?;
    w.tx.prepare_cached("DELETE FROM post_uploads WHERE post_id = ?1")?
        .execute([post])?;
    insert_refs(w, post, r)
}

/// Records the mentions, links and uploads of `r` for a post that has
/// none yet.
fn insert_refs(w: &Write<'_>, post: PostId, r: &Rendered) -> Result<()> {
    for name in &r.mentions {
        w.tx.prepare_cached(
            "INSERT INTO mentions (post_id, user_id) SELECT ?1, id FROM users WHERE username_lower = ?2 ON CONFLICT DO NOTHING",
        )?
        .execute(params![post, name])?;
    }
    for (url, internal) in &r.links {
        w.tx.prepare_cached(
            "INSERT INTO post_links (post_id, url, internal) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        )?
        .execute(params![post, url, internal])?;
    }
    for sha in &r.uploads {
        w.tx.prepare_cached(
            "INSERT INTO post_uploads (post_id, sha256) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![post, sha])?;
    }
    Ok(())
}

const TOPIC_SELECT: &str =
    "SELECT t.id, t.community_id, t.category_id, t.title, t.slug, t.pinned, t.closed,
        t.archived, t.unlisted, t.solved_post_id, t.post_count, t.like_count, t.view_count,
        t.created_at, t.bumped_at, t.deleted_at IS NOT NULL,
        a.id, a.username, a.display_name, a.avatar_url,
        l.id, l.username, l.display_name, l.avatar_url, t.tags, t.pinned_global, t.pinned_until
     FROM topics t JOIN users a ON a.id = t.user_id JOIN users l ON l.id = t.last_poster_id
     WHERE ";

pub(crate) fn user_ref(r: &db::Row<'_>, at: usize) -> db::Result<UserRef> {
    Ok(UserRef {
        id: r.get(at)?,
        username: r.get(at + 1)?,
        display_name: r.get(at + 2)?,
        avatar_url: r.get(at + 3)?,
    })
}

pub(crate) fn load_topics(
    conn: &Conn,
    filter: &str,
    params: impl db::Params,
) -> Result<Vec<Topic>> {
    let mut stmt = conn.prepare_cached(&format!("{TOPIC_SELECT}{filter}"))?;
    let rows = stmt.query_map(params, |r| {
        let post_count: i64 = r.get(10)?;
        Ok(Topic {
            id: r.get(0)?,
            community: r.get(1)?,
            category: r.get(2)?,
            title: r.get(3)?,
            slug: r.get(4)?,
            pinned: r.get(5)?,
            pinned_globally: r.get(25)?,
            pinned_until: r.get::<_, Option<i64>>(26)?.map(from_millis),
            closed: r.get(6)?,
            archived: r.get(7)?,
            unlisted: r.get(8)?,
            accepted_answer: r.get(9)?,
            post_count,
            reply_count: (post_count - 1).max(0),
            like_count: r.get(11)?,
            view_count: r.get(12)?,
            created_at: from_millis(r.get(13)?),
            bumped_at: from_millis(r.get(14)?),
            deleted: r.get(15)?,
            author: user_ref(r, 16)?,
            last_poster: user_ref(r, 20)?,
            tags: r
                .get::<_, String>(24)?
                .split(',')
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .collect(),
        })
    })?;
    Ok(rows.collect::<db::Result<_>>()?)
}

/// Puts `tags` on `topic` (which has none of them yet), numbering the
/// community's tags it has never carried before (a number is kept for good).
pub(crate) fn add_topic_tags(
    conn: &Conn,
    community: CommunityId,
    topic: TopicId,
    tags: &[String],
) -> Result<()> {
    for tag in tags {
        conn.prepare_cached("INSERT INTO topic_tags (topic_id, tag) VALUES (?1, ?2)")?
            .execute(params![topic, tag])?;
        conn.prepare_cached(
            "INSERT INTO tags (community_id, name) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![community, tag])?;
    }
    Ok(())
}

/// Numbers every tag on the community's topics that has no number yet
/// (after an import, whose rows arrive without the derived numbers).
pub(crate) fn number_tags(conn: &Conn, community: CommunityId) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO tags (community_id, name)
         SELECT t.community_id, g.tag FROM topic_tags g JOIN topics t ON t.id = g.topic_id
         WHERE t.community_id = ?1 GROUP BY t.community_id, g.tag ORDER BY min(g.topic_id), g.tag
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![community])?;
    Ok(())
}

/// A topic's tags with their numbers, in the topic's order.
fn numbered_tags(conn: &Conn, topic: &Topic) -> Result<Vec<Tag>> {
    if topic.tags.is_empty() {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT g.name, g.id FROM tags g JOIN topic_tags x ON x.tag = g.name
         WHERE x.topic_id = ?1 AND g.community_id = ?2",
    )?;
    let ids: HashMap<String, i64> = stmt
        .query_map(params![topic.id, topic.community], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })?
        .collect::<db::Result<_>>()?;
    Ok(topic
        .tags
        .iter()
        .filter_map(|name| {
            ids.get(name).map(|&id| Tag {
                id,
                name: name.clone(),
            })
        })
        .collect())
}

/// Loads posts matching `filter`, whose parameters start at `?2` (`?1` is
/// the viewer, for "liked" and "bookmarked").
/// The condition, for [`load_posts`], that leaves out deleted and hidden
/// posts where `viewer` may not see them: moderators see everything,
/// authors their own hidden posts.
fn hidden_posts_filter(viewer: &Viewer) -> &'static str {
    if viewer.is_moderator() {
        ""
    } else {
        " AND p.deleted_at IS NULL AND (p.hidden_at IS NULL OR p.user_id = ?1)"
    }
}

/// One post as `viewer` sees it, once its access is checked.
fn load_post(conn: &Conn, viewer: &Viewer, post: PostId) -> Result<Post> {
    load_posts(conn, viewer, "p.id = ?2", &[&post])?
        .pop()
        .ok_or(Error::not_found("post"))
}

/// At most [`MAX_POSTS_BY_IDS`] ids.
fn check_ids(posts: &[PostId]) -> Result<()> {
    if posts.len() > MAX_POSTS_BY_IDS {
        return Err(Error::invalid(
            "posts",
            format!("at most {MAX_POSTS_BY_IDS} ids at once"),
        ));
    }
    Ok(())
}

/// What [`by_ids`] needs of a post to decide whether a reader sees it.
trait ById: Clone {
    /// Its id, topic and author, and whether it is deleted or hidden.
    fn gate(&self) -> (PostId, TopicId, UserId, bool);
}

impl ById for Post {
    fn gate(&self) -> (PostId, TopicId, UserId, bool) {
        (
            self.id,
            self.topic,
            self.author.id,
            self.deleted || self.hidden,
        )
    }
}

impl ById for PostSource {
    fn gate(&self) -> (PostId, TopicId, UserId, bool) {
        (
            self.id,
            self.topic,
            self.author,
            self.deleted || self.hidden,
        )
    }
}

/// Posts by id as `viewer` may read them, in the order asked (`None` for
/// those not there or not for the viewer's eyes; a post asked for twice is
/// answered twice). `load` reads one chunk of [`POSTS_PER_READ`] ids
/// (unused places are id 0, which no post has), in any order.
fn by_ids<T: ById>(
    conn: &Conn,
    viewer: &Viewer,
    posts: &[PostId],
    mut load: impl FnMut(&[i64; POSTS_PER_READ]) -> Result<Vec<T>>,
) -> Result<Vec<Option<T>>> {
    // Each topic's permission is decided once.
    let mut found: HashMap<PostId, T> = HashMap::with_capacity(posts.len());
    let mut topics: HashMap<TopicId, bool> = HashMap::new();
    for chunk in posts.chunks(POSTS_PER_READ) {
        let mut ids = [0i64; POSTS_PER_READ];
        for (slot, id) in ids.iter_mut().zip(chunk) {
            *slot = id.0;
        }
        for p in load(&ids)? {
            let (id, topic, author, withheld) = p.gate();
            let readable = match topics.entry(topic) {
                Entry::Occupied(e) => *e.get(),
                Entry::Vacant(e) => *e.insert(match topic_state(conn, viewer, topic) {
                    Ok(_) => true,
                    Err(Error::NotFound { .. } | Error::Moved { .. }) => false,
                    Err(e) => return Err(e),
                }),
            };
            // As `post_state`: deleted and hidden posts only to
            // moderators and their authors.
            let shown = !withheld || viewer.is_moderator() || viewer.user == Some(author);
            if readable && shown {
                found.insert(id, p);
            }
        }
    }
    let mut uses: HashMap<PostId, usize> = HashMap::with_capacity(posts.len());
    for id in posts {
        *uses.entry(*id).or_default() += 1;
    }
    Ok(posts
        .iter()
        .map(|id| {
            let left = uses.get_mut(id)?;
            *left -= 1;
            if *left == 0 {
                found.remove(id)
            } else {
                found.get(id).cloned()
            }
        })
        .collect())
}

/// The arguments of a statement of one chunk's shape: the community, then
/// the ids (one statement's shape for every chunk).
fn by_ids_params<'a>(viewer: &'a Viewer, ids: &'a [i64]) -> Vec<&'a dyn db::ToSql> {
    std::iter::once(&viewer.community as &dyn db::ToSql)
        .chain(ids.iter().map(|i| i as &dyn db::ToSql))
        .collect()
}

fn load_posts(
    conn: &Conn,
    viewer: &Viewer,
    filter: &str,
    rest: &[&dyn db::ToSql],
) -> Result<Vec<Post>> {
    let me = viewer.user.map_or(0, |u| u.0);
    let mut all: Vec<&dyn db::ToSql> = Vec::with_capacity(rest.len() + 1);
    all.push(&me);
    all.extend_from_slice(rest);
    let sql = format!(
        "SELECT p.id, p.topic_id, p.community_id, p.post_number, p.reply_to_post_id, p.official,
                p.source, p.html, p.version, p.like_count, p.created_at, p.updated_at,
                p.deleted_at IS NOT NULL,
                u.id, u.username, u.display_name, u.avatar_url,
                EXISTS (SELECT 1 FROM likes k WHERE k.post_id = p.id AND k.user_id = ?1),
                EXISTS (SELECT 1 FROM bookmarks b WHERE b.post_id = p.id AND b.user_id = ?1),
                t.solved_post_id IS NOT DISTINCT FROM p.id, p.hidden_at IS NOT NULL,
                m.role, m.trust_level
         FROM posts p JOIN users u ON u.id = p.user_id JOIN topics t ON t.id = p.topic_id
              LEFT JOIN memberships m ON m.community_id = p.community_id AND m.user_id = p.user_id
         WHERE {filter}"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(all, |r| {
        Ok(Post {
            id: r.get(0)?,
            topic: r.get(1)?,
            community: r.get(2)?,
            post_number: r.get(3)?,
            reply_to: r.get(4)?,
            official: r.get(5)?,
            source: r.get(6)?,
            html: r.get(7)?,
            version: r.get(8)?,
            like_count: r.get(9)?,
            created_at: from_millis(r.get(10)?),
            updated_at: from_millis(r.get(11)?),
            deleted: r.get(12)?,
            author: user_ref(r, 13)?,
            liked: r.get(17)?,
            bookmarked: r.get(18)?,
            accepted: r.get(19)?,
            hidden: r.get(20)?,
            author_role: r
                .get::<_, Option<String>>(21)?
                .map(|role| crate::permissions::Role::parse(&role))
                .transpose()
                .map_err(|e| db::Error::convert(21, e))?,
            author_trust: match r.get::<_, Option<i64>>(22)? {
                Some(n) => {
                    crate::trust::TrustLevel::from_db(n).map_err(|e| db::Error::convert(22, e))?
                }
                None => crate::trust::TrustLevel::New,
            },
        })
    })?;
    Ok(rows.collect::<db::Result<_>>()?)
}
