//! Ticket deflection in the composer: similar solved topics and
//! knowledge-base articles as the title is typed, each composer visit
//! tracked by a token the page carries (`session`): suggestions shown,
//! suggestions opened (`/similar/open`), a ticket filed through the
//! support link (`/support`), or a topic posted. Works without JavaScript.

use axum::extract::State as AxState;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth::{Actor, CategoryKind, TopicId};
use serde_json::{Value, json};

use crate::error::{ApiError, Error, PageError, json_response};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// The visit's token: the one the page sent back, or a new one.
pub(crate) fn session_of(sent: Option<&str>) -> Result<String, Error> {
    match sent.filter(|t| valid(t)) {
        Some(t) => Ok(t.to_string()),
        None => Ok(crate::auth::random_token()?[..32].to_string()),
    }
}

fn valid(token: &str) -> bool {
    (8..=64).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Topics like `title` for the composer; with a visit token (members
/// only) they are recorded as shown and their links count the click.
pub(crate) fn similar(
    s: &AppState,
    actor: &Actor,
    title: &str,
    session: Option<&str>,
) -> Result<Vec<Value>, Error> {
    if title.trim().chars().count() < 4 {
        return Ok(Vec::new());
    }
    let found = s
        .forum
        .similar_topics(actor, s.config.community, title, 5)?;
    let tracked = session.filter(|t| valid(t) && matches!(actor, Actor::User(_)));
    if let Some(token) = tracked {
        let shown: Vec<TopicId> = found.iter().map(|t| t.topic).collect();
        // Measuring must never stop a member from writing.
        if let Err(e) = s
            .forum
            .composer_suggestions(actor, s.config.community, token, &shown)
        {
            tracing::debug!(error = %e, "suggestions not recorded");
        }
    }
    Ok(found
        .into_iter()
        .map(|t| {
            let page = s.url(&format!("/t/{}/{}", t.slug, t.topic.0));
            let url = match tracked {
                Some(token) => s.url(&format!(
                    "/similar/open?session={token}&topic={}",
                    t.topic.0
                )),
                None => page.clone(),
            };
            json!({
                "id": t.topic.0, "title": t.title, "slug": t.slug, "solved": t.solved,
                "kind": t.kind.as_str(), "kb": t.kind == CategoryKind::KnowledgeBase,
                "url": url, "page": page, "snippet": t.snippet,
            })
        })
        .collect())
}

/// `GET /similar.json?title=…&session=…`: the composer's live list.
pub(crate) async fn similar_json(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, ApiError> {
    let title = params.str("title").unwrap_or_default();
    let session = params.str("session");
    let topics = state
        .run(move |s| similar(s, &v.actor, &title, session.as_deref()))
        .await?;
    Ok(json_response(StatusCode::OK, &json!({ "topics": topics })))
}

/// `GET /similar/open?session=…&topic=…`: counts the opened suggestion and
/// goes to the topic.
pub(crate) async fn open(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, PageError> {
    let topic = TopicId(
        params
            .int("topic")?
            .ok_or_else(|| Error::BadRequest("param is missing: topic".into()))?,
    );
    let session = params.str("session").unwrap_or_default();
    let to = state
        .run(move |s| {
            let c = s.config.community;
            let t = s.forum.topic_only(&v.actor, c, topic)?;
            if matches!(v.actor, Actor::User(_))
                && let Err(e) = s.forum.composer_opened(&v.actor, c, &session, topic)
            {
                tracing::debug!(error = %e, "opened suggestion not recorded");
            }
            Ok(s.url(&format!("/t/{}/{}", t.slug, t.id.0)))
        })
        .await?;
    Ok(Redirect::to(&to).into_response())
}

/// `GET /support?session=…`: records that the visit ended in a ticket and
/// goes to the community's support link.
pub(crate) async fn support(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, PageError> {
    let session = params.str("session");
    let to = state
        .run(move |s| {
            let c = s.config.community;
            let url =
                s.community()?
                    .settings
                    .support_url
                    .clone()
                    .ok_or(hearth::Error::NotFound {
                        what: "support link",
                    })?;
            if let (Some(token), Actor::User(_)) = (&session, v.actor)
                && let Err(e) = s.forum.composer_escalated(&v.actor, c, token)
            {
                tracing::debug!(error = %e, "escalation not recorded");
            }
            Ok(url)
        })
        .await?;
    Ok(Redirect::to(&to).into_response())
}

/// Records that the visit ended with a topic (errors are logged, never
/// shown: the topic exists either way).
pub(crate) fn posted(s: &AppState, actor: &Actor, token: &str, topic: TopicId) {
    if !valid(token) {
        return;
    }
    if let Err(e) = s
        .forum
        .composer_posted(actor, s.config.community, token, topic)
    {
        tracing::debug!(error = %e, "posted visit not recorded");
    }
}
