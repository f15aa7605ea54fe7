//! Communities (tenants) and their settings.

use crate::db::{Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::events::{Audience, EventKind, NewEvent};
use crate::forum::Forum;
use crate::ids::{CommunityId, UserId};
use crate::permissions::{Actor, Role, bump_config};
use crate::rewards::RewardRules;
use crate::rules::ModerationSettings;
use crate::store::OptionalExt;
use crate::text::{check_name, check_slug};
use crate::topic::UserRef;
use crate::trust::TrustSettings;

/// A community's staff and size, as [`Forum::about`] counts them for
/// one visitor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    /// Owners and administrators, by username.
    pub admins: Vec<UserRef>,
    /// Moderators, by username.
    pub moderators: Vec<UserRef>,
    /// Topics in the categories the visitor may read.
    pub topic_count: i64,
    /// Posts in those topics.
    pub post_count: i64,
    /// Likes on those posts.
    pub like_count: i64,
    /// Members.
    pub member_count: i64,
    /// Members who did something in the last 7 days (today included).
    pub active_members_7_days: i64,
    /// … in the last 30 days.
    pub active_members_30_days: i64,
}

/// How people become members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationMode {
    /// Anyone with an account may join.
    #[default]
    Open,
    /// Only people an admin adds (or who hold an invite) may join.
    InviteOnly,
    /// Anyone may ask; an admin approves.
    Approval,
}

/// Limits on what members write. Every community can tune its own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContentLimits {
    /// Minimum title length in characters, after trimming (default 3).
    pub title_min_chars: u32,
    /// Maximum title length in characters (default 255).
    pub title_max_chars: u32,
    /// Minimum body length in characters (default 1).
    pub body_min_chars: u32,
    /// Maximum body size in bytes of Markdown (default 32,000, Discourse's
    /// `max_post_length`; at most 1 MiB). Rendering is measured to stay
    /// within 50 ms per body up to the default (`docs/reliability.md`);
    /// raising it raises that worst case proportionally.
    pub body_max_bytes: u32,
    /// Deepest nesting of elements as the HTML parser builds them:
    /// quotes, lists, emphasis and raw HTML elements (default 16).
    pub max_nesting: u32,
    /// Most elements in one post, Markdown's and raw HTML's together, and
    /// separately most `&` characters (each is a character reference for
    /// the sanitizer) (default 10,000; 100 to 100,000). With `max_nesting`
    /// it bounds the time one post takes to render.
    pub max_elements: u32,
    /// Most tags on one topic (default 5).
    pub max_tags: u32,
    /// Most @mentions in one post, for everyone, staff included (default
    /// 10, as Discourse; new members have their own, lower limit).
    pub max_mentions: u32,
    /// Most links in one post, for everyone (default 100).
    pub max_links: u32,
    /// Most images in one post, for everyone (default 50).
    pub max_images: u32,
    /// Longest tag in characters (default 30).
    pub tag_max_chars: u32,
    /// Largest uploaded file in bytes (default 4 MiB; 1 KiB to 64 MiB).
    pub upload_max_bytes: u32,
    /// Bytes a member may upload in any 24 hours (default 50 MiB; 1 KiB to
    /// 1 GiB). Staff, moderators and experts are not counted.
    pub upload_daily_bytes: u32,
    /// Hours an upload nothing refers to (no post, article or avatar) is
    /// kept before [`Forum::sweep_unused_uploads`](crate::Forum::sweep_unused_uploads)
    /// removes it: time to finish the post it was uploaded for (default
    /// 48; 1 to 8,760).
    pub unused_upload_hours: u32,
    /// Files other than pictures members may attach, each recognised by
    /// its bytes (default PDF and text; empty: pictures only).
    pub attachments: Vec<crate::uploads::AttachmentKind>,
}

impl Default for ContentLimits {
    fn default() -> Self {
        ContentLimits {
            title_min_chars: 3,
            title_max_chars: 255,
            body_min_chars: 1,
            body_max_bytes: 32_000,
            max_nesting: 16,
            max_elements: 10_000,
            max_tags: 5,
            max_mentions: 10,
            max_links: 100,
            max_images: 50,
            tag_max_chars: 30,
            upload_max_bytes: 4 << 20,
            upload_daily_bytes: 50 << 20,
            unused_upload_hours: 48,
            attachments: vec![
                crate::uploads::AttachmentKind::Pdf,
                crate::uploads::AttachmentKind::Text,
            ],
        }
    }
}

