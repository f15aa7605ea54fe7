//! What is a member's alone, from their security page: everything their
//! account holds as a download (`POST /u/{name}/export`, JSON Lines from
//! `Forum::export_own_data`), and deleting the account
//! (`POST /u/{name}/delete-account`: anonymized, posts kept, every session
//! and key here ended). Both need the member's own browser session.

use axum::extract::{Path, State as AxState};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::json;

use crate::auth;
use crate::error::{Error, PageError};
use crate::pages::{Meta, render};
use crate::params::Params;
use crate::security::me;
use crate::state::State;
use crate::visitor::{SESSION_COOKIE, Visitor, set_cookie};

/// `POST /u/{name}/export`: the member's data, streamed as it is written.
pub(crate) async fn export(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    params.check_csrf(&v)?;
    let user = me(&v, &name)?;
    let actor = v.actor;
    let st = state.clone();
    let body = crate::export::stream_blocking("member data", move |out| {
        st.forum
            .export_own_data(&actor, user, out)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    Ok(crate::export::jsonl_attachment(
        body,
        &format!("{}-data.jsonl", name.to_ascii_lowercase()),
    ))
}

/// `POST /u/{name}/delete-account`: `confirm` (the username, typed) and,
/// for an account with a password, `password`. Anonymizes the account,
/// ends its sessions and keys here and signs this browser out.
pub(crate) async fn delete(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    params.check_csrf(&v)?;
    let user = me(&v, &name)?;
    let typed = params.str("confirm").unwrap_or_default();
    if !typed.trim().eq_ignore_ascii_case(&name) {
        return Ok(refused(
            &state,
            &name,
            "Type your username to confirm: nothing was deleted.",
        ));
    }
    let has_password = state
        .run(move |s| Ok(s.forum.login_of(user)?.is_some()))
        .await?;
    if has_password {
        let password = params.str("password").unwrap_or_default();
        match crate::pages::check_credentials(&state, &v, name.clone(), password).await {
            Ok(u) if u == user => {}
            Ok(_) | Err(Error::BadCredentials) => {
                return Ok(refused(
                    &state,
                    &name,
                    "That is not your password: nothing was deleted.",
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    let actor = v.actor;
    let page_v = v.clone();
    let body = state
        .run(move |s| {
            let c = s.config.community;
            s.forum.anonymize_own_account(&actor, c)?;
            auth::end_all_access(&s.forum, c, user)?;
            let meta = Meta {
                title: "Your account is deleted".into(),
                noindex: true,
                path: "/".into(),
                ..Default::default()
            };
            render(s, &page_v, "security.html", meta, json!({ "gone": true }))
        })
        .await?;
    let mut res = Html(body).into_response();
    let cookie = set_cookie(&state, v.secure, SESSION_COOKIE, "", 0);
    if let Ok(h) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, h);
    }
    Ok(res)
}

/// Back to the security page with what to fix.
fn refused(state: &State, name: &str, error: &str) -> Response {
    let q = serde_urlencoded::to_string([("error", error)]).unwrap_or_default();
    axum::response::Redirect::to(&state.url(&format!("/u/{name}/security?{q}#delete")))
        .into_response()
}
