//! The durable event log.
//!
//! Every state change appends typed events in the same transaction as the
//! change, so the log and the data never disagree. Consumers read with
//! [`Forum::events_after`] and keep their place with a named cursor
//! ([`Forum::event_cursor`], [`Forum::ack_events`]); a consumer that crashes
//! resumes after the last event it acknowledged. Delivery through cursors is
//! at least once: make consumers idempotent by event id.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::{from_millis, to_millis};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CategoryId, CommunityId, EventId, PostId, TopicId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::store::{optional, parsed};

macro_rules! event_kinds {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What happened. The string form (`"topic.created"`) is stable.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum EventKind {
            $($(#[$doc])* #[serde(rename = $name)] $variant,)*
        }

        impl EventKind {
            /// The stable dotted name, e.g. `"post.liked"`.
            pub fn as_str(self) -> &'static str {
                match self { $(EventKind::$variant => $name,)* }
            }

            /// Parses the dotted name.
            pub fn parse(s: &str) -> Option<EventKind> {
                match s { $($name => Some(EventKind::$variant),)* _ => None }
            }
        }
    };
}

event_kinds! {
    /// Community settings changed.
    CommunityUpdated = "community.updated",
    /// A user became a member.
    MemberJoined = "member.joined",
    /// Someone asked to join a community that approves new members.
    JoinRequested = "member.join_requested",
    /// A join request was declined.
    JoinDeclined = "member.join_declined",
    /// A member's role changed.
    MemberRoleChanged = "member.role_changed",
    /// A member was silenced, suspended, or had either lifted.
    MemberStateChanged = "member.state_changed",
    /// A member's profile changed.
    ProfileUpdated = "member.profile_updated",
    /// A group was created.
    GroupCreated = "group.created",
    /// A member was added to a group.
    GroupMemberAdded = "group.member_added",
    /// A member was removed from a group.
    GroupMemberRemoved = "group.member_removed",
    /// A group was renamed or its description changed.
    GroupUpdated = "group.updated",
    /// A group was deleted.
    GroupDeleted = "group.deleted",
    /// A category was created.
    CategoryCreated = "category.created",
    /// A category was changed.
    CategoryUpdated = "category.updated",
    /// A topic was opened (its first post comes as `post.created`).
    TopicCreated = "topic.created",
    /// A topic's title, tags or flags (pinned, closed, ...) changed.
    TopicUpdated = "topic.updated",
    /// A member invited another to read a topic (`subject`: the invitee).
    TopicInvited = "topic.invited",
    /// An answer was accepted.
    TopicSolved = "topic.solved",
    /// An accepted answer was withdrawn.
    TopicUnsolved = "topic.unsolved",
    /// A post was created.
    PostCreated = "post.created",
    /// A post was edited.
    PostEdited = "post.edited",
    /// A post was soft-deleted.
    PostDeleted = "post.deleted",
    /// A soft-deleted post was restored.
    PostRestored = "post.restored",
    /// A post received a like.
    PostLiked = "post.liked",
    /// A like was withdrawn.
    PostUnliked = "post.unliked",
    /// A member earned points (`data`: entry, points, rule, cause).
    RewardEarned = "reward.earned",
    /// Points were taken back because their cause went away.
    RewardReversed = "reward.reversed",
    /// A badge was granted (`data`: badge slug).
    BadgeGranted = "badge.granted",
    /// A badge was revoked.
    BadgeRevoked = "badge.revoked",
    /// A badge's name, description, icon, tier or multiplicity changed.
    BadgeUpdated = "badge.updated",
    /// A badge was deleted, with its grants.
    BadgeDeleted = "badge.deleted",
    /// A member's trust level changed (`data`: from, to, locked).
    TrustChanged = "member.trust_changed",
    /// A post was flagged (`data`: review item, flag kind). Staff only.
    PostFlagged = "post.flagged",
    /// A post was hidden by flags or a moderator. Staff only.
    PostHidden = "post.hidden",
    /// A hidden post was shown again. Staff only.
    PostUnhidden = "post.unhidden",
    /// An item entered the review queue (`data`: review item, kind). Staff only.
    ReviewQueued = "review.queued",
    /// A review item was decided (`data`: review item, decision, kind, and
    /// `agreed_flaggers`: the members whose flags the decision agreed with).
    /// Staff only.
    ReviewDecided = "review.decided",
    /// A topic moved to another category (`data`: from, to).
    TopicMoved = "topic.moved",
    /// A topic was merged into another (`data`: into, posts).
    TopicMerged = "topic.merged",
    /// Posts were split out into a new topic (`data`: from, posts).
    TopicSplit = "topic.split",
    /// A member voted for an idea (`data`: votes).
    IdeaVoted = "idea.voted",
    /// A member withdrew their vote (`data`: votes).
    IdeaUnvoted = "idea.unvoted",
    /// Staff set an idea's status (`data`: from, to, note).
    IdeaStatusChanged = "idea.status_changed",
}

