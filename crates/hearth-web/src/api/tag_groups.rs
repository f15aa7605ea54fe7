//! Tag groups as Discourse's API manages them: `GET`/`POST
//! /tag_groups.json`, `GET`/`PUT /tag_groups/{id}.json`. Staff read them,
//! admins change them (the engine decides). Permissions map onto Hearth's
//! one rule: `{"everyone": 1}` anyone may use the tags, `{"everyone": 3,
//! "staff": 1}` members see them and staff put them on topics.

use axum::extract::{Path, State as AxState};
use hearth::{NewTagGroup, TagGroup};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::shape::TagShape;
use super::{ApiResult, id_of, ok};
use crate::error::Error;
use crate::params::Params;
use crate::state::State;
use crate::visitor::Visitor;

/// A tag group as `/tag_groups.json` and `POST` answer it.
#[derive(Serialize)]
struct GroupShape<'a> {
    id: i64,
    name: &'a str,
    tags: Vec<TagShape<'a>>,
    parent_tag: Vec<TagShape<'a>>,
    one_per_topic: bool,
    permissions: Map<String, Value>,
}

/// A tag group as `/tag_groups/{id}.json` and `PUT` answer it (names only).
#[derive(Serialize)]
struct GroupNames<'a> {
    id: i64,
    name: &'a str,
    tag_names: Vec<&'a str>,
    parent_tag_name: Vec<&'a str>,
    one_per_topic: bool,
    permissions: Map<String, Value>,
}

fn permissions(g: &TagGroup) -> Map<String, Value> {
    let mut m = Map::new();
    if g.staff_only {
        m.insert("everyone".into(), 3.into());
        m.insert("staff".into(), 1.into());
    } else {
        m.insert("everyone".into(), 1.into());
    }
    m
}

fn shape(g: &TagGroup) -> GroupShape<'_> {
    GroupShape {
        id: g.id,
        name: &g.name,
        tags: g
            .tags
            .iter()
            .map(|t| TagShape::new(t.id, &t.name))
            .collect(),
        // The parent is a tag outside the group: it has no place to number.
        parent_tag: g.parent_tag.iter().map(|p| TagShape::new(0, p)).collect(),
        one_per_topic: g.one_per_topic,
        permissions: permissions(g),
    }
}

fn names(g: &TagGroup) -> GroupNames<'_> {
    GroupNames {
        id: g.id,
        name: &g.name,
        tag_names: g.tags.iter().map(|t| t.name.as_str()).collect(),
        parent_tag_name: g.parent_tag.iter().map(String::as_str).collect(),
        one_per_topic: g.one_per_topic,
        permissions: permissions(g),
    }
}

/// `tag_group[key]` or `key`.
fn field<'a>(params: &'a Params, key: &str) -> Option<&'a Value> {
    params
        .get(&format!("tag_group.{key}"))
        .or_else(|| params.get(key))
}

fn strings(params: &Params, key: &str) -> Result<Vec<String>, Error> {
    Ok(match field(params, key) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| Error::BadRequest(format!("{key}: a list of tag names")))?,
        Some(_) => return Err(Error::BadRequest(format!("{key}: a list of tag names"))),
    })
}

/// Reads a request; `before` fills in what an update leaves out.
fn requested(params: &Params, before: Option<&TagGroup>) -> Result<NewTagGroup, Error> {
    let text = |key: &str| match field(params, key) {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let flag = |key: &str| match field(params, key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => Some(matches!(s.as_str(), "true" | "1" | "on")),
        _ => None,
    };
    let name = match (text("name"), before) {
        (Some(n), _) => n,
        (None, Some(b)) => b.name.clone(),
        (None, None) => {
            return Err(Error::BadRequest(
                "param is missing or the value is empty: name".into(),
            ));
        }
    };
    let tags = match (field(params, "tag_names"), before) {
        (None, Some(b)) => b.tags.iter().map(|t| t.name.clone()).collect(),
        _ => strings(params, "tag_names")?,
    };
    let parent_tag = match (field(params, "parent_tag_name"), before) {
        (None, Some(b)) => b.parent_tag.clone(),
        _ => {
            let mut p = strings(params, "parent_tag_name")?;
            if p.len() > 1 {
                return Err(Error::BadRequest("parent_tag_name: one tag at most".into()));
            }
            p.pop()
        }
    };
    let staff_only = match field(params, "permissions") {
        None | Some(Value::Null) => before.is_some_and(|b| b.staff_only),
        Some(Value::Object(p)) => {
            let level = |k: &str| {
                p.get(k)
                    .and_then(|v| v.as_i64().or_else(|| v.as_str()?.parse().ok()))
            };
            match (level("everyone"), level("staff")) {
                (Some(1), _) => false,
                (Some(3), Some(1) | None) => true,
                _ => {
                    return Err(Error::BadRequest(
                        "permissions: {\"everyone\": 1} (anyone tags) or {\"everyone\": 3, \"staff\": 1} (staff tag); Hearth shows every tag group's tags to everyone who may read the topic".into(),
                    ));
                }
            }
        }
        Some(_) => return Err(Error::BadRequest("permissions: an object".into())),
    };
    Ok(NewTagGroup {
        name,
        tags,
        parent_tag,
        one_per_topic: flag("one_per_topic")
            .unwrap_or_else(|| before.is_some_and(|b| b.one_per_topic)),
        staff_only,
    })
}

/// `GET /tag_groups.json` (`listTagGroups`).
pub(crate) async fn list(AxState(state): AxState<State>, v: Visitor) -> ApiResult {
    ok(state
        .run(move |s| {
            let groups = s.forum.tag_groups(&v.actor, s.config.community)?;
            Ok(json!({ "tag_groups": groups.iter().map(shape).collect::<Vec<_>>() }))
        })
        .await?)
}

/// `POST /tag_groups.json` (`createTagGroup`): `name`, `tag_names`,
/// `parent_tag_name`, `one_per_topic`, `permissions` (each also as
/// `tag_group[…]`).
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let new = requested(&params, None)?;
    ok(state
        .run(move |s| {
            let g = s.forum.create_tag_group(&actor, s.config.community, new)?;
            Ok(json!({ "tag_group": shape(&g) }))
        })
        .await?)
}

/// `GET /tag_groups/{id}.json` (`getTagGroup`).
pub(crate) async fn get(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
) -> ApiResult {
    let id = id_of(&id)?;
    ok(state
        .run(move |s| {
            let g = s.forum.tag_group(&v.actor, s.config.community, id)?;
            Ok(json!({ "tag_group": names(&g) }))
        })
        .await?)
}

/// `PUT /tag_groups/{id}.json` (`updateTagGroup`): what is sent changes,
/// the rest stays.
pub(crate) async fn update(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let id = id_of(&id)?;
    ok(state
        .run(move |s| {
            let c = s.config.community;
            let before = s.forum.tag_group(&actor, c, id)?;
            let new = requested(&params, Some(&before))?;
            let g = s.forum.update_tag_group(&actor, c, id, new)?;
            Ok(json!({ "success": "OK", "tag_group": names(&g) }))
        })
        .await?)
}

/// `DELETE /tag_groups/{id}.json` (Discourse answers it too, outside the
/// document).
pub(crate) async fn delete(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let id = id_of(&id)?;
    state
        .run(move |s| Ok(s.forum.delete_tag_group(&actor, s.config.community, id)?))
        .await?;
    super::success()
}
