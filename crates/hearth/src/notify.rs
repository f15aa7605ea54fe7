//! Notifications: mentions, replies, likes, accepted answers, badges,
//! invitations to topics, and posts in what a member watches. They are derived from the events of a
//! write, in that write's transaction, so a notification exists exactly
//! when its cause committed; what a member may read is checked again each
//! time notifications are listed. Watch levels (per category and topic)
//! and per-kind delivery preferences decide who hears about what.

use std::collections::HashMap;

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::events::{Event, EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CategoryId, CommunityId, PostId, TopicId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Snapshot, Viewer};
use crate::store::{optional, parsed};
use crate::topic::{UserRef, audience, post_state, topic_state};

macro_rules! notification_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal, $discourse:literal, $default:ident;)*) => {
        /// What a notification is about.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum NotificationKind {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl NotificationKind {
            /// Every kind, in the order preference screens list them.
            pub const ALL: &'static [NotificationKind] = &[$(NotificationKind::$variant,)*];

            /// The stable name, e.g. `"replied"`.
            pub fn as_str(self) -> &'static str {
                match self { $(NotificationKind::$variant => $name,)* }
            }

            /// Parses [`NotificationKind::as_str`].
            pub fn parse(s: &str) -> Option<NotificationKind> {
                match s { $($name => Some(NotificationKind::$variant),)* _ => None }
            }

            /// Discourse's `notification_type` number for it.
            pub fn discourse_type(self) -> u16 {
                match self { $(NotificationKind::$variant => $discourse,)* }
            }

            /// How it is delivered until the member chooses.
            pub fn default_delivery(self) -> Delivery {
                match self { $(NotificationKind::$variant => Delivery::$default,)* }
            }
        }
    };
}

notification_kinds! {
    /// Someone mentioned you (`@you`).
    Mentioned = "mentioned", 1, Email;
    /// Someone replied to your post or topic.
    Replied = "replied", 2, Email;
    /// Someone liked your post.
    Liked = "liked", 5, InApp;
    /// A new post in a topic or category you watch.
    Posted = "posted", 9, InApp;
    /// You were granted a badge.
    BadgeGranted = "badge_granted", 12, Email;
    /// Your answer was accepted.
    Accepted = "accepted", 14, Email;
    /// A new topic in a category you watch.
    NewTopic = "new_topic", 17, InApp;
    /// An idea you voted for (or proposed) changed status.
    IdeaStatus = "idea_status", 14, Email;
    /// Someone invited you to read a topic.
    InvitedToTopic = "invited_to_topic", 13, Email;
    /// A new post in a private conversation you take part in.
    PrivateMessage = "private_message", 6, Email;
    /// Someone added you (or your group) to a private conversation.
    InvitedToMessage = "invited_to_message", 7, Email;
    /// A member you follow started a topic.
    FollowingCreatedTopic = "following_created_topic", 801, InApp;
    /// A member you follow (with their replies) replied.
    FollowingReplied = "following_replied", 802, InApp;
    /// Sent by an extension (a plugin, or the application's own code):
    /// `data` holds its `source`, `kind` and `text`. Members choose per
    /// (source, kind), not for this kind as a whole (see
    /// [`Forum::ext_apply_with_notices`]).
    Custom = "custom", 14, InApp;
}

/// How a member wants one kind of notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// In the notification list only.
    InApp,
    /// In the list, and by e-mail (batched).
    Email,
    /// Not at all.
    Off,
}

impl Delivery {
    /// `in_app`, `email` or `off`.
    pub fn as_str(self) -> &'static str {
        match self {
            Delivery::InApp => "in_app",
            Delivery::Email => "email",
            Delivery::Off => "off",
        }
    }

    /// Parses [`Delivery::as_str`].
    pub fn parse(s: &str) -> Option<Delivery> {
        Some(match s {
            "in_app" => Delivery::InApp,
            "email" => Delivery::Email,
            "off" => Delivery::Off,
            _ => return None,
        })
    }
}

/// How closely a member follows a topic or category (Discourse's levels).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum WatchLevel {
    /// Nothing from it, not even mentions or replies.
    Muted,
    /// Replies to you and mentions only.
    #[default]
    Normal,
    /// As normal; lists show its unread posts.
    Tracking,
    /// Every new post (and, for a category, every new topic).
    Watching,
}

