//! Export and import of a whole community as versioned JSON Lines: the
//! company owns its data. The first line is a header (format, version,
//! the community's name and settings); every other line is one row of one
//! table, with database ids replaced by ordinals (its position in the
//! export) and users named by username, so an export of an import is the
//! same file. Password hashes are never exported; e-mail addresses are.
//! Derived data is rebuilt on import: rendered HTML, mentions, links and
//! the search index.
//!
//! The event log, review queue, flags, audit log, invites, notifications,
//! the e-mail outbox and composer visits are history, not content: they
//! are not exported.

use std::collections::HashMap;
use std::io::{BufRead, Write as IoWrite};

use crate::db::{Conn, OptionalExtension, Value as SqlValue, ValueRef, params};
use serde_json::{Map, Value, json};

use crate::community::CommunitySettings;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, PostId};
use crate::permissions::Actor;

/// The export format's version; imports accept this version only.
pub const EXPORT_VERSION: u32 = 1;
const FORMAT: &str = "hearth-community-export";

/// How one table is exported: which rows belong to the community, its own
/// id column (exported as an ordinal), and the columns that point at other
/// tables' rows.
struct Table {
    name: &'static str,
    /// `WHERE` clause selecting the community's rows (`?1` = community).
    scope: &'static str,
    /// The row's own id column, remapped on import.
    id: Option<&'static str>,
    /// (column, table) references, remapped on import; `users` are names.
    refs: &'static [(&'static str, &'static str)],
}

const POSTS: &str = "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)";

