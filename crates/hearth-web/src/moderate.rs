//! Moderator actions on a topic page: pin, close, archive, unlist, move
//! (category, title, tags), merge, split, and deleting or restoring posts.
//! Each is a form (CSRF-checked) that returns to the topic; the status
//! change also answers Discourse's `PUT /t/{id}/status` with JSON. The
//! engine decides who may do what and audits every action with its reason.

use axum::response::{IntoResponse, Response};
use hearth::{
    Actor, CategoryId, NewSplit, Pin, PostId, TopicFlag, TopicId, TopicUpdate, Visibility,
};
use serde_json::{Value, json};
use time::{Date, Month, OffsetDateTime, Time};

use crate::api::id_of;
use crate::error::{Error, PageError};
use crate::pages::{act, act_or_ok};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

type PageResult = Result<Response, PageError>;

/// The topic page's moderator tools (for moderators; the engine checks
/// again on every action).
pub(crate) fn tools(s: &AppState, actor: &Actor, t: &hearth::Topic) -> Option<Value> {
    let c = s.config.community;
    let categories: Vec<Value> = s
        .forum
        .categories(actor, c)
        .ok()?
        .into_iter()
        .map(|cat| {
            json!({"id": cat.id.0, "name": cat.name, "selected": cat.id == t.category,
                   "private": cat.visibility != Visibility::Public})
        })
        .collect();
    Some(json!({
        "pinned": t.pinned, "pinned_globally": t.pinned_globally,
        "closed": t.closed, "archived": t.archived, "unlisted": t.unlisted,
        "categories": categories,
        "tags": t.tags.join(", "),
    }))
}

/// The path of a topic page.
fn topic_path(s: &AppState, actor: &Actor, id: TopicId) -> Result<String, Error> {
    let t = s.forum.topic_only(actor, s.config.community, id)?;
    Ok(format!("/t/{}/{}", t.slug, t.id.0))
}

fn reason(params: &Params) -> Option<String> {
    params
        .str("reason")
        .map(|r| r.trim().to_string())
        .filter(|r| !r.is_empty())
}

/// `YYYY-MM-DD` (what a date input sends) → the end of that day, UTC.
fn parse_until(text: &str) -> Result<OffsetDateTime, Error> {
    let bad = || Error::BadRequest(format!("until must be a date as YYYY-MM-DD, not {text:?}"));
    let mut parts = text.trim().splitn(3, '-');
    let mut next =
        || -> Result<i64, Error> { parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad) };
    let (y, m, d) = (next()?, next()?, next()?);
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let day = u8::try_from(d).map_err(|_| bad())?;
    let year = i32::try_from(y).map_err(|_| bad())?;
    let date = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
    Ok(date.with_time(Time::MIDNIGHT).assume_utc() + time::Duration::days(1))
}

/// Applies Discourse's `status` + `enabled` pair to a topic.
fn set_status(s: &AppState, actor: &Actor, id: TopicId, params: &Params) -> Result<(), Error> {
    let c = s.config.community;
    let status = params.need("status")?;
    let enabled = params
        .bool("enabled")
        .ok_or_else(|| Error::BadRequest("param is missing: enabled (true or false)".into()))?;
    let reason = reason(params);
    let reason = reason.as_deref();
    let flag = match status.as_str() {
        "pinned" | "pinned_globally" => {
            let until = match params.str("until").filter(|u| !u.trim().is_empty()) {
                Some(u) => Some(parse_until(&u)?),
                None => None,
            };
            let pin = enabled.then_some(Pin {
                globally: status == "pinned_globally",
                until,
            });
            s.forum.pin_topic(actor, c, id, pin, reason)?;
            return Ok(());
        }
        "closed" => (TopicFlag::Closed, enabled),
        "archived" => (TopicFlag::Archived, enabled),
        // Discourse's "visible" is the opposite of unlisted.
        "visible" => (TopicFlag::Unlisted, !enabled),
        other => {
            return Err(Error::BadRequest(format!(
                "unknown status {other:?}; use closed, archived, visible, pinned or pinned_globally"
            )));
        }
    };
    s.forum
        .set_topic_flag(actor, c, id, flag.0, flag.1, reason)?;
    Ok(())
}

/// `POST /t/{id}/status` (the page's buttons) and `PUT /t/{id}/status`
/// (Discourse's API: `status`, `enabled`, optional `until`).
pub(crate) async fn status(
    state: State,
    v: Visitor,
    id: &str,
    params: Params,
    json: bool,
) -> Response {
    let id = match id_of(id) {
        Ok(id) => TopicId(id),
        Err(e) => return crate::error::fail(e, json),
    };
    let ok = json!({"success": "OK", "topic_status_update": null});
    act_or_ok(state, v, params, json, ok, move |s, actor, params| {
        set_status(s, &actor, id, &params)?;
        topic_path(s, &actor, id)
    })
    .await
}