impl WatchLevel {
    /// Discourse's `notification_level`: 0 muted, 1 normal, 2 tracking, 3 watching.
    pub fn number(self) -> i64 {
        match self {
            WatchLevel::Muted => 0,
            WatchLevel::Normal => 1,
            WatchLevel::Tracking => 2,
            WatchLevel::Watching => 3,
        }
    }

    /// Parses [`WatchLevel::number`].
    pub fn from_number(n: i64) -> Option<WatchLevel> {
        Some(match n {
            0 => WatchLevel::Muted,
            1 => WatchLevel::Normal,
            2 => WatchLevel::Tracking,
            3 => WatchLevel::Watching,
            _ => return None,
        })
    }

    /// Parses `muted`, `normal` (or `regular`), `tracking`, `watching`, or
    /// a number.
    pub fn parse(s: &str) -> Option<WatchLevel> {
        match s {
            "muted" => Some(WatchLevel::Muted),
            "normal" | "regular" => Some(WatchLevel::Normal),
            "tracking" => Some(WatchLevel::Tracking),
            "watching" => Some(WatchLevel::Watching),
            n => n.parse().ok().and_then(WatchLevel::from_number),
        }
    }

    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchLevel::Muted => "muted",
            WatchLevel::Normal => "normal",
            WatchLevel::Tracking => "tracking",
            WatchLevel::Watching => "watching",
        }
    }
}

/// One notification, as its recipient sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// Its id (increasing).
    pub id: i64,
    /// What it is about.
    pub kind: NotificationKind,
    /// Who caused it (none for the system).
    pub actor: Option<UserRef>,
    /// The topic it concerns.
    pub topic: Option<TopicId>,
    /// That topic's title and slug.
    pub topic_title: Option<String>,
    /// The topic's slug.
    pub topic_slug: Option<String>,
    /// The post it concerns.
    pub post: Option<PostId>,
    /// That post's number in its topic.
    pub post_number: Option<i64>,
    /// Kind-specific details (`badge` for badges).
    pub data: serde_json::Value,
    /// When it happened.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether the recipient has read it.
    pub read: bool,
}

impl Notification {
    /// One line of plain text saying what it is about, e.g. `ann replied
    /// in “Welcome”` (the notification list and the notification mail
    /// read the same).
    pub fn sentence(&self) -> String {
        let who = self.actor.as_ref().map(|a| a.username.as_str());
        sentence(self.kind, who, self.topic_title.as_deref(), &self.data)
    }
}

/// [`Notification::sentence`] from its parts.
pub(crate) fn sentence(
    kind: NotificationKind,
    who: Option<&str>,
    title: Option<&str>,
    data: &serde_json::Value,
) -> String {
    let who = who.unwrap_or("Someone");
    let title = title.unwrap_or("a topic");
    match kind {
        NotificationKind::Mentioned => format!("{who} mentioned you in “{title}”"),
        NotificationKind::Replied => format!("{who} replied in “{title}”"),
        NotificationKind::Liked => format!("{who} liked your post in “{title}”"),
        NotificationKind::Posted => format!("{who} posted in “{title}”"),
        NotificationKind::NewTopic => format!("{who} started “{title}”"),
        NotificationKind::Accepted => format!("{who} accepted your answer in “{title}”"),
        NotificationKind::InvitedToTopic => format!("{who} invited you to “{title}”"),
        NotificationKind::PrivateMessage => format!("{who} wrote to you in “{title}”"),
        NotificationKind::FollowingCreatedTopic => {
            format!("{who}, whom you follow, started “{title}”")
        }
        NotificationKind::FollowingReplied => {
            format!("{who}, whom you follow, replied in “{title}”")
        }
        NotificationKind::InvitedToMessage => {
            format!("{who} added you to the conversation “{title}”")
        }
        NotificationKind::BadgeGranted => format!(
            "You were granted the {} badge",
            data["badge"].as_str().unwrap_or("a")
        ),
        NotificationKind::IdeaStatus => format!(
            "“{title}” is now {}",
            data["to"].as_str().unwrap_or("updated").replace('_', " ")
        ),
        NotificationKind::Custom => data["text"]
            .as_str()
            .unwrap_or("A notification")
            .to_string(),
    }
}