/// In dependency order (a reference to a later table is filled in after
/// every row is in).
const TABLES: &[Table] = &[
    Table {
        name: "memberships",
        scope: "community_id = ?1",
        id: None,
        refs: &[("user_id", "users")],
    },
    Table {
        name: "groups",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[],
    },
    Table {
        name: "group_members",
        scope: "group_id IN (SELECT id FROM groups WHERE community_id = ?1)",
        id: None,
        refs: &[("group_id", "groups"), ("user_id", "users")],
    },
    Table {
        name: "categories",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[("parent_id", "categories")],
    },
    Table {
        name: "category_groups",
        scope: "category_id IN (SELECT id FROM categories WHERE community_id = ?1)",
        id: None,
        refs: &[("category_id", "categories"), ("group_id", "groups")],
    },
    Table {
        name: "topics",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[
            ("category_id", "categories"),
            ("user_id", "users"),
            ("last_poster_id", "users"),
            ("deleted_by", "users"),
            ("solved_post_id", "posts"),
            ("merged_into", "topics"),
        ],
    },
    Table {
        name: "topic_tags",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("topic_id", "topics")],
    },
    Table {
        name: "posts",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[
            ("topic_id", "topics"),
            ("user_id", "users"),
            ("reply_to_post_id", "posts"),
            ("deleted_by", "users"),
        ],
    },
    Table {
        name: "tag_groups",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[],
    },
    Table {
        name: "tag_group_tags",
        scope: "tag_group_id IN (SELECT id FROM tag_groups WHERE community_id = ?1)",
        id: Some("id"),
        refs: &[("tag_group_id", "tag_groups")],
    },
    Table {
        name: "topic_timers",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("topic_id", "topics"), ("created_by", "users")],
    },
    Table {
        name: "uploads",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[("user_id", "users")],
    },
    Table {
        name: "member_field_values",
        scope: "community_id = ?1",
        id: None,
        refs: &[("user_id", "users")],
    },
    Table {
        name: "message_users",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("topic_id", "topics"), ("user_id", "users")],
    },
    Table {
        name: "message_groups",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("topic_id", "topics"), ("group_id", "groups")],
    },
    Table {
        name: "post_revisions",
        scope: "post_id IN (SELECT id FROM posts WHERE community_id = ?1)",
        id: Some("id"),
        refs: &[("post_id", "posts"), ("user_id", "users")],
    },
    Table {
        name: "likes",
        scope: "post_id IN (SELECT id FROM posts WHERE community_id = ?1)",
        id: None,
        refs: &[("post_id", "posts"), ("user_id", "users")],
    },
    Table {
        name: "bookmarks",
        scope: "post_id IN (SELECT id FROM posts WHERE community_id = ?1)",
        id: None,
        refs: &[("post_id", "posts"), ("user_id", "users")],
    },
    Table {
        name: "topic_views",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("topic_id", "topics"), ("user_id", "users")],
    },
    Table {
        name: "topic_posters",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("topic_id", "topics"), ("user_id", "users")],
    },
    Table {
        name: "badges",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[],
    },
    Table {
        name: "badge_grants",
        scope: "badge_id IN (SELECT id FROM badges WHERE community_id = ?1)",
        id: Some("id"),
        refs: &[
            ("badge_id", "badges"),
            ("user_id", "users"),
            ("post_id", "posts"),
            ("granted_by", "users"),
        ],
    },
    Table {
        name: "point_entries",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[
            ("user_id", "users"),
            ("post_id", "posts"),
            ("reverses", "point_entries"),
        ],
    },
    Table {
        name: "point_days",
        scope: "community_id = ?1",
        id: None,
        refs: &[("user_id", "users")],
    },
    Table {
        name: "member_activity",
        scope: "community_id = ?1",
        id: None,
        refs: &[("user_id", "users")],
    },
    Table {
        name: "member_days",
        scope: "community_id = ?1",
        id: None,
        refs: &[("user_id", "users")],
    },
    Table {
        name: "community_days",
        scope: "community_id = ?1",
        id: None,
        refs: &[],
    },
    Table {
        name: "watched_words",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[],
    },
    // Secrets (plugins' API keys) stay behind: the operator sets them again.
    Table {
        name: "extension_data",
        scope: "community_id = ?1 AND namespace NOT LIKE 'secret:%'",
        id: None,
        refs: &[],
    },
    Table {
        name: "category_watches",
        scope: "category_id IN (SELECT id FROM categories WHERE community_id = ?1)",
        id: None,
        refs: &[("user_id", "users"), ("category_id", "categories")],
    },
    Table {
        name: "topic_watches",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("user_id", "users"), ("topic_id", "topics")],
    },
    Table {
        name: "notification_prefs",
        scope: "community_id = ?1",
        id: None,
        refs: &[("user_id", "users")],
    },
    Table {
        name: "email_prefs",
        scope: "community_id = ?1",
        id: None,
        refs: &[("user_id", "users")],
    },
    Table {
        name: "ideas",
        scope: "community_id = ?1",
        id: None,
        refs: &[("topic_id", "topics"), ("status_by", "users")],
    },
    Table {
        name: "idea_votes",
        scope: "topic_id IN (SELECT id FROM topics WHERE community_id = ?1)",
        id: None,
        refs: &[("topic_id", "topics"), ("user_id", "users")],
    },
    Table {
        name: "products",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[],
    },
    Table {
        name: "post_products",
        scope: POSTS,
        id: None,
        refs: &[
            ("post_id", "posts"),
            ("product_id", "products"),
            ("topic_id", "topics"),
        ],
    },
    Table {
        name: "kb_articles",
        scope: "community_id = ?1",
        id: Some("id"),
        refs: &[
            ("category_id", "categories"),
            ("topic_id", "topics"),
            ("source_topic_id", "topics"),
            ("created_by", "users"),
        ],
    },
    Table {
        name: "kb_revisions",
        scope: "article_id IN (SELECT id FROM kb_articles WHERE community_id = ?1)",
        id: None,
        refs: &[("article_id", "kb_articles"), ("author_id", "users")],
    },
    Table {
        name: "kb_votes",
        scope: "article_id IN (SELECT id FROM kb_articles WHERE community_id = ?1)",
        id: None,
        refs: &[("article_id", "kb_articles"), ("user_id", "users")],
    },
];

