//! The one place that decides who may do what.
//!
//! Every engine call starts by loading a [`Viewer`] for its actor and
//! community, and every read and write asks it. Lists and search filter in
//! SQL by [`Viewer::readable_categories`], so nothing the actor may not read
//! is returned or counted.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, OnceLock, RwLock};

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};

use crate::category::{CategoryKind, Visibility};
use crate::community::CommunitySettings;
use crate::error::{Error, Result};
use crate::ids::{CategoryId, CommunityId, GroupId, UserId};
use crate::render::Renderer;
use crate::rules::{CategoryRules, WordMatcher, load_words};
use crate::store::{OptionalExt, parsed};
use crate::trust::TrustLevel;

/// Who is acting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Actor {
    /// Someone not signed in.
    Guest,
    /// A signed-in user; what they may do depends on their membership.
    User(UserId),
    /// The embedding application itself (seeding, imports, trusted jobs).
    /// Sees and may do everything; never hand it to end users.
    System,
}

/// A member's role in one community, from most to least powerful.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Owns the community; the only role that can appoint owners.
    Owner,
    /// Manages settings, categories, groups and roles.
    Admin,
    /// Moderates content and members; sees every category.
    Moderator,
    /// An employee of the company; posts are marked official.
    Staff,
    /// A recognised expert; posts are marked official.
    Expert,
    /// A regular member.
    Member,
}

impl Role {
    /// All roles, most powerful first.
    pub const ALL: [Role; 6] = [
        Role::Owner,
        Role::Admin,
        Role::Moderator,
        Role::Staff,
        Role::Expert,
        Role::Member,
    ];

    /// The role's name as stored and shown, e.g. `"moderator"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::Staff => "staff",
            Role::Expert => "expert",
            Role::Member => "member",
        }
    }

    pub(crate) fn parse(s: &str) -> Result<Role> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| Error::Storage(format!("unknown role {s:?} in database")))
    }

    /// Owners, admins and moderators: they see every category and moderate.
    pub fn is_moderator(self) -> bool {
        self <= Role::Moderator
    }

    /// Owners and admins.
    pub fn is_admin(self) -> bool {
        self <= Role::Admin
    }

    /// Whose posts are marked official: staff, experts and the moderating roles.
    pub fn is_official(self) -> bool {
        self <= Role::Expert
    }
}

/// What a category admits, as the permission check needs it.
#[derive(Debug, Clone)]
pub(crate) struct CategoryAccess {
    pub id: CategoryId,
    pub kind: CategoryKind,
    pub visibility: Visibility,
    pub groups: Vec<GroupId>,
    pub read_only: bool,
    pub rewards: bool,
    pub rules: CategoryRules,
    /// The community's inbox (kind `messages` in the database): private
    /// messages live here. No viewer can read it as a category — not even
    /// moderators —, so no list, search, feed or event read ever includes
    /// a message; participants reach messages one topic at a time
    /// (`Viewer::topic_category`, `messages.rs`).
    pub inbox: bool,
}

impl CategoryAccess {
    /// A community's inbox (`messages.rs`).
    pub(crate) fn inbox(id: CategoryId) -> CategoryAccess {
        CategoryAccess {
            id,
            kind: CategoryKind::Discussion,
            visibility: Visibility::Members,
            groups: vec![],
            read_only: false,
            rewards: false,
            rules: CategoryRules::default(),
            inbox: true,
        }
    }
}

/// What every permission check of a community needs that changes rarely:
/// settings and category access. Cached per community and keyed by
/// `communities.config_version`, which every change to either bumps.
#[derive(Debug)]
pub(crate) struct CommunityConfig {
    pub community: CommunityId,
    pub version: i64,
    pub settings: CommunitySettings,
    pub categories: Vec<CategoryAccess>,
    /// Built on first use; lives exactly as long as these settings.
    renderer: OnceLock<Arc<Renderer>>,
    /// Watched words, compiled on first use (they bump the version too).
    words: OnceLock<Arc<WordMatcher>>,
}

impl CommunityConfig {
    /// The community's inbox category, once a first message made it.
    pub(crate) fn inbox(&self) -> Option<&CategoryAccess> {
        self.categories.iter().find(|c| c.inbox)
    }

    /// The Markdown renderer for these settings.
    pub(crate) fn renderer(&self) -> Result<Arc<Renderer>> {
        if let Some(r) = self.renderer.get() {
            return Ok(r.clone());
        }
        let r = Arc::new(Renderer::new(&self.settings)?);
        Ok(self.renderer.get_or_init(|| r).clone())
    }