/// Who may see an event, as decided when it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Audience {
    /// Content in a public category.
    Public,
    /// Members of the community (member-only categories, membership changes).
    Members,
    /// Members of the groups a category is restricted to.
    Groups,
    /// Moderators and admins only.
    Staff,
}

impl Audience {
    fn as_str(self) -> &'static str {
        match self {
            Audience::Public => "public",
            Audience::Members => "members",
            Audience::Groups => "groups",
            Audience::Staff => "staff",
        }
    }
    fn parse(s: &str) -> Result<Audience> {
        Ok(match s {
            "public" => Audience::Public,
            "members" => Audience::Members,
            "groups" => Audience::Groups,
            "staff" => Audience::Staff,
            _ => return Err(Error::Storage(format!("unknown audience {s:?}"))),
        })
    }
}

/// One entry of the event log.
///
/// Events carry ids, not content: a consumer fetches what it needs through
/// the permission-checked API, so an event never leaks a post body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Position in the log; strictly increasing.
    pub id: EventId,
    /// The community it happened in.
    pub community: CommunityId,
    /// What happened.
    pub kind: EventKind,
    /// Who may see it, as of when it happened. Reads re-check the category's
    /// current visibility as well.
    pub audience: Audience,
    /// The category involved, if any.
    pub category: Option<CategoryId>,
    /// The topic involved, if any.
    pub topic: Option<TopicId>,
    /// The post involved, if any.
    pub post: Option<PostId>,
    /// Who did it (`None` for the system).
    pub actor: Option<UserId>,
    /// The member it happened to (the liked post's author, the new member...).
    pub subject: Option<UserId>,
    /// Small kind-specific details (e.g. `{"role": "moderator"}`).
    pub data: serde_json::Value,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// An event about to be appended.
#[derive(Debug, Clone)]
pub(crate) struct NewEvent {
    pub kind: EventKind,
    pub audience: Audience,
    pub category: Option<CategoryId>,
    pub topic: Option<TopicId>,
    pub post: Option<PostId>,
    pub actor: Option<UserId>,
    pub subject: Option<UserId>,
    pub data: serde_json::Value,
}

impl NewEvent {
    pub(crate) fn new(kind: EventKind, audience: Audience) -> Self {
        NewEvent {
            kind,
            audience,
            category: None,
            topic: None,
            post: None,
            actor: None,
            subject: None,
            data: serde_json::Value::Null,
        }
    }
}

/// Appends one event inside the caller's transaction.
pub(crate) fn append(
    tx: &Conn,
    community: CommunityId,
    now: OffsetDateTime,
    e: NewEvent,
) -> Result<Event> {
    let data = if e.data.is_null() {
        serde_json::json!({})
    } else {
        e.data
    };
    let id = tx.insert_id(
        "INSERT INTO events (community_id, kind, audience, category_id, topic_id, post_id,
                             actor_id, subject_id, data, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            community,
            e.kind.as_str(),
            e.audience.as_str(),
            e.category,
            e.topic,
            e.post,
            e.actor,
            e.subject,
            data.to_string(),
            to_millis(now)
        ],
    )?;
    Ok(Event {
        id: EventId(id),
        community,
        kind: e.kind,
        audience: e.audience,
        category: e.category,
        topic: e.topic,
        post: e.post,
        actor: e.actor,
        subject: e.subject,
        data,
        created_at: now,
    })
}

/// An event row; `None` for a kind written by a newer build (skipped, not
/// fatal).
fn row_to_event(r: &db::Row<'_>) -> db::Result<Option<Event>> {
    let Some(kind) = EventKind::parse(&r.get::<_, String>(2)?) else {
        return Ok(None);
    };
    Ok(Some(Event {
        id: r.get(0)?,
        community: r.get(1)?,
        kind,
        audience: parsed(r, 3, Audience::parse)?,
        category: r.get(4)?,
        topic: r.get(5)?,
        post: r.get(6)?,
        actor: r.get(7)?,
        subject: r.get(8)?,
        data: parsed(r, 9, |s| {
            serde_json::from_str(s)
                .map_err(|e| Error::Storage(format!("event data unreadable: {e}")))
        })?,
        created_at: from_millis(r.get(10)?),
    }))
}