/// Columns never exported: the community (implied), and what import
/// derives again (rendered HTML).
const SKIP: &[&str] = &[
    "community_id",
    "html",
    "render_version",
    "markup",
    // An upload in an object store is exported with its bytes (below).
    "object_key",
];

/// Users any exported row refers to.
const USERS: &str = "SELECT user_id FROM memberships WHERE community_id = ?1
    UNION SELECT user_id FROM topics WHERE community_id = ?1
    UNION SELECT user_id FROM posts WHERE community_id = ?1
    UNION SELECT deleted_by FROM posts WHERE community_id = ?1
    UNION SELECT t.created_by FROM topic_timers t JOIN topics p ON p.id = t.topic_id WHERE p.community_id = ?1
    UNION SELECT deleted_by FROM topics WHERE community_id = ?1
    UNION SELECT user_id FROM uploads WHERE community_id = ?1
    UNION SELECT m.user_id FROM message_users m JOIN topics t ON t.id = m.topic_id WHERE t.community_id = ?1
    UNION SELECT last_poster_id FROM topics WHERE community_id = ?1
    UNION SELECT r.user_id FROM post_revisions r JOIN posts p ON p.id = r.post_id WHERE p.community_id = ?1
    UNION SELECT l.user_id FROM likes l JOIN posts p ON p.id = l.post_id WHERE p.community_id = ?1
    UNION SELECT user_id FROM point_entries WHERE community_id = ?1
    UNION SELECT g.user_id FROM badge_grants g JOIN badges b ON b.id = g.badge_id WHERE b.community_id = ?1
    UNION SELECT g.granted_by FROM badge_grants g JOIN badges b ON b.id = g.badge_id WHERE b.community_id = ?1
    UNION SELECT created_by FROM kb_articles WHERE community_id = ?1
    UNION SELECT r.author_id FROM kb_revisions r JOIN kb_articles a ON a.id = r.article_id WHERE a.community_id = ?1
    UNION SELECT status_by FROM ideas WHERE community_id = ?1";

/// What an export or import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TransferReport {
    /// Lines written or read (the header included).
    pub lines: u64,
    /// Rows per table.
    pub rows: std::collections::BTreeMap<String, u64>,
}

/// A column's value as JSON (a blob as `{"$hex": …}`).
pub(crate) fn to_json(v: ValueRef<'_>) -> Value {
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => json!(i),
        ValueRef::Real(f) => json!(f),
        ValueRef::Text(t) => json!(t),
        ValueRef::Blob(b) => {
            json!({ "$hex": crate::text::hex(b) })
        }
    }
}

