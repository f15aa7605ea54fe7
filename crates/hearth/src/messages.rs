//! Private messages: conversations between members (and groups, such as a
//! support team) that only their participants read.
//!
//! A message is a topic in its community's inbox, a category of kind
//! `messages` made with the first message. `Viewer::can_read` refuses the
//! inbox to everyone, moderators included, so every list, search, feed,
//! sitemap, digest and event read — each filters by readable categories —
//! leaves messages out by construction. A message is reached one topic at a
//! time: `topic_state` asks [`may_read`] (a participant by name or by
//! group, or a moderator once a participant flagged a post in it) and marks
//! the state `message`, and the paths messages support (reading, replies,
//! edits, likes, bookmarks, flags) take the inbox's access through
//! `Viewer::topic_category`. Everything else (moving, answers, articles,
//! ideas) asks `Viewer::category` and finds nothing.
//!
//! Replies, likes and mentions work as in topics; points and badges are
//! not earned here (the inbox earns no rewards); plugins' draft filters do
//! not see messages; a rule that would hold a message for review refuses it
//! instead (moderators do not read messages in the queue).

use serde::{Deserialize, Serialize};

use crate::db::{self, Conn, params};
use crate::error::{Error, Result};
use crate::events::{EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::hooks::{DraftKind, PostDraft};
use crate::ids::{CategoryId, CommunityId, GroupId, TopicId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, CategoryAccess, Viewer, bump_config, sql_id_list};
use crate::store::optional;
use crate::text::clean_title;
use crate::topic::{Post, Topic, UserRef, load_topics, topic_state, user_ref};
use crate::trust::TrustLevel;

/// `categories.kind` of a community's inbox.
pub(crate) const INBOX_KIND: &str = "messages";

/// The inbox's slug: category slugs made through the API may not start
/// with a dash, so none can take it.
const INBOX_SLUG: &str = "-messages";

/// The most recipients any community may allow per message
/// ([`MessageSettings::max_recipients`]).
pub const MAX_MESSAGE_RECIPIENTS: u32 = 50;

/// Who may message whom, and how much.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MessageSettings {
    /// Lowest trust level that may message members who are not staff,
    /// moderators or experts (default 1). Below it a member may still
    /// message those and groups: the way to human help stays open.
    pub min_trust: TrustLevel,
    /// Conversations a member may start per day (default 20; staff,
    /// moderators and experts are not counted). 1 to 10,000.
    pub per_day: u32,
    /// Most recipients per message, members and groups together (default
    /// 20; 1 to [`MAX_MESSAGE_RECIPIENTS`]).
    pub max_recipients: u32,
}

impl Default for MessageSettings {
    fn default() -> Self {
        MessageSettings {
            min_trust: TrustLevel::Basic,
            per_day: 20,
            max_recipients: 20,
        }
    }
}

impl MessageSettings {
    pub(crate) fn validate(&self) -> Result<()> {
        if !(1..=10_000).contains(&self.per_day) {
            return Err(Error::invalid("messages", "per_day must be 1 to 10,000"));
        }
        if !(1..=MAX_MESSAGE_RECIPIENTS).contains(&self.max_recipients) {
            return Err(Error::invalid(
                "messages",
                format!("max_recipients must be 1 to {MAX_MESSAGE_RECIPIENTS}"),
            ));
        }
        Ok(())
    }
}

/// A new conversation: its first post and who it goes to (usernames and
/// group names, any letter case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewMessage {
    /// The title.
    pub title: String,
    /// The first post, Markdown.
    pub body: String,
    /// Members, by username.
    pub users: Vec<String>,
    /// Groups, by name: every member of the group takes part.
    pub groups: Vec<String>,
}

/// One participant of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Participant {
    /// A member.
    User(UserId),
    /// A group: its members, as it is whenever they read.
    Group(GroupId),
}

/// Which conversations [`Forum::messages`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailbox {
    /// Every conversation the member takes part in, by name or by group.
    Inbox,
    /// The conversations the member started.
    Sent,
}

/// A group taking part in a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageGroup {
    /// Its id.
    pub id: GroupId,
    /// Its name.
    pub name: String,
}

/// Who takes part in a conversation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participants {
    /// Members by name, in the order they were added.
    pub users: Vec<UserRef>,
    /// Groups.
    pub groups: Vec<MessageGroup>,
}

