//! Links mailed to members, each working once and for a while:
//!
//! - **Password reset.** "Forgot your password?" mails a link to the
//!   account's address; its page sets a new password, ends every other
//!   session and signs the member in. Pages (`/password-reset`,
//!   `/users/password-reset/{token}`) and Discourse's JSON (`POST
//!   /session/forgot_password.json`, `PUT
//!   /users/password-reset/{token}.json`). The answer to a request never
//!   says whether an account matched.
//! - **A new account's address.** Where sign-ups confirm their address
//!   (`crate::signup`), a link to `/u/activate-account/{token}` (a page
//!   with a button) confirms it, welcomes the member and signs them in;
//!   `POST /u/activate-account` sends it again. A password reset confirms
//!   the address too (the member read mail there).
//! - **A new address.** `PUT /u/{username}/preferences/email.json` mails
//!   a link to the new address; the address changes when the member
//!   confirms there (`/u/confirm-email/{token}`: a page with a button, so
//!   a mail scanner following links confirms nothing), and the old address
//!   is told (with the way back in, should it not have been the member).
//!
//! Requests are limited per account and per address in the database
//! (shared by every server), and a link's token is stored only as a
//! digest, taken once.

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

/// What a mailed link does, stored under the digest of its token.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Link {
    /// Sets the account's password.
    Reset { user: UserId, expires_at: i64 },
    /// Confirms a new account's address, and accepts `invite` (the one
    /// it signed up with) if any.
    ConfirmSignup {
        user: UserId,
        invite: Option<String>,
        expires_at: i64,
    },
    /// Makes `email` the account's sign-in address.
    ConfirmEmail {
        user: UserId,
        email: String,
        expires_at: i64,
    },
    /// Lets admin `user` download the backup `filename`.
    Backup {
        user: UserId,
        filename: String,
        expires_at: i64,
    },
}

impl Link {
    fn expires_at(&self) -> i64 {
        match self {
            Link::Reset { expires_at, .. }
            | Link::ConfirmSignup { expires_at, .. }
            | Link::ConfirmEmail { expires_at, .. }
            | Link::Backup { expires_at, .. } => *expires_at,
        }
    }
}

fn key(token: &str) -> String {
    format!("link/{}", auth::digest(token))
}

/// Counts a request for account mail against a limit per hour.
fn take(s: &AppState, key: String, max: u32) -> Result<()> {
    let per = std::time::Duration::from_secs(3600);
    match s.forum.attempt(&key, Throttle { max, per })? {
        Attempt::Allowed => Ok(()),
        Attempt::Refused { retry_after } => Err(Error::RateLimited { retry_after }),
    }
}

/// Counts a request for account mail per address of the requester.
pub(crate) fn limit_address(s: &AppState, ip: &str) -> Result<()> {
    let max = s.config.limits.account_mail_per_ip;
    take(s, format!("account-mail/address/{}", auth::digest(ip)), max)
}

/// Counts a request for account mail per name asked, before anyone looks
/// it up (unknown names too).
fn limit_login(s: &AppState, login: &str) -> Result<()> {
    let max = s.config.limits.account_mail_per_account;
    take(
        s,
        format!("account-mail/login/{}", auth::digest(&login.to_lowercase())),
        max,
    )
}

/// Counts a request for account mail per account, whichever name it was
/// asked by.
fn limit_account(s: &AppState, user: UserId) -> Result<()> {
    let max = s.config.limits.account_mail_per_account;
    take(s, format!("account-mail/account/{}", user.0), max)
}

/// Stores a link and returns its absolute URL: `path`, then the token.
fn store(s: &AppState, link: &Link, path: &str) -> Result<String> {
    let base = origin(s).ok_or_else(|| {
        Error::Config("mailed links need the public origin: set WebConfig::public_origin".into())
    })?;
    let token = auth::random_token()?;
    s.forum.ext_apply(
        NAMESPACE,
        Some(s.config.community),
        &[hearth::ExtOp::Put {
            key: key(&token),
            value: serde_json::to_vec(link).map_err(|e| Error::Internal(e.to_string()))?,
        }],
    )?;
    Ok(format!("{base}{}", s.url(&format!("{path}/{token}"))))
}

