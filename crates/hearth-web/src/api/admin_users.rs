//! Users as Discourse's admin API shows and manages them:
//! `GET /admin/users.json`, `/admin/users/list/{flag}.json`,
//! `/admin/users/{id}.json` and `POST /admin/users/{id}/log_out.json`,
//! typed after its document. Staff only, as the engine decides
//! (`Forum::member_list`); e-mail addresses only to admins who ask
//! (`show_emails`).

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use hearth::{DirectoryEntry, Member, MemberFilter, MemberOrder, MemberQuery, Role, UserId};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

use super::groups::{UserGroup, user_group};
use super::shape::{Ctx, Null, avatar_template, ts};
use crate::error::{ApiError, Error, json_response};
use crate::params::Params;
use crate::state::State;
use crate::visitor::Visitor;

/// Members per page, as Discourse's admin list.
const PAGE: usize = 100;

/// What the list and the single user share.
#[derive(Debug, Serialize)]
struct UserCore {
    id: i64,
    username: String,
    name: String,
    avatar_template: String,
    /// Hearth has no unactivated accounts.
    active: bool,
    admin: bool,
    moderator: bool,
    last_seen_at: Option<String>,
    last_emailed_at: Null,
    created_at: String,
    last_seen_age: Option<f64>,
    last_emailed_age: Null,
    created_at_age: Option<f64>,
    trust_level: u8,
    manual_locked_trust_level: Null,
    title: Null,
    time_read: u8,
    staged: bool,
    days_visited: i64,
    posts_read_count: i64,
    topics_entered: i64,
    post_count: i64,
}

/// A user in `/admin/users.json`.
#[derive(Debug, Serialize)]
struct ListItem {
    #[serde(flatten)]
    core: UserCore,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secondary_emails: Option<[(); 0]>,
}

/// `/admin/users/{id}.json`.
#[derive(Debug, Serialize)]
struct Detail {
    #[serde(flatten)]
    core: UserCore,
    associated_accounts: [(); 0],
    can_send_activation_email: bool,
    can_activate: bool,
    can_deactivate: bool,
    can_change_trust_level: bool,
    /// Hearth keeps no IP addresses.
    ip_address: &'static str,
    registration_ip_address: Null,
    can_grant_admin: bool,
    can_revoke_admin: bool,
    can_grant_moderation: bool,
    can_revoke_moderation: bool,
    can_impersonate: bool,
    like_count: i64,
    like_given_count: i64,
    topic_count: i64,
    flags_given_count: u8,
    flags_received_count: u8,
    private_topics_count: u8,
    can_delete_all_posts: bool,
    can_be_deleted: bool,
    can_be_anonymized: bool,
    can_be_merged: bool,
    full_suspend_reason: Option<String>,
    silence_reason: Option<String>,
    full_silence_reason: Option<String>,
    primary_group_id: Null,
    badge_count: usize,
    warnings_received_count: u8,
    bounce_score: Null,
    reset_bounce_score_after: Null,
    can_view_action_logs: bool,
    can_disable_second_factor: bool,
    can_delete_sso_record: bool,
    api_key_count: usize,
    single_sign_on_record: Null,
    approved_by: Null,
    suspended_by: Null,
    silenced_by: Null,
    groups: Vec<UserGroup>,
    external_ids: super::shape::Empty,
    include_ip: bool,
}

/// Seconds from `t` to now.
fn age(now: OffsetDateTime, t: OffsetDateTime) -> f64 {
    (now - t).as_seconds_f64().max(0.0)
}

fn user_core(ctx: &Ctx, now: OffsetDateTime, m: &Member, stats: &DirectoryEntry) -> UserCore {
    let u = &m.user;
    UserCore {
        id: u.id.0,
        avatar_template: avatar_template(ctx, &u.username, u.avatar_url.as_deref()),
        username: u.username.clone(),
        name: u.display_name.clone(),
        active: m.deactivated_at.is_none(),
        admin: m.role <= Role::Admin,
        moderator: m.role == Role::Moderator,
        last_seen_at: u.last_seen_at.map(ts),
        last_emailed_at: None,
        created_at: ts(u.created_at),
        last_seen_age: u.last_seen_at.map(|t| age(now, t)),
        last_emailed_age: None,
        created_at_age: Some(age(now, u.created_at)),
        trust_level: m.trust_level.number(),
        manual_locked_trust_level: None,
        title: None,
        time_read: 0,
        staged: false,
        days_visited: stats.days_visited,
        posts_read_count: stats.posts_read,
        topics_entered: stats.topics_entered,
        post_count: stats.post_count,
    }
}

