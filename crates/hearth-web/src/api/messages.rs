//! Private messages as Discourse's API has them: the mailbox lists
//! (`GET /topics/private-messages/{username}.json` and
//! `/topics/private-messages-sent/{username}.json`), a new conversation
//! (`POST /posts.json` with `archetype=private_message` and
//! `target_recipients`), and participants added to one (`POST
//! /t/{id}/invite.json` for a member, `POST /t/{id}/invite-group.json` for
//! a group). The engine decides who may read and write; these only
//! translate.

use hearth::{Actor, Mailbox, NewMessage, Participant, Post, TopicId};
use serde_json::{Value, json};

use super::{ApiResult, ctx, ok, page_request, shape};
use crate::error::Error;
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// `GET /topics/private-messages/{username}.json` (every conversation the
/// member takes part in) and `…-sent/{username}.json` (those they
/// started). A member's own mailbox only: nobody else lists it, staff
/// included (403).
pub(crate) async fn list(
    state: State,
    v: Visitor,
    username: String,
    mailbox: Mailbox,
    params: Params,
) -> ApiResult {
    let username = username
        .strip_suffix(".json")
        .unwrap_or(&username)
        .to_owned();
    ok(state
        .run(move |s| {
            let c = s.config.community;
            let Actor::User(me) = v.actor else {
                return Err(Error::Engine(hearth::Error::Forbidden {
                    reason: "sign in to read your messages".into(),
                }));
            };
            let owner = s.forum.user_by_username(&username)?;
            if owner.id != me {
                return Err(Error::Engine(hearth::Error::Forbidden {
                    reason: "a member's messages are theirs to read".into(),
                }));
            }
            let (page, n) = page_request(&params, 30, |req| {
                Ok(s.forum.messages(&v.actor, c, mailbox, req)?)
            })?;
            let path = match mailbox {
                Mailbox::Inbox => "private-messages",
                Mailbox::Sent => "private-messages-sent",
            };
            let more = page.next.as_ref().map(|_| {
                format!(
                    "{}/topics/{path}/{username}.json?page={}",
                    s.config.base_path,
                    n + 1
                )
            });
            Ok(shape::message_list(&ctx(s, &v.actor)?, &page.items, more))
        })
        .await?)
}

/// Comma-separated names as forms and `target_recipients` give them:
/// members by username, any other name a group's (the engine refuses
/// names that are neither, 422).
pub(crate) fn split_names(s: &AppState, list: &str) -> (Vec<String>, Vec<String>) {
    let (mut users, mut groups) = (Vec::new(), Vec::new());
    for name in list
        .split(',')
        .map(|n| n.trim().trim_start_matches('@'))
        .filter(|n| !n.is_empty())
    {
        match s.forum.user_by_username(name) {
            Ok(_) => users.push(name.to_owned()),
            Err(_) => groups.push(name.to_owned()),
        }
    }
    (users, groups)
}

/// The names of `target_recipients` (or the older `target_usernames`).
fn recipients(s: &AppState, params: &Params) -> Result<(Vec<String>, Vec<String>), Error> {
    let list = params
        .str("target_recipients")
        .or_else(|| params.str("target_usernames"))
        .unwrap_or_default();
    let (users, groups) = split_names(s, &list);
    if users.is_empty() && groups.is_empty() {
        return Err(Error::BadRequest(
            "param is missing or the value is empty: target_recipients".into(),
        ));
    }
    Ok((users, groups))
}

/// `POST /posts.json` with `archetype=private_message`: a new
/// conversation; answers its first post.
pub(crate) fn send(
    s: &AppState,
    actor: &Actor,
    params: &Params,
    raw: String,
) -> Result<Post, Error> {
    let title = params.need("title")?;
    let (users, groups) = recipients(s, params)?;
    let (_, post) = s.forum.send_message(
        actor,
        s.config.community,
        NewMessage {
            title,
            body: raw,
            users,
            groups,
        },
    )?;
    Ok(post)
}

/// Whether `topic` is a conversation the actor reads.
pub(crate) fn is_message(s: &AppState, actor: &Actor, topic: TopicId) -> bool {
    s.forum
        .message_participants(actor, s.config.community, topic)
        .is_ok()
}

/// `POST /t/{id}/invite-group.json` (`inviteGroupToTopic`): `group` (a
/// name) joins the conversation; its members are told. Answers the group.
pub(crate) async fn invite_group(
    state: State,
    v: Visitor,
    topic: TopicId,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let name = params.need("group")?;
    let answer: Value = state
        .run(move |s| {
            let c = s.config.community;
            let group = s.forum.group_by_name(&actor, c, name.trim())?;
            s.forum
                .add_message_participant(&actor, c, topic, Participant::Group(group.id))?;
            Ok(json!({ "group": { "id": group.id.0, "name": group.name } }))
        })
        .await?;
    ok(answer)
}