fn from_json(v: &Value) -> Result<SqlValue> {
    Ok(match v {
        Value::Null => SqlValue::Null,
        Value::Bool(b) => SqlValue::Integer(i64::from(*b)),
        Value::Number(n) => match n.as_i64() {
            Some(i) => SqlValue::Integer(i),
            None => SqlValue::Real(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => SqlValue::Text(s.clone()),
        Value::Object(o) => match o.get("$hex").and_then(Value::as_str) {
            Some(h) if h.len() % 2 == 0 => SqlValue::Blob(
                (0..h.len() / 2)
                    .map(|i| u8::from_str_radix(&h[2 * i..2 * i + 2], 16))
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| Error::invalid("export", "a blob is not hex"))?,
            ),
            _ => return Err(Error::invalid("export", "unexpected object value")),
        },
        Value::Array(_) => return Err(Error::invalid("export", "unexpected array value")),
    })
}

/// Point-entry causes name posts and users by id: `post:12`,
/// `like:12:7`, `accepted:12`, `article:12`. Exports name them by
/// ordinal and username (`post:#3`, `like:#3:@bob`).
fn export_cause(cause: &str, posts: &HashMap<i64, i64>, users: &HashMap<i64, String>) -> String {
    let parts: Vec<&str> = cause.split(':').collect();
    let post = |s: &str| {
        s.parse::<i64>()
            .ok()
            .and_then(|id| posts.get(&id))
            .map(|o| format!("#{o}"))
    };
    match parts.as_slice() {
        [k @ ("post" | "accepted" | "article"), p] => match post(p) {
            Some(o) => format!("{k}:{o}"),
            None => cause.to_string(),
        },
        ["like", p, u] => match (post(p), u.parse::<i64>().ok().and_then(|id| users.get(&id))) {
            (Some(o), Some(name)) => format!("like:{o}:@{name}"),
            _ => cause.to_string(),
        },
        _ => cause.to_string(),
    }
}

fn import_cause(cause: &str, posts: &HashMap<i64, i64>, users: &HashMap<String, i64>) -> String {
    let parts: Vec<&str> = cause.split(':').collect();
    let post = |s: &str| {
        s.strip_prefix('#')
            .and_then(|o| o.parse::<i64>().ok())
            .and_then(|o| posts.get(&o))
            .map(|id| id.to_string())
    };
    match parts.as_slice() {
        [k @ ("post" | "accepted" | "article"), p] => match post(p) {
            Some(id) => format!("{k}:{id}"),
            None => cause.to_string(),
        },
        ["like", p, u] => match (post(p), u.strip_prefix('@').and_then(|n| users.get(n))) {
            (Some(id), Some(user)) => format!("like:{id}:{user}"),
            _ => cause.to_string(),
        },
        _ => cause.to_string(),
    }
}

fn columns(conn: &Conn, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table} LIMIT 0"))?;
    Ok(stmt.column_names())
}