/// A community's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CommunitySettings {
    /// How people join.
    pub registration: RegistrationMode,
    /// Whether guests (and signed-in non-members) may read public categories.
    pub public_access: bool,
    /// The absolute URL the community is served at, e.g.
    /// `https://community.example.com/`. Relative links in posts are
    /// resolved against it and links to other hosts are marked external.
    pub base_url: Option<String>,
    /// Content limits.
    pub limits: ContentLimits,
    /// Points per contribution.
    pub rewards: RewardRules,
    /// Trust-level thresholds and what each level unlocks.
    pub trust: TrustSettings,
    /// Rate limits, duplicate detection, approvals and flag thresholds.
    pub moderation: ModerationSettings,
    /// Where members file a support ticket (the escape hatch); the
    /// composer offers it, and deflection is measured against it.
    pub support_url: Option<String>,
    /// How long after a member last opened a suggested topic, without
    /// posting or filing a ticket, the composer visit counts as deflected.
    pub deflection_window_minutes: u32,
    /// E-mail: sender, digest default, "we miss you".
    pub email: crate::mail::EmailSettings,
    /// Private messages: who may message whom, and how much.
    pub messages: crate::messages::MessageSettings,
    /// Fields members fill in on their profile, in the order shown (at
    /// most [`MAX_PROFILE_FIELDS`](crate::MAX_PROFILE_FIELDS)).
    pub profile_fields: Vec<crate::profile_fields::ProfileField>,
    /// Markdown shown at the top of the home page: what the community is
    /// for and where to start (at most [`MAX_WELCOME_CHARS`] characters;
    /// rendered as a post is, for each reader). `None` shows nothing.
    pub welcome: Option<String>,
}

/// The most characters [`CommunitySettings::welcome`] may have.
pub const MAX_WELCOME_CHARS: usize = 2_000;

impl Default for CommunitySettings {
    fn default() -> Self {
        CommunitySettings {
            registration: RegistrationMode::Open,
            public_access: true,
            base_url: None,
            limits: ContentLimits::default(),
            rewards: RewardRules::default(),
            trust: TrustSettings::default(),
            moderation: ModerationSettings::default(),
            support_url: None,
            deflection_window_minutes: 60,
            email: crate::mail::EmailSettings::default(),
            messages: crate::messages::MessageSettings::default(),
            profile_fields: Vec::new(),
            welcome: None,
        }
    }
}

impl CommunitySettings {
    /// Default settings with the throttles lifted, for writing content in
    /// bulk through the API — imports, seeding, generated test data: rate
    /// limits at their maximum, no duplicate detection, no first-day or
    /// link/image/mention limits for new members. Watched words, approvals
    /// and flags still apply. Switch back to real settings before members
    /// arrive.
    ///
    /// ```
    /// let s = hearth::CommunitySettings::for_bulk_writes();
    /// assert_eq!(s.moderation.duplicate_window_minutes, 0);
    /// ```
    pub fn for_bulk_writes() -> CommunitySettings {
        let mut s = CommunitySettings::default();
        let r = &mut s.moderation.rate_limits;
        r.posts_per_minute = 10_000;
        r.new_member_posts_per_minute = 10_000;
        r.topics_per_day = 10_000;
        r.new_member_topics_per_day = 10_000;
        r.replies_per_topic_per_hour = 10_000;
        r.new_member_replies_per_topic_per_hour = 10_000;
        r.like_toggles_per_post_per_hour = 10_000;
        s.moderation.duplicate_window_minutes = 0;
        let n = &mut s.trust.new_member;
        n.topics_first_day = u32::MAX;
        n.replies_first_day = u32::MAX;
        n.max_links = u32::MAX;
        n.max_images = u32::MAX;
        n.max_mentions = u32::MAX;
        let l = &mut s.limits;
        l.max_mentions = u32::MAX;
        l.max_links = u32::MAX;
        l.max_images = u32::MAX;
        s
    }

