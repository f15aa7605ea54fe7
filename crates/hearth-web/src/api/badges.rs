//! Badges as Discourse's admin API manages them: `GET`/`POST
//! /admin/badges.json`, `PUT`/`DELETE /admin/badges/{id}.json`, typed after
//! its document. The engine decides who may (admins) and keeps the audit
//! entry; a badge's slug, which hooks and plugins grant by, is made from
//! its name once and never changes.

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use hearth::{Badge, BadgeChange, BadgeTier, NewBadge};
use serde::Serialize;
use serde_json::{Value, json};

use super::shape::{BADGE_TYPES, BadgeShape, badge};
use crate::error::{ApiError, Error, json_response};
use crate::params::Params;
use crate::state::State;
use crate::visitor::Visitor;

/// A badge as the admin API shows it: the public shape and the fields of
/// Discourse's badge engine (SQL queries, triggers), which Hearth's
/// badges — granted by hooks and plugins — don't have.
#[derive(Serialize)]
struct AdminBadge<'a> {
    #[serde(flatten)]
    core: BadgeShape<'a>,
    long_description: String,
    query: Option<()>,
    trigger: Option<()>,
    target_posts: bool,
    auto_revoke: bool,
    show_posts: bool,
    image_upload_id: Option<()>,
    show_in_post_header: bool,
}

fn admin_badge(b: &Badge, grants: i64) -> AdminBadge<'_> {
    AdminBadge {
        core: badge(b, usize::try_from(grants).unwrap_or(0)),
        long_description: String::new(),
        query: None,
        trigger: None,
        target_posts: false,
        auto_revoke: false,
        show_posts: true,
        image_upload_id: None,
        show_in_post_header: false,
    }
}

/// `GET /admin/badges.json` (`adminListBadges`). Admins only (the
/// badges themselves are public: `/user-badges/{username}.json`).
pub(crate) async fn list(AxState(state): AxState<State>, v: Visitor) -> Result<Response, ApiError> {
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            if !super::ctx(s, &v.actor)?.admin {
                return Err(Error::Engine(hearth::Error::Forbidden {
                    reason: "only admins manage badges".into(),
                }));
            }
            let counts = s.forum.badge_counts(&v.actor, c)?;
            let ids: Vec<i64> = counts.iter().map(|b| b.badge.id).collect();
            Ok(json!({
                "badges": counts.iter().map(|b| admin_badge(&b.badge, b.grants)).collect::<Vec<_>>(),
                "badge_types": BADGE_TYPES,
                "badge_groupings": [{
                    "id": 1, "name": "Community", "description": null, "position": 10, "system": true,
                }],
                "admin_badges": {
                    "protected_system_fields": [],
                    "triggers": {
                        "none": 0, "post_action": 1, "post_revision": 2,
                        "trust_level_change": 4, "user_change": 8,
                    },
                    "badge_ids": ids,
                    "badge_grouping_ids": [1],
                    "badge_type_ids": [1, 2, 3],
                },
            }))
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// `badge_type_id` as a tier.
fn tier(params: &Params) -> Result<Option<BadgeTier>, Error> {
    Ok(match params.int("badge_type_id")? {
        None => None,
        Some(1) => Some(BadgeTier::Gold),
        Some(2) => Some(BadgeTier::Silver),
        Some(3) => Some(BadgeTier::Bronze),
        Some(other) => {
            return Err(Error::BadRequest(format!(
                "badge_type_id {other}: 1 (gold), 2 (silver) or 3 (bronze)"
            )));
        }
    })
}

fn answer(b: &Badge, grants: i64) -> Value {
    json!({ "badge_types": BADGE_TYPES, "badge": admin_badge(b, grants) })
}

/// `POST /admin/badges.json` (`createBadge`): `name`, `badge_type_id`;
/// Hearth also keeps `description`, `icon` and `multiple_grant`. The slug
/// is made from the name (the engine's rule).
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, ApiError> {
    let actor = params.writer(&v)?;
    let name = params.need("name")?;
    let new = NewBadge {
        slug: String::new(),
        tier: tier(&params)?.ok_or_else(|| {
            Error::BadRequest("param is missing or the value is empty: badge_type_id".into())
        })?,
        description: params.str("description").unwrap_or_default(),
        icon: params.str("icon").unwrap_or_default(),
        multiple: params.bool("multiple_grant").unwrap_or(false),
        name,
    };
    let created = state
        .run(move |s| Ok(s.forum.create_badge(&actor, s.config.community, new)?))
        .await?;
    Ok(json_response(StatusCode::OK, &answer(&created, 0)))
}

/// `PUT /admin/badges/{id}.json` (`updateBadge`): what is sent of `name`,
/// `badge_type_id`, `description`, `icon` and `multiple_grant` changes.
pub(crate) async fn update(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let id = super::id_of(&id)?;
    let actor = params.writer(&v)?;
    let change = BadgeChange {
        name: params.str("name"),
        description: params.str("description"),
        icon: params.str("icon"),
        tier: tier(&params)?,
        multiple: params.bool("multiple_grant"),
    };
    let answer = state
        .run(move |s| {
            let c = s.config.community;
            let badge = s.forum.update_badge(&actor, c, id, &change)?;
            let grants = s
                .forum
                .badge_counts(&actor, c)?
                .into_iter()
                .find(|b| b.badge.id == id)
                .map_or(0, |b| b.grants);
            Ok(answer(&badge, grants))
        })
        .await?;
    Ok(json_response(StatusCode::OK, &answer))
}

/// `DELETE /admin/badges/{id}.json` (`deleteBadge`): the badge and every
/// grant of it.
pub(crate) async fn delete(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let id = super::id_of(&id)?;
    let actor = params.writer(&v)?;
    state
        .run(move |s| Ok(s.forum.delete_badge(&actor, s.config.community, id)?))
        .await?;
    super::success()
}
