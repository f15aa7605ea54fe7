//! The JSON API, compatible with Discourse's for the endpoints its clients
//! use most. Every handler reads and writes through the engine as the
//! visitor, so permissions are the engine's.

pub(crate) mod admin_users;
pub(crate) mod backups;
pub(crate) mod badges;
pub(crate) mod category;
pub(crate) mod groups;
pub(crate) mod html;
pub(crate) mod invites;
pub(crate) mod messages;
pub(crate) mod plugin_fields;
pub(crate) mod preferences;
pub(crate) mod sanctions;
pub(crate) mod shape;
pub(crate) mod site;
pub(crate) mod tag_groups;
pub(crate) mod topic_tools;
pub(crate) mod uploads;
pub(crate) mod user_actions;

use axum::Extension;
use axum::extract::{Path, State as AxState};
use axum::response::{IntoResponse, Response};
use hearth::{
    Actor, CategoryId, DirectoryOrder, FlagKind, NewReply, NewTopic, PageRequest, Period, Post,
    PostEdit, PostId, RegistrationMode, SearchQuery, TopicFilter, TopicId,
};
use serde_json::{Value, json};

use crate::auth;
use crate::error::{ApiError, Error};
use crate::idempotency::RequestKey;
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::{Via, Visitor};
use shape::Ctx;

pub(crate) type ApiResult = Result<Response, ApiError>;

pub(crate) fn ok(v: Value) -> ApiResult {
    Ok(written(&v))
}

/// Discourse's answer to a write with nothing else to say:
/// `{"success": "OK"}`.
pub(crate) fn success() -> ApiResult {
    ok(json!({ "success": "OK" }))
}

/// `"12.json"` → 12; anything else is not found.
pub(crate) fn id_of(segment: &str) -> Result<i64, Error> {
    segment
        .strip_suffix(".json")
        .unwrap_or(segment)
        .parse()
        .map_err(|_| Error::Engine(hearth::Error::NotFound { what: "page" }))
}

pub(crate) fn name_of(segment: &str) -> &str {
    segment.strip_suffix(".json").unwrap_or(segment)
}

