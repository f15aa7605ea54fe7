//! One category through Discourse's API: `GET /c/{id}/show.json`,
//! `POST /categories.json` and `PUT /categories/{id}.json`, typed after
//! its document's category shape (which forbids other fields). Who may
//! read a category and who may change one is the engine's to decide
//! (admins create and change them).

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use hearth::{Actor, Category, CategoryId, CategoryKind, GroupId, NewCategory, Visibility};
use serde::Serialize;
use serde_json::Value;

use super::shape::{CategoryCore, Ctx, Empty, category_core};
use crate::error::{ApiError, Error, json_response};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// Discourse's permission types.
const FULL: u8 = 1;
const READONLY: u8 = 3;
/// The id Discourse gives its `everyone` group.
const EVERYONE: i64 = 0;
/// Discourse's automatic group of all members (`trust_level_0`).
const ALL_MEMBERS: i64 = 10;

/// A category as `getCategory`, `createCategory` and `updateCategory`
/// answer it.
#[derive(Debug, Serialize)]
struct CategoryDetail {
    #[serde(flatten)]
    core: CategoryCore,
    custom_fields: Empty,
    available_groups: Vec<String>,
    auto_close_hours: Option<()>,
    auto_close_based_on_last_post: bool,
    allow_unlimited_owner_edits_on_first_post: bool,
    default_slow_mode_seconds: Option<()>,
    group_permissions: Vec<GroupPermission>,
    email_in: Option<()>,
    email_in_allow_strangers: bool,
    mailinglist_mirror: bool,
    all_topics_wiki: bool,
    can_delete: bool,
    allow_badges: bool,
    topic_featured_link_allowed: bool,
    search_priority: u8,
    topic_posting_review_group_ids: [i64; 0],
    reply_posting_review_group_ids: [i64; 0],
}

#[derive(Debug, Serialize)]
struct GroupPermission {
    permission_type: u8,
    group_name: String,
    group_id: i64,
}

#[derive(Debug, Serialize)]
struct CategoryAnswer {
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<&'static str>,
    category: CategoryDetail,
}

fn detail(s: &AppState, ctx: &Ctx, actor: &Actor, c: Category) -> Result<CategoryDetail, Error> {
    let community = s.config.community;
    let all = s.forum.categories(actor, community)?;
    let children = all.iter().filter(|o| o.parent == Some(c.id)).count();
    let permission = if c.read_only { READONLY } else { FULL };
    // Read once: group names for a group-only category, and the list an
    // admin may choose from.
    let names = if ctx.admin || c.visibility == Visibility::Groups {
        group_names(s, actor)?
    } else {
        Vec::new()
    };
    let group_permissions = match c.visibility {
        Visibility::Public => vec![GroupPermission {
            permission_type: permission,
            group_name: "everyone".into(),
            group_id: EVERYONE,
        }],
        Visibility::Members => vec![GroupPermission {
            permission_type: permission,
            group_name: "trust_level_0".into(),
            group_id: ALL_MEMBERS,
        }],
        Visibility::Groups => c
            .groups
            .iter()
            .map(|g| GroupPermission {
                permission_type: permission,
                group_name: names
                    .iter()
                    .find(|(id, _)| id == g)
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default(),
                group_id: g.0,
            })
            .collect(),
    };
    Ok(CategoryDetail {
        core: category_core(ctx, &c, children),
        custom_fields: Empty {},
        available_groups: if ctx.admin {
            names.into_iter().map(|(_, n)| n).collect()
        } else {
            Vec::new()
        },
        auto_close_hours: None,
        auto_close_based_on_last_post: false,
        allow_unlimited_owner_edits_on_first_post: false,
        default_slow_mode_seconds: None,
        group_permissions,
        email_in: None,
        email_in_allow_strangers: false,
        mailinglist_mirror: false,
        all_topics_wiki: false,
        can_delete: ctx.admin,
        allow_badges: c.rewards,
        topic_featured_link_allowed: false,
        search_priority: 0,
        topic_posting_review_group_ids: [],
        reply_posting_review_group_ids: [],
    })
}

