//! Staff tools on topics and posts, as Discourse's API names them: `POST
//! /t/{id}/timer.json` (close, open or delete later), `PUT
//! /t/{id}/change-timestamp.json`, `PUT /posts/{id}/locked.json`, and
//! `GET /t/external_id/{external_id}.json` (a topic by the id another
//! system gave it). The engine decides who may and keeps the audit entry.

use axum::extract::{Path, State as AxState};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hearth::{PostId, TimerAction, TimerWhen, TopicId};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

use super::sanctions::until;
use super::{ApiResult, id_of, ok, success};
use crate::error::{ApiError, Error};
use crate::params::Params;
use crate::state::State;
use crate::visitor::Visitor;

/// What `POST /t/{id}/timer.json` answers (`createTopicTimer`).
#[derive(Serialize)]
struct TimerAnswer {
    success: &'static str,
    /// When it runs; `null` once removed (as Discourse answers).
    execute_at: Option<String>,
    duration: Option<String>,
    based_on_last_post: bool,
    closed: bool,
    category_id: Option<i64>,
}

/// The timer a request asks for; `None` removes it.
fn requested_timer(params: &Params) -> Result<Option<(TimerAction, TimerWhen)>, Error> {
    let action = match params.str("status_type").as_deref().unwrap_or("close") {
        "close" => TimerAction::Close,
        "open" => TimerAction::Open,
        "delete" => TimerAction::Delete,
        other => {
            return Err(Error::BadRequest(format!(
                "status_type {other:?}: Hearth's timers close, open or delete a topic"
            )));
        }
    };
    let after_last_post = params.bool("based_on_last_post").unwrap_or(false);
    let wait = match (params.int("duration_minutes")?, params.str("time")) {
        (Some(m), _) => Some(Duration::minutes(m)),
        (None, None) => None,
        (None, Some(t)) if t.trim().is_empty() => None,
        (None, Some(t)) => match t.trim().parse::<f64>() {
            // A number is hours from now (or after the last post).
            Ok(h) if h.is_finite() => Some(Duration::seconds_f64((h * 3600.0).clamp(-1e12, 1e12))),
            Ok(_) => return Err(Error::BadRequest(format!("time {t:?}: a number of hours"))),
            Err(_) if after_last_post => {
                return Err(Error::BadRequest(
                    "based_on_last_post takes time as a number of hours".into(),
                ));
            }
            Err(_) => return Ok(Some((action, TimerWhen::At(until(t.trim())?)))),
        },
    };
    Ok(wait.map(|w| {
        if after_last_post {
            (action, TimerWhen::AfterLastPost(w))
        } else {
            (action, TimerWhen::At(OffsetDateTime::now_utc() + w))
        }
    }))
}

/// `POST /t/{id}/timer.json` (`createTopicTimer`): `status_type` close
/// (the default), open or delete; `time` as hours from now, or a moment
/// (RFC 3339 or a date), or empty to remove the timer; or
/// `duration_minutes`; `based_on_last_post` for a close timer counted
/// from the last post. Moderators only.
pub(crate) async fn set_timer(
    state: State,
    v: Visitor,
    topic: TopicId,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let timer = requested_timer(&params)?;
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            let set = s.forum.set_topic_timer(&actor, c, topic, timer)?;
            let closed = s.forum.topic_only(&actor, c, topic)?.closed;
            Ok(TimerAnswer {
                success: "OK",
                execute_at: set
                    .as_ref()
                    .and_then(|t| t.execute_at.format(&Rfc3339).ok()),
                duration: set
                    .as_ref()
                    .and_then(|t| t.after_last_post)
                    .map(|d| (d.whole_minutes() as f64 / 60.0).to_string()),
                based_on_last_post: set.as_ref().is_some_and(|t| t.after_last_post.is_some()),
                closed,
                category_id: None,
            })
        })
        .await?;
    Ok(crate::error::json_response(StatusCode::OK, &answer))
}

