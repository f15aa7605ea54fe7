//! Groups, as Discourse's API serves them: `/groups.json`,
//! `/groups/{name}.json`, `/groups/by-id/{id}.json` and
//! `/groups/{name}/members.json`, typed after its document (which forbids
//! other fields). Groups are the community's members' to see, as the
//! engine decides; everything else is a settings Hearth's groups don't
//! have, at Discourse's defaults.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use hearth::{Actor, Group, GroupId, GroupMember};
use serde::Serialize;

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
    is_group_user: bool,
    members_visibility_level: u8,
    can_see_members: bool,
    can_admin_group: bool,
    can_edit_group: bool,
    publish_read_state: bool,
}

/// A group in `/groups.json`.
#[derive(Debug, Serialize)]
struct GroupListItem {
    #[serde(flatten)]
    core: GroupCore,
    display_name: String,
    is_group_owner: bool,
}

/// A group in `/groups/{name}.json`.
#[derive(Debug, Serialize)]
struct GroupDetail {
    #[serde(flatten)]
    core: GroupCore,
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

/// `mine`: the visitor's own groups (`Forum::own_groups`).
fn core(ctx: &Ctx, mine: &[GroupId], g: Group) -> GroupCore {
    let excerpt: String = g.description.chars().take(300).collect();
    GroupCore {
        is_group_user: mine.contains(&g.id),
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
        can_edit_group: ctx.admin,
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
                    core: core(&ctx, &mine, g),
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
                    core: core(&ctx, &mine, group),
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
