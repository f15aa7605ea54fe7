//! The knowledge base on pages: the library ranked by behaviour (`/kb`,
//! and knowledge-base category pages), "was this helpful?" on articles,
//! writing and revising with every revision kept (`/kb/new`,
//! `/kb/{id}/edit`), publishing a revision, promoting a solved thread,
//! and search click-throughs (`/search/click`).

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth::{Actor, Article, ArticleStatus, CategoryId, CategoryKind, NewArticle, TopicId};
use serde_json::{Value, json};

use crate::api::{id_of, page_request};
use crate::error::{Error, PageError, fail, json_response};
use crate::pages::{Meta, act, html, public_community, render};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::{Visitor, WantsJson};

type PageResult = Result<Response, PageError>;

/// Whether the visitor writes articles (staff and experts).
pub(crate) fn is_writer(s: &AppState, actor: &Actor) -> bool {
    match actor {
        Actor::User(u) => s
            .forum
            .member(actor, s.config.community, *u)
            .is_ok_and(|m| m.role.is_official() || m.role.is_moderator()),
        _ => false,
    }
}

fn article_out(s: &AppState, a: &Article) -> Value {
    let topic_url = a.topic.map(|t| s.url(&format!("/t/{}", t.0)));
    json!({
        "id": a.id, "title": a.title, "status": match a.status {
            ArticleStatus::Draft => "draft", ArticleStatus::Published => "published" },
        "published_revision": a.published_revision, "latest_revision": a.latest_revision,
        "helpful": a.helpful, "not_helpful": a.not_helpful, "views": a.views,
        "search_clicks": a.search_clicks, "score": (a.score * 100.0).round() / 100.0,
        "my_vote": a.my_vote, "url": topic_url,
        "edit_url": s.url(&format!("/kb/{}/edit", a.id)),
        "has_draft": a.published_revision.is_some_and(|p| p < a.latest_revision),
    })
}

/// The ranked list for a knowledge-base category page (or the library).
pub(crate) fn library(
    s: &AppState,
    v: &Visitor,
    category: Option<CategoryId>,
    params: &Params,
) -> Result<Value, Error> {
    let writer = is_writer(s, &v.actor);
    let drafts = writer && params.bool("drafts").unwrap_or(true);
    let (page, n) = page_request(params, 30, |req| {
        Ok(s.forum
            .articles(&v.actor, s.config.community, category, drafts, req)?)
    })?;
    let rows: Vec<Value> = page.items.iter().map(|a| article_out(s, a)).collect();
    let next = page.next.map(|_| format!("?page={}", n + 1));
    let new_url = writer.then(|| match category {
        Some(c) => s.url(&format!("/kb/new?category={}", c.0)),
        None => s.url("/kb/new"),
    });
    Ok(json!({"rows": rows, "next": next, "new_url": new_url, "writer": writer}))
}

/// `GET /kb` (and `/kb.json`): every knowledge-base article the visitor
/// may read, best first.
pub(crate) async fn index(
    AxState(state): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let result = state
        .run(move |s| {
            let list = library(s, &v, None, &params)?;
            if json {
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({"articles": list["rows"]}),
                ));
            }
            let public = public_community(s);
            let meta = Meta {
                title: "Knowledge base".into(),
                description: "Answers the community has distilled, best first.".into(),
                canonical: public.then(|| "/kb".to_string()),
                noindex: !public,
                path: "/kb".into(),
                ..Default::default()
            };
            let body = render(s, &v, "kb.html", meta, json!({"kb": list}))?;
            Ok(html(body, public))
        })
        .await;
    result.unwrap_or_else(|e| fail(e, json))
}