    /// The compiled watched words if they were loaded already.
    pub(crate) fn compiled_words(&self) -> Option<Arc<WordMatcher>> {
        self.words.get().cloned()
    }

    /// The compiled watched words, loaded through `conn` the first time.
    pub(crate) fn watched_words(&self, conn: &Conn) -> Result<Arc<WordMatcher>> {
        if let Some(m) = self.words.get() {
            return Ok(m.clone());
        }
        let m = Arc::new(WordMatcher::build(load_words(conn, self.community)?)?);
        Ok(self.words.get_or_init(|| m).clone())
    }
}

/// Cache of [`CommunityConfig`]s. Only filled from committed state (read
/// connections), so a rolled-back write can never leave a stale entry.
#[derive(Debug, Default)]
pub(crate) struct ConfigCache(RwLock<HashMap<CommunityId, Arc<CommunityConfig>>>);

impl ConfigCache {
    fn get(&self, community: CommunityId, version: i64) -> Option<Arc<CommunityConfig>> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&community)
            .filter(|c| c.version == version)
            .cloned()
    }

    fn put(&self, community: CommunityId, config: Arc<CommunityConfig>) {
        let mut map = self.0.write().unwrap_or_else(|e| e.into_inner());
        if map
            .get(&community)
            .is_none_or(|c| c.version < config.version)
        {
            map.insert(community, config);
        }
    }
}

/// Whether [`Viewer::load`] runs on committed state (and may fill the cache).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Snapshot {
    /// A read connection: committed state.
    Committed,
    /// Inside a write transaction: possibly uncommitted state.
    InWrite,
}

/// An actor as seen from one community.
#[derive(Debug, Clone)]
pub(crate) struct Viewer {
    pub community: CommunityId,
    pub config: Arc<CommunityConfig>,
    pub user: Option<UserId>,
    pub role: Option<Role>,
    pub groups: HashSet<GroupId>,
    pub system: bool,
    pub silenced: bool,
    /// The member's trust level (level 0 for non-members).
    pub trust: TrustLevel,
    /// When the member joined (ms).
    pub joined_at: Option<i64>,
}

impl Viewer {
    /// Loads what the checks need. Fails with `NotFound` for an unknown
    /// community and for a private community the actor is not a member of.
    pub(crate) fn load(
        conn: &Conn,
        cache: &ConfigCache,
        snapshot: Snapshot,
        actor: &Actor,
        community: CommunityId,
        now_ms: i64,
    ) -> Result<Viewer> {
        // One statement for the community's configuration version, the
        // membership and its groups (a row per group): a round trip per
        // statement is what a request costs on PostgreSQL.
        let user = match actor {
            Actor::User(user) => Some(*user),
            _ => None,
        };
        let mut stmt = conn.prepare_cached(
            "SELECT c.config_version, m.role, m.silenced_until, m.suspended_until, m.trust_level,
                    m.joined_at, gm.group_id, m.deactivated_at IS NOT NULL
             FROM communities c
             LEFT JOIN memberships m ON m.community_id = c.id AND m.user_id = ?2
             LEFT JOIN group_members gm ON gm.user_id = m.user_id
                 AND EXISTS (SELECT 1 FROM groups g WHERE g.id = gm.group_id AND g.community_id = c.id)
             WHERE c.id = ?1",
        )?;
        /// A membership row: role, silenced until, suspended until, trust,
        /// joined, deactivated.
        type Membership = (String, Option<i64>, Option<i64>, i64, i64, bool);
        let mut version = None;
        let mut membership: Option<Membership> = None;
        let mut groups = HashSet::new();
        let rows = stmt.query_map(params![community, user.map_or(0, |u| u.0)], |r| {
            let role: Option<String> = r.get(1)?;
            let membership = match role {
                Some(role) => Some((role, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(7)?)),
                None => None,
            };
            Ok((
                r.get::<_, i64>(0)?,
                membership,
                r.get::<_, Option<GroupId>>(6)?,
            ))
        })?;
        for row in rows {
            let (v, m, group) = row?;
            version = Some(v);
            membership = m;
            groups.extend(group);
        }
        let version = version.ok_or(Error::not_found("community"))?;
        let config = match cache.get(community, version) {
            Some(c) => c,
            None => {
                let settings: String = conn
                    .prepare_cached("SELECT settings FROM communities WHERE id = ?1")?
                    .query_row([community], |r| r.get(0))
                    .found("community")?;
                let config = Arc::new(CommunityConfig {
                    community,
                    version,
                    settings: serde_json::from_str(&settings).map_err(|e| {
                        Error::Storage(format!("community settings unreadable: {e}"))
                    })?,
                    categories: load_category_access(conn, community)?,
                    renderer: OnceLock::new(),
                    words: OnceLock::new(),
                });
                if snapshot == Snapshot::Committed {
                    cache.put(community, config.clone());
                }
                config
            }
        };
        let mut viewer = Viewer {
            community,
            config,
            user,
            role: None,
            groups: HashSet::new(),
            system: matches!(actor, Actor::System),
            silenced: false,
            trust: TrustLevel::New,
            joined_at: None,
        };
        if let Some((role, silenced, suspended, trust, joined, deactivated)) = membership {
            if deactivated || suspended.is_some_and(|t| t > now_ms) {
                // Suspended and deactivated members may not sign in: they
                // are guests.
                viewer.user = None;
            } else {
                viewer.role = Some(Role::parse(&role)?);
                viewer.silenced = silenced.is_some_and(|t| t > now_ms);
                viewer.trust = TrustLevel::from_db(trust)?;
                viewer.joined_at = Some(joined);
                viewer.groups = groups;
            }
        }
        if !viewer.system && viewer.role.is_none() && !viewer.config.settings.public_access {
            return Err(Error::not_found("community"));
        }
        Ok(viewer)
    }