/// A conversation as the mailbox lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageSummary {
    /// The conversation's topic (its `category` is the inbox).
    pub topic: Topic,
    /// Who takes part.
    pub participants: Participants,
    /// The highest post number the member has read.
    pub last_read_post_number: i64,
    /// Posts by others after that one.
    pub unread_posts: i64,
    /// The number of its last post.
    pub highest_post_number: i64,
}

/// Whether `viewer` may read message `topic`: a participant by name or by
/// one of their groups, or a moderator once a participant flagged a post
/// in it (the flag brings the conversation to review, with its context).
/// Never the system actor.
pub(crate) fn may_read(conn: &Conn, viewer: &Viewer, topic: TopicId) -> Result<bool> {
    Ok(is_participant(conn, viewer, topic)?
        || (viewer.is_moderator()
            && !viewer.system
            && conn
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM flags f JOIN posts p ON p.id = f.post_id
                                   WHERE p.topic_id = ?1)",
                )?
                .query_row([topic], |r| r.get(0))?))
}

/// Whether `viewer` takes part in message `topic`, by name or by group.
fn is_participant(conn: &Conn, viewer: &Viewer, topic: TopicId) -> Result<bool> {
    let (Some(user), Some(_)) = (viewer.user, viewer.role) else {
        return Ok(false);
    };
    if viewer.system {
        return Ok(false);
    }
    let sql = format!(
        "SELECT EXISTS(SELECT 1 FROM message_users WHERE topic_id = ?1 AND user_id = ?2)
             OR EXISTS(SELECT 1 FROM message_groups WHERE topic_id = ?1 AND group_id IN {})",
        groups_sql(viewer)
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![topic, user], |r| r.get(0))?)
}

fn groups_sql(viewer: &Viewer) -> String {
    sql_id_list(viewer.groups.iter().map(|g| g.0))
}

/// The refusal for a message a rule would hold for review.
pub(crate) fn held(reason: String) -> Error {
    Error::Blocked {
        rule: "message_review".into(),
        reason: format!("messages are not held for review ({reason}); change the message"),
    }
}

/// Notification candidates of a post in a conversation: every participant
/// (by name, and the members of its groups).
pub(crate) fn recipients(conn: &Conn, topic: TopicId) -> Result<Vec<UserId>> {
    let mut stmt = conn.prepare_cached(
        "SELECT user_id FROM message_users WHERE topic_id = ?1
         UNION SELECT gm.user_id FROM message_groups mg
               JOIN group_members gm ON gm.group_id = mg.group_id WHERE mg.topic_id = ?1",
    )?;
    let rows = stmt.query_map([topic], |r| r.get(0))?;
    Ok(rows.collect::<db::Result<_>>()?)
}

/// The community's inbox id, made (and the permission cache bumped) if
/// this is its first message.
fn inbox(w: &Write<'_>, community: CommunityId) -> Result<CategoryId> {
    let found: Option<CategoryId> = optional(
        w.tx.prepare_cached("SELECT id FROM categories WHERE community_id = ?1 AND kind = ?2")?
            .query_row(params![community, INBOX_KIND], |r| r.get(0)),
    )?;
    if let Some(id) = found {
        return Ok(id);
    }
    let id =
        w.tx.prepare_cached(
            "INSERT INTO categories (community_id, slug, name, kind, visibility, position,
                                     read_only, rewards, created_at)
             VALUES (?1, ?2, 'Messages', ?3, 'members', 0, 0, 0, ?4) RETURNING id",
        )?
        .query_row(
            params![community, INBOX_SLUG, INBOX_KIND, w.now_ms()],
            |r| r.get(0),
        )?;
    bump_config(w.tx, community)?;
    Ok(id)
}

