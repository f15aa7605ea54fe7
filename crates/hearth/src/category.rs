//! Categories ("spaces"): kinds, visibility, order.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CategoryId, CommunityId, GroupId, TopicId};
use crate::permissions::{Actor, Viewer};
use crate::rules::CategoryRules;
use crate::store::parsed;
use crate::text::{check_len, check_name, check_slug};

macro_rules! string_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $s:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $s)] $variant,)*
        }

        impl $name {
            /// The stable name, as stored and sent.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s,)* }
            }

            pub(crate) fn parse(s: &str) -> Result<Self> {
                match s {
                    $($s => Ok($name::$variant),)*
                    _ => Err(Error::Storage(format!(concat!("unknown ", stringify!($name), " {:?}"), s))),
                }
            }
        }
    };
}
pub(crate) use string_enum;

string_enum! {
    /// What a category is for; it decides who may start topics and how
    /// topics are shown.
    CategoryKind {
        /// Open conversation.
        Discussion = "discussion",
        /// Questions with accepted answers.
        QuestionAndAnswer = "question_and_answer",
        /// Curated articles, written by staff and experts.
        KnowledgeBase = "knowledge_base",
        /// Blog posts by staff and experts.
        Blog = "blog",
        /// Ideas members propose and vote on.
        Ideas = "ideas",
        /// Announcements from staff.
        Announcements = "announcements",
    }
}

string_enum! {
    /// Who may read a category.
    Visibility {
        /// Everyone who may read the community (guests too if the
        /// community has public access).
        Public = "public",
        /// Members only.
        Members = "members",
        /// Members of the listed groups (and moderators).
        Groups = "groups",
    }
}

/// A category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Category {
    /// Its id.
    pub id: CategoryId,
    /// Its community.
    pub community: CommunityId,
    /// Parent category, for sub-categories.
    pub parent: Option<CategoryId>,
    /// URL-friendly name, unique in the community.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Description (plain text).
    pub description: String,
    /// What it is for.
    pub kind: CategoryKind,
    /// Who may read it.
    pub visibility: Visibility,
    /// The groups that may read it when `visibility` is `Groups`.
    pub groups: Vec<GroupId>,
    /// Sort position (ascending).
    pub position: i64,
    /// Only moderators may post.
    pub read_only: bool,
    /// Whether contributions here earn points (a casual lounge may not).
    pub rewards: bool,
    /// The category's own moderation (relaxed, approvals, trust bar).
    pub rules: CategoryRules,
    /// Topics the viewer can see in it (not deleted, not unlisted).
    pub topic_count: i64,
    /// The visible posts of those topics.
    pub post_count: i64,
}

/// What [`Forum::create_category`] needs; also used to update one.
#[derive(Debug, Clone)]
pub struct NewCategory {
    /// 1 to 50 of `a-z 0-9 -`, unique in the community.
    pub slug: String,
    /// 1 to 100 characters.
    pub name: String,
    /// Up to 1,000 characters.
    pub description: String,
    /// What it is for.
    pub kind: CategoryKind,
    /// Who may read it.
    pub visibility: Visibility,
    /// Groups that may read it (required, and only allowed, with `Groups`).
    pub groups: Vec<GroupId>,
    /// Parent category (same community; one level of nesting).
    pub parent: Option<CategoryId>,
    /// Sort position; `None` puts it last.
    pub position: Option<i64>,
    /// Only moderators may post.
    pub read_only: bool,
    /// Whether contributions earn points (default true).
    pub rewards: bool,
    /// The category's own moderation (default: the community's rules as
    /// they are).
    pub rules: CategoryRules,
}

impl NewCategory {
    /// A public discussion category with the given slug and name.
    pub fn new(slug: &str, name: &str, kind: CategoryKind) -> Self {
        NewCategory {
            slug: slug.to_string(),
            name: name.to_string(),
            description: String::new(),
            kind,
            visibility: Visibility::Public,
            groups: Vec::new(),
            parent: None,
            position: None,
            read_only: false,
            rewards: true,
            rules: CategoryRules::default(),
        }
    }

