//! Private message pages: the member's mailbox (`/messages`, `/messages/sent`),
//! the form that starts a conversation (`/messages/new`, `?to=` fills in a
//! member), and the conversation's participant forms (add someone, leave).
//! The conversation itself is a topic page (`/t/{slug}/{id}`), which shows
//! who takes part. Forms work without JavaScript; a refused message comes
//! back in its form with the reason, nothing lost.

use axum::extract::{Path, State as AxState};
use axum::response::{IntoResponse, Response};
use hearth::{Actor, Mailbox, NewMessage, Participant, TopicId};
use serde_json::{Value, json};

use crate::api::{id_of, page_request};
use crate::error::Error;
use crate::pages::{Meta, PageResult, act, fixable, form_outcome, html, render};
use crate::params::Params;
use crate::readable::ago;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// `GET /messages` and `/messages/sent`: the signed-in member's
/// conversations, most recently active first, unread ones marked.
pub(crate) async fn mailbox(state: State, v: Visitor, sent: bool, params: Params) -> PageResult {
    v.require_user()?;
    let body = state
        .run(move |s| {
            let c = s.config.community;
            let mailbox = if sent { Mailbox::Sent } else { Mailbox::Inbox };
            let (page, n) = page_request(&params, 30, |req| {
                Ok(s.forum.messages(&v.actor, c, mailbox, req)?)
            })?;
            let now = s.forum.now();
            let items: Vec<Value> = page
                .items
                .iter()
                .map(|m| {
                    let t = &m.topic;
                    let with: Vec<&str> = m
                        .participants
                        .users
                        .iter()
                        .filter(|u| Actor::User(u.id) != v.actor)
                        .map(|u| u.username.as_str())
                        .chain(m.participants.groups.iter().map(|g| g.name.as_str()))
                        .collect();
                    json!({"href": s.url(&format!("/t/{}/{}", t.slug, t.id.0)),
                           "title": t.title, "with": with.join(", "),
                           "unread": m.unread_posts, "posts": t.post_count,
                           "ago": ago(t.bumped_at, now),
                           "at": crate::api::shape::ts(t.bumped_at)})
                })
                .collect();
            let path = if sent { "/messages/sent" } else { "/messages" };
            let next_url = page.next.map(|_| s.url(&format!("{path}?page={}", n + 1)));
            render(
                s,
                &v,
                "messages.html",
                Meta {
                    title: "Messages".into(),
                    noindex: true,
                    path: path.into(),
                    ..Default::default()
                },
                json!({"items": items, "sent": sent, "next_url": next_url,
                       "unread": s.forum.unread_messages(&v.actor, c)?}),
            )
        })
        .await?;
    Ok(html(body, false))
}

fn form(s: &AppState, v: &Visitor, draft: Value, error: Option<String>) -> Result<String, Error> {
    render(
        s,
        v,
        "message_new.html",
        Meta {
            title: "New message".into(),
            noindex: true,
            path: "/messages/new".into(),
            ..Default::default()
        },
        json!({"draft": draft, "error": error}),
    )
}

/// `GET /messages/new` (`to`, `title`, `raw` prefill it).
pub(crate) async fn new_form(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    v.require_user()?;
    let draft = json!({
        "to": params.str("to").unwrap_or_default(),
        "title": params.str("title").unwrap_or_default(),
        "raw": params.str("raw").unwrap_or_default(),
    });
    let body = state.run(move |s| form(s, &v, draft, None)).await?;
    Ok(html(body, false))
}

