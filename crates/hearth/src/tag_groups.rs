//! Tag groups: named sets of tags with rules that topics must keep — at
//! most one of the group's tags per topic ("one status": `open`,
//! `in-progress`, `done`), only with a parent tag (`ios-16` only with
//! `ios`), or put on topics by staff only (`official`). Staff manage them;
//! the rules are checked wherever a member chooses a topic's tags.

use serde::{Deserialize, Serialize};

use crate::audit::{AuditAction, Target, record};
use crate::db::{self, Conn, OptionalExtension, params};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::CommunityId;
use crate::permissions::{Actor, Viewer};
use crate::text::{check_name, clean_tags};

/// The most tags one group holds.
pub const MAX_TAG_GROUP_TAGS: u32 = 500;

/// A tag group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagGroup {
    /// Its id.
    pub id: i64,
    /// Its name (unique in the community).
    pub name: String,
    /// Its tags, in name order.
    pub tags: Vec<GroupTag>,
    /// The tag a topic must carry to use any of this group's tags.
    pub parent_tag: Option<String>,
    /// A topic carries at most one of this group's tags.
    pub one_per_topic: bool,
    /// Members see these tags, but only moderators and admins put them
    /// on topics.
    pub staff_only: bool,
}

/// A tag in a [`TagGroup`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupTag {
    /// The tag's place in the group: stable while the tag stays in it
    /// (Hearth's tags themselves are names, without ids).
    pub id: i64,
    /// The tag.
    pub name: String,
}

/// What [`Forum::create_tag_group`] and [`Forum::update_tag_group`] take.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewTagGroup {
    /// The name (1 to 100 characters).
    pub name: String,
    /// The tags (cleaned as topic tags are: lower case, `-` for spaces).
    pub tags: Vec<String>,
    /// See [`TagGroup::parent_tag`].
    pub parent_tag: Option<String>,
    /// See [`TagGroup::one_per_topic`].
    pub one_per_topic: bool,
    /// See [`TagGroup::staff_only`].
    pub staff_only: bool,
}

struct Cleaned {
    name: String,
    tags: Vec<String>,
    parent: Option<String>,
}

fn clean(new: &NewTagGroup, tag_max_chars: u32) -> Result<Cleaned> {
    check_name("name", &new.name, 1, 100)?;
    let tags = clean_tags(&new.tags, MAX_TAG_GROUP_TAGS, tag_max_chars)?;
    let parent = match new.parent_tag.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(p) => {
            let mut p = clean_tags(&[p.to_owned()], 1, tag_max_chars)
                .map_err(|e| rename_field(e, "parent_tag"))?;
            p.pop()
        }
    };
    if let Some(p) = &parent
        && tags.contains(p)
    {
        return Err(Error::invalid(
            "parent_tag",
            format!("{p:?} is one of the group's own tags"),
        ));
    }
    Ok(Cleaned {
        name: new.name.trim().to_owned(),
        tags,
        parent,
    })
}

fn rename_field(e: Error, field: &'static str) -> Error {
    match e {
        Error::Invalid {
            problem, reason, ..
        } => Error::invalid_as(field, problem, reason),
        other => other,
    }
}

fn load(conn: &Conn, community: CommunityId, id: Option<i64>) -> Result<Vec<TagGroup>> {
    let mut groups: Vec<TagGroup> = conn
        .prepare_cached(
            "SELECT id, name, parent_tag, one_per_topic, staff_only FROM tag_groups
             WHERE community_id = ?1 AND (CAST(?2 AS BIGINT) IS NULL OR id = ?2) ORDER BY name, id",
        )?
        .query_map(params![community, id], |r| {
            Ok(TagGroup {
                id: r.get(0)?,
                name: r.get(1)?,
                tags: Vec::new(),
                parent_tag: r.get(2)?,
                one_per_topic: r.get(3)?,
                staff_only: r.get(4)?,
            })
        })?
        .collect::<db::Result<_>>()?;
    for g in &mut groups {
        g.tags = conn
            .prepare_cached(
                "SELECT id, tag FROM tag_group_tags WHERE tag_group_id = ?1 ORDER BY tag",
            )?
            .query_map([g.id], |r| {
                Ok(GroupTag {
                    id: r.get(0)?,
                    name: r.get(1)?,
                })
            })?
            .collect::<db::Result<_>>()?;
    }
    Ok(groups)
}

fn one(conn: &Conn, community: CommunityId, id: i64) -> Result<TagGroup> {
    load(conn, community, Some(id))?
        .pop()
        .ok_or(Error::not_found("tag group"))
}

