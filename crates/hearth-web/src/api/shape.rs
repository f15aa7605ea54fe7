//! Hearth's types in the shapes of Discourse's JSON API: field names,
//! nesting and the fields Discourse's clients expect even where Hearth has
//! no equivalent (present, with a sensible value).

use hearth::{
    BadgeGrant, BadgeTier, Category, CategoryKind, DirectoryEntry, Post, Role, SearchHit, Topic,
    User, UserId, UserRef, Visibility,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What a shape depends on besides the object: who is looking, and where
/// the router is mounted.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    pub viewer: Option<UserId>,
    pub staff: bool,
    pub base: String,
}

impl Ctx {
    fn mine(&self, user: UserId) -> bool {
        self.viewer == Some(user)
    }
}

pub(crate) fn ts(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// Discourse's avatar template: clients replace `{size}`.
pub(crate) fn avatar_template(ctx: &Ctx, username: &str, avatar_url: Option<&str>) -> String {
    match avatar_url {
        Some(url) => url.to_string(),
        None => format!("{}/letter_avatar/{}/{{size}}.svg", ctx.base, username),
    }
}

pub(crate) fn user_ref(ctx: &Ctx, u: &UserRef) -> Value {
    json!({
        "id": u.id.0,
        "username": u.username,
        "name": u.display_name,
        "avatar_template": avatar_template(ctx, &u.username, u.avatar_url.as_deref()),
        "trust_level": 1,
    })
}

fn users_of<'a>(ctx: &Ctx, refs: impl Iterator<Item = &'a UserRef>) -> Vec<Value> {
    let mut seen = std::collections::BTreeSet::new();
    refs.filter(|u| seen.insert(u.id.0))
        .map(|u| user_ref(ctx, u))
        .collect()
}

pub(crate) fn topic_list_item(t: &Topic) -> Value {
    let mut posters = vec![json!({
        "extras": if t.author.id == t.last_poster.id { "latest single" } else { "" },
        "description": "Original Poster",
        "user_id": t.author.id.0,
        "primary_group_id": null,
    })];
    if t.last_poster.id != t.author.id {
        posters.push(json!({
            "extras": "latest",
            "description": "Most Recent Poster",
            "user_id": t.last_poster.id.0,
            "primary_group_id": null,
        }));
    }
    json!({
        "id": t.id.0,
        "title": t.title,
        "fancy_title": t.title,
        "slug": t.slug,
        "posts_count": t.post_count,
        "reply_count": t.reply_count,
        "highest_post_number": t.post_count,
        "image_url": null,
        "created_at": ts(t.created_at),
        "last_posted_at": ts(t.bumped_at),
        "bumped": true,
        "bumped_at": ts(t.bumped_at),
        "archetype": "regular",
        "unseen": false,
        "pinned": t.pinned || t.pinned_globally,
        "unpinned": null,
        "visible": !t.unlisted,
        "closed": t.closed,
        "archived": t.archived,
        "bookmarked": null,
        "liked": null,
        "views": t.view_count,
        "like_count": t.like_count,
        "has_summary": false,
        "last_poster_username": t.last_poster.username,
        "category_id": t.category.0,
        "pinned_globally": t.pinned_globally,
        "featured_link": null,
        "has_accepted_answer": t.accepted_answer.is_some(),
        "accepted_answer_post_id": t.accepted_answer.map(|p| p.0),
        "tags": t.tags,
        "posters": posters,
    })
}

/// `/latest.json`, `/c/{slug}/{id}.json`.
pub(crate) fn topic_list(
    ctx: &Ctx,
    topics: &[Topic],
    can_create_topic: bool,
    more_url: Option<String>,
) -> Value {
    json!({
        "users": users_of(ctx, topics.iter().flat_map(|t| [&t.author, &t.last_poster])),
        "primary_groups": [],
        "flair_groups": [],
        "topic_list": {
            "can_create_topic": can_create_topic,
            "more_topics_url": more_url,
            "per_page": 30,
            "top_tags": [],
            "topics": topics.iter().map(topic_list_item).collect::<Vec<_>>(),
        }
    })
}

