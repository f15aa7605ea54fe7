//! What a Discourse client reads first about a site:
//! `/site/basic-info.json` and `/site.json`, typed after Discourse's API
//! document.

use std::collections::BTreeMap;

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use serde::Serialize;

use super::shape::{CategoryCore, Empty};
use crate::error::{ApiError, json_response};
use crate::state::State;

/// `getSiteBasicInfo`: the name, icons and colours a client shows before
/// anyone signs in (so it answers guests of a private community too, as
/// Discourse does; nothing in it is content).
#[derive(Debug, Serialize)]
pub(crate) struct BasicInfo {
    logo_url: String,
    logo_small_url: String,
    apple_touch_icon_url: String,
    favicon_url: String,
    title: String,
    description: String,
    /// Hex without `#`, as Discourse writes colours.
    header_primary_color: &'static str,
    header_background_color: &'static str,
    login_required: bool,
    locale: &'static str,
    include_in_discourse_discover: bool,
    mobile_logo_url: String,
}

/// `GET /site/basic-info.json`.
pub(crate) async fn basic_info(AxState(state): AxState<State>) -> Result<Response, ApiError> {
    let info = state
        .run(|s| {
            let community = s.community()?;
            let icon = format!("{}/assets/icon.svg", s.config.base_path);
            Ok(BasicInfo {
                logo_url: icon.clone(),
                logo_small_url: icon.clone(),
                apple_touch_icon_url: icon.clone(),
                favicon_url: icon.clone(),
                title: crate::pages::site_name(s),
                description: String::new(),
                // The stylesheet's `--fg` and `--bg`.
                header_primary_color: "1d2330",
                header_background_color: "ffffff",
                login_required: !community.settings.public_access,
                locale: "en",
                include_in_discourse_discover: false,
                mobile_logo_url: icon,
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &info))
}

/// Discourse's notification type numbers, by name: every one the document
/// requires (Hearth sends the few it has, see
/// `hearth::NotificationKind::discourse_type`; clients look the rest up
/// here).
const NOTIFICATION_TYPES: [(&str, u16); 45] = [
    ("mentioned", 1),
    ("replied", 2),
    ("quoted", 3),
    ("edited", 4),
    ("liked", 5),
    ("private_message", 6),
    ("invited_to_private_message", 7),
    ("invitee_accepted", 8),
    ("posted", 9),
    ("moved_post", 10),
    ("linked", 11),
    ("granted_badge", 12),
    ("invited_to_topic", 13),
    ("custom", 14),
    ("group_mentioned", 15),
    ("group_message_summary", 16),
    ("watching_first_post", 17),
    ("topic_reminder", 18),
    ("liked_consolidated", 19),
    ("post_approved", 20),
    ("code_review_commit_approved", 21),
    ("membership_request_accepted", 22),
    ("membership_request_consolidated", 23),
    ("bookmark_reminder", 24),
    ("reaction", 25),
    ("votes_released", 26),
    ("event_reminder", 27),
    ("event_invitation", 28),
    ("chat_mention", 29),
    ("chat_message", 30),
    ("chat_invitation", 31),
    ("chat_group_mention", 32),
    ("chat_quoted", 33),
    ("assigned", 34),
    ("question_answer_user_commented", 35),
    ("watching_category_or_tag", 36),
    ("new_features", 37),
    ("admin_problems", 38),
    ("linked_consolidated", 39),
    ("chat_watched_thread", 40),
    ("upcoming_change_available", 41),
    ("upcoming_change_automatically_promoted", 42),
    ("following", 800),
    ("following_created_topic", 801),
    ("following_replied", 802),
];

/// `getSite`: what a Discourse client loads once to draw the site — the
/// categories the visitor may read, the groups a member may see, and the
/// numbering of notification types, post types, trust levels and post
/// actions. Typed after the document's schema (which forbids other
/// fields).
#[derive(Debug, Serialize)]
pub(crate) struct Site {
    default_archetype: &'static str,
    notification_types: BTreeMap<&'static str, u16>,
    post_types: PostTypes,
    trust_levels: TrustLevels,
    groups: Vec<SiteGroup>,
    filters: [&'static str; 2],
    homepage_choices: [(); 0],
    periods: [&'static str; 6],
    top_menu_items: [&'static str; 2],
    anonymous_top_menu_items: [&'static str; 2],
    /// Hearth has no "Uncategorized": the first category the visitor
    /// may read stands in (0 when there is none).
    uncategorized_category_id: i64,
    user_field_max_length: u16,
    post_action_types: Vec<PostActionType>,
    /// Hearth flags posts, not topics.
    topic_flag_types: [(); 0],
    can_create_tag: bool,
    can_tag_topics: bool,
    can_tag_pms: bool,
    tags_filter_regexp: &'static str,
    top_tags: [(); 0],
    topic_featured_link_allowed_category_ids: [(); 0],
    user_themes: [UserTheme; 1],
    user_color_schemes: [(); 0],
    default_light_color_scheme: Option<()>,
    default_dark_color_scheme: Option<()>,
    censored_regexp: [(); 0],
    custom_emoji_translation: Empty,
    watched_words_replace: Option<()>,
    watched_words_link: Option<()>,
    categories: Vec<SiteCategory>,
    archetypes: [Archetype; 1],
    user_fields: [(); 0],
    auth_providers: [(); 0],
    full_name_required_for_signup: bool,
    full_name_visible_in_signup: bool,
    email_configured: bool,
}

#[derive(Debug, Serialize)]
struct PostTypes {
    regular: u8,
    moderator_action: u8,
    small_action: u8,
    whisper: u8,
}

#[derive(Debug, Serialize)]
struct TrustLevels {
    newuser: u8,
    basic: u8,
    member: u8,
    regular: u8,
    leader: u8,
}

#[derive(Debug, Serialize)]
struct SiteGroup {
    id: i64,
    name: String,
    full_name: String,
    display_name: String,
    flair_url: Option<()>,
    flair_bg_color: Option<()>,
    flair_color: Option<()>,
    automatic: bool,
}

/// A post action a client may send to `POST /post_actions.json`: the
/// like and the four flags Hearth takes.
#[derive(Debug, Serialize)]
struct PostActionType {
    id: u8,
    name_key: &'static str,
    name: &'static str,
    description: &'static str,
    short_description: &'static str,
    is_flag: bool,
    require_message: bool,
    enabled: bool,
    applies_to: [&'static str; 1],
    is_used: bool,
    position: u8,
    auto_action_type: bool,
    system: bool,
}

#[derive(Debug, Serialize)]
struct UserTheme {
    theme_id: u8,
    name: &'static str,
    default: bool,
    color_scheme_id: Option<()>,
}

#[derive(Debug, Serialize)]
struct Archetype {
    id: &'static str,
    name: &'static str,
    options: [(); 0],
}

/// A category as `/site.json` lists it (the document's shape differs from
/// `/categories.json`'s).
#[derive(Debug, Serialize)]
struct SiteCategory {
    #[serde(flatten)]
    core: CategoryCore,
    allow_global_tags: bool,
    /// Hearth's own: the category's kind (`discussion`,
    /// `question_and_answer`, `knowledge_base`, …).
    custom_fields: CategoryFields,
}

#[derive(Debug, Serialize)]
struct CategoryFields {
    hearth_kind: &'static str,
}

fn post_action(
    id: u8,
    name_key: &'static str,
    name: &'static str,
    description: &'static str,
    is_flag: bool,
) -> PostActionType {
    PostActionType {
        id,
        name_key,
        name,
        description,
        short_description: description,
        is_flag,
        require_message: false,
        enabled: true,
        applies_to: ["Post"],
        is_used: true,
        position: id,
        auto_action_type: false,
        system: true,
    }
}

/// `GET /site.json`, as the visitor may see it: categories through the
/// engine's read check, groups for members only.
pub(crate) async fn site(
    AxState(state): AxState<State>,
    v: crate::visitor::Visitor,
) -> Result<Response, ApiError> {
    let site = state
        .run(move |s| {
            let c = s.config.community;
            let cats = s.forum.categories(&v.actor, c)?;
            let ctx = super::ctx(s, &v.actor)?;
            // The engine shows groups to members only.
            let (groups, member) = match s.forum.groups(&v.actor, c) {
                Ok(groups) => (groups, true),
                Err(hearth::Error::Forbidden { .. }) => (Vec::new(), false),
                Err(e) => return Err(e.into()),
            };
            let categories = cats
                .iter()
                .map(|cat| {
                    let children = cats.iter().filter(|o| o.parent == Some(cat.id)).count();
                    SiteCategory {
                        core: super::shape::category_core(&ctx, cat, children),
                        allow_global_tags: false,
                        custom_fields: CategoryFields {
                            hearth_kind: cat.kind.as_str(),
                        },
                    }
                })
                .collect();
            Ok(Site {
                default_archetype: "regular",
                notification_types: NOTIFICATION_TYPES.into_iter().collect(),
                post_types: PostTypes {
                    regular: 1,
                    moderator_action: 2,
                    small_action: 3,
                    whisper: 4,
                },
                trust_levels: TrustLevels {
                    newuser: 0,
                    basic: 1,
                    member: 2,
                    regular: 3,
                    leader: 4,
                },
                groups: groups
                    .into_iter()
                    .map(|g| SiteGroup {
                        id: g.id.0,
                        full_name: g.name.clone(),
                        display_name: g.name.clone(),
                        name: g.name,
                        flair_url: None,
                        flair_bg_color: None,
                        flair_color: None,
                        automatic: false,
                    })
                    .collect(),
                filters: ["latest", "categories"],
                homepage_choices: [],
                periods: ["all", "yearly", "quarterly", "monthly", "weekly", "daily"],
                top_menu_items: ["latest", "categories"],
                anonymous_top_menu_items: ["latest", "categories"],
                uncategorized_category_id: cats.first().map_or(0, |c| c.id.0),
                user_field_max_length: 2048,
                post_action_types: vec![
                    post_action(2, "like", "Like", "Like this post", false),
                    post_action(
                        3,
                        "off_topic",
                        "It's Off-Topic",
                        "This post is not relevant to the topic",
                        true,
                    ),
                    post_action(
                        4,
                        "inappropriate",
                        "It's Inappropriate",
                        "This post is offensive, abusive or breaks the community's rules",
                        true,
                    ),
                    post_action(
                        7,
                        "notify_moderators",
                        "Something Else",
                        "This post needs a moderator's attention",
                        true,
                    ),
                    post_action(
                        8,
                        "spam",
                        "It's Spam",
                        "This post is an advertisement or vandalism",
                        true,
                    ),
                ],
                topic_flag_types: [],
                can_create_tag: ctx.staff,
                can_tag_topics: member,
                can_tag_pms: false,
                tags_filter_regexp: r#"[/\?#\[\]@!\$&'\(\)\*\+,;=\.%\\`^\s|\{\}"<>]+"#,
                top_tags: [],
                topic_featured_link_allowed_category_ids: [],
                user_themes: [UserTheme {
                    theme_id: 1,
                    name: "Hearth",
                    default: true,
                    color_scheme_id: None,
                }],
                user_color_schemes: [],
                default_light_color_scheme: None,
                default_dark_color_scheme: None,
                censored_regexp: [],
                custom_emoji_translation: Empty {},
                watched_words_replace: None,
                watched_words_link: None,
                categories,
                archetypes: [Archetype {
                    id: "regular",
                    name: "Regular Topic",
                    options: [],
                }],
                user_fields: [],
                auth_providers: [],
                full_name_required_for_signup: false,
                full_name_visible_in_signup: true,
                email_configured: s.sends_email.load(std::sync::atomic::Ordering::Relaxed),
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &site))
}

/// `/about.json`: the community's staff and size, as Discourse's about
/// page serves them (the operation is not in the API document; the shape
/// follows Discourse's `AboutSerializer`). The counts are the visitor's:
/// only what they may read.
#[derive(Debug, Serialize)]
pub(crate) struct AboutAnswer {
    about: AboutShape,
}

#[derive(Debug, Serialize)]
struct AboutShape {
    stats: AboutStats,
    title: String,
    description: String,
    locale: &'static str,
    https: bool,
    site_creation_date: String,
    can_see_about_stats: bool,
    contact_url: String,
    contact_email: String,
    admin_ids: Vec<i64>,
    moderator_ids: Vec<i64>,
    category_moderators: [(); 0],
    admins: Vec<StaffShape>,
    moderators: Vec<StaffShape>,
}

#[derive(Debug, Serialize)]
struct AboutStats {
    topic_count: i64,
    post_count: i64,
    users_count: i64,
    active_users_7_days: i64,
    active_users_30_days: i64,
    likes_count: i64,
}

#[derive(Debug, Serialize)]
struct StaffShape {
    id: i64,
    username: String,
    name: String,
    avatar_template: String,
    title: Option<()>,
}

/// `GET /about.json`.
pub(crate) async fn about(
    AxState(state): AxState<State>,
    v: crate::visitor::Visitor,
) -> Result<Response, ApiError> {
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            let about = s.forum.about(&v.actor, c)?;
            let community = s.community()?;
            let ctx = super::ctx(s, &v.actor)?;
            let staff = |users: Vec<hearth::UserRef>| -> Vec<StaffShape> {
                users
                    .into_iter()
                    .map(|u| StaffShape {
                        id: u.id.0,
                        avatar_template: super::shape::avatar_template(
                            &ctx,
                            &u.username,
                            u.avatar_url.as_deref(),
                        ),
                        username: u.username,
                        name: u.display_name,
                        title: None,
                    })
                    .collect()
            };
            let (admins, moderators) = (staff(about.admins), staff(about.moderators));
            Ok(AboutAnswer {
                about: AboutShape {
                    stats: AboutStats {
                        topic_count: about.topic_count,
                        post_count: about.post_count,
                        users_count: about.member_count,
                        active_users_7_days: about.active_members_7_days,
                        active_users_30_days: about.active_members_30_days,
                        likes_count: about.like_count,
                    },
                    title: crate::pages::site_name(s),
                    description: String::new(),
                    locale: "en",
                    https: community
                        .settings
                        .base_url
                        .as_deref()
                        .is_some_and(|u| u.starts_with("https://")),
                    site_creation_date: super::shape::ts(community.created_at),
                    can_see_about_stats: true,
                    contact_url: String::new(),
                    contact_email: String::new(),
                    admin_ids: admins.iter().map(|u| u.id).collect(),
                    moderator_ids: moderators.iter().map(|u| u.id).collect(),
                    category_moderators: [],
                    admins,
                    moderators,
                },
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// `/session/current.json`: who the client is signed in as (Discourse's
/// `CurrentUserSerializer`, its commonly read fields), or 404
/// `not_logged_in` for a guest, as Discourse answers.
#[derive(Debug, Serialize)]
pub(crate) struct CurrentUserAnswer {
    current_user: CurrentUser,
}

#[derive(Debug, Serialize)]
struct CurrentUser {
    id: i64,
    username: String,
    name: String,
    avatar_template: String,
    admin: bool,
    moderator: bool,
    staff: bool,
    trust_level: u8,
    /// Whether they are a member of this community (Hearth's own).
    member: bool,
    unread_notifications: u64,
    unread_high_priority_notifications: u64,
    can_create_topic: bool,
    title: Option<()>,
}

/// `GET /session/current.json`.
pub(crate) async fn current(
    AxState(state): AxState<State>,
    v: crate::visitor::Visitor,
) -> Result<Response, ApiError> {
    let answer = state
        .run(move |s| {
            let hearth::Actor::User(id) = v.actor else {
                // Discourse answers a guest with 404.
                return Err(hearth::Error::NotFound {
                    what: "signed-in session",
                }
                .into());
            };
            let c = s.config.community;
            let membership = match s.forum.member(&v.actor, c, id) {
                Ok(m) => Some(m),
                Err(hearth::Error::NotFound { .. } | hearth::Error::Forbidden { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            // Admin and staff as every other answer decides them.
            let ctx = super::user_ctx(s, id, membership.as_ref().map(|m| m.role));
            let unread = match membership {
                Some(_) => s.forum.unread_notifications(&v.actor, c)?,
                None => 0,
            };
            let trust_level = membership.as_ref().map_or(0, |m| m.trust_level.number());
            let member = membership.is_some();
            let user = match membership {
                Some(m) => m.user,
                None => s.forum.user(id)?,
            };
            Ok(CurrentUserAnswer {
                current_user: CurrentUser {
                    id: id.0,
                    avatar_template: super::shape::avatar_template(
                        &ctx,
                        &user.username,
                        user.avatar_url.as_deref(),
                    ),
                    username: user.username,
                    name: user.display_name,
                    admin: ctx.admin,
                    moderator: ctx.staff,
                    staff: ctx.staff,
                    trust_level,
                    member,
                    unread_notifications: unread,
                    unread_high_priority_notifications: 0,
                    can_create_topic: member,
                    title: None,
                },
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}
