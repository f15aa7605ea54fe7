//! Server-rendered HTML pages. Each handler reads through the engine as the
//! visitor and renders a template inside the layout, with the plugins'
//! render slots (the footer on every page, error pages included).
//! Everything works without JavaScript.

use axum::extract::{Path, Request, State as AxState};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use hearth::{
    Actor, Attempt, Category, CategoryId, CategoryKind, DirectoryOrder, NewReply, NewTopic,
    PageRequest, Post, PostId, RegistrationMode, Throttle, Topic, TopicFilter, TopicId, UserId,
    Visibility,
};
use hearth_wasm::{ActionForms, ItemSlot, PageContext, Slot};
use serde::Serialize;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::api::{self, id_of, name_of};
use crate::auth;
use crate::error::{Error, PageError, PageFailure};
use crate::params::Params;
use crate::seo;
use crate::state::{AppState, State};
use crate::visitor::{SESSION_COOKIE, Via, Visitor, set_cookie};

pub(crate) type PageResult = Result<Response, PageError>;

/// What the layout needs to know about a page.
#[derive(Debug, Default)]
pub(crate) struct Meta {
    pub title: String,
    pub description: String,
    /// Canonical path (under the mount point), for indexable pages.
    pub canonical: Option<String>,
    /// Keep out of search engines (everything not public).
    pub noindex: bool,
    pub jsonld: Option<Value>,
    pub path: String,
    pub topic: Option<TopicId>,
    pub member: Option<UserId>,
}

#[derive(Debug, Serialize)]
struct FragmentOut {
    plugin: String,
    html: String,
}

/// How plugins' action buttons become forms for this visitor: with their
/// form token when signed in; guests' pages are shared through the guest
/// cache, so theirs link to the action's confirmation page instead.
pub(crate) fn action_forms(s: &AppState, v: &Visitor) -> ActionForms {
    ActionForms {
        base: s.config.base_path.clone(),
        token: v.user.is_some().then(|| v.csrf.clone()),
    }
}

fn page_context(s: &AppState, v: &Visitor, meta: &Meta) -> PageContext {
    PageContext {
        path: meta.path.clone(),
        topic: meta.topic,
        member: meta.member,
        forms: action_forms(s, v),
    }
}

/// Plugins' fragments for many items of a page (post ids, topic ids), one
/// call per plugin: `{"<id>": [fragment, …]}`, ready for the templates.
pub(crate) fn item_slot(
    s: &AppState,
    v: &Visitor,
    slot: ItemSlot,
    meta: &Meta,
    items: &[i64],
) -> serde_json::Map<String, Value> {
    let Some(host) = &s.plugins else {
        return serde_json::Map::new();
    };
    host.render_items(
        &v.actor,
        s.config.community,
        slot,
        &page_context(s, v, meta),
        items,
    )
    .into_iter()
    .map(|(id, fragments)| {
        let out: Vec<FragmentOut> = fragments
            .into_iter()
            .map(|f| FragmentOut {
                plugin: f.plugin,
                html: f.html,
            })
            .collect();
        (id.to_string(), json!(out))
    })
    .collect()
}

/// Adds each post's per-item plugin fragments (`plugins.footer`,
/// `plugins.menu`) to the posts of a topic page.
fn attach_post_items(s: &AppState, v: &Visitor, meta: &Meta, posts: &mut [&mut Value]) {
    if s.plugins.is_none() {
        return;
    }
    let ids: Vec<i64> = posts.iter().filter_map(|p| p["id"].as_i64()).collect();
    let footer = item_slot(s, v, ItemSlot::PostFooter, meta, &ids);
    let menu = item_slot(s, v, ItemSlot::PostMenu, meta, &ids);
    // A post shown twice (the accepted answer on top and in the thread)
    // gets its fragments in both places.
    for p in posts.iter_mut() {
        let id = p["id"].as_i64().unwrap_or_default().to_string();
        p["plugins"] = json!({
            "footer": footer.get(&id).cloned().unwrap_or_else(|| json!([])),
            "menu": menu.get(&id).cloned().unwrap_or_else(|| json!([])),
        });
    }
}

/// Plugins' fragments for a composer's help area (one item: the category
/// written in).
fn composer_help(s: &AppState, v: &Visitor, meta: &Meta, category: Option<i64>) -> Value {
    category
        .and_then(|id| item_slot(s, v, ItemSlot::ComposerHelp, meta, &[id]).remove(&id.to_string()))
        .unwrap_or_else(|| json!([]))
}

fn slot(s: &AppState, v: &Visitor, slot: Slot, meta: &Meta) -> Vec<FragmentOut> {
    let Some(host) = &s.plugins else {
        return Vec::new();
    };
    let ctx = page_context(s, v, meta);
    host.render(&v.actor, s.config.community, slot, &ctx)
        .into_iter()
        .map(|f| FragmentOut {
            plugin: f.plugin,
            html: f.html,
        })
        .collect()
}

/// The running plugins' links for the navigation (staff-only ones for
/// staff).
fn plugin_links(s: &AppState, staff: bool) -> Vec<Value> {
    let Some(host) = &s.plugins else {
        return Vec::new();
    };
    host.nav_links(s.config.community)
        .unwrap_or_default()
        .into_iter()
        .filter(|(_, link)| staff || !link.staff)
        .map(|(name, link)| {
            let path = format!("/plugins/{name}{}", link.path.trim_end_matches('/'));
            json!({ "href": s.url(&path), "label": link.label })
        })
        .collect()
}

pub(crate) fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The visitor as the layout shows them.
fn me(s: &AppState, v: &Visitor) -> Value {
    match (&v.user, v.actor) {
        (Some(u), Actor::User(id)) => {
            let role = s
                .forum
                .member(&v.actor, s.config.community, id)
                .ok()
                .map(|m| m.role);
            json!({
                "username": u.username,
                "name": u.display_name,
                "staff": role.is_some_and(|r| r.is_moderator()),
                "admin": role.is_some_and(|r| r.is_admin()),
                "member": role.is_some(),
                "unread": if role.is_some() { crate::notifications::unread(s, &v.actor) } else { String::new() },
            })
        }
        _ => Value::Null,
    }
}

pub(crate) fn site_name(s: &AppState) -> String {
    s.config
        .theme
        .site_name
        .clone()
        .or_else(|| s.community().ok().map(|c| c.name.clone()))
        .unwrap_or_else(|| "Community".into())
}

/// The public origin for canonical URLs and the sitemap.
pub(crate) fn origin(s: &AppState) -> Option<String> {
    s.config.public_origin.clone().or_else(|| {
        s.community()
            .ok()
            .and_then(|c| c.settings.base_url.clone())
            .map(|u| u.trim_end_matches('/').to_string())
    })
}

