//! Plugins' API fields (`[[api-fields]]`) added to the Discourse-compatible
//! JSON of posts, topics and members: read in bulk from the plugins'
//! stores for the items an answer already holds (so only items the
//! visitor may read), never replacing a field the answer has.

use hearth_wasm::{FieldOn, FieldViewer};
use serde_json::Value;

use crate::api::shape::Ctx;
use crate::error::Error;
use crate::state::AppState;

/// Adds the fields of `on` to each object in `items` (found by its `id`).
pub(crate) fn add(
    s: &AppState,
    ctx: &Ctx,
    on: FieldOn,
    items: &mut [&mut Value],
) -> Result<(), Error> {
    let Some(host) = &s.plugins else {
        return Ok(());
    };
    let ids: Vec<i64> = items
        .iter()
        .filter_map(|v| v.get("id").and_then(Value::as_i64))
        .collect();
    let viewer = FieldViewer {
        user: ctx.viewer.map(|u| u.0),
        staff: ctx.staff,
    };
    let mut fields = host.api_fields(s.config.community, on, &ids, viewer)?;
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

/// Adds topic fields to every topic of a topic list (`topic_list.topics`,
/// as `/latest.json` and the category, tag and top lists answer).
pub(crate) fn add_to_topic_list(s: &AppState, ctx: &Ctx, list: &mut Value) -> Result<(), Error> {
    if s.plugins.is_none() {
        return Ok(());
    }
    if let Some(topics) = list
        .pointer_mut("/topic_list/topics")
        .and_then(Value::as_array_mut)
    {
        let mut topics: Vec<&mut Value> = topics.iter_mut().collect();
        add(s, ctx, FieldOn::Topic, &mut topics)?;
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
