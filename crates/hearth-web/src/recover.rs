//! Getting back into an account: "forgot your password?" mails a
//! single-use link to the account's address; the link's page sets a new
//! password, ends every other session and signs the member in. Pages
//! (`/password-reset`, `/users/password-reset/{token}`) and Discourse's
//! JSON (`POST /session/forgot_password.json`, `PUT
//! /users/password-reset/{token}.json`).
//!
//! The answer to a request never says whether an account matched (the
//! page and the JSON are the same either way), requests are limited per
//! account and per address in the database (shared by every server), and
//! the link's token is stored only as a digest, taken once.

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use hearth::{AccountEmail, Attempt, Throttle, UserId};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::{self, NAMESPACE};
use crate::error::{Error, PageError, Result};
use crate::pages::{Meta, html, origin, render, session_cookie, site_name};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::{Visitor, WantsJson};

/// A reset link as stored (under the digest of its token).
#[derive(Serialize, Deserialize)]
struct Reset {
    user: UserId,
    expires_at: i64,
}

fn key(token: &str) -> String {
    format!("reset/{}", auth::digest(token))
}

fn hours(s: &AppState) -> u64 {
    s.config.limits.password_reset_ttl.as_secs().div_ceil(3600)
}

/// Mails a reset link if `login` names an account with an address. Says
/// nothing about whether it did (only errors: the limits, e-mail off).
fn request(s: &AppState, ip: &str, login: &str) -> Result<()> {
    crate::sso::passwords_allowed(s)?;
    let login = login.trim();
    if login.is_empty() {
        return Err(Error::BadRequest(
            "param is missing or the value is empty: login".into(),
        ));
    }
    let limits = &s.config.limits;
    let hour = std::time::Duration::from_secs(3600);
    let take = |key: String, max| match s.forum.attempt(&key, Throttle { max, per: hour })? {
        Attempt::Allowed => Ok(()),
        Attempt::Refused { retry_after } => Err(Error::RateLimited { retry_after }),
    };
    take(
        format!("reset/address/{}", auth::digest(ip)),
        limits.password_resets_per_ip,
    )?;
    take(
        format!("reset/account/{}", auth::digest(&login.to_lowercase())),
        limits.password_resets_per_account,
    )?;
    let Some(account) = s.forum.login(login)? else {
        return Ok(());
    };
    let base = origin(s).ok_or_else(|| {
        Error::Config(
            "password reset links need the public origin: set WebConfig::public_origin".into(),
        )
    })?;
    let token = auth::random_token()?;
    let reset = Reset {
        user: account.user,
        expires_at: auth::now_ms(&s.forum) + limits.password_reset_ttl.as_millis() as i64,
    };
    s.forum.ext_apply(
        NAMESPACE,
        Some(s.config.community),
        &[hearth::ExtOp::Put {
            key: key(&token),
            value: serde_json::to_vec(&reset).map_err(|e| Error::Internal(e.to_string()))?,
        }],
    )?;
    let link = format!("{base}{}", s.url(&format!("/users/password-reset/{token}")));
    let name = site_name(s);
    let hours = hours(s);
    let text = format!(
        "Hello {user},\n\nSomeone (we hope you) asked to set a new password for your account on {name}.\n\
         Follow this link within {hours} hours to choose one:\n\n{link}\n\n\
         If it wasn't you, ignore this message: your password stays as it is.\n",
        user = account.username,
    );
    let esc = crate::templates::escape;
    let html = format!(
        "<p>Hello {user},</p><p>Someone (we hope you) asked to set a new password for your account on {name}.</p>\
         <p><a href=\"{link}\">Choose a new password</a> (the link works once, for {hours} hours).</p>\
         <p>If it wasn't you, ignore this message: your password stays as it is.</p>",
        user = esc(&account.username),
        name = esc(&name),
        link = esc(&link),
    );
    s.forum.queue_account_email(
        s.config.community,
        account.user,
        AccountEmail {
            to: None,
            subject: format!("Set a new password for {name}"),
            text,
            html,
        },
    )?;
    s.deliver_soon();
    Ok(())
}

/// The live reset behind a token, if any (not taken).
fn peek(s: &AppState, token: &str) -> Result<Option<Reset>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let raw = s
        .forum
        .ext_get(NAMESPACE, Some(s.config.community), &key(token))?;
    Ok(raw
        .and_then(|r| serde_json::from_slice::<Reset>(&r).ok())
        .filter(|r| r.expires_at > auth::now_ms(&s.forum)))
}

/// Sets the new password with the token (taken: it works once), ends
/// every session of the member and starts one for this browser; returns
/// the session's cookie token.
fn reset(
    s: &AppState,
    ip: &str,
    token: &str,
    username: Option<&str>,
    password: &str,
) -> Result<Option<String>> {
    crate::sso::passwords_allowed(s)?;
    let Some(found) = peek(s, token)? else {
        return Ok(None);
    };
    let user = s.forum.user(found.user)?;
    if let Some(name) = username.filter(|n| !n.trim().is_empty())
        && !name.trim().eq_ignore_ascii_case(&user.username)
    {
        return Err(Error::BadRequest(
            "username: not the account this link is for".into(),
        ));
    }
    auth::check_password(password)?;
    let hash = auth::hash_password(password)?;
    // Taken only now: a password refused above leaves the link working.
    if s.forum
        .ext_take(NAMESPACE, Some(s.config.community), &key(token))?
        .is_none()
    {
        return Ok(None);
    }
    let c = s.config.community;
    s.forum.set_password_hash(user.id, &hash)?;
    auth::end_all_sessions(&s.forum, c, user.id)?;
    let (cookie, _) = auth::start_session(&s.forum, c, user.id, s.config.session_ttl, ip)?;
    Ok(Some(cookie))
}

