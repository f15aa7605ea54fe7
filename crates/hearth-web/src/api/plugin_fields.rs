//! Plugins' API fields (`[[api-fields]]`) added to the Discourse-compatible
//! JSON of posts, topics and members: read in bulk from the plugins'
//! stores for the items an answer already holds (so only items the
//! visitor may read), never replacing a field the answer has.

use std::collections::BTreeMap;

use hearth_wasm::{FieldOn, FieldViewer};
use serde_json::{Map, Value};

use crate::api::shape::{Ctx, TopicListDoc};
use crate::error::Error;
use crate::state::AppState;

/// The plugins' fields of `on` for `ids` (items the visitor may read), by
/// item: `name → value` for each field the viewer may see.
fn of(
    s: &AppState,
    ctx: &Ctx,
    on: FieldOn,
    ids: &[i64],
) -> Result<BTreeMap<i64, Map<String, Value>>, Error> {
    let Some(host) = &s.plugins else {
        return Ok(BTreeMap::new());
    };
    let viewer = FieldViewer {
        user: ctx.viewer.map(|u| u.0),
        staff: ctx.staff,
    };
    Ok(host.api_fields(s.config.community, on, ids, viewer)?)
}

/// Adds the fields of `on` to each object in `items` (found by its `id`).
pub(crate) fn add(
    s: &AppState,
    ctx: &Ctx,
    on: FieldOn,
    items: &mut [&mut Value],
) -> Result<(), Error> {
    if s.plugins.is_none() {
        return Ok(());
    }
    let ids: Vec<i64> = items
        .iter()
        .filter_map(|v| v.get("id").and_then(Value::as_i64))
        .collect();
    let mut fields = of(s, ctx, on, &ids)?;
    for item in items.iter_mut() {
        let Some(id) = item.get("id").and_then(Value::as_i64) else {
            continue;
        };
        let (Some(extra), Some(object)) = (fields.remove(&id), item.as_object_mut()) else {
            continue;
        };
        for (name, value) in extra {
            object.entry(name).or_insert(value);
        }
    }
    Ok(())
}

/// Adds topic fields to every topic of a topic list (`/latest.json`, the
/// category, tag and top lists).
pub(crate) fn add_to_topic_list(
    s: &AppState,
    ctx: &Ctx,
    list: &mut TopicListDoc<'_>,
) -> Result<(), Error> {
    if s.plugins.is_none() {
        return Ok(());
    }
    let topics = &mut list.topic_list.topics;
    let ids: Vec<i64> = topics.iter().map(|t| t.id()).collect();
    let mut fields = of(s, ctx, FieldOn::Topic, &ids)?;
    for t in topics.iter_mut() {
        if let Some(extra) = fields.remove(&t.id()) {
            t.add_fields(extra);
        }
    }
    Ok(())
}

/// Adds post fields to every post of a topic's `post_stream`, and topic
/// fields to the topic itself (when it is there).
pub(crate) fn add_to_topic(s: &AppState, ctx: &Ctx, topic: &mut Value) -> Result<(), Error> {
    if s.plugins.is_none() {
        return Ok(());
    }
    if let Some(posts) = topic
        .pointer_mut("/post_stream/posts")
        .and_then(Value::as_array_mut)
    {
        let mut posts: Vec<&mut Value> = posts.iter_mut().collect();
        add(s, ctx, FieldOn::Post, &mut posts)?;
    }
    if topic.get("title").is_some() {
        add(s, ctx, FieldOn::Topic, &mut [topic])?;
    }
    Ok(())
}
