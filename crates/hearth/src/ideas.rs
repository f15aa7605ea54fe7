//! Ideas: topics in idea categories that members vote for (one vote each,
//! withdrawable) and staff answer with a status and a public note. Lists
//! sort by votes; a status change tells the idea's voters and author.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditAction, Target, record};
use crate::category::{CategoryKind, string_enum};
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::events::{EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CategoryId, CommunityId, TopicId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Viewer};
use crate::store::{optional, parsed};
use crate::text::check_len;
use crate::topic::{Topic, audience, load_topics, topic_state};

string_enum! {
    /// Where an idea stands.
    IdeaStatus {
        /// Proposed; nobody from staff has answered yet.
        Open = "open",
        /// Staff are looking at it.
        UnderReview = "under_review",
        /// It will be built.
        Planned = "planned",
        /// Being built.
        InProgress = "in_progress",
        /// Built and released (voting ends).
        Shipped = "shipped",
        /// It will not be built (voting ends).
        Declined = "declined",
    }
}

impl IdeaStatus {
    /// Every status, in workflow order.
    pub const ALL: &'static [IdeaStatus] = &[
        IdeaStatus::Open,
        IdeaStatus::UnderReview,
        IdeaStatus::Planned,
        IdeaStatus::InProgress,
        IdeaStatus::Shipped,
        IdeaStatus::Declined,
    ];

    /// Parses [`IdeaStatus::as_str`] (`None` for anything else).
    pub fn from_name(s: &str) -> Option<IdeaStatus> {
        IdeaStatus::parse(s).ok()
    }

    /// Whether members may still vote.
    pub fn open_for_votes(self) -> bool {
        !matches!(self, IdeaStatus::Shipped | IdeaStatus::Declined)
    }
}

/// The longest status note.
pub const MAX_IDEA_NOTE: usize = 2000;

/// An idea: its topic, votes and status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Idea {
    /// The topic that proposes it.
    pub topic: Topic,
    /// How many members voted for it.
    pub votes: i64,
    /// Whether the asking member voted for it.
    pub voted: bool,
    /// Where it stands.
    pub status: IdeaStatus,
    /// Staff's public note on the status (may be empty).
    pub note: String,
    /// When the status was last set.
    #[serde(with = "time::serde::rfc3339::option")]
    pub status_at: Option<OffsetDateTime>,
}

/// Which ideas [`Forum::ideas`] lists.
#[derive(Debug, Clone, Default)]
pub struct IdeaFilter {
    /// One idea category (every readable one when `None`).
    pub category: Option<CategoryId>,
    /// Only ideas with this status.
    pub status: Option<IdeaStatus>,
}

fn idea_row(
    conn: &Conn,
    topic: TopicId,
    user: Option<UserId>,
) -> Result<(i64, IdeaStatus, String, Option<i64>, bool)> {
    let row = optional(
        conn.prepare_cached(
            "SELECT vote_count, status, note, status_at FROM ideas WHERE topic_id = ?1",
        )?
        .query_row([topic], |r| {
            Ok((
                r.get(0)?,
                parsed(r, 1, IdeaStatus::parse)?,
                r.get(2)?,
                r.get(3)?,
            ))
        }),
    )?;
    let (votes, status, note, at) = row.unwrap_or((0, IdeaStatus::Open, String::new(), None));
    let voted = match user {
        Some(u) => optional(
            conn.prepare_cached("SELECT 1 FROM idea_votes WHERE topic_id = ?1 AND user_id = ?2")?
                .query_row(params![topic, u], |r| r.get::<_, i64>(0)),
        )?
        .is_some(),
        None => false,
    };
    Ok((votes, status, note, at, voted))
}

/// The topic, checked readable and in an idea category.
fn idea_topic(conn: &Conn, viewer: &Viewer, topic: TopicId) -> Result<crate::topic::TopicState> {
    let t = topic_state(conn, viewer, topic)?;
    if viewer.category(t.category)?.kind != CategoryKind::Ideas {
        return Err(Error::invalid(
            "topic",
            "only topics in idea categories take votes",
        ));
    }
    Ok(t)
}

