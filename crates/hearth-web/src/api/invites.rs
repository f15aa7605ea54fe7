//! Invites as Discourse's API makes them: `POST /invites.json`, `POST
//! /invites/create-multiple.json` and `POST /t/{id}/invite.json`, typed
//! after its document. Hearth's invites are links (`/invites/{code}`): a
//! use count, an expiry, groups the new member joins and a topic to show
//! them. An invite for an address is mailed to it (as the inviter's
//! account mail) unless `skip_email=true`; a member is invited to a topic
//! with a notification.

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
    /// Mail each address its link.
    send: bool,
    /// The inviter's words, put in the mail.
    message: Option<String>,
}

/// The longest `custom_message`, in characters.
const MAX_MESSAGE: usize = 1000;

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
        send: !emails.is_empty() && params.bool("skip_email") != Some(true),
        message: match params
            .str("custom_message")
            .filter(|m| !m.trim().is_empty())
        {
            Some(m) if m.chars().count() > MAX_MESSAGE => {
                return Err(Error::BadRequest(format!(
                    "custom_message: at most {MAX_MESSAGE} characters"
                )));
            }
            other => other,
        },
        emails,
    })
}

/// Mails `email` the invite's link, as `inviter`'s account mail (they
/// asked); the topic's title and `message` say why.
fn mail_invite(
    s: &AppState,
    inviter: &hearth::User,
    invite: &Invite,
    email: &str,
    message: Option<&str>,
) -> Result<(), Error> {
    let origin = crate::pages::origin(s).ok_or_else(|| {
        Error::Config("invitations need the public origin: set WebConfig::public_origin".into())
    })?;
    let link = format!("{origin}{}", s.url(&format!("/invites/{}", invite.code)));
    let name = crate::pages::site_name(s);
    let who = if inviter.display_name.is_empty() {
        inviter.username.clone()
    } else {
        format!("{} ({})", inviter.display_name, inviter.username)
    };
    let topic = match invite.topic {
        Some(t) => Some(
            s.forum
                .topic_only(&hearth::Actor::System, s.config.community, t)?
                .title,
        ),
        None => None,
    };
    let about = match &topic {
        Some(t) => format!(" to read “{t}”"),
        None => String::new(),
    };
    let esc = crate::templates::escape;
    let said = message
        .map(|m| format!("\n\n{who} wrote:\n{m}"))
        .unwrap_or_default();
    let text =
        format!("{who} invites you to {name}{about}.{said}\n\nJoin with this link:\n{link}\n");
    let html = format!(
        "<p>{} invites you to {}{}.</p>{}<p><a href=\"{}\">Join {}</a></p>",
        esc(&who),
        esc(&name),
        esc(&about),
        message
            .map(|m| format!("<blockquote>{}</blockquote>", esc(m)))
            .unwrap_or_default(),
        esc(&link),
        esc(&name)
    );
    s.forum.queue_account_email(
        s.config.community,
        inviter.id,
        hearth::AccountEmail {
            to: Some(email.to_owned()),
            subject: format!("{who} invites you to {name}"),
            text,
            html,
        },
    )?;
    s.deliver_soon();
    Ok(())
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
    // Mail goes out as someone's: the application names an inviter.
    let inviter = match (&v.actor, wanted.send) {
        (_, false) => None,
        (hearth::Actor::User(u), true) => Some(s.forum.user(*u)?),
        (_, true) => {
            return Err(Error::BadRequest(
                "mailed invitations come from someone: name them with Api-Username, or send skip_email=true and share the link".into(),
            ));
        }
    };
    let emails = if wanted.emails.is_empty() {
        vec![String::new()]
    } else {
        wanted.emails
    };
    emails
        .iter()
        .map(|email| {
            let invite = s.forum.create_invite(&v.actor, c, wanted.new.clone())?;
            let mut shaped = shape(s, &invite, email)?;
            if let Some(inviter) = &inviter {
                mail_invite(s, inviter, &invite, email, wanted.message.as_deref())?;
                shaped.emailed = true;
            }
            Ok(shaped)
        })
        .collect()
}

/// `POST /invites.json` (`createInvite`): `max_redemptions_allowed`
/// (default 1), `expires_at` (default in 90 days), `topic_id`,
/// `group_ids` or `group_names` (admins), `email` (mailed unless
/// `skip_email=true`; single use), `custom_message`.
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

/// `POST /t/{id}/invite.json` (`inviteToTopic`): `user` (a username) is
/// notified; `email` of a member likewise, of anyone else an invite to the
/// community leading to the topic is mailed (who may invite: the engine
/// decides). At most `Limits::topic_invites_per_hour` per member, refused
/// attempts counted too (they would tell who may read what).
pub(crate) async fn to_topic(
    state: State,
    v: Visitor,
    topic: TopicId,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let user = params.str("user").filter(|u| !u.trim().is_empty());
    let email = params.str("email").filter(|e| !e.trim().is_empty());
    if user.is_none() == email.is_none() {
        return Err(Error::BadRequest("send one of user (a username) or email".into()).into());
    }
    let message = params.str("custom_message");
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            let hearth::Actor::User(me) = actor else {
                return Err(Error::BadRequest(
                    "an invitation comes from someone: name them with Api-Username".into(),
                ));
            };
            let limit = hearth::Throttle {
                max: s.config.limits.topic_invites_per_hour,
                per: std::time::Duration::from_secs(3600),
            };
            if let hearth::Attempt::Refused { retry_after } =
                s.forum.attempt(&format!("topic-invite/{}", me.0), limit)?
            {
                return Err(Error::RateLimited { retry_after });
            }
            // The topic must be one the inviter reads.
            s.forum.topic_only(&actor, c, topic)?;
            let invitee = match (&user, &email) {
                (Some(name), _) => Some(s.forum.user_by_username(name.trim())?),
                (None, Some(address)) => match s.forum.login(address.trim())? {
                    Some(l) if l.email.eq_ignore_ascii_case(address.trim()) => {
                        Some(s.forum.user(l.user)?)
                    }
                    _ => None,
                },
                (None, None) => None,
            };
            let conversation = super::messages::is_message(s, &actor, topic);
            if let Some(invitee) = invitee {
                if conversation {
                    // A conversation: they take part from now on.
                    s.forum.add_message_participant(
                        &actor,
                        c,
                        topic,
                        hearth::Participant::User(invitee.id),
                    )?;
                } else {
                    s.forum.invite_to_topic(&actor, c, topic, invitee.id)?;
                }
                let ctx = super::ctx(s, &actor)?;
                return Ok(serde_json::json!({ "user": {
                    "id": invitee.id.0,
                    "username": invitee.username,
                    "name": invitee.display_name,
                    "avatar_template": super::shape::avatar_template(
                        &ctx, &invitee.username, invitee.avatar_url.as_deref()),
                }}));
            }
            if conversation {
                return Err(Error::BadRequest(
                    "a conversation takes members by username, not addresses".into(),
                ));
            }
            let address = email.unwrap_or_default();
            let new = NewInvite {
                expires_in: None,
                expires_at: Some(s.forum.now() + time::Duration::days(DEFAULT_DAYS)),
                max_uses: Some(1),
                role: None,
                groups: Vec::new(),
                topic: Some(topic),
            };
            let invite = s.forum.create_invite(&actor, c, new)?;
            let inviter = s.forum.user(me)?;
            mail_invite(s, &inviter, &invite, address.trim(), message.as_deref())?;
            Ok(serde_json::json!({ "success": "OK" }))
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}
