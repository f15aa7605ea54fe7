//! A member's activity stream: the topics they started, their replies,
//! the likes they gave and got, where they were mentioned — newest first,
//! and only what the reader may read (Discourse's user actions).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::from_millis;
use crate::db::{self, params};
use crate::error::Result;
use crate::forum::Forum;
use crate::ids::{CategoryId, CommunityId, PostId, TopicId, UserId};
use crate::permissions::Actor;
use crate::topic::{UserRef, user_ref};

/// The most actions [`Forum::user_actions`] returns at once.
pub const MAX_USER_ACTIONS: usize = 100;

/// What happened, numbered as Discourse numbers its action types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// They liked a post (1).
    Like,
    /// Someone liked their post (2).
    WasLiked,
    /// They started a topic (4).
    NewTopic,
    /// They replied (5).
    Reply,
    /// Someone mentioned them (7).
    Mention,
}

impl ActionKind {
    /// Every kind.
    pub const ALL: [ActionKind; 5] = [
        ActionKind::Like,
        ActionKind::WasLiked,
        ActionKind::NewTopic,
        ActionKind::Reply,
        ActionKind::Mention,
    ];

    /// Discourse's number for it.
    pub fn number(self) -> i64 {
        match self {
            ActionKind::Like => 1,
            ActionKind::WasLiked => 2,
            ActionKind::NewTopic => 4,
            ActionKind::Reply => 5,
            ActionKind::Mention => 7,
        }
    }

    /// The kind Discourse numbers `n`, if Hearth records it.
    pub fn from_number(n: i64) -> Option<ActionKind> {
        ActionKind::ALL.into_iter().find(|k| k.number() == n)
    }

    /// Rows `(kind, at, post, acting user)` of this kind in member `?2`'s
    /// stream (community `?1`).
    fn rows_sql(self) -> &'static str {
        match self {
            ActionKind::Like => {
                "SELECT CAST(1 AS BIGINT) AS kind, l.created_at AS at, l.post_id AS post_id, l.user_id AS acting FROM likes l WHERE l.user_id = ?2"
            }
            ActionKind::WasLiked => {
                "SELECT CAST(2 AS BIGINT) AS kind, l.created_at AS at, l.post_id AS post_id, l.user_id AS acting FROM likes l
                 JOIN posts p ON p.id = l.post_id WHERE p.user_id = ?2 AND p.community_id = ?1"
            }
            ActionKind::NewTopic => {
                "SELECT CAST(4 AS BIGINT) AS kind, p.created_at AS at, p.id AS post_id, p.user_id AS acting FROM posts p
                 WHERE p.user_id = ?2 AND p.community_id = ?1 AND p.post_number = 1"
            }
            ActionKind::Reply => {
                "SELECT CAST(5 AS BIGINT) AS kind, p.created_at AS at, p.id AS post_id, p.user_id AS acting FROM posts p
                 WHERE p.user_id = ?2 AND p.community_id = ?1 AND p.post_number > 1"
            }
            ActionKind::Mention => {
                "SELECT CAST(7 AS BIGINT) AS kind, p.created_at AS at, p.id AS post_id, p.user_id AS acting FROM mentions m
                 JOIN posts p ON p.id = m.post_id WHERE m.user_id = ?2 AND p.community_id = ?1"
            }
        }
    }
}

/// One entry of a member's activity stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserAction {
    /// What happened.
    pub kind: ActionKind,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Who did it (the member for their own posts and likes, the liker or
    /// the mentioning author otherwise).
    pub acting: UserRef,
    /// The post it is about.
    pub post: PostId,
    /// Its number in the topic.
    pub post_number: i64,
    /// Its author.
    pub author: UserRef,
    /// Its Markdown source (for an excerpt).
    pub source: String,
    /// Its topic.
    pub topic: TopicId,
    /// The topic's title.
    pub title: String,
    /// The topic's slug.
    pub slug: String,
    /// The topic's category.
    pub category: CategoryId,
    /// Whether the topic is closed.
    pub closed: bool,
    /// Whether the topic is archived.
    pub archived: bool,
}

impl Forum {
    /// `user`'s activity in this community of the `kinds` asked (all when
    /// empty), newest first, skipping `offset` and returning at most
    /// `limit` (capped at [`MAX_USER_ACTIONS`]). Only posts `actor` may
    /// read count: never deleted, hidden or unlisted ones, nor any in a
    /// category the actor can't see.
    pub fn user_actions(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        kinds: &[ActionKind],
        offset: usize,
        limit: usize,
    ) -> Result<Vec<UserAction>> {
        let kinds = if kinds.is_empty() {
            &ActionKind::ALL[..]
        } else {
            kinds
        };
        let limit = limit.min(MAX_USER_ACTIONS) as i64;
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let rows: Vec<&str> = ActionKind::ALL
                .into_iter()
                .filter(|k| kinds.contains(k))
                .map(ActionKind::rows_sql)
                .collect();
            // The kinds are fixed fragments; the readable categories ids.
            let sql = format!(
                "SELECT a.kind, a.at, a.acting, au.username, au.display_name, au.avatar_url,
                        p.id, p.post_number, p.user_id, tu.username, tu.display_name, tu.avatar_url,
                        p.source, t.id, t.title, t.slug, t.category_id, t.closed, t.archived
                 FROM ({}) a
                 JOIN posts p ON p.id = a.post_id
                 JOIN topics t ON t.id = p.topic_id
                 JOIN users tu ON tu.id = p.user_id
                 JOIN users au ON au.id = a.acting
                 WHERE p.community_id = ?1 AND t.category_id IN {}
                   AND p.deleted_at IS NULL AND p.hidden_at IS NULL
                   AND t.deleted_at IS NULL AND t.hidden_at IS NULL AND t.unlisted = 0
                 ORDER BY a.at DESC, p.id DESC, a.kind LIMIT ?3 OFFSET ?4",
                rows.join(" UNION ALL "),
                viewer.readable_sql()
            );
            let offset = i64::try_from(offset).unwrap_or(i64::MAX);
            let mut stmt = conn.prepare(&sql)?;
            let found = stmt
                .query_map(params![community, user, limit, offset], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        UserAction {
                            kind: ActionKind::Like,
                            at: from_millis(r.get(1)?),
                            acting: user_ref(r, 2)?,
                            post: r.get(6)?,
                            post_number: r.get(7)?,
                            author: user_ref(r, 8)?,
                            source: r.get(12)?,
                            topic: r.get(13)?,
                            title: r.get(14)?,
                            slug: r.get(15)?,
                            category: r.get(16)?,
                            closed: r.get(17)?,
                            archived: r.get(18)?,
                        },
                    ))
                })?
                .collect::<db::Result<Vec<_>>>()?;
            Ok(found
                .into_iter()
                .filter_map(|(n, mut a)| {
                    a.kind = ActionKind::from_number(n)?;
                    Some(a)
                })
                .collect())
        })
    }
}