/// The article box of a topic page: helpful votes on articles, the link
/// to the article distilled from a thread, the promote form for writers.
pub(crate) fn topic_box(s: &AppState, v: &Visitor, topic: TopicId, solved: bool) -> Option<Value> {
    let c = s.config.community;
    let writer = is_writer(s, &v.actor);
    let article = s.forum.article_for_topic(&v.actor, c, topic).ok().flatten();
    let kb_categories: Vec<Value> = if writer && solved {
        s.forum
            .categories(&v.actor, c)
            .unwrap_or_default()
            .into_iter()
            .filter(|x| x.kind == CategoryKind::KnowledgeBase)
            .map(|x| json!({"id": x.id.0, "name": x.name}))
            .collect()
    } else {
        Vec::new()
    };
    match article {
        Some(a) if a.topic == Some(topic) => Some(json!({
            "is_article": true, "article": article_out(s, &a), "writer": writer,
            "can_vote": matches!(v.actor, Actor::User(_)),
        })),
        Some(a) => Some(json!({
            "is_article": false, "distilled": article_out(s, &a),
            "published": a.status == ArticleStatus::Published, "writer": writer,
        })),
        None if !kb_categories.is_empty() => Some(json!({
            "is_article": false, "promote": kb_categories, "writer": writer,
        })),
        None => None,
    }
}

/// `POST /kb/{id}/helpful` (`helpful` = yes | no).
pub(crate) async fn rate(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = id_of(&id)?;
    act(state, v, params, move |s, actor, params| {
        let helpful = match params.str("helpful").as_deref() {
            Some("yes") => true,
            Some("no") => false,
            _ => return Err(Error::BadRequest("helpful must be yes or no".into())),
        };
        let a = s
            .forum
            .rate_article(&actor, s.config.community, id, helpful)?;
        Ok(a.topic
            .map(|t| format!("/t/{}", t.0))
            .unwrap_or_else(|| "/kb".into()))
    })
    .await
}

/// `POST /t/{id}/promote` (`category_id`): a solved thread becomes a draft
/// article; the writer lands in its editor.
pub(crate) async fn promote(state: State, v: Visitor, topic: TopicId, params: Params) -> Response {
    act(state, v, params, move |s, actor, params| {
        let category = CategoryId(
            params
                .int("category_id")?
                .ok_or_else(|| Error::BadRequest("param is missing: category_id".into()))?,
        );
        let a = s
            .forum
            .promote_to_article(&actor, s.config.community, topic, category)?;
        Ok(format!("/kb/{}/edit", a.id))
    })
    .await
    .unwrap_or_else(|e| e.into_response())
}

fn kb_categories(s: &AppState, actor: &Actor) -> Result<Vec<Value>, Error> {
    Ok(s.forum
        .categories(actor, s.config.community)?
        .into_iter()
        .filter(|x| x.kind == CategoryKind::KnowledgeBase)
        .map(|x| json!({"id": x.id.0, "name": x.name}))
        .collect())
}

fn editor_meta(title: &str, path: String) -> Meta {
    Meta {
        title: title.into(),
        noindex: true,
        path,
        ..Default::default()
    }
}

/// `GET /kb/new?category=…`: a blank article (writers).
pub(crate) async fn new_form(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    let body = state
        .run(move |s| {
            if !is_writer(s, &v.actor) {
                return Err(hearth::Error::Forbidden {
                    reason: "only staff and experts write articles".into(),
                }
                .into());
            }
            let ctx = json!({
                "categories": kb_categories(s, &v.actor)?,
                "category": params.int("category")?.unwrap_or(0),
                "article": null, "revisions": [], "draft": {"title": "", "body": ""},
            });
            render(
                s,
                &v,
                "kb_edit.html",
                editor_meta("New article", "/kb/new".into()),
                ctx,
            )
        })
        .await?;
    Ok(html(body, false))
}