fn page(s: &AppState, v: &Visitor, stage: &str, mut ctx: serde_json::Value) -> Result<String> {
    let meta = Meta {
        title: "Reset your password".into(),
        noindex: true,
        path: "/password-reset".into(),
        ..Default::default()
    };
    ctx["stage"] = stage.into();
    ctx["hours"] = hours(s).into();
    ctx["min_password"] = auth::MIN_PASSWORD_CHARS.into();
    render(s, v, "password_reset.html", meta, ctx)
}

/// `GET /password-reset`: the form.
pub(crate) async fn ask_form(
    AxState(state): AxState<State>,
    v: Visitor,
) -> Result<Response, PageError> {
    crate::sso::passwords_allowed(&state)?;
    let body = state
        .run(move |s| page(s, &v, "ask", json!({ "login": "" })))
        .await?;
    Ok(html(body, false))
}

/// `POST /password-reset`, and Discourse's `POST
/// /session/forgot_password.json` (`user_found` is always true: the
/// answer does not tell who has an account).
pub(crate) async fn ask(
    AxState(state): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let login = params.str("login").unwrap_or_default();
    let ip = v.ip.to_string();
    let asked = match params.check_csrf(&v) {
        Ok(()) => {
            let login = login.clone();
            state.run(move |s| request(s, &ip, &login)).await
        }
        Err(e) => Err(e),
    };
    if json {
        return match asked {
            Ok(()) => crate::error::json_response(
                StatusCode::OK,
                &json!({ "success": "OK", "user_found": true }),
            ),
            Err(e) => crate::error::ApiError(e).into_response(),
        };
    }
    let (stage, status, error) = match asked {
        Ok(()) => ("sent", StatusCode::OK, None),
        Err(e @ (Error::RateLimited { .. } | Error::BadRequest(_))) => {
            ("ask", e.status(), Some(e.public_message()))
        }
        Err(e) => return PageError(e).into_response(),
    };
    let body = state
        .run(move |s| page(s, &v, stage, json!({ "login": login, "error": error })))
        .await;
    match body {
        Ok(b) => (status, Html(b)).into_response(),
        Err(e) => PageError(e).into_response(),
    }
}

/// `GET /users/password-reset/{token}`: the new-password form, or why
/// the link no longer works.
pub(crate) async fn choose_form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    crate::sso::passwords_allowed(&state)?;
    let (status, body) = state
        .run(move |s| {
            let token = token.strip_suffix(".json").unwrap_or(&token).to_owned();
            Ok(match peek(s, &token)? {
                Some(r) => {
                    let username = s.forum.user(r.user)?.username;
                    let ctx = json!({ "token": token, "username": username });
                    (StatusCode::OK, page(s, &v, "choose", ctx)?)
                }
                None => (StatusCode::GONE, page(s, &v, "expired", json!({}))?),
            })
        })
        .await?;
    let mut res = (status, Html(body)).into_response();
    // The token is in the address: never cached, never sent onwards.
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    Ok(res)
}

/// `POST /users/password-reset/{token}` (the form) and `PUT
/// /users/password-reset/{token}.json` (Discourse's `changePassword`:
/// `password`, and `username` when sent must be the link's account).
pub(crate) async fn choose(
    AxState(state): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    Path(token): Path<String>,
    params: Params,
) -> Response {
    let json = json || token.ends_with(".json");
    let token = token.strip_suffix(".json").unwrap_or(&token).to_owned();
    let password = params.str("password").unwrap_or_default();
    let username = params.str("username");
    let ip = v.ip.to_string();
    let done = match params.check_csrf(&v) {
        Ok(()) => {
            let token = token.clone();
            state
                .run(move |s| reset(s, &ip, &token, username.as_deref(), &password))
                .await
        }
        Err(e) => Err(e),
    };
    let cookie = match (&done, json) {
        (Ok(Some(cookie)), _) => session_cookie(&state, &v, cookie).ok(),
        _ => None,
    };
    let mut res = match (done, json) {
        (Ok(Some(_)), true) => crate::error::json_response(
            StatusCode::OK,
            &json!({ "success": "OK", "message": "Password updated" }),
        ),
        (Ok(Some(_)), false) => Redirect::to(&state.url("/")).into_response(),
        // Gone, as the page answers: the link was real once, or never.
        (Ok(None), true) => crate::error::json_response(
            StatusCode::GONE,
            &json!({
                "errors": ["This password reset link was used already or has expired: ask for a new one"],
                "error_type": "invalid_token",
            }),
        ),
        (Ok(None), false) => match state.run(move |s| page(s, &v, "expired", json!({}))).await {
            Ok(b) => (StatusCode::GONE, Html(b)).into_response(),
            Err(e) => PageError(e).into_response(),
        },
        (Err(e), true) => crate::error::ApiError(e).into_response(),
        (Err(e), false) => {
            let status = e.status();
            let message = e.public_message();
            let ctx = json!({ "token": token, "error": message });
            match state.run(move |s| page(s, &v, "choose", ctx)).await {
                Ok(b) => (status, Html(b)).into_response(),
                Err(e) => PageError(e).into_response(),
            }
        }
    };
    if let Some(c) = cookie {
        res.headers_mut().append(header::SET_COOKIE, c);
    }
    res
}