/// `?order=`: the orders Hearth keeps, or a clear 400.
fn order(params: &Params) -> Result<MemberOrder, Error> {
    Ok(match params.str("order").as_deref() {
        None | Some("" | "created") => MemberOrder::Joined,
        Some("seen") => MemberOrder::Seen,
        Some("username") => MemberOrder::Username,
        Some("trust_level") => MemberOrder::TrustLevel,
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "order {other:?}: Hearth orders members by created, seen, username or trust_level"
            )));
        }
    })
}

/// `GET /admin/users.json` (`adminListUsers`).
pub(crate) async fn list(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, ApiError> {
    list_flagged(state, v, Some(MemberFilter::All), params).await
}

/// `GET /admin/users/list/{flag}.json` (`adminListUsersFlag`): `active`
/// (not deactivated), `deactivated`, `new` (trust level 0), `staff`,
/// `suspended`, `blocked` (silenced) and `suspect` (always empty: Hearth
/// has no such heuristic).
pub(crate) async fn list_flag(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(flag): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let filter = match super::name_of(&flag) {
        "active" => Some(MemberFilter::Active),
        "deactivated" => Some(MemberFilter::Deactivated),
        "new" => Some(MemberFilter::New),
        "staff" => Some(MemberFilter::Staff),
        "suspended" => Some(MemberFilter::Suspended),
        "blocked" | "silenced" => Some(MemberFilter::Silenced),
        "suspect" => None,
        _ => return Err(Error::Engine(hearth::Error::NotFound { what: "page" }).into()),
    };
    list_flagged(state, v, filter, params).await
}

async fn list_flagged(
    state: State,
    v: Visitor,
    filter: Option<MemberFilter>,
    params: Params,
) -> Result<Response, ApiError> {
    // Discourse's pages start at 1 (0 is the first too).
    let page = usize::try_from(params.int("page")?.unwrap_or(1).max(1) - 1).unwrap_or(0);
    let query = MemberQuery {
        filter: filter.unwrap_or_default(),
        order: order(&params)?,
        ascending: params.bool("asc").unwrap_or(false),
        email: params.str("email").filter(|e| !e.trim().is_empty()),
        offset: page.saturating_mul(PAGE),
        limit: PAGE,
    };
    let show_emails = params.bool("show_emails").unwrap_or(false);
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            // Checked even when the answer is empty (`suspect`).
            let members = s.forum.member_list(&v.actor, c, &query)?;
            if filter.is_none() {
                return Ok(Vec::new());
            }
            let ctx = super::ctx(s, &v.actor)?;
            let now = s.forum.now();
            let mut out = Vec::with_capacity(members.len());
            for m in &members {
                let stats = s.forum.directory_entry(&v.actor, c, m.user.id)?;
                let email = if show_emails && ctx.admin {
                    s.forum.login_of(m.user.id)?.map(|l| l.email)
                } else {
                    None
                };
                out.push(ListItem {
                    core: user_core(&ctx, now, m, &stats),
                    secondary_emails: email.as_ref().map(|_| []),
                    email,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// A sanction's reason while it lasts.
fn current(
    reason: &Option<String>,
    until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<String> {
    reason.clone().filter(|_| until.is_some_and(|t| t > now))
}

fn require_staff(ctx: &Ctx) -> Result<(), Error> {
    if ctx.staff {
        Ok(())
    } else {
        Err(Error::Engine(hearth::Error::Forbidden {
            reason: "only moderators and admins see this".into(),
        }))
    }
}

/// `GET /admin/users/{id}.json` (`adminGetUser`). Staff only.
pub(crate) async fn show(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = UserId(super::id_of(&id)?);
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            let ctx = super::ctx(s, &v.actor)?;
            require_staff(&ctx)?;
            let m = s.forum.member(&v.actor, c, id)?;
            let stats = s.forum.directory_entry(&v.actor, c, id)?;
            let badge_count = s.forum.member_badges(&v.actor, c, id)?.len();
            let groups = s
                .forum
                .member_groups(&v.actor, c, id)?
                .into_iter()
                .map(|g| user_group(&ctx, g))
                .collect();
            let api_key_count = crate::auth::list_api_keys(&s.forum, c)?
                .into_iter()
                .filter(|(_, k)| k.user == Some(id) && k.revoked_at.is_none())
                .count();
            let now = s.forum.now();
            let admin_over =
                |role: Role| ctx.admin && ctx.viewer != Some(id) && role != Role::Owner;
            Ok(Detail {
                core: user_core(&ctx, now, &m, &stats),
                associated_accounts: [],
                can_send_activation_email: false,
                can_activate: false,
                can_deactivate: false,
                can_change_trust_level: ctx.staff,
                ip_address: "",
                registration_ip_address: None,
                can_grant_admin: admin_over(m.role) && m.role > Role::Admin,
                can_revoke_admin: admin_over(m.role) && m.role == Role::Admin,
                can_grant_moderation: admin_over(m.role) && m.role == Role::Member,
                can_revoke_moderation: admin_over(m.role) && m.role == Role::Moderator,
                can_impersonate: false,
                like_count: stats.likes_received,
                like_given_count: stats.likes_given,
                topic_count: stats.topic_count,
                flags_given_count: 0,
                flags_received_count: 0,
                private_topics_count: 0,
                can_delete_all_posts: false,
                can_be_deleted: false,
                can_be_anonymized: false,
                can_be_merged: false,
                full_suspend_reason: current(&m.suspend_reason, m.suspended_until, now),
                silence_reason: current(&m.silence_reason, m.silenced_until, now),
                full_silence_reason: current(&m.silence_reason, m.silenced_until, now),
                primary_group_id: None,
                badge_count,
                warnings_received_count: 0,
                bounce_score: None,
                reset_bounce_score_after: None,
                can_view_action_logs: ctx.staff,
                can_disable_second_factor: false,
                can_delete_sso_record: false,
                api_key_count,
                single_sign_on_record: None,
                approved_by: None,
                suspended_by: None,
                silenced_by: None,
                groups,
                external_ids: super::shape::Empty {},
                include_ip: false,
            })
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// `POST /admin/users/{id}/log_out.json` (`logOutUser`): ends every
/// session of the member (their API keys stay). Admins only.
pub(crate) async fn log_out(
    state: State,
    v: Visitor,
    id: UserId,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    state
        .run(move |s| {
            let c = s.config.community;
            if !super::ctx(s, &actor)?.admin {
                return Err(Error::Engine(hearth::Error::Forbidden {
                    reason: "only admins sign members out".into(),
                }));
            }
            s.forum.member(&actor, c, id)?;
            crate::auth::end_all_sessions(&s.forum, c, id)?;
            Ok(())
        })
        .await?;
    super::success()
}

/// What an admin does to a member's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountAction {
    /// `PUT /admin/users/{id}/activate.json` (`activateUser`).
    Activate,
    /// `PUT /admin/users/{id}/deactivate.json` (`deactivateUser`).
    Deactivate,
    /// `PUT /admin/users/{id}/anonymize.json` (`anonymizeUser`).
    Anonymize,
}

/// Activates, deactivates or anonymizes a member (the engine decides
/// who may: admins, never against staff). Deactivating and anonymizing
/// end the member's sessions and revoke their API keys here.
pub(crate) async fn account(
    state: State,
    v: Visitor,
    id: UserId,
    action: AccountAction,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            let answer = match action {
                AccountAction::Activate | AccountAction::Deactivate => {
                    let active = action == AccountAction::Activate;
                    s.forum.set_member_active(&actor, c, id, active)?;
                    json!({ "success": "OK" })
                }
                AccountAction::Anonymize => {
                    let user = s.forum.anonymize_user(&actor, c, id)?;
                    json!({ "success": "OK", "username": user.username })
                }
            };
            if action != AccountAction::Activate {
                crate::auth::end_all_access(&s.forum, c, id)?;
            }
            Ok(answer)
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// `DELETE /admin/users/{id}.json` (`deleteUser`): `delete_posts` deletes
/// the member's posts here too (without it, a member with posts is
/// refused: 409); `block_email`, `block_urls` and `block_ip` are refused
/// when true (Hearth keeps no block lists). Admins only.
pub(crate) async fn delete(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let id = UserId(super::id_of(&id)?);
    for block in ["block_email", "block_urls", "block_ip"] {
        if params.bool(block) == Some(true) {
            return Err(Error::BadRequest(format!(
                "{block}: Hearth keeps no block lists; send false or leave it out"
            ))
            .into());
        }
    }
    let delete_posts = params.bool("delete_posts").unwrap_or(false);
    state
        .run(move |s| {
            let c = s.config.community;
            s.forum.delete_user(&actor, c, id, delete_posts)?;
            crate::auth::end_all_access(&s.forum, c, id)?;
            Ok(())
        })
        .await?;
    Ok(json_response(StatusCode::OK, &json!({ "deleted": true })))
}
