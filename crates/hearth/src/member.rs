//! Users, memberships, roles and groups.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::AuditAction;
use crate::clock::{from_millis, to_millis};
use crate::community::RegistrationMode;
use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::{Forum, Write};
use crate::ids::{CommunityId, GroupId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Role, Viewer};
use crate::store::{OptionalExt, optional, parsed};
use crate::text::{check_len, check_name, check_url, validate_username};
use crate::topic::UserRef;
use crate::trust::TrustLevel;

/// A user account. Accounts are global; what a user is in a community is
/// their [`Member`] record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// Unique (case-insensitively) handle, as the user typed it.
    pub username: String,
    /// Display name (may be empty).
    pub display_name: String,
    /// Short bio, Markdown (see [`Forum::render_bio`]).
    pub bio: String,
    /// Avatar image URL.
    pub avatar_url: Option<String>,
    /// Their website (an `http(s)` URL), or empty.
    pub website: String,
    /// Where they are, as they put it (free text), or empty.
    pub location: String,
    /// When the account was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Last time the user was seen.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_seen_at: Option<OffsetDateTime>,
}

/// What [`Forum::create_user`] needs.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// See [`validate_username`](crate::validate_username).
    pub username: String,
    /// Up to 60 characters.
    pub display_name: String,
}

impl NewUser {
    /// A user with this username and no display name.
    pub fn new(username: &str) -> Self {
        NewUser {
            username: username.to_string(),
            display_name: String::new(),
        }
    }
}

/// Changes to a profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// Up to 60 characters.
    pub display_name: Option<String>,
    /// Up to 3,000 characters of plain text.
    pub bio: Option<String>,
    /// An `http(s)` URL, or empty to remove.
    pub avatar_url: Option<String>,
    /// An `http(s)` URL of up to 255 characters, or empty to remove.
    pub website: Option<String>,
    /// Up to 100 characters on one line, or empty to remove.
    pub location: Option<String>,
}

/// A user as a member of one community.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The account.
    pub user: User,
    /// The community.
    pub community: CommunityId,
    /// Role in this community.
    pub role: Role,
    /// When they joined.
    #[serde(with = "time::serde::rfc3339")]
    pub joined_at: OffsetDateTime,
    /// Silenced (may read, may not post) until then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub silenced_until: Option<OffsetDateTime>,
    /// Suspended (treated as signed out) until then.
    #[serde(with = "time::serde::rfc3339::option")]
    pub suspended_until: Option<OffsetDateTime>,
    /// Why they were silenced (shown to them).
    pub silence_reason: Option<String>,
    /// Why they were suspended.
    pub suspend_reason: Option<String>,
    /// Their trust level here.
    pub trust_level: TrustLevel,
    /// Deactivated by an admin then: treated as signed out here until
    /// activated again ([`Forum::set_member_active`]).
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub deactivated_at: Option<OffsetDateTime>,
}

/// A named group of members, e.g. "vendors" or "mentors".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Its id.
    pub id: GroupId,
    /// Its community.
    pub community: CommunityId,
    /// Unique (case-insensitively) in the community.
    pub name: String,
    /// Description.
    pub description: String,
    /// How many members it has.
    pub member_count: i64,
}

const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.bio, u.avatar_url, u.created_at, u.last_seen_at,
     u.website, u.location";

/// How many columns [`USER_COLUMNS`] selects.
const USER_WIDTH: usize = 9;

fn user_from_row(r: &db::Row<'_>, at: usize) -> db::Result<User> {
    Ok(User {
        id: r.get(at)?,
        username: r.get(at + 1)?,
        display_name: r.get(at + 2)?,
        bio: r.get(at + 3)?,
        avatar_url: r.get(at + 4)?,
        created_at: from_millis(r.get(at + 5)?),
        last_seen_at: r.get::<_, Option<i64>>(at + 6)?.map(from_millis),
        website: r.get(at + 7)?,
        location: r.get(at + 8)?,
    })
}

impl Forum {
    /// Creates a user account (sign-up is the application's business; this
    /// only records the account). Fails with `Conflict` if the username is
    /// taken in any letter case.
    pub fn create_user(&self, new: NewUser) -> Result<User> {
        validate_username(&new.username)?;
        check_name("display_name", &new.display_name, 0, 60)?;
        self.store
            .write(|tx| insert_user(tx, &new, to_millis(self.now())))
    }

    /// An account by id, for the application (authentication, admin tools).
    /// End-user reads go through [`Forum::member`].
    pub fn user(&self, id: UserId) -> Result<User> {
        self.read(|conn, _| load_user(conn, id))
    }

    /// An account by username (any letter case), for the application.
    pub fn user_by_username(&self, username: &str) -> Result<User> {
        self.read(|conn, _| {
            let id: UserId = conn
                .prepare_cached("SELECT id FROM users WHERE username_lower = ?1")?
                .query_row([username.to_ascii_lowercase()], |r| r.get(0))
                .found("user")?;
            load_user(conn, id)
        })
    }