/// The community's groups as (id, name); none for a non-member.
fn group_names(s: &AppState, actor: &Actor) -> Result<Vec<(GroupId, String)>, Error> {
    match s.forum.groups(actor, s.config.community) {
        Ok(groups) => Ok(groups.into_iter().map(|g| (g.id, g.name)).collect()),
        Err(hearth::Error::Forbidden { .. }) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

fn answer(success: bool, category: CategoryDetail) -> Response {
    json_response(
        StatusCode::OK,
        &CategoryAnswer {
            success: success.then_some("OK"),
            category,
        },
    )
}

/// `GET /c/{id}/show.json` (`getCategory`).
pub(crate) async fn show(state: State, v: Visitor, id: CategoryId) -> Result<Response, ApiError> {
    let category = state
        .run(move |s| {
            let c = s.forum.category(&v.actor, s.config.community, id)?;
            let ctx = super::ctx(s, &v.actor)?;
            detail(s, &ctx, &v.actor, c)
        })
        .await?;
    Ok(answer(false, category))
}

/// Who may read a category, from Discourse's `permissions` map (group
/// name → permission type): `everyone` makes it public, `trust_level_0`
/// (or Hearth's `members`) members-only, other names the groups that may
/// read it (Discourse's `staff`, `admins` and `moderators`, unless the
/// community has a group so named, add nothing: moderators read every
/// category). `None` when the request has no map.
fn access(s: &AppState, actor: &Actor, params: &Params) -> Result<Option<Access>, Error> {
    let Some(map) = params.get("permissions") else {
        return Ok(None);
    };
    let Value::Object(map) = map else {
        return Err(Error::BadRequest(
            "permissions: an object of group name → permission type (1 full, 3 read-only)".into(),
        ));
    };
    let read_only = |v: &Value| v.as_i64().or_else(|| v.as_str()?.parse().ok()) == Some(3);
    if let Some(v) = map.get("everyone") {
        return Ok(Some(Access {
            visibility: Visibility::Public,
            groups: Vec::new(),
            read_only: read_only(v),
        }));
    }
    if let Some(v) = map.get("trust_level_0").or_else(|| map.get("members")) {
        return Ok(Some(Access {
            visibility: Visibility::Members,
            groups: Vec::new(),
            read_only: read_only(v),
        }));
    }
    let known = group_names(s, actor)?;
    let mut groups = Vec::new();
    for name in map.keys() {
        match known.iter().find(|(_, n)| n.eq_ignore_ascii_case(name)) {
            Some((id, _)) => groups.push(*id),
            // Discourse's automatic staff groups: Hearth's moderators
            // read every category anyway.
            None if matches!(name.as_str(), "staff" | "admins" | "moderators") => {}
            None => {
                return Err(Error::BadRequest(format!(
                    "permissions: no group named {name:?}"
                )));
            }
        }
    }
    Ok(Some(Access {
        visibility: Visibility::Groups,
        groups,
        read_only: map.values().any(read_only),
    }))
}

struct Access {
    visibility: Visibility,
    groups: Vec<GroupId>,
    read_only: bool,
}

/// The fields a create or update request may set, over `base`.
fn apply(
    s: &AppState,
    actor: &Actor,
    params: &Params,
    base: &mut NewCategory,
) -> Result<(), Error> {
    if let Some(name) = params.str("name") {
        base.name = name;
    }
    if let Some(slug) = params.str("slug").filter(|s| !s.is_empty()) {
        base.slug = slug;
    }
    if let Some(d) = params.str("description") {
        base.description = d;
    }
    if let Some(parent) = params.int("parent_category_id")? {
        base.parent = Some(CategoryId(parent));
    }
    if let Some(kind) = params.str("kind") {
        base.kind = serde_json::from_value::<CategoryKind>(Value::String(kind.clone())).map_err(
            |_| {
                Error::BadRequest(format!(
                    "kind {kind:?}: one of discussion, question_and_answer, knowledge_base, blog, ideas, announcements"
                ))
            },
        )?;
    }
    if let Some(a) = access(s, actor, params)? {
        base.visibility = a.visibility;
        base.groups = a.groups;
        base.read_only = a.read_only;
    }
    Ok(())
}

/// `POST /categories.json` (`createCategory`): `name` (required), `slug`
/// (else made from the name), `parent_category_id`, `permissions`, and
/// Hearth's own `kind` and `description`. Admins only.
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let name = params.need("name")?;
    let category = state
        .run(move |s| {
            let mut new =
                NewCategory::new(&hearth::slugify(&name), &name, CategoryKind::Discussion);
            apply(s, &actor, &params, &mut new)?;
            let c = s.forum.create_category(&actor, s.config.community, new)?;
            let ctx = super::ctx(s, &actor)?;
            detail(s, &ctx, &actor, c)
        })
        .await?;
    Ok(answer(false, category))
}

/// `PUT /categories/{id}.json` (`updateCategory`): the fields given
/// change, the others stay. Admins only.
pub(crate) async fn update(
    state: State,
    v: Visitor,
    id: CategoryId,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let category = state
        .run(move |s| {
            let c = s.forum.category(&actor, s.config.community, id)?;
            let mut update = NewCategory {
                slug: c.slug,
                name: c.name,
                description: c.description,
                kind: c.kind,
                visibility: c.visibility,
                groups: c.groups,
                parent: c.parent,
                position: Some(c.position),
                read_only: c.read_only,
                rewards: c.rewards,
                rules: c.rules,
            };
            apply(s, &actor, &params, &mut update)?;
            let c = s
                .forum
                .update_category(&actor, s.config.community, id, update)?;
            let ctx = super::ctx(s, &actor)?;
            detail(s, &ctx, &actor, c)
        })
        .await?;
    Ok(answer(true, category))
}
