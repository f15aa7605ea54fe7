//! Members' actions on plugins (plugin API 0.2): `POST
//! /plugins/{name}/a/{action}` from the forms the host makes of a plugin's
//! `<hearth-action>` elements, or as JSON. Checked here like every other
//! form of the site — sign-in (unless the action is declared for guests),
//! the form token, a per-member rate limit (`per-minute` in the plugin's
//! manifest; guests per address) — before the plugin host checks what the
//! member named and runs the plugin.
//!
//! `GET` on the same path is the confirmation page: where a page cannot
//! carry a form token (guests' pages are shared by the guest cache), the
//! action element is a link here, and this page (never cached) holds the
//! form. A `GET` never acts.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth::{Actor, PostId, TopicId};
use hearth_wasm::{ActionInput, ActionReply};
use serde_json::{Value, json};

use crate::config::RateLimit;
use crate::error::{ApiError, Error, PageError};
use crate::pages::{self, Meta};
use crate::params::Params;
use crate::state::State;
use crate::visitor::{Visitor, WantsJson};

/// Who an action is counted against: the plugin, the action and the member
/// (or, for guests, their address).
pub(crate) type ActionKey = (String, String, Result<i64, IpAddr>);

/// Fields the site adds to an action's form; not passed to the plugin.
const OWN_FIELDS: &[&str] = &["authenticity_token", "return_to", "post", "topic", "utf8"];

/// The action's declaration, if its plugin runs here (read on the blocking
/// pool: the plugin host may look at the database).
async fn action_spec(
    state: &State,
    name: &str,
    action: &str,
) -> Result<Option<hearth_wasm::ActionSpec>, Error> {
    let (name, action) = (name.to_string(), action.to_string());
    state
        .run(move |s| {
            Ok(s.plugins
                .as_ref()
                .and_then(|h| h.action_spec(s.config.community, &name, &action)))
        })
        .await
}

fn fail(json: bool, e: Error) -> Response {
    if json {
        ApiError(e).into_response()
    } else {
        PageError(e).into_response()
    }
}

/// `POST /plugins/{name}/a/{action}`.
pub(crate) async fn take(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((name, action)): Path<(String, String)>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    match take_inner(state, v, name, action, json, params).await {
        Ok(res) => res,
        Err(e) => fail(json, e),
    }
}

async fn take_inner(
    state: State,
    v: Visitor,
    name: String,
    action: String,
    json: bool,
    params: Params,
) -> Result<Response, Error> {
    let not_found = || Error::Engine(hearth::Error::NotFound { what: "action" });
    let c = state.config.community;
    let spec = action_spec(&state, &name, &action)
        .await?
        .ok_or_else(not_found)?;
    if !spec.guests {
        v.require_user()?;
    }
    params.check_csrf(&v)?;
    let who = match v.actor {
        Actor::User(u) => Ok(u.0),
        _ => Err(v.ip),
    };
    let limit = RateLimit {
        per_second: f64::from(spec.per_minute) / 60.0,
        burst: spec.per_minute,
    };
    if let Err(wait) =
        state
            .action_limits
            .check((name.clone(), action.clone(), who), limit, Instant::now())
    {
        return Err(Error::RateLimited {
            retry_after: wait.max(std::time::Duration::from_secs(1)),
        });
    }
    let id = |key: &str| -> Result<Option<i64>, Error> { params.int(key) };
    let input = ActionInput {
        post: id("post")?.map(PostId),
        topic: id("topic")?.map(TopicId),
        fields: params
            .map
            .iter()
            .filter(|(k, _)| !OWN_FIELDS.contains(&k.as_str()))
            .filter_map(|(k, v)| {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((k.clone(), v))
            })
            .collect(),
    };
    let return_to = params.str("return_to");
    let reply = state
        .run(move |s| {
            let host = s.plugins.as_ref().ok_or_else(not_found)?;
            host.action(&v.actor, c, &name, &action, &input)?
                .ok_or_else(not_found)
        })
        .await?;
    Ok(match reply {
        ActionReply::Refused { reason } => {
            let e = Error::Engine(hearth::Error::Rejected {
                hook: "plugin".into(),
                reason,
            });
            return Err(e);
        }
        ActionReply::Done {
            message,
            redirect,
            data,
        } if json => (
            StatusCode::OK,
            axum::Json(json!({
                "success": "OK",
                "message": message,
                "redirect": redirect.map(|r| state.url(&r)),
                "data": data,
            })),
        )
            .into_response(),
        ActionReply::Done { redirect, .. } => {
            let to = redirect.or(return_to).map(|p| state.url(&p));
            Redirect::to(&pages::safe_next(&state, to)).into_response()
        }
    })
}

/// `GET /plugins/{name}/a/{action}`: the confirmation page.
pub(crate) async fn confirm(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((name, action)): Path<(String, String)>,
    params: Params,
) -> Response {
    let spec = match action_spec(&state, &name, &action).await {
        Ok(Some(spec)) => spec,
        Ok(None) => return pages::not_found().await.into_response(),
        Err(e) => return PageError(e).into_response(),
    };
    let fields: Vec<Value> = params
        .map
        .iter()
        .filter(|(k, _)| k.as_str() != "authenticity_token")
        .filter_map(|(k, v)| v.as_str().map(|v| json!({"name": k, "value": v})))
        .collect();
    let here = {
        let query: Vec<(&str, &str)> = params
            .map
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v)))
            .collect();
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        state.url(&format!("/plugins/{name}/a/{action}?{query}"))
    };
    if !spec.guests && v.user.is_none() {
        let next = serde_urlencoded::to_string([("next", here.as_str())]).unwrap_or_default();
        let login = state.url(&format!("/login?{next}"));
        return Redirect::to(&login).into_response();
    }
    let back = pages::safe_next(&state, params.str("return_to").map(|p| state.url(&p)));
    let verb = action.replace('-', " ");
    let title = pages::capitalize(&verb);
    let path = format!("/plugins/{name}/a/{action}");
    let rendered = state
        .run(move |s| {
            let meta = Meta {
                title: title.clone(),
                noindex: true,
                path,
                ..Default::default()
            };
            pages::render(
                s,
                &v,
                "plugin_action.html",
                meta,
                json!({"plugin": name, "action": action, "title": title, "verb": verb,
                       "fields": fields, "back": back}),
            )
        })
        .await;
    match rendered {
        Ok(body) => pages::html(body, false),
        Err(e) => PageError(e).into_response(),
    }
}