/// The viewer as the shapes need it.
pub(crate) fn ctx(s: &AppState, actor: &Actor) -> Result<Ctx, Error> {
    let base = s.config.base_path.clone();
    Ok(match actor {
        Actor::User(u) => {
            let role = match s.forum.member(actor, s.config.community, *u) {
                Ok(m) => Some(m.role),
                Err(hearth::Error::NotFound { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            user_ctx(s, *u, role)
        }
        Actor::System => Ctx {
            viewer: None,
            staff: true,
            admin: true,
            base,
        },
        _ => Ctx {
            viewer: None,
            staff: false,
            admin: false,
            base,
        },
    })
}

/// The [`Ctx`] of a signed-in user whose role in the community (if any)
/// the caller has already read.
pub(crate) fn user_ctx(s: &AppState, user: hearth::UserId, role: Option<hearth::Role>) -> Ctx {
    Ctx {
        viewer: Some(user),
        staff: role.is_some_and(hearth::Role::is_moderator),
        admin: matches!(role, Some(hearth::Role::Owner | hearth::Role::Admin)),
        base: s.config.base_path.clone(),
    }
}

/// The page a list request asks for: a `cursor`, or Discourse's numbered
/// `page` (followed cursor by cursor, at most 100 pages deep).
pub(crate) fn page_request<T>(
    params: &Params,
    limit: u32,
    mut fetch: impl FnMut(&PageRequest) -> Result<hearth::Page<T>, Error>,
) -> Result<(hearth::Page<T>, u32), Error> {
    if let Some(c) = params.str("cursor") {
        let page = fetch(&PageRequest::after(hearth::Cursor(c), limit))?;
        return Ok((page, 0));
    }
    let n = params.int("page")?.unwrap_or(0).clamp(0, 100) as u32;
    let mut req = PageRequest::first(limit);
    for _ in 0..n {
        match fetch(&req)?.next {
            Some(c) => req = PageRequest::after(c, limit),
            None => {
                return Ok((
                    hearth::Page {
                        items: Vec::new(),
                        next: None,
                    },
                    n,
                ));
            }
        }
    }
    Ok((fetch(&req)?, n))
}

/// A latest, category or tag list, written out on the engine's thread
/// (`tags`: what a tag's list says about the tag).
fn topic_list_response(
    s: &AppState,
    actor: Actor,
    params: &Params,
    filter: TopicFilter,
    path: &str,
    tags: Option<Value>,
) -> Result<Response, Error> {
    let category = filter.category.is_some();
    let c = s.config.community;
    let (page, n) = page_request(params, 30, |req| {
        Ok(s.forum.latest(&actor, c, &filter, req)?)
    })?;
    let ctx = ctx(s, &actor)?;
    let more = page
        .next
        .as_ref()
        .map(|_| format!("{}{path}?page={}", s.config.base_path, n + 1));
    let mut list = shape::topic_list(
        &ctx,
        &page.items,
        !matches!(actor, Actor::Guest),
        more,
        category,
    );
    list.topic_list.tags = tags;
    plugin_fields::add_to_topic_list(s, &ctx, &mut list)?;
    Ok(written(&list))
}

/// A 200 JSON answer written where it was built (on the engine's thread,
/// so the async workers only send bytes).
pub(crate) fn written(shape: &impl serde::Serialize) -> Response {
    crate::error::json_response(axum::http::StatusCode::OK, shape)
}

/// `GET /latest.json`.
pub(crate) async fn latest(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    let filter = TopicFilter {
        tag: params.str("tags").or(params.str("tag")),
        ..Default::default()
    };
    Ok(state
        .read(move |s| topic_list_response(s, v.actor, &params, filter, "/latest", None))
        .await?)
}

/// `GET /top.json` (`listTopTopics`): the most active topics started in
/// `period` (`daily`, `weekly`, `monthly`, `quarterly`, `yearly` — the
/// default, as Discourse's — or `all`), `per_page` (1 to 100, default 30)
/// from `page` (from 0), as the latest list shows topics.
pub(crate) async fn top(AxState(state): AxState<State>, v: Visitor, params: Params) -> ApiResult {
    let period = match params.str("period").as_deref() {
        None | Some("") => hearth::TopPeriod::Yearly,
        Some(p) => hearth::TopPeriod::parse(p).ok_or_else(|| {
            Error::BadRequest(format!(
                "period {p:?}: daily, weekly, monthly, quarterly, yearly or all"
            ))
        })?,
    };
    let per_page = params.int("per_page")?.unwrap_or(30);
    if !(1..=hearth::MAX_TOP_TOPICS as i64).contains(&per_page) {
        return Err(Error::BadRequest(format!(
            "per_page {per_page}: 1 to {}",
            hearth::MAX_TOP_TOPICS
        ))
        .into());
    }
    let per_page = per_page as usize;
    let page = usize::try_from(params.int("page")?.unwrap_or(0).max(0)).unwrap_or(0);
    Ok(state
        .run(move |s| {
            let c = s.config.community;
            let mut topics = s.forum.top_topics(
                &v.actor,
                c,
                period,
                page.saturating_mul(per_page),
                per_page + 1,
            )?;
            let more = (topics.len() > per_page).then(|| {
                format!(
                    "{}/top.json?period={}&page={}&per_page={per_page}",
                    s.config.base_path,
                    period.as_str(),
                    page + 1
                )
            });
            topics.truncate(per_page);
            let ctx = ctx(s, &v.actor)?;
            let mut list =
                shape::topic_list(&ctx, &topics, !matches!(v.actor, Actor::Guest), more, false);
            list.topic_list.for_period = Some(period.as_str());
            list.topic_list.unpinned_as_booleans();
            list.topic_list.per_page = per_page;
            plugin_fields::add_to_topic_list(s, &ctx, &mut list)?;
            Ok(written(&list))
        })
        .await?)
}

/// `GET /tags.json`: the tags of the topics the visitor may see, most
/// used first (Discourse's `listTags`).
pub(crate) async fn tags(AxState(state): AxState<State>, v: Visitor) -> ApiResult {
    Ok(state
        .read(move |s| {
            let tags = s
                .forum
                .tags(&v.actor, s.config.community, hearth::MAX_TAGS)?;
            Ok(written(&TagList {
                tags: tags
                    .iter()
                    .map(|t| TagListItem {
                        id: t.id,
                        text: &t.name,
                        name: &t.name,
                        count: t.topic_count,
                        pm_count: 0,
                        target_tag: None,
                    })
                    .collect(),
                extras: TagListExtras { categories: [] },
            }))
        })
        .await?)
}

/// `/tags.json`'s document.
#[derive(serde::Serialize)]
struct TagList<'a> {
    tags: Vec<TagListItem<'a>>,
    extras: TagListExtras,
}

/// A tag with the number of topics the visitor may see with it.
#[derive(serde::Serialize)]
struct TagListItem<'a> {
    id: i64,
    text: &'a str,
    name: &'a str,
    count: i64,
    /// Hearth's conversations are not tagged.
    pm_count: u8,
    /// Hearth has no synonyms.
    target_tag: shape::Null,
}

#[derive(serde::Serialize)]
struct TagListExtras {
    categories: [u8; 0],
}

/// `GET /tag/{name}.json`: the latest topics with that tag (Discourse's
/// `getTag`).
pub(crate) async fn tag_topics(
    state: State,
    v: Visitor,
    name: String,
    params: Params,
) -> ApiResult {
    Ok(state
        .run(move |s| {
            let filter = TopicFilter {
                tag: Some(name.clone()),
                ..Default::default()
            };
            // The document's `getTag` also names the tag itself.
            let tag = s
                .forum
                .tags(&v.actor, s.config.community, hearth::MAX_TAGS)?
                .into_iter()
                .find(|t| t.name == name);
            // A tag the visitor sees on no topic has no number to show.
            let tags = match tag {
                Some(t) => json!([{ "id": t.id, "name": name, "topic_count": t.topic_count, "staff": false }]),
                None => json!([{ "name": name, "topic_count": 0, "staff": false }]),
            };
            let path = format!("/tag/{name}");
            topic_list_response(s, v.actor, &params, filter, &path, Some(tags))
        })
        .await?)
}

/// `GET /c/{slug}/{id}.json` (and `/c/{id}.json`).
pub(crate) async fn category_topics(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((_slug, id)): Path<(String, String)>,
    params: Params,
) -> ApiResult {
    let id = CategoryId(id_of(&id)?);
    Ok(state
        .read(move |s| {
            // Not found (not an empty list) for a category the visitor may
            // not read.
            let cat = s.forum.category(&v.actor, s.config.community, id)?;
            let filter = TopicFilter {
                category: Some(id),
                ..Default::default()
            };
            let path = format!("/c/{}/{}", cat.slug, id.0);
            topic_list_response(s, v.actor, &params, filter, &path, None)
        })
        .await?)
}

/// `GET /categories.json`.
pub(crate) async fn categories(AxState(state): AxState<State>, v: Visitor) -> ApiResult {
    ok(state
        .read(move |s| {
            let cats = s.forum.categories(&v.actor, s.config.community)?;
            let ctx = ctx(s, &v.actor)?;
            Ok(json!({
                "category_list": {
                    "can_create_category": ctx.staff,
                    "can_create_topic": ctx.viewer.is_some(),
                    "categories": cats.iter().map(|c| {
                        let children = cats.iter().filter(|x| x.parent == Some(c.id)).map(|x| x.id.0).collect();
                        shape::category(&ctx, c, children)
                    }).collect::<Vec<_>>(),
                }
            }))
        })
        .await?)
}

/// The posts of a topic in order (up to `MAX_POSTS`), as the visitor sees
/// them.
const MAX_POSTS: usize = 1000;

pub(crate) fn topic_json(
    s: &AppState,
    actor: &Actor,
    id: TopicId,
    posts_only: bool,
) -> Result<Value, Error> {
    let c = s.config.community;
    let mut view = s.forum.topic(actor, c, id, &PageRequest::first(100))?;
    let mut posts = std::mem::take(&mut view.posts.items);
    let mut next = view.posts.next.take();
    while let Some(cursor) = next.take() {
        if posts.len() >= MAX_POSTS {
            break;
        }
        let more = s
            .forum
            .topic(actor, c, id, &PageRequest::after(cursor, 100))?
            .posts;
        posts.extend(more.items);
        next = more.next;
    }
    let ctx = ctx(s, actor)?;
    let links = s.forum.topic_links(actor, c, id)?;
    let shape = shape::topic_view(&ctx, &view, &posts, &links);
    let mut value = if posts_only {
        json!({ "post_stream": shape.post_stream, "id": shape.id })
    } else {
        serde_json::to_value(shape).map_err(|e| Error::Internal(e.to_string()))?
    };
    plugin_fields::add_to_topic(s, &ctx, &mut value)?;
    Ok(value)
}

/// `GET /t/{id}.json`, `/t/{slug}/{id}.json`, `/t/{id}/posts.json`.
pub(crate) async fn topic(state: State, v: Visitor, id: TopicId, posts_only: bool) -> ApiResult {
    let value = state
        .read(move |s| {
            let value = topic_json(s, &v.actor, id, posts_only)?;
            if !matches!(v.actor, Actor::System) {
                s.count_view(v.actor, id);
            }
            Ok(value)
        })
        .await;
    let value = match value {
        Err(Error::Engine(hearth::Error::Moved { topic })) => {
            let to = format!("{}/t/{}.json", state.config.base_path, topic.0);
            return Ok(axum::response::Redirect::permanent(&to).into_response());
        }
        other => other?,
    };
    let mut res = ok(value)?;
    res.extensions_mut()
        .insert(crate::read_cache::ViewedTopic(id));
    Ok(res)
}

fn post_json(s: &AppState, actor: &Actor, post: &Post) -> Result<Value, Error> {
    let topic = s.forum.topic_only(actor, s.config.community, post.topic)?;
    let ctx = ctx(s, actor)?;
    let mut value = shape::post(&ctx, post, &topic);
    plugin_fields::add(s, &ctx, hearth_wasm::FieldOn::Post, &mut [&mut value])?;
    Ok(value)
}

/// `GET /posts/{id}.json`.
pub(crate) async fn get_post(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
) -> ApiResult {
    let id = PostId(id_of(&id)?);
    ok(state
        .read(move |s| {
            let post = s.forum.post(&v.actor, s.config.community, id)?;
            post_json(s, &v.actor, &post)
        })
        .await?)
}

/// `GET /posts.json` (`listPosts`): the community's newest posts the
/// visitor may read, `before` a post id, at most
/// [`hearth::MAX_LATEST_POSTS`].
pub(crate) async fn latest_posts(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    let before = params.int("before")?.map(PostId);
    ok(state
        .read(move |s| {
            let c = s.config.community;
            let posts = s
                .forum
                .latest_posts(&v.actor, c, before, hearth::MAX_LATEST_POSTS)?;
            let ctx = ctx(s, &v.actor)?;
            let mut topics: std::collections::HashMap<TopicId, hearth::Topic> =
                std::collections::HashMap::new();
            let mut out = Vec::with_capacity(posts.len());
            for p in &posts {
                let t = match topics.entry(p.topic) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        e.insert(s.forum.topic_only(&v.actor, c, p.topic)?)
                    }
                };
                out.push(shape::latest_post(&ctx, p, t));
            }
            Ok(json!({ "latest_posts": out }))
        })
        .await?)
}