/// Renders `template` inside the layout: blocking (plugin slots call wasm).
pub(crate) fn render(
    s: &AppState,
    v: &Visitor,
    template: &str,
    meta: Meta,
    mut ctx: Value,
) -> Result<String, Error> {
    let canonical = meta
        .canonical
        .as_ref()
        .map(|p| format!("{}{}", origin(s).unwrap_or_default(), s.url(p)));
    let slots = json!({
        "footer": slot(s, v, Slot::PageFooter, &meta),
        "sidebar": slot(s, v, Slot::Sidebar, &meta),
        "topic_footer": if meta.topic.is_some() { slot(s, v, Slot::TopicFooter, &meta) } else { Vec::new() },
        "profile": if meta.member.is_some() { slot(s, v, Slot::Profile, &meta) } else { Vec::new() },
    });
    let jsonld = meta
        .jsonld
        .as_ref()
        .map(|j| seo::script_safe(&j.to_string()));
    let me = me(s, v);
    let staff = me["staff"].as_bool().unwrap_or(false);
    let base = json!({
        "site": {
            "name": site_name(s),
            "base": s.config.base_path,
            "plugin_links": plugin_links(s, staff),
            "attach": attach_field(s),
        },
        "me": me,
        "csrf": v.csrf,
        "page": {
            "title": meta.title,
            "description": meta.description,
            "canonical": canonical,
            "noindex": meta.noindex || meta.canonical.is_none(),
            "jsonld": jsonld,
        },
        "slots": slots,
        "flashes": [],
    });
    if let (Value::Object(ctx), Value::Object(base)) = (&mut ctx, base) {
        for (k, v) in base {
            ctx.entry(k).or_insert(v);
        }
    }
    s.templates.render(template, ctx)
}

/// What the composers' file field says it takes, from the community's
/// attachment kinds: the label and the `accept` list.
fn attach_field(s: &AppState) -> Value {
    let kinds = s
        .community()
        .map(|c| c.settings.limits.attachments.clone())
        .unwrap_or_default();
    let mut accept = vec!["image/png", "image/jpeg", "image/gif", "image/webp"];
    let mut names = Vec::new();
    for k in &kinds {
        let types: &[&str] = match k {
            hearth::AttachmentKind::Pdf => &["application/pdf", ".pdf"],
            hearth::AttachmentKind::Text => &[
                "text/plain",
                ".txt",
                ".log",
                ".csv",
                ".json",
                ".md",
                ".yaml",
            ],
            hearth::AttachmentKind::Zip => &["application/zip", ".zip"],
            _ => continue,
        };
        names.push(k.label());
        accept.extend_from_slice(types);
    }
    let label = match names.as_slice() {
        [] => "Attach a picture (PNG, JPEG, GIF or WebP)".to_owned(),
        names => format!(
            "Attach a picture (PNG, JPEG, GIF or WebP) or a file ({})",
            names.join(", ")
        ),
    };
    json!({"label": label, "accept": accept.join(",")})
}

pub(crate) fn html(body: String, indexable: bool) -> Response {
    let mut res = Html(body).into_response();
    if !indexable {
        res.headers_mut()
            .insert("x-robots-tag", HeaderValue::from_static("noindex"));
    }
    res
}

use crate::readable::ago;

pub(crate) fn avatar(s: &AppState, username: &str, url: Option<&str>, size: u32) -> String {
    match url {
        Some(u) => u.to_string(),
        None => s.url(&format!("/letter_avatar/{username}/{size}.svg")),
    }
}

fn topic_row(s: &AppState, t: &Topic, cats: &[Category], now: OffsetDateTime) -> Value {
    let cat = cats.iter().find(|c| c.id == t.category);
    json!({
        "id": t.id.0, "slug": t.slug, "title": t.title,
        "solved": t.accepted_answer.is_some(), "pinned": t.pinned || t.pinned_globally,
        "closed": t.closed, "replies": t.reply_count, "views": t.view_count,
        "author": t.author.username, "tags": t.tags,
        "author_avatar": avatar(s, &t.author.username, t.author.avatar_url.as_deref(), 32),
        "bumped_at": api::shape::ts(t.bumped_at), "bumped_ago": ago(t.bumped_at, now),
        "category": cat.map(|c| json!({"id": c.id.0, "slug": c.slug, "name": c.name})),
        "url": s.url(&format!("/t/{}/{}", t.slug, t.id.0)),
    })
}

fn kind_label(k: CategoryKind) -> &'static str {
    match k {
        CategoryKind::Discussion => "Discussion",
        CategoryKind::QuestionAndAnswer => "Questions & answers",
        CategoryKind::KnowledgeBase => "Knowledge base",
        CategoryKind::Blog => "Blog",
        CategoryKind::Ideas => "Ideas",
        CategoryKind::Announcements => "Announcements",
    }
}

fn path_of(c: &Category) -> String {
    format!("/c/{}/{}", c.slug, c.id.0)
}

/// Whether guests can read the community at all (it decides `noindex`).
pub(crate) fn public_community(s: &AppState) -> bool {
    s.community().is_ok_and(|c| c.settings.public_access)
}

fn topic_list_page(
    s: &AppState,
    v: &Visitor,
    params: &Params,
    category: Option<CategoryId>,
) -> Result<String, Error> {
    let c = s.config.community;
    let cats = s.forum.categories(&v.actor, c)?;
    let cat = match category {
        Some(id) => Some(s.forum.category(&v.actor, c, id)?),
        None => None,
    };
    let filter = TopicFilter {
        category,
        tag: params.str("tag"),
    };
    let (page, n) = api::page_request(params, 30, |req| {
        Ok(s.forum.latest(&v.actor, c, &filter, req)?)
    })?;
    let now = s.forum.now();
    let mut topics: Vec<Value> = page
        .items
        .iter()
        .map(|t| topic_row(s, t, &cats, now))
        .collect();
    let public = public_community(s)
        && cat
            .as_ref()
            .is_none_or(|c| c.visibility == Visibility::Public);
    let (path, template) = match &cat {
        Some(c) => (path_of(c), "category.html"),
        None => ("/".to_string(), "home.html"),
    };
    let next_url = page.next.as_ref().map(|_| {
        let list = if cat.is_some() {
            path.clone()
        } else {
            "/latest".into()
        };
        s.url(&format!("{list}?page={}", n + 1))
    });
    let name = site_name(s);
    let meta = Meta {
        title: cat.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
        description: cat
            .as_ref()
            .map(|c| c.description.clone())
            .unwrap_or_else(|| format!("Questions, answers and conversation in {name}.")),
        canonical: (public && n == 0).then(|| path.clone()),
        noindex: !public,
        path,
        ..Default::default()
    };
    if s.plugins.is_some() {
        let ids: Vec<i64> = page.items.iter().map(|t| t.id.0).collect();
        let mut badges = item_slot(s, v, ItemSlot::TopicListBadge, &meta, &ids);
        for t in &mut topics {
            let id = t["id"].as_i64().unwrap_or_default().to_string();
            t["plugins"] = badges.remove(&id).unwrap_or_else(|| json!([]));
        }
    }
    let categories: Vec<Value> = cats
        .iter()
        .map(|c| {
            json!({
                "id": c.id.0, "slug": c.slug, "name": c.name, "description": c.description,
                "topic_count": c.topic_count, "kind_label": kind_label(c.kind),
                "color": api::shape::color_of(&c.slug),
            })
        })
        .collect();
    let kb = match &cat {
        Some(c) if c.kind == CategoryKind::KnowledgeBase => {
            Some(crate::kb::library(s, v, Some(c.id), params)?)
        }
        _ => None,
    };
    let ideas = match &cat {
        Some(c) if c.kind == CategoryKind::Ideas => Some(crate::ideas::category_list(
            s,
            v,
            c.id,
            &path_of(c),
            params,
        )?),
        _ => None,
    };
    // The community's welcome, on the home page's first page only.
    let welcome = match (&cat, n) {
        (None, 0) => match s.community()?.settings.welcome.as_deref() {
            Some(md) if !md.trim().is_empty() => Some(s.forum.render_bio(&v.actor, c, md)?),
            _ => None,
        },
        _ => None,
    };
    render(
        s,
        v,
        template,
        meta,
        json!({
            "welcome": welcome,
            "ideas": ideas,
            "kb": kb,
            "topics": topics,
            "categories": categories,
            "watch": category.and_then(|id| crate::notifications::watch_form(s, &v.actor, Some(id), None)),
            "category": cat.map(|c| json!({"id": c.id.0, "name": c.name, "description": c.description, "slug": c.slug})),
            "next_url": next_url,
        }),
    )
}