/// `POST /kb/new`: creates the draft (and publishes it with `publish`);
/// an attached picture or file goes at the end of the body.
pub(crate) async fn create(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    act(state, v, params, |s, actor, mut params| {
        let c = s.config.community;
        let body = params.str("body").unwrap_or_default();
        let body = crate::pages::with_attachment(s, &actor, body, params.file.take())?;
        let a = s.forum.create_article(
            &actor,
            c,
            NewArticle {
                category: CategoryId(params.int("category_id")?.unwrap_or(0)),
                title: params.str("title").unwrap_or_default(),
                body,
            },
        )?;
        if params.bool("publish").unwrap_or(false) {
            s.forum.publish_article(&actor, c, a.id, None)?;
        }
        Ok(format!("/kb/{}/edit", a.id))
    })
    .await
}

/// `GET /kb/{id}/edit`: the newest revision in the editor, and every
/// revision with a button to publish it (writers).
pub(crate) async fn edit_form(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = id_of(&id)?;
    let body = state
        .run(move |s| {
            let c = s.config.community;
            let a = s.forum.article(&v.actor, c, id)?;
            let revisions = s.forum.article_revisions(&v.actor, c, id)?;
            let draft = revisions
                .first()
                .map(|r| json!({"title": r.title, "body": r.body}))
                .unwrap_or(json!({"title": "", "body": ""}));
            let revs: Vec<Value> = revisions
                .iter()
                .map(|r| {
                    json!({"number": r.number, "title": r.title, "note": r.note,
                           "published": r.published,
                           "created_at": crate::api::shape::ts(r.created_at)})
                })
                .collect();
            let ctx = json!({
                "categories": kb_categories(s, &v.actor)?, "category": a.category.0,
                "article": article_out(s, &a), "revisions": revs, "draft": draft,
                "notice": params.str("notice"),
            });
            render(
                s,
                &v,
                "kb_edit.html",
                editor_meta(&a.title, format!("/kb/{id}/edit")),
                ctx,
            )
        })
        .await?;
    Ok(html(body, false))
}

/// `POST /kb/{id}/edit`: a new revision (`title`, `body`, `note`, an
/// attached picture or file at the end), published at once with
/// `publish`.
pub(crate) async fn revise(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = id_of(&id)?;
    act(state, v, params, move |s, actor, mut params| {
        let c = s.config.community;
        let body = params.str("body").unwrap_or_default();
        let body = crate::pages::with_attachment(s, &actor, body, params.file.take())?;
        let rev = s.forum.revise_article(
            &actor,
            c,
            id,
            &params.str("title").unwrap_or_default(),
            &body,
            &params.str("note").unwrap_or_default(),
        )?;
        let notice = if params.bool("publish").unwrap_or(false) {
            s.forum.publish_article(&actor, c, id, Some(rev.number))?;
            "Published."
        } else {
            "Saved as a draft."
        };
        Ok(format!("/kb/{id}/edit?notice={notice}"))
    })
    .await
}

/// `POST /kb/{id}/publish` (`number`): publishes that revision.
pub(crate) async fn publish(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(id): Path<String>,
    params: Params,
) -> PageResult {
    let id = id_of(&id)?;
    act(state, v, params, move |s, actor, params| {
        let number = params.int("number")?;
        s.forum
            .publish_article(&actor, s.config.community, id, number)?;
        Ok(format!("/kb/{id}/edit?notice=Published."))
    })
    .await
}

/// `GET /search/click?topic=…&post=…`: counts a search result that led to
/// a knowledge-base article, then goes to the result.
pub(crate) async fn search_click(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> PageResult {
    let topic = TopicId(
        params
            .int("topic")?
            .ok_or_else(|| Error::BadRequest("param is missing: topic".into()))?,
    );
    let post = params.int("post")?.unwrap_or(1);
    let to = state
        .run(move |s| {
            let c = s.config.community;
            let t = s.forum.topic_only(&v.actor, c, topic)?;
            if let Err(e) = s.forum.record_search_click(&v.actor, c, topic) {
                tracing::debug!(error = %e, "search click not recorded");
            }
            Ok(s.url(&format!("/t/{}/{}#post-{post}", t.slug, t.id.0)))
        })
        .await?;
    Ok(Redirect::to(&to).into_response())
}