fn into(r: PageResult) -> Response {
    r.unwrap_or_else(|e| e.into_response())
}

/// `POST /t/{id}/move`: category, title and tags in one form.
pub(crate) async fn move_topic(state: State, v: Visitor, id: TopicId, params: Params) -> Response {
    into(
        act(state, v, params, move |s, actor, params| {
            let t = s.forum.topic_only(&actor, s.config.community, id)?;
            let category = params.int("category_id")?.map(CategoryId);
            let title = params.str("title").filter(|x| x.trim() != t.title);
            let tags = params.str("tags").map(|x| {
                x.split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect::<Vec<_>>()
            });
            let update = TopicUpdate {
                category: category.filter(|c| *c != t.category),
                tags: tags.filter(|x| *x != t.tags),
                title,
            };
            if update.category.is_some() || update.title.is_some() || update.tags.is_some() {
                s.forum.update_topic(
                    &actor,
                    s.config.community,
                    id,
                    update,
                    reason(&params).as_deref(),
                )?;
            }
            topic_path(s, &actor, id)
        })
        .await,
    )
}

/// `POST /t/{id}/merge`: moves every post into `destination_topic_id`
/// (Discourse's name for it) and sends the reader there.
pub(crate) async fn merge(state: State, v: Visitor, id: TopicId, params: Params) -> Response {
    into(
        act(state, v, params, move |s, actor, params| {
            let into = params
                .int("destination_topic_id")?
                .map(TopicId)
                .ok_or_else(|| {
                    Error::BadRequest("param is missing: destination_topic_id".into())
                })?;
            let merged = s.forum.merge_topics(
                &actor,
                s.config.community,
                id,
                into,
                reason(&params).as_deref(),
            )?;
            Ok(format!("/t/{}/{}", merged.slug, merged.id.0))
        })
        .await,
    )
}

/// `POST /t/{id}/split`: the ticked replies (`post_ids[]`) become a new
/// topic with `title` in `category_id`; the reader lands on it.
pub(crate) async fn split(state: State, v: Visitor, id: TopicId, params: Params) -> Response {
    into(
        act(state, v, params, move |s, actor, params| {
            let posts: Vec<PostId> = match params.get("post_ids") {
                Some(Value::Array(ids)) => {
                    ids.iter()
                        .map(|x| match x {
                            Value::String(t) => id_of(t).map(PostId),
                            Value::Number(n) => n.as_i64().map(PostId).ok_or_else(|| {
                                Error::BadRequest("post_ids must be integers".into())
                            }),
                            _ => Err(Error::BadRequest("post_ids must be integers".into())),
                        })
                        .collect::<Result<_, _>>()?
                }
                Some(Value::String(t)) => vec![PostId(id_of(t)?)],
                _ => {
                    return Err(Error::BadRequest(
                        "tick the replies to split off (post_ids[])".into(),
                    ));
                }
            };
            let category = match params.int("category_id")? {
                Some(c) => CategoryId(c),
                None => s.forum.topic_only(&actor, s.config.community, id)?.category,
            };
            let new = NewSplit {
                title: params.need("title")?,
                category,
            };
            let created = s.forum.split_topic(
                &actor,
                s.config.community,
                id,
                &posts,
                new,
                reason(&params).as_deref(),
            )?;
            Ok(format!("/t/{}/{}", created.slug, created.id.0))
        })
        .await,
    )
}

/// `POST /p/{id}/delete` and `/p/{id}/restore` (moderators, or authors
/// for their own posts).
pub(crate) async fn set_deleted(
    state: State,
    v: Visitor,
    id: &str,
    params: Params,
    delete: bool,
) -> PageResult {
    let id = PostId(id_of(id)?);
    act(state, v, params, move |s, actor, _| {
        let c = s.config.community;
        let post = s.forum.post(&actor, c, id)?;
        if delete {
            s.forum.delete_post(&actor, c, id)?;
        } else {
            s.forum.restore_post(&actor, c, id)?;
        }
        // Deleting a first post deletes the topic: go to its category.
        match topic_path(s, &actor, post.topic) {
            Ok(path) => Ok(format!("{path}#post-{}", post.post_number)),
            Err(Error::Engine(hearth::Error::NotFound { .. })) => Ok("/".into()),
            Err(e) => Err(e),
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_dates_end_with_their_day() {
        let t = parse_until("2026-12-24").expect("date");
        assert_eq!(t.to_string(), "2026-12-25 0:00:00.0 +00:00:00");
        for bad in ["", "2026-13-01", "2026-02-30", "tomorrow", "2026-1"] {
            assert!(parse_until(bad).is_err(), "{bad}");
        }
    }
}