    pub(crate) fn is_member(&self) -> bool {
        self.system || self.role.is_some()
    }

    pub(crate) fn is_moderator(&self) -> bool {
        self.system || self.role.is_some_and(Role::is_moderator)
    }

    pub(crate) fn is_admin(&self) -> bool {
        self.system || self.role.is_some_and(Role::is_admin)
    }

    /// Staff, experts and the moderating roles: not held back by trust
    /// levels or rules that queue posts.
    pub(crate) fn is_official(&self) -> bool {
        self.system || self.role.is_some_and(Role::is_official)
    }

    /// The trust level checks use: staff, experts and moderators count as
    /// leaders.
    pub(crate) fn effective_trust(&self) -> TrustLevel {
        if self.is_official() {
            TrustLevel::Leader
        } else {
            self.trust
        }
    }

    /// Whether this viewer may read content in a category with this access.
    pub(crate) fn can_read(&self, c: &CategoryAccess) -> bool {
        if c.inbox {
            return false;
        }
        if self.is_moderator() {
            return true;
        }
        match c.visibility {
            Visibility::Public => self.role.is_some() || self.config.settings.public_access,
            Visibility::Members => self.role.is_some(),
            Visibility::Groups => {
                self.role.is_some() && c.groups.iter().any(|g| self.groups.contains(g))
            }
        }
    }

    pub(crate) fn category(&self, id: CategoryId) -> Result<&CategoryAccess> {
        self.config
            .categories
            .iter()
            .find(|c| c.id == id)
            .filter(|c| self.can_read(c))
            .ok_or(Error::not_found("category"))
    }

    /// The category access for a topic `topic_state` let this viewer read:
    /// the inbox's for a message (whose participant check `topic_state`
    /// made), the category's otherwise. Paths that should never apply to
    /// messages (moving, answers, articles) use [`Viewer::category`], which
    /// refuses the inbox.
    pub(crate) fn topic_category(&self, t: &crate::topic::TopicState) -> Result<&CategoryAccess> {
        if t.message {
            return self
                .config
                .inbox()
                .filter(|c| c.id == t.category)
                .ok_or(Error::not_found("topic"));
        }
        self.category(t.category)
    }

    /// Ids of the categories this viewer may read, for SQL `IN (...)` filters.
    pub(crate) fn readable_categories(&self) -> Vec<CategoryId> {
        self.config
            .categories
            .iter()
            .filter(|c| self.can_read(c))
            .map(|c| c.id)
            .collect()
    }

    /// The readable categories as a SQL list literal, e.g. `(3,4,9)`.
    /// Ids are integers from our own database, so this is injection-free.
    pub(crate) fn readable_sql(&self) -> String {
        sql_id_list(self.readable_categories().iter().map(|c| c.0))
    }