    fn validate(&self) -> Result<()> {
        self.messages.validate()?;
        crate::profile_fields::validate(&self.profile_fields)?;
        let l = &self.limits;
        if l.title_min_chars == 0 || l.title_min_chars > l.title_max_chars {
            return Err(Error::invalid(
                "limits",
                "title_min_chars must be at least 1 and at most title_max_chars",
            ));
        }
        if l.body_max_bytes == 0 || l.body_max_bytes > 1 << 20 {
            return Err(Error::invalid(
                "limits",
                "body_max_bytes must be 1 to 1,048,576",
            ));
        }
        if !(1 << 10..=1 << 30).contains(&l.upload_daily_bytes) {
            return Err(Error::invalid(
                "limits",
                "upload_daily_bytes must be 1,024 to 1,073,741,824",
            ));
        }
        if !(1..=8760).contains(&l.unused_upload_hours) {
            return Err(Error::invalid(
                "limits",
                "unused_upload_hours must be 1 to 8,760",
            ));
        }
        for (i, kind) in l.attachments.iter().enumerate() {
            if l.attachments[..i].contains(kind) {
                return Err(Error::invalid(
                    "limits",
                    format!("attachments names {} twice", kind.name()),
                ));
            }
        }
        if !(1 << 10..=64 << 20).contains(&l.upload_max_bytes) {
            return Err(Error::invalid(
                "limits",
                "upload_max_bytes must be 1,024 to 67,108,864",
            ));
        }
        if !(1..=64).contains(&l.max_nesting) {
            return Err(Error::invalid("limits", "max_nesting must be 1 to 64"));
        }
        if !(100..=100_000).contains(&l.max_elements) {
            return Err(Error::invalid(
                "limits",
                "max_elements must be 100 to 100,000",
            ));
        }
        self.trust.validate()?;
        self.moderation.validate()?;
        // The sender goes into every e-mail's headers.
        crate::text::check_name("email_from", &self.email.from, 3, 320)?;
        if self.rewards.daily_cap < 0 {
            return Err(Error::invalid("rewards", "daily_cap must not be negative"));
        }
        if let Some(url) = &self.support_url {
            crate::text::check_url("support_url", url)?;
        }
        if let Some(welcome) = &self.welcome {
            crate::text::check_len("welcome", welcome, 0, MAX_WELCOME_CHARS)?;
        }
        if !(1..=7 * 24 * 60).contains(&self.deflection_window_minutes) {
            return Err(Error::invalid(
                "deflection_window_minutes",
                "must be 1 minute to 7 days",
            ));
        }
        if let Some(url) = &self.base_url {
            crate::render::Renderer::new(self).map_err(|_| {
                Error::invalid("base_url", format!("{url:?} is not an absolute URL"))
            })?;
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(Error::invalid(
                    "base_url",
                    "must start with http:// or https://",
                ));
            }
        }
        Ok(())
    }
}

/// A community: one tenant of the forum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Community {
    /// Its id.
    pub id: CommunityId,
    /// URL-friendly unique name.
    pub slug: String,
    /// Display name.
    pub name: String,
    /// Settings.
    pub settings: CommunitySettings,
    /// When it was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What [`Forum::create_community`] needs.
#[derive(Debug, Clone, Default)]
pub struct NewCommunity {
    /// 1 to 50 of `a-z 0-9 -`; unique.
    pub slug: String,
    /// 1 to 100 characters.
    pub name: String,
    /// Initial settings.
    pub settings: CommunitySettings,
    /// The first owner, made a member with [`Role::Owner`].
    pub owner: Option<UserId>,
}