fn load(conn: &Conn, viewer: &Viewer, topic: TopicId) -> Result<Idea> {
    idea_topic(conn, viewer, topic)?;
    let t = load_topics(conn, "t.id = ?1", params![topic])?
        .pop()
        .ok_or(Error::not_found("topic"))?;
    let (votes, status, note, at, voted) = idea_row(conn, topic, viewer.user)?;
    Ok(Idea {
        topic: t,
        votes,
        voted,
        status,
        note,
        status_at: at.map(from_millis),
    })
}

impl Forum {
    /// An idea with its votes and status.
    pub fn idea(&self, actor: &Actor, community: CommunityId, topic: TopicId) -> Result<Idea> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            load(conn, &viewer, topic)
        })
    }

    /// Votes for an idea (members who can read it; not your own idea's
    /// second vote — one each). Voting twice is a conflict; shipped and
    /// declined ideas take no votes.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("i.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let bob = forum.create_user(NewUser::new("bob"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// # forum.join(&Actor::User(bob), c)?;
    /// let ideas = forum.create_category(&Actor::User(ann), c,
    ///     NewCategory::new("ideas", "Ideas", CategoryKind::Ideas))?.id;
    /// let (topic, _) = forum.create_topic(&Actor::User(bob), c, NewTopic {
    ///     category: ideas, title: "Dark mode for the dashboard".into(),
    ///     body: "Easier on the eyes at night.".into(), tags: vec![] })?;
    /// forum.vote(&Actor::User(ann), c, topic.id)?;
    /// forum.set_idea_status(&Actor::User(ann), c, topic.id, IdeaStatus::Planned,
    ///     "Coming in the spring release.")?;
    /// let idea = forum.idea(&Actor::User(bob), c, topic.id)?;
    /// assert_eq!((idea.votes, idea.status), (1, IdeaStatus::Planned));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn vote(&self, actor: &Actor, community: CommunityId, topic: TopicId) -> Result<Idea> {
        self.set_vote(actor, community, topic, true)
    }

    /// Withdraws your vote; withdrawing one you did not cast is a conflict.
    pub fn unvote(&self, actor: &Actor, community: CommunityId, topic: TopicId) -> Result<Idea> {
        self.set_vote(actor, community, topic, false)
    }

    fn set_vote(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        on: bool,
    ) -> Result<Idea> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let t = idea_topic(w.tx, &viewer, topic)?;
            let user = viewer.require_poster()?;
            let (_, status, ..) = idea_row(w.tx, topic, None)?;
            if on && (!status.open_for_votes() || t.closed || t.archived) {
                return Err(Error::conflict("voting on this idea has ended"));
            }
            ensure_row(w, community, topic)?;
            let changed = if on {
                w.tx.prepare_cached(
                    "INSERT INTO idea_votes (topic_id, user_id, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?
                .execute(params![topic, user, w.now_ms()])?
            } else {
                w.tx.prepare_cached("DELETE FROM idea_votes WHERE topic_id = ?1 AND user_id = ?2")?
                    .execute(params![topic, user])?
            };
            if changed == 0 {
                return Err(Error::conflict(if on {
                    "you already voted for this idea"
                } else {
                    "you have not voted for this idea"
                }));
            }
            w.tx.prepare_cached("UPDATE ideas SET vote_count = vote_count + ?2 WHERE topic_id = ?1")?
                .execute(params![topic, if on { 1 } else { -1 }])?;
            let cat = viewer.category(t.category)?;
            let mut e = NewEvent::new(
                if on { EventKind::IdeaVoted } else { EventKind::IdeaUnvoted },
                audience(cat),
            );
            e.category = Some(cat.id);
            e.topic = Some(topic);
            e.actor = Some(user);
            e.subject = Some(t.author);
            w.emit(community, e)?;
            load(w.tx, &viewer, topic)
        })
    }

    /// Sets an idea's status with a public note (moderators; audited).
    /// The idea's voters and author are notified.
    pub fn set_idea_status(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        status: IdeaStatus,
        note: &str,
    ) -> Result<Idea> {
        let note = note.trim();
        check_len("note", note, 0, MAX_IDEA_NOTE)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let t = idea_topic(w.tx, &viewer, topic)?;
            viewer.require_moderator()?;
            ensure_row(w, community, topic)?;
            let (_, before, before_note, ..) = idea_row(w.tx, topic, None)?;
            w.tx.prepare_cached(
                "UPDATE ideas SET status = ?2, note = ?3, status_by = ?4, status_at = ?5 WHERE topic_id = ?1",
            )?
            .execute(params![topic, status.as_str(), note, viewer.user, w.now_ms()])?;
            let cat = viewer.category(t.category)?;
            let mut e = NewEvent::new(EventKind::IdeaStatusChanged, audience(cat));
            e.category = Some(cat.id);
            e.topic = Some(topic);
            e.actor = viewer.user;
            e.subject = Some(t.author);
            e.data = serde_json::json!({
                "from": before.as_str(), "to": status.as_str(), "note": note,
            });
            w.emit(community, e)?;
            record(
                w,
                &viewer,
                AuditAction::IdeaStatusChanged,
                Target::Topic(topic),
                serde_json::json!({"status": before.as_str(), "note": before_note}),
                serde_json::json!({"status": status.as_str(), "note": note}),
                None,
            )?;
            load(w.tx, &viewer, topic)
        })
    }

    /// Ideas, most votes first (ties: newest first); by category and
    /// status if asked.
    pub fn ideas(
        &self,
        actor: &Actor,
        community: CommunityId,
        filter: &IdeaFilter,
        page: &PageRequest,
    ) -> Result<Page<Idea>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let cats: Vec<CategoryId> = match filter.category {
                Some(c) => {
                    if viewer.category(c)?.kind != CategoryKind::Ideas {
                        return Err(Error::invalid("category", "is not an idea category"));
                    }
                    vec![c]
                }
                None => viewer
                    .readable_categories()
                    .into_iter()
                    .filter(|c| {
                        viewer
                            .category(*c)
                            .is_ok_and(|a| a.kind == CategoryKind::Ideas)
                    })
                    .collect(),
            };
            if cats.is_empty() {
                return Ok(Page {
                    items: Vec::new(),
                    next: None,
                });
            }
            let list = crate::permissions::sql_id_list(cats.iter().map(|c| c.0));
            let [votes, id] = match &page.after {
                Some(c) => c.parts::<2>()?,
                None => [i64::MAX, i64::MAX],
            };
            let limit = page.limit();
            let status = filter.status.map(|s| s.as_str()).unwrap_or("");
            let sql = format!(
                "SELECT t.id FROM topics t LEFT JOIN ideas i ON i.topic_id = t.id
                 WHERE t.community_id = ?1 AND t.category_id IN {list} AND t.deleted_at IS NULL
                   AND t.hidden_at IS NULL AND t.unlisted = 0
                   AND (?2 = '' OR coalesce(i.status, 'open') = ?2)
                   AND (coalesce(i.vote_count, 0), t.id) < (?3, ?4)
                 ORDER BY coalesce(i.vote_count, 0) DESC, t.id DESC LIMIT ?5"
            );
            let ids: Vec<TopicId> = conn
                .prepare_cached(&sql)?
                .query_map(
                    params![community, status, votes, id, limit as i64 + 1],
                    |r| r.get(0),
                )?
                .collect::<db::Result<_>>()?;
            let items = ids
                .into_iter()
                .map(|t| load(conn, &viewer, t))
                .collect::<Result<Vec<_>>>()?;
            Ok(Page::from_rows(items, limit, |i: &Idea| {
                Cursor::from_parts(&[i.votes, i.topic.id.0])
            }))
        })
    }
}

fn ensure_row(w: &Write<'_>, community: CommunityId, topic: TopicId) -> Result<()> {
    w.tx.prepare_cached(
        "INSERT INTO ideas (topic_id, community_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )?
    .execute(params![topic, community])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_close_voting() {
        for s in IdeaStatus::ALL {
            assert_eq!(IdeaStatus::from_name(s.as_str()), Some(*s));
        }
        assert!(IdeaStatus::Planned.open_for_votes());
        assert!(!IdeaStatus::Shipped.open_for_votes());
        assert!(!IdeaStatus::Declined.open_for_votes());
        assert_eq!(IdeaStatus::from_name("someday"), None);
    }
}
