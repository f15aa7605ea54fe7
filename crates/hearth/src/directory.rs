//! The member directory with public activity figures ("find and meet
//! members"): who helps most, who has been around longest.

use crate::db::{self, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Role};
use crate::store::{OptionalExt, parsed};
use crate::topic::UserRef;
use crate::trust::TrustLevel;

/// How [`Forum::directory`] orders members (most first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectoryOrder {
    /// Likes their posts received.
    #[default]
    LikesReceived,
    /// Likes they gave.
    LikesGiven,
    /// Topics they opened.
    TopicCount,
    /// Posts they wrote.
    PostCount,
    /// Days they visited.
    DaysVisited,
    /// Posts they read.
    PostsRead,
    /// Topics they entered.
    TopicsEntered,
}

impl DirectoryOrder {
    /// Parses Discourse's `order` names (`likes_received`, `post_count`…).
    pub fn parse(s: &str) -> Option<DirectoryOrder> {
        Some(match s {
            "likes_received" => DirectoryOrder::LikesReceived,
            "likes_given" => DirectoryOrder::LikesGiven,
            "topic_count" => DirectoryOrder::TopicCount,
            "post_count" => DirectoryOrder::PostCount,
            "days_visited" => DirectoryOrder::DaysVisited,
            "posts_read" => DirectoryOrder::PostsRead,
            "topics_entered" => DirectoryOrder::TopicsEntered,
            _ => return None,
        })
    }

    fn column(self) -> &'static str {
        match self {
            DirectoryOrder::LikesReceived => "a.likes_received",
            DirectoryOrder::LikesGiven => "a.likes_given",
            DirectoryOrder::TopicCount => "a.topics_created",
            DirectoryOrder::PostCount => "a.posts_created",
            DirectoryOrder::DaysVisited => "a.days_visited",
            DirectoryOrder::PostsRead => "a.posts_read",
            DirectoryOrder::TopicsEntered => "a.topics_entered",
        }
    }
}

/// One member in the directory, with lifetime figures in this community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DirectoryEntry {
    /// The member.
    pub user: UserRef,
    /// Their role.
    pub role: Role,
    /// Their trust level.
    pub trust_level: TrustLevel,
    /// When they joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// Likes their posts received.
    pub likes_received: i64,
    /// Likes they gave.
    pub likes_given: i64,
    /// Topics they opened.
    pub topic_count: i64,
    /// Posts they wrote (topics' first posts included).
    pub post_count: i64,
    /// Days they visited.
    pub days_visited: i64,
    /// Posts they read.
    pub posts_read: i64,
    /// Topics they entered.
    pub topics_entered: i64,
}

impl Forum {
    /// The member directory ordered by an activity figure, most first
    /// (ties by user id). Members only, like [`Forum::members`]; suspended
    /// members are left out.
    pub fn directory(
        &self,
        actor: &Actor,
        community: CommunityId,
        order: DirectoryOrder,
        page: &PageRequest,
    ) -> Result<Page<DirectoryEntry>> {
        self.directory_where(actor, community, order, &[], page)
    }

    /// [`Forum::directory`] narrowed to members who chose each given
    /// option (`(field key, option value)`, all of them) of the
    /// community's choice profile fields ("products = ledger-cloud and
    /// region = nordics"). `Invalid` (field `profile_fields`) for a text
    /// field, an unknown key or option, or a staff-only field asked by
    /// someone who is not staff.
    pub fn directory_where(
        &self,
        actor: &Actor,
        community: CommunityId,
        order: DirectoryOrder,
        fields: &[(String, String)],
        page: &PageRequest,
    ) -> Result<Page<DirectoryEntry>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if !viewer.is_member() {
                return Err(Error::Forbidden {
                    reason: "sign in as a member to see the member directory".into(),
                });
            }
            let (after_value, after_id) = match &page.after {
                Some(c) => {
                    let [v, id] = c.parts::<2>()?;
                    (v, id)
                }
                None => (i64::MAX, 0),
            };
            let limit = page.limit();
            let col = order.column();
            let mut args: Vec<db::Value> = vec![
                db::Value::Integer(community.0),
                db::Value::Integer(now),
                db::Value::Integer(after_value),
                db::Value::Integer(after_id),
                db::Value::Integer(limit as i64 + 1),
            ];
            let chosen = crate::profile_fields::directory_filter(&viewer, fields, 6, &mut args)?;
            let sql = format!(
                "SELECT {ENTRY_COLUMNS}, coalesce({col}, 0) AS v
                 FROM memberships m
                 JOIN users u ON u.id = m.user_id
                 LEFT JOIN member_activity a
                   ON a.community_id = m.community_id AND a.user_id = m.user_id
                 WHERE m.community_id = ?1
                   AND (m.suspended_until IS NULL OR m.suspended_until <= ?2)
                   AND (coalesce({col}, 0) < ?3 OR (coalesce({col}, 0) = ?3 AND u.id > ?4)){chosen}
                 ORDER BY v DESC, u.id
                 LIMIT ?5"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(args.as_slice(), |r| {
                Ok((entry_from_row(r)?, r.get::<_, i64>(14)?))
            })?;
            let rows = rows.collect::<db::Result<Vec<_>>>()?;
            let page = Page::from_rows(rows, limit, |(e, v): &(DirectoryEntry, i64)| {
                Cursor::from_parts(&[*v, e.user.id.0])
            });
            Ok(Page {
                items: page.items.into_iter().map(|(e, _)| e).collect(),
                next: page.next,
            })
        })
    }

    /// One member's public activity figures (for a profile). Anyone who may
    /// read the community may see them, as they may see the member.
    pub fn directory_entry(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
    ) -> Result<DirectoryEntry> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            conn.prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS}
                 FROM memberships m
                 JOIN users u ON u.id = m.user_id
                 LEFT JOIN member_activity a
                   ON a.community_id = m.community_id AND a.user_id = m.user_id
                 WHERE m.community_id = ?1 AND m.user_id = ?2"
            ))?
            .query_row(params![community, user], entry_from_row)
            .found("member")
        })
    }
}

const ENTRY_COLUMNS: &str = "u.id, u.username, u.display_name, u.avatar_url, m.role, m.trust_level,
    m.joined_at, coalesce(a.likes_received, 0), coalesce(a.likes_given, 0),
    coalesce(a.topics_created, 0), coalesce(a.posts_created, 0),
    coalesce(a.days_visited, 0), coalesce(a.posts_read, 0), coalesce(a.topics_entered, 0)";

fn entry_from_row(r: &db::Row<'_>) -> db::Result<DirectoryEntry> {
    Ok(DirectoryEntry {
        user: UserRef {
            id: r.get(0)?,
            username: r.get(1)?,
            display_name: r.get(2)?,
            avatar_url: r.get(3)?,
        },
        role: parsed(r, 4, Role::parse)?,
        trust_level: TrustLevel::from_db(r.get(5)?).map_err(|e| db::Error::convert(5, e))?,
        joined_at: from_millis(r.get(6)?),
        likes_received: r.get(7)?,
        likes_given: r.get(8)?,
        topic_count: r.get(9)?,
        post_count: r.get(10)?,
        days_visited: r.get(11)?,
        posts_read: r.get(12)?,
        topics_entered: r.get(13)?,
    })
}