    /// Updates a profile. A user may update their own; the application
    /// ([`Actor::System`]) anyone's.
    pub fn update_profile(
        &self,
        actor: &Actor,
        user: UserId,
        update: ProfileUpdate,
    ) -> Result<User> {
        match actor {
            Actor::System => {}
            Actor::User(u) if *u == user => {}
            _ => return Err(Error::forbidden("you can only edit your own profile")),
        }
        if let Some(d) = &update.display_name {
            check_name("display_name", d, 0, 60)?;
        }
        if let Some(b) = &update.bio {
            check_len("bio", b, 0, 3000)?;
        }
        if let Some(a) = update.avatar_url.as_deref().filter(|a| !a.is_empty()) {
            crate::text::check_image_url("avatar_url", a)?;
        }
        if let Some(w) = update
            .website
            .as_deref()
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            check_len("website", w, 0, 255)?;
            check_url("website", w)?;
        }
        if let Some(l) = &update.location {
            check_name("location", l.trim(), 0, 100)?;
        }
        self.write(|w| {
            load_user(w.tx, user)?;
            w.tx.prepare_cached(
                "UPDATE users SET display_name = coalesce(?2, display_name), bio = coalesce(?3, bio),
                        avatar_url = CASE WHEN CAST(?4 AS TEXT) IS NULL THEN avatar_url
                                          WHEN ?4 = '' THEN NULL ELSE ?4 END,
                        website = coalesce(?5, website), location = coalesce(?6, location)
                 WHERE id = ?1",
            )?
            .execute(params![
                user,
                update.display_name.as_deref().map(str::trim),
                update.bio.as_deref().map(str::trim),
                update.avatar_url,
                update.website.as_deref().map(str::trim),
                update.location.as_deref().map(str::trim)
            ])?;
            let communities: Vec<CommunityId> = {
                let mut stmt = w
                    .tx
                    .prepare_cached("SELECT community_id FROM memberships WHERE user_id = ?1")?;
                stmt.query_map([user], |r| r.get(0))?
                    .collect::<db::Result<_>>()?
            };
            for c in communities {
                let mut e = NewEvent::new(EventKind::ProfileUpdated, Audience::Members);
                e.actor = Some(user);
                e.subject = Some(user);
                w.emit(c, e)?;
            }
            load_user(w.tx, user)
        })
    }

    /// Renames an account: the user themselves, or the application
    /// ([`Actor::System`]). The new name follows the rules of
    /// [`validate_username`](crate::validate_username) and is free in any
    /// letter case (`Conflict` otherwise); posts keep their text, so old
    /// `@mentions` keep the old name, as on Discourse.
    pub fn change_username(&self, actor: &Actor, user: UserId, username: &str) -> Result<User> {
        match actor {
            Actor::System => {}
            Actor::User(u) if *u == user => {}
            _ => return Err(Error::forbidden("you can only rename your own account")),
        }
        let username = username.trim();
        validate_username(username)?;
        self.write(|w| {
            let before = load_user(w.tx, user)?;
            if before.username == username {
                return Ok(before);
            }
            let lower = username.to_ascii_lowercase();
            let taken: bool =
                w.tx.prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM users WHERE username_lower = ?1 AND id <> ?2)",
                )?
                .query_row(params![lower, user], |r| r.get(0))?;
            if taken {
                return Err(Error::conflict(format!("username {username:?} is taken")));
            }
            w.tx.prepare_cached(
                "UPDATE users SET username = ?2, username_lower = ?3 WHERE id = ?1",
            )?
            .execute(params![user, username, lower])?;
            let communities: Vec<CommunityId> =
                w.tx.prepare_cached("SELECT community_id FROM memberships WHERE user_id = ?1")?
                    .query_map([user], |r| r.get(0))?
                    .collect::<db::Result<_>>()?;
            for c in communities {
                let mut e = NewEvent::new(EventKind::ProfileUpdated, Audience::Members);
                e.actor = Some(user);
                e.subject = Some(user);
                e.data = serde_json::json!({ "username": username, "was": before.username });
                w.emit(c, e)?;
            }
            load_user(w.tx, user)
        })
    }

    /// Records that a user was active now (at most one write per minute).
    pub fn touch_last_seen(&self, user: UserId) -> Result<()> {
        self.store.write(|tx| {
            let now = to_millis(self.now());
            // `CAST`: PostgreSQL would infer `?2 - 60000` as a 32-bit
            // integer, which a time in milliseconds overflows.
            tx.prepare_cached(
                "UPDATE users SET last_seen_at = ?2
                 WHERE id = ?1 AND (last_seen_at IS NULL OR last_seen_at < CAST(?2 AS BIGINT) - 60000)",
            )?
            .execute(params![user, now])?;
            Ok(())
        })
    }

    /// Joins a community with open registration as a [`Role::Member`].
    pub fn join(&self, actor: &Actor, community: CommunityId) -> Result<Member> {
        let Actor::User(user) = *actor else {
            return Err(Error::forbidden("sign in to join"));
        };
        self.write(|w| {
            let c = crate::community::load(w.tx, community)?;
            if membership(w.tx, community, user)?.is_some() {
                return Err(Error::conflict("already a member"));
            }
            match c.settings.registration {
                RegistrationMode::Open => {}
                RegistrationMode::InviteOnly => {
                    // Private communities do not reveal themselves.
                    if !c.settings.public_access {
                        return Err(Error::not_found("community"));
                    }
                    return Err(Error::forbidden(
                        "this community is invite-only; ask an admin for an invite",
                    ));
                }
                RegistrationMode::Approval => {
                    return Err(Error::forbidden(
                        "this community approves new members; send a join request",
                    ));
                }
            }
            insert_membership(w, community, user, Role::Member, Some(user))?;
            load_member(w.tx, community, user)
        })
    }

    /// Adds a user to a community with a role. Admins only (owners to add
    /// owners).
    pub fn add_member(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        role: Role,
    ) -> Result<Member> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            check_can_grant(&viewer, role)?;
            load_user(w.tx, user)?;
            if membership(w.tx, community, user)?.is_some() {
                return Err(Error::conflict("already a member"));
            }
            insert_membership(w, community, user, role, viewer.user)?;
            load_member(w.tx, community, user)
        })
    }

    /// Changes a member's role. Admins only; only owners grant or revoke
    /// ownership, and the last owner cannot be demoted.
    pub fn set_role(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        role: Role,
    ) -> Result<Member> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let current = membership(w.tx, community, user)?.ok_or(Error::not_found("member"))?;
            check_can_grant(&viewer, role)?;
            check_can_grant(&viewer, current)?;
            if current == Role::Owner && role != Role::Owner {
                let owners: i64 = w
                    .tx
                    .prepare_cached("SELECT count(*) FROM memberships WHERE community_id = ?1 AND role = 'owner'")?
                    .query_row([community], |r| r.get(0))?;
                if owners <= 1 {
                    return Err(Error::conflict("a community needs at least one owner"));
                }
            }
            w.tx.prepare_cached("UPDATE memberships SET role = ?3 WHERE community_id = ?1 AND user_id = ?2")?
                .execute(params![community, user, role.as_str()])?;
            let mut e = NewEvent::new(EventKind::MemberRoleChanged, Audience::Members);
            e.actor = viewer.user;
            e.subject = Some(user);
            e.data = serde_json::json!({ "from": current.as_str(), "to": role.as_str() });
            w.emit(community, e)?;
            crate::audit::record(
                w,
                &viewer,
                AuditAction::RoleChanged,
                crate::audit::Target::Member(user),
                serde_json::json!({ "role": current.as_str() }),
                serde_json::json!({ "role": role.as_str() }),
                None,
            )?;
            load_member(w.tx, community, user)
        })
    }

    /// Silences (may read, may not post) and/or suspends (treated as signed
    /// out) a member until the given times; `None` lifts either. Moderators
    /// only, and never against moderators or admins. Prefer
    /// [`Forum::silence_member`] and [`Forum::suspend_member`], which keep a
    /// reason.
    pub fn set_member_state(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        silenced_until: Option<OffsetDateTime>,
        suspended_until: Option<OffsetDateTime>,
    ) -> Result<Member> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            sanction(w, &viewer, user, Sanction::Silence, silenced_until, None)?;
            sanction(w, &viewer, user, Sanction::Suspend, suspended_until, None)?;
            load_member(w.tx, community, user)
        })
    }

    /// Silences a member until `until` (they may read but not post), or
    /// lifts a silence with `None`. Moderators only, never against
    /// moderators or admins; the reason is kept, shown to the member and
    /// audited.
    pub fn silence_member(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        until: Option<OffsetDateTime>,
        reason: &str,
    ) -> Result<Member> {
        self.sanction_member(actor, community, user, Sanction::Silence, until, reason)
    }

    /// Suspends a member until `until` (they may not sign in: the engine
    /// treats them as a guest), or lifts it with `None`. As
    /// [`Forum::silence_member`] otherwise.
    pub fn suspend_member(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        until: Option<OffsetDateTime>,
        reason: &str,
    ) -> Result<Member> {
        self.sanction_member(actor, community, user, Sanction::Suspend, until, reason)
    }

    fn sanction_member(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
        which: Sanction,
        until: Option<OffsetDateTime>,
        reason: &str,
    ) -> Result<Member> {
        crate::audit::check_reason(Some(reason))?;
        if until.is_some() && reason.trim().is_empty() {
            return Err(Error::invalid("reason", "tell the member why"));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            sanction(w, &viewer, user, which, until, Some(reason))?;
            load_member(w.tx, community, user)
        })
    }

    /// A member's profile, for anyone who may read the community.
    pub fn member(&self, actor: &Actor, community: CommunityId, user: UserId) -> Result<Member> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            load_member(conn, community, user)
        })
    }

    /// Up to [`MAX_MEMBERS_BY_IDS`] members by user id in one read, in
    /// the order asked: each as [`Forum::member`] answers it (`None` where
    /// it is `NotFound`: not a member of the community, or no such user).
    /// A user asked for twice is answered twice.
    pub fn members_by_ids(
        &self,
        actor: &Actor,
        community: CommunityId,
        users: &[UserId],
    ) -> Result<Vec<Option<Member>>> {
        if users.len() > MAX_MEMBERS_BY_IDS {
            return Err(Error::invalid(
                "users",
                format!("at most {MAX_MEMBERS_BY_IDS} ids at once"),
            ));
        }
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            let ids: Vec<i64> = users.iter().map(|u| u.0).collect();
            let mut found: std::collections::HashMap<UserId, Member> =
                std::collections::HashMap::with_capacity(ids.len());
            let sql = format!(
                "SELECT {USER_COLUMNS}, m.role, m.joined_at, m.silenced_until, m.suspended_until,
                        m.silence_reason, m.suspend_reason, m.trust_level, m.deactivated_at
                 FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.community_id = ?1 AND m.user_id IN {}",
                db::IdChunk::placeholders(2)
            );
            for chunk in db::IdChunk::split(&ids) {
                let mut stmt = conn.prepare_cached(&sql)?;
                for m in stmt.query_map(chunk.params(&[&community]), |r| {
                    member_from_row(r, community)
                })? {
                    let m = m?;
                    found.insert(m.user.id, m);
                }
            }
            Ok(users.iter().map(|u| found.get(u).cloned()).collect())
        })
    }

    /// A member's profile by username (any letter case).
    pub fn member_by_username(
        &self,
        actor: &Actor,
        community: CommunityId,
        username: &str,
    ) -> Result<Member> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, community)?;
            let id: UserId = conn
                .prepare_cached(
                    "SELECT u.id FROM users u JOIN memberships m ON m.user_id = u.id
                     WHERE u.username_lower = ?1 AND m.community_id = ?2",
                )?
                .query_row(params![username.to_ascii_lowercase(), community], |r| {
                    r.get(0)
                })
                .found("member")?;
            load_member(conn, community, id)
        })
    }

    /// The member directory, by username. Members only.
    pub fn members(
        &self,
        actor: &Actor,
        community: CommunityId,
        page: &PageRequest,
    ) -> Result<Page<Member>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if !viewer.is_member() {
                return Err(Error::forbidden(
                    "sign in as a member to see the member directory",
                ));
            }
            let after = match &page.after {
                Some(c) => c.parts::<1>()?[0],
                None => 0,
            };
            let limit = page.limit();
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS}, m.role, m.joined_at, m.silenced_until, m.suspended_until,
                m.silence_reason, m.suspend_reason, m.trust_level, m.deactivated_at
                 FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.community_id = ?1 AND u.id > ?2
                 ORDER BY u.id LIMIT ?3"
            ))?;
            let rows = stmt.query_map(params![community, after, limit as i64 + 1], |r| {
                member_from_row(r, community)
            })?;
            let out = rows.collect::<db::Result<Vec<_>>>()?;
            Ok(Page::from_rows(out, limit, |m: &Member| {
                Cursor::from_parts(&[m.user.id.0])
            }))
        })
    }

    /// The community's system user: the account that automation and
    /// Discourse's `Api-Username: system` act as — an admin of the
    /// community, shown as `system`, earning no points. One account for
    /// the whole forum (the username is reserved), made on first use,
    /// with a membership per community.
    pub fn system_user(&self, community: CommunityId) -> Result<User> {
        // Usually there already: one statement, no transaction.
        let ready: Option<User> = self.peek(|conn, _| {
            optional(
                conn.prepare_cached(&format!(
                    "SELECT {USER_COLUMNS} FROM users u JOIN memberships m ON m.user_id = u.id
                     WHERE u.username_lower = ?1 AND m.community_id = ?2 AND m.role = 'admin'"
                ))?
                .query_row(params![SYSTEM_USERNAME, community], |r| user_from_row(r, 0)),
            )
        })?;
        if let Some(user) = ready {
            return Ok(user);
        }
        self.write(|w| {
            let exists: bool = w
                .tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM communities WHERE id = ?1)")?
                .query_row([community], |r| r.get(0))?;
            if !exists {
                return Err(Error::not_found("community"));
            }
            let found: Option<UserId> = optional(
                w.tx.prepare_cached("SELECT id FROM users WHERE username_lower = ?1")?
                    .query_row([SYSTEM_USERNAME], |r| r.get(0)),
            )?;
            let user = match found {
                Some(u) => u,
                None => {
                    let new = NewUser {
                        username: SYSTEM_USERNAME.into(),
                        display_name: "System".into(),
                    };
                    insert_user(w.tx, &new, w.now_ms())?.id
                }
            };
            match membership(w.tx, community, user)? {
                None => insert_membership(w, community, user, Role::Admin, None)?,
                Some(Role::Admin | Role::Owner) => {}
                Some(_) => {
                    w.tx.prepare_cached(
                        "UPDATE memberships SET role = 'admin' WHERE community_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![community, user])?;
                }
            }
            load_user(w.tx, user)
        })
    }

    /// Members as staff review them: filtered, ordered and paged by
    /// offset (at most [`MAX_MEMBER_LIST`] per call). Moderators and
    /// admins; the filter by e-mail address admins only.
    pub fn member_list(
        &self,
        actor: &Actor,
        community: CommunityId,
        query: &MemberQuery,
    ) -> Result<Vec<Member>> {
        let limit = query.limit.min(MAX_MEMBER_LIST);
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if !viewer.is_moderator() {
                return Err(Error::forbidden(
                    "only moderators and admins list members this way",
                ));
            }
            // Whether an address belongs to a member is the admins' to ask.
            if query.email.is_some() && !viewer.is_admin() {
                return Err(Error::forbidden(
                    "only admins look members up by e-mail address",
                ));
            }
            let filter = match query.filter {
                MemberFilter::All => "TRUE",
                MemberFilter::New => "m.trust_level = 0",
                MemberFilter::Staff => "m.role IN ('owner', 'admin', 'moderator')",
                MemberFilter::Suspended => "m.suspended_until > ?3",
                MemberFilter::Silenced => "m.silenced_until > ?3",
                MemberFilter::Active => "m.deactivated_at IS NULL",
                MemberFilter::Deactivated => "m.deactivated_at IS NOT NULL",
            };
            let dir = if query.ascending { "ASC" } else { "DESC" };
            let order = match query.order {
                MemberOrder::Joined => format!("m.joined_at {dir}"),
                // Never seen: last, whichever the direction.
                MemberOrder::Seen => format!("(u.last_seen_at IS NULL), u.last_seen_at {dir}"),
                MemberOrder::Username => format!("u.username_lower {dir}"),
                MemberOrder::TrustLevel => format!("m.trust_level {dir}"),
            };
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT {USER_COLUMNS}, m.role, m.joined_at, m.silenced_until, m.suspended_until,
                        m.silence_reason, m.suspend_reason, m.trust_level, m.deactivated_at
                 FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.community_id = ?1 AND {filter}
                   AND (CAST(?2 AS TEXT) IS NULL OR m.user_id =
                        (SELECT l.user_id FROM logins l WHERE l.email_lower = ?2))
                   AND CAST(?3 AS BIGINT) IS NOT NULL
                 ORDER BY {order}, u.id {dir} LIMIT ?4 OFFSET ?5"
            ))?;
            let email = query.email.as_deref().map(|e| e.trim().to_lowercase());
            let rows = stmt.query_map(
                params![
                    community,
                    email,
                    now,
                    limit as i64,
                    i64::try_from(query.offset).unwrap_or(i64::MAX)
                ],
                |r| member_from_row(r, community),
            )?;
            Ok(rows.collect::<db::Result<Vec<_>>>()?)
        })
    }

    /// Creates a group. Admins only.
    pub fn create_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        name: &str,
        description: &str,
    ) -> Result<Group> {
        check_name("name", name, 1, 60)?;
        check_len("description", description, 0, 1000)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let taken: bool = w
                .tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM groups WHERE community_id = ?1 AND name_lower = ?2)")?
                .query_row(params![community, name.trim().to_lowercase()], |r| r.get(0))?;
            if taken {
                return Err(Error::conflict(format!("group {name:?} exists")));
            }
            w.tx.prepare_cached(
                "INSERT INTO groups (community_id, name, name_lower, description, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![community, name.trim(), name.trim().to_lowercase(), description.trim(), w.now_ms()])?;
            let id = GroupId(w.tx.last_insert_rowid()?);
            let mut e = NewEvent::new(EventKind::GroupCreated, Audience::Staff);
            e.actor = viewer.user;
            e.data = serde_json::json!({ "group": id });
            w.emit(community, e)?;
            load_group(w.tx, community, id)
        })
    }

    /// Adds a member to a group; returns whether they were added (`false`:
    /// already in it). Admins only.
    pub fn add_to_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
        user: UserId,
    ) -> Result<bool> {
        Ok(!self
            .add_group_members(actor, community, group, &[user])?
            .is_empty())
    }

    /// Removes a member from a group; returns whether they were in it.
    /// Admins only.
    pub fn remove_from_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
        user: UserId,
    ) -> Result<bool> {
        Ok(!self
            .remove_group_members(actor, community, group, &[user])?
            .is_empty())
    }

    /// Adds members to a group in one write (all or none: a user who is
    /// not a member of the community fails the call); returns those who
    /// were not in it already. At most [`MAX_GROUP_CHANGE`] users per
    /// call. Admins only.
    pub fn add_group_members(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
        users: &[UserId],
    ) -> Result<Vec<UserId>> {
        self.change_group(actor, community, group, users, true)
    }

    /// Removes members from a group in one write; returns those who were
    /// in it. As [`Forum::add_group_members`] otherwise.
    pub fn remove_group_members(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
        users: &[UserId],
    ) -> Result<Vec<UserId>> {
        self.change_group(actor, community, group, users, false)
    }

    fn change_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
        users: &[UserId],
        add: bool,
    ) -> Result<Vec<UserId>> {
        if users.len() > MAX_GROUP_CHANGE {
            return Err(Error::invalid(
                "users",
                format!("at most {MAX_GROUP_CHANGE} per call; split the list"),
            ));
        }
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            load_group(w.tx, community, group)?;
            let mut changed = Vec::new();
            for &user in users {
                membership(w.tx, community, user)?.ok_or(Error::not_found("member"))?;
                let n = if add {
                    w.tx.prepare_cached(
                        "INSERT INTO group_members (group_id, user_id, added_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute(params![group, user, w.now_ms()])?
                } else {
                    w.tx.prepare_cached(
                        "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![group, user])?
                };
                if n == 0 {
                    continue;
                }
                changed.push(user);
                let kind = if add {
                    EventKind::GroupMemberAdded
                } else {
                    EventKind::GroupMemberRemoved
                };
                let mut e = NewEvent::new(kind, Audience::Staff);
                e.actor = viewer.user;
                e.subject = Some(user);
                e.data = serde_json::json!({ "group": group });
                w.emit(community, e)?;
            }
            Ok(changed)
        })
    }

    /// Renames a group and/or changes its description. Admins only; the
    /// change is audited.
    pub fn update_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
        name: &str,
        description: &str,
    ) -> Result<Group> {
        check_name("name", name, 1, 60)?;
        check_len("description", description, 0, 1000)?;
        let (name, description) = (name.trim(), description.trim());
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let before = load_group(w.tx, community, group)?;
            if before.name == name && before.description == description {
                return Ok(before);
            }
            let taken: bool =
                w.tx.prepare_cached(
                    "SELECT EXISTS(SELECT 1 FROM groups
                     WHERE community_id = ?1 AND name_lower = ?2 AND id <> ?3)",
                )?
                .query_row(params![community, name.to_lowercase(), group], |r| r.get(0))?;
            if taken {
                return Err(Error::conflict(format!("group {name:?} exists")));
            }
            w.tx.prepare_cached(
                "UPDATE groups SET name = ?2, name_lower = ?3, description = ?4 WHERE id = ?1",
            )?
            .execute(params![group, name, name.to_lowercase(), description])?;
            let mut e = NewEvent::new(EventKind::GroupUpdated, Audience::Staff);
            e.actor = viewer.user;
            e.data = serde_json::json!({ "group": group });
            w.emit(community, e)?;
            crate::audit::record(
                w,
                &viewer,
                AuditAction::GroupUpdated,
                crate::audit::Target::Group(group),
                serde_json::json!({ "name": before.name, "description": before.description }),
                serde_json::json!({ "name": name, "description": description }),
                None,
            )?;
            load_group(w.tx, community, group)
        })
    }

    /// Deletes a group and its memberships (not its members). Refused with
    /// [`Error::Conflict`] while a category is restricted to it: who may
    /// see that category must be decided first, never widened or narrowed
    /// as a side effect. Admins only; audited.
    pub fn delete_group(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let before = load_group(w.tx, community, group)?;
            let guarded: Vec<String> = w
                .tx
                .prepare_cached(
                    "SELECT c.name FROM category_groups cg JOIN categories c ON c.id = cg.category_id
                     WHERE cg.group_id = ?1 ORDER BY c.name",
                )?
                .query_map([group], |r| r.get(0))?
                .collect::<db::Result<_>>()?;
            if !guarded.is_empty() {
                return Err(Error::conflict(format!(
                    "group {:?} decides who may see {}: change their access first",
                    before.name,
                    guarded
                        .iter()
                        .map(|c| format!("{c:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            w.tx.prepare_cached("DELETE FROM group_members WHERE group_id = ?1")?
                .execute([group])?;
            // Invites that would have added to it no longer do.
            w.tx.prepare_cached("DELETE FROM invite_groups WHERE group_id = ?1")?
                .execute([group])?;
            w.tx.prepare_cached("DELETE FROM groups WHERE id = ?1")?
                .execute([group])?;
            let mut e = NewEvent::new(EventKind::GroupDeleted, Audience::Staff);
            e.actor = viewer.user;
            e.data = serde_json::json!({ "group": group, "name": before.name });
            w.emit(community, e)?;
            crate::audit::record(
                w,
                &viewer,
                AuditAction::GroupDeleted,
                crate::audit::Target::Group(group),
                serde_json::json!({
                    "name": before.name,
                    "description": before.description,
                    "members": before.member_count,
                }),
                serde_json::Value::Null,
                None,
            )?;
            Ok(())
        })
    }

    /// The community's groups. Members only.
    pub fn groups(&self, actor: &Actor, community: CommunityId) -> Result<Vec<Group>> {
        self.read(|conn, now| {
            members_only(&self.viewer(conn, now, actor, community)?)?;
            let mut stmt = conn.prepare_cached(
                "SELECT id FROM groups WHERE community_id = ?1 ORDER BY name_lower",
            )?;
            let ids: Vec<GroupId> = stmt
                .query_map([community], |r| r.get(0))?
                .collect::<db::Result<_>>()?;
            ids.into_iter()
                .map(|g| load_group(conn, community, g))
                .collect()
        })
    }
    /// A group by name (case-insensitively), as [`Forum::groups`] lists
    /// it. Members only.
    pub fn group_by_name(
        &self,
        actor: &Actor,
        community: CommunityId,
        name: &str,
    ) -> Result<Group> {
        self.read(|conn, now| {
            members_only(&self.viewer(conn, now, actor, community)?)?;
            let id: GroupId = conn
                .prepare_cached(
                    "SELECT id FROM groups WHERE community_id = ?1 AND name_lower = ?2",
                )?
                .query_row(params![community, name.to_lowercase()], |r| r.get(0))
                .found("group")?;
            load_group(conn, community, id)
        })
    }

    /// The groups `actor` belongs to in `community`, by id (none for a
    /// guest or a non-member).
    pub fn own_groups(&self, actor: &Actor, community: CommunityId) -> Result<Vec<GroupId>> {
        self.peek(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let mut ids: Vec<GroupId> = viewer.groups.iter().copied().collect();
            ids.sort();
            Ok(ids)
        })
    }

    /// The groups a member belongs to, by name. Members only (as
    /// [`Forum::groups`]).
    pub fn member_groups(
        &self,
        actor: &Actor,
        community: CommunityId,
        user: UserId,
    ) -> Result<Vec<Group>> {
        self.read(|conn, now| {
            members_only(&self.viewer(conn, now, actor, community)?)?;
            let ids: Vec<GroupId> = conn
                .prepare_cached(
                    "SELECT g.id FROM groups g JOIN group_members gm ON gm.group_id = g.id
                     WHERE g.community_id = ?1 AND gm.user_id = ?2 ORDER BY g.name_lower",
                )?
                .query_map(params![community, user], |r| r.get(0))?
                .collect::<db::Result<_>>()?;
            ids.into_iter()
                .map(|g| load_group(conn, community, g))
                .collect()
        })
    }

    /// A group by id. Members only.
    pub fn group(&self, actor: &Actor, community: CommunityId, id: GroupId) -> Result<Group> {
        self.read(|conn, now| {
            members_only(&self.viewer(conn, now, actor, community)?)?;
            load_group(conn, community, id)
        })
    }

    /// A group's members by username: `limit` (capped at
    /// [`MAX_GROUP_PAGE`]) from `offset`. Members only.
    pub fn group_members(
        &self,
        actor: &Actor,
        community: CommunityId,
        group: GroupId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<GroupMember>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            members_only(&viewer)?;
            let g = load_group(conn, community, group)?;
            let created: i64 = conn
                .prepare_cached("SELECT created_at FROM groups WHERE id = ?1")?
                .query_row([g.id], |r| r.get(0))?;
            // The last post among those the viewer may read: when someone
            // last wrote in a private category is not the viewer's to know.
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT u.id, u.username, u.display_name, u.avatar_url, gm.added_at, m.joined_at,
                        u.last_seen_at,
                        (SELECT max(p.created_at) FROM posts p JOIN topics t ON t.id = p.topic_id
                         WHERE p.user_id = u.id AND t.category_id IN {}
                           AND p.deleted_at IS NULL AND p.hidden_at IS NULL
                           AND t.deleted_at IS NULL AND t.hidden_at IS NULL)
                 FROM group_members gm
                 JOIN users u ON u.id = gm.user_id
                 JOIN memberships m ON m.user_id = gm.user_id AND m.community_id = ?2
                 WHERE gm.group_id = ?1
                 ORDER BY u.username_lower LIMIT ?3 OFFSET ?4",
                viewer.readable_sql()
            ))?;
            let rows = stmt.query_map(
                params![
                    group,
                    community,
                    limit.min(MAX_GROUP_PAGE) as i64,
                    offset as i64
                ],
                |r| {
                    let added: Option<i64> = r.get(4)?;
                    let joined: i64 = r.get(5)?;
                    Ok(GroupMember {
                        user: crate::topic::user_ref(r, 0)?,
                        // Before schema v10 no time was kept: the earliest
                        // the member could have been added.
                        added_at: from_millis(added.unwrap_or(created.max(joined))),
                        last_seen_at: r.get::<_, Option<i64>>(6)?.map(from_millis),
                        last_posted_at: r.get::<_, Option<i64>>(7)?.map(from_millis),
                    })
                },
            )?;
            Ok(rows.collect::<db::Result<_>>()?)
        })
    }
}

