//! Groups, as Discourse's API serves them: `/groups.json`,
//! `/groups/{name}.json`, `/groups/by-id/{id}.json` and
//! `/groups/{name}/members.json`, typed after its document (which forbids
//! other fields). Groups are the community's members' to see, as the
//! engine decides; everything else is a settings Hearth's groups don't
//! have, at Discourse's defaults.
//!
//! Admins manage them: `POST /admin/groups.json`, `PUT /groups/{id}.json`,
//! `DELETE /admin/groups/{id}.json`, and `PUT`/`DELETE
//! /groups/{id}/members.json` with comma-separated `usernames`. A request
//! asking for what Hearth's groups cannot be (owners, another visibility)
//! is refused, never half-applied.

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use hearth::{Actor, Group, GroupId, GroupMember, UserId};
use serde::Serialize;
use serde_json::{Value, json};

use super::html::SafeHtml;
use super::shape::{Ctx, avatar_template, ts};
use crate::error::{ApiError, Error, json_response};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// Discourse's `visibility_level` / `members_visibility_level` 1:
/// signed-in users (Hearth: the community's members).
const LOGGED_ON_USERS: u8 = 1;

/// What every group shape holds.
#[derive(Debug, Serialize)]
struct GroupCore {
    id: i64,
    automatic: bool,
    name: String,
    user_count: i64,
    mentionable_level: u8,
    messageable_level: u8,
    visibility_level: u8,
    primary_group: bool,
    title: Option<()>,
    grant_trust_level: Option<()>,
    incoming_email: Option<()>,
    has_messages: bool,
    flair_url: Option<()>,
    flair_bg_color: Option<()>,
    flair_color: Option<()>,
    bio_raw: String,
    bio_cooked: SafeHtml,
    bio_excerpt: SafeHtml,
    public_admission: bool,
    public_exit: bool,
    allow_membership_requests: bool,
    full_name: String,
    default_notification_level: u8,
    membership_request_template: Option<()>,
    members_visibility_level: u8,
    can_see_members: bool,
    can_admin_group: bool,
    /// Left out where the document has no such field (a user's groups).
    #[serde(skip_serializing_if = "Option::is_none")]
    can_edit_group: Option<bool>,
    publish_read_state: bool,
}

/// A group in `/groups.json`.
#[derive(Debug, Serialize)]
struct GroupListItem {
    #[serde(flatten)]
    core: GroupCore,
    is_group_user: bool,
    display_name: String,
    is_group_owner: bool,
}

/// A group in `/groups/{name}.json`.
#[derive(Debug, Serialize)]
struct GroupDetail {
    #[serde(flatten)]
    core: GroupCore,
    is_group_user: bool,
    is_group_owner_display: bool,
    mentionable: bool,
    messageable: bool,
    automatic_membership_email_domains: Option<()>,
    smtp_server: Option<()>,
    smtp_port: Option<()>,
    smtp_ssl_mode: Option<()>,
    email_username: Option<()>,
    email_password: Option<()>,
    message_count: u8,
    allow_unknown_sender_topic_replies: bool,
    watching_category_ids: [(); 0],
    tracking_category_ids: [(); 0],
    watching_first_post_category_ids: [(); 0],
    regular_category_ids: [(); 0],
    muted_category_ids: [(); 0],
}

#[derive(Debug, Serialize)]
struct GroupList {
    groups: Vec<GroupListItem>,
    extras: ListExtras,
    total_rows_groups: usize,
    load_more_groups: String,
}

