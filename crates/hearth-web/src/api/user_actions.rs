//! `GET /user_actions.json` (`listUserActions`): a member's activity
//! stream — topics started, replies, likes given and received, mentions —
//! as Discourse shapes it, holding only what the visitor may read.

use axum::extract::State as AxState;
use hearth::{ActionKind, UserAction};
use serde::Serialize;

use super::html::SafeHtml;
use super::shape::{Ctx, avatar_template, ts};
use super::{ApiResult, ctx, ok};
use crate::error::Error;
use crate::params::Params;
use crate::state::State;
use crate::visitor::Visitor;

/// Actions per page, as Discourse pages them.
const PAGE: usize = 30;
/// How long an excerpt is, in characters.
const EXCERPT_CHARS: usize = 300;

#[derive(Serialize)]
struct ActionShape {
    excerpt: SafeHtml,
    action_type: i64,
    created_at: String,
    avatar_template: String,
    acting_avatar_template: String,
    slug: String,
    topic_id: i64,
    target_user_id: i64,
    target_name: Option<String>,
    target_username: String,
    post_number: i64,
    /// The document types it string-or-null; the post is named by
    /// `topic_id` and `post_number`.
    post_id: Option<String>,
    username: String,
    name: Option<String>,
    user_id: i64,
    acting_username: String,
    acting_name: Option<String>,
    acting_user_id: i64,
    title: String,
    deleted: bool,
    hidden: Option<String>,
    post_type: Option<String>,
    action_code: Option<String>,
    category_id: i64,
    closed: bool,
    archived: bool,
}

fn name(display: &str) -> Option<String> {
    (!display.is_empty()).then(|| display.to_owned())
}

fn shape(ctx: &Ctx, owner: &hearth::User, a: &UserAction) -> ActionShape {
    let excerpt: String = a.source.chars().take(EXCERPT_CHARS).collect();
    ActionShape {
        excerpt: SafeHtml::escape(&excerpt),
        action_type: a.kind.number(),
        created_at: ts(a.at),
        avatar_template: avatar_template(ctx, &owner.username, owner.avatar_url.as_deref()),
        acting_avatar_template: avatar_template(
            ctx,
            &a.acting.username,
            a.acting.avatar_url.as_deref(),
        ),
        slug: a.slug.clone(),
        topic_id: a.topic.0,
        target_user_id: a.author.id.0,
        target_name: name(&a.author.display_name),
        target_username: a.author.username.clone(),
        post_number: a.post_number,
        post_id: None,
        username: owner.username.clone(),
        name: name(&owner.display_name),
        user_id: owner.id.0,
        acting_username: a.acting.username.clone(),
        acting_name: name(&a.acting.display_name),
        acting_user_id: a.acting.id.0,
        title: a.title.clone(),
        deleted: false,
        hidden: None,
        post_type: None,
        action_code: None,
        category_id: a.category.0,
        closed: a.closed,
        archived: a.archived,
    }
}

/// `filter`: comma-separated action types (1 likes given, 2 likes
/// received, 4 topics, 5 replies, 7 mentions; others Hearth doesn't
/// record are refused); empty: all.
fn kinds(filter: Option<String>) -> Result<Vec<ActionKind>, Error> {
    let mut out = Vec::new();
    for part in filter.unwrap_or_default().split(',') {
        let part = part.trim();
        if part.is_empty() {
            continue;
        }
        let kind = part
            .parse()
            .ok()
            .and_then(ActionKind::from_number)
            .ok_or_else(|| {
                Error::BadRequest(format!(
                    "filter {part:?}: action types 1 (likes), 2 (liked), 4 (topics), 5 (replies) or 7 (mentions)"
                ))
            })?;
        if !out.contains(&kind) {
            out.push(kind);
        }
    }
    Ok(out)
}

/// `GET /user_actions.json?username=…&filter=4,5&offset=0`.
pub(crate) async fn list(AxState(state): AxState<State>, v: Visitor, params: Params) -> ApiResult {
    let username = params.need("username")?;
    let kinds = kinds(params.str("filter"))?;
    let offset = params.int("offset")?.unwrap_or(0);
    let offset =
        usize::try_from(offset).map_err(|_| Error::BadRequest("offset: 0 or more".into()))?;
    let actions = state
        .run(move |s| {
            let c = s.config.community;
            let member = s.forum.member_by_username(&v.actor, c, &username)?;
            let actions =
                s.forum
                    .user_actions(&v.actor, c, member.user.id, &kinds, offset, PAGE)?;
            let ctx = ctx(s, &v.actor)?;
            let shaped: Vec<ActionShape> = actions
                .iter()
                .map(|a| shape(&ctx, &member.user, a))
                .collect();
            Ok(serde_json::json!({ "user_actions": shaped }))
        })
        .await?;
    ok(actions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_as_discourse_sends_them() {
        assert_eq!(kinds(None).ok(), Some(vec![]));
        assert_eq!(
            kinds(Some("4, 5,4".into())).ok(),
            Some(vec![ActionKind::NewTopic, ActionKind::Reply])
        );
        for bad in ["3", "x", "4,12"] {
            assert!(kinds(Some(bad.into())).is_err(), "{bad}");
        }
    }
}
