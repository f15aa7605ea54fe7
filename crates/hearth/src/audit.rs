//! The audit log: what moderators and admins did, to what, and why.
//!
//! Every moderator action writes one entry in its own transaction (who,
//! what, the target, the state before and after, the reason). Admins list
//! and filter it with [`Forum::audit_log`]. Entries are never changed.

use crate::db::{self, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::category::string_enum;
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::forum::{Forum, Write};
use crate::ids::{CommunityId, GroupId, PostId, ReviewId, TopicId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Viewer};
use crate::store::parsed;

string_enum! {
    /// What a moderator or admin did.
    AuditAction {
        /// Closed a topic.
        TopicClosed = "topic_closed",
        /// Re-opened a topic.
        TopicOpened = "topic_opened",
        /// Archived a topic.
        TopicArchived = "topic_archived",
        /// Un-archived a topic.
        TopicUnarchived = "topic_unarchived",
        /// Pinned a topic.
        TopicPinned = "topic_pinned",
        /// Unpinned a topic (or its pin expired).
        TopicUnpinned = "topic_unpinned",
        /// Unlisted a topic.
        TopicUnlisted = "topic_unlisted",
        /// Listed a topic again.
        TopicListed = "topic_listed",
        /// Moved a topic to another category.
        TopicMoved = "topic_moved",
        /// Changed another member's topic title or tags.
        TopicRetitled = "topic_retitled",
        /// Merged a topic into another.
        TopicMerged = "topic_merged",
        /// Split posts into a new topic.
        TopicSplit = "topic_split",
        /// Edited another member's post.
        PostEdited = "post_edited",
        /// Deleted another member's post.
        PostDeleted = "post_deleted",
        /// Restored a post.
        PostRestored = "post_restored",
        /// A post was hidden (by flags or a moderator).
        PostHidden = "post_hidden",
        /// A hidden post was shown again.
        PostUnhidden = "post_unhidden",
        /// Silenced a member, or lifted it.
        MemberSilenced = "member_silenced",
        /// Suspended a member, or lifted it.
        MemberSuspended = "member_suspended",
        /// Changed a member's role.
        RoleChanged = "role_changed",
        /// Set or unlocked a member's trust level.
        TrustLevelSet = "trust_level_set",
        /// Decided a review-queue item.
        ReviewDecided = "review_decided",
        /// Added a watched word.
        WatchedWordAdded = "watched_word_added",
        /// Removed a watched word.
        WatchedWordRemoved = "watched_word_removed",
        /// Changed community settings.
        CommunityUpdated = "community_updated",
        /// Set an idea's status.
        IdeaStatusChanged = "idea_status_changed",
        /// Renamed a group or changed its description.
        GroupUpdated = "group_updated",
        /// Deleted a group.
        GroupDeleted = "group_deleted",
        /// Changed a badge.
        BadgeUpdated = "badge_updated",
        /// Deleted a badge and its grants.
        BadgeDeleted = "badge_deleted",
        /// Locked a post against its author's edits, or unlocked it.
        PostLocked = "post_locked",
        /// Moved a topic and its posts in time.
        TopicTimestampChanged = "topic_timestamp_changed",
        /// Set, replaced or removed a topic's timer.
        TopicTimerSet = "topic_timer_set",
        /// Created or changed a tag group.
        TagGroupUpdated = "tag_group_updated",
        /// Deleted a tag group.
        TagGroupDeleted = "tag_group_deleted",
        /// Deactivated a member, or activated them again.
        MemberActivation = "member_activation",
        /// Anonymized an account.
        MemberAnonymized = "member_anonymized",
        /// Deleted a member's account (anonymized, gone from the community).
        MemberDeleted = "member_deleted",
    }
}

/// What an audit entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type", content = "id")]
pub enum Target {
    /// A topic.
    Topic(TopicId),
    /// A post.
    Post(PostId),
    /// A member.
    Member(UserId),
    /// A review-queue item.
    Review(ReviewId),
    /// A watched word.
    WatchedWord(i64),
    /// A group.
    Group(GroupId),
    /// A badge (by id).
    Badge(i64),
    /// A tag group (by id).
    TagGroup(i64),
    /// The community itself.
    Community,
}

impl Target {
    fn parts(self) -> (&'static str, Option<i64>) {
        match self {
            Target::Topic(t) => ("topic", Some(t.0)),
            Target::Post(p) => ("post", Some(p.0)),
            Target::Member(u) => ("member", Some(u.0)),
            Target::Review(r) => ("review", Some(r.0)),
            Target::WatchedWord(w) => ("watched_word", Some(w)),
            Target::Group(g) => ("group", Some(g.0)),
            Target::Badge(b) => ("badge", Some(b)),
            Target::TagGroup(g) => ("tag_group", Some(g)),
            Target::Community => ("community", None),
        }
    }

    fn from_parts(kind: &str, id: Option<i64>) -> Result<Target> {
        let id = || id.ok_or_else(|| Error::Storage(format!("audit target {kind} without id")));
        Ok(match kind {
            "topic" => Target::Topic(TopicId(id()?)),
            "post" => Target::Post(PostId(id()?)),
            "member" => Target::Member(UserId(id()?)),
            "review" => Target::Review(ReviewId(id()?)),
            "watched_word" => Target::WatchedWord(id()?),
            "group" => Target::Group(GroupId(id()?)),
            "badge" => Target::Badge(id()?),
            "tag_group" => Target::TagGroup(id()?),
            "community" => Target::Community,
            other => return Err(Error::Storage(format!("unknown audit target {other:?}"))),
        })
    }
}

/// One audit entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Its id; newer entries have larger ids.
    pub id: i64,
    /// Who did it (`None`: the system, e.g. an expired pin or auto-hiding).
    pub actor: Option<UserId>,
    /// What.
    pub action: AuditAction,
    /// To what.
    pub target: Target,
    /// The relevant state before.
    pub before: serde_json::Value,
    /// The relevant state after.
    pub after: serde_json::Value,
    /// Why, as the moderator wrote it.
    pub reason: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Which entries [`Forum::audit_log`] lists; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Only this action.
    pub action: Option<AuditAction>,
    /// Only by this member.
    pub actor: Option<UserId>,
    /// Only about this target.
    pub target: Option<Target>,
}