/// Notifications about content a member can no longer read are skipped
/// when listing; the SQL filter that does it (`t`/`p` joined, `?` slots
/// are the caller's).
pub(crate) fn readable_filter(viewer: &Viewer) -> String {
    // Messages: while the recipient still takes part (by name or group).
    let messages = match viewer.config.inbox() {
        Some(inbox) => format!(
            " OR (t.category_id = {} AND (t.id IN (SELECT topic_id FROM message_users WHERE user_id = n.user_id)
                  OR t.id IN (SELECT topic_id FROM message_groups WHERE group_id IN {})))",
            inbox.id.0,
            crate::permissions::sql_id_list(viewer.groups.iter().map(|g| g.0))
        ),
        None => String::new(),
    };
    format!(
        "(n.topic_id IS NULL OR ((t.category_id IN {}{messages}) AND t.deleted_at IS NULL
           AND (t.hidden_at IS NULL OR t.user_id = n.user_id)))
         AND (n.post_id IS NULL OR (p.deleted_at IS NULL
           AND (p.hidden_at IS NULL OR p.user_id = n.user_id)))",
        viewer.readable_sql()
    )
}

const FROM: &str = "FROM notifications n
     LEFT JOIN topics t ON t.id = n.topic_id
     LEFT JOIN posts p ON p.id = n.post_id
     LEFT JOIN users a ON a.id = n.actor_id";

pub(crate) fn member(viewer: &Viewer) -> Result<UserId> {
    match (viewer.user, viewer.role) {
        (Some(u), Some(_)) => Ok(u),
        (Some(_), None) => Err(Error::forbidden("join the community to get notifications")),
        _ => Err(Error::forbidden("sign in to see your notifications")),
    }
}

/// Delivery per kind for one member (defaults filled in).
fn preferences(
    conn: &Conn,
    user: UserId,
    community: CommunityId,
) -> Result<HashMap<NotificationKind, Delivery>> {
    let mut out: HashMap<_, _> = NotificationKind::ALL
        .iter()
        .map(|k| (*k, k.default_delivery()))
        .collect();
    let mut stmt = conn.prepare_cached(
        "SELECT kind, delivery FROM notification_prefs WHERE user_id = ?1 AND community_id = ?2",
    )?;
    let rows = stmt.query_map(params![user, community], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
    })?;
    for row in rows {
        let (kind, delivery) = row?;
        if let (Some(k), Some(d)) = (NotificationKind::parse(&kind), Delivery::parse(&delivery)) {
            out.insert(k, d);
        }
    }
    Ok(out)
}

/// A member's level for a topic: its own setting, else its category's.
fn effective_level(
    conn: &Conn,
    user: UserId,
    topic: Option<TopicId>,
    category: Option<CategoryId>,
) -> Result<WatchLevel> {
    Ok(level_and_delivery(conn, user, topic, category, None)?.0)
}

