//! The end of a membership, by an admin: deactivate (treated as signed
//! out here until activated again), anonymize (the account keeps its
//! posts under a made-up name; its address, password, profile and links
//! to other systems are gone), delete (anonymized and gone from the
//! community, with its posts if asked).
//!
//! Accounts are shared by every community of a forum, so one community's
//! admins anonymize or delete only accounts that belong to their
//! community alone; the application ([`Actor::System`]) may do it for any.

use crate::audit::{AuditAction, Target, record};
use crate::db::{self, Conn, params};
use crate::error::{Error, Result};
use crate::forum::{Forum, Write};
use crate::ids::{CommunityId, PostId, UserId};
use crate::member::{Member, SYSTEM_USERNAME, User, load_member, load_user, membership};
use crate::permissions::{Actor, Viewer};
use crate::topic::delete_in;

/// The most posts [`Forum::delete_user`] deletes with an account (one
/// transaction); beyond it, anonymize the account instead.
pub const MAX_DELETE_POSTS: usize = 1_000;

/// Who may be deactivated, anonymized or deleted: a member of the
/// community (or, for the application, any account), never staff and
/// never the system user.
fn check_target(conn: &Conn, viewer: &Viewer, user: UserId) -> Result<()> {
    viewer.require_admin()?;
    let role = membership(conn, viewer.community, user)?;
    if role.is_none() && !viewer.system {
        return Err(Error::not_found("member"));
    }
    if role.is_some_and(|r| r.is_moderator()) {
        return Err(Error::forbidden(
            "moderators and admins keep their accounts: change their role first",
        ));
    }
    if load_user(conn, user)?
        .username
        .eq_ignore_ascii_case(SYSTEM_USERNAME)
    {
        return Err(Error::forbidden("the system user acts for the community"));
    }
    if Some(user) == viewer.user {
        return Err(Error::forbidden("not your own account"));
    }
    Ok(())
}

/// For what changes the account itself: refused while it belongs to
/// another community too, unless the application asks.
fn check_account_is_ours(conn: &Conn, viewer: &Viewer, user: UserId) -> Result<()> {
    if viewer.system {
        return Ok(());
    }
    let elsewhere: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM memberships WHERE user_id = ?1 AND community_id <> ?2",
        )?
        .query_row(params![user, viewer.community], |r| r.get(0))?;
    if elsewhere > 0 {
        return Err(Error::conflict(format!(
            "the account belongs to {elsewhere} other communit{} too: the forum's operator \
             may anonymize or delete it; this community may deactivate the member",
            if elsewhere == 1 { "y" } else { "ies" }
        )));
    }
    Ok(())
}

/// A free made-up username (`anon` and 8 hex digits).
fn anonymous_name(conn: &Conn) -> Result<String> {
    for _ in 0..8 {
        let mut bytes = [0u8; 4];
        getrandom::fill(&mut bytes)
            .map_err(|e| Error::Storage(format!("no randomness for a username: {e}")))?;
        let name = format!("anon{:08x}", u32::from_le_bytes(bytes));
        let taken: bool = conn
            .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE username_lower = ?1)")?
            .query_row([&name], |r| r.get(0))?;
        if !taken {
            return Ok(name);
        }
    }
    Err(Error::conflict("no free anonymous username; try again"))
}

/// Anonymizes the account inside a write; returns the new username.
pub(crate) fn anonymize_in(w: &mut Write<'_>, user: UserId) -> Result<String> {
    let name = anonymous_name(w.tx)?;
    w.tx.prepare_cached(
        "UPDATE users SET username = ?2, username_lower = ?2, display_name = '', bio = '',
                          avatar_url = NULL, website = '', location = '', follows_hidden = 0
         WHERE id = ?1",
    )?
    .execute(params![user, name])?;
    // No address, no password, no link to another system's account, and
    // no trail of whom they followed or blocked, or who followed them.
    for sql in [
        "DELETE FROM logins WHERE user_id = ?1",
        "DELETE FROM external_accounts WHERE user_id = ?1",
        "DELETE FROM follows WHERE follower_id = ?1 OR followed_id = ?1",
        "DELETE FROM message_blocks WHERE user_id = ?1",
        "DELETE FROM member_field_values WHERE user_id = ?1",
        // Mail written for them keeps neither address nor content.
        "UPDATE outbox SET to_address = '', subject = '', text_body = '', html_body = '',
                           unsubscribe = '',
                           status = CASE WHEN status = 'pending' THEN 'suppressed' ELSE status END
         WHERE user_id = ?1",
    ] {
        w.tx.prepare_cached(sql)?.execute([user])?;
    }
    Ok(name)
}

/// Days an account whose address was never confirmed is kept (see
/// [`Forum::forget_unconfirmed_accounts`]).
pub const UNCONFIRMED_ACCOUNT_DAYS: i64 = 7;

