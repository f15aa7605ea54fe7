//! A member's sign-in security: the sessions they have open (and ending
//! them), and changing their password, which ends every other session.
//! The same page offers what is theirs alone: their data as a download
//! and deleting their account (`crate::own_account`).

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use hearth::UserId;
use serde_json::json;

use crate::auth;
use crate::error::{Error, PageError};
use crate::pages::{Meta, render};
use crate::params::Params;
use crate::state::State;
use crate::visitor::{SESSION_COOKIE, Via, Visitor, set_cookie};

type PageResult = Result<Response, PageError>;

/// The visitor's own account, when `name` is theirs.
pub(crate) fn me(v: &Visitor, name: &str) -> Result<UserId, Error> {
    match (&v.user, &v.via) {
        (Some(u), Via::Session { .. }) if u.username.eq_ignore_ascii_case(name) => Ok(u.id),
        (Some(_), _) => Err(hearth::Error::NotFound { what: "page" }.into()),
        (None, _) => Err(Error::NotSignedIn),
    }
}

/// `GET /u/{name}/security`.
pub(crate) async fn page(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> PageResult {
    let user = me(&v, &name)?;
    let current = match &v.via {
        Via::Session { token } => auth::digest(token),
        _ => String::new(),
    };
    let body = state
        .run(move |s| {
            let sessions: Vec<_> = auth::list_sessions(&s.forum, s.config.community, user)?
                .into_iter()
                .map(|(d, i)| {
                    let at = crate::api::shape::ts_ms(i.created_at);
                    json!({"id": i.id, "created_at": at, "ip": i.ip, "current": d == current})
                })
                .collect();
            let meta = Meta {
                title: "Sign-in and security".into(),
                noindex: true,
                path: format!("/u/{name}/security"),
                ..Default::default()
            };
            let c = s.config.community;
            let staff = s
                .forum
                .member(&hearth::Actor::User(user), c, user)
                .is_ok_and(|m| m.role.is_moderator());
            let has_password = s.forum.login_of(user)?.is_some();
            render(
                s,
                &v,
                "security.html",
                meta,
                json!({"sessions": sessions, "username": name, "notice": params.str("notice"),
                       "staff": staff, "has_password": has_password,
                       "error": params.str("error")}),
            )
        })
        .await?;
    Ok(crate::pages::html(body, false))
}

/// `POST /u/{name}/sessions/{id}/end`.
pub(crate) async fn end_one(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((name, id)): Path<(String, String)>,
    params: Params,
) -> PageResult {
    params.check_csrf(&v)?;
    let user = me(&v, &name)?;
    state
        .run(move |s| auth::end_session_by_id(&s.forum, s.config.community, user, &id))
        .await?;
    Ok(back(&state, &name, "Signed out of that session."))
}

/// `POST /u/{name}/sessions/end-others`.
pub(crate) async fn end_others(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> PageResult {
    params.check_csrf(&v)?;
    let user = me(&v, &name)?;
    restart(&state, &v, &name, user, None, "Signed out everywhere else.").await
}

/// `POST /u/{name}/password`: `current_password`, `new_password`.
pub(crate) async fn change_password(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> PageResult {
    params.check_csrf(&v)?;
    let user = me(&v, &name)?;
    let current = params.str("current_password").unwrap_or_default();
    let new = params.need("new_password")?;
    auth::check_password(&new)?;
    // The current password, through the sign-in throttles.
    let login = v
        .user
        .as_ref()
        .map(|u| u.username.clone())
        .unwrap_or_default();
    let checked = crate::pages::check_credentials(&state, &v, login, current).await?;
    if checked != user {
        return Err(Error::BadCredentials.into());
    }
    let hash = crate::password::hash_password(&new)?;
    restart(
        &state,
        &v,
        &name,
        user,
        Some(hash),
        "Password changed; other sessions ended.",
    )
    .await
}

/// Ends every session of `user` (after setting `password_hash`, if any)
/// and starts a fresh one for this browser.
async fn restart(
    state: &State,
    v: &Visitor,
    name: &str,
    user: UserId,
    password_hash: Option<String>,
    notice: &str,
) -> PageResult {
    let ttl = state.config.session_ttl;
    let ip = v.ip.to_string();
    let (token, _) = state
        .run(move |s| {
            let c = s.config.community;
            if let Some(hash) = &password_hash {
                s.forum.set_password_hash(user, hash)?;
            }
            auth::end_all_sessions(&s.forum, c, user)?;
            auth::start_session(&s.forum, c, user, ttl, &ip)
        })
        .await?;
    let mut res = back(state, name, notice);
    let cookie = set_cookie(
        state,
        v.secure,
        SESSION_COOKIE,
        &token,
        ttl.as_secs() as i64,
    );
    if let Ok(h) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, h);
    }
    Ok(res)
}

fn back(state: &State, name: &str, notice: &str) -> Response {
    let q = serde_urlencoded::to_string([("notice", notice)]).unwrap_or_default();
    Redirect::to(&state.url(&format!("/u/{name}/security?{q}"))).into_response()
}
