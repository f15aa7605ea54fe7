//! Following members on the site and over the API: the profile's follow
//! form (`POST /u/{name}/follow`: `replies` to hear of their replies too,
//! `unfollow` to stop), the follower and following lists on profiles, and
//! the JSON of Discourse's follow plugin (`PUT`/`DELETE
//! /follow/{username}.json`, `GET /u/{username}/follow/followers.json` and
//! `…/following.json`). The engine decides who sees the lists.

use axum::extract::{Path, State as AxState};
use axum::response::{IntoResponse, Response};
use hearth::Actor;
use serde_json::{Value, json};

use crate::api::{ApiResult, ctx, name_of, ok, shape};
use crate::error::Error;
use crate::pages::{PageResult, act};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// What a profile page shows of following: the lists (when the visitor
/// may see them) and the visitor's own follow state.
pub(crate) fn profile_box(s: &AppState, v: &Visitor, user: hearth::UserId) -> Value {
    let c = s.config.community;
    let link = |u: &hearth::UserRef| json!({"username": u.username, "href": s.url(&format!("/u/{}", u.username))});
    let lists = match (
        s.forum.followers(&v.actor, c, user),
        s.forum.following(&v.actor, c, user),
    ) {
        (Ok(followers), Ok(following)) => Some(json!({
            "followers": followers.iter().map(link).collect::<Vec<_>>(),
            "following": following.iter().map(link).collect::<Vec<_>>(),
        })),
        _ => None,
    };
    let mine = matches!(v.actor, Actor::User(u) if u == user);
    let state = match (&v.actor, mine) {
        (Actor::User(_), false) => Some(match s.forum.follows(&v.actor, user) {
            Ok(Some(replies)) => json!({"following": true, "replies": replies}),
            _ => json!({"following": false, "replies": false}),
        }),
        _ => None,
    };
    json!({"lists": lists, "me": state})
}

/// A profile's on/off form (follow, block messages): the `off` field
/// present turns it off; back to the profile either way.
pub(crate) async fn profile_switch<F>(
    state: State,
    v: Visitor,
    name: String,
    params: Params,
    off: &'static str,
    set: F,
) -> PageResult
where
    F: FnOnce(&AppState, &Actor, hearth::UserId, bool, &Params) -> Result<(), Error>
        + Send
        + 'static,
{
    act(state, v, params, move |s, actor, params| {
        let user = s.forum.user_by_username(&name)?;
        set(s, &actor, user.id, params.str(off).is_none(), &params)?;
        Ok(format!("/u/{}", user.username))
    })
    .await
}

/// `POST /u/{name}/follow` (the profile's form; `unfollow` stops).
pub(crate) async fn form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> PageResult {
    profile_switch(
        state,
        v,
        name,
        params,
        "unfollow",
        |s, actor, user, on, params| {
            if on {
                s.forum
                    .follow(actor, user, params.bool("replies").unwrap_or(false))?;
            } else {
                s.forum.unfollow(actor, user)?;
            }
            Ok(())
        },
    )
    .await
}

/// `PUT /follow/{username}.json` (follow) and `DELETE` (stop).
pub(crate) async fn put(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult {
    change(state, v, name, params, true).await
}

/// `DELETE /follow/{username}.json`.
pub(crate) async fn delete(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> ApiResult {
    change(state, v, name, params, false).await
}

async fn change(state: State, v: Visitor, name: String, params: Params, on: bool) -> ApiResult {
    let actor = params.writer(&v)?;
    let name = name_of(&name).to_string();
    ok(state
        .run(move |s| {
            let user = s.forum.user_by_username(&name)?;
            if on {
                let replies = params.bool("replies").unwrap_or(false);
                s.forum.follow(&actor, user.id, replies)?;
            } else {
                s.forum.unfollow(&actor, user.id)?;
            }
            Ok(json!({"success": "OK", "following": on}))
        })
        .await?)
}

/// `GET /u/{username}/follow/followers.json` and `…/following.json`: the
/// users, as Discourse's follow plugin lists them.
pub(crate) async fn list(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((name, which)): Path<(String, String)>,
) -> Response {
    let followers = match which.as_str() {
        "followers" | "followers.json" => true,
        "following" | "following.json" => false,
        _ => {
            return crate::error::ApiError(Error::Engine(hearth::Error::NotFound { what: "page" }))
                .into_response();
        }
    };
    let run = async move {
        state
            .run(move |s| {
                let c = s.config.community;
                let user = s.forum.member_by_username(&v.actor, c, &name)?.user;
                let users = if followers {
                    s.forum.followers(&v.actor, c, user.id)?
                } else {
                    s.forum.following(&v.actor, c, user.id)?
                };
                let ctx = ctx(s, &v.actor)?;
                let shapes: Vec<_> = users.iter().map(|u| shape::user_ref(&ctx, u)).collect();
                Ok(crate::api::written(&shapes))
            })
            .await
            .map_err(crate::error::ApiError)
    };
    run.await.into_response()
}
