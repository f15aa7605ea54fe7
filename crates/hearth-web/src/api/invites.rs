//! Invites as Discourse's API makes them: `POST /invites.json` and
//! `POST /invites/create-multiple.json`, typed after its document. Hearth's
//! invites are links (`/invites/{code}`): a use count, an expiry, groups
//! the new member joins and a topic to show them. Hearth does not send
//! invitation e-mails yet, so an invite for an address is made only with
//! `skip_email=true` (the caller shares the link).

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::Response;
use hearth::{GroupId, Invite, NewInvite, TopicId};
use serde::Serialize;
use time::OffsetDateTime;

use super::shape::ts;
use crate::error::{ApiError, Error, json_response};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// How long an invite lasts when the request names no `expires_at`
/// (Discourse's `invite_expiry_days` default).
const DEFAULT_DAYS: i64 = 90;

/// Most invites one `create-multiple` request makes.
const MAX_MULTIPLE: usize = 50;

/// An invite as `POST /invites.json` answers it.
#[derive(Debug, Serialize)]
struct InviteShape {
    id: i64,
    invite_key: String,
    link: String,
    description: Option<()>,
    email: String,
    domain: Option<()>,
    emailed: bool,
    can_delete_invite: bool,
    custom_message: Option<()>,
    created_at: String,
    updated_at: String,
    expires_at: String,
    expired: bool,
    grants_admin: bool,
    grants_moderator: bool,
    topics: Vec<TopicRef>,
    groups: Vec<GroupRef>,
}

#[derive(Debug, Serialize)]
struct TopicRef {
    id: i64,
    title: String,
    slug: String,
}

#[derive(Debug, Serialize)]
struct GroupRef {
    id: i64,
    name: String,
}

/// What the request asks for, checked before anything is made.
struct Wanted {
    new: NewInvite,
    group_names: Vec<String>,
    emails: Vec<String>,
}

fn wanted(params: &Params, now: OffsetDateTime, multiple: bool) -> Result<Wanted, Error> {
    let emails: Vec<String> = match params.get("email") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str())
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
        Some(_) => params
            .str("email")
            .unwrap_or_default()
            .split(',')
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty())
            .collect(),
    };
    if multiple && emails.is_empty() {
        return Err(Error::BadRequest(
            "param is missing or the value is empty: email (one address per invite)".into(),
        ));
    }
    if emails.len() > if multiple { MAX_MULTIPLE } else { 1 } {
        return Err(Error::BadRequest(format!(
            "email: at most {} per request",
            if multiple { MAX_MULTIPLE } else { 1 }
        )));
    }
    if !emails.is_empty() && params.bool("skip_email") != Some(true) {
        return Err(Error::BadRequest(
            "Hearth does not e-mail invitations yet: send skip_email=true and share the link"
                .into(),
        ));
    }
    let max_uses = match params.int("max_redemptions_allowed")? {
        None => 1,
        Some(n) if (1..=i64::from(u32::MAX)).contains(&n) => n as u32,
        Some(n) => {
            return Err(Error::BadRequest(format!(
                "max_redemptions_allowed {n}: at least 1"
            )));
        }
    };
    let expires_at = match params.str("expires_at").filter(|s| !s.trim().is_empty()) {
        None => now + time::Duration::days(DEFAULT_DAYS),
        Some(text) => {
            let at = super::sanctions::until(&text)?;
            if at <= now {
                return Err(Error::BadRequest(format!(
                    "expires_at {text:?}: a time in the future"
                )));
            }
            at
        }
    };
    let ids = |key: &str| -> Result<Vec<GroupId>, Error> {
        params
            .str(key)
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse()
                    .map(GroupId)
                    .map_err(|_| Error::BadRequest(format!("{key}: comma-separated group ids")))
            })
            .collect()
    };
    Ok(Wanted {
        new: NewInvite {
            expires_in: None,
            expires_at: Some(expires_at),
            max_uses: Some(if emails.is_empty() { max_uses } else { 1 }),
            role: None,
            groups: ids("group_ids")?,
            topic: params.int("topic_id")?.map(TopicId),
        },
        group_names: params
            .str("group_names")
            .unwrap_or_default()
            .split(',')
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !n.is_empty())
            .collect(),
        emails,
    })
}

