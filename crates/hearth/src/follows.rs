//! Members following members (schema v13 `follows`): the followed
//! member's new topics — and, if the follower asked, their replies —
//! notify the follower (`following_created_topic`, `following_replied`),
//! in every community both belong to, about posts the follower may read
//! (the notification rules check that as for any other). Who follows whom
//! shows on profiles, to members of the community the profile is read in,
//! unless the member hid it (`users.follows_hidden`; then only they and
//! staff see it).

use crate::db::{self, Conn, params};
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::permissions::{Actor, Viewer};
use crate::topic::{UserRef, user_ref};

/// Most follows a member may have (whom they follow).
pub const MAX_FOLLOWING: usize = 1000;

/// Most entries [`Forum::followers`] and [`Forum::following`] return.
pub const MAX_FOLLOW_LIST: usize = 200;

/// Whom to tell about a post by `author`: `(follower, wants replies)`,
/// at most 10,000 of them, in the primary key's order (by member id: no
/// sort, which costs SQLite a temporary b-tree on every post even when
/// nobody follows the author).
pub(crate) fn followers_of(conn: &Conn, author: UserId) -> Result<Vec<(UserId, bool)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT follower_id, replies FROM follows WHERE followed_id = ?1 ORDER BY follower_id LIMIT 10000",
    )?;
    let rows = stmt.query_map([author], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<db::Result<_>>()?)
}

fn signed_in(actor: &Actor) -> Result<UserId> {
    match actor {
        Actor::User(u) => Ok(*u),
        _ => Err(Error::forbidden("sign in to follow members")),
    }
}

/// Whether `viewer` may see whom `user` follows and who follows them.
fn may_see(conn: &Conn, viewer: &Viewer, user: UserId) -> Result<bool> {
    if viewer.user == Some(user) || viewer.is_moderator() {
        return Ok(true);
    }
    if viewer.role.is_none() {
        return Ok(false);
    }
    let hidden: bool = crate::store::optional(
        conn.prepare_cached("SELECT follows_hidden FROM users WHERE id = ?1")?
            .query_row([user], |r| r.get(0)),
    )?
    .ok_or(Error::not_found("user"))?;
    Ok(!hidden)
}

impl Forum {
    /// The signed-in member follows `user` (`replies`: their replies too,
    /// not only new topics). Following again changes `replies`. Not
    /// yourself; at most [`MAX_FOLLOWING`] members.
    pub fn follow(&self, actor: &Actor, user: UserId, replies: bool) -> Result<()> {
        let me = signed_in(actor)?;
        if me == user {
            return Err(Error::invalid("user", "not yourself"));
        }
        self.user(user)?;
        let now = crate::clock::to_millis(self.now());
        self.store.write(|tx| {
            let count: i64 = tx
                .prepare_cached("SELECT count(*) FROM follows WHERE follower_id = ?1")?
                .query_row([me], |r| r.get(0))?;
            let already: bool = tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM follows WHERE followed_id = ?1 AND follower_id = ?2)",
                )?
                .query_row(params![user, me], |r| r.get(0))?;
            if !already && count >= MAX_FOLLOWING as i64 {
                return Err(Error::invalid(
                    "user",
                    format!("you follow {MAX_FOLLOWING} members already; unfollow someone first"),
                ));
            }
            tx.prepare_cached(
                "INSERT INTO follows (followed_id, follower_id, replies, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (followed_id, follower_id) DO UPDATE SET replies = excluded.replies",
            )?
            .execute(params![user, me, replies, now])?;
            Ok(())
        })
    }

    /// The signed-in member stops following `user` (fine if they did not).
    pub fn unfollow(&self, actor: &Actor, user: UserId) -> Result<()> {
        let me = signed_in(actor)?;
        self.store.write(|tx| {
            tx.prepare_cached("DELETE FROM follows WHERE followed_id = ?1 AND follower_id = ?2")?
                .execute(params![user, me])?;
            Ok(())
        })
    }

    /// Whether the signed-in member follows `user`, and with replies.
    pub fn follows(&self, actor: &Actor, user: UserId) -> Result<Option<bool>> {
        let Actor::User(me) = *actor else {
            return Ok(None);
        };
        self.read(|conn, _| {
            crate::store::optional(
                conn.prepare_cached(
                    "SELECT replies FROM follows WHERE followed_id = ?1 AND follower_id = ?2",
                )?
                .query_row(params![user, me], |r| r.get(0)),
            )
        })
    }

    /// The signed-in member hides (or shows) whom they follow and who
    /// follows them.
    pub fn set_follows_hidden(&self, actor: &Actor, hidden: bool) -> Result<()> {
        let me = signed_in(actor)?;
        self.store.write(|tx| {
            tx.prepare_cached("UPDATE users SET follows_hidden = ?2 WHERE id = ?1")?
                .execute(params![me, hidden])?;
            Ok(())
        })
    }

    /// Whether the member hid their follows.
    pub fn follows_hidden(&self, user: UserId) -> Result<bool> {
        self.read(|conn, _| {
            crate::store::optional(
                conn.prepare_cached("SELECT follows_hidden FROM users WHERE id = ?1")?
                    .query_row([user], |r| r.get(0)),
            )?
            .ok_or(Error::not_found("user"))
        })
    }

    /// Who follows `user`, among this community's members, newest first
    /// (at most [`MAX_FOLLOW_LIST`]). `Forbidden` when `user` hid it (but
    /// for themselves and staff) or for guests.
    pub fn followers(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
    ) -> Result<Vec<UserRef>> {
        self.follow_list(actor, community, user, true)
    }

    /// Whom `user` follows, among this community's members (as
    /// [`Forum::followers`]).
    pub fn following(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
    ) -> Result<Vec<UserRef>> {
        self.follow_list(actor, community, user, false)
    }

    fn follow_list(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        followers: bool,
    ) -> Result<Vec<UserRef>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if !may_see(conn, &viewer, user)? {
                return Err(Error::forbidden(
                    "this member keeps whom they follow to themselves",
                ));
            }
            let (them, us) = if followers {
                ("follower_id", "followed_id")
            } else {
                ("followed_id", "follower_id")
            };
            let sql = format!(
                "SELECT u.id, u.username, u.display_name, u.avatar_url
                 FROM follows f JOIN users u ON u.id = f.{them}
                 JOIN memberships m ON m.user_id = u.id AND m.community_id = ?2
                 WHERE f.{us} = ?1 ORDER BY f.created_at DESC, u.id LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt.query_map(params![user, community, MAX_FOLLOW_LIST as i64], |r| {
                user_ref(r, 0)
            })?;
            Ok(rows.collect::<db::Result<_>>()?)
        })
    }
}