pub(crate) fn category(ctx: &Ctx, c: &Category) -> Value {
    json!({
        "id": c.id.0,
        "name": c.name,
        "color": color_of(&c.slug),
        "text_color": "FFFFFF",
        "slug": c.slug,
        "topic_count": c.topic_count,
        "post_count": c.topic_count,
        "position": c.position,
        "description": c.description,
        "description_text": c.description,
        "description_excerpt": c.description.chars().take(300).collect::<String>(),
        "topic_url": format!("{}/c/{}/{}", ctx.base, c.slug, c.id.0),
        "read_restricted": c.visibility != Visibility::Public,
        "permission": if c.read_only { 3 } else { 1 },
        "notification_level": 1,
        "topic_template": null,
        "has_children": false,
        "parent_category_id": c.parent.map(|p| p.0),
        "sort_order": "",
        "sort_ascending": null,
        "show_subcategory_list": false,
        "num_featured_topics": 3,
        "default_view": null,
        "subcategory_list_style": "rows_with_featured_topics",
        "default_top_period": "all",
        "minimum_required_tags": 0,
        "navigate_to_first_post_after_read": false,
        "topics_day": 0,
        "topics_week": 0,
        "topics_month": 0,
        "topics_year": 0,
        "topics_all_time": c.topic_count,
        "subcategory_ids": [],
        "uploaded_logo": null,
        "uploaded_background": null,
        "kind": c.kind.as_str(),
    })
}