    /// Sets the category's moderation rules.
    pub fn rules(mut self, rules: CategoryRules) -> Self {
        self.rules = rules;
        self
    }

    /// Sets the visibility.
    pub fn visibility(mut self, v: Visibility) -> Self {
        self.visibility = v;
        self
    }

    /// Restricts the category to these groups.
    pub fn groups(mut self, groups: &[GroupId]) -> Self {
        self.visibility = Visibility::Groups;
        self.groups = groups.to_vec();
        self
    }

    /// Sets the description.
    pub fn description(mut self, d: &str) -> Self {
        self.description = d.to_string();
        self
    }

    fn validate(
        &self,
        w: &Write<'_>,
        community: CommunityId,
        this: Option<CategoryId>,
    ) -> Result<()> {
        check_slug("slug", &self.slug)?;
        check_name("name", &self.name, 1, 100)?;
        check_len("description", &self.description, 0, 1000)?;
        match (self.visibility, self.groups.is_empty()) {
            (Visibility::Groups, true) => {
                return Err(Error::invalid(
                    "groups",
                    "a group-only category needs at least one group",
                ));
            }
            (Visibility::Public | Visibility::Members, false) => {
                return Err(Error::invalid(
                    "groups",
                    "groups are only allowed with Visibility::Groups",
                ));
            }
            _ => {}
        }
        for g in &self.groups {
            let ok: bool =
                w.tx.prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM groups WHERE id = ?1 AND community_id = ?2)",
                )?
                .query_row(params![g, community], |r| r.get(0))?;
            if !ok {
                return Err(Error::not_found("group"));
            }
        }
        if let Some(parent) = self.parent {
            if Some(parent) == this {
                return Err(Error::invalid(
                    "parent",
                    "a category cannot be its own parent",
                ));
            }
            let grand: Option<Option<CategoryId>> = crate::store::optional(
                w.tx.prepare_cached(
                    "SELECT parent_id FROM categories WHERE id = ?1 AND community_id = ?2",
                )?
                .query_row(params![parent, community], |r| r.get(0)),
            )?;
            match grand {
                None => return Err(Error::not_found("category")),
                Some(Some(_)) => {
                    return Err(Error::invalid(
                        "parent",
                        "sub-categories cannot have sub-categories",
                    ));
                }
                Some(None) => {}
            }
        }
        let taken: bool = w
            .tx
            .prepare_cached(
                "SELECT EXISTS(SELECT 1 FROM categories WHERE community_id = ?1 AND slug = ?2 AND id IS DISTINCT FROM ?3)",
            )?
            .query_row(params![community, self.slug, this], |r| r.get(0))?;
        if taken {
            return Err(Error::conflict(format!(
                "category slug {:?} is taken",
                self.slug
            )));
        }
        Ok(())
    }
}

fn rules_json(rules: &CategoryRules) -> Result<String> {
    serde_json::to_string(rules).map_err(|e| Error::Storage(e.to_string()))
}

fn audience_of(v: Visibility) -> Audience {
    match v {
        Visibility::Public => Audience::Public,
        Visibility::Members => Audience::Members,
        Visibility::Groups => Audience::Groups,
    }
}

