//! Badges: definitions per community and grants to members.
//!
//! Granting is idempotent — granting a badge a member already holds (for
//! the same post, for badges that can be earned more than once) changes
//! nothing — so hooks and plugins can grant from events delivered at least
//! once.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditAction, Target};
use crate::category::string_enum;
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::Forum;
use crate::ids::{CommunityId, PostId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::store::{OptionalExt, parsed};
use crate::text::{check_len, check_name, check_slug};

string_enum! {
    /// How rare a badge is.
    BadgeTier {
        /// The rarest.
        Gold = "gold",
        /// Between.
        Silver = "silver",
        /// The most common.
        Bronze = "bronze",
    }
}

/// A badge definition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Badge {
    /// Its id.
    pub id: i64,
    /// Its community.
    pub community: CommunityId,
    /// Unique in the community, e.g. `"first-answer"`.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// An icon name or URL.
    pub icon: String,
    /// Gold, silver or bronze.
    pub tier: BadgeTier,
    /// Whether a member can earn it more than once (once per post).
    pub multiple: bool,
}

/// What [`Forum::create_badge`] needs.
#[derive(Debug, Clone)]
pub struct NewBadge {
    /// 1 to 50 of `a-z 0-9 -`, or empty: made from the name's ASCII words.
    pub slug: String,
    /// 1 to 100 characters.
    pub name: String,
    /// Up to 1,000 characters.
    pub description: String,
    /// Up to 200 characters.
    pub icon: String,
    /// Gold, silver or bronze.
    pub tier: BadgeTier,
    /// Can be earned more than once.
    pub multiple: bool,
}

/// A badge and how often it is held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeCount {
    /// The badge.
    pub badge: Badge,
    /// Its grants not revoked (a member holding a multiple badge for two
    /// posts counts twice).
    pub grants: i64,
}

/// What [`Forum::update_badge`] changes; `None` keeps a field. The slug
/// never changes: hooks and plugins grant by it.
#[derive(Debug, Clone, Default)]
pub struct BadgeChange {
    /// 1 to 100 characters.
    pub name: Option<String>,
    /// Up to 1,000 characters.
    pub description: Option<String>,
    /// Up to 200 characters.
    pub icon: Option<String>,
    /// Gold, silver or bronze.
    pub tier: Option<BadgeTier>,
    /// Can be earned more than once (grants made before stay).
    pub multiple: Option<bool>,
}

/// A badge a member holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BadgeGrant {
    /// The badge.
    pub badge: Badge,
    /// The post that earned it, when the viewer may read that post.
    pub post: Option<PostId>,
    /// Why it was granted.
    pub reason: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub granted_at: OffsetDateTime,
}

const BADGE_COLUMNS: &str = "b.id, b.slug, b.name, b.description, b.icon, b.tier, b.multiple";

/// A badge from the first seven columns of `BADGE_COLUMNS`.
fn badge_from_row(r: &db::Row<'_>, community: CommunityId) -> db::Result<Badge> {
    Ok(Badge {
        id: r.get(0)?,
        community,
        slug: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        icon: r.get(4)?,
        tier: parsed(r, 5, BadgeTier::parse)?,
        multiple: r.get(6)?,
    })
}

fn badge_by_id(conn: &Conn, community: CommunityId, id: i64) -> Result<Badge> {
    conn.prepare_cached(&format!(
        "SELECT {BADGE_COLUMNS} FROM badges b WHERE b.community_id = ?1 AND b.id = ?2"
    ))?
    .query_row(params![community, id], |r| badge_from_row(r, community))
    .found("badge")
}

fn badge_by_slug(conn: &Conn, community: CommunityId, slug: &str) -> Result<Badge> {
    conn.prepare_cached(&format!(
        "SELECT {BADGE_COLUMNS} FROM badges b WHERE b.community_id = ?1 AND b.slug = ?2"
    ))?
    .query_row(params![community, slug], |r| badge_from_row(r, community))
    .found("badge")
}