/// A stable colour per category slug (Discourse categories have one).
pub(crate) fn color_of(slug: &str) -> String {
    const PALETTE: [&str; 8] = [
        "0088CC", "BF1E2E", "3AB54A", "F7941D", "652D90", "12A89D", "ED207B", "25AAE2",
    ];
    let h = slug
        .bytes()
        .fold(0u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    PALETTE[(h % PALETTE.len() as u32) as usize].to_string()
}

pub(crate) fn post(ctx: &Ctx, p: &Post, topic: &Topic) -> Value {
    let mine = ctx.mine(p.author.id);
    json!({
        "id": p.id.0,
        "name": p.author.display_name,
        "username": p.author.username,
        "avatar_template": avatar_template(ctx, &p.author.username, p.author.avatar_url.as_deref()),
        "created_at": ts(p.created_at),
        "cooked": p.html,
        "raw": p.source,
        "post_number": p.post_number,
        "post_type": 1,
        "updated_at": ts(p.updated_at),
        "reply_count": 0,
        "reply_to_post_number": null,
        "reply_to_post_id": p.reply_to.map(|r| r.0),
        "quote_count": 0,
        "incoming_link_count": 0,
        "reads": 0,
        "readers_count": 0,
        "score": 0,
        "yours": mine,
        "topic_id": p.topic.0,
        "topic_slug": topic.slug,
        "topic_title": topic.title,
        "category_id": topic.category.0,
        "display_username": p.author.display_name,
        "primary_group_name": null,
        "flair_name": null,
        "version": p.version,
        "can_edit": ctx.viewer.is_some() && (mine || ctx.staff),
        "can_delete": ctx.viewer.is_some() && (mine || ctx.staff) && !p.deleted,
        "can_recover": ctx.staff && p.deleted,
        "can_wiki": false,
        "read": true,
        "user_title": null,
        "bookmarked": p.bookmarked,
        "actions_summary": [{
            "id": 2,
            "count": p.like_count,
            "acted": p.liked,
            "can_act": ctx.viewer.is_some() && !mine && !p.liked,
            "can_undo": p.liked,
        }],
        "moderator": false,
        "admin": false,
        "staff": p.official,
        "official": p.official,
        "user_id": p.author.id.0,
        "hidden": p.hidden,
        "trust_level": 1,
        "deleted_at": if p.deleted { Some(ts(p.updated_at)) } else { None },
        "user_deleted": false,
        "edit_reason": null,
        "can_view_edit_history": true,
        "wiki": false,
        "accepted_answer": p.accepted,
        "can_accept_answer": ctx.viewer.is_some()
            && (ctx.mine(topic.author.id) || ctx.staff)
            && p.post_number > 1 && !p.accepted,
        "can_unaccept_answer": ctx.viewer.is_some()
            && (ctx.mine(topic.author.id) || ctx.staff) && p.accepted,
    })
}

/// `/t/{id}.json`.
pub(crate) fn topic_view(ctx: &Ctx, topic: &Topic, kind: CategoryKind, posts: &[Post]) -> Value {
    let participants = users_of(ctx, posts.iter().map(|p| &p.author));
    json!({
        "post_stream": {
            "posts": posts.iter().map(|p| post(ctx, p, topic)).collect::<Vec<_>>(),
            "stream": posts.iter().map(|p| p.id.0).collect::<Vec<_>>(),
        },
        "timeline_lookup": [],
        "suggested_topics": [],
        "tags": topic.tags,
        "tags_descriptions": {},
        "id": topic.id.0,
        "title": topic.title,
        "fancy_title": topic.title,
        "posts_count": topic.post_count,
        "created_at": ts(topic.created_at),
        "views": topic.view_count,
        "reply_count": topic.reply_count,
        "like_count": topic.like_count,
        "last_posted_at": ts(topic.bumped_at),
        "visible": !topic.unlisted,
        "closed": topic.closed,
        "archived": topic.archived,
        "has_summary": false,
        "archetype": "regular",
        "slug": topic.slug,
        "category_id": topic.category.0,
        "word_count": posts.iter().map(|p| p.source.split_whitespace().count()).sum::<usize>(),
        "deleted_at": null,
        "user_id": topic.author.id.0,
        "featured_link": null,
        "pinned_globally": topic.pinned_globally,
        "pinned_at": null,
        "pinned_until": topic.pinned_until.map(ts),
        "image_url": null,
        "slow_mode_seconds": 0,
        "draft": null,
        "draft_key": format!("topic_{}", topic.id.0),
        "draft_sequence": 0,
        "unpinned": null,
        "pinned": topic.pinned || topic.pinned_globally,
        "current_post_number": 1,
        "highest_post_number": topic.post_count,
        "deleted_by": null,
        "actions_summary": [],
        "chunk_size": 20,
        "bookmarked": false,
        "topic_timer": null,
        "message_bus_last_id": 0,
        "participant_count": participants.len(),
        "show_read_indicator": false,
        "thumbnails": null,
        "accepted_answer": topic.accepted_answer.map(|a| json!({"post_number": null, "post_id": a.0})),
        "has_accepted_answer": topic.accepted_answer.is_some(),
        "kind": kind.as_str(),
        "details": {
            "can_edit": ctx.viewer.is_some() && (ctx.mine(topic.author.id) || ctx.staff),
            "can_create_post": ctx.viewer.is_some() && !topic.closed && !topic.archived,
            "can_reply_as_new_topic": ctx.viewer.is_some(),
            "can_flag_topic": ctx.viewer.is_some(),
            "notification_level": 1,
            "participants": participants,
            "created_by": user_ref(ctx, &topic.author),
            "last_poster": user_ref(ctx, &topic.last_poster),
            "links": [],
        },
    })
}

/// `/search.json`.
pub(crate) fn search(ctx: &Ctx, term: &str, hits: &[SearchHit], more: bool) -> Value {
    let posts: Vec<Value> = hits
        .iter()
        .map(|h| {
            json!({
                "id": h.post.0,
                "name": h.author.display_name,
                "username": h.author.username,
                "avatar_template": avatar_template(ctx, &h.author.username, h.author.avatar_url.as_deref()),
                "created_at": ts(h.created_at),
                "like_count": 0,
                "blurb": h.snippet,
                "post_number": h.post_number,
                "topic_title_headline": h.title,
                "topic_id": h.topic.0,
            })
        })
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    let topics: Vec<Value> = hits
        .iter()
        .filter(|h| seen.insert(h.topic.0))
        .map(|h| {
            json!({
                "id": h.topic.0,
                "title": h.title,
                "fancy_title": h.title,
                "slug": h.slug,
                "posts_count": null,
                "reply_count": null,
                "highest_post_number": null,
                "created_at": ts(h.created_at),
                "category_id": h.category.0,
                "has_accepted_answer": h.solved,
                "archetype": "regular",
                "tags": [],
            })
        })
        .collect();
    json!({
        "posts": posts,
        "topics": topics,
        "users": [],
        "categories": [],
        "tags": [],
        "groups": [],
        "grouped_search_result": {
            "more_posts": if more { Some(true) } else { None },
            "more_users": null,
            "more_categories": null,
            "term": term,
            "search_log_id": 0,
            "more_full_page_results": if more { Some(true) } else { None },
            "can_create_topic": ctx.viewer.is_some(),
            "error": null,
            "post_ids": hits.iter().map(|h| h.post.0).collect::<Vec<_>>(),
            "user_ids": [],
            "category_ids": [],
            "tag_ids": [],
            "group_ids": [],
        }
    })
}

fn badge_type(tier: BadgeTier) -> i64 {
    match tier {
        BadgeTier::Gold => 1,
        BadgeTier::Silver => 2,
        BadgeTier::Bronze => 3,
    }
}

pub(crate) fn badge_types() -> Value {
    json!([
        {"id": 1, "name": "Gold", "sort_order": 9},
        {"id": 2, "name": "Silver", "sort_order": 8},
        {"id": 3, "name": "Bronze", "sort_order": 7},
    ])
}

pub(crate) fn badge(b: &hearth::Badge, grant_count: usize) -> Value {
    json!({
        "id": b.id,
        "name": b.name,
        "description": b.description,
        "grant_count": grant_count,
        "allow_title": false,
        "multiple_grant": b.multiple,
        "icon": b.icon,
        "image_url": null,
        "listable": true,
        "enabled": true,
        "badge_grouping_id": 1,
        "system": false,
        "slug": b.slug,
        "manually_grantable": true,
        "badge_type_id": badge_type(b.tier),
    })
}

/// `/user_badges/{username}.json`.
pub(crate) fn user_badges(ctx: &Ctx, user: &User, grants: &[BadgeGrant]) -> Value {
    let mut badges: Vec<&hearth::Badge> = Vec::new();
    for g in grants {
        if !badges.iter().any(|b| b.id == g.badge.id) {
            badges.push(&g.badge);
        }
    }
    json!({
        "badges": badges.iter().map(|b| badge(b, grants.iter().filter(|g| g.badge.id == b.id).count())).collect::<Vec<_>>(),
        "badge_types": badge_types(),
        "granted_bies": [],
        "users": [{
            "id": user.id.0,
            "username": user.username,
            "name": user.display_name,
            "avatar_template": avatar_template(ctx, &user.username, user.avatar_url.as_deref()),
        }],
        "user_badges": grants.iter().enumerate().map(|(i, g)| json!({
            "id": i + 1,
            "granted_at": ts(g.granted_at),
            "created_at": ts(g.granted_at),
            "grouping_position": 0,
            "is_favorite": false,
            "can_favorite": false,
            "badge_id": g.badge.id,
            "user_id": user.id.0,
            "granted_by_id": -1,
            "post_id": g.post.map(|p| p.0),
            "reason": g.reason,
        })).collect::<Vec<_>>(),
    })
}

/// What a profile shows besides the account.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub user: User,
    pub role: Role,
    pub trust_level: u8,
    pub joined_at: OffsetDateTime,
    pub grants: Vec<BadgeGrant>,
    pub points: i64,
    pub post_count: i64,
    pub topic_count: i64,
    pub likes_received: i64,
    pub likes_given: i64,
    pub email: Option<String>,
}