/// Checks the tag groups' rules for a topic that will carry `tags`, having
/// carried `before` (staff-only tags it already had may stay).
pub(crate) fn check_tag_rules(
    conn: &Conn,
    viewer: &Viewer,
    before: &[String],
    tags: &[String],
) -> Result<()> {
    // (group, tag) of the one-per-topic groups met so far.
    let mut seen: Vec<(i64, &str)> = Vec::new();
    for tag in tags {
        let mut stmt = conn.prepare_cached(
            "SELECT g.id, g.name, g.parent_tag, g.one_per_topic, g.staff_only
             FROM tag_group_tags gt JOIN tag_groups g ON g.id = gt.tag_group_id
             WHERE g.community_id = ?1 AND gt.tag = ?2",
        )?;
        let rows = stmt
            .query_map(params![viewer.community, tag], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })?
            .collect::<db::Result<Vec<(i64, String, Option<String>, bool, bool)>>>()?;
        for (id, name, parent, one_per_topic, staff_only) in rows {
            if staff_only && !viewer.is_moderator() && !before.contains(tag) {
                return Err(Error::invalid(
                    "tags",
                    format!("only staff put {tag:?} on topics (tag group {name:?})"),
                ));
            }
            if let Some(p) = &parent
                && !tags.contains(p)
            {
                return Err(Error::invalid(
                    "tags",
                    format!("{tag:?} goes with {p:?}: add it too (tag group {name:?})"),
                ));
            }
            if !one_per_topic {
                continue;
            }
            if let Some((_, other)) = seen.iter().find(|s| s.0 == id) {
                return Err(Error::invalid(
                    "tags",
                    format!(
                        "{other:?} and {tag:?} are both in tag group {name:?}, which allows one per topic"
                    ),
                ));
            }
            seen.push((id, tag));
        }
    }
    Ok(())
}

impl Forum {
    /// The community's tag groups, by name. Moderators and admins.
    pub fn tag_groups(&self, actor: &Actor, community: CommunityId) -> Result<Vec<TagGroup>> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?
                .require_moderator()?;
            load(conn, community, None)
        })
    }

    /// One tag group. Moderators and admins.
    pub fn tag_group(&self, actor: &Actor, community: CommunityId, id: i64) -> Result<TagGroup> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?
                .require_moderator()?;
            one(conn, community, id)
        })
    }

    /// Creates a tag group. Admins only; audited. Topics that already break
    /// its rules keep their tags until someone changes them.
    pub fn create_tag_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewTagGroup,
    ) -> Result<TagGroup> {
        self.save_tag_group(actor, community, None, new)
    }

    /// Replaces a tag group's name, tags and rules. Admins only; audited.
    pub fn update_tag_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: i64,
        new: NewTagGroup,
    ) -> Result<TagGroup> {
        self.save_tag_group(actor, community, Some(id), new)
    }

    fn save_tag_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: Option<i64>,
        new: NewTagGroup,
    ) -> Result<TagGroup> {
        let max = self
            .load_viewer(actor, community)?
            .config
            .settings
            .limits
            .tag_max_chars;
        let c = clean(&new, max)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let clash: Option<i64> =
                w.tx.prepare_cached(
                    "SELECT id FROM tag_groups WHERE community_id = ?1 AND lower(name) = lower(?2)",
                )?
                .query_row(params![community, c.name], |r| r.get(0))
                .optional()?;
            if clash.is_some() && clash != id {
                return Err(Error::invalid("name", "another tag group has this name"));
            }
            let before = match id {
                Some(id) => serde_json::to_value(one(w.tx, community, id)?).unwrap_or_default(),
                None => serde_json::Value::Null,
            };
            let id = match id {
                Some(id) => {
                    w.tx.prepare_cached(
                        "UPDATE tag_groups SET name = ?2, parent_tag = ?3, one_per_topic = ?4,
                                               staff_only = ?5 WHERE id = ?1",
                    )?
                    .execute(params![
                        id,
                        c.name,
                        c.parent,
                        new.one_per_topic,
                        new.staff_only
                    ])?;
                    // Tags that stay keep their ids.
                    let kept: Vec<String> = w
                        .tx
                        .prepare_cached("SELECT tag FROM tag_group_tags WHERE tag_group_id = ?1")?
                        .query_map([id], |r| r.get(0))?
                        .collect::<db::Result<_>>()?;
                    for gone in kept.iter().filter(|t| !c.tags.contains(t)) {
                        w.tx.prepare_cached(
                            "DELETE FROM tag_group_tags WHERE tag_group_id = ?1 AND tag = ?2",
                        )?
                        .execute(params![id, gone])?;
                    }
                    id
                }
                None => {
                    w.tx.prepare_cached(
                        "INSERT INTO tag_groups (community_id, name, parent_tag, one_per_topic,
                                                 staff_only, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
                    )?
                    .query_row(
                        params![
                            community,
                            c.name,
                            c.parent,
                            new.one_per_topic,
                            new.staff_only,
                            w.now_ms()
                        ],
                        |r| r.get(0),
                    )?
                }
            };
            for tag in &c.tags {
                w.tx.prepare_cached(
                    "INSERT INTO tag_group_tags (tag_group_id, tag) VALUES (?1, ?2)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![id, tag])?;
            }
            let group = one(w.tx, community, id)?;
            record(
                w,
                &viewer,
                AuditAction::TagGroupUpdated,
                Target::TagGroup(id),
                before,
                serde_json::to_value(&group).unwrap_or_default(),
                None,
            )?;
            Ok(group)
        })
    }

    /// Deletes a tag group (its tags stay on topics, free of its rules).
    /// Admins only; audited.
    pub fn delete_tag_group(&self, actor: &Actor, community: CommunityId, id: i64) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let before = one(w.tx, community, id)?;
            w.tx.prepare_cached("DELETE FROM tag_group_tags WHERE tag_group_id = ?1")?
                .execute([id])?;
            w.tx.prepare_cached("DELETE FROM tag_groups WHERE id = ?1")?
                .execute([id])?;
            record(
                w,
                &viewer,
                AuditAction::TagGroupDeleted,
                Target::TagGroup(id),
                serde_json::to_value(&before).unwrap_or_default(),
                serde_json::Value::Null,
                None,
            )
        })
    }
}