/// A member's [`effective_level`] and, for `kind` in `community`, how
/// they want to hear of it (their setting, else the kind's default): one
/// statement, as each recipient of each event needs both.
pub(crate) fn level_and_delivery(
    conn: &Conn,
    user: UserId,
    topic: Option<TopicId>,
    category: Option<CategoryId>,
    kind: Option<(CommunityId, NotificationKind)>,
) -> Result<(WatchLevel, Option<Delivery>)> {
    let (own, inherited, delivery): (Option<i64>, Option<i64>, Option<String>) = conn
        .prepare_cached(
            "SELECT (SELECT level FROM topic_watches WHERE user_id = ?1 AND topic_id = ?2),
                    (SELECT level FROM category_watches WHERE user_id = ?1 AND category_id = ?3),
                    (SELECT delivery FROM notification_prefs
                     WHERE user_id = ?1 AND community_id = ?4 AND kind = ?5)",
        )?
        .query_row(
            params![
                user,
                topic,
                category,
                kind.map(|(c, _)| c),
                kind.map(|(_, k)| k.as_str())
            ],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?;
    let level = own
        .and_then(WatchLevel::from_number)
        .or_else(|| inherited.and_then(WatchLevel::from_number))
        .unwrap_or(WatchLevel::Normal);
    let delivery = kind.map(|(_, k)| {
        delivery
            .as_deref()
            .and_then(Delivery::parse)
            .unwrap_or(k.default_delivery())
    });
    Ok((level, delivery))
}

/// The notifications one event causes, before checks: (recipient, kind).
fn candidates(conn: &Conn, e: &Event) -> Result<Vec<(UserId, NotificationKind)>> {
    let mut out = Vec::new();
    match e.kind {
        EventKind::PostCreated => {
            let number = e.data["post_number"].as_i64().unwrap_or(1);
            if let Some(names) = e.data["mentions"].as_array() {
                let mut stmt =
                    conn.prepare_cached("SELECT id FROM users WHERE username_lower = ?1")?;
                for name in names.iter().filter_map(|n| n.as_str()).take(50) {
                    if let Some(u) = optional(stmt.query_row([name], |r| r.get(0)))? {
                        out.push((u, NotificationKind::Mentioned));
                    }
                }
            }
            if e.data["message"] == true {
                // A private conversation: every participant, whatever they
                // watch (mentions of others are dropped later: they cannot
                // read it).
                if let Some(t) = e.topic {
                    for u in crate::messages::recipients(conn, t)? {
                        out.push((u, NotificationKind::PrivateMessage));
                    }
                }
                return Ok(out);
            }
            // Followers of the author, after everything else (a mention or
            // a reply to them says more).
            let followers = match e.actor {
                Some(author) => crate::follows::followers_of(conn, author)?
                    .into_iter()
                    .filter(|(_, replies)| number == 1 || *replies)
                    .map(|(u, _)| {
                        let kind = if number == 1 {
                            NotificationKind::FollowingCreatedTopic
                        } else {
                            NotificationKind::FollowingReplied
                        };
                        (u, kind)
                    })
                    .collect(),
                None => Vec::new(),
            };
            if number > 1 {
                if let Some(u) = e.subject {
                    out.push((u, NotificationKind::Replied));
                }
                // The topic's author, then its watchers, then its
                // category's watchers: one statement, in that order.
                let mut stmt = conn.prepare_cached(
                    "SELECT user_id, 0 FROM topics WHERE id = ?1
                     UNION ALL SELECT user_id, 1 FROM topic_watches WHERE topic_id = ?1 AND level = 3
                     UNION ALL SELECT user_id, 2 FROM category_watches WHERE category_id = ?2 AND level = 3
                     ORDER BY 2",
                )?;
                let rows = stmt.query_map(params![e.topic, e.category], |r| {
                    Ok((r.get::<_, UserId>(0)?, r.get::<_, i64>(1)?))
                })?;
                for row in rows {
                    let (u, source) = row?;
                    let kind = if source == 0 {
                        NotificationKind::Replied
                    } else {
                        NotificationKind::Posted
                    };
                    out.push((u, kind));
                }
                out.extend(followers);
                return Ok(out);
            }
            if let Some(c) = e.category {
                let kind = if number == 1 {
                    NotificationKind::NewTopic
                } else {
                    NotificationKind::Posted
                };
                let mut stmt = conn.prepare_cached(
                    "SELECT user_id FROM category_watches WHERE category_id = ?1 AND level = 3",
                )?;
                for u in stmt.query_map([c], |r| r.get(0))? {
                    out.push((u?, kind));
                }
            }
            out.extend(followers);
        }
        EventKind::PostLiked => {
            if let Some(u) = e.subject {
                out.push((u, NotificationKind::Liked));
            }
        }
        EventKind::TopicSolved => {
            if let Some(u) = e.subject {
                out.push((u, NotificationKind::Accepted));
            }
        }
        EventKind::TopicInvited => {
            if e.data["message"] == true {
                if let Some(g) = e.data["group"].as_i64() {
                    let mut stmt = conn
                        .prepare_cached("SELECT user_id FROM group_members WHERE group_id = ?1")?;
                    for u in stmt.query_map([g], |r| r.get(0))? {
                        out.push((u?, NotificationKind::InvitedToMessage));
                    }
                } else if let Some(u) = e.subject {
                    out.push((u, NotificationKind::InvitedToMessage));
                }
            } else if let Some(u) = e.subject {
                out.push((u, NotificationKind::InvitedToTopic));
            }
        }
        EventKind::IdeaStatusChanged => {
            if let Some(t) = e.topic {
                let mut stmt = conn.prepare_cached(
                    "SELECT user_id FROM topics WHERE id = ?1
                     UNION SELECT user_id FROM idea_votes WHERE topic_id = ?1",
                )?;
                for u in stmt.query_map([t], |r| r.get(0))? {
                    out.push((u?, NotificationKind::IdeaStatus));
                }
            }
        }
        EventKind::BadgeGranted => {
            if let Some(u) = e.subject {
                out.push((u, NotificationKind::BadgeGranted));
            }
        }
        _ => {}
    }
    Ok(out)
}

/// The first candidate per member wins (mentions before replies before
/// watched posts), and nobody is told about their own action.
fn dedupe(
    candidates: Vec<(UserId, NotificationKind)>,
    actor: Option<UserId>,
) -> Vec<(UserId, NotificationKind)> {
    let mut seen = std::collections::HashSet::new();
    candidates
        .into_iter()
        .filter(|(u, _)| Some(*u) != actor && seen.insert(*u))
        .collect()
}

impl Forum {
    /// Invites `invitee` to read a topic: they get an `invited_to_topic`
    /// notification. The inviter must read the topic and may post; the
    /// invitee must be a member who may read it too (`Invalid`, field
    /// `user`, otherwise — a notice about something they can't open helps
    /// nobody). The application limits how often a member invites.
    pub fn invite_to_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        invitee: UserId,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let state = topic_state(w.tx, &viewer, topic)?;
            let inviter = viewer.require_poster()?;
            if inviter == invitee {
                return Err(Error::invalid("user", "not yourself"));
            }
            let theirs = Viewer::load(
                w.tx,
                &self.configs,
                Snapshot::InWrite,
                &Actor::User(invitee),
                community,
                w.now_ms(),
            );
            let may_read = match theirs {
                Ok(v) => v.role.is_some() && topic_state(w.tx, &v, topic).is_ok(),
                Err(_) => false,
            };
            if !may_read {
                return Err(Error::invalid(
                    "user",
                    "is not a member who may read this topic",
                ));
            }
            let cat = viewer.category(state.category)?;
            let mut e = NewEvent::new(EventKind::TopicInvited, audience(cat));
            e.category = Some(cat.id);
            e.topic = Some(topic);
            e.actor = Some(inviter);
            e.subject = Some(invitee);
            w.emit(community, e)
        })
    }

    /// Writes the notifications the write's events cause (called by
    /// `Forum::write`, inside its transaction).
    pub(crate) fn derive_notifications(&self, w: &Write<'_>) -> Result<()> {
        for e in &w.events {
            let wanted = dedupe(candidates(w.tx, e)?, e.actor);
            for (user, kind) in wanted {
                let Ok(viewer) = Viewer::load(
                    w.tx,
                    &self.configs,
                    Snapshot::InWrite,
                    &Actor::User(user),
                    e.community,
                    w.now_ms(),
                ) else {
                    continue;
                };
                if viewer.role.is_none() {
                    continue;
                }
                // Only about what they may read. A post's check includes
                // its topic's, so the event's topic is checked again only
                // when it is another one.
                let checked_topic = match e.post {
                    Some(p) => match post_state(w.tx, &viewer, p) {
                        Ok(post) => Some(post.topic.id),
                        Err(_) => continue,
                    },
                    None => None,
                };
                if let Some(t) = e.topic
                    && checked_topic != Some(t)
                    && topic_state(w.tx, &viewer, t).is_err()
                {
                    continue;
                }
                let (level, delivery) =
                    level_and_delivery(w.tx, user, e.topic, e.category, Some((e.community, kind)))?;
                let watched_only =
                    matches!(kind, NotificationKind::Posted | NotificationKind::NewTopic);
                if (level == WatchLevel::Muted && kind != NotificationKind::BadgeGranted)
                    || (watched_only && level != WatchLevel::Watching)
                {
                    continue;
                }
                let delivery = delivery.unwrap_or(Delivery::InApp);
                if delivery == Delivery::Off {
                    continue;
                }
                let data = match kind {
                    NotificationKind::BadgeGranted | NotificationKind::IdeaStatus => e.data.clone(),
                    _ => serde_json::json!({}),
                };
                w.tx.prepare_cached(
                    "INSERT INTO notifications
                       (community_id, user_id, kind, actor_id, topic_id, post_id, data, created_at, email)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
                )?
                .execute(params![
                    e.community,
                    user,
                    kind.as_str(),
                    e.actor,
                    e.topic,
                    e.post,
                    data.to_string(),
                    w.now_ms(),
                    if delivery == Delivery::Email { "pending" } else { "none" },
                ])?;
            }
        }
        Ok(())
    }

    /// The signed-in member's notifications, newest first (only those
    /// about content they can still read); `unread_only` leaves out the
    /// read ones.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("n.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let bob = forum.create_user(NewUser::new("bob"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// # forum.join(&Actor::User(bob), c)?;
    /// # let cat = forum.create_category(&Actor::User(ann), c,
    /// #     NewCategory::new("general", "General", CategoryKind::Discussion))?.id;
    /// let (topic, _) = forum.create_topic(&Actor::User(ann), c, NewTopic {
    ///     category: cat, title: "Welcome, everyone!".into(),
    ///     body: "Say hello below.".into(), tags: vec![] })?;
    /// forum.reply(&Actor::User(bob), c, topic.id, NewReply {
    ///     body: "Hello @ann, glad to be here".into(), reply_to: None })?;
    /// let list = forum.notifications(&Actor::User(ann), c, &PageRequest::first(20), false)?;
    /// assert_eq!(list.items[0].kind, NotificationKind::Mentioned);
    /// assert_eq!(forum.unread_notifications(&Actor::User(ann), c)?, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn notifications(
        &self,
        actor: &Actor,
        community: CommunityId,
        page: &PageRequest,
        unread_only: bool,
    ) -> Result<Page<Notification>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let user = member(&viewer)?;
            let before = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => i64::MAX,
            };
            let limit = page.limit();
            let sql = format!(
                "SELECT n.id, n.kind, n.actor_id, a.username, a.display_name, a.avatar_url,
                        n.topic_id, t.title, t.slug, n.post_id, p.post_number, n.data,
                        n.created_at, n.read_at IS NOT NULL
                 {FROM}
                 WHERE n.user_id = ?1 AND n.community_id = ?2 AND n.id < ?3 {}
                   AND {}
                 ORDER BY n.id DESC LIMIT ?4",
                if unread_only {
                    "AND n.read_at IS NULL"
                } else {
                    ""
                },
                readable_filter(&viewer),
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(params![user, community, before, limit as i64 + 1], |r| {
                    let actor = match r.get::<_, Option<UserId>>(2)? {
                        Some(id) => Some(UserRef {
                            id,
                            username: r.get(3)?,
                            display_name: r.get(4)?,
                            avatar_url: r.get(5)?,
                        }),
                        None => None,
                    };
                    Ok(Notification {
                        id: r.get(0)?,
                        kind: parsed(r, 1, |s| {
                            NotificationKind::parse(s).ok_or_else(|| {
                                Error::Storage(format!("unknown notification kind {s}"))
                            })
                        })?,
                        actor,
                        topic: r.get(6)?,
                        topic_title: r.get(7)?,
                        topic_slug: r.get(8)?,
                        post: r.get(9)?,
                        post_number: r.get(10)?,
                        data: serde_json::from_str(&r.get::<_, String>(11)?)
                            .unwrap_or(serde_json::Value::Null),
                        created_at: from_millis(r.get(12)?),
                        read: r.get(13)?,
                    })
                })?
                .collect::<db::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |n: &Notification| {
                Cursor::from_parts(&[n.id])
            }))
        })
    }

    /// How many unread notifications the member has (about content they
    /// can still read).
    pub fn unread_notifications(&self, actor: &Actor, community: CommunityId) -> Result<u64> {
        self.count_unread(actor, community, None)
    }

    /// [`unread_notifications`](Forum::unread_notifications), counted up to
    /// `cap`: the answer is `cap` when there are at least that many. A
    /// badge ("99+") needs no more, and its cost stays that of `cap`
    /// notifications however many a member has left unread (each is
    /// checked against what they may still read).
    pub fn unread_notifications_up_to(
        &self,
        actor: &Actor,
        community: CommunityId,
        cap: u64,
    ) -> Result<u64> {
        self.count_unread(actor, community, Some(cap))
    }

    fn count_unread(&self, actor: &Actor, community: CommunityId, cap: Option<u64>) -> Result<u64> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let Ok(user) = member(&viewer) else {
                return Ok(0);
            };
            let sql = format!(
                "SELECT count(*) FROM (SELECT 1 {FROM}
                 WHERE n.user_id = ?1 AND n.community_id = ?2 AND n.read_at IS NULL AND {}
                 LIMIT ?3) AS unread",
                readable_filter(&viewer)
            );
            let limit = cap.map_or(i64::MAX, |c| i64::try_from(c).unwrap_or(i64::MAX));
            let n: i64 = conn
                .prepare_cached(&sql)?
                .query_row(params![user, community, limit], |r| r.get(0))?;
            Ok(n as u64)
        })
    }

    /// Marks the member's notifications read: one (`Some(id)`), or all.
    /// Returns how many changed.
    pub fn mark_notifications_read(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: Option<i64>,
    ) -> Result<u64> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let user = member(&viewer)?;
            let n = match id {
                Some(id) => {
                    let n = w
                        .tx
                        .prepare_cached(
                            "UPDATE notifications SET read_at = ?4
                             WHERE id = ?1 AND user_id = ?2 AND community_id = ?3 AND read_at IS NULL",
                        )?
                        .execute(params![id, user, community, w.now_ms()])?;
                    if n == 0 {
                        let exists: Option<i64> = optional(
                            w.tx.prepare_cached(
                                "SELECT id FROM notifications WHERE id = ?1 AND user_id = ?2 AND community_id = ?3",
                            )?
                            .query_row(params![id, user, community], |r| r.get(0)),
                        )?;
                        if exists.is_none() {
                            return Err(Error::not_found("notification"));
                        }
                    }
                    n
                }
                None => w
                    .tx
                    .prepare_cached(
                        "UPDATE notifications SET read_at = ?3
                         WHERE user_id = ?1 AND community_id = ?2 AND read_at IS NULL",
                    )?
                    .execute(params![user, community, w.now_ms()])?,
            };
            Ok(n as u64)
        })
    }

    /// Sets the member's watch level for a topic they can read.
    pub fn watch_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        level: WatchLevel,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let user = member(&viewer)?;
            crate::topic::topic_state(w.tx, &viewer, topic)?;
            w.tx.prepare_cached(
                "INSERT INTO topic_watches (user_id, topic_id, level) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id, topic_id) DO UPDATE SET level = excluded.level",
            )?
            .execute(params![user, topic, level.number()])?;
            Ok(())
        })
    }

    /// Sets the member's watch level for a category they can read.
    pub fn watch_category(
        &self,
        actor: &Actor,
        community: CommunityId,
        category: CategoryId,
        level: WatchLevel,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let user = member(&viewer)?;
            viewer.category(category)?;
            w.tx.prepare_cached(
                "INSERT INTO category_watches (user_id, category_id, level) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id, category_id) DO UPDATE SET level = excluded.level",
            )?
            .execute(params![user, category, level.number()])?;
            Ok(())
        })
    }

    /// The member's own category levels other than normal, for the
    /// categories they may read, by category id (empty for guests and
    /// non-members).
    pub fn category_watches(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Vec<(CategoryId, WatchLevel)>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let Ok(user) = member(&viewer) else {
                return Ok(Vec::new());
            };
            let readable = viewer.readable_categories();
            let rows: Vec<(CategoryId, i64)> = conn
                .prepare_cached(
                    "SELECT category_id, level FROM category_watches
                     WHERE user_id = ?1 AND level <> 1 ORDER BY category_id",
                )?
                .query_map(params![user], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<crate::db::Result<_>>()?;
            Ok(rows
                .into_iter()
                .filter(|(c, _)| readable.contains(c))
                .filter_map(|(c, level)| Some((c, WatchLevel::from_number(level)?)))
                .collect())
        })
    }

    /// The member's level for a topic (its own, else its category's, else
    /// normal) and for a category (`topic: None`).
    pub fn watch_level(
        &self,
        actor: &Actor,
        community: CommunityId,
        category: Option<CategoryId>,
        topic: Option<TopicId>,
    ) -> Result<WatchLevel> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let Ok(user) = member(&viewer) else {
                return Ok(WatchLevel::Normal);
            };
            let category = match (topic, category) {
                (Some(t), _) => Some(crate::topic::topic_state(conn, &viewer, t)?.category),
                (None, Some(c)) => {
                    viewer.category(c)?;
                    Some(c)
                }
                (None, None) => None,
            };
            effective_level(conn, user, topic, category)
        })
    }

    /// The member's delivery for every kind (defaults filled in), in
    /// [`NotificationKind::ALL`] order; extensions' kinds are chosen
    /// apart ([`Forum::ext_notice_preferences`]).
    pub fn notification_preferences(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Vec<(NotificationKind, Delivery)>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let user = member(&viewer)?;
            let prefs = preferences(conn, user, community)?;
            Ok(NotificationKind::ALL
                .iter()
                .filter(|k| **k != NotificationKind::Custom)
                .map(|k| (*k, prefs[k]))
                .collect())
        })
    }

    /// Sets how the member gets one kind of notification.
    pub fn set_notification_preference(
        &self,
        actor: &Actor,
        community: CommunityId,
        kind: NotificationKind,
        delivery: Delivery,
    ) -> Result<()> {
        if kind == NotificationKind::Custom {
            return Err(Error::invalid(
                "kind",
                "extensions' notices are chosen per kind (set_ext_notice_preference)",
            ));
        }
        self.set_preference(actor, community, kind.as_str(), delivery)
    }

    /// Keeps the signed-in member's delivery for a preference key (a
    /// kind's name, or an extension's `ext:<source>:<kind>`).
    pub(crate) fn set_preference(
        &self,
        actor: &Actor,
        community: CommunityId,
        key: &str,
        delivery: Delivery,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let user = member(&viewer)?;
            w.tx.prepare_cached(
                "INSERT INTO notification_prefs (user_id, community_id, kind, delivery) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, community_id, kind) DO UPDATE SET delivery = excluded.delivery",
            )?
            .execute(params![user, community, key, delivery.as_str()])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers_round_trip() {
        for k in NotificationKind::ALL {
            assert_eq!(NotificationKind::parse(k.as_str()), Some(*k));
        }
        for l in [
            WatchLevel::Muted,
            WatchLevel::Normal,
            WatchLevel::Tracking,
            WatchLevel::Watching,
        ] {
            assert_eq!(WatchLevel::from_number(l.number()), Some(l));
            assert_eq!(WatchLevel::parse(l.as_str()), Some(l));
        }
        assert_eq!(WatchLevel::parse("regular"), Some(WatchLevel::Normal));
        assert_eq!(WatchLevel::parse("7"), None);
        for d in [Delivery::InApp, Delivery::Email, Delivery::Off] {
            assert_eq!(Delivery::parse(d.as_str()), Some(d));
        }
    }

    #[test]
    fn sentences_name_who_and_where() {
        let n = Notification {
            id: 1,
            kind: NotificationKind::Replied,
            actor: Some(UserRef {
                id: UserId(2),
                username: "bob".into(),
                display_name: String::new(),
                avatar_url: None,
            }),
            topic: Some(TopicId(3)),
            topic_title: Some("Printers".into()),
            topic_slug: Some("printers".into()),
            post: None,
            post_number: Some(2),
            data: serde_json::json!({}),
            created_at: OffsetDateTime::UNIX_EPOCH,
            read: false,
        };
        assert_eq!(n.sentence(), "bob replied in “Printers”");
        let badge = Notification {
            kind: NotificationKind::BadgeGranted,
            actor: None,
            data: serde_json::json!({"badge": "helper"}),
            ..n.clone()
        };
        assert_eq!(badge.sentence(), "You were granted the helper badge");
        let custom = Notification {
            kind: NotificationKind::Custom,
            data: serde_json::json!({"source": "polls", "kind": "closed", "text": "The poll closed"}),
            ..n
        };
        assert_eq!(custom.sentence(), "The poll closed");
    }

    #[test]
    fn first_reason_wins_and_actors_are_not_told() {
        let (a, b) = (UserId(1), UserId(2));
        let out = dedupe(
            vec![
                (a, NotificationKind::Mentioned),
                (b, NotificationKind::Replied),
                (a, NotificationKind::Replied),
                (b, NotificationKind::Posted),
            ],
            Some(b),
        );
        assert_eq!(out, vec![(a, NotificationKind::Mentioned)]);
    }
}