/// `/u/{username}.json`.
pub(crate) fn user(ctx: &Ctx, p: &Profile) -> Value {
    let u = &p.user;
    let mine = ctx.mine(u.id);
    let mut user = json!({
        "id": u.id.0,
        "username": u.username,
        "name": u.display_name,
        "avatar_template": avatar_template(ctx, &u.username, u.avatar_url.as_deref()),
        "last_posted_at": null,
        "last_seen_at": u.last_seen_at.map(ts),
        "created_at": ts(u.created_at),
        "joined_at": ts(p.joined_at),
        "ignored": false,
        "muted": false,
        "can_ignore_user": false,
        "can_mute_user": false,
        "can_send_private_messages": false,
        "can_send_private_message_to_user": false,
        "trust_level": p.trust_level,
        "moderator": p.role.is_moderator(),
        "admin": p.role.is_admin(),
        "title": if p.role.is_official() { Some(role_title(p.role)) } else { None },
        "badge_count": p.grants.len(),
        "post_count": p.post_count,
        "topic_count": p.topic_count,
        "likes_received": p.likes_received,
        "likes_given": p.likes_given,
        "points": p.points,
        "profile_view_count": 0,
        "time_read": 0,
        "recent_time_read": 0,
        "primary_group_id": null,
        "primary_group_name": null,
        "flair_group_id": null,
        "featured_topic": null,
        "bio_raw": u.bio,
        "bio_cooked": format!("<p>{}</p>", crate::templates::escape(&u.bio)),
        "bio_excerpt": u.bio.chars().take(300).collect::<String>(),
        "website": null,
        "website_name": null,
        "location": null,
        "card_background_upload_url": null,
        "profile_background_upload_url": null,
        "can_edit": mine || ctx.staff,
        "can_edit_username": false,
        "can_edit_email": mine,
        "can_edit_name": mine || ctx.staff,
        "can_be_deleted": false,
        "can_delete_all_posts": false,
        "invited_by": null,
        "groups": [],
        "user_fields": {},
        "role": p.role.as_str(),
    });
    if mine || ctx.staff {
        user["email"] = json!(p.email);
    }
    json!({
        "user_badges": [],
        "badges": p.grants.iter().map(|g| badge(&g.badge, 1)).collect::<Vec<_>>(),
        "badge_types": badge_types(),
        "users": [],
        "topics": [],
        "user": user,
    })
}