/// Events after `after` as `viewer` may see them; with `conversations`,
/// also those of private conversations (never readable by any viewer:
/// only the system's trusted consumers ask for them).
pub(crate) fn query(
    conn: &Conn,
    viewer: &Viewer,
    after: EventId,
    limit: usize,
    conversations: bool,
) -> Result<Vec<Event>> {
    // Category events follow the category's *current* visibility; events
    // without a category follow the audience they were written with.
    let mut category_free = vec!["'public'"];
    if viewer.is_member() {
        category_free.push("'members'");
    }
    if viewer.is_moderator() {
        category_free.extend(["'groups'", "'staff'"]);
    }
    // Others never learn of content that is gone or hidden now, not even
    // its ids.
    let staff_filter = if viewer.is_moderator() {
        ""
    } else {
        " AND audience <> 'staff'
          AND (post_id IS NULL OR NOT EXISTS (SELECT 1 FROM posts p JOIN topics t ON t.id = p.topic_id
               WHERE p.id = events.post_id
                 AND (p.deleted_at IS NOT NULL OR p.hidden_at IS NOT NULL
                      OR t.deleted_at IS NOT NULL OR t.hidden_at IS NOT NULL)))
          AND (topic_id IS NULL OR NOT EXISTS (SELECT 1 FROM topics t WHERE t.id = events.topic_id
               AND (t.deleted_at IS NOT NULL OR t.hidden_at IS NOT NULL)))"
    };
    let sql = format!(
        "SELECT id, community_id, kind, audience, category_id, topic_id, post_id, actor_id,
                subject_id, data, created_at
         FROM events
         WHERE community_id = ?1 AND id > ?2
           AND ((category_id IS NULL AND audience IN ({free}))
                OR (category_id IN {cats}{staff_filter}))
         ORDER BY id LIMIT ?3",
        free = category_free.join(","),
        cats = if conversations {
            crate::permissions::sql_id_list(
                viewer
                    .config
                    .categories
                    .iter()
                    .filter(|c| c.inbox || viewer.can_read(c))
                    .map(|c| c.id.0),
            )
        } else {
            viewer.readable_sql()
        },
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![viewer.community, after, limit as i64], row_to_event)?;
    let mut out = Vec::new();
    for row in rows {
        if let Some(e) = row? {
            out.push(e);
        }
    }
    Ok(out)
}

impl Forum {
    /// Events of a community after `after`, oldest first, at most `limit`
    /// (capped at 1,000), filtered to what `actor` may see.
    ///
    /// Pass `EventId(0)` to read from the start.
    pub fn events_after(
        &self,
        actor: &Actor,
        community: CommunityId,
        after: EventId,
        limit: usize,
    ) -> Result<Vec<Event>> {
        self.events_in(actor, community, after, limit, false)
    }

    fn events_in(
        &self,
        actor: &Actor,
        community: CommunityId,
        after: EventId,
        limit: usize,
        conversations: bool,
    ) -> Result<Vec<Event>> {
        let limit = limit.clamp(1, 1000);
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            query(conn, &viewer, after, limit, conversations)
        })
    }

    /// [`Forum::events_after`] as the system, private conversations
    /// included (their events carry the conversation's category and
    /// `"message": true` in the data of a post). For the embedder's trusted
    /// consumers only — such as plugins an operator granted
    /// `private-messages` — never on a member's behalf: any actor but
    /// [`Actor::System`] is refused with `Forbidden`.
    pub fn events_after_with_conversations(
        &self,
        actor: &Actor,
        community: CommunityId,
        after: EventId,
        limit: usize,
    ) -> Result<Vec<Event>> {
        if !matches!(actor, Actor::System) {
            return Err(Error::forbidden(
                "only the system reads private conversations' events",
            ));
        }
        self.events_in(actor, community, after, limit, true)
    }

    /// The last event a named consumer acknowledged (`EventId(0)` for a new
    /// consumer). Consumer names are global; prefix them with the community
    /// if a consumer reads one community only.
    pub fn event_cursor(&self, consumer: &str) -> Result<EventId> {
        self.read(|conn, _| {
            Ok(optional(
                conn.prepare_cached("SELECT last_event_id FROM event_cursors WHERE consumer = ?1")?
                    .query_row([consumer], |r| r.get(0)),
            )?
            .unwrap_or(EventId(0)))
        })
    }

    /// Records that `consumer` has processed every event up to and including
    /// `upto`. The cursor never moves backwards.
    pub fn ack_events(&self, consumer: &str, upto: EventId) -> Result<()> {
        if consumer.is_empty() || consumer.len() > 200 {
            return Err(Error::invalid("consumer", "1 to 200 bytes"));
        }
        self.store.write(|tx| {
            let max = tx.greatest();
            tx.prepare_cached(&format!(
                "INSERT INTO event_cursors (consumer, last_event_id, updated_at)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (consumer) DO UPDATE
                 SET last_event_id = {max}(event_cursors.last_event_id, excluded.last_event_id),
                     updated_at = excluded.updated_at"
            ))?
            .execute(params![consumer, upto, to_millis(self.now())])?;
            Ok(())
        })
    }
}