/// The live link behind a token, if any (not taken).
fn peek(s: &AppState, token: &str) -> Result<Option<Link>> {
    if token.len() != 64 {
        return Ok(None);
    }
    let raw = s
        .forum
        .ext_get(NAMESPACE, Some(s.config.community), &key(token))?;
    Ok(raw
        .and_then(|r| serde_json::from_slice::<Link>(&r).ok())
        .filter(|l| l.expires_at() > auth::now_ms(&s.forum)))
}

/// Takes a link (it works once): `false` if another request took it.
fn take_link(s: &AppState, token: &str) -> Result<bool> {
    Ok(s.forum
        .ext_take(NAMESPACE, Some(s.config.community), &key(token))?
        .is_some())
}

/// When a link made now stops working.
fn expires(s: &AppState) -> i64 {
    auth::now_ms(&s.forum) + s.config.limits.account_link_ttl.as_millis() as i64
}

fn hours(s: &AppState) -> u64 {
    s.config.limits.account_link_ttl.as_secs().div_ceil(3600)
}

/// Writes a mail with one link into the outbox and wakes the mailer.
/// `lines` are the text's paragraphs before and after the link.
fn send(
    s: &AppState,
    user: UserId,
    to: Option<String>,
    subject: String,
    (before, label, link, after): (&str, &str, &str, &str),
) -> Result<()> {
    let esc = crate::templates::escape;
    let text = format!("{before}\n\n{label}:\n{link}\n\n{after}\n");
    let html = format!(
        "<p>{}</p><p><a href=\"{}\">{}</a></p><p>{}</p>",
        esc(before),
        esc(link),
        esc(label),
        esc(after)
    );
    s.forum.queue_account_email(
        s.config.community,
        user,
        AccountEmail {
            to,
            subject,
            text,
            html,
        },
    )?;
    s.deliver_soon();
    Ok(())
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
    limit_address(s, ip)?;
    limit_login(s, login)?;
    let Some(account) = s.forum.login(login)? else {
        return Ok(());
    };
    // Also per account, whichever name it was asked by (username or
    // address), and shared with address changes.
    limit_account(s, account.user)?;
    let link = Link::Reset {
        user: account.user,
        expires_at: expires(s),
    };
    let link = store(s, &link, "/users/password-reset")?;
    let name = site_name(s);
    let hours = hours(s);
    send(
        s,
        account.user,
        None,
        format!("Set a new password for {name}"),
        (
            &format!(
                "Hello {}, someone (we hope you) asked to set a new password for your account on {name}.",
                account.username
            ),
            &format!("Choose a new password (the link works once, for {hours} hours)"),
            &link,
            "If it wasn't you, ignore this message: your password stays as it is.",
        ),
    )
}

/// Mails a link to confirm `email` as `user`'s new address (they asked:
/// the caller checked it is them).
fn request_email(s: &AppState, ip: &str, user: UserId, email: &str) -> Result<()> {
    crate::sso::passwords_allowed(s)?;
    let account = s
        .forum
        .login_of(user)?
        .ok_or(Error::Engine(hearth::Error::NotFound {
            what: "sign-in address (this account signs in elsewhere)",
        }))?;
    limit_address(s, ip)?;
    limit_account(s, user)?;
    let email = email.trim().to_owned();
    let link = Link::ConfirmEmail {
        user,
        email: email.clone(),
        expires_at: expires(s),
    };
    let link = store(s, &link, "/u/confirm-email")?;
    let name = site_name(s);
    send(
        s,
        user,
        Some(email),
        format!("Confirm your new address for {name}"),
        (
            &format!(
                "Hello {}, you asked to sign in to {name} with this address from now on.",
                account.username
            ),
            &format!(
                "Confirm this address (the link works once, for {} hours)",
                hours(s)
            ),
            &link,
            "If it wasn't you, ignore this message: nothing changes.",
        ),
    )
}