impl Forum {
    /// Frees the names and addresses of sign-ups that never confirmed
    /// their address: accounts older than [`UNCONFIRMED_ACCOUNT_DAYS`],
    /// unconfirmed, and in no community, are anonymized (a made-up name,
    /// no address or password), so someone else — or the same person —
    /// may sign up with them. At most 500 per call; returns how many. For
    /// the application's maintenance.
    pub fn forget_unconfirmed_accounts(&self) -> Result<u64> {
        self.write(|w| {
            let before = w.now_ms() - UNCONFIRMED_ACCOUNT_DAYS * crate::clock::DAY_MS;
            let stale: Vec<UserId> =
                w.tx.prepare_cached(
                    "SELECT l.user_id FROM logins l JOIN users u ON u.id = l.user_id
                     WHERE l.confirmed_at IS NULL AND u.created_at < ?1
                       AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = l.user_id)
                     ORDER BY l.user_id LIMIT 500",
                )?
                .query_map(params![before], |r| r.get(0))?
                .collect::<db::Result<_>>()?;
            for user in &stale {
                anonymize_in(w, *user)?;
            }
            Ok(stale.len() as u64)
        })
    }

    /// Deactivates a member (`active == false`: treated as signed out in
    /// this community, like an endless suspension without a reason) or
    /// activates them again. Admins only, never against staff; audited.
    pub fn set_member_active(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        active: bool,
    ) -> Result<Member> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            check_target(w.tx, &viewer, user)?;
            let before = load_member(w.tx, community, user)?;
            if before.deactivated_at.is_none() == active {
                return Ok(before);
            }
            let at = (!active).then(|| w.now_ms());
            w.tx.prepare_cached(
                "UPDATE memberships SET deactivated_at = ?3 WHERE community_id = ?1 AND user_id = ?2",
            )?
            .execute(params![community, user, at])?;
            record(
                w,
                &viewer,
                AuditAction::MemberActivation,
                Target::Member(user),
                serde_json::json!({ "active": !active }),
                serde_json::json!({ "active": active }),
                None,
            )?;
            load_member(w.tx, community, user)
        })
    }

    /// Anonymizes an account: a made-up username, no name, bio, website,
    /// location or avatar, no e-mail address or password (it can no longer
    /// sign in), no link to another system's account, no follows either
    /// way and no blocks of its own, and no address or content left in
    /// mail written for it. Posts stay, under the new name. Admins only,
    /// never against staff; refused while the account belongs to another
    /// community too (the application may). The audit entry keeps only the
    /// new name.
    pub fn anonymize_user(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
    ) -> Result<User> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            check_target(w.tx, &viewer, user)?;
            check_account_is_ours(w.tx, &viewer, user)?;
            let name = anonymize_in(w, user)?;
            record(
                w,
                &viewer,
                AuditAction::MemberAnonymized,
                Target::Member(user),
                serde_json::Value::Null,
                serde_json::json!({ "username": name }),
                None,
            )?;
            load_user(w.tx, user)
        })
    }

    /// Deletes a member's account: anonymized as [`Forum::anonymize_user`]
    /// does, out of the community (membership, groups, watches,
    /// notifications, bookmarks), and — with `delete_posts` — their posts
    /// here deleted (a first post takes its topic with it; at most
    /// [`MAX_DELETE_POSTS`]). Without `delete_posts`, an account with
    /// posts is refused (`Conflict`): anonymize it instead, or delete the
    /// posts too. Returns how many posts were deleted. Admins only, never
    /// against staff; the same rule about other communities applies.
    pub fn delete_user(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        delete_posts: bool,
    ) -> Result<u64> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            check_target(w.tx, &viewer, user)?;
            check_account_is_ours(w.tx, &viewer, user)?;
            // Newest first, and replies before the topics they are in.
            let posts: Vec<PostId> =
                w.tx.prepare_cached(
                    "SELECT id FROM posts WHERE community_id = ?1 AND user_id = ?2
                       AND deleted_at IS NULL
                     ORDER BY post_number = 1, id DESC LIMIT ?3",
                )?
                .query_map(params![community, user, MAX_DELETE_POSTS as i64 + 1], |r| {
                    r.get(0)
                })?
                .collect::<db::Result<_>>()?;
            if !posts.is_empty() && !delete_posts {
                return Err(Error::conflict(format!(
                    "the member has {}{} posts here: delete them too (delete_posts), or \
                     anonymize the account to keep them",
                    posts.len().min(MAX_DELETE_POSTS),
                    if posts.len() > MAX_DELETE_POSTS {
                        "+"
                    } else {
                        ""
                    }
                )));
            }
            if posts.len() > MAX_DELETE_POSTS {
                return Err(Error::conflict(format!(
                    "more than {MAX_DELETE_POSTS} posts: anonymize the account instead"
                )));
            }
            let mut deleted = 0;
            for post in posts {
                // False for a reply already gone with its topic.
                if delete_in(w, &viewer, post)? {
                    deleted += 1;
                }
            }
            let name = anonymize_in(w, user)?;
            for sql in [
                "DELETE FROM group_members WHERE user_id = ?1
                   AND group_id IN (SELECT id FROM groups WHERE community_id = ?2)",
                "DELETE FROM category_watches WHERE user_id = ?1
                   AND category_id IN (SELECT id FROM categories WHERE community_id = ?2)",
                "DELETE FROM topic_watches WHERE user_id = ?1
                   AND topic_id IN (SELECT id FROM topics WHERE community_id = ?2)",
                "DELETE FROM bookmarks WHERE user_id = ?1
                   AND post_id IN (SELECT id FROM posts WHERE community_id = ?2)",
                "DELETE FROM notifications WHERE user_id = ?1 AND community_id = ?2",
                "DELETE FROM notification_prefs WHERE user_id = ?1 AND community_id = ?2",
                "DELETE FROM email_prefs WHERE user_id = ?1 AND community_id = ?2",
                "DELETE FROM member_field_values WHERE user_id = ?1 AND community_id = ?2",
                "DELETE FROM memberships WHERE user_id = ?1 AND community_id = ?2",
            ] {
                w.tx.prepare_cached(sql)?
                    .execute(params![user, community])?;
            }
            record(
                w,
                &viewer,
                AuditAction::MemberDeleted,
                Target::Member(user),
                serde_json::Value::Null,
                serde_json::json!({ "username": name, "posts_deleted": deleted }),
                None,
            )?;
            Ok(deleted)
        })
    }
}