fn shape(s: &AppState, invite: &Invite, email: &str) -> Result<InviteShape, Error> {
    let c = s.config.community;
    let system = hearth::Actor::System;
    let origin = crate::pages::origin(s).unwrap_or_default();
    let topics = match invite.topic {
        Some(t) => {
            let topic = s.forum.topic_only(&system, c, t)?;
            vec![TopicRef {
                id: t.0,
                title: topic.title,
                slug: topic.slug,
            }]
        }
        None => Vec::new(),
    };
    let groups = invite
        .groups
        .iter()
        .map(|g| {
            Ok(GroupRef {
                id: g.0,
                name: s.forum.group(&system, c, *g)?.name,
            })
        })
        .collect::<Result<_, Error>>()?;
    let now = s.forum.now();
    Ok(InviteShape {
        id: invite.id,
        link: format!("{origin}{}", s.url(&format!("/invites/{}", invite.code))),
        invite_key: invite.code.clone(),
        description: None,
        email: email.to_string(),
        domain: None,
        emailed: false,
        can_delete_invite: true,
        custom_message: None,
        created_at: ts(invite.created_at),
        updated_at: ts(invite.created_at),
        expires_at: invite.expires_at.map(ts).unwrap_or_default(),
        expired: invite.expires_at.is_some_and(|t| t <= now),
        grants_admin: false,
        grants_moderator: false,
        topics,
        groups,
    })
}

/// The request's invites: one per address, or one link.
fn make(s: &AppState, v: &Visitor, mut wanted: Wanted) -> Result<Vec<InviteShape>, Error> {
    let c = s.config.community;
    if !wanted.group_names.is_empty() {
        let all = s.forum.groups(&v.actor, c)?;
        for name in &wanted.group_names {
            let g = all
                .iter()
                .find(|g| g.name.to_lowercase() == *name)
                .ok_or_else(|| Error::BadRequest(format!("group_names: no group {name:?}")))?;
            wanted.new.groups.push(g.id);
        }
    }
    let emails = if wanted.emails.is_empty() {
        vec![String::new()]
    } else {
        wanted.emails
    };
    emails
        .iter()
        .map(|email| {
            let invite = s.forum.create_invite(&v.actor, c, wanted.new.clone())?;
            shape(s, &invite, email)
        })
        .collect()
}

/// `POST /invites.json` (`createInvite`): `max_redemptions_allowed`
/// (default 1), `expires_at` (default in 90 days), `topic_id`,
/// `group_ids` or `group_names` (admins), `email` with `skip_email=true`.
/// Moderators and admins, as the engine decides.
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, ApiError> {
    params.writer(&v)?;
    let wanted = wanted(&params, state.forum.now(), false)?;
    let mut made = state.run(move |s| make(s, &v, wanted)).await?;
    let one = made
        .pop()
        .ok_or_else(|| Error::Internal("no invite made".into()))?;
    Ok(json_response(StatusCode::OK, &one))
}

/// `POST /invites/create-multiple.json` (`createMultipleInvites`): one
/// single-use invite per address in `email` (a list, at most 50), the
/// other fields shared. Every invite passes the same checks, so a request
/// the first invite fails makes none.
pub(crate) async fn create_multiple(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, ApiError> {
    params.writer(&v)?;
    let wanted = wanted(&params, state.forum.now(), true)?;
    let made = state.run(move |s| make(s, &v, wanted)).await?;
    Ok(json_response(
        StatusCode::OK,
        &serde_json::json!({
            "num_successfully_created_invitations": made.len(),
            "num_failed_invitations": 0,
            "failed_invitations": [],
            "successful_invitations": made,
        }),
    ))
}