impl Forum {
    /// Writes the community as JSON Lines into `out` (admins), calling
    /// `progress(done, total)` as rows go out. A read snapshot: the export
    /// is consistent even while members keep posting.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("x.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// let mut file = Vec::new();
    /// forum.export_community(&Actor::User(ann), c, &mut file, &mut |_, _| {})?;
    /// let other = Forum::open(dir.path().join("y.db"))?;
    /// let copy = other.import_community(&file[..], "c-copy", &mut |_, _| {})?;
    /// let mut again = Vec::new();
    /// other.export_community(&Actor::System, copy, &mut again, &mut |_, _| {})?;
    /// // Only the header's slug differs.
    /// assert_eq!(file.split(|b| *b == b'\n').skip(1).collect::<Vec<_>>(),
    ///            again.split(|b| *b == b'\n').skip(1).collect::<Vec<_>>());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_community(
        &self,
        actor: &Actor,
        community: CommunityId,
        out: &mut (dyn IoWrite + Send),
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<TransferReport> {
        let io = |e: std::io::Error| Error::Storage(format!("writing the export: {e}"));
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if !viewer.system {
                viewer.require_admin()?;
            }
            let (slug, name, settings): (String, String, String) = conn
                .prepare("SELECT slug, name, settings FROM communities WHERE id = ?1")?
                .query_row([community], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let settings: Value = serde_json::from_str(&settings).unwrap_or(Value::Null);
            let mut total: u64 =
                conn.prepare(&format!("SELECT count(*) FROM ({USERS}) u"))?
                    .query_row([community], |r| r.get::<_, i64>(0))? as u64;
            for t in TABLES {
                total +=
                    conn.prepare(&format!(
                        "SELECT count(*) FROM {} WHERE {}",
                        t.name, t.scope
                    ))?
                    .query_row([community], |r| r.get::<_, i64>(0))? as u64;
            }
            let mut report = TransferReport::default();
            let header = json!({
                "type": "header", "format": FORMAT, "version": EXPORT_VERSION,
                "community": { "slug": slug, "name": name, "settings": settings },
            });
            writeln!(out, "{header}").map_err(io)?;
            report.lines += 1;
            let mut done = 0u64;
            // Users, by username (with their e-mail address; never a hash).
            let mut users: HashMap<i64, String> = HashMap::new();
            let mut stmt = conn.prepare(&format!(
                "SELECT u.id, u.username, u.display_name, u.bio, u.avatar_url, u.created_at, l.email
                 FROM users u LEFT JOIN logins l ON l.user_id = u.id
                 WHERE u.id IN ({USERS}) ORDER BY u.id"
            ))?;
            let mut rows = stmt.query([community])?;
            while let Some(r) = rows.next()? {
                let id: i64 = r.get(0)?;
                let username: String = r.get(1)?;
                users.insert(id, username.clone());
                let line = json!({
                    "type": "users", "username": username, "display_name": r.get::<_, String>(2)?,
                    "bio": r.get::<_, String>(3)?, "avatar_url": r.get::<_, Option<String>>(4)?,
                    "created_at": r.get::<_, i64>(5)?, "email": r.get::<_, Option<String>>(6)?,
                });
                writeln!(out, "{line}").map_err(io)?;
                done += 1;
                *report.rows.entry("users".into()).or_default() += 1;
            }
            progress(done, total);
            // Everything else: ids become ordinals.
            let mut ordinals: HashMap<&str, HashMap<i64, i64>> = HashMap::new();
            for t in TABLES {
                let cols = columns(conn, t.name)?;
                // By id, or (tables without one) by every column: the same
                // order on every backend, and an import writes rows back in
                // it, so export → import → export is identical.
                let order = match t.id {
                    Some(id) => id.to_string(),
                    None => cols.join(", "),
                };
                let mut stmt = conn.prepare(&format!(
                    "SELECT * FROM {} WHERE {} ORDER BY {order}",
                    t.name, t.scope
                ))?;
                let mut rows = stmt.query([community])?;
                let mut n = 0i64;
                while let Some(r) = rows.next()? {
                    n += 1;
                    let mut obj = Map::new();
                    obj.insert("type".into(), json!(t.name));
                    for (i, c) in cols.iter().enumerate() {
                        if SKIP.contains(&c.as_str()) {
                            continue;
                        }
                        let v = r.get_ref(i)?;
                        let value = if Some(c.as_str()) == t.id {
                            if let ValueRef::Integer(id) = v {
                                ordinals.entry(t.name).or_default().insert(id, n);
                            }
                            json!(n)
                        } else if let Some((_, target)) = t.refs.iter().find(|(col, _)| col == c) {
                            match v {
                                ValueRef::Integer(id) if *target == "users" => {
                                    users.get(&id).map_or(Value::Null, |u| json!(u))
                                }
                                ValueRef::Integer(id) => json!(
                                    ordinals
                                        .get(target)
                                        .and_then(|m| m.get(&id))
                                        .copied()
                                        // Forward references (a topic's accepted
                                        // answer) are filled in below.
                                        .map_or_else(|| json!({"$later": id}), |o| json!(o))
                                ),
                                _ => Value::Null,
                            }
                        } else if t.name == "point_entries" && c == "cause" {
                            let cause: String = r.get(i)?;
                            json!(export_cause(
                                &cause,
                                ordinals.get("posts").unwrap_or(&HashMap::new()),
                                &users
                            ))
                        } else {
                            to_json(v)
                        };
                        obj.insert(c.clone(), value);
                    }
                    if t.name == "uploads" {
                        let at = cols.iter().position(|c| c == "object_key");
                        if let Some(ValueRef::Text(key)) = at.map(|i| r.get_ref(i)).transpose()? {
                            let key = key.to_owned();
                            self.export_stored_upload(&key, &mut obj)?;
                        }
                    }
                    let line = Value::Object(obj);
                    let text = resolve_later(line, &ordinals, conn, community)?;
                    writeln!(out, "{text}").map_err(io)?;
                    done += 1;
                    *report.rows.entry(t.name.into()).or_default() += 1;
                    if done.is_multiple_of(1000) {
                        progress(done, total);
                    }
                }
            }
            progress(done, total);
            report.lines += done;
            Ok(report)
        })
    }

    /// Puts the bytes of an upload kept in an object store (as `key`) into
    /// its export line, as if they were in the database: an import needs
    /// no store.
    fn export_stored_upload(&self, key: &str, obj: &mut Map<String, Value>) -> Result<()> {
        let store = self
            .uploads
            .object_store()
            .ok_or_else(|| crate::upload_store::not_configured(key))?;
        obj.insert("data".into(), to_json(ValueRef::Blob(&store.get(key)?)));
        if obj.get("thumbnail_width").is_some_and(|w| !w.is_null()) {
            let thumb = store.get(&crate::uploads::thumb_key(key))?;
            obj.insert("thumbnail".into(), to_json(ValueRef::Blob(&thumb)));
        }
        Ok(())
    }

    /// Reads an export into a new community with `slug` (this database or
    /// another), all or nothing, calling `progress(lines, 0)` as it goes.
    /// Users are matched by username; new ones get no password (they sign
    /// in after a reset). Returns the new community.
    pub fn import_community(
        &self,
        input: impl BufRead + Send,
        slug: &str,
        progress: &mut (dyn FnMut(u64, u64) + Send),
    ) -> Result<CommunityId> {
        let mut lines = input.lines();
        let bad = |why: String| Error::invalid("export", why);
        let header: Value = match lines.next() {
            Some(l) => serde_json::from_str(&l.map_err(|e| bad(e.to_string()))?)
                .map_err(|e| bad(format!("line 1: {e}")))?,
            None => return Err(bad("the file is empty".into())),
        };
        if header["format"] != FORMAT {
            return Err(bad("this is not a Hearth community export".into()));
        }
        if header["version"] != EXPORT_VERSION {
            return Err(bad(format!(
                "export version {} is not supported (this Hearth reads version {EXPORT_VERSION})",
                header["version"]
            )));
        }
        let settings: CommunitySettings =
            serde_json::from_value(header["community"]["settings"].clone())
                .map_err(|e| bad(format!("settings: {e}")))?;
        let name = header["community"]["name"]
            .as_str()
            .unwrap_or(slug)
            .to_string();
        let community = self
            .create_community(
                &Actor::System,
                crate::community::NewCommunity {
                    slug: slug.into(),
                    name,
                    owner: None,
                    settings,
                },
            )?
            .id;
        let tables: HashMap<&str, &Table> = TABLES.iter().map(|t| (t.name, t)).collect();
        let result = self.write_once(|w| {
            let conn = w.tx;
            let mut users: HashMap<String, i64> = HashMap::new();
            let mut ids: HashMap<&str, HashMap<i64, i64>> = HashMap::new();
            // (table, id column, new id, column, target table, ordinal) to
            // fill in last.
            let mut later: Vec<(&str, &str, i64, String, &str, i64)> = Vec::new();
            let mut cols_cache: HashMap<&str, Vec<String>> = HashMap::new();
            let mut posts_to_render: Vec<i64> = Vec::new();
            let mut n = 1u64;
            for line in lines.by_ref() {
                n += 1;
                let line = line.map_err(|e| bad(format!("line {n}: {e}")))?;
                if line.trim().is_empty() {
                    continue;
                }
                let row: Map<String, Value> = serde_json::from_str(&line)
                    .map_err(|e| bad(format!("line {n}: {e}")))?;
                let kind = row.get("type").and_then(Value::as_str).unwrap_or_default();
                if kind == "users" {
                    let username = row["username"]
                        .as_str()
                        .ok_or_else(|| bad(format!("line {n}: a user without a username")))?;
                    let existing: Option<i64> = conn
                        .prepare_cached("SELECT id FROM users WHERE username_lower = ?1")?
                        .query_row([username.to_lowercase()], |r| r.get(0))
                        .optional()?;
                    let id = match existing {
                        Some(id) => id,
                        None => {
                            crate::text::validate_username(username)?;
                            conn.prepare_cached(
                                "INSERT INTO users (username, username_lower, display_name, bio, avatar_url, created_at)
                                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                            )?
                            .execute(params![
                                username,
                                username.to_lowercase(),
                                row["display_name"].as_str().unwrap_or_default(),
                                row["bio"].as_str().unwrap_or_default(),
                                row["avatar_url"].as_str(),
                                row["created_at"].as_i64().unwrap_or(0),
                            ])?;
                            let id = conn.last_insert_rowid()?;
                            if let Some(email) = row["email"].as_str() {
                                // No password: an unusable hash until a reset.
                                conn.prepare_cached(
                                    "INSERT INTO logins (user_id, email, email_lower, password_hash, updated_at)
                                     VALUES (?1, ?2, ?3, '$none$', ?4) ON CONFLICT DO NOTHING",
                                )?
                                .execute(params![id, email, email.to_lowercase(), w.now_ms()])?;
                            }
                            id
                        }
                    };
                    users.insert(username.to_string(), id);
                    continue;
                }
                let Some(t) = tables.get(kind) else {
                    return Err(bad(format!("line {n}: unknown row type {kind:?}")));
                };
                if !cols_cache.contains_key(t.name) {
                    cols_cache.insert(t.name, columns(conn, t.name)?);
                }
                let cols = &cols_cache[t.name];
                let mut names = Vec::new();
                let mut values = Vec::new();
                let mut ordinal = None;
                let mut deferred = Vec::new();
                for c in cols {
                    if c == "community_id" {
                        names.push(c.clone());
                        values.push(SqlValue::Integer(community.0));
                        continue;
                    }
                    if c == "html" {
                        names.push(c.clone());
                        values.push(SqlValue::Text(String::new()));
                        continue;
                    }
                    if c == "render_version" {
                        names.push(c.clone());
                        values.push(SqlValue::Integer(0));
                        continue;
                    }
                    let Some(v) = row.get(c) else { continue };
                    if Some(c.as_str()) == t.id {
                        ordinal = v.as_i64();
                        continue;
                    }
                    let value = if let Some((_, target)) = t.refs.iter().find(|(col, _)| col == c) {
                        match v {
                            Value::Null => SqlValue::Null,
                            Value::String(u) if *target == "users" => match users.get(u) {
                                Some(id) => SqlValue::Integer(*id),
                                None => return Err(bad(format!("line {n}: unknown user {u:?}"))),
                            },
                            Value::Number(o) => {
                                let o = o.as_i64().unwrap_or(0);
                                match ids.get(target).and_then(|m| m.get(&o)) {
                                    Some(id) => SqlValue::Integer(*id),
                                    None => {
                                        deferred.push((c.clone(), *target, o));
                                        SqlValue::Null
                                    }
                                }
                            }
                            _ => return Err(bad(format!("line {n}: {c} is not a reference"))),
                        }
                    } else if t.name == "point_entries" && c == "cause" {
                        SqlValue::Text(import_cause(
                            v.as_str().unwrap_or_default(),
                            ids.get("posts").unwrap_or(&HashMap::new()),
                            &users,
                        ))
                    } else {
                        from_json(v)?
                    };
                    names.push(c.clone());
                    values.push(value);
                }
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    t.name,
                    names.join(", "),
                    vec!["?"; names.len()].join(", ")
                );
                conn.prepare_cached(&sql)?
                    .execute(values.as_slice())
                    .map_err(|e| bad(format!("line {n} ({}): {e}", t.name)))?;
                if let Some(id_column) = t.id {
                    let id = conn.last_insert_rowid()?;
                    if let Some(o) = ordinal {
                        ids.entry(t.name).or_default().insert(o, id);
                    }
                    for (c, target, o) in deferred {
                        later.push((t.name, id_column, id, c, target, o));
                    }
                    if t.name == "posts" {
                        posts_to_render.push(id);
                    }
                } else if let Some((c, target, _)) = deferred.first() {
                    return Err(bad(format!(
                        "line {n} ({}): {c} names a {target} row that comes later in the file",
                        t.name
                    )));
                }
                if n.is_multiple_of(1000) {
                    progress(n, 0);
                }
            }
            for (table, id_column, row, column, target, o) in later {
                let id = ids
                    .get(target)
                    .and_then(|m| m.get(&o))
                    .ok_or_else(|| bad(format!("{table}.{column} names {target} #{o}, which is not in the file")))?;
                conn.prepare_cached(&format!("UPDATE {table} SET {column} = ?2 WHERE {id_column} = ?1"))?
                    .execute(params![row, id])?;
            }
            crate::topic::number_tags(conn, community)?;
            crate::permissions::bump_config(conn, community)?;
            progress(n, 0);
            Ok(posts_to_render)
        });
        let posts = match result {
            Ok(p) => p,
            Err(e) => {
                // All or nothing: the empty community goes too.
                let _ = self.write(|w| {
                    w.tx.execute("DELETE FROM communities WHERE id = ?1", [community])?;
                    Ok(())
                });
                return Err(e);
            }
        };
        // Derived data: HTML, mentions, links, the search index.
        for chunk in posts.chunks(500) {
            self.rebuild_posts(
                community,
                &chunk.iter().map(|p| PostId(*p)).collect::<Vec<_>>(),
                true,
            )?;
        }
        Ok(community)
    }
}