/// Mails admin `user` a link to download the backup `filename` (from
/// their own address; they asked).
pub(crate) fn request_backup_link(
    s: &AppState,
    ip: &str,
    user: UserId,
    filename: &str,
) -> Result<()> {
    limit_address(s, ip)?;
    limit_account(s, user)?;
    let link = Link::Backup {
        user,
        filename: filename.to_owned(),
        expires_at: expires(s),
    };
    // The download's address is the backup's, with the token as a query.
    let url = store(s, &link, &format!("/admin/backups/{filename}"))?;
    let url = match url.rsplit_once('/') {
        Some((path, token)) => format!("{path}?token={token}"),
        None => url,
    };
    let name = site_name(s);
    send(
        s,
        user,
        None,
        format!("Download the backup of {name}"),
        (
            &format!("You asked to download the backup {filename} of {name}."),
            &format!(
                "Download it while signed in as yourself (the link works once, for {} hours)",
                hours(s)
            ),
            &url,
            "The backup holds the whole community, private places included: keep it safe.",
        ),
    )
}

/// Takes the link behind `token` if it lets `user` download `filename`.
pub(crate) fn take_backup_link(
    s: &AppState,
    token: &str,
    user: UserId,
    filename: &str,
) -> Result<bool> {
    match peek(s, token)? {
        Some(Link::Backup {
            user: u,
            filename: f,
            ..
        }) if u == user && f == filename => take_link(s, token),
        _ => Ok(false),
    }
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
    let Some(Link::Reset { user, .. }) = peek(s, token)? else {
        return Ok(None);
    };
    let user = s.forum.user(user)?;
    if let Some(name) = username.filter(|n| !n.trim().is_empty())
        && !name.trim().eq_ignore_ascii_case(&user.username)
    {
        return Err(Error::BadRequest(
            "username: not the account this link is for".into(),
        ));
    }
    auth::check_password(password)?;
    let hash = crate::password::hash_password(password)?;
    // Taken only now: a password refused above leaves the link working.
    if !take_link(s, token)? {
        return Ok(None);
    }
    let c = s.config.community;
    s.forum.set_password_hash(user.id, &hash)?;
    if s.forum.login_of(user.id)?.is_some_and(|l| !l.confirmed) {
        crate::signup::activate(s, user.id, None)?;
    }
    auth::end_all_sessions(&s.forum, c, user.id)?;
    let (cookie, _) = auth::start_session(&s.forum, c, user.id, s.config.session_ttl, ip)?;
    Ok(Some(cookie))
}

fn page(s: &AppState, v: &Visitor, stage: &str, mut ctx: serde_json::Value) -> Result<String> {
    let (title, path) = match stage {
        "signup_sent" | "confirm_signup" => ("Confirm your address", "/u/activate-account"),
        "confirm_email" | "email_confirmed" => ("Confirm your new address", "/u/confirm-email"),
        _ => ("Reset your password", "/password-reset"),
    };
    let meta = Meta {
        title: title.into(),
        noindex: true,
        path: path.into(),
        ..Default::default()
    };
    ctx["stage"] = stage.into();
    ctx["hours"] = hours(s).into();
    ctx["min_password"] = auth::MIN_PASSWORD_CHARS.into();
    render(s, v, "mailed_link.html", meta, ctx)
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
                Some(Link::Reset { user, .. }) => {
                    let username = s.forum.user(user)?.username;
                    let ctx = json!({ "token": token, "username": username });
                    (StatusCode::OK, page(s, &v, "choose", ctx)?)
                }
                _ => (StatusCode::GONE, page(s, &v, "expired", json!({}))?),
            })
        })
        .await?;
    Ok(no_leak((status, Html(body)).into_response()))
}