impl Forum {
    /// Creates a category. Admins only.
    pub fn create_category(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewCategory,
    ) -> Result<Category> {
        let id = self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            new.validate(w, community, None)?;
            let position = match new.position {
                Some(p) => p,
                None => w
                    .tx
                    .prepare_cached(
                        "SELECT coalesce(max(position), 0) + 1 FROM categories WHERE community_id = ?1",
                    )?
                    .query_row([community], |r| r.get(0))?,
            };
            w.tx.prepare_cached(
                "INSERT INTO categories (community_id, parent_id, slug, name, description, kind,
                                         visibility, position, read_only, rewards, created_at, rules)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            )?
            .execute(params![
                community,
                new.parent,
                new.slug,
                new.name.trim(),
                new.description.trim(),
                new.kind.as_str(),
                new.visibility.as_str(),
                position,
                new.read_only,
                new.rewards,
                w.now_ms(),
                rules_json(&new.rules)?
            ])?;
            let id = CategoryId(w.tx.last_insert_rowid()?);
            set_groups(w, id, &new.groups)?;
            let mut e = NewEvent::new(EventKind::CategoryCreated, audience_of(new.visibility));
            e.category = Some(id);
            e.actor = viewer.user;
            w.emit(community, e)?;
            Ok(id)
        })?;
        self.category(actor, community, id)
    }

    /// Replaces a category's fields. Admins only. Changing the visibility
    /// takes effect at once for every read path, events included.
    pub fn update_category(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: CategoryId,
        update: NewCategory,
    ) -> Result<Category> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            viewer.category(id)?;
            update.validate(w, community, Some(id))?;
            w.tx.prepare_cached(
                "UPDATE categories SET parent_id = ?2, slug = ?3, name = ?4, description = ?5,
                        kind = ?6, visibility = ?7, position = coalesce(?8, position), read_only = ?9,
                        rewards = ?10, rules = ?11
                 WHERE id = ?1",
            )?
            .execute(params![
                id,
                update.parent,
                update.slug,
                update.name.trim(),
                update.description.trim(),
                update.kind.as_str(),
                update.visibility.as_str(),
                update.position,
                update.read_only,
                update.rewards,
                rules_json(&update.rules)?
            ])?;
            set_groups(w, id, &update.groups)?;
            if viewer.category(id)?.kind != update.kind {
                // Knowledge-base articles are suggested by similar_topics.
                let topics: Vec<TopicId> = w
                    .tx
                    .prepare_cached("SELECT id FROM topics WHERE category_id = ?1")?
                    .query_map([id], |r| r.get(0))?
                    .collect::<db::Result<_>>()?;
                for t in topics {
                    crate::search::refresh_scope(w.tx, t)?;
                }
            }
            let mut e = NewEvent::new(EventKind::CategoryUpdated, audience_of(update.visibility));
            e.category = Some(id);
            e.actor = viewer.user;
            w.emit(community, e)
        })?;
        self.category(actor, community, id)
    }

    /// The categories `actor` may read, in position order.
    pub fn categories(&self, actor: &Actor, community: CommunityId) -> Result<Vec<Category>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            list(conn, &viewer, None, &self.topic_counts)
        })
    }

    /// One category, if `actor` may read it.
    pub fn category(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: CategoryId,
    ) -> Result<Category> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.category(id)?;
            list(conn, &viewer, Some(id), &self.topic_counts)?
                .pop()
                .ok_or(Error::not_found("category"))
        })
    }

    /// Looks a category up by slug.
    pub fn category_by_slug(
        &self,
        actor: &Actor,
        community: CommunityId,
        slug: &str,
    ) -> Result<Category> {
        self.categories(actor, community)?
            .into_iter()
            .find(|c| c.slug == slug)
            .ok_or(Error::not_found("category"))
    }
}