/// `GET /` and `GET /latest`.
pub(crate) async fn home(AxState(state): AxState<State>, v: Visitor, params: Params) -> PageResult {
    let public = state.read(|s| Ok(public_community(s))).await?;
    let body = state
        .run(move |s| topic_list_page(s, &v, &params, None))
        .await?;
    Ok(html(body, public))
}

/// `GET /c/{slug}/{id}`.
pub(crate) async fn category(
    state: State,
    v: Visitor,
    id: CategoryId,
    params: Params,
) -> PageResult {
    let body = state
        .read(move |s| topic_list_page(s, &v, &params, Some(id)))
        .await?;
    Ok(html(body, true))
}

fn post_out(s: &AppState, p: &Post, v: &Visitor, now: OffsetDateTime, staff: bool) -> Value {
    let mine = matches!(v.actor, Actor::User(u) if u == p.author.id);
    json!({
        "id": p.id.0, "post_number": p.post_number, "html": p.html,
        "official": p.official, "accepted": p.accepted, "liked": p.liked,
        "like_count": p.like_count, "deleted": p.deleted, "hidden": p.hidden,
        "can_like": matches!(v.actor, Actor::User(_)) && !mine && !p.deleted,
        "can_delete": !p.deleted && (staff || mine),
        "can_restore": p.deleted && staff,
        "plugins": {"footer": [], "menu": []},
        "created_at": api::shape::ts(p.created_at), "created_ago": ago(p.created_at, now),
        "author": {
            "username": p.author.username, "name": p.author.display_name,
            "avatar": avatar(s, &p.author.username, p.author.avatar_url.as_deref(), 32),
        },
    })
}

fn excerpt(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{}…", cut.trim_end())
    }
}