/// `PUT /t/{id}/change-timestamp.json` (`updateTopicTimestamp`):
/// `timestamp` in seconds since 1970 (or RFC 3339). Moderators only.
pub(crate) async fn change_timestamp(
    state: State,
    v: Visitor,
    topic: TopicId,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let text = params.need("timestamp")?;
    let at = match text.trim().parse::<i64>() {
        Ok(secs) => OffsetDateTime::from_unix_timestamp(secs)
            .map_err(|_| Error::BadRequest(format!("timestamp {secs} is out of range")))?,
        Err(_) => until(text.trim())?,
    };
    state
        .run(move |s| {
            Ok(s.forum
                .change_topic_timestamp(&actor, s.config.community, topic, at)?)
        })
        .await?;
    success()
}

/// `PUT /posts/{id}/locked.json` (`lockPost`): `locked` true or false;
/// a locked post is edited by moderators only. Moderators only.
pub(crate) async fn lock(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((id, rest)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    if rest != "locked.json" && rest != "locked" {
        return Err(Error::Engine(hearth::Error::NotFound { what: "page" }).into());
    }
    let actor = params.writer(&v)?;
    let post = PostId(id_of(&id)?);
    let locked = match params.str("locked").as_deref() {
        Some("true") => true,
        Some("false") => false,
        _ => return Err(Error::BadRequest("locked: true or false".into()).into()),
    };
    let locked = state
        .run(move |s| {
            Ok(s.forum
                .lock_post(&actor, s.config.community, post, locked)?)
        })
        .await?;
    ok(serde_json::json!({ "locked": locked }))
}

/// `GET /t/external_id/{external_id}.json` (`getTopicByExternalId`):
/// redirects (301) to the topic's JSON when the visitor may read it.
pub(crate) async fn by_external_id(
    state: State,
    v: Visitor,
    external_id: String,
) -> Result<Response, ApiError> {
    let ext = external_id
        .strip_suffix(".json")
        .unwrap_or(&external_id)
        .to_owned();
    let (base, topic) = state
        .run(move |s| {
            let topic = s
                .forum
                .topic_by_external_id(&v.actor, s.config.community, &ext)?;
            Ok((s.config.base_path.clone(), topic))
        })
        .await?;
    Ok((
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, format!("{base}/t/{}.json", topic.0))],
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(v: serde_json::Value) -> Params {
        Params {
            map: v.as_object().cloned().unwrap_or_default(),
            file: None,
        }
    }

    #[test]
    fn timer_requests_read_as_discourse_sends_them() {
        let t = |v| requested_timer(&params(v));
        assert!(matches!(
            t(serde_json::json!({"time": "24"})),
            Ok(Some((TimerAction::Close, TimerWhen::At(_))))
        ));
        assert!(matches!(
            t(serde_json::json!({"time": "", "status_type": "open"})),
            Ok(None)
        ));
        assert!(matches!(
            t(serde_json::json!({"time": "2.5", "based_on_last_post": true})),
            Ok(Some((TimerAction::Close, TimerWhen::AfterLastPost(d)))) if d == Duration::minutes(150)
        ));
        assert!(matches!(
            t(serde_json::json!({"time": "2030-06-01T08:00:00Z", "status_type": "delete"})),
            Ok(Some((TimerAction::Delete, TimerWhen::At(_))))
        ));
        assert!(matches!(
            t(serde_json::json!({"duration_minutes": 90})),
            Ok(Some((TimerAction::Close, TimerWhen::At(_))))
        ));
        for bad in [
            serde_json::json!({"time": "soon"}),
            serde_json::json!({"time": "1", "status_type": "bump"}),
            serde_json::json!({"time": "2030-06-01", "based_on_last_post": true}),
            serde_json::json!({"time": "NaN"}),
        ] {
            assert!(matches!(t(bad.clone()), Err(Error::BadRequest(_))), "{bad}");
        }
    }
}
