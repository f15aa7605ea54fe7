//! Ideas on pages and in the API: the vote box and staff status form on an
//! idea's topic page, idea categories listed by votes with status tabs,
//! and the Discourse topic-voting plugin's `POST /voting/vote` and
//! `/voting/unvote`.

use axum::response::{IntoResponse, Response};
use hearth::{CategoryId, IdeaFilter, IdeaStatus, TopicId};
use serde_json::{Value, json};

use crate::api::{id_of, page_request};
use crate::error::{ApiError, Error, fail, json_response};
use crate::pages::act;
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// A status as people read it.
pub(crate) fn label(s: IdeaStatus) -> &'static str {
    match s {
        IdeaStatus::Open => "Open",
        IdeaStatus::UnderReview => "Under review",
        IdeaStatus::Planned => "Planned",
        IdeaStatus::InProgress => "In progress",
        IdeaStatus::Shipped => "Shipped",
        IdeaStatus::Declined => "Declined",
    }
}

fn statuses(current: Option<IdeaStatus>) -> Vec<Value> {
    IdeaStatus::ALL
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": label(*s), "selected": Some(*s) == current}))
        .collect()
}

/// The idea box of a topic page (`None` outside idea categories).
pub(crate) fn idea_box(s: &AppState, v: &Visitor, topic: TopicId, staff: bool) -> Option<Value> {
    let i = s.forum.idea(&v.actor, s.config.community, topic).ok()?;
    Some(json!({
        "votes": i.votes, "voted": i.voted, "status": i.status.as_str(),
        "status_label": label(i.status), "note": i.note,
        "can_vote": v.user.is_some() && (i.voted || (i.status.open_for_votes() && !i.topic.closed)),
        "statuses": staff.then(|| statuses(Some(i.status))),
    }))
}

/// An idea category's list for its page (at `base`), by votes, with
/// status tabs (`status` filters).
pub(crate) fn category_list(
    s: &AppState,
    v: &Visitor,
    category: CategoryId,
    base: &str,
    params: &Params,
) -> Result<Value, Error> {
    let status = params.str("status").and_then(|x| IdeaStatus::from_name(&x));
    let filter = IdeaFilter {
        category: Some(category),
        status,
    };
    let (page, n) = page_request(params, 30, |req| {
        Ok(s.forum.ideas(&v.actor, s.config.community, &filter, req)?)
    })?;
    let rows: Vec<Value> = page
        .items
        .iter()
        .map(|i| {
            json!({"id": i.topic.id.0, "slug": i.topic.slug, "title": i.topic.title,
                   "votes": i.votes, "voted": i.voted, "status": i.status.as_str(),
                   "status_label": label(i.status), "replies": i.topic.reply_count})
        })
        .collect();
    let next = page.next.map(|_| {
        format!(
            "?page={}{}",
            n + 1,
            status
                .map(|x| format!("&status={}", x.as_str()))
                .unwrap_or_default()
        )
    });
    let mut tabs = vec![json!({"value": "", "label": "All", "selected": status.is_none()})];
    tabs.extend(statuses(status));
    Ok(json!({"rows": rows, "next": next, "tabs": tabs, "base": s.url(base)}))
}

/// `POST /t/{id}/vote` and `/t/{id}/unvote` (the page's button).
pub(crate) async fn vote_form(
    state: State,
    v: Visitor,
    id: TopicId,
    params: Params,
    on: bool,
) -> Response {
    act(state, v, params, move |s, actor, _| {
        let c = s.config.community;
        let i = if on {
            s.forum.vote(&actor, c, id)?
        } else {
            s.forum.unvote(&actor, c, id)?
        };
        Ok(format!("/t/{}/{}", i.topic.slug, i.topic.id.0))
    })
    .await
    .unwrap_or_else(|e| e.into_response())
}

/// `POST /t/{id}/idea-status` (staff: `status`, `note`).
pub(crate) async fn status_form(state: State, v: Visitor, id: TopicId, params: Params) -> Response {
    act(state, v, params, move |s, actor, params| {
        let raw = params.need("status")?;
        let status = IdeaStatus::from_name(&raw).ok_or_else(|| {
            Error::BadRequest(format!(
                "status must be one of open, under_review, planned, in_progress, shipped, declined; not {raw:?}"
            ))
        })?;
        let note = params.str("note").unwrap_or_default();
        let i = s
            .forum
            .set_idea_status(&actor, s.config.community, id, status, &note)?;
        Ok(format!("/t/{}/{}", i.topic.slug, i.topic.id.0))
    })
    .await
    .unwrap_or_else(|e| e.into_response())
}

/// `POST /voting/vote` and `/voting/unvote` (`topic_id`): the answer of
/// Discourse's topic-voting plugin.
pub(crate) async fn vote_api(state: State, v: Visitor, params: Params, on: bool) -> Response {
    let run = async {
        let actor = params.writer(&v)?;
        let id = TopicId(
            params
                .int("topic_id")?
                .ok_or_else(|| Error::BadRequest("param is missing: topic_id".into()))?,
        );
        let i = state
            .run(move |s| {
                let c = s.config.community;
                Ok(if on {
                    s.forum.vote(&actor, c, id)?
                } else {
                    s.forum.unvote(&actor, c, id)?
                })
            })
            .await?;
        let me = v.user.as_ref().map(|u| {
            json!({"id": u.id.0, "username": u.username, "name": u.display_name,
                   "avatar_template": format!("{}/letter_avatar/{}/{{size}}.svg", state.config.base_path, u.username)})
        });
        Ok::<_, Error>(json_response(
            axum::http::StatusCode::OK,
            &json!({
                "can_vote": i.status.open_for_votes(),
                "vote_limit": null,
                "super_user": false,
                "votes_left": null,
                "alert": false,
                "who_voted": if i.voted { vec![me] } else { Vec::new() },
                "vote_count": i.votes,
                "user_voted": i.voted,
                "status": i.status.as_str(),
            }),
        ))
    };
    run.await.unwrap_or_else(|e| ApiError(e).into_response())
}

/// The topic route's idea actions.
pub(crate) const TOPIC_ACTIONS: &[&str] = &["vote", "unvote", "idea-status"];

/// Dispatches `/t/{id}/vote|unvote|idea-status` (see [`TOPIC_ACTIONS`]).
pub(crate) async fn topic_action(
    state: State,
    v: Visitor,
    id: &str,
    action: &str,
    json: bool,
    params: Params,
) -> Response {
    let id = match id_of(id) {
        Ok(id) => TopicId(id),
        Err(e) => return fail(e, json),
    };
    match action {
        "vote" => vote_form(state, v, id, params, true).await,
        "unvote" => vote_form(state, v, id, params, false).await,
        _ => status_form(state, v, id, params).await,
    }
}