/// A page with a secret in its address: never cached, never sent onwards.
fn no_leak(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    res
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

/// `PUT /u/{username}/preferences/email.json` (`updateEmail`): mails a
/// link to the new address; it becomes the member's when they confirm
/// there. The member themselves only.
pub(crate) async fn update_email(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
    params: Params,
) -> Result<Response, crate::error::ApiError> {
    let actor = params.writer(&v)?;
    let email = params.need("email")?;
    let ip = v.ip.to_string();
    state
        .run(move |s| {
            let user = crate::api::preferences::me(s, &actor, &username)?;
            request_email(s, &ip, user, &email)
        })
        .await?;
    Ok(crate::error::json_response(
        StatusCode::OK,
        &json!({ "success": "OK" }),
    ))
}

/// The page a mailed link opens: `show` gives the stage and context for
/// the kind of link the route expects; anything else (used, expired,
/// another kind) is the "no longer works" page, 410.
async fn link_form(
    state: State,
    v: Visitor,
    token: String,
    show: impl FnOnce(&AppState, Link, &str) -> Result<Option<(&'static str, serde_json::Value)>>
    + Send
    + 'static,
) -> Result<Response, PageError> {
    let (status, body) = state
        .run(move |s| {
            let shown = match peek(s, &token)? {
                Some(link) => show(s, link, &token)?,
                None => None,
            };
            Ok(match shown {
                Some((stage, ctx)) => (StatusCode::OK, page(s, &v, stage, ctx)?),
                None => (StatusCode::GONE, page(s, &v, "expired", json!({}))?),
            })
        })
        .await?;
    Ok(no_leak((status, Html(body)).into_response()))
}

/// `GET /u/confirm-email/{token}`: what confirming would do, with the
/// button that does it.
pub(crate) async fn confirm_email_form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    link_form(state, v, token, |s, link, token| {
        let Link::ConfirmEmail { user, email, .. } = link else {
            return Ok(None);
        };
        let username = s.forum.user(user)?.username;
        let ctx = json!({ "token": token, "username": username, "email": email });
        Ok(Some(("confirm_email", ctx)))
    })
    .await
}

/// `POST /u/confirm-email/{token}`: the address becomes the member's.
pub(crate) async fn confirm_email(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(token): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    params.check_csrf(&v)?;
    let (status, body) = state
        .run(move |s| {
            let Some(Link::ConfirmEmail { user, email, .. }) = peek(s, &token)? else {
                return Ok((StatusCode::GONE, page(s, &v, "expired", json!({}))?));
            };
            let username = s.forum.user(user)?.username;
            let ctx = json!({ "token": token, "username": username, "email": email });
            let old = s.forum.login_of(user)?.map(|l| l.email);
            match s.forum.set_login_email(user, &email) {
                Ok(()) => {
                    take_link(s, &token)?;
                    if let Some(old) = old.filter(|o| !o.eq_ignore_ascii_case(&email)) {
                        tell_old_address(s, user, &username, old, &email)?;
                    }
                    Ok((StatusCode::OK, page(s, &v, "email_confirmed", ctx)?))
                }
                Err(e @ hearth::Error::Conflict { .. }) => {
                    let mut ctx = ctx;
                    ctx["error"] = e.to_string().into();
                    Ok((StatusCode::CONFLICT, page(s, &v, "confirm_email", ctx)?))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    Ok(no_leak((status, Html(body)).into_response()))
}

/// Tells the address an account used to sign in with that it changed (a
/// stolen session could change it; the owner then knows, and how to get
/// back in).
fn tell_old_address(
    s: &AppState,
    user: UserId,
    username: &str,
    old: String,
    new: &str,
) -> Result<()> {
    let base = origin(s).unwrap_or_default();
    let reset = format!("{base}{}", s.url("/password-reset"));
    let name = site_name(s);
    let masked = match new.split_once('@') {
        Some((local, domain)) => {
            format!("{}…@{domain}", local.chars().next().unwrap_or('…'))
        }
        None => "another address".into(),
    };
    send(
        s,
        user,
        Some(old),
        format!("Your sign-in address for {name} changed"),
        (
            &format!(
                "Hello {username}, the account {username} on {name} now signs in with {masked} instead of this address."
            ),
            "If that wasn't you, set a new password and tell the site's staff",
            &reset,
            "If it was you, there is nothing to do.",
        ),
    )
}

/// Mails a new account the link that confirms its address (the caller
/// counted the request against its limits).
pub(crate) fn mail_signup_link(s: &AppState, user: UserId, invite: Option<String>) -> Result<()> {
    let account = s
        .forum
        .login_of(user)?
        .ok_or(Error::Engine(hearth::Error::NotFound {
            what: "sign-in address",
        }))?;
    let link = Link::ConfirmSignup {
        user,
        invite,
        expires_at: expires(s),
    };
    let link = store(s, &link, "/u/activate-account")?;
    let name = site_name(s);
    send(
        s,
        user,
        None,
        format!("Confirm your address for {name}"),
        (
            &format!(
                "Welcome, {}! Someone (we hope you) signed up to {name} with this address.",
                account.username
            ),
            &format!(
                "Confirm your address and sign in (the link works once, for {} hours)",
                hours(s)
            ),
            &link,
            "If it wasn't you, ignore this message: the account stays unconfirmed and cannot be used.",
        ),
    )
}

/// The "check your e-mail" page after a sign-up or a request for a new
/// link (the same words whether or not an account waits: nothing is
/// given away).
pub(crate) fn signup_sent_page(s: &AppState, v: &Visitor, login: &str) -> Result<String> {
    page(s, v, "signup_sent", json!({ "login": login }))
}

/// `GET /u/activate-account/{token}`: a button that confirms (so a mail
/// scanner following the link confirms nothing).
pub(crate) async fn confirm_signup_form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    link_form(state, v, token, |s, link, token| {
        let Link::ConfirmSignup { user, .. } = link else {
            return Ok(None);
        };
        let username = s.forum.user(user)?.username;
        Ok(Some((
            "confirm_signup",
            json!({ "token": token, "username": username }),
        )))
    })
    .await
}

/// `POST /u/activate-account/{token}`: the address is confirmed, the
/// member welcomed into the community and signed in.
pub(crate) async fn confirm_signup(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(token): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    params.check_csrf(&v)?;
    let ip = v.ip.to_string();
    let page_v = v.clone();
    let done = state
        .run(move |s| {
            let Some(Link::ConfirmSignup { user, invite, .. }) = peek(s, &token)? else {
                return Ok(None);
            };
            if !take_link(s, &token)? {
                return Ok(None);
            }
            crate::signup::activate(s, user, invite.as_deref())?;
            let c = s.config.community;
            let (cookie, _) = auth::start_session(&s.forum, c, user, s.config.session_ttl, &ip)?;
            Ok(Some(cookie))
        })
        .await?;
    match done {
        Some(cookie) => {
            let mut res = Redirect::to(&state.url("/")).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&state, &v, &cookie)?);
            Ok(no_leak(res))
        }
        None => {
            let body = state
                .run(move |s| page(s, &page_v, "expired", json!({})))
                .await?;
            Ok(no_leak((StatusCode::GONE, Html(body)).into_response()))
        }
    }
}

/// `POST /u/activate-account` (`login`): mails the confirmation link
/// again if that account waits for one. Answers the same either way.
pub(crate) async fn resend_signup(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, PageError> {
    params.check_csrf(&v)?;
    crate::sso::passwords_allowed(&state)?;
    let login = params.str("login").unwrap_or_default().trim().to_owned();
    let ip = v.ip.to_string();
    let body = state
        .run(move |s| {
            limit_address(s, &ip)?;
            limit_login(s, &login)?;
            if let Some(account) = s.forum.login(&login)?
                && !account.confirmed
            {
                limit_account(s, account.user)?;
                mail_signup_link(s, account.user, None)?;
            }
            signup_sent_page(s, &v, &login)
        })
        .await?;
    Ok(html(body, false))
}