/// Checks one recipient member: a member here, not blocking the sender,
/// and — below the community's `min_trust` — staff, a moderator or an
/// expert.
fn check_recipient(conn: &Conn, viewer: &Viewer, sender: UserId, user: UserId) -> Result<()> {
    let row: Option<(String, String, bool)> = optional(
        conn.prepare_cached(
            "SELECT u.username, m.role, m.deactivated_at IS NOT NULL
             FROM users u JOIN memberships m ON m.user_id = u.id AND m.community_id = ?1
             WHERE u.id = ?2",
        )?
        .query_row(params![viewer.community, user], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        }),
    )?;
    let Some((name, role, deactivated)) = row else {
        return Err(Error::invalid(
            "users",
            "only members of this community take messages here",
        ));
    };
    if deactivated {
        return Err(Error::invalid(
            "users",
            format!("{name} is not active here"),
        ));
    }
    let official = crate::permissions::Role::parse(&role)?.is_official();
    let min = viewer.config.settings.messages.min_trust;
    if !official && viewer.effective_trust() < min {
        return Err(Error::forbidden(format!(
            "messages to members open at trust level {}; until then, message staff or a group",
            min.number()
        )));
    }
    if !viewer.is_moderator() {
        let blocked: bool = conn
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM message_blocks WHERE user_id = ?1 AND blocked_id = ?2)",
            )?
            .query_row(params![user, sender], |r| r.get(0))?;
        if blocked {
            return Err(Error::forbidden(format!(
                "{name} does not take messages from you"
            )));
        }
    }
    Ok(())
}

/// Resolves names to ids: members by username, groups by name.
fn resolve(
    conn: &Conn,
    viewer: &Viewer,
    sender: UserId,
    users: &[String],
    groups: &[String],
) -> Result<(Vec<UserId>, Vec<GroupId>)> {
    let max = viewer.config.settings.messages.max_recipients as usize;
    if users.len() + groups.len() > max {
        return Err(Error::invalid(
            "users",
            format!("at most {max} recipients per message"),
        ));
    }
    let mut user_ids = Vec::new();
    for name in users {
        let id: Option<UserId> = optional(
            conn.prepare_cached("SELECT id FROM users WHERE username_lower = ?1")?
                .query_row([name.trim().to_lowercase()], |r| r.get(0)),
        )?;
        let id = id.ok_or_else(|| Error::invalid("users", format!("no member called {name:?}")))?;
        if id != sender && !user_ids.contains(&id) {
            check_recipient(conn, viewer, sender, id)?;
            user_ids.push(id);
        }
    }
    let mut group_ids = Vec::new();
    for name in groups {
        let id: Option<GroupId> = optional(
            conn.prepare_cached(
                "SELECT id FROM groups WHERE community_id = ?1 AND name_lower = ?2",
            )?
            .query_row(params![viewer.community, name.trim().to_lowercase()], |r| {
                r.get(0)
            }),
        )?;
        let id = id.ok_or_else(|| Error::invalid("groups", format!("no group called {name:?}")))?;
        if !group_ids.contains(&id) {
            group_ids.push(id);
        }
    }
    if user_ids.is_empty() && group_ids.is_empty() {
        return Err(Error::invalid(
            "users",
            "name at least one member or group (other than yourself)",
        ));
    }
    Ok((user_ids, group_ids))
}

/// Adds a participant; whether they were not one already.
fn add(w: &Write<'_>, topic: TopicId, who: Participant) -> Result<bool> {
    let (sql, id) = match who {
        Participant::User(u) => (
            "INSERT INTO message_users (topic_id, user_id, added_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            u.0,
        ),
        Participant::Group(g) => (
            "INSERT INTO message_groups (topic_id, group_id, added_at) VALUES (?1, ?2, ?3)
             ON CONFLICT DO NOTHING",
            g.0,
        ),
    };
    Ok(w.tx
        .prepare_cached(sql)?
        .execute(params![topic, id, w.now_ms()])?
        > 0)
}