impl Forum {
    /// Creates a community. Only [`Actor::System`] (the embedding
    /// application) may create communities.
    pub fn create_community(&self, actor: &Actor, new: NewCommunity) -> Result<Community> {
        if *actor != Actor::System {
            return Err(Error::forbidden(
                "only the application can create communities",
            ));
        }
        check_slug("slug", &new.slug)?;
        check_name("name", &new.name, 1, 100)?;
        new.settings.validate()?;
        let settings_json =
            serde_json::to_string(&new.settings).map_err(|e| Error::Storage(e.to_string()))?;
        self.write(|w| {
            let now = w.now_ms();
            let taken: bool = w
                .tx
                .prepare_cached("SELECT EXISTS(SELECT 1 FROM communities WHERE slug = ?1)")?
                .query_row([&new.slug], |r| r.get(0))?;
            if taken {
                return Err(Error::conflict(format!("community slug {:?} is taken", new.slug)));
            }
            w.tx.prepare_cached(
                "INSERT INTO communities (slug, name, settings, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![new.slug, new.name.trim(), settings_json, now])?;
            let id = CommunityId(w.tx.last_insert_rowid()?);
            if let Some(owner) = new.owner {
                crate::member::insert_membership(w, id, owner, Role::Owner, None)?;
            }
            Ok(Community {
                id,
                slug: new.slug.clone(),
                name: new.name.trim().to_string(),
                settings: new.settings.clone(),
                created_at: from_millis(now),
            })
        })
    }

    /// A community as `actor` may see it. Private communities are
    /// `NotFound` for non-members.
    pub fn community(&self, actor: &Actor, id: CommunityId) -> Result<Community> {
        self.read(|conn, now| {
            self.viewer(conn, now, actor, id)?;
            load(conn, id)
        })
    }

    /// What an "about" page shows of a community: its administrators and
    /// moderators, and its size — topics, posts and likes counted over the
    /// categories `actor` may read (nothing deleted, hidden or unlisted),
    /// members, and members active in the last 7 and 30 days. Same
    /// visibility as [`Forum::community`].
    pub fn about(&self, actor: &Actor, id: CommunityId) -> Result<About> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, id)?;
            let mut staff = conn.prepare_cached(
                "SELECT u.id, u.username, u.display_name, u.avatar_url, m.role
                 FROM memberships m JOIN users u ON u.id = m.user_id
                 WHERE m.community_id = ?1 AND m.role IN ('owner', 'admin', 'moderator')
                 ORDER BY u.username_lower",
            )?;
            let mut admins = Vec::new();
            let mut moderators = Vec::new();
            let rows = staff.query_map([id], |r| {
                Ok((crate::topic::user_ref(r, 0)?, r.get::<_, String>(4)?))
            })?;
            for row in rows {
                let (user, role) = row?;
                if role == Role::Moderator.as_str() {
                    moderators.push(user);
                } else {
                    admins.push(user);
                }
            }
            let (topic_count, post_count, like_count): (i64, i64, i64) = conn
                .prepare_cached(&format!(
                    "SELECT count(*), CAST(coalesce(sum(post_count), 0) AS BIGINT),
                            CAST(coalesce(sum(like_count), 0) AS BIGINT)
                     FROM topics
                     WHERE category_id IN {} AND deleted_at IS NULL AND hidden_at IS NULL
                       AND merged_into IS NULL AND unlisted = 0",
                    viewer.readable_sql()
                ))?
                .query_row(params![], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            let today = now.div_euclid(crate::clock::DAY_MS);
            let (member_count, active_7, active_30): (i64, i64, i64) = conn
                .prepare_cached(
                    "SELECT (SELECT count(*) FROM memberships WHERE community_id = ?1),
                            (SELECT count(DISTINCT user_id) FROM member_days
                             WHERE community_id = ?1 AND acted = 1 AND day > CAST(?2 AS BIGINT) - 7),
                            (SELECT count(DISTINCT user_id) FROM member_days
                             WHERE community_id = ?1 AND acted = 1 AND day > CAST(?2 AS BIGINT) - 30)",
                )?
                .query_row(params![id, today], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
            Ok(About {
                admins,
                moderators,
                topic_count,
                post_count,
                like_count,
                member_count,
                active_members_7_days: active_7,
                active_members_30_days: active_30,
            })
        })
    }

    /// Looks a community up by slug (same visibility as [`Forum::community`]).
    pub fn community_by_slug(&self, actor: &Actor, slug: &str) -> Result<Community> {
        self.read(|conn, now| {
            let id: CommunityId = conn
                .prepare_cached("SELECT id FROM communities WHERE slug = ?1")?
                .query_row([slug], |r| r.get(0))
                .found("community")?;
            self.viewer(conn, now, actor, id)?;
            load(conn, id)
        })
    }

    /// Replaces a community's name and settings. Admins only. A new
    /// `base_url` marks the community's posts for
    /// [`rerender_posts`](Forum::rerender_posts) (links in them are
    /// resolved against it).
    pub fn update_community(
        &self,
        actor: &Actor,
        id: CommunityId,
        name: &str,
        settings: CommunitySettings,
    ) -> Result<Community> {
        check_name("name", name, 1, 100)?;
        settings.validate()?;
        let json = serde_json::to_string(&settings).map_err(|e| Error::Storage(e.to_string()))?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, id)?;
            viewer.require_admin()?;
            let before = load(w.tx, id)?;
            w.tx.prepare_cached("UPDATE communities SET name = ?2, settings = ?3 WHERE id = ?1")?
                .execute(params![id, name.trim(), json])?;
            if before.settings.base_url != settings.base_url {
                // Relative links and mentions are resolved against the base
                // URL when rendering: the posts are stale until
                // `rerender_posts` renders them again.
                w.tx.prepare_cached("UPDATE posts SET render_version = 0 WHERE community_id = ?1")?
                    .execute([id])?;
            }
            bump_config(w.tx, id)?;
            let mut e = NewEvent::new(EventKind::CommunityUpdated, Audience::Staff);
            e.actor = viewer.user;
            w.emit(id, e)?;
            let after = load(w.tx, id)?;
            crate::audit::record(
                w,
                &viewer,
                crate::audit::AuditAction::CommunityUpdated,
                crate::audit::Target::Community,
                serde_json::json!({ "name": before.name, "settings": before.settings }),
                serde_json::json!({ "name": after.name, "settings": after.settings }),
                None,
            )?;
            Ok(after)
        })
    }
}

pub(crate) fn load(conn: &Conn, id: CommunityId) -> Result<Community> {
    let (slug, name, settings, created): (String, String, String, i64) = conn
        .prepare_cached("SELECT slug, name, settings, created_at FROM communities WHERE id = ?1")?
        .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .found("community")?;
    Ok(Community {
        id,
        slug,
        name,
        settings: serde_json::from_str(&settings)
            .map_err(|e| Error::Storage(format!("community settings unreadable: {e}")))?,
        created_at: from_millis(created),
    })
}