/// Most members [`Forum::group_members`] returns at once.
pub const MAX_GROUP_PAGE: usize = 1000;

/// The system user's username ([`Forum::system_user`]); reserved, so no
/// one else can have it.
pub const SYSTEM_USERNAME: &str = "system";

/// Most members [`Forum::member_list`] returns per call.
pub const MAX_MEMBER_LIST: usize = 500;

/// Most ids [`Forum::members_by_ids`] reads at once.
pub const MAX_MEMBERS_BY_IDS: usize = 500;

/// Which members [`Forum::member_list`] lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberFilter {
    /// Everyone.
    #[default]
    All,
    /// Members at trust level 0.
    New,
    /// Moderators, admins and owners.
    Staff,
    /// Members suspended now.
    Suspended,
    /// Members silenced now.
    Silenced,
    /// Members not deactivated.
    Active,
    /// Members deactivated by an admin.
    Deactivated,
}

/// How [`Forum::member_list`] orders (ties by user id, the same way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MemberOrder {
    /// When they joined the community.
    #[default]
    Joined,
    /// When they were last seen (never seen: last).
    Seen,
    /// By username.
    Username,
    /// By trust level.
    TrustLevel,
}

/// What [`Forum::member_list`] lists.
#[derive(Debug, Clone, Default)]
pub struct MemberQuery {
    /// Which members.
    pub filter: MemberFilter,
    /// In which order.
    pub order: MemberOrder,
    /// Smallest first (default: largest, i.e. newest first).
    pub ascending: bool,
    /// Only the member with this e-mail address (any letter case).
    pub email: Option<String>,
    /// How many to skip.
    pub offset: usize,
    /// How many at most (capped at [`MAX_MEMBER_LIST`]).
    pub limit: usize,
}