/// The conversation's participants.
fn participants(conn: &Conn, topics: &[TopicId]) -> Result<Vec<(TopicId, Participants)>> {
    let ids: Vec<i64> = topics.iter().map(|t| t.0).collect();
    let list = db::IdChunk::placeholders(1);
    let mut out: Vec<(TopicId, Participants)> = topics
        .iter()
        .map(|t| (*t, Participants::default()))
        .collect();
    let mut users = conn.prepare_cached(&format!(
        "SELECT m.topic_id, u.id, u.username, u.display_name, u.avatar_url
         FROM message_users m JOIN users u ON u.id = m.user_id JOIN topics t ON t.id = m.topic_id
         WHERE m.topic_id IN {list}
         ORDER BY m.added_at, CASE WHEN m.user_id = t.user_id THEN 0 ELSE 1 END, u.id"
    ))?;
    for chunk in db::IdChunk::split(&ids) {
        let rows = users.query_map(chunk.params(&[]), |r| {
            Ok((r.get::<_, TopicId>(0)?, user_ref(r, 1)?))
        })?;
        for row in rows {
            let (t, u) = row?;
            if let Some((_, p)) = out.iter_mut().find(|(id, _)| *id == t) {
                p.users.push(u);
            }
        }
    }
    let mut groups = conn.prepare_cached(&format!(
        "SELECT m.topic_id, g.id, g.name FROM message_groups m JOIN groups g ON g.id = m.group_id
         WHERE m.topic_id IN {list} ORDER BY m.added_at, g.id"
    ))?;
    for chunk in db::IdChunk::split(&ids) {
        let rows = groups.query_map(chunk.params(&[]), |r| {
            Ok((
                r.get::<_, TopicId>(0)?,
                MessageGroup {
                    id: r.get(1)?,
                    name: r.get(2)?,
                },
            ))
        })?;
        for row in rows {
            let (t, g) = row?;
            if let Some((_, p)) = out.iter_mut().find(|(id, _)| *id == t) {
                p.groups.push(g);
            }
        }
    }
    Ok(out)
}

/// One conversation's participants.
pub(crate) fn participants_of(conn: &Conn, topic: TopicId) -> Result<Participants> {
    Ok(participants(conn, &[topic])?
        .pop()
        .map(|(_, p)| p)
        .unwrap_or_default())
}

/// `(last read, unread by others, highest)` post numbers per topic for
/// `user`.
fn read_state(
    conn: &Conn,
    user: UserId,
    topics: &[TopicId],
) -> Result<Vec<(TopicId, i64, i64, i64)>> {
    let ids: Vec<i64> = topics.iter().map(|t| t.0).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT t.id, coalesce(v.last_read_post, 0),
                (SELECT count(*) FROM posts p WHERE p.topic_id = t.id AND p.deleted_at IS NULL
                   AND p.user_id <> ?1 AND p.post_number > coalesce(v.last_read_post, 0)),
                t.next_post_number - 1
         FROM topics t LEFT JOIN topic_views v ON v.topic_id = t.id AND v.user_id = ?1
         WHERE t.id IN {}",
        db::IdChunk::placeholders(2)
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for chunk in db::IdChunk::split(&ids) {
        let rows = stmt.query_map(chunk.params(&[&user]), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?;
        for row in rows {
            out.push(row?);
        }
    }
    Ok(out)
}

/// The SQL condition "topic `t` is a conversation member `?2` takes part
/// in", by name or through one of the viewer's groups.
fn taking_part(viewer: &Viewer) -> String {
    taking_part_in(viewer, "t.id", 2)
}

/// The SQL condition "the topic whose id is `topic` is a conversation the
/// member bound as `?{param}` takes part in", by name or through one of
/// the viewer's groups.
pub(crate) fn taking_part_in(viewer: &Viewer, topic: &str, param: usize) -> String {
    format!(
        "({topic} IN (SELECT topic_id FROM message_users WHERE user_id = ?{param})
          OR {topic} IN (SELECT topic_id FROM message_groups WHERE group_id IN {}))",
        groups_sql(viewer)
    )
}

pub(crate) fn member(viewer: &Viewer) -> Result<UserId> {
    match (viewer.user, viewer.role) {
        (Some(u), Some(_)) if !viewer.system => Ok(u),
        _ => Err(Error::forbidden("sign in as a member to use messages")),
    }
}