impl Forum {
    /// Defines a badge. Admins and the application only.
    pub fn create_badge(
        &self,
        actor: &Actor,
        community: CommunityId,
        mut new: NewBadge,
    ) -> Result<Badge> {
        if new.slug.is_empty() {
            new.slug = crate::text::slug_words(&new.name, 50);
            if new.slug.is_empty() {
                return Err(Error::invalid(
                    "name",
                    "needs a letter or digit (a-z, 0-9) to make the badge's slug from; or give a slug",
                ));
            }
        }
        check_slug("slug", &new.slug)?;
        check_name("name", &new.name, 1, 100)?;
        check_len("description", &new.description, 0, 1000)?;
        check_name("icon", &new.icon, 0, 200)?;
        self.write(|w| {
            self.viewer_in(w, actor, community)?.require_admin()?;
            let exists: bool = w
                .tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM badges WHERE community_id = ?1 AND slug = ?2)")?
                .query_row(params![community, new.slug], |r| r.get(0))?;
            if exists {
                return Err(Error::conflict(format!("badge {:?} exists", new.slug)));
            }
            w.tx.prepare_cached(
                "INSERT INTO badges (community_id, slug, name, description, icon, tier, multiple, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                community,
                new.slug,
                new.name.trim(),
                new.description.trim(),
                new.icon.trim(),
                new.tier.as_str(),
                new.multiple,
                w.now_ms()
            ])?;
            badge_by_slug(w.tx, community, &new.slug)
        })
    }

    /// The community's badges (anyone who may read the community).
    pub fn badges(&self, actor: &Actor, community: CommunityId) -> Result<Vec<Badge>> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {BADGE_COLUMNS} FROM badges b WHERE b.community_id = ?1 ORDER BY b.tier, b.name"
                ))?
                .query_map([community], |r| badge_from_row(r, community))?
                .collect::<db::Result<_>>()?)
        })
    }

    /// The community's badges with how often each is held, as
    /// [`Forum::badges`] orders them.
    pub fn badge_counts(&self, actor: &Actor, community: CommunityId) -> Result<Vec<BadgeCount>> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            Ok(conn
                .prepare_cached(&format!(
                    "SELECT {BADGE_COLUMNS},
                        (SELECT count(*) FROM badge_grants g WHERE g.badge_id = b.id AND g.revoked_at IS NULL)
                     FROM badges b WHERE b.community_id = ?1 ORDER BY b.tier, b.name"
                ))?
                .query_map([community], |r| {
                    Ok(BadgeCount {
                        badge: badge_from_row(r, community)?,
                        grants: r.get(7)?,
                    })
                })?
                .collect::<db::Result<_>>()?)
        })
    }

    /// Changes a badge's name, description, icon, tier or whether it can
    /// be earned more than once. Admins and the application only; audited.
    pub fn update_badge(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: i64,
        change: &BadgeChange,
    ) -> Result<Badge> {
        if let Some(name) = &change.name {
            check_name("name", name, 1, 100)?;
        }
        if let Some(d) = &change.description {
            check_len("description", d, 0, 1000)?;
        }
        if let Some(icon) = &change.icon {
            check_name("icon", icon, 0, 200)?;
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let before = badge_by_id(w.tx, community, id)?;
            let after = Badge {
                name: change
                    .name
                    .as_deref()
                    .map_or(before.name.clone(), |n| n.trim().into()),
                description: change
                    .description
                    .as_deref()
                    .map_or(before.description.clone(), |d| d.trim().into()),
                icon: change
                    .icon
                    .as_deref()
                    .map_or(before.icon.clone(), |i| i.trim().into()),
                tier: change.tier.unwrap_or(before.tier),
                multiple: change.multiple.unwrap_or(before.multiple),
                ..before.clone()
            };
            if after == before {
                return Ok(before);
            }
            w.tx.prepare_cached(
                "UPDATE badges SET name = ?2, description = ?3, icon = ?4, tier = ?5, multiple = ?6
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                after.name,
                after.description,
                after.icon,
                after.tier.as_str(),
                after.multiple
            ])?;
            let mut e = NewEvent::new(EventKind::BadgeUpdated, Audience::Members);
            e.actor = viewer.user;
            e.data = serde_json::json!({ "badge": after.slug });
            w.emit(community, e)?;
            crate::audit::record(
                w,
                &viewer,
                AuditAction::BadgeUpdated,
                Target::Badge(id),
                serde_json::to_value(&before).unwrap_or_default(),
                serde_json::to_value(&after).unwrap_or_default(),
                None,
            )?;
            Ok(after)
        })
    }

    /// Deletes a badge and every grant of it: members no longer hold it
    /// (points it earned stay). Admins and the application only; audited
    /// with how many grants went.
    pub fn delete_badge(&self, actor: &Actor, community: CommunityId, id: i64) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let before = badge_by_id(w.tx, community, id)?;
            let grants =
                w.tx.prepare_cached(
                    "DELETE FROM badge_grants WHERE badge_id = ?1 AND revoked_at IS NULL",
                )?
                .execute([id])?;
            w.tx.prepare_cached("DELETE FROM badge_grants WHERE badge_id = ?1")?
                .execute([id])?;
            w.tx.prepare_cached("DELETE FROM badges WHERE id = ?1")?
                .execute([id])?;
            let mut e = NewEvent::new(EventKind::BadgeDeleted, Audience::Members);
            e.actor = viewer.user;
            e.data = serde_json::json!({ "badge": before.slug });
            w.emit(community, e)?;
            let mut record = serde_json::to_value(&before).unwrap_or_default();
            record["grants"] = grants.into();
            crate::audit::record(
                w,
                &viewer,
                AuditAction::BadgeDeleted,
                Target::Badge(id),
                record,
                serde_json::Value::Null,
                None,
            )?;
            Ok(())
        })
    }

    /// Grants a badge; returns whether anything changed (`false` when the
    /// member already holds it, for that post if the badge is multiple).
    /// Admins and the application (hooks, plugins) only.
    pub fn grant_badge(
        &self,
        actor: &Actor,
        community: CommunityId,
        badge: &str,
        user: UserId,
        post: Option<PostId>,
        reason: &str,
    ) -> Result<bool> {
        check_len("reason", reason, 0, 500)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let badge = badge_by_slug(w.tx, community, badge)?;
            crate::member::membership(w.tx, community, user)?.ok_or(Error::not_found("member"))?;
            if let Some(p) = post {
                let ok: bool = w
                    .tx
                    .prepare_cached("SELECT EXISTS(SELECT 1 FROM posts WHERE id = ?1 AND community_id = ?2)")?
                    .query_row(params![p, community], |r| r.get(0))?;
                if !ok {
                    return Err(Error::not_found("post"));
                }
            }
            let held: bool = w
                .tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM badge_grants WHERE badge_id = ?1 AND user_id = ?2
                       AND revoked_at IS NULL AND (?3 = 0 OR post_id IS NOT DISTINCT FROM ?4))",
                )?
                .query_row(params![badge.id, user, badge.multiple, post], |r| r.get(0))?;
            if held {
                return Ok(false);
            }
            w.tx.prepare_cached(
                "INSERT INTO badge_grants (badge_id, user_id, post_id, reason, granted_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![badge.id, user, post, reason, viewer.user, w.now_ms()])?;
            let mut e = NewEvent::new(EventKind::BadgeGranted, Audience::Members);
            e.actor = viewer.user;
            e.subject = Some(user);
            e.post = post;
            e.data = serde_json::json!({ "badge": badge.slug, "tier": badge.tier.as_str() });
            w.emit(community, e)?;
            Ok(true)
        })
    }

    /// Revokes a badge (for one post, or every grant with `None`); returns
    /// whether anything changed. Admins and the application only.
    pub fn revoke_badge(
        &self,
        actor: &Actor,
        community: CommunityId,
        badge: &str,
        user: UserId,
        post: Option<PostId>,
    ) -> Result<bool> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let badge = badge_by_slug(w.tx, community, badge)?;
            let changed = w
                .tx
                .prepare_cached(
                    "UPDATE badge_grants SET revoked_at = ?4
                     WHERE badge_id = ?1 AND user_id = ?2 AND revoked_at IS NULL AND (CAST(?3 AS BIGINT) IS NULL OR post_id = ?3)",
                )?
                .execute(params![badge.id, user, post, w.now_ms()])?;
            if changed > 0 {
                let mut e = NewEvent::new(EventKind::BadgeRevoked, Audience::Members);
                e.actor = viewer.user;
                e.subject = Some(user);
                e.post = post;
                e.data = serde_json::json!({ "badge": badge.slug });
                w.emit(community, e)?;
            }
            Ok(changed > 0)
        })
    }

    /// The badges a member holds, newest first. A grant's post is shown only
    /// if the viewer may read it.
    pub fn member_badges(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
    ) -> Result<Vec<BadgeGrant>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let rows: Vec<(Badge, Option<PostId>, String, i64)> = conn
                .prepare_cached(&format!(
                    "SELECT {BADGE_COLUMNS}, g.post_id, g.reason, g.created_at FROM badge_grants g
                     JOIN badges b ON b.id = g.badge_id
                     WHERE b.community_id = ?1 AND g.user_id = ?2 AND g.revoked_at IS NULL
                     ORDER BY g.id DESC"
                ))?
                .query_map(params![community, user], |r| {
                    Ok((
                        badge_from_row(r, community)?,
                        r.get(7)?,
                        r.get(8)?,
                        r.get(9)?,
                    ))
                })?
                .collect::<db::Result<_>>()?;
            let mut out = Vec::with_capacity(rows.len());
            for (badge, post, reason, at) in rows {
                out.push(BadgeGrant {
                    badge,
                    post: post.filter(|p| readable_post(conn, &viewer, *p)),
                    reason,
                    granted_at: from_millis(at),
                });
            }
            Ok(out)
        })
    }
}

fn readable_post(conn: &Conn, viewer: &Viewer, post: PostId) -> bool {
    let category: Option<(crate::ids::CategoryId, bool)> = conn
        .prepare_cached(
            "SELECT t.category_id, p.deleted_at IS NOT NULL OR t.deleted_at IS NOT NULL
             FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = ?1",
        )
        .and_then(|mut s| s.query_row([post], |r| Ok((r.get(0)?, r.get(1)?))))
        .ok();
    category.is_some_and(|(c, deleted)| !deleted && viewer.category(c).is_ok())
}
