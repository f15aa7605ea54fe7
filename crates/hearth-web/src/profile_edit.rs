//! The member's own profile form (`/u/{name}/preferences/profile`): display
//! name, bio, website, location, the community's profile fields (`f_{key}`,
//! `f_{key}[]` for several choices) and avatar (an uploaded image, or back
//! to the letter avatar). A plain form (multipart for the picture) that works
//! without JavaScript; a refused change comes back in the form with the
//! reason, nothing lost.

use axum::extract::{Path, State as AxState};
use axum::response::{IntoResponse, Response};
use hearth::{ProfileUpdate, User};
use serde_json::{Value, json};

use crate::error::{Error, PageError};
use crate::pages::{Meta, PageResult, fixable, form_outcome, html, render};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::Visitor;

/// The signed-in member, who must be the one named in the path (404 for
/// another member's, 403 for a guest).
fn own(s: &AppState, v: &Visitor, name: &str) -> Result<User, Error> {
    crate::notifications::own(v, name)?;
    Ok(s.forum.user_by_username(name)?)
}

/// Answers to profile fields: (field key, values).
type Answers = Vec<(String, Vec<String>)>;

/// The community's profile fields with `user`'s answers (or the answers
/// the form sent back, `sent`), for the form; none when they are not a
/// member here.
fn fields(
    s: &AppState,
    v: &Visitor,
    user: &User,
    sent: Option<&[(String, Vec<String>)]>,
) -> Result<Value, Error> {
    let c = s.config.community;
    if s.forum.member(&v.actor, c, user.id).is_err() {
        return Ok(json!([]));
    }
    let fields = s.forum.member_fields(&v.actor, c, user.id)?;
    Ok(fields
        .into_iter()
        .map(|m| {
            let values = sent
                .and_then(|a| a.iter().find(|(k, _)| *k == m.field.key))
                .map_or(m.values, |(_, v)| v.clone());
            json!({"key": m.field.key, "label": m.field.label, "kind": m.field.kind,
                   "values": values, "visibility": m.field.visibility})
        })
        .collect())
}

/// The answers a form sent for each of the community's fields, when the
/// form showed them (`fields_present`).
fn sent_fields(s: &AppState, params: &Params) -> Result<Option<Answers>, Error> {
    if params.str("fields_present").is_none() {
        return Ok(None);
    }
    let community = s.community()?;
    Ok(Some(
        community
            .settings
            .profile_fields
            .iter()
            .map(|f| {
                let name = format!("f_{}", f.key);
                let values = match params.get(&name) {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect(),
                    Some(Value::String(v)) => vec![v.clone()],
                    _ => Vec::new(),
                };
                (f.key.clone(), values)
            })
            .collect(),
    ))
}

fn page(
    s: &AppState,
    v: &Visitor,
    user: &User,
    draft: Value,
    error: Option<String>,
) -> Result<String, Error> {
    let sent: Option<Answers> = draft
        .get("fields")
        .and_then(|f| serde_json::from_value(f.clone()).ok());
    let fields = fields(s, v, user, sent.as_deref())?;
    let avatar = crate::pages::avatar(s, &user.username, user.avatar_url.as_deref(), 96);
    render(
        s,
        v,
        "profile_edit.html",
        Meta {
            title: "Your profile".into(),
            noindex: true,
            path: format!("/u/{}/preferences/profile", user.username),
            ..Default::default()
        },
        json!({"username": user.username, "draft": draft, "error": error,
               "me_avatar": {"avatar": avatar},
               "has_avatar": user.avatar_url.is_some(), "fields": fields,
               "max_bytes": s.community()?.settings.limits.upload_max_bytes}),
    )
}

/// `GET /u/{name}/preferences/profile`.
pub(crate) async fn form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
) -> PageResult {
    let body = state
        .run(move |s| {
            let user = own(s, &v, &name)?;
            let draft = json!({"name": user.display_name, "bio": user.bio,
                               "website": user.website, "location": user.location,
                               "follows_hidden": s.forum.follows_hidden(user.id)?});
            page(s, &v, &user, draft, None)
        })
        .await?;
    Ok(html(body, false))
}

/// `POST /u/{name}/preferences/profile` (multipart or form-encoded):
/// `name`, `bio`, `website`, `location`, the fields (with
/// `fields_present`), optional `file` (a new avatar) or `letter_avatar`
/// (drop the picture).
pub(crate) async fn save(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(name): Path<String>,
    mut params: Params,
) -> Response {
    let file = params.file.take();
    if let Err(e) = params.writer(&v) {
        return PageError(e).into_response();
    }
    let result = state
        .run(move |s| {
            let user = own(s, &v, &name)?;
            let field = |k: &str| params.str(k).unwrap_or_default();
            let hide_follows = params.str("follows_hidden").is_some();
            let answers = sent_fields(s, &params)?;
            let draft = json!({"name": field("name"), "bio": field("bio"),
                               "website": field("website"), "location": field("location"),
                               "follows_hidden": hide_follows, "fields": answers});
            let outcome = (|| -> Result<(), hearth::Error> {
                // First: a refused answer leaves everything as it was.
                if let Some(answers) = &answers {
                    s.forum
                        .set_member_fields(&v.actor, s.config.community, user.id, answers)?;
                }
                let mut update = ProfileUpdate {
                    display_name: Some(field("name")),
                    bio: Some(field("bio")),
                    website: Some(field("website")),
                    location: Some(field("location")),
                    avatar_url: params.str("letter_avatar").map(|_| String::new()),
                };
                if let Some(file) = file.filter(|f| !f.bytes.is_empty()) {
                    let upload = s.forum.create_upload(&v.actor, s.config.community, file)?;
                    update.avatar_url = Some(crate::api::uploads::avatar_path_of(s, &upload)?);
                }
                s.forum.update_profile(&v.actor, user.id, update)?;
                s.forum.set_follows_hidden(&v.actor, hide_follows)?;
                Ok(())
            })();
            match outcome {
                Ok(()) => Ok(Ok(s.url(&format!("/u/{}", user.username)))),
                Err(e) if fixable(&e) => {
                    let message = Error::Engine(e).public_message();
                    Ok(Err(page(s, &v, &user, draft, Some(message))?))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await;
    match result {
        Ok(outcome) => form_outcome(outcome),
        Err(e) => PageError(e).into_response(),
    }
}
