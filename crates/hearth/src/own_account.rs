//! What belongs to a member, at their own request: everything their
//! account holds as a download (`Forum::export_own_data`), and the account
//! itself gone (`Forum::anonymize_own_account`) — their posts stay, under
//! a made-up name, so the answers others rely on do not vanish.

use std::io::Write as IoWrite;

use serde_json::{Map, Value, json};

use crate::audit::{AuditAction, Target, record};
use crate::db::{Conn, params};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::lifecycle::anonymize_in;
use crate::member::{SYSTEM_USERNAME, User, load_user};
use crate::permissions::Actor;

/// The `format` of a member's data export's header line.
pub const OWN_DATA_FORMAT: &str = "hearth-member-data";
/// Its version.
pub const OWN_DATA_VERSION: u32 = 1;

/// Each section of the export: its record `type` and the query (`?1` is
/// the member) whose columns become the record's fields. Only the
/// member's own words and choices: another member's posts, names or
/// messages are never in it (a conversation they are in appears by id;
/// its title only when they started it).
const SECTIONS: &[(&str, &str)] = &[
    (
        "account",
        "SELECT u.id, u.username, u.display_name, u.bio, u.website, u.location, u.avatar_url,
                u.created_at, u.last_seen_at, u.follows_hidden, l.email, l.confirmed_at
         FROM users u LEFT JOIN logins l ON l.user_id = u.id WHERE u.id = ?1",
    ),
    (
        "membership",
        "SELECT c.slug AS community, m.role, m.joined_at, m.silenced_until, m.suspended_until
         FROM memberships m JOIN communities c ON c.id = m.community_id
         WHERE m.user_id = ?1 ORDER BY c.slug",
    ),
    (
        "post",
        "SELECT p.id, c.slug AS community, p.topic_id,
                CASE WHEN t.user_id = ?1 THEN t.title END AS topic_title,
                CASE WHEN k.kind = 'messages' THEN 1 ELSE 0 END AS private_message, p.post_number, p.reply_to_post_id,
                p.source AS raw, p.created_at, p.updated_at, p.deleted_at
         FROM posts p JOIN topics t ON t.id = p.topic_id
              JOIN categories k ON k.id = t.category_id
              JOIN communities c ON c.id = p.community_id
         WHERE p.user_id = ?1 ORDER BY p.id",
    ),
    (
        "like",
        "SELECT post_id, created_at FROM likes WHERE user_id = ?1 ORDER BY created_at, post_id",
    ),
    (
        "bookmark",
        "SELECT post_id, created_at FROM bookmarks WHERE user_id = ?1
         ORDER BY created_at, post_id",
    ),
    (
        "follow",
        "SELECT u.username AS following, f.replies, f.created_at
         FROM follows f JOIN users u ON u.id = f.followed_id
         WHERE f.follower_id = ?1 ORDER BY f.created_at, u.username",
    ),
    (
        "message_block",
        "SELECT u.username AS blocked, b.created_at
         FROM message_blocks b JOIN users u ON u.id = b.blocked_id
         WHERE b.user_id = ?1 ORDER BY b.created_at, u.username",
    ),
    (
        "badge",
        "SELECT c.slug AS community, b.slug AS badge, b.name, g.post_id, g.reason, g.created_at,
                g.revoked_at
         FROM badge_grants g JOIN badges b ON b.id = g.badge_id
              JOIN communities c ON c.id = b.community_id
         WHERE g.user_id = ?1 ORDER BY g.id",
    ),
    (
        "points",
        "SELECT c.slug AS community, e.points, e.rule, e.post_id, e.created_at
         FROM point_entries e JOIN communities c ON c.id = e.community_id
         WHERE e.user_id = ?1 ORDER BY e.id",
    ),
    (
        "upload",
        "SELECT c.slug AS community, up.sha256, up.filename, up.content_type, up.size,
                up.created_at
         FROM uploads up JOIN communities c ON c.id = up.community_id
         WHERE up.user_id = ?1 ORDER BY up.id",
    ),
    (
        "profile_field",
        "SELECT c.slug AS community, f.field, f.value
         FROM member_field_values f JOIN communities c ON c.id = f.community_id
         WHERE f.user_id = ?1 ORDER BY c.slug, f.field, f.value",
    ),
    (
        "category_watch",
        "SELECT category_id, level FROM category_watches WHERE user_id = ?1 ORDER BY category_id",
    ),
    (
        "topic_watch",
        "SELECT topic_id, level FROM topic_watches WHERE user_id = ?1 ORDER BY topic_id",
    ),
    (
        "notification_preference",
        "SELECT c.slug AS community, n.kind, n.delivery
         FROM notification_prefs n JOIN communities c ON c.id = n.community_id
         WHERE n.user_id = ?1 ORDER BY c.slug, n.kind",
    ),
    (
        "email_preference",
        "SELECT c.slug AS community, e.digest, e.unsubscribed_at, e.bounced_at
         FROM email_prefs e JOIN communities c ON c.id = e.community_id
         WHERE e.user_id = ?1 ORDER BY c.slug",
    ),
];