/// `GET /t/{slug}/{id}`.
pub(crate) async fn topic(state: State, v: Visitor, id: TopicId, params: Params) -> PageResult {
    let rendered = state
        .read(move |s| {
            let c = s.config.community;
            let req = match params.str("cursor") {
                Some(cur) => PageRequest::after(hearth::Cursor(cur), 50),
                None => PageRequest::first(50),
            };
            let view = s.forum.topic(&v.actor, c, id, &req)?;
            s.count_view(v.actor, id);
            let t = &view.topic;
            // A private conversation has no category to show.
            let cat = match view.participants {
                Some(_) => None,
                None => Some(s.forum.category(&v.actor, c, t.category)?),
            };
            let now = s.forum.now();
            let public = public_community(s)
                && cat.as_ref().is_some_and(|c| c.visibility == Visibility::Public)
                && !t.unlisted;
            let me_role = match v.actor {
                Actor::User(u) => s.forum.member(&v.actor, c, u).ok().map(|m| m.role),
                _ => None,
            };
            let is_author = matches!(v.actor, Actor::User(u) if u == t.author.id);
            let staff = me_role.is_some_and(|r| r.is_moderator());
            let first = view.posts.items.first();
            let description = first.map(|p| excerpt(&p.source, 160)).unwrap_or_default();
            let path = format!("/t/{}/{}", t.slug, t.id.0);
            let canonical_url = format!("{}{}", origin(s).unwrap_or_default(), s.url(&path));
            let jsonld = public.then(|| {
                seo::topic_jsonld(&canonical_url, t, view.kind, &view.posts.items, view.accepted_answer.as_ref())
            });
            let meta = Meta {
                title: t.title.clone(),
                description,
                canonical: (public && params.str("cursor").is_none()).then(|| path.clone()),
                noindex: !public,
                jsonld,
                path: path.clone(),
                topic: Some(t.id),
                member: None,
            };
            let mut posts: Vec<Value> =
                view.posts.items.iter().map(|p| post_out(s, p, &v, now, staff)).collect();
            let mut accepted = view.accepted_answer.as_ref().map(|p| post_out(s, p, &v, now, staff));
            // Conversations are not shown to plugins (no `private-messages`
            // capability yet).
            if view.participants.is_none() {
                let mut all: Vec<&mut Value> = posts.iter_mut().chain(accepted.as_mut()).collect();
                attach_post_items(s, &v, &meta, &mut all);
            }
            let message = view
                .participants
                .as_ref()
                .map(|p| crate::messages::topic_box(s, t.id, p));
            let moderation = (staff && message.is_none())
                .then(|| crate::moderate::tools(s, &v.actor, t))
                .flatten();
            let in_category = message.is_none();
            let can_reply = me_role.is_some() && !t.closed && !t.archived;
            let help = match &cat {
                Some(cat) if can_reply => composer_help(s, &v, &meta, Some(cat.id.0)),
                _ => json!([]),
            };
            let body = render(
                s,
                &v,
                "topic.html",
                meta,
                json!({
                    "topic": {"id": t.id.0, "title": t.title, "slug": t.slug, "tags": t.tags,
                              "views": t.view_count, "replies": t.reply_count,
                              "closed": t.closed, "archived": t.archived, "pinned": t.pinned,
                              "unlisted": t.unlisted, "deleted": t.deleted},
                    "moderation": moderation,
                    "watch": crate::notifications::watch_form(s, &v.actor, None, Some(t.id)),
                    "products": in_category.then(|| crate::products::topic_box(s, &v, t.id)),
                    "kb": in_category
                        .then(|| crate::kb::topic_box(s, &v, t.id, t.accepted_answer.is_some()))
                        .flatten(),
                    "can_tag_products": in_category && (staff || is_author),
                    "idea": cat.as_ref()
                        .filter(|cat| cat.kind == CategoryKind::Ideas)
                        .and_then(|_| crate::ideas::idea_box(s, &v, t.id, staff)),
                    "category": cat.as_ref().map(|cat| json!({"id": cat.id.0, "slug": cat.slug, "name": cat.name})),
                    "message": message,
                    "posts": posts,
                    "accepted": accepted,
                    "can_accept": view.kind == CategoryKind::QuestionAndAnswer && (is_author || staff),
                    "can_reply": can_reply,
                    "composer_help": help,
                    "next_url": view.posts.next.map(|c| s.url(&format!("{path}?cursor={}", c.0))),
                }),
            )?;
            Ok((body, public))
        })
        .await;
    match rendered {
        Ok((body, public)) => {
            let mut res = html(body, public);
            res.extensions_mut()
                .insert(crate::read_cache::ViewedTopic(id));
            Ok(res)
        }
        Err(Error::Engine(hearth::Error::Moved { topic })) => {
            Ok(Redirect::permanent(&state.url(&format!("/t/{}", topic.0))).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

/// `GET /t/{id}`: redirects to the slugged URL.
pub(crate) async fn topic_by_id(state: State, v: Visitor, id: TopicId) -> PageResult {
    let t = state
        .read(move |s| Ok(s.forum.topic_only(&v.actor, s.config.community, id)?))
        .await?;
    Ok(Redirect::permanent(&state.url(&format!("/t/{}/{}", t.slug, t.id.0))).into_response())
}

/// Runs a form's action as its sender (CSRF-checked and signed in) on the
/// blocking pool, then redirects to the path (under the mount point) the
/// action returns. Every page form goes through here.
pub(crate) async fn act<F>(state: State, v: Visitor, params: Params, f: F) -> PageResult
where
    F: FnOnce(&AppState, Actor, Params) -> Result<String, Error> + Send + 'static,
{
    let actor = params.writer(&v)?;
    let to = state.run(move |s| f(s, actor, params)).await?;
    Ok(Redirect::to(&state.url(&to)).into_response())
}

/// [`act`] for routes that serve forms and API clients alike: with `json`
/// the answer is `ok` (Discourse's `{"success": "OK"}` and kin) instead
/// of a redirect, and errors come back as JSON.
pub(crate) async fn act_or_ok<F>(
    state: State,
    v: Visitor,
    params: Params,
    json: bool,
    ok: Value,
    f: F,
) -> Response
where
    F: FnOnce(&AppState, Actor, Params) -> Result<String, Error> + Send + 'static,
{
    if !json {
        return act(state, v, params, f)
            .await
            .unwrap_or_else(|e| e.into_response());
    }
    let run = async {
        let actor = params.writer(&v)?;
        state.run(move |s| f(s, actor, params)).await?;
        Ok::<_, Error>(crate::error::json_response(StatusCode::OK, &ok))
    };
    run.await
        .unwrap_or_else(|e| crate::error::ApiError(e).into_response())
}

/// `/t/{slug}/{id}#post-{n}`.
fn post_path(
    s: &AppState,
    actor: &Actor,
    topic: TopicId,
    post_number: i64,
) -> Result<String, Error> {
    let t = s.forum.topic_only(actor, s.config.community, topic)?;
    Ok(format!("/t/{}/{}#post-{post_number}", t.slug, t.id.0))
}

/// `body` with the picture or file the form attached (if any) uploaded
/// and shown (a picture) or linked (a file) at its end.
pub(crate) fn with_attachment(
    s: &AppState,
    actor: &Actor,
    body: String,
    file: Option<hearth::NewUpload>,
) -> Result<String, hearth::Error> {
    let Some(file) = file else {
        return Ok(body);
    };
    let upload = s.forum.create_upload(actor, s.config.community, file)?;
    let image = api::uploads::markdown_of(s, &upload);
    Ok(match body.trim_end() {
        "" => image,
        text => format!("{text}\n\n{image}"),
    })
}

/// Puts the form's picture (if any) into `body` first — once uploaded it
/// stays in the draft, so a refused post does not ask for it again — then
/// runs `create` with the body.
pub(crate) fn create_with_attachment<T>(
    s: &AppState,
    actor: &Actor,
    body: &mut String,
    file: Option<hearth::NewUpload>,
    create: impl FnOnce(String) -> Result<T, hearth::Error>,
) -> Result<T, hearth::Error> {
    *body = with_attachment(s, actor, body.clone(), file)?;
    create(body.clone())
}

/// `POST /t/{id}/reply` (a form, or multipart with an attached `file`).
pub(crate) async fn reply(state: State, v: Visitor, id: &str, params: Params) -> PageResult {
    let id = TopicId(id_of(id)?);
    act(state, v, params, move |s, actor, mut params| {
        let file = params.file.take();
        let body = with_attachment(s, &actor, params.str("raw").unwrap_or_default(), file)?;
        let reply = NewReply {
            body,
            reply_to: None,
        };
        let post = s.forum.reply(&actor, s.config.community, id, reply)?;
        post_path(s, &actor, id, post.post_number)
    })
    .await
}

/// `POST /p/{id}/like` toggles a like.
pub(crate) async fn like(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = PostId(id_of(&id)?);
    act(state, v, params, move |s, actor, _| {
        let c = s.config.community;
        let post = s.forum.post(&actor, c, id)?;
        if post.liked {
            s.forum.unlike(&actor, c, id)?;
        } else {
            s.forum.like(&actor, c, id)?;
        }
        post_path(s, &actor, post.topic, post.post_number)
    })
    .await
}

/// `POST /p/{id}/accept` toggles the accepted answer.
pub(crate) async fn accept(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = PostId(id_of(&id)?);
    act(state, v, params, move |s, actor, _| {
        let c = s.config.community;
        let post = s.forum.post(&actor, c, id)?;
        if post.accepted {
            s.forum.unaccept_answer(&actor, c, post.topic)?;
        } else {
            s.forum.accept_answer(&actor, c, id)?;
        }
        post_path(s, &actor, post.topic, 1)
    })
    .await
}

/// `POST /p/{id}/delete`.
pub(crate) async fn delete_post(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    crate::moderate::set_deleted(state, v, &id, params, true).await
}

/// `POST /p/{id}/restore`.
pub(crate) async fn restore_post(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    crate::moderate::set_deleted(state, v, &id, params, false).await
}

fn composer(
    s: &AppState,
    v: &Visitor,
    draft: Value,
    error: Option<String>,
) -> Result<String, Error> {
    let c = s.config.community;
    let cats: Vec<Value> = s
        .forum
        .categories(&v.actor, c)?
        .into_iter()
        .filter(|c| !c.read_only)
        .map(|c| json!({"id": c.id.0, "name": c.name}))
        .collect();
    let title = draft["title"].as_str().unwrap_or_default().to_string();
    let session = crate::deflect::session_of(draft["session"].as_str())?;
    let similar = crate::deflect::similar(s, &v.actor, &title, Some(&session))?;
    let support = s
        .community()?
        .settings
        .support_url
        .as_ref()
        .map(|_| s.url(&format!("/support?session={session}")));
    let meta = Meta {
        title: "New topic".into(),
        noindex: true,
        path: "/new-topic".into(),
        ..Default::default()
    };
    // Plugins' help for the category written in (the chosen one, else the
    // first offered).
    let chosen = draft["category"]
        .as_i64()
        .or_else(|| draft["category"].as_str().and_then(|c| c.parse().ok()))
        .or_else(|| cats.first().and_then(|c| c["id"].as_i64()));
    let help = composer_help(s, v, &meta, chosen);
    let mut ctx = json!({ "categories": cats, "draft": draft, "similar": similar,
                          "session": session, "support": support, "composer_help": help });
    if let Some(e) = error {
        ctx["flashes"] = json!([e]);
    }
    render(s, v, "composer.html", meta, ctx)
}

/// `GET /new-topic` (`?title=` pre-fills and lists similar topics, which
/// is how the deflection list works without JavaScript).
pub(crate) async fn new_topic_form(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    v.require_user()?;
    let draft = json!({
        "title": params.str("title").unwrap_or_default(),
        "raw": params.str("raw").unwrap_or_default(),
        "tags": params.str("tags").unwrap_or_default(),
        "session": params.str("session"),
        "category": params.int("category")?.unwrap_or(0),
    });
    let body = state.run(move |s| composer(s, &v, draft, None)).await?;
    Ok(html(body, false))
}

/// `POST /new-topic` (a form, or multipart with an attached `file`).
pub(crate) async fn create_topic(
    AxState(state): AxState<State>,
    v: Visitor,
    mut params: Params,
) -> PageResult {
    let actor = params.writer(&v)?;
    let file = params.file.take();
    let result = state
        .run(move |s| {
            let c = s.config.community;
            let mut new = NewTopic {
                category: CategoryId(params.int("category")?.unwrap_or(0)),
                title: params.str("title").unwrap_or_default(),
                body: params.str("raw").unwrap_or_default(),
                tags: params
                    .str("tags")
                    .unwrap_or_default()
                    .split(',')
                    .map(|t| t.trim().to_string())
                    .filter(|t| !t.is_empty())
                    .collect(),
            };
            let session = params.str("session");
            let mut body = std::mem::take(&mut new.body);
            let created = create_with_attachment(s, &actor, &mut body, file, |body| {
                s.forum.create_topic(
                    &actor,
                    c,
                    NewTopic {
                        body,
                        ..new.clone()
                    },
                )
            });
            new.body = body;
            match created {
                Ok((t, _)) => {
                    if let Some(token) = &session {
                        crate::deflect::posted(s, &actor, token, t.id);
                    }
                    Ok(Ok(s.url(&format!("/t/{}/{}", t.slug, t.id.0))))
                }
                Err(e) if fixable(&e) => {
                    // Keep what the member wrote; show why.
                    let draft = json!({
                        "title": new.title, "raw": new.body, "tags": new.tags.join(", "),
                        "category": new.category.0, "session": session,
                    });
                    let message = Error::Engine(e).public_message();
                    Ok(Err(composer(s, &v, draft, Some(message))?))
                }
                Err(e) => Err(e.into()),
            }
        })
        .await?;
    Ok(form_outcome(result))
}

/// Whether a refused form is one the member can mend by changing what
/// they wrote (or waiting): the form comes back with it and the reason.
pub(crate) fn fixable(e: &hearth::Error) -> bool {
    matches!(
        e,
        hearth::Error::Invalid { .. }
            | hearth::Error::Forbidden { .. }
            | hearth::Error::Blocked { .. }
            | hearth::Error::Rejected { .. }
            | hearth::Error::RateLimited { .. }
            | hearth::Error::PendingReview { .. }
    )
}

/// A composing form's outcome: on to the new page, or the form again
/// with what was written (422).
pub(crate) fn form_outcome(result: Result<String, String>) -> Response {
    match result {
        Ok(to) => Redirect::to(&to).into_response(),
        Err(page) => (StatusCode::UNPROCESSABLE_ENTITY, Html(page)).into_response(),
    }
}

/// `GET /search?q=…&category=…&solved=1`.
pub(crate) async fn search(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    let body = state
        .read(move |s| {
            let c = s.config.community;
            let q = params.str("q").unwrap_or_default();
            let category = params.int("category")?;
            let solved = params.bool("solved").unwrap_or(false);
            let cats: Vec<Value> = s
                .forum
                .categories(&v.actor, c)?
                .into_iter()
                .map(|c| json!({"id": c.id.0, "name": c.name}))
                .collect();
            let mut ctx = json!({ "q": q, "categories": cats, "category": category, "solved": solved, "hits": [], "total": 0, "exact": true });
            if !q.trim().is_empty() {
                let mut query = api::parse_search(s, &v.actor, &q)?;
                if let Some(cat) = category {
                    query.category = Some(CategoryId(cat));
                }
                if solved {
                    query.solved = Some(true);
                }
                if let Some(cur) = params.str("cursor") {
                    query.page = PageRequest::after(hearth::Cursor(cur), 20);
                } else {
                    query.page = PageRequest::first(20);
                }
                let results = s.forum.search(&v.actor, c, &query)?;
                ctx["hits"] = results
                    .hits
                    .iter()
                    .map(|h| {
                        json!({"topic": h.topic.0, "slug": h.slug, "title": h.title, "post_number": h.post_number,
                               "snippet": h.snippet, "solved": h.solved, "author": h.author.username})
                    })
                    .collect();
                ctx["total"] = json!(results.total);
                ctx["exact"] = json!(results.total_is_exact);
                ctx["next_url"] = json!(results.next.map(|cur| {
                    let mut qs = vec![("q", q.clone()), ("cursor", cur.0)];
                    if let Some(cat) = category {
                        qs.push(("category", cat.to_string()));
                    }
                    if solved {
                        qs.push(("solved", "1".into()));
                    }
                    s.url(&format!("/search?{}", serde_urlencoded::to_string(qs).unwrap_or_default()))
                }));
            }
            let meta = Meta {
                title: if q.is_empty() { "Search".into() } else { format!("Search: {q}") },
                noindex: true,
                path: "/search".into(),
                ..Default::default()
            };
            render(s, &v, "search.html", meta, ctx)
        })
        .await?;
    Ok(html(body, false))
}

/// `GET /u/{username}`.
pub(crate) async fn profile(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(username): Path<String>,
) -> PageResult {
    let username = name_of(&username).to_string();
    let body = state
        .read(move |s| {
            let p = api::profile(s, &v.actor, &username)?;
            let c = s.config.community;
            let posts = s.forum.posts_by(&v.actor, c, p.user.id, &PageRequest::first(10))?;
            let mut recent = Vec::new();
            for post in &posts.items {
                let t = s.forum.topic_only(&v.actor, c, post.topic)?;
                recent.push(json!({"topic": t.id.0, "slug": t.slug, "title": t.title,
                                   "post_number": post.post_number}));
            }
            let meta = Meta {
                title: format!("{} (@{})", if p.user.display_name.is_empty() { &p.user.username } else { &p.user.display_name }, p.user.username),
                description: excerpt(&p.user.bio, 160),
                noindex: true,
                path: format!("/u/{}", p.user.username),
                member: Some(p.user.id),
                ..Default::default()
            };
            let profile = json!({
                "username": p.user.username, "name": p.user.display_name, "bio": p.user.bio,
                "website": p.user.website, "location": p.user.location,
                "bio_html": p.bio_html,
                "fields": p.fields.iter().filter(|f| !f.values.is_empty())
                    .map(|f| json!({"label": f.field.label, "answer": f.display()}))
                    .collect::<Vec<_>>(),
                "mine": matches!(v.actor, Actor::User(u) if u == p.user.id),
                "avatar": avatar(s, &p.user.username, p.user.avatar_url.as_deref(), 96),
                "title": p.role.is_official().then(|| api::shape::role_title(p.role)),
                "trust_level": p.trust_level, "points": p.points, "topic_count": p.topic_count,
                "post_count": p.post_count, "likes_received": p.likes_received,
                "joined": ago(p.joined_at, s.forum.now()), "joined_at": api::shape::ts(p.joined_at),
                "badges": p.grants.iter().map(|g| json!({"name": g.badge.name, "description": g.badge.description, "tier": g.badge.tier.as_str()})).collect::<Vec<_>>(),
            });
            let follow = crate::follows::profile_box(s, &v, p.user.id);
            let blocked = crate::messages::block_state(s, &v, p.user.id);
            render(s, &v, "profile.html", meta, json!({ "profile": profile, "recent": recent,
                                                       "follow": follow, "blocked": blocked }))
        })
        .await?;
    Ok(html(body, false))
}

/// `GET /u`: the member directory.
pub(crate) async fn directory(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    let body = state
        .run(move |s| {
            let key = params.str("order").unwrap_or_else(|| "likes_received".into());
            let order = DirectoryOrder::parse(&key).unwrap_or_default();
            let chosen = api::directory_fields(&params);
            let (page, n) = api::page_request(&params, 50, |req| {
                Ok(s.forum.directory_where(&v.actor, s.config.community, order, &chosen, req)?)
            })?;
            // The choice fields this visitor may filter by, as selects.
            let staff = api::ctx(s, &v.actor)?.staff;
            let filters: Vec<Value> = s
                .community()?
                .settings
                .profile_fields
                .iter()
                .filter(|f| !f.options().is_empty())
                .filter(|f| f.visibility != hearth::FieldVisibility::Staff || staff)
                .map(|f| {
                    let picked = chosen.iter().find(|(k, _)| *k == f.key).map(|(_, v)| v.as_str());
                    json!({"key": f.key, "label": f.label, "options": f.options()
                        .iter()
                        .map(|o| json!({"value": o.value, "label": o.label, "selected": picked == Some(o.value.as_str())}))
                        .collect::<Vec<_>>()})
                })
                .collect();
            let entries: Vec<Value> = page
                .items
                .iter()
                .map(|e| {
                    json!({"username": e.user.username, "name": e.user.display_name,
                           "avatar": avatar(s, &e.user.username, e.user.avatar_url.as_deref(), 24),
                           "title": e.role.is_official().then(|| api::shape::role_title(e.role)),
                           "likes_received": e.likes_received, "likes_given": e.likes_given,
                           "topic_count": e.topic_count, "post_count": e.post_count, "days_visited": e.days_visited})
                })
                .collect();
            let orders = [
                ("likes_received", "Most helpful"),
                ("post_count", "Most posts"),
                ("topic_count", "Most topics"),
                ("days_visited", "Most visits"),
            ]
            .map(|(k, l)| json!({"key": k, "label": l}));
            let meta = Meta {
                title: "Members".into(),
                noindex: true,
                path: "/u".into(),
                ..Default::default()
            };
            let next_url = page
                .next
                .map(|_| s.url(&format!("/u?{}", api::directory_query(&key, &chosen, n + 1))));
            render(s, &v, "directory.html", meta, json!({"entries": entries, "orders": orders, "order": key,
                                                        "next_url": next_url, "filters": filters}))
        })
        .await?;
    Ok(html(body, false))
}

pub(crate) fn safe_next(s: &AppState, next: Option<String>) -> String {
    // Only local paths: never redirect to another site (nor put a line
    // break into the Location header).
    next.filter(|n| hearth_wasm::is_site_path(n))
        .unwrap_or_else(|| s.url("/"))
}

/// `GET /login`.
pub(crate) async fn login_form(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    if let Some(url) = crate::sso::sign_in_url(&state, params.str("next")) {
        return Ok(Redirect::to(&url).into_response());
    }
    let body = state
        .run(move |s| {
            let meta = Meta {
                title: "Sign in".into(),
                noindex: true,
                path: "/login".into(),
                ..Default::default()
            };
            render(
                s,
                &v,
                "login.html",
                meta,
                json!({"next": params.str("next"), "login": ""}),
            )
        })
        .await?;
    Ok(html(body, false))
}

pub(crate) fn session_cookie(
    state: &State,
    v: &Visitor,
    token: &str,
) -> Result<HeaderValue, Error> {
    HeaderValue::from_str(&set_cookie(
        state,
        v.secure,
        SESSION_COOKIE,
        token,
        state.config.session_ttl.as_secs() as i64,
    ))
    .map_err(|e| Error::Internal(e.to_string()))
}

/// Checks credentials with the throttles; the user on success.
///
/// Three limits, kept in the database so every server process on it
/// shares them (keys are digests: no address or login name is stored):
/// attempts per address; attempts per account *and* address (the
/// lockout: guessing from one address does not lock the owner out from
/// theirs); and attempts per account from everywhere, past which the
/// account slows down for everyone (one attempt per
/// `sign_in_account_slowdown`) instead of locking. A successful sign-in
/// gives the account back its allowance.
pub(crate) async fn check_credentials(
    state: &State,
    v: &Visitor,
    login: String,
    password: String,
) -> Result<UserId, Error> {
    crate::sso::passwords_allowed(state)?;
    let account = login.trim().to_lowercase();
    let ip = v.ip.to_string();
    state
        .run(move |s| {
            let limits = &s.config.limits;
            let within = |max| Throttle {
                max,
                per: limits.sign_in_window,
            };
            let take = |key: &str, limit| match s.forum.attempt(key, limit)? {
                Attempt::Allowed => Ok(()),
                Attempt::Refused { retry_after } => Err(Error::RateLimited { retry_after }),
            };
            // Every attempt counts against the address, refused ones included.
            take(
                &format!("sign-in/address/{}", auth::digest(&ip)),
                within(limits.sign_in_per_ip),
            )?;
            let pair = format!("sign-in/pair/{}", auth::digest(&format!("{account}\n{ip}")));
            take(&pair, within(limits.sign_in_per_account))?;
            let account_digest = auth::digest(&account);
            let account_key = format!("sign-in/account/{account_digest}");
            let slow_key = format!("sign-in/slow/{account_digest}");
            if s.forum
                .attempt(&account_key, within(limits.sign_in_per_account))?
                != Attempt::Allowed
            {
                let slow = Throttle {
                    max: 1,
                    per: limits.sign_in_account_slowdown,
                };
                take(&slow_key, slow)?;
            }
            let found = s.forum.login(&login)?;
            // Verify against a decoy when there is no account, so timing
            // does not tell which usernames exist.
            let hash = match &found {
                Some(l) => l.password_hash.clone(),
                None => crate::password::decoy_hash()?.to_string(),
            };
            if !crate::password::verify_password(&password, &hash)? {
                return Err(Error::BadCredentials);
            }
            let found = found.ok_or(Error::BadCredentials)?;
            s.forum.forget_attempts(&[&pair, &account_key, &slow_key])?;
            if !found.confirmed && crate::signup::must_confirm(s, &*s.community()?) {
                return Err(Error::Unconfirmed { email: found.email });
            }
            Ok(found.user)
        })
        .await
}

/// `POST /login`.
pub(crate) async fn login(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    params.check_csrf(&v)?;
    let login = params.str("login").unwrap_or_default();
    let password = params.str("password").unwrap_or_default();
    let next = safe_next(&state, params.str("next"));
    match check_credentials(&state, &v, login.clone(), password).await {
        Ok(user) => {
            let ttl = state.config.session_ttl;
            let ip = v.ip.to_string();
            let (token, _) = state
                .run(move |s| auth::start_session(&s.forum, s.config.community, user, ttl, &ip))
                .await?;
            let mut res = Redirect::to(&next).into_response();
            res.headers_mut()
                .append(header::SET_COOKIE, session_cookie(&state, &v, &token)?);
            Ok(res)
        }
        Err(
            e @ (Error::BadCredentials | Error::RateLimited { .. } | Error::Unconfirmed { .. }),
        ) => {
            let status = e.status();
            let message = e.public_message();
            let retry_after = e.retry_after();
            let unconfirmed = matches!(e, Error::Unconfirmed { .. });
            let body = state
                .run(move |s| {
                    let meta = Meta {
                        title: "Sign in".into(),
                        noindex: true,
                        path: "/login".into(),
                        ..Default::default()
                    };
                    render(
                        s,
                        &v,
                        "login.html",
                        meta,
                        json!({"error": message, "login": login, "next": next,
                               "unconfirmed": unconfirmed}),
                    )
                })
                .await?;
            let mut res = (status, Html(body)).into_response();
            crate::error::set_retry_after(&mut res, retry_after);
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /logout`.
pub(crate) async fn logout(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    params.check_csrf(&v)?;
    if let Via::Session { token } = v.via.clone() {
        state
            .run(move |s| auth::end_session(&s.forum, s.config.community, &token))
            .await?;
    }
    let after = state
        .config
        .discourse_connect
        .as_ref()
        .and_then(|c| c.logout_url.clone())
        .unwrap_or_else(|| state.url("/"));
    let mut res = Redirect::to(&after).into_response();
    if let Ok(h) = HeaderValue::from_str(&set_cookie(&state, v.secure, SESSION_COOKIE, "", 0)) {
        res.headers_mut().append(header::SET_COOKIE, h);
    }
    Ok(res)
}

fn signup_page(
    s: &AppState,
    v: &Visitor,
    values: Value,
    invite: Option<String>,
    error: Option<String>,
) -> Result<String, Error> {
    let closed =
        invite.is_none() && s.community()?.settings.registration == RegistrationMode::InviteOnly;
    let meta = Meta {
        title: "Sign up".into(),
        noindex: true,
        path: "/signup".into(),
        ..Default::default()
    };
    render(
        s,
        v,
        "signup.html",
        meta,
        json!({"values": values, "invite": invite, "error": error, "closed": closed,
               "min_password": auth::MIN_PASSWORD_CHARS}),
    )
}

/// `GET /signup`.
pub(crate) async fn signup_form(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    if let Some(url) = crate::sso::sign_in_url(&state, params.str("next")) {
        return Ok(Redirect::to(&url).into_response());
    }
    let body = state
        .run(move |s| signup_page(s, &v, json!({}), params.str("invite"), None))
        .await?;
    Ok(html(body, false))
}

/// `POST /signup`: creates the account, joins (or asks to join, or accepts
/// the invite), signs in — or, where sign-ups confirm their address
/// (`crate::signup`), mails the link that does so and says so.
pub(crate) async fn signup(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    params.check_csrf(&v)?;
    crate::sso::passwords_allowed(&state)?;
    let ttl = state.config.session_ttl;
    let secure_visitor = v.clone();
    let outcome = state
        .run(move |s| {
            let c = s.config.community;
            let username = params.str("username").unwrap_or_default();
            let email = params.str("email").unwrap_or_default();
            let password = params.str("password").unwrap_or_default();
            let name = params.str("name").unwrap_or_default();
            let invite = params.str("invite_code").filter(|c| !c.is_empty());
            let values = json!({"username": username, "email": email, "name": name});
            let community = s.community()?;
            if invite.is_none() && community.settings.registration == RegistrationMode::InviteOnly {
                return Ok(Err((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    signup_page(s, &v, values, None, None)?,
                )));
            }
            let confirm = crate::signup::must_confirm(s, &community);
            if confirm {
                crate::mailed_links::limit_address(s, &v.ip.to_string())?;
            }
            let user =
                match auth::new_account(&s.forum, &username, &name, &email, &password, !confirm) {
                    Ok(u) => u,
                    Err(
                        e @ Error::Engine(
                            hearth::Error::Invalid { .. } | hearth::Error::Conflict { .. },
                        ),
                    ) => {
                        return Ok(Err((
                            StatusCode::UNPROCESSABLE_ENTITY,
                            signup_page(s, &v, values, invite, Some(e.public_message()))?,
                        )));
                    }
                    Err(e) => return Err(e),
                };
            if confirm {
                crate::mailed_links::mail_signup_link(s, user.id, invite)?;
                return Ok(Err((
                    StatusCode::OK,
                    crate::mailed_links::signup_sent_page(s, &v, &user.username)?,
                )));
            }
            crate::signup::welcome(s, None, user.id, invite.as_deref())?;
            let (token, _) = auth::start_session(&s.forum, c, user.id, ttl, &v.ip.to_string())?;
            Ok(Ok(token))
        })
        .await?;
    match outcome {
        Ok(token) => {
            let mut res = Redirect::to(&state.url("/")).into_response();
            res.headers_mut().append(
                header::SET_COOKIE,
                session_cookie(&state, &secure_visitor, &token)?,
            );
            Ok(res)
        }
        Err((status, page)) => Ok((status, Html(page)).into_response()),
    }
}

/// `GET /invites/{code}`.
pub(crate) async fn invite_form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(code): Path<String>,
) -> PageResult {
    invite_code(&code)?;
    let body = state
        .run(move |s| {
            let meta = Meta {
                title: "Invitation".into(),
                noindex: true,
                path: "/invites".into(),
                ..Default::default()
            };
            render(s, &v, "invite.html", meta, json!({"code": code}))
        })
        .await?;
    Ok(html(body, false))
}

/// Codes are URL-safe letters, digits, `-` and `_`: a segment with a dot
/// (Discourse's `/invites/create-multiple.json`) is a path this server
/// does not have, not a wrong code.
fn invite_code(code: &str) -> Result<(), PageError> {
    if code.contains('.') {
        return Err(PageError(Error::Engine(hearth::Error::NotFound {
            what: "page",
        })));
    }
    Ok(())
}

/// `POST /invites/{code}`: a signed-in user accepts.
pub(crate) async fn accept_invite(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(code): Path<String>,
    params: Params,
) -> PageResult {
    invite_code(&code)?;
    let actor = params.writer(&v)?;
    let next = state
        .run(move |s| {
            let member = s.forum.accept_invite(&actor, &code)?;
            // The invite's topic, if the new member may read it.
            let topic = s
                .forum
                .invite_topic(&code)?
                .and_then(|t| s.forum.topic_only(&actor, member.community, t).ok());
            Ok(match topic {
                Some(t) => s.url(&format!("/t/{}/{}", t.slug, t.id.0)),
                None => s.url("/"),
            })
        })
        .await?;
    Ok(Redirect::to(&next).into_response())
}

/// `GET /plugins/{name}` and `/plugins/{name}/{*rest}`: a plugin's route.
pub(crate) async fn plugin_route(
    state: State,
    v: Visitor,
    name: String,
    rest: String,
    params: Params,
) -> PageResult {
    let query: Vec<(String, String)> = params
        .map
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
        .collect();
    let out = state
        .run(move |s| {
            let Some(host) = &s.plugins else {
                return Err(hearth::Error::NotFound { what: "page" }.into());
            };
            let path = format!("/{rest}");
            let forms = action_forms(s, &v);
            let Some(res) =
                host.route(&v.actor, s.config.community, &name, &path, &query, &forms)?
            else {
                return Err(hearth::Error::NotFound { what: "page" }.into());
            };
            if res.content_type.starts_with("application/json") {
                return Ok((res.status, res.content_type, res.body));
            }
            let meta = Meta {
                title: capitalize(&name.replace('-', " ")),
                noindex: true,
                path: format!("/plugins/{name}{path}"),
                ..Default::default()
            };
            let body = render(
                s,
                &v,
                "plugin.html",
                meta,
                json!({"plugin": name, "body": res.body}),
            )?;
            Ok((res.status, "text/html; charset=utf-8".into(), body))
        })
        .await?;
    let (status, content_type, body) = out;
    let mut res = (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), body).into_response();
    if let Ok(ct) = HeaderValue::from_str(&content_type) {
        res.headers_mut().insert(header::CONTENT_TYPE, ct);
    }
    Ok(res)
}

/// The fallback for unknown paths.
pub(crate) async fn not_found() -> PageError {
    PageError(Error::Engine(hearth::Error::NotFound { what: "page" }))
}

/// Middleware: replaces the body of a failed page with the full error page
/// (layout, plugin footer), keeping the status.
pub(crate) async fn error_pages(
    AxState(state): AxState<State>,
    req: Request,
    next: Next,
) -> Response {
    let visitor = req.extensions().get::<Visitor>().cloned();
    let request_id = req
        .extensions()
        .get::<crate::request_id::RequestId>()
        .map(|r| r.0.clone());
    let path = req.uri().path().to_string();
    let res = next.run(req).await;
    let Some(failure) = res.extensions().get::<PageFailure>().cloned() else {
        return res;
    };
    let Some(v) = visitor else { return res };
    let status = failure.status;
    let heading = match status {
        StatusCode::NOT_FOUND => "Page not found",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::TOO_MANY_REQUESTS => "Slow down",
        StatusCode::UNAUTHORIZED => "Sign-in failed",
        s if s.is_server_error() => "Something went wrong",
        _ => "That did not work",
    };
    let message = failure.message.clone();
    let rendered = state
        .run(move |s| {
            let meta = Meta {
                title: heading.into(),
                noindex: true,
                path,
                ..Default::default()
            };
            render(
                s,
                &v,
                "error.html",
                meta,
                json!({"heading": heading, "message": message, "status": status.as_u16(),
                       "request_id": request_id}),
            )
        })
        .await;
    let body = match rendered {
        Ok(b) => b,
        // The error page itself failed (a broken template override): plain text.
        Err(_) => failure.message.clone(),
    };
    let mut out = (status, Html(body)).into_response();
    out.headers_mut()
        .insert("x-robots-tag", HeaderValue::from_static("noindex"));
    crate::error::set_retry_after(&mut out, failure.retry_after);
    out
}

/// `GET /letter_avatar/{username}/{size}`: an SVG with the initial.
pub(crate) async fn letter_avatar(Path((username, size)): Path<(String, String)>) -> Response {
    let size: u32 = size
        .trim_end_matches(".svg")
        .trim_end_matches(".png")
        .parse()
        .unwrap_or(48)
        .clamp(16, 512);
    let initial = username
        .chars()
        .next()
        .map(|c| c.to_uppercase().to_string())
        .unwrap_or_default();
    let color = api::shape::color_of(&username);
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{size}\" height=\"{size}\" viewBox=\"0 0 100 100\">\
         <rect width=\"100\" height=\"100\" fill=\"#{color}\"/>\
         <text x=\"50\" y=\"50\" dy=\".35em\" text-anchor=\"middle\" font-family=\"sans-serif\" font-size=\"50\" fill=\"#fff\">{}</text></svg>",
        crate::templates::escape(&initial)
    );
    let mut res = svg.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    res
}