#[derive(Debug, Serialize)]
struct ListExtras {
    type_filters: [&'static str; 0],
}

#[derive(Debug, Serialize)]
struct GroupAnswer {
    group: GroupDetail,
    extras: DetailExtras,
}

#[derive(Debug, Serialize)]
struct DetailExtras {
    visible_group_names: Vec<String>,
}

#[derive(Debug, Serialize)]
struct MemberList {
    members: Vec<MemberShape>,
    /// Hearth's groups have no owners: administrators manage them.
    owners: [(); 0],
    meta: Meta,
}

#[derive(Debug, Serialize)]
struct MemberShape {
    id: i64,
    username: String,
    name: String,
    avatar_template: String,
    title: Option<()>,
    /// `null` when they have not posted where the viewer may read.
    last_posted_at: Option<String>,
    /// `null` when they were never seen.
    last_seen_at: Option<String>,
    added_at: String,
    timezone: &'static str,
}

#[derive(Debug, Serialize)]
struct Meta {
    total: i64,
    limit: usize,
    offset: usize,
}

fn core(ctx: &Ctx, g: Group) -> GroupCore {
    let excerpt: String = g.description.chars().take(300).collect();
    GroupCore {
        id: g.id.0,
        automatic: false,
        user_count: g.member_count,
        mentionable_level: 0,
        messageable_level: 0,
        visibility_level: LOGGED_ON_USERS,
        primary_group: false,
        title: None,
        grant_trust_level: None,
        incoming_email: None,
        has_messages: false,
        flair_url: None,
        flair_bg_color: None,
        flair_color: None,
        bio_cooked: SafeHtml::paragraph(&g.description),
        bio_excerpt: SafeHtml::escape(&excerpt),
        bio_raw: g.description,
        public_admission: false,
        public_exit: false,
        allow_membership_requests: false,
        full_name: g.name.clone(),
        name: g.name,
        default_notification_level: 3,
        membership_request_template: None,
        members_visibility_level: LOGGED_ON_USERS,
        can_see_members: true,
        can_admin_group: ctx.admin,
        can_edit_group: Some(ctx.admin),
        publish_read_state: false,
    }
}

/// `GET /groups.json` (`listGroups`).
pub(crate) async fn list(AxState(state): AxState<State>, v: Visitor) -> Result<Response, ApiError> {
    let answer = state
        .run(move |s| {
            let groups = s.forum.groups(&v.actor, s.config.community)?;
            let ctx = super::ctx(s, &v.actor)?;
            let mine = s.forum.own_groups(&v.actor, s.config.community)?;
            let total = groups.len();
            let groups = groups
                .into_iter()
                .map(|g| GroupListItem {
                    display_name: g.name.clone(),
                    is_group_user: mine.contains(&g.id),
                    core: core(&ctx, g),
                    is_group_owner: false,
                })
                .collect();
            Ok(GroupList {
                groups,
                extras: ListExtras { type_filters: [] },
                total_rows_groups: total,
                load_more_groups: format!("{}/groups?page=1", s.config.base_path),
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// A group among a user's (`/admin/users/{id}.json`'s `groups`).
#[derive(Debug, Serialize)]
pub(crate) struct UserGroup {
    #[serde(flatten)]
    core: GroupCore,
    display_name: String,
}

pub(crate) fn user_group(ctx: &Ctx, g: Group) -> UserGroup {
    let display_name = g.name.clone();
    let mut core = core(ctx, g);
    core.can_edit_group = None;
    UserGroup { core, display_name }
}

/// Which group a path names.
#[derive(Debug, Clone)]
pub(crate) enum GroupRef {
    /// `/groups/{name}.json`.
    Name(String),
    /// `/groups/by-id/{id}.json`.
    Id(GroupId),
}

fn find(s: &AppState, actor: &Actor, which: &GroupRef) -> Result<Group, Error> {
    let c = s.config.community;
    Ok(match which {
        GroupRef::Name(name) => s.forum.group_by_name(actor, c, name)?,
        GroupRef::Id(id) => s.forum.group(actor, c, *id)?,
    })
}

/// `GET /groups/{name}.json` (`getGroup`) and `/groups/by-id/{id}.json`
/// (`getGroupById`).
pub(crate) async fn show(state: State, v: Visitor, which: GroupRef) -> Result<Response, ApiError> {
    let answer = state
        .run(move |s| {
            let group = find(s, &v.actor, &which)?;
            let ctx = super::ctx(s, &v.actor)?;
            let mine = s.forum.own_groups(&v.actor, s.config.community)?;
            let visible = s
                .forum
                .groups(&v.actor, s.config.community)?
                .into_iter()
                .map(|g| g.name)
                .collect();
            Ok(GroupAnswer {
                group: GroupDetail {
                    is_group_user: mine.contains(&group.id),
                    core: core(&ctx, group),
                    is_group_owner_display: false,
                    mentionable: false,
                    messageable: false,
                    automatic_membership_email_domains: None,
                    smtp_server: None,
                    smtp_port: None,
                    smtp_ssl_mode: None,
                    email_username: None,
                    email_password: None,
                    message_count: 0,
                    allow_unknown_sender_topic_replies: false,
                    watching_category_ids: [],
                    tracking_category_ids: [],
                    watching_first_post_category_ids: [],
                    regular_category_ids: [],
                    muted_category_ids: [],
                },
                extras: DetailExtras {
                    visible_group_names: visible,
                },
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// Members listed per request unless `limit` says otherwise (Discourse's
/// default).
const DEFAULT_LIMIT: usize = 50;

/// `GET /groups/{name}/members.json` (`listGroupMembers`): `offset` and
/// `limit` (at most `hearth::MAX_GROUP_PAGE`), by username.
pub(crate) async fn members(
    state: State,
    v: Visitor,
    name: String,
    params: Params,
) -> Result<Response, ApiError> {
    let offset = usize::try_from(params.int("offset")?.unwrap_or(0).max(0)).unwrap_or(0);
    let limit = usize::try_from(params.int("limit")?.unwrap_or(DEFAULT_LIMIT as i64).max(0))
        .unwrap_or(DEFAULT_LIMIT)
        .min(hearth::MAX_GROUP_PAGE);
    let answer = state
        .run(move |s| {
            let group = s.forum.group_by_name(&v.actor, s.config.community, &name)?;
            let list =
                s.forum
                    .group_members(&v.actor, s.config.community, group.id, offset, limit)?;
            let ctx = super::ctx(s, &v.actor)?;
            Ok(MemberList {
                members: list.into_iter().map(|m| member(&ctx, m)).collect(),
                owners: [],
                meta: Meta {
                    total: group.member_count,
                    limit,
                    offset,
                },
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

fn member(ctx: &Ctx, m: GroupMember) -> MemberShape {
    MemberShape {
        id: m.user.id.0,
        avatar_template: avatar_template(ctx, &m.user.username, m.user.avatar_url.as_deref()),
        username: m.user.username,
        name: m.user.display_name,
        title: None,
        last_posted_at: m.last_posted_at.map(ts),
        last_seen_at: m.last_seen_at.map(ts),
        added_at: ts(m.added_at),
        timezone: "UTC",
    }
}

#[derive(Debug, Serialize)]
struct Created {
    basic_group: GroupCore,
}

/// What a create or update request asks for, checked before anything is
/// written.
struct Wanted {
    name: String,
    description: Option<String>,
    usernames: Vec<String>,
}

fn wanted(params: &Params) -> Result<Wanted, Error> {
    if params.get("group").and_then(Value::as_object).is_none() {
        return Err(Error::BadRequest(
            "param is missing or the value is empty: group".into(),
        ));
    }
    if !usernames(params, "group.owner_usernames")?.is_empty() {
        return Err(Error::BadRequest(
            "Hearth's groups have no owners: admins manage them; leave owner_usernames out".into(),
        ));
    }
    for key in ["group.visibility_level", "group.members_visibility_level"] {
        if let Some(level) = params.int(key)?
            && level != i64::from(LOGGED_ON_USERS)
        {
            return Err(Error::BadRequest(format!(
                "{key}: Hearth's groups and their members are visible to the community's members ({LOGGED_ON_USERS}) only"
            )));
        }
    }
    Ok(Wanted {
        name: params.need("group.name")?,
        description: params.str("group.bio_raw"),
        usernames: usernames(params, "group.usernames")?,
    })
}

/// Comma-separated usernames (or a JSON list of them), trimmed, each
/// once (in any letter case), at most `hearth::MAX_GROUP_CHANGE`.
fn usernames(params: &Params, key: &str) -> Result<Vec<String>, Error> {
    let raw: Vec<String> = match params.get(key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s.split(',').map(str::to_string).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::BadRequest(format!("{key}: a list of usernames")))?,
        Some(_) => {
            return Err(Error::BadRequest(format!(
                "{key}: comma-separated usernames"
            )));
        }
    };
    let mut out: Vec<String> = Vec::new();
    for name in raw {
        let name = name.trim();
        if !name.is_empty() && !out.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            out.push(name.to_string());
        }
    }
    if out.len() > hearth::MAX_GROUP_CHANGE {
        return Err(Error::BadRequest(format!(
            "{key}: at most {} usernames per request; send the rest in another",
            hearth::MAX_GROUP_CHANGE
        )));
    }
    Ok(out)
}

/// The members named (id, username), or `BadRequest` naming those who
/// are not members.
fn members_named(
    s: &AppState,
    actor: &Actor,
    names: &[String],
) -> Result<Vec<(UserId, String)>, Error> {
    let Resolved { found, missing } = resolve(s, actor, names)?;
    if !missing.is_empty() {
        return Err(Error::BadRequest(format!(
            "no member is called {}: check the usernames",
            missing.join(", ")
        )));
    }
    Ok(found)
}

/// Names split into members (id, username) and names that are not.
struct Resolved {
    found: Vec<(UserId, String)>,
    missing: Vec<String>,
}

fn resolve(s: &AppState, actor: &Actor, names: &[String]) -> Result<Resolved, Error> {
    let (mut found, mut missing) = (Vec::new(), Vec::new());
    for name in names {
        match s.forum.member_by_username(actor, s.config.community, name) {
            Ok(m) => found.push((m.user.id, m.user.username)),
            Err(hearth::Error::NotFound { .. }) => missing.push(name.clone()),
            Err(e) => return Err(e.into()),
        }
    }
    Ok(Resolved { found, missing })
}

/// `POST /admin/groups.json` (`createGroup`): `group[name]`,
/// `group[bio_raw]`, `group[usernames]`. Unknown usernames fail the
/// request before the group is made.
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let wanted = wanted(&params)?;
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            let users: Vec<UserId> = members_named(s, &actor, &wanted.usernames)?
                .into_iter()
                .map(|(u, _)| u)
                .collect();
            let description = wanted.description.unwrap_or_default();
            let group = s
                .forum
                .create_group(&actor, c, &wanted.name, &description)?;
            s.forum.add_group_members(&actor, c, group.id, &users)?;
            let group = s.forum.group(&actor, c, group.id)?;
            let ctx = super::ctx(s, &actor)?;
            Ok(Created {
                basic_group: core(&ctx, group),
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// `PUT /groups/{id}.json` (`updateGroup`): `group[name]` and
/// `group[bio_raw]` (kept when left out). Members change through
/// `/groups/{id}/members.json`.
pub(crate) async fn update(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let id = GroupId(super::id_of(&id)?);
    let actor = params.writer(&v)?;
    let wanted = wanted(&params)?;
    if !wanted.usernames.is_empty() {
        return Err(Error::BadRequest(
            "group[usernames]: add or remove members with PUT or DELETE /groups/{id}/members.json"
                .into(),
        )
        .into());
    }
    state
        .run(move |s| {
            let c = s.config.community;
            let description = match wanted.description {
                Some(d) => d,
                None => s.forum.group(&actor, c, id)?.description,
            };
            s.forum
                .update_group(&actor, c, id, &wanted.name, &description)?;
            Ok(())
        })
        .await?;
    super::success()
}

/// `DELETE /admin/groups/{id}.json` (`deleteGroup`). A group that decides
/// who may see a category is refused (409) until the category's access
/// changes.
pub(crate) async fn delete(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let id = GroupId(super::id_of(&id)?);
    let actor = params.writer(&v)?;
    state
        .run(move |s| Ok(s.forum.delete_group(&actor, s.config.community, id)?))
        .await?;
    super::success()
}

/// `PUT /groups/{id}/members.json` (`addGroupMembers`, `usernames`).
/// Naming someone who is not a member fails the request: nobody is
/// added.
pub(crate) async fn add_members(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(path): Path<(String, String)>,
    params: Params,
) -> Result<Response, ApiError> {
    change_members(state, v, path, true, params).await
}

/// `DELETE /groups/{id}/members.json` (`removeGroupMembers`,
/// `usernames`): names of non-members, or of members not in the group,
/// come back as `skipped_usernames`.
pub(crate) async fn remove_members(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(path): Path<(String, String)>,
    params: Params,
) -> Result<Response, ApiError> {
    change_members(state, v, path, false, params).await
}

async fn change_members(
    state: State,
    v: Visitor,
    (id, rest): (String, String),
    add: bool,
    params: Params,
) -> Result<Response, ApiError> {
    if super::name_of(&rest) != "members" {
        return Err(Error::Engine(hearth::Error::NotFound { what: "page" }).into());
    }
    let id = GroupId(super::id_of(&id)?);
    let actor = params.writer(&v)?;
    let names = usernames(&params, "usernames")?;
    if names.is_empty() {
        return Err(
            Error::BadRequest("param is missing or the value is empty: usernames".into()).into(),
        );
    }
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            // The group must exist for the visitor (the engine checks
            // that they are an admin when it changes).
            s.forum.group(&actor, c, id)?;
            if add {
                let found = members_named(s, &actor, &names)?;
                let ids: Vec<UserId> = found.iter().map(|(u, _)| *u).collect();
                let added = s.forum.add_group_members(&actor, c, id, &ids)?;
                let usernames: Vec<&String> = found
                    .iter()
                    .filter(|(u, _)| added.contains(u))
                    .map(|(_, n)| n)
                    .collect();
                Ok(json!({ "success": "OK", "usernames": usernames, "emails": [] }))
            } else {
                let Resolved {
                    found,
                    missing: mut skipped,
                } = resolve(s, &actor, &names)?;
                let ids: Vec<UserId> = found.iter().map(|(u, _)| *u).collect();
                let removed = s.forum.remove_group_members(&actor, c, id, &ids)?;
                let mut usernames = Vec::new();
                for (u, name) in found {
                    if removed.contains(&u) {
                        usernames.push(name);
                    } else {
                        skipped.push(name);
                    }
                }
                Ok(json!({
                    "success": "OK",
                    "usernames": usernames,
                    "skipped_usernames": skipped,
                }))
            }
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}