/// `POST /messages/new`: starts the conversation and opens it; a refusal
/// shows the form again with what was written and why (422).
pub(crate) async fn send(
    AxState(state): AxState<State>,
    v: Visitor,
    mut params: Params,
) -> PageResult {
    let actor = params.writer(&v)?;
    let file = params.file.take();
    let result = state
        .run(move |s| {
            let to = params.str("to").unwrap_or_default();
            let (users, groups) = crate::api::messages::split_names(s, &to);
            let mut new = NewMessage {
                title: params.str("title").unwrap_or_default(),
                body: params.str("raw").unwrap_or_default(),
                users,
                groups,
            };
            let mut body = std::mem::take(&mut new.body);
            let sent = crate::pages::create_with_attachment(s, &actor, &mut body, file, |body| {
                s.forum.send_message(
                    &actor,
                    s.config.community,
                    NewMessage {
                        body,
                        ..new.clone()
                    },
                )
            });
            new.body = body;
            match sent {
                Ok((t, _)) => Ok(Ok(s.url(&format!("/t/{}/{}", t.slug, t.id.0)))),
                Err(e) if fixable(&e) => {
                    let draft = json!({"to": to, "title": new.title, "raw": new.body});
                    let message = Error::Engine(e).public_message();
                    Ok(Err(form(s, &v, draft, Some(message))?))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    Ok(form_outcome(result))
}

/// `POST /messages/{id}/participants`: `add` (a username or group name)
/// joins; `leave` takes the member out (back to the mailbox).
pub(crate) async fn participants(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let topic = TopicId(id_of(&id)?);
    act(state, v, params, move |s, actor, params| {
        let c = s.config.community;
        if params.str("leave").is_some() {
            let Actor::User(me) = actor else {
                return Err(Error::BadRequest("sign in".into()));
            };
            s.forum
                .remove_message_participant(&actor, c, topic, Participant::User(me))?;
            return Ok("/messages".into());
        }
        let name = params.need("add")?;
        let name = name.trim().trim_start_matches('@');
        let who = match s.forum.user_by_username(name) {
            Ok(u) => Participant::User(u.id),
            Err(_) => Participant::Group(s.forum.group_by_name(&actor, c, name)?.id),
        };
        s.forum.add_message_participant(&actor, c, topic, who)?;
        let t = s.forum.topic_only(&actor, c, topic)?;
        Ok(format!("/t/{}/{}", t.slug, t.id.0))
    })
    .await
}

/// What the topic page shows of a conversation: who takes part, and the
/// forms to add someone or leave.
pub(crate) fn topic_box(s: &AppState, topic: TopicId, p: &hearth::Participants) -> Value {
    json!({
        "users": p.users.iter().map(|u| json!({"username": u.username,
            "href": s.url(&format!("/u/{}", u.username))})).collect::<Vec<_>>(),
        "groups": p.groups.iter().map(|g| g.name.clone()).collect::<Vec<_>>(),
        "action": s.url(&format!("/messages/{}/participants", topic.0)),
        "mailbox": s.url("/messages"),
    })
}

/// The routes' dispatch for `/messages/{a}`: `sent` is the sent mailbox.
pub(crate) async fn mailbox_named(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(a): Path<String>,
    params: Params,
) -> Response {
    match a.as_str() {
        "sent" => mailbox(state, v, true, params).await.into_response(),
        "new" => new_form(AxState(state), v, params).await.into_response(),
        _ => crate::error::PageError(Error::Engine(hearth::Error::NotFound { what: "page" }))
            .into_response(),
    }
}

/// `GET /messages`.
pub(crate) async fn inbox(AxState(state): AxState<State>, v: Visitor, params: Params) -> Response {
    mailbox(state, v, false, params).await.into_response()
}

/// What a profile page shows of messaging its member: whether the
/// visitor blocked them (for the block form); `None` for guests and on
/// one's own profile.
pub(crate) fn block_state(s: &AppState, v: &Visitor, user: hearth::UserId) -> Option<bool> {
    match v.actor {
        Actor::User(me) if me != user => Some(
            s.forum
                .message_blocks(&v.actor)
                .map(|b| b.iter().any(|u| u.id == user))
                .unwrap_or(false),
        ),
        _ => None,
    }
}

/// `POST /u/{name}/messages-block` (the profile's form): `unblock` takes
/// messages from them again.
pub(crate) async fn block_form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> PageResult {
    crate::follows::profile_switch(
        state,
        v,
        name,
        params,
        "unblock",
        |s, actor, user, on, _| {
            if on {
                s.forum.block_messages(actor, user)?;
            } else {
                s.forum.unblock_messages(actor, user)?;
            }
            Ok(())
        },
    )
    .await
}

/// `PUT /u/{username}/notification_level.json` (Discourse's mute and
/// ignore): `mute` or `ignore` stops their messages to you, `normal` takes
/// them again.
pub(crate) async fn notification_level(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> crate::api::ApiResult {
    let actor = params.writer(&v)?;
    let level = params.need("notification_level")?;
    let block = match level.as_str() {
        "mute" | "ignore" => true,
        "normal" => false,
        other => {
            return Err(Error::BadRequest(format!(
                "notification_level {other:?}: normal, mute or ignore"
            ))
            .into());
        }
    };
    crate::api::ok(
        state
            .run(move |s| {
                let user = s.forum.user_by_username(&name)?;
                if block {
                    s.forum.block_messages(&actor, user.id)?;
                } else {
                    s.forum.unblock_messages(&actor, user.id)?;
                }
                Ok(json!({"success": "OK"}))
            })
            .await?,
    )
}