/// Replaces a category's groups; also marks the community's permission
/// data as changed (every category write goes through here).
fn set_groups(w: &Write<'_>, id: CategoryId, groups: &[GroupId]) -> Result<()> {
    w.tx.prepare_cached(
        "UPDATE communities SET config_version = config_version + 1
         WHERE id = (SELECT community_id FROM categories WHERE id = ?1)",
    )?
    .execute([id])?;
    w.tx.prepare_cached("DELETE FROM category_groups WHERE category_id = ?1")?
        .execute([id])?;
    for g in groups {
        w.tx.prepare_cached(
            "INSERT INTO category_groups (category_id, group_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        )?
        .execute(params![id, g])?;
    }
    Ok(())
}

/// Visible topics per category, per community, with the id of the last
/// event they reflect. Every change to a topic's visibility or category
/// appends an event in its transaction, so counts computed in a snapshot
/// whose last event is `id` stay right until a newer event appears; lists of
/// categories then cost one indexed lookup instead of a count per category.
pub(crate) type TopicCounts =
    Mutex<HashMap<CommunityId, (i64, Arc<HashMap<CategoryId, (i64, i64)>>)>>;

fn topic_counts(
    conn: &Conn,
    community: CommunityId,
    cache: &TopicCounts,
) -> Result<Arc<HashMap<CategoryId, (i64, i64)>>> {
    let last: i64 = conn
        .prepare_cached("SELECT coalesce(max(id), 0) FROM events WHERE community_id = ?1")?
        .query_row([community], |r| r.get(0))?;
    if let Some((at, counts)) = cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(&community)
        && *at == last
    {
        return Ok(counts.clone());
    }
    // (topics, their visible posts) per category.
    let counts: HashMap<CategoryId, (i64, i64)> = conn
        .prepare_cached(
            "SELECT category_id, count(*), CAST(coalesce(sum(post_count), 0) AS BIGINT) FROM topics
             WHERE community_id = ?1 AND deleted_at IS NULL AND unlisted = 0 AND hidden_at IS NULL
             GROUP BY category_id",
        )?
        .query_map([community], |r| Ok((r.get(0)?, (r.get(1)?, r.get(2)?))))?
        .collect::<db::Result<_>>()?;
    let counts = Arc::new(counts);
    let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
    // An older snapshot must not replace a newer entry.
    if cache.get(&community).is_none_or(|(at, _)| *at <= last) {
        cache.insert(community, (last, counts.clone()));
    }
    Ok(counts)
}

fn list(
    conn: &Conn,
    viewer: &Viewer,
    only: Option<CategoryId>,
    counts: &TopicCounts,
) -> Result<Vec<Category>> {
    let counts = topic_counts(conn, viewer.community, counts)?;
    let readable = viewer.readable_categories();
    // Cached statements, the viewer's categories picked here (before a
    // row is read: the community's own rows, such as its messages
    // category, are no categories to list): ids written into the SQL made
    // every call a new statement to parse.
    let row = |r: &db::Row<'_>| {
        let id = r.get(0)?;
        if !readable.contains(&id) {
            return Ok(None);
        }
        Ok(Some(Category {
            id,
            community: r.get(1)?,
            parent: r.get(2)?,
            slug: r.get(3)?,
            name: r.get(4)?,
            description: r.get(5)?,
            kind: parsed(r, 6, CategoryKind::parse)?,
            visibility: parsed(r, 7, Visibility::parse)?,
            groups: viewer
                .config
                .categories
                .iter()
                .find(|a| a.id == id)
                .map(|a| a.groups.clone())
                .unwrap_or_default(),
            position: r.get(8)?,
            read_only: r.get(9)?,
            rewards: r.get(10)?,
            rules: parsed(r, 11, |s| {
                serde_json::from_str(s)
                    .map_err(|e| Error::Storage(format!("category rules unreadable: {e}")))
            })?,
            topic_count: counts.get(&id).map_or(0, |c| c.0),
            post_count: counts.get(&id).map_or(0, |c| c.1),
        }))
    };
    let mut stmt;
    let rows = match only {
        Some(id) => {
            stmt = conn.prepare_cached(
                "SELECT c.id, c.community_id, c.parent_id, c.slug, c.name, c.description, c.kind,
                        c.visibility, c.position, c.read_only, c.rewards, c.rules
                 FROM categories c WHERE c.community_id = ?1 AND c.id = ?2",
            )?;
            stmt.query_map(params![viewer.community, id], row)?
        }
        None => {
            stmt = conn.prepare_cached(
                "SELECT c.id, c.community_id, c.parent_id, c.slug, c.name, c.description, c.kind,
                        c.visibility, c.position, c.read_only, c.rewards, c.rules
                 FROM categories c WHERE c.community_id = ?1 ORDER BY c.position, c.id",
            )?;
            stmt.query_map(params![viewer.community], row)?
        }
    };
    let mut out = Vec::new();
    for category in rows {
        out.extend(category?);
    }
    Ok(out)
}
