//! A member's own account settings, as Discourse's API names them: `PUT
//! /u/{username}/preferences/username.json`, `PUT
//! /u/{username}/preferences/avatar/pick.json` and `POST
//! /user_avatar/{username}/refresh_gravatar.json` (the address:
//! `mailed_links.rs`). Accounts are shared by a forum's communities, so
//! only the member changes them (the engine decides).

use axum::extract::{Path, State as AxState};
use hearth::{Actor, ProfileUpdate, UserId};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::{ApiResult, name_of, ok, success};
use crate::error::Error;
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// The Gravatar image for an address (Gravatar takes SHA-256 of the
/// trimmed, lower-cased address); `{size}` is left for templates.
pub(crate) fn gravatar(email: &str) -> String {
    let hash = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!(
        "https://gravatar.com/avatar/{}?s={{size}}&d=identicon",
        crate::auth::hex(&hash)
    )
}

/// The member `username` names, if it is the caller.
pub(crate) fn me(s: &AppState, actor: &Actor, username: &str) -> Result<UserId, Error> {
    let user = s.forum.user_by_username(name_of(username))?;
    if *actor != Actor::User(user.id) {
        return Err(Error::Engine(hearth::Error::Forbidden {
            reason: "only the member changes their own account".into(),
        }));
    }
    Ok(user.id)
}

/// `PUT /u/{username}/preferences/username.json` (`updateUsername`):
/// `new_username`.
pub(crate) async fn username(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let new = params.need("new_username")?;
    let user = state
        .run(move |s| {
            let id = me(s, &actor, &username)?;
            Ok(s.forum.change_username(&actor, id, &new)?)
        })
        .await?;
    ok(json!({ "id": user.id.0, "username": user.username }))
}

/// `PUT /u/{username}/preferences/avatar/pick.json` (`updateAvatar`):
/// `type` `system` (the letter avatar) or `gravatar`; uploaded pictures
/// wait for uploads (400 until then).
pub(crate) async fn pick_avatar(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((username, rest)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    if rest != "pick.json" && rest != "pick" {
        return Err(Error::Engine(hearth::Error::NotFound { what: "page" }).into());
    }
    let actor = params.writer(&v)?;
    let kind = params.need("type")?;
    state
        .run(move |s| {
            let id = me(s, &actor, &username)?;
            let avatar = match kind.as_str() {
                "system" => String::new(),
                "gravatar" => {
                    let login = s.forum.login_of(id)?.ok_or_else(|| {
                        Error::BadRequest("gravatar: the account has no e-mail address".into())
                    })?;
                    gravatar(&login.email).replace("{size}", "240")
                }
                "uploaded" | "custom" => {
                    return Err(Error::BadRequest(format!(
                        "type {kind:?}: Hearth has no uploads yet; pick system or gravatar, \
                         or set avatar_url with PUT /u/{{username}}.json"
                    )));
                }
                other => {
                    return Err(Error::BadRequest(format!(
                        "type {other:?}: system, gravatar, uploaded or custom"
                    )));
                }
            };
            let update = ProfileUpdate {
                avatar_url: Some(avatar),
                ..ProfileUpdate::default()
            };
            s.forum.update_profile(&actor, id, update)?;
            Ok(())
        })
        .await?;
    success()
}

/// `POST /user_avatar/{username}/refresh_gravatar.json`
/// (`refreshGravatar`): the member's Gravatar as an avatar template
/// (Hearth links to Gravatar rather than copying the picture: no upload
/// id). The member themselves only.
pub(crate) async fn refresh_gravatar(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let template = state
        .run(move |s| {
            let id = me(s, &actor, &username)?;
            Ok(s.forum.login_of(id)?.map(|l| gravatar(&l.email)))
        })
        .await?;
    ok(json!({ "gravatar_upload_id": null, "gravatar_avatar_template": template }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gravatar_hashes_the_trimmed_lower_case_address() {
        // Gravatar's documented example address and its SHA-256.
        assert_eq!(
            gravatar(" MyEmailAddress@example.com "),
            "https://gravatar.com/avatar/84059b07d4be67b806386c0aad8070a23f18836bbaae342275dc0a83414c32ee?s={size}&d=identicon"
        );
    }
}