/// Writes one section; returns its record count.
fn section(
    conn: &Conn,
    out: &mut (dyn IoWrite + Send),
    kind: &str,
    sql: &str,
    user: UserId,
) -> Result<u64> {
    let io = |e: std::io::Error| Error::Storage(format!("writing the export: {e}"));
    let mut stmt = conn.prepare(sql)?;
    let cols = stmt.column_names();
    let mut rows = stmt.query(params![user])?;
    let mut n = 0;
    while let Some(r) = rows.next()? {
        let mut obj = Map::new();
        obj.insert("type".into(), json!(kind));
        for (i, c) in cols.iter().enumerate() {
            obj.insert(c.clone(), crate::transfer::to_json(r.get_ref(i)?));
        }
        serde_json::to_writer(&mut *out, &Value::Object(obj))
            .map_err(|e| Error::Storage(format!("writing the export: {e}")))?;
        out.write_all(b"\n").map_err(io)?;
        n += 1;
    }
    Ok(n)
}

/// The member an actor acting on their own account is.
fn own(actor: &Actor, user: UserId) -> Result<()> {
    match actor {
        Actor::System => Ok(()),
        Actor::User(me) if *me == user => Ok(()),
        _ => Err(Error::forbidden("only the member themselves")),
    }
}

impl Forum {
    /// Writes everything `user`'s account holds into `out`, as JSON Lines:
    /// a header, then one record per row of each section — the account
    /// (with its sign-in address), memberships, every post they wrote
    /// (Markdown source, deleted ones too, their own messages included),
    /// likes, bookmarks, whom they follow and block, badges, points,
    /// uploads (names and sizes; the images are at their URLs), watches
    /// and mail preferences. Only the member themselves (or the
    /// application): `Forbidden` for anyone else, staff included. Returns
    /// the number of records. A read snapshot, across every community of
    /// the forum the account is in.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("x.db"))?;
    /// let bea = forum.create_user(NewUser::new("bea"))?.id;
    /// let mut file = Vec::new();
    /// forum.export_own_data(&Actor::User(bea), bea, &mut file)?;
    /// let first = String::from_utf8(file)?;
    /// assert!(first.contains("\"format\":\"hearth-member-data\""));
    /// assert!(first.contains("\"username\":\"bea\""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn export_own_data(
        &self,
        actor: &Actor,
        user: UserId,
        out: &mut (dyn IoWrite + Send),
    ) -> Result<u64> {
        own(actor, user)?;
        self.read(|conn, now| {
            load_user(conn, user)?;
            let header = json!({
                "type": "header", "format": OWN_DATA_FORMAT, "version": OWN_DATA_VERSION,
                "user": user, "exported_at": now,
            });
            serde_json::to_writer(&mut *out, &header)
                .map_err(|e| Error::Storage(format!("writing the export: {e}")))?;
            out.write_all(b"\n")
                .map_err(|e| Error::Storage(format!("writing the export: {e}")))?;
            let mut n = 1;
            for (kind, sql) in SECTIONS {
                n += section(conn, out, kind, sql, user)?;
            }
            Ok(n)
        })
    }

    /// Anonymizes the member's own account at their request, as
    /// [`Forum::anonymize_user`] does (a made-up name; no name, bio,
    /// website, location, avatar, address, password or link to another
    /// system; no one followed or following), in every community it is in:
    /// their posts stay, under the new name. Staff hand their role over
    /// first (`Forbidden` while they are a moderator or admin anywhere).
    /// Recorded in `community`'s audit log under the new name. The caller
    /// ends the member's sessions.
    pub fn anonymize_own_account(&self, actor: &Actor, community: CommunityId) -> Result<User> {
        let Actor::User(user) = *actor else {
            return Err(Error::forbidden("a member's own account: act as them"));
        };
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let me = load_user(w.tx, user)?;
            if me.username.eq_ignore_ascii_case(SYSTEM_USERNAME) {
                return Err(Error::forbidden("the system user acts for the community"));
            }
            let staff: i64 =
                w.tx.prepare_cached(
                    "SELECT count(*) FROM memberships WHERE user_id = ?1
                       AND role IN ('owner', 'admin', 'moderator')",
                )?
                .query_row(params![user], |r| r.get(0))?;
            if staff > 0 {
                return Err(Error::forbidden(
                    "staff keep their accounts: hand your role over to someone first",
                ));
            }
            let name = anonymize_in(w, user)?;
            record(
                w,
                &viewer,
                AuditAction::MemberAnonymized,
                Target::Member(user),
                Value::Null,
                json!({ "username": name, "by": "themselves" }),
                None,
            )?;
            load_user(w.tx, user)
        })
    }
}
