//! "Start private, open later": invite links and join requests.
//!
//! Invite-only communities grow through invite links (optional expiry and
//! use limit, inviter recorded, revocable); communities in approval mode
//! take join requests that admins approve or decline. Opening up later is a
//! settings change (`public_access`, registration mode): no content moves.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::{from_millis, to_millis};
use crate::community::RegistrationMode;
use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::Forum;
use crate::ids::{CommunityId, GroupId, TopicId, UserId};
use crate::member::{Member, insert_membership, load_member, membership};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Role};
use crate::store::{OptionalExt, parsed};
use crate::text::check_len;

/// An invite link's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// Its id.
    pub id: i64,
    /// The community it admits to.
    pub community: CommunityId,
    /// The secret in the link (22 URL-safe characters, 128 random bits).
    pub code: String,
    /// The role new members get.
    pub role: Role,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// How many people may use it.
    pub max_uses: Option<u32>,
    /// How many have.
    pub uses: u32,
    /// Revoked by an admin.
    pub revoked: bool,
    /// Groups the new member joins with it.
    pub groups: Vec<GroupId>,
    /// A topic to show the new member first.
    pub topic: Option<TopicId>,
}

/// What [`Forum::create_invite`] needs.
#[derive(Debug, Clone, Default)]
pub struct NewInvite {
    /// Valid for this long (`None`: no expiry).
    pub expires_in: Option<time::Duration>,
    /// Valid until exactly then (wins over `expires_in`; must be later
    /// than now).
    pub expires_at: Option<OffsetDateTime>,
    /// At most this many uses (`None`: unlimited).
    pub max_uses: Option<u32>,
    /// Role for new members; `None` means [`Role::Member`]. Only owners may
    /// invite with a role above member.
    pub role: Option<Role>,
    /// Groups the new member joins (admins only: they manage groups).
    pub groups: Vec<GroupId>,
    /// A topic to show the new member first; one the inviter may read.
    pub topic: Option<TopicId>,
}

/// A pending request to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRequest {
    /// Who asks.
    pub user: crate::topic::UserRef,
    /// What they wrote.
    pub message: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

fn new_code() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| Error::Storage(format!("no randomness for an invite code: {e}")))?;
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits: u128 = u128::from_le_bytes(bytes);
    Ok((0..22)
        .map(|_| {
            let c = ALPHABET[(bits & 63) as usize] as char;
            bits >>= 6;
            c
        })
        .collect())
}

fn invite_row(r: &db::Row<'_>) -> db::Result<Invite> {
    Ok(Invite {
        id: r.get(0)?,
        community: r.get(1)?,
        code: r.get(2)?,
        role: parsed(r, 3, Role::parse)?,
        created_by: r.get(4)?,
        created_at: from_millis(r.get(5)?),
        expires_at: r.get::<_, Option<i64>>(6)?.map(from_millis),
        max_uses: r.get::<_, Option<u32>>(7)?,
        uses: r.get(8)?,
        revoked: r.get::<_, Option<i64>>(9)?.is_some(),
        groups: Vec::new(),
        topic: r.get(10)?,
    })
}

/// An invite's groups, filled in after its row.
fn with_groups(conn: &Conn, mut invite: Invite) -> Result<Invite> {
    invite.groups = conn
        .prepare_cached(
            "SELECT group_id FROM invite_groups WHERE invite_id = ?1 ORDER BY group_id",
        )?
        .query_map([invite.id], |r| r.get(0))?
        .collect::<db::Result<_>>()?;
    Ok(invite)
}

const INVITE_COLUMNS: &str = "id, community_id, code, role, created_by, created_at, expires_at, max_uses, uses, revoked_at, topic_id";