/// Fills in forward references (`{"$later": id}`) now that every table's
/// ordinals are known... which they are not yet for later tables: look the
/// id's ordinal up by counting, in the same order the export uses.
fn resolve_later(
    mut line: Value,
    ordinals: &HashMap<&str, HashMap<i64, i64>>,
    conn: &Conn,
    community: CommunityId,
) -> Result<Value> {
    let Value::Object(obj) = &mut line else {
        return Ok(line);
    };
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(t) = TABLES.iter().find(|t| t.name == kind) else {
        return Ok(line);
    };
    for (col, target) in t.refs {
        let Some(Value::Object(o)) = obj.get(*col) else {
            continue;
        };
        let Some(id) = o.get("$later").and_then(Value::as_i64) else {
            continue;
        };
        let known = ordinals.get(target).and_then(|m| m.get(&id)).copied();
        let ordinal = match known {
            Some(o) => o,
            None => {
                let spec = TABLES.iter().find(|x| x.name == *target).ok_or_else(|| {
                    Error::Storage(format!("no table {target} in the export plan"))
                })?;
                let id_col = spec.id.unwrap_or("rowid");
                conn.prepare_cached(&format!(
                    "SELECT count(*) FROM {} WHERE {} AND {id_col} <= ?2",
                    spec.name, spec.scope
                ))?
                .query_row(params![community, id], |r| r.get::<_, i64>(0))?
            }
        };
        obj.insert((*col).to_string(), json!(ordinal));
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_round_trip_through_ordinals_and_names() {
        let posts_out: HashMap<i64, i64> = [(120, 3)].into();
        let users_out: HashMap<i64, String> = [(7, "bob".to_string())].into();
        assert_eq!(export_cause("post:120", &posts_out, &users_out), "post:#3");
        assert_eq!(
            export_cause("like:120:7", &posts_out, &users_out),
            "like:#3:@bob"
        );
        assert_eq!(
            export_cause("manual:welcome", &posts_out, &users_out),
            "manual:welcome"
        );
        let posts_in: HashMap<i64, i64> = [(3, 900)].into();
        let users_in: HashMap<String, i64> = [("bob".to_string(), 42)].into();
        assert_eq!(
            import_cause("like:#3:@bob", &posts_in, &users_in),
            "like:900:42"
        );
        assert_eq!(
            import_cause("accepted:#3", &posts_in, &users_in),
            "accepted:900"
        );
    }

    #[test]
    fn blobs_survive_json() {
        let v = to_json(ValueRef::Blob(&[0, 1, 254, 255]));
        assert_eq!(v, json!({"$hex": "0001feff"}));
        assert_eq!(
            from_json(&v).expect("blob"),
            SqlValue::Blob(vec![0, 1, 254, 255])
        );
    }
}