/// `GET /posts/{id}/replies.json`: the post's direct replies, in order
/// (Discourse's `postReplies`; at most [`hearth::MAX_REPLIES`]).
pub(crate) async fn post_replies(
    AxState(state): AxState<State>,
    v: Visitor,
    Path((id, rest)): Path<(String, String)>,
) -> ApiResult {
    if rest != "replies.json" && rest != "replies" {
        return Err(ApiError(Error::Engine(hearth::Error::NotFound {
            what: "page",
        })));
    }
    let id = PostId(id_of(&id)?);
    ok(state
        .run(move |s| {
            let c = s.config.community;
            let replies = s.forum.replies(&v.actor, c, id)?;
            if replies.is_empty() {
                return Ok(Value::Array(Vec::new()));
            }
            let parent = s.forum.post(&v.actor, c, id)?;
            let topic = s.forum.topic_only(&v.actor, c, parent.topic)?;
            let ctx = ctx(s, &v.actor)?;
            Ok(Value::Array(
                replies
                    .iter()
                    .map(|p| shape::reply(&ctx, p, &parent, &topic))
                    .collect(),
            ))
        })
        .await?)
}

fn tags_of(params: &Params) -> Vec<String> {
    match params.get("tags") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => s
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// The post with `number` in a topic (for `reply_to_post_number`).
fn post_by_number(
    s: &AppState,
    actor: &Actor,
    topic: TopicId,
    number: i64,
) -> Result<PostId, Error> {
    let c = s.config.community;
    let mut req = PageRequest::first(100);
    loop {
        let view = s.forum.topic(actor, c, topic, &req)?;
        if let Some(p) = view.posts.items.iter().find(|p| p.post_number == number) {
            return Ok(p.id);
        }
        match view.posts.next {
            Some(cur)
                if view
                    .posts
                    .items
                    .last()
                    .is_some_and(|p| p.post_number < number) =>
            {
                req = PageRequest::after(cur, 100)
            }
            _ => {
                return Err(hearth::Error::Invalid {
                    field: "reply_to_post_number",
                    problem: hearth::Problem::Other,
                    reason: format!("names no post of this topic (there is no post {number})"),
                }
                .into());
            }
        }
    }
}

/// `POST /posts.json`: a new topic (`title`, `raw`, `category`, optional
/// `tags` and `external_id`) or a reply
/// (`topic_id`, `raw`, optional `reply_to_post_number`).
pub(crate) async fn create_post(
    AxState(state): AxState<State>,
    v: Visitor,
    key: Option<Extension<RequestKey>>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let raw = params.need("raw")?;
    let key = key.map(|Extension(RequestKey(k))| k);
    let result = state
        .run(move |s| {
            let c = s.config.community;
            let private = params.str("archetype").as_deref() == Some("private_message");
            if private && params.int("topic_id")?.is_none() {
                let post = messages::send(s, &actor, &params, raw.clone())?;
                return post_json(s, &actor, &post);
            }
            let created = if let Some(topic) = params.int("topic_id")? {
                let topic = TopicId(topic);
                let reply_to = match params.int("reply_to_post_number")? {
                    Some(n) => Some(post_by_number(s, &actor, topic, n)?),
                    None => None,
                };
                let new = NewReply {
                    body: raw.clone(),
                    reply_to,
                };
                match &key {
                    Some(k) => s.forum.reply_once(&actor, c, topic, new, k),
                    None => s.forum.reply(&actor, c, topic, new),
                }
            } else {
                let title = params.need("title")?;
                let category = match params.int("category")? {
                    Some(id) => CategoryId(id),
                    None => {
                        return Err(Error::BadRequest(
                            "param is missing or the value is empty: category".into(),
                        ));
                    }
                };
                let new = NewTopic {
                    category,
                    title,
                    body: raw.clone(),
                    tags: tags_of(&params),
                };
                // An `external_id` makes the topic once by itself.
                match (params.str("external_id").filter(|e| !e.is_empty()), &key) {
                    (Some(ext), _) => s.forum.create_external_topic(&actor, c, new, &ext),
                    (None, Some(k)) => s.forum.create_topic_once(&actor, c, new, k),
                    (None, None) => s.forum.create_topic(&actor, c, new),
                }
                .map(|(_, first)| first)
            };
            match created {
                Ok(post) => Ok(post_json(s, &actor, &post)?),
                Err(hearth::Error::PendingReview { review, reason }) => Ok(json!({
                    "success": true,
                    "action": "enqueued",
                    "pending_post": { "id": review.0, "raw": raw },
                    "pending_count": 1,
                    "reason": reason,
                })),
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    ok(result)
}

/// `PUT /posts/{id}.json`: `post[raw]`, `post[edit_reason]`; the edit is
/// refused with 409 if the post changed since the client read it — known
/// from `post[original_text]` (what Discourse's composer sends), or the
/// `post[version]` it was based on (or an `If-Match` header).
pub(crate) async fn update_post(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let id = PostId(id_of(&id)?);
    let raw = params
        .str("post.raw")
        .or_else(|| params.str("raw"))
        .ok_or_else(|| {
            Error::BadRequest("param is missing or the value is empty: post[raw]".into())
        })?;
    let if_match = headers
        .get(axum::http::header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.trim_matches('"').parse::<i64>().ok());
    let value = state
        .run(move |s| {
            let c = s.config.community;
            let mut base_version = match params.int("post.version")? {
                Some(v) => Some(v),
                None => if_match,
            };
            if let Some(original) = params.str("post.original_text") {
                let current = s.forum.post(&actor, c, id)?;
                if current.source != original {
                    return Err(hearth::Error::Conflict {
                        reason: "this post was edited by someone else while you were editing; \
                                 reload it and apply your change again"
                            .into(),
                    }
                    .into());
                }
                base_version = base_version.or(Some(current.version));
            }
            let post = s.forum.edit_post(
                &actor,
                c,
                id,
                PostEdit {
                    body: raw,
                    title: params.str("post.title").or_else(|| params.str("title")),
                    reason: params.str("post.edit_reason"),
                    base_version,
                },
            )?;
            Ok(json!({ "post": post_json(s, &actor, &post)? }))
        })
        .await?;
    ok(value)
}

/// `DELETE /posts/{id}.json`.
pub(crate) async fn delete_post(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let id = PostId(id_of(&id)?);
    state
        .run(move |s| Ok(s.forum.delete_post(&actor, s.config.community, id)?))
        .await?;
    success()
}

/// A topic's first post, as `actor` sees the topic.
fn first_post(s: &AppState, actor: &Actor, topic: TopicId) -> Result<PostId, Error> {
    let view = s
        .forum
        .topic(actor, s.config.community, topic, &PageRequest::first(1))?;
    view.posts
        .items
        .first()
        .map(|p| p.id)
        .ok_or(Error::Engine(hearth::Error::NotFound { what: "post" }))
}

/// `PUT /t/-/{id}.json` (`updateTopic`): `topic[title]` and/or
/// `topic[category_id]` (also taken unnested), with the engine's rules on
/// who may retitle or move what.
pub(crate) async fn update_topic(
    state: State,
    v: Visitor,
    id: TopicId,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let title = params.str("topic.title").or_else(|| params.str("title"));
    let category = match params.int("topic.category_id")? {
        Some(c) => Some(c),
        None => params.int("category_id")?,
    }
    .map(CategoryId);
    if title.is_none() && category.is_none() {
        return Err(Error::BadRequest(
            "nothing to change: send topic[title] and/or topic[category_id]".into(),
        )
        .into());
    }
    let value = state
        .run(move |s| {
            let update = hearth::TopicUpdate {
                title,
                category,
                tags: None,
            };
            let t = s
                .forum
                .update_topic(&actor, s.config.community, id, update, None)?;
            Ok(json!({
                "basic_topic": {
                    "id": t.id.0,
                    "title": t.title,
                    "fancy_title": html::SafeHtml::escape(&t.title),
                    "slug": t.slug,
                    "posts_count": t.post_count,
                }
            }))
        })
        .await?;
    ok(value)
}

/// `PUT /t/{id}/bookmark.json` (`bookmarkTopic`): bookmarks the topic's
/// first post for the member.
pub(crate) async fn bookmark_topic(
    state: State,
    v: Visitor,
    id: TopicId,
    params: Params,
) -> ApiResult {
    on_first_post(state, v, id, params, hearth::Forum::bookmark).await
}

/// `DELETE /t/{id}.json` (`removeTopic`): deletes the topic (its first
/// post, which takes the topic with it), as the author or a moderator.
pub(crate) async fn remove_topic(
    state: State,
    v: Visitor,
    id: TopicId,
    params: Params,
) -> ApiResult {
    on_first_post(state, v, id, params, hearth::Forum::delete_post).await
}

/// Runs `act` on a topic's first post as the writer of the request.
async fn on_first_post(
    state: State,
    v: Visitor,
    id: TopicId,
    params: Params,
    act: fn(&hearth::Forum, &Actor, hearth::CommunityId, PostId) -> hearth::Result<()>,
) -> ApiResult {
    let actor = params.writer(&v)?;
    state
        .run(move |s| {
            let post = first_post(s, &actor, id)?;
            Ok(act(&s.forum, &actor, s.config.community, post)?)
        })
        .await?;
    success()
}

/// `POST /post_actions.json`: `id` (the post) and `post_action_type_id`
/// (2 like; 3 off topic, 4 inappropriate, 7 notify moderators, 8 spam).
pub(crate) async fn post_action(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let id =
        PostId(params.int("id")?.ok_or_else(|| {
            Error::BadRequest("param is missing or the value is empty: id".into())
        })?);
    let kind = params.int("post_action_type_id")?.unwrap_or(2);
    let message = params.str("message").unwrap_or_default();
    let value = state
        .run(move |s| {
            let c = s.config.community;
            let flag = match kind {
                2 => None,
                3 => Some(FlagKind::OffTopic),
                4 => Some(FlagKind::Inappropriate),
                7 => Some(FlagKind::NeedsModerator),
                8 => Some(FlagKind::Spam),
                _ => {
                    return Err(Error::BadRequest(format!(
                        "post_action_type_id {kind} is not supported (2 like, 3, 4, 7, 8 flags)"
                    )));
                }
            };
            match flag {
                None => s.forum.like(&actor, c, id)?,
                Some(f) => {
                    s.forum.flag_post(&actor, c, id, f, &message)?;
                }
            }
            let post = s.forum.post(&actor, c, id)?;
            post_json(s, &actor, &post)
        })
        .await?;
    ok(value)
}

/// `DELETE /post_actions/{id}.json?post_action_type_id=2`: unlike.
pub(crate) async fn undo_post_action(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    let id = PostId(id_of(&id)?);
    if params.int("post_action_type_id")?.unwrap_or(2) != 2 {
        return Err(Error::BadRequest("only likes (type 2) can be undone".into()).into());
    }
    let value = state
        .run(move |s| {
            s.forum.unlike(&actor, s.config.community, id)?;
            let post = s.forum.post(&actor, s.config.community, id)?;
            post_json(s, &actor, &post)
        })
        .await?;
    ok(value)
}

/// Discourse's search syntax, as far as Hearth has filters for it:
/// `@user`, `#category-slug` / `category:slug`, `tags:x`,
/// `status:solved|unsolved`, `in:messages` (also `in:personal`): the
/// member's own private messages.
pub(crate) fn parse_search(s: &AppState, actor: &Actor, q: &str) -> Result<SearchQuery, Error> {
    let mut words = Vec::new();
    let mut query = SearchQuery::new("");
    for w in q.split_whitespace() {
        if let Some(user) = w.strip_prefix('@') {
            query.author = Some(user.to_string());
        } else if let Some(slug) = w.strip_prefix('#').or_else(|| w.strip_prefix("category:")) {
            let cat = s.forum.category_by_slug(actor, s.config.community, slug)?;
            query.category = Some(cat.id);
        } else if let Some(tag) = w.strip_prefix("tags:").or_else(|| w.strip_prefix("tag:")) {
            query.tag = Some(tag.to_string());
        } else if matches!(w, "in:messages" | "in:personal" | "in:personal-direct") {
            query.messages = true;
        } else if w == "status:solved" {
            query.solved = Some(true);
        } else if w == "status:unsolved" {
            query.solved = Some(false);
        } else {
            words.push(w);
        }
    }
    query.text = words.join(" ");
    Ok(query)
}

/// `GET /search.json?q=…` (also `/search/query.json?term=…`).
pub(crate) async fn search(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    let term = params
        .str("q")
        .or_else(|| params.str("term"))
        .unwrap_or_default();
    Ok(state
        .read(move |s| {
            let mut query = parse_search(s, &v.actor, &term)?;
            query.page = PageRequest::first(50);
            let results = s.forum.search(&v.actor, s.config.community, &query)?;
            let ctx = ctx(s, &v.actor)?;
            Ok(written(&shape::search(
                &ctx,
                &term,
                &results.hits,
                results.next.is_some(),
            )))
        })
        .await?)
}

pub(crate) fn profile(
    s: &AppState,
    actor: &Actor,
    username: &str,
) -> Result<shape::Profile, Error> {
    let c = s.config.community;
    let member = s.forum.member_by_username(actor, c, username)?;
    let stats = s.forum.directory_entry(actor, c, member.user.id)?;
    let grants = s.forum.member_badges(actor, c, member.user.id)?;
    let points = s.forum.points(actor, c, member.user.id, Period::AllTime)?;
    let ctx = ctx(s, actor)?;
    let email = if ctx.viewer == Some(member.user.id) || ctx.staff {
        s.forum.login_of(member.user.id)?.map(|l| l.email)
    } else {
        None
    };
    Ok(shape::Profile {
        role: member.role,
        trust_level: member.trust_level.number(),
        joined_at: member.joined_at,
        grants,
        points,
        post_count: stats.post_count,
        topic_count: stats.topic_count,
        likes_received: stats.likes_received,
        likes_given: stats.likes_given,
        email,
        bio_html: s.forum.render_bio(actor, c, &member.user.bio)?,
        fields: s.forum.member_fields(actor, c, member.user.id)?,
        watches: if ctx.viewer == Some(member.user.id) {
            s.forum.category_watches(actor, c)?
        } else {
            Vec::new()
        },
        blocked: if ctx.viewer == Some(member.user.id) {
            s.forum
                .message_blocks(actor)?
                .into_iter()
                .map(|u| u.username)
                .collect()
        } else {
            Vec::new()
        },
        user: member.user,
    })
}

/// `GET /u/{username}.json` (and `/users/{username}.json`).
pub(crate) async fn user(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
) -> ApiResult {
    let username = name_of(&username).to_string();
    let value = state
        .read(move |s| {
            let p = profile(s, &v.actor, &username)?;
            let ctx = ctx(s, &v.actor)?;
            let mut value = shape::user(&ctx, &p);
            if let Some(user) = value.get_mut("user") {
                plugin_fields::add(s, &ctx, hearth_wasm::FieldOn::User, &mut [user])?;
            }
            Ok(value)
        })
        .await?;
    ok(value)
}

/// `PUT /u/{username}.json` (`updateUser`): `name`, and Hearth's `bio_raw`
/// and `avatar_url`. A member edits their own profile (accounts are shared
/// by every community on the forum, so no community's admin edits them);
/// `external_ids` are the product's to set, through single sign-on.
pub(crate) async fn update_user(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
    params: Params,
) -> ApiResult {
    let actor = params.writer(&v)?;
    if params.get("external_ids").is_some() {
        return Err(Error::BadRequest(
            "external_ids: linked by the product's single sign-on (DiscourseConnect), not set here"
                .into(),
        )
        .into());
    }
    let update = hearth::ProfileUpdate {
        display_name: params.str("name"),
        bio: params.str("bio_raw"),
        avatar_url: params.str("avatar_url"),
        website: params.str("website"),
        location: params.str("location"),
    };
    let username = name_of(&username).to_string();
    let value = state
        .run(move |s| {
            let user = s.forum.user_by_username(&username)?;
            s.forum.update_profile(&actor, user.id, update)?;
            let p = profile(s, &actor, &user.username)?;
            let shown = shape::user(&ctx(s, &actor)?, &p);
            Ok(json!({ "success": "OK", "user": shown["user"] }))
        })
        .await?;
    ok(value)
}

/// `/u/{username}/emails.json`'s document: Hearth keeps one address.
#[derive(serde::Serialize)]
struct Emails {
    email: String,
    secondary_emails: [u8; 0],
    unconfirmed_emails: [u8; 0],
    associated_accounts: [u8; 0],
}

/// `GET /u/{username}/emails.json` (`getUserEmails`): the member's own
/// address, to themselves and to admins.
pub(crate) async fn user_emails(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
) -> ApiResult {
    Ok(state
        .run(move |s| {
            let member = s
                .forum
                .member_by_username(&v.actor, s.config.community, &username)?;
            let ctx = ctx(s, &v.actor)?;
            if !(ctx.admin || ctx.viewer == Some(member.user.id)) {
                return Err(Error::Engine(hearth::Error::Forbidden {
                    reason: "only the member and admins see a member's e-mail address".into(),
                }));
            }
            let email = s
                .forum
                .login_of(member.user.id)?
                .map(|l| l.email)
                .ok_or(Error::Engine(hearth::Error::NotFound {
                    what: "e-mail address",
                }))?;
            Ok(written(&Emails {
                email,
                secondary_emails: [],
                unconfirmed_emails: [],
                associated_accounts: [],
            }))
        })
        .await?)
}

/// `GET /u/by-external/{external_id}.json` (`getUserExternalId`: the
/// DiscourseConnect id) and `/u/by-external/{provider}/{external_id}.json`
/// (`getUserIdentiyProviderExternalId`): the member as `/u/{username}.json`
/// shows them. Staff only: a product's ids are not the public's to map to
/// members.
pub(crate) async fn user_by_external(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(parts): Path<Vec<String>>,
) -> ApiResult {
    let (provider, id) = match parts.as_slice() {
        [id] => (
            crate::sso::DISCOURSE_CONNECT.to_string(),
            name_of(id).to_string(),
        ),
        [provider, id] => (provider.clone(), name_of(id).to_string()),
        _ => return Err(Error::Engine(hearth::Error::NotFound { what: "page" }).into()),
    };
    let value = state
        .run(move |s| {
            let ctx = ctx(s, &v.actor)?;
            if !ctx.staff {
                return Err(Error::Engine(hearth::Error::Forbidden {
                    reason: "only moderators and admins look members up by external id".into(),
                }));
            }
            let user = s
                .forum
                .external_user(&provider, &id)?
                .ok_or(Error::Engine(hearth::Error::NotFound { what: "user" }))?;
            let p = profile(s, &v.actor, &user.username)?;
            Ok(shape::user(&ctx, &p))
        })
        .await?;
    ok(value)
}

/// `GET /user_badges/{username}.json`.
pub(crate) async fn user_badges(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
) -> ApiResult {
    let username = name_of(&username).to_string();
    Ok(state
        .run(move |s| {
            let c = s.config.community;
            let member = s.forum.member_by_username(&v.actor, c, &username)?;
            let grants = s.forum.member_badges(&v.actor, c, member.user.id)?;
            Ok(written(&shape::user_badges(
                &ctx(s, &v.actor)?,
                &member.user,
                &grants,
            )))
        })
        .await?)
}

/// `GET /directory_items.json?order=likes_received&period=all`.
pub(crate) async fn directory(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    let order = match params.str("order") {
        None => DirectoryOrder::LikesReceived,
        Some(o) => DirectoryOrder::parse(&o).ok_or_else(|| {
            Error::BadRequest(format!(
                "unknown order {o:?}; use likes_received, likes_given, topic_count, post_count, \
                 days_visited, posts_read or topics_entered"
            ))
        })?,
    };
    Ok(state
        .read(move |s| {
            let c = s.config.community;
            let fields = directory_fields(&params);
            let (page, n) = page_request(&params, 50, |req| {
                Ok(s.forum.directory_where(&v.actor, c, order, &fields, req)?)
            })?;
            // Always a link, as Discourse's (the next page may be empty).
            let order = params
                .str("order")
                .unwrap_or_else(|| "likes_received".into());
            let more = format!(
                "{}/directory_items?{}",
                s.config.base_path,
                directory_query(&order, &fields, n + 1)
            );
            Ok(written(&shape::directory(
                &ctx(s, &v.actor)?,
                &page.items,
                more,
            )))
        })
        .await?)
}

/// The directory's profile-field filters: `f_{key}={option}` parameters
/// (Hearth's; empty ones ignored).
pub(crate) fn directory_fields(params: &Params) -> Vec<(String, String)> {
    params
        .map
        .iter()
        .filter_map(|(k, v)| {
            Some((
                k.strip_prefix("f_")?.to_owned(),
                v.as_str()?.trim().to_owned(),
            ))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect()
}

/// The query string of a directory page: order, filters, page.
pub(crate) fn directory_query(order: &str, fields: &[(String, String)], page: u32) -> String {
    let mut q: Vec<(String, String)> = vec![("order".into(), order.to_owned())];
    q.extend(fields.iter().map(|(k, v)| (format!("f_{k}"), v.clone())));
    q.push(("page".into(), page.to_string()));
    serde_urlencoded::to_string(q).unwrap_or_default()
}

/// `POST /users.json`: Discourse's sign-up (`name`, `email`, `password`,
/// `username`; staff API keys may add `active`/`approved`). Answers in
/// Discourse's shape: `{"success": true, "active": …, "user_id": …}`, or
/// `{"success": false, "message": …, "errors": {field: [...]}}` with 200
/// as Discourse does.
pub(crate) async fn create_user(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> ApiResult {
    params.check_csrf(&v)?;
    if honeypot_fails(&v, &params) {
        // What Discourse answers a bot: a plausible success, and nothing made.
        return ok(json!({
            "success": true,
            "active": false,
            "message": "We sent an activation mail to your address; follow its link to activate your account.",
        }));
    }
    let value = state
        .run(move |s| {
            let username = params.need("username")?;
            let email = params.need("email")?;
            let password = params.need("password")?;
            let name = params.str("name").unwrap_or_default();
            let invite = params.str("invite_code");
            let by_staff = ctx(s, &v.actor)?.staff;
            let community = s.community()?;
            if !by_staff
                && invite.is_none()
                && community.settings.registration == RegistrationMode::InviteOnly
            {
                return Err(hearth::Error::Forbidden {
                    reason: "this community is invite-only; sign up with your invite link".into(),
                }
                .into());
            }
            // Staff vouch for the address of an account they make.
            let confirm = !by_staff && crate::signup::must_confirm(s, &community);
            if confirm {
                crate::mailed_links::limit_address(s, &v.ip.to_string())?;
            }
            let user = match auth::new_account(&s.forum, &username, &name, &email, &password, !confirm)
            {
                Ok(u) => u,
                Err(Error::Engine(hearth::Error::Invalid { field, reason, .. })) => {
                    return Ok(signup_failure(field, &reason, &params));
                }
                Err(Error::Engine(hearth::Error::Conflict { reason })) => {
                    let field = if reason.contains("email") {
                        "email"
                    } else {
                        "username"
                    };
                    return Ok(signup_failure(field, "has already been taken", &params));
                }
                Err(e) => return Err(e),
            };
            let (active, message) = if confirm {
                crate::mailed_links::mail_signup_link(s, user.id, invite)?;
                (
                    false,
                    "You're almost done! We sent an activation mail to your address: follow its link to activate your account.",
                )
            } else {
                let staff = by_staff.then_some(&v.actor);
                match crate::signup::welcome(s, staff, user.id, invite.as_deref())? {
                    crate::signup::Joined::Member => {
                        (true, "Your account is activated and ready to use.")
                    }
                    crate::signup::Joined::Waiting => (
                        false,
                        "Your account was created; a moderator will approve your membership.",
                    ),
                }
            };
            Ok(json!({
                "success": true,
                "active": active,
                "message": message,
                "user_id": user.id.0,
            }))
        })
        .await?;
    ok(value)
}

fn signup_failure(field: &str, reason: &str, params: &Params) -> Value {
    json!({
        "success": false,
        "message": format!("{} {reason}", field.replace('_', " ")),
        "errors": { field: [reason] },
        "values": {
            "name": params.str("name"),
            "username": params.str("username"),
            "email": params.str("email"),
        },
        "is_developer": false,
    })
}

/// `GET /session/csrf.json`: the token session-cookie clients send as
/// `X-CSRF-Token`.
pub(crate) async fn csrf(v: Visitor) -> ApiResult {
    ok(json!({ "csrf": v.csrf }))
}

/// `GET /session/hp.json`: Discourse's sign-up honeypot challenge; Hearth
/// needs none, but its clients ask.
pub(crate) async fn honeypot(v: Visitor) -> ApiResult {
    let (value, challenge) = honeypot_for(&v);
    ok(json!({ "value": value, "challenge": challenge }))
}

/// Discourse's sign-up honeypot for this visitor: a browser's sign-up
/// sends `password_confirmation` = `value` and `challenge` reversed. Both
/// derive from the visitor's CSRF token, so nothing is stored.
fn honeypot_for(v: &Visitor) -> (String, String) {
    let value = auth::digest(&format!("honeypot:{}", v.csrf));
    let challenge = auth::digest(&format!("challenge:{}", v.csrf));
    (value[..32].to_string(), challenge[..32].to_string())
}

/// Whether a sign-up came from a bot that skipped the honeypot. API keys
/// are exempt, as in Discourse.
fn honeypot_fails(v: &Visitor, params: &Params) -> bool {
    if v.via == Via::ApiKey {
        return false;
    }
    let (value, challenge) = honeypot_for(v);
    let reversed: String = challenge.chars().rev().collect();
    !(params
        .str("password_confirmation")
        .is_some_and(|p| auth::same(&p, &value))
        && params
            .str("challenge")
            .is_some_and(|c| auth::same(&c, &reversed)))
}

/// The JSON answer for an unknown API path.
pub(crate) async fn not_found() -> Response {
    ApiError(Error::Engine(hearth::Error::NotFound { what: "page" })).into_response()
}