    /// Members who may write at all.
    pub(crate) fn require_poster(&self) -> Result<UserId> {
        if self.system {
            return Err(Error::forbidden(
                "the system actor cannot author posts; act as a user",
            ));
        }
        let Some(user) = self.user else {
            return Err(Error::forbidden("sign in to post"));
        };
        if self.role.is_none() {
            return Err(Error::forbidden("join this community to post"));
        }
        if self.silenced {
            return Err(Error::forbidden("you are silenced in this community"));
        }
        Ok(user)
    }

    /// May this viewer open a topic in the category?
    pub(crate) fn check_create_topic(&self, c: &CategoryAccess) -> Result<UserId> {
        let user = self.require_poster()?;
        if c.read_only && !self.is_moderator() {
            return Err(Error::forbidden("this category is read-only"));
        }
        let role = self.role.unwrap_or(Role::Member);
        let allowed = match c.kind {
            CategoryKind::Discussion | CategoryKind::QuestionAndAnswer | CategoryKind::Ideas => {
                true
            }
            CategoryKind::KnowledgeBase | CategoryKind::Blog => role.is_official(),
            CategoryKind::Announcements => role <= Role::Staff,
        };
        if !allowed {
            return Err(Error::forbidden(format!(
                "only staff and experts may start topics in {} categories",
                c.kind.as_str()
            )));
        }
        if let Some(min) = c.rules.topic_min_trust
            && self.effective_trust() < min
        {
            return Err(Error::forbidden(format!(
                "topics here may be started from trust level {} on",
                min.number()
            )));
        }
        Ok(user)
    }

    pub(crate) fn require_moderator(&self) -> Result<()> {
        if self.is_moderator() {
            Ok(())
        } else {
            Err(Error::forbidden("moderators only"))
        }
    }

    pub(crate) fn require_admin(&self) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(Error::forbidden("admins only"))
        }
    }
}

/// Marks a community's settings or categories as changed, so cached
/// permission data is reloaded. Call inside the changing transaction.
pub(crate) fn bump_config(conn: &Conn, community: CommunityId) -> Result<()> {
    conn.prepare_cached(
        "UPDATE communities SET config_version = config_version + 1 WHERE id = ?1",
    )?
    .execute([community])?;
    Ok(())
}

pub(crate) fn sql_id_list(ids: impl Iterator<Item = i64>) -> String {
    let mut s = String::from("(");
    for (i, id) in ids.enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&id.to_string());
    }
    if s.len() == 1 {
        // `IN ()` is SQLite-only; `IN (NULL)` matches nothing on both
        // backends (never use the list with NOT IN).
        s.push_str("NULL");
    }
    s.push(')');
    s
}

fn load_category_access(conn: &Conn, community: CommunityId) -> Result<Vec<CategoryAccess>> {
    let mut stmt = conn.prepare_cached(
        "SELECT c.id, c.kind, c.visibility, c.read_only,
                (SELECT string_agg(CAST(group_id AS TEXT), ',') FROM category_groups WHERE category_id = c.id),
                c.rewards, c.rules
         FROM categories c WHERE c.community_id = ?1",
    )?;
    let rows = stmt.query_map([community], |r| {
        let inbox = r.get::<_, String>(1)? == crate::messages::INBOX_KIND;
        Ok(CategoryAccess {
            id: r.get(0)?,
            inbox,
            kind: if inbox {
                CategoryKind::Discussion
            } else {
                parsed(r, 1, CategoryKind::parse)?
            },
            visibility: parsed(r, 2, Visibility::parse)?,
            read_only: r.get(3)?,
            groups: r
                .get::<_, Option<String>>(4)?
                .unwrap_or_default()
                .split(',')
                .filter_map(|g| g.parse().ok().map(GroupId))
                .collect(),
            rewards: r.get(5)?,
            rules: parsed(r, 6, |s| {
                serde_json::from_str(s)
                    .map_err(|e| Error::Storage(format!("category rules unreadable: {e}")))
            })?,
        })
    })?;
    let out = rows.collect::<db::Result<Vec<_>>>()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_order() {
        assert!(Role::Owner.is_admin());
        assert!(Role::Moderator.is_moderator());
        assert!(!Role::Staff.is_moderator());
        assert!(Role::Expert.is_official());
        assert!(!Role::Member.is_official());
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).ok(), Some(r));
        }
    }

    #[test]
    fn id_list() {
        assert_eq!(sql_id_list([1, 2, 3].into_iter()), "(1,2,3)");
        assert_eq!(sql_id_list(std::iter::empty()), "(NULL)");
    }
}