impl Forum {
    /// Creates an invite link. Moderators and admins.
    pub fn create_invite(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewInvite,
    ) -> Result<Invite> {
        let role = new.role.unwrap_or(Role::Member);
        if new.max_uses == Some(0) {
            return Err(Error::invalid(
                "max_uses",
                "must be at least 1 (or none for unlimited)",
            ));
        }
        if new.expires_in.is_some_and(|d| d <= time::Duration::ZERO) {
            return Err(Error::invalid("expires_in", "must be positive"));
        }
        let code = new_code()?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_moderator()?;
            if role != Role::Member && !(viewer.system || viewer.role == Some(Role::Owner)) {
                return Err(Error::forbidden("only owners invite with a role above member"));
            }
            if !new.groups.is_empty() {
                viewer.require_admin()?;
            }
            for g in &new.groups {
                let ours: bool = w
                    .tx
                    .prepare_cached("SELECT EXISTS(SELECT 1 FROM groups WHERE id = ?1 AND community_id = ?2)")?
                    .query_row(params![g, community], |r| r.get(0))?;
                if !ours {
                    return Err(Error::not_found("group"));
                }
            }
            if let Some(t) = new.topic {
                // One the inviter may read (a topic merged away is not).
                crate::topic::topic_state(w.tx, &viewer, t).map_err(|e| match e {
                    Error::Moved { .. } => Error::not_found("topic"),
                    e => e,
                })?;
            }
            if new.expires_at.is_some_and(|t| t <= w.now) {
                return Err(Error::invalid("expires_at", "must be in the future"));
            }
            let expires = new
                .expires_at
                .or_else(|| new.expires_in.map(|d| w.now + d))
                .map(to_millis);
            let id: i64 = w.tx.prepare_cached(
                "INSERT INTO invites (community_id, code, role, created_by, created_at, expires_at, max_uses, topic_id)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) RETURNING id",
            )?
            .query_row(
                params![community, code, role.as_str(), viewer.user, w.now_ms(), expires, new.max_uses, new.topic],
                |r| r.get(0),
            )?;
            for g in &new.groups {
                w.tx.prepare_cached(
                    "INSERT INTO invite_groups (invite_id, group_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                )?
                .execute(params![id, g])?;
            }
            load_invite(w.tx, &code)
        })
    }

    /// The community's invites, newest first. Moderators and admins.
    pub fn invites(&self, actor: &Actor, community: CommunityId) -> Result<Vec<Invite>> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?
                .require_moderator()?;
            conn.prepare_cached(&format!(
                "SELECT {INVITE_COLUMNS} FROM invites WHERE community_id = ?1 ORDER BY id DESC"
            ))?
            .query_map([community], invite_row)?
            .collect::<db::Result<Vec<_>>>()?
            .into_iter()
            .map(|i| with_groups(conn, i))
            .collect()
        })
    }

    /// Revokes an invite so it no longer admits anyone. Moderators and admins.
    pub fn revoke_invite(&self, actor: &Actor, community: CommunityId, invite: i64) -> Result<()> {
        self.write(|w| {
            self.viewer_in(w, actor, community)?.require_moderator()?;
            let changed = w
                .tx
                .prepare_cached(
                    "UPDATE invites SET revoked_at = ?3 WHERE id = ?1 AND community_id = ?2 AND revoked_at IS NULL",
                )?
                .execute(params![invite, community, w.now_ms()])?;
            if changed == 0 {
                return Err(Error::not_found("invite"));
            }
            Ok(())
        })
    }

    /// The topic an invite leads to, if it names one (for whoever holds
    /// the code: where to show a new member first). `NotFound` for an
    /// unknown code.
    pub fn invite_topic(&self, code: &str) -> Result<Option<TopicId>> {
        self.read(|conn, _| Ok(load_invite(conn, code)?.topic))
    }

    /// Joins the community an invite code belongs to, whatever its
    /// registration mode. Fails with `Invalid` (field `invite`) for an
    /// unknown, expired, used-up or revoked code.
    pub fn accept_invite(&self, actor: &Actor, code: &str) -> Result<Member> {
        let Actor::User(user) = *actor else {
            return Err(Error::forbidden("sign in or sign up to accept an invite"));
        };
        self.write(|w| {
            let bad = |why: &str| Error::invalid("invite", why.to_string());
            let invite = load_invite(w.tx, code).map_err(|e| match e {
                Error::NotFound { .. } => bad("this invite link is not valid"),
                e => e,
            })?;
            if invite.revoked {
                return Err(bad("this invite was revoked; ask for a new one"));
            }
            if invite.expires_at.is_some_and(|t| t <= w.now) {
                return Err(bad("this invite has expired; ask for a new one"));
            }
            if invite.max_uses.is_some_and(|m| invite.uses >= m) {
                return Err(bad("this invite has been used up; ask for a new one"));
            }
            if membership(w.tx, invite.community, user)?.is_some() {
                return Err(Error::conflict("already a member"));
            }
            w.tx.prepare_cached("UPDATE invites SET uses = uses + 1 WHERE id = ?1")?
                .execute([invite.id])?;
            w.tx.prepare_cached(
                "DELETE FROM join_requests WHERE community_id = ?1 AND user_id = ?2",
            )?
            .execute(params![invite.community, user])?;
            insert_membership(w, invite.community, user, invite.role, invite.created_by)?;
            for g in &invite.groups {
                w.tx.prepare_cached(
                    "INSERT INTO group_members (group_id, user_id, added_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?
                .execute(params![g, user, w.now_ms()])?;
            }
            load_member(w.tx, invite.community, user)
        })
    }

    /// Asks to join a community that approves new members. `message` (up to
    /// 1,000 characters) is shown to the admins.
    pub fn request_to_join(
        &self,
        actor: &Actor,
        community: CommunityId,
        message: &str,
    ) -> Result<()> {
        let Actor::User(user) = *actor else {
            return Err(Error::forbidden("sign in to ask to join"));
        };
        check_len("message", message, 0, 1000)?;
        self.write(|w| {
            let c = crate::community::load(w.tx, community)?;
            if c.settings.registration != RegistrationMode::Approval {
                return Err(Error::invalid("community", "this community does not take join requests"));
            }
            if membership(w.tx, community, user)?.is_some() {
                return Err(Error::conflict("already a member"));
            }
            let pending: bool = w
                .tx
                .prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM join_requests WHERE community_id = ?1 AND user_id = ?2 AND decided_at IS NULL)",
                )?
                .query_row(params![community, user], |r| r.get(0))?;
            if pending {
                return Err(Error::conflict("your request is waiting for an admin"));
            }
            w.tx.prepare_cached(
                "INSERT INTO join_requests (community_id, user_id, message, created_at)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (community_id, user_id) DO UPDATE SET
                   message = excluded.message, created_at = excluded.created_at,
                   decided_at = NULL, decided_by = NULL, approved = NULL, reason = NULL",
            )?
            .execute(params![community, user, message.trim(), w.now_ms()])?;
            let mut e = NewEvent::new(EventKind::JoinRequested, Audience::Staff);
            e.actor = Some(user);
            e.subject = Some(user);
            w.emit(community, e)
        })
    }

    /// Pending join requests, oldest first. Admins only.
    pub fn join_requests(
        &self,
        actor: &Actor,
        community: CommunityId,
        page: &PageRequest,
    ) -> Result<Page<JoinRequest>> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?.require_admin()?;
            let [after_at, after_user] = match &page.after {
                Some(c) => c.parts::<2>()?,
                None => [i64::MIN, i64::MIN],
            };
            let limit = page.limit();
            let rows: Vec<(JoinRequest, i64)> = conn
                .prepare_cached(
                    "SELECT u.id, u.username, u.display_name, u.avatar_url, j.message, j.created_at
                     FROM join_requests j JOIN users u ON u.id = j.user_id
                     WHERE j.community_id = ?1 AND j.decided_at IS NULL AND (j.created_at, j.user_id) > (?2, ?3)
                     ORDER BY j.created_at, j.user_id LIMIT ?4",
                )?
                .query_map(params![community, after_at, after_user, limit as i64 + 1], |r| {
                    let at: i64 = r.get(5)?;
                    Ok((
                        JoinRequest {
                            user: crate::topic::UserRef {
                                id: r.get(0)?,
                                username: r.get(1)?,
                                display_name: r.get(2)?,
                                avatar_url: r.get(3)?,
                            },
                            message: r.get(4)?,
                            created_at: from_millis(at),
                        },
                        at,
                    ))
                })?
                .collect::<db::Result<_>>()?;
            let page = Page::from_rows(rows, limit, |(j, at)| Cursor::from_parts(&[*at, j.user.id.0]));
            Ok(Page { items: page.items.into_iter().map(|(j, _)| j).collect(), next: page.next })
        })
    }

    /// Approves (the user becomes a member) or declines a pending request,
    /// with a reason for the applicant. Admins only.
    pub fn decide_join_request(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        approve: bool,
        reason: &str,
    ) -> Result<Option<Member>> {
        check_len("reason", reason, 0, 500)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let changed = w
                .tx
                .prepare_cached(
                    "UPDATE join_requests SET decided_at = ?3, decided_by = ?4, approved = ?5, reason = ?6
                     WHERE community_id = ?1 AND user_id = ?2 AND decided_at IS NULL",
                )?
                .execute(params![community, user, w.now_ms(), viewer.user, approve, reason.trim()])?;
            if changed == 0 {
                return Err(Error::not_found("join request"));
            }
            if approve {
                insert_membership(w, community, user, Role::Member, viewer.user)?;
                return Ok(Some(load_member(w.tx, community, user)?));
            }
            let mut e = NewEvent::new(EventKind::JoinDeclined, Audience::Staff);
            e.actor = viewer.user;
            e.subject = Some(user);
            e.data = serde_json::json!({ "reason": reason.trim() });
            w.emit(community, e)?;
            Ok(None)
        })
    }
}

fn load_invite(conn: &Conn, code: &str) -> Result<Invite> {
    conn.prepare_cached(&format!(
        "SELECT {INVITE_COLUMNS} FROM invites WHERE code = ?1"
    ))?
    .query_row([code], invite_row)
    .found("invite")
    .and_then(|i| with_groups(conn, i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_random_and_url_safe() {
        let a = new_code().expect("code");
        let b = new_code().expect("code");
        assert_eq!(a.len(), 22);
        assert_ne!(a, b);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
    }
}