impl Forum {
    /// Starts a private conversation with members and groups; the sender
    /// takes part too. Recipients are told (`private_message`
    /// notifications), and every later post notifies the others.
    ///
    /// Members below the community's [`MessageSettings::min_trust`] may
    /// message staff, moderators, experts and groups only; a member who
    /// blocked the sender ([`Forum::block_messages`]) is refused
    /// (`Forbidden`); unknown names are `Invalid` (field `users` or
    /// `groups`); more than [`MessageSettings::per_day`] new conversations
    /// a day is `RateLimited`. The moderation rules apply as for posts,
    /// except that a message is never held for review: what would be held
    /// is refused (`Blocked`, rule `message_review`).
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("m.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let bob = forum.create_user(NewUser::new("bob"))?.id;
    /// # let eve = forum.create_user(NewUser::new("eve"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// # forum.join(&Actor::User(bob), c)?;
    /// # forum.join(&Actor::User(eve), c)?;
    /// let (topic, _) = forum.send_message(&Actor::User(bob), c, NewMessage {
    ///     title: "About my invoice".into(),
    ///     body: "Could you look at invoice 1042?".into(),
    ///     users: vec!["ann".into()],
    ///     ..Default::default()
    /// })?;
    /// // Ann reads and answers it; Eve cannot even learn it exists.
    /// forum.reply(&Actor::User(ann), c, topic.id, NewReply {
    ///     body: "Looking at it now.".into(), reply_to: None })?;
    /// assert!(forum.topic(&Actor::User(eve), c, topic.id, &PageRequest::first(20)).is_err());
    /// let inbox = forum.messages(&Actor::User(bob), c, Mailbox::Inbox, &PageRequest::first(20))?;
    /// assert_eq!(inbox.items[0].unread_posts, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn send_message(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewMessage,
    ) -> Result<(Topic, Post)> {
        let viewer = self.load_viewer(actor, community)?;
        let author = viewer.require_poster()?;
        let l = viewer.config.settings.limits.clone();
        let title = clean_title(&new.title, l.title_min_chars, l.title_max_chars)?;
        let mut draft = PostDraft {
            kind: DraftKind::NewTopic,
            community,
            category: CategoryId(0),
            topic: None,
            post: None,
            author,
            title: Some(title.clone()),
            body: new.body.clone(),
        };
        let placeholder = CategoryAccess::inbox(CategoryId(0));
        let cat = viewer.config.inbox().unwrap_or(&placeholder).clone();
        let prepared = self.prepare_post(&viewer, &cat, &mut draft)?;
        if let Some(reason) = prepared.screening.queue.clone() {
            return Err(held(reason));
        }
        let title = draft.title.clone().unwrap_or(title);
        let (topic, post) = self.write(|w| {
            let mut viewer = self.viewer_in(w, actor, community)?;
            let author = viewer.require_poster()?;
            let (users, groups) = resolve(w.tx, &viewer, author, &new.users, &new.groups)?;
            if !viewer.is_official() {
                let started: i64 =
                    w.tx.prepare_cached(
                        "SELECT count(*) FROM topics t JOIN categories c ON c.id = t.category_id
                         WHERE t.community_id = ?1 AND t.user_id = ?2 AND c.kind = ?3
                           AND t.created_at > ?4",
                    )?
                    .query_row(
                        params![
                            community,
                            author,
                            INBOX_KIND,
                            w.now_ms() - crate::clock::DAY_MS
                        ],
                        |r| r.get(0),
                    )?;
                if started >= i64::from(viewer.config.settings.messages.per_day) {
                    return Err(Error::RateLimited {
                        retry_after: std::time::Duration::from_secs(3600),
                    });
                }
            }
            if viewer.config.inbox().is_none() {
                inbox(w, community)?;
                viewer = self.viewer_in(w, actor, community)?;
            }
            let cat = viewer
                .config
                .inbox()
                .cloned()
                .ok_or_else(|| Error::Storage("the inbox category is missing".into()))?;
            // Rate limits and the like (errors); its holds do not apply.
            crate::rules::screen_state(
                w,
                &viewer,
                &cat,
                DraftKind::NewTopic,
                None,
                author,
                &draft.body,
            )?;
            let topic = crate::topic::publish_topic(
                w,
                &viewer,
                &cat,
                author,
                (&title, &[], None),
                &draft.body,
                &prepared.rendered,
            )?;
            // In the same transaction as the post, before its events
            // become notifications (when the write commits).
            add(w, topic.0, Participant::User(author))?;
            for u in &users {
                add(w, topic.0, Participant::User(*u))?;
            }
            for g in &groups {
                add(w, topic.0, Participant::Group(*g))?;
            }
            if let Some(reason) = &prepared.screening.flag {
                crate::review::rule_flag(w, &viewer, topic.1, reason)?;
            }
            let t = load_topics(w.tx, "t.id = ?1", params![topic.0])?
                .pop()
                .ok_or(Error::not_found("topic"))?;
            Ok((t, topic.1))
        })?;
        Ok((topic, self.post(actor, community, post)?))
    }