pub(crate) fn role_title(role: Role) -> &'static str {
    match role {
        Role::Owner | Role::Admin => "Admin",
        Role::Moderator => "Moderator",
        Role::Staff => "Staff",
        Role::Expert => "Expert",
        _ => "Member",
    }
}

/// `/directory_items.json`.
pub(crate) fn directory(ctx: &Ctx, entries: &[DirectoryEntry], more_url: Option<String>) -> Value {
    json!({
        "directory_items": entries.iter().map(|e| json!({
            "id": e.user.id.0,
            "likes_received": e.likes_received,
            "likes_given": e.likes_given,
            "topics_entered": e.topics_entered,
            "topic_count": e.topic_count,
            "post_count": e.post_count,
            "posts_read": e.posts_read,
            "days_visited": e.days_visited,
            "user": {
                "id": e.user.id.0,
                "username": e.user.username,
                "name": e.user.display_name,
                "avatar_template": avatar_template(ctx, &e.user.username, e.user.avatar_url.as_deref()),
                "title": if e.role.is_official() { Some(role_title(e.role)) } else { None },
                "trust_level": e.trust_level.number(),
            },
        })).collect::<Vec<_>>(),
        "meta": {
            "last_updated_at": null,
            "total_rows_directory_items": entries.len(),
            "load_more_directory_items": more_url,
        }
    })
}