/// Most users [`Forum::add_group_members`] and
/// [`Forum::remove_group_members`] take per call.
pub const MAX_GROUP_CHANGE: usize = 100;

/// A member of a group, as [`Forum::group_members`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Who.
    pub user: UserRef,
    /// When they were added to the group.
    pub added_at: OffsetDateTime,
    /// When they were last seen, if ever.
    pub last_seen_at: Option<OffsetDateTime>,
    /// When they last posted in the community (deleted posts aside), if
    /// ever.
    pub last_posted_at: Option<OffsetDateTime>,
}

fn members_only(viewer: &Viewer) -> Result<()> {
    if viewer.is_member() {
        Ok(())
    } else {
        Err(Error::forbidden("members only"))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sanction {
    Silence,
    Suspend,
}

/// Silences the author of a post a moderator rejected.
pub(crate) fn silence_in(
    w: &mut Write<'_>,
    viewer: &Viewer,
    user: UserId,
    until: Option<OffsetDateTime>,
    reason: Option<&str>,
) -> Result<()> {
    sanction(w, viewer, user, Sanction::Silence, until, reason)
}

/// Sets or lifts a silence or suspension, with an event and an audit entry.
fn sanction(
    w: &mut Write<'_>,
    viewer: &Viewer,
    user: UserId,
    which: Sanction,
    until: Option<OffsetDateTime>,
    reason: Option<&str>,
) -> Result<()> {
    viewer.require_moderator()?;
    let community = viewer.community;
    let role = membership(w.tx, community, user)?.ok_or(Error::not_found("member"))?;
    if role.is_moderator() && !viewer.system {
        return Err(Error::forbidden(
            "moderators and admins cannot be silenced or suspended",
        ));
    }
    let (column, reason_column, action) = match which {
        Sanction::Silence => (
            "silenced_until",
            "silence_reason",
            AuditAction::MemberSilenced,
        ),
        Sanction::Suspend => (
            "suspended_until",
            "suspend_reason",
            AuditAction::MemberSuspended,
        ),
    };
    let before: Option<i64> =
        w.tx.prepare_cached(&format!(
            "SELECT {column} FROM memberships WHERE community_id = ?1 AND user_id = ?2"
        ))?
        .query_row(params![community, user], |r| r.get(0))?;
    let after = until.map(to_millis);
    if before == after {
        return Ok(());
    }
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    w.tx.prepare_cached(&format!(
        "UPDATE memberships SET {column} = ?3, {reason_column} = ?4 WHERE community_id = ?1 AND user_id = ?2"
    ))?
    .execute(params![community, user, after, reason])?;
    let mut e = NewEvent::new(EventKind::MemberStateChanged, Audience::Staff);
    e.actor = viewer.user;
    e.subject = Some(user);
    e.data = serde_json::json!({ column: after, "reason": reason });
    w.emit(community, e)?;
    crate::audit::record(
        w,
        viewer,
        action,
        crate::audit::Target::Member(user),
        serde_json::json!({ column: before }),
        serde_json::json!({ column: after }),
        reason,
    )
}

fn check_can_grant(viewer: &Viewer, role: Role) -> Result<()> {
    if role == Role::Owner && !viewer.system && viewer.role != Some(Role::Owner) {
        return Err(Error::forbidden(
            "only owners can grant or revoke ownership",
        ));
    }
    Ok(())
}

pub(crate) fn insert_membership(
    w: &mut Write<'_>,
    community: CommunityId,
    user: UserId,
    role: Role,
    by: Option<UserId>,
) -> Result<()> {
    load_user(w.tx, user)?;
    w.tx.prepare_cached(
        "INSERT INTO memberships (community_id, user_id, role, joined_at, trust_since) VALUES (?1, ?2, ?3, ?4, ?4)",
    )?
    .execute(params![community, user, role.as_str(), w.now_ms()])?;
    let mut e = NewEvent::new(EventKind::MemberJoined, Audience::Members);
    e.actor = by;
    e.subject = Some(user);
    e.data = serde_json::json!({ "role": role.as_str() });
    w.emit(community, e)
}

pub(crate) fn membership(
    conn: &Conn,
    community: CommunityId,
    user: UserId,
) -> Result<Option<Role>> {
    let role: Option<String> = optional(
        conn.prepare_cached(
            "SELECT role FROM memberships WHERE community_id = ?1 AND user_id = ?2",
        )?
        .query_row(params![community, user], |r| r.get(0)),
    )?;
    role.map(|r| Role::parse(&r)).transpose()
}

/// Inserts an account (the caller validated `new`); `Conflict` if the
/// username is taken in any letter case.
pub(crate) fn insert_user(tx: &Conn, new: &NewUser, now: i64) -> Result<User> {
    let lower = new.username.to_ascii_lowercase();
    let taken: bool = tx
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE username_lower = ?1)")?
        .query_row([&lower], |r| r.get(0))?;
    if taken {
        return Err(Error::conflict(format!(
            "username {:?} is taken",
            new.username
        )));
    }
    tx.prepare_cached(
        "INSERT INTO users (username, username_lower, display_name, created_at)
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![new.username, lower, new.display_name.trim(), now])?;
    Ok(User {
        id: UserId(tx.last_insert_rowid()?),
        username: new.username.clone(),
        display_name: new.display_name.trim().to_string(),
        bio: String::new(),
        avatar_url: None,
        website: String::new(),
        location: String::new(),
        created_at: from_millis(now),
        last_seen_at: None,
    })
}

pub(crate) fn load_user(conn: &Conn, id: UserId) -> Result<User> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1"
    ))?
    .query_row([id], |r| user_from_row(r, 0))
    .found("user")
}