    /// The member's conversations, most recently active first: all they
    /// take part in ([`Mailbox::Inbox`]) or those they started
    /// ([`Mailbox::Sent`]), with participants and unread counts. Only for
    /// the member themselves: nobody else, moderators included, lists them.
    pub fn messages(
        &self,
        actor: &Actor,
        community: CommunityId,
        mailbox: Mailbox,
        page: &PageRequest,
    ) -> Result<Page<MessageSummary>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let user = member(&viewer)?;
            let Some(inbox) = viewer.config.inbox().map(|c| c.id) else {
                return Ok(Page {
                    items: vec![],
                    next: None,
                });
            };
            let [bumped, id] = match &page.after {
                Some(c) => c.parts::<2>()?,
                None => [i64::MAX, i64::MAX],
            };
            let limit = page.limit();
            let which = match mailbox {
                Mailbox::Inbox => taking_part(&viewer),
                Mailbox::Sent => format!("t.user_id = ?2 AND {}", taking_part(&viewer)),
            };
            let sql = format!(
                "t.community_id = ?1 AND t.category_id = ?3 AND {which} AND t.deleted_at IS NULL
                 AND (t.bumped_at, t.id) < (?4, ?5)
                 ORDER BY t.bumped_at DESC, t.id DESC LIMIT ?6"
            );
            let topics = load_topics(
                conn,
                &sql,
                params![community, user, inbox, bumped, id, limit as i64 + 1],
            )?;
            let ids: Vec<TopicId> = topics.iter().map(|t| t.id).collect();
            let mut who = participants(conn, &ids)?;
            let reads = read_state(conn, user, &ids)?;
            let items = topics
                .into_iter()
                .map(|topic| {
                    let participants = who
                        .iter_mut()
                        .find(|(t, _)| *t == topic.id)
                        .map(|(_, p)| std::mem::take(p))
                        .unwrap_or_default();
                    let (last_read, unread, highest) = reads
                        .iter()
                        .find(|r| r.0 == topic.id)
                        .map_or((0, 0, topic.post_count), |r| (r.1, r.2, r.3));
                    MessageSummary {
                        topic,
                        participants,
                        last_read_post_number: last_read,
                        unread_posts: unread,
                        highest_post_number: highest,
                    }
                })
                .collect();
            Ok(Page::from_rows(items, limit, |m: &MessageSummary| {
                Cursor::from_parts(&[crate::clock::to_millis(m.topic.bumped_at), m.topic.id.0])
            }))
        })
    }

    /// How many of the member's conversations have posts by others they
    /// have not read (the inbox's badge).
    pub fn unread_messages(&self, actor: &Actor, community: CommunityId) -> Result<u64> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let Ok(user) = member(&viewer) else {
                return Ok(0);
            };
            let Some(inbox) = viewer.config.inbox().map(|c| c.id) else {
                return Ok(0);
            };
            let n: i64 = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM topics t
                     WHERE t.community_id = ?1 AND t.category_id = ?3 AND {} AND t.deleted_at IS NULL
                       AND EXISTS (SELECT 1 FROM posts p WHERE p.topic_id = t.id
                             AND p.deleted_at IS NULL AND p.user_id <> ?2
                             AND p.post_number > coalesce((SELECT v.last_read_post FROM topic_views v
                                  WHERE v.topic_id = t.id AND v.user_id = ?2), 0))",
                    taking_part(&viewer)
                ))?
                .query_row(params![community, user, inbox], |r| r.get(0))?;
            Ok(n.max(0) as u64)
        })
    }

    /// Who takes part in a conversation the actor may read.
    pub fn message_participants(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<Participants> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let state = topic_state(conn, &viewer, topic)?;
            if !state.message {
                return Err(Error::not_found("message"));
            }
            participants_of(conn, topic)
        })
    }

    /// Adds a member or a group to a conversation the actor takes part in
    /// (the same recipient rules as [`Forum::send_message`]); they are
    /// told (`invited_to_message`). Adding someone already there changes
    /// nothing.
    pub fn add_message_participant(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        who: Participant,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let sender = viewer.require_poster()?;
            let state = topic_state(w.tx, &viewer, topic)?;
            if !state.message || !is_participant(w.tx, &viewer, topic)? {
                return Err(Error::not_found("message"));
            }
            let cat = viewer.topic_category(&state)?.clone();
            let mut e = NewEvent::new(EventKind::TopicInvited, crate::topic::audience(&cat));
            e.category = Some(cat.id);
            e.topic = Some(topic);
            e.actor = Some(sender);
            match who {
                Participant::User(user) => {
                    if user == sender {
                        return Ok(());
                    }
                    check_recipient(w.tx, &viewer, sender, user)?;
                    if !add(w, topic, who)? {
                        return Ok(());
                    }
                    e.subject = Some(user);
                    e.data = serde_json::json!({ "message": true });
                }
                Participant::Group(group) => {
                    let here: bool = w
                        .tx
                        .prepare_cached(
                            "SELECT EXISTS(SELECT 1 FROM groups WHERE id = ?1 AND community_id = ?2)",
                        )?
                        .query_row(params![group, community], |r| r.get(0))?;
                    if !here {
                        return Err(Error::not_found("group"));
                    }
                    if !add(w, topic, who)? {
                        return Ok(());
                    }
                    e.data = serde_json::json!({ "message": true, "group": group });
                }
            }
            w.emit(community, e)
        })
    }

    /// Removes a participant: anyone may leave, and the member who started
    /// the conversation may remove others. A group's members lose access
    /// with the group (unless named themselves).
    pub fn remove_message_participant(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        who: Participant,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let me = member(&viewer)?;
            let state = topic_state(w.tx, &viewer, topic)?;
            if !state.message || !is_participant(w.tx, &viewer, topic)? {
                return Err(Error::not_found("message"));
            }
            let leaving = who == Participant::User(me);
            if !leaving && state.author != me {
                return Err(Error::forbidden(
                    "only whoever started the conversation removes others",
                ));
            }
            let removed = match who {
                Participant::User(u) => {
                    w.tx.prepare_cached(
                        "DELETE FROM message_users WHERE topic_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![topic, u])?
                }
                Participant::Group(g) => {
                    w.tx.prepare_cached(
                        "DELETE FROM message_groups WHERE topic_id = ?1 AND group_id = ?2",
                    )?
                    .execute(params![topic, g])?
                }
            };
            if removed == 0 {
                return Err(Error::not_found("participant"));
            }
            Ok(())
        })
    }

    /// The signed-in member stops taking messages from `from` (in every
    /// community; moderators still reach them). Blocking twice is fine.
    pub fn block_messages(&self, actor: &Actor, from: UserId) -> Result<()> {
        let Actor::User(me) = *actor else {
            return Err(Error::forbidden("sign in to block messages"));
        };
        if me == from {
            return Err(Error::invalid("user", "not yourself"));
        }
        self.user(from)?;
        let now = crate::clock::to_millis(self.now());
        self.store.write(|tx| {
            tx.prepare_cached(
                "INSERT INTO message_blocks (user_id, blocked_id, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT DO NOTHING",
            )?
            .execute(params![me, from, now])?;
            Ok(())
        })
    }

    /// Takes messages from `from` again.
    pub fn unblock_messages(&self, actor: &Actor, from: UserId) -> Result<()> {
        let Actor::User(me) = *actor else {
            return Err(Error::forbidden("sign in to block messages"));
        };
        self.store.write(|tx| {
            tx.prepare_cached("DELETE FROM message_blocks WHERE user_id = ?1 AND blocked_id = ?2")?
                .execute(params![me, from])?;
            Ok(())
        })
    }

    /// Whom the signed-in member blocked, by username.
    pub fn message_blocks(&self, actor: &Actor) -> Result<Vec<UserRef>> {
        let Actor::User(me) = *actor else {
            return Ok(vec![]);
        };
        self.read(|conn, _| {
            let mut stmt = conn.prepare_cached(
                "SELECT u.id, u.username, u.display_name, u.avatar_url
                 FROM message_blocks b JOIN users u ON u.id = b.blocked_id
                 WHERE b.user_id = ?1 ORDER BY u.username_lower",
            )?;
            let rows = stmt.query_map([me], |r| user_ref(r, 0))?;
            Ok(rows.collect::<db::Result<_>>()?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_at_their_bounds() {
        let mut s = MessageSettings::default();
        assert!(s.validate().is_ok());
        s.max_recipients = MAX_MESSAGE_RECIPIENTS;
        assert!(s.validate().is_ok());
        s.max_recipients = MAX_MESSAGE_RECIPIENTS + 1;
        assert!(s.validate().is_err());
        s.max_recipients = 0;
        assert!(s.validate().is_err());
        s = MessageSettings {
            per_day: 0,
            ..MessageSettings::default()
        };
        assert!(s.validate().is_err());
    }
}