/// Longest reason a moderator may give.
pub(crate) const MAX_REASON: usize = 1000;

pub(crate) fn check_reason(reason: Option<&str>) -> Result<()> {
    match reason {
        Some(r) => crate::text::check_len("reason", r, 0, MAX_REASON),
        None => Ok(()),
    }
}

/// Appends an entry inside the caller's transaction.
pub(crate) fn record(
    w: &Write<'_>,
    viewer: &Viewer,
    action: AuditAction,
    target: Target,
    before: serde_json::Value,
    after: serde_json::Value,
    reason: Option<&str>,
) -> Result<()> {
    let (kind, id) = target.parts();
    w.tx.prepare_cached(
        "INSERT INTO audit_log (community_id, actor_id, action, target_type, target_id, before, after,
                                reason, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        viewer.community,
        viewer.user,
        action.as_str(),
        kind,
        id,
        before.to_string(),
        after.to_string(),
        reason.map(str::trim).filter(|r| !r.is_empty()),
        w.now_ms()
    ])?;
    Ok(())
}

fn json(s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| Error::Storage(format!("audit entry unreadable: {e}")))
}

impl Forum {
    /// The audit log, newest first, filtered. Admins only.
    pub fn audit_log(
        &self,
        actor: &Actor,
        community: CommunityId,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEntry>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.require_admin()?;
            let before = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => i64::MAX,
            };
            let limit = page.limit();
            let (kind, id) = filter.target.map_or((None, None), |t| {
                let (k, i) = t.parts();
                (Some(k), i)
            });
            let mut stmt = conn.prepare_cached(
                "SELECT id, actor_id, action, target_type, target_id, before, after, reason, created_at
                 FROM audit_log
                 WHERE community_id = ?1 AND id < ?2
                   AND (CAST(?3 AS TEXT) IS NULL OR action = ?3)
                   AND (CAST(?4 AS BIGINT) IS NULL OR actor_id = ?4)
                   AND (CAST(?5 AS TEXT) IS NULL OR (target_type = ?5 AND target_id IS NOT DISTINCT FROM ?6))
                 ORDER BY id DESC LIMIT ?7",
            )?;
            let rows = stmt.query_map(
                params![
                    community,
                    before,
                    filter.action.map(AuditAction::as_str),
                    filter.actor,
                    kind,
                    id,
                    limit as i64 + 1
                ],
                |r| {
                    let target_type: String = r.get(3)?;
                    let target_id: Option<i64> = r.get(4)?;
                    Ok(AuditEntry {
                        id: r.get(0)?,
                        actor: r.get(1)?,
                        action: parsed(r, 2, AuditAction::parse)?,
                        target: Target::from_parts(&target_type, target_id).map_err(|e| {
                            db::Error::convert(3, e)
                        })?,
                        before: parsed(r, 5, json)?,
                        after: parsed(r, 6, json)?,
                        reason: r.get(7)?,
                        created_at: from_millis(r.get(8)?),
                    })
                },
            )?;
            let rows = rows.collect::<db::Result<Vec<_>>>()?;
            Ok(Page::from_rows(rows, limit, |e: &AuditEntry| {
                Cursor::from_parts(&[e.id])
            }))
        })
    }
}