fn member_from_row(r: &db::Row<'_>, community: CommunityId) -> db::Result<Member> {
    // The membership's columns follow the user's.
    let m = USER_WIDTH;
    Ok(Member {
        user: user_from_row(r, 0)?,
        community,
        role: parsed(r, m, Role::parse)?,
        joined_at: from_millis(r.get(m + 1)?),
        silenced_until: r.get::<_, Option<i64>>(m + 2)?.map(from_millis),
        suspended_until: r.get::<_, Option<i64>>(m + 3)?.map(from_millis),
        silence_reason: r.get(m + 4)?,
        suspend_reason: r.get(m + 5)?,
        trust_level: TrustLevel::from_db(r.get(m + 6)?)
            .map_err(|e| db::Error::convert(m + 6, e))?,
        deactivated_at: r.get::<_, Option<i64>>(m + 7)?.map(from_millis),
    })
}

pub(crate) fn load_member(conn: &Conn, community: CommunityId, user: UserId) -> Result<Member> {
    conn.prepare_cached(&format!(
        "SELECT {USER_COLUMNS}, m.role, m.joined_at, m.silenced_until, m.suspended_until,
                m.silence_reason, m.suspend_reason, m.trust_level, m.deactivated_at
         FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.community_id = ?1 AND m.user_id = ?2"
    ))?
    .query_row(params![community, user], |r| member_from_row(r, community))
    .found("member")
}

fn load_group(conn: &Conn, community: CommunityId, id: GroupId) -> Result<Group> {
    conn.prepare_cached(
        "SELECT g.id, g.name, g.description, (SELECT count(*) FROM group_members WHERE group_id = g.id)
         FROM groups g WHERE g.id = ?1 AND g.community_id = ?2",
    )?
    .query_row(params![id, community], |r| {
        Ok(Group {
            id: r.get(0)?,
            community,
            name: r.get(1)?,
            description: r.get(2)?,
            member_count: r.get(3)?,
        })
    })
    .found("group")
}
