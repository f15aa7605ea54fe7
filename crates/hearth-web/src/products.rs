//! Products on pages and in JSON: the catalogue (`/products`), a product's
//! page with the community content about it (`/products/{sku}`), counted
//! outbound links (`/products/{sku}/go`), tagging a topic with products,
//! and adding products from the admin screen.

use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hearth::{NewProduct, PageRequest, Product, TopicId};
use serde_json::{Value, json};

use crate::api::page_request;
use crate::error::{Error, PageError, fail, json_response};
use crate::pages::{Meta, act, origin, public_community, render};
use crate::params::Params;
use crate::state::{AppState, State};
use crate::visitor::{Visitor, WantsJson};

fn product_out(s: &AppState, p: &Product, from: Option<TopicId>) -> Value {
    let go = match from {
        Some(t) => s.url(&format!("/products/{}/go?topic={}", p.sku, t.0)),
        None => s.url(&format!("/products/{}/go", p.sku)),
    };
    json!({"sku": p.sku, "name": p.name, "url": p.url, "image_url": p.image_url,
           "description": p.description, "href": s.url(&format!("/products/{}", p.sku)),
           "go": go})
}

/// The products box of a topic page (empty when none are tagged).
pub(crate) fn topic_box(s: &AppState, v: &Visitor, topic: TopicId) -> Vec<Value> {
    s.forum
        .topic_products(&v.actor, s.config.community, topic)
        .unwrap_or_default()
        .iter()
        .map(|p| product_out(s, p, Some(topic)))
        .collect()
}

/// `GET /products` and `/products.json`.
pub(crate) async fn catalogue(
    AxState(state): AxState<State>,
    v: Visitor,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let result = state
        .run(move |s| {
            let (page, n) = page_request(&params, 100, |req| {
                Ok(s.forum.products(&v.actor, s.config.community, req)?)
            })?;
            let items: Vec<Value> = page.items.iter().map(|p| product_out(s, p, None)).collect();
            let more = page
                .next
                .map(|_| s.url(&format!("/products?page={}", n + 1)));
            if json {
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({"products": items, "load_more_products": more}),
                ));
            }
            let public = public_community(s);
            let meta = Meta {
                title: "Products".into(),
                description: "What the community says about our products.".into(),
                canonical: (public && n == 0).then(|| "/products".to_string()),
                noindex: !public,
                path: "/products".into(),
                ..Default::default()
            };
            let body = render(
                s,
                &v,
                "products.html",
                meta,
                json!({"products": items, "next_url": more}),
            )?;
            Ok(crate::pages::html(body, public))
        })
        .await;
    result.unwrap_or_else(|e| fail(e, json))
}

/// `GET /products/{sku}` (and `.json`): the product and the topics about it
/// that the visitor may read.
pub(crate) async fn product(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(sku): Path<String>,
    WantsJson(json): WantsJson,
    params: Params,
) -> Response {
    let sku = sku.strip_suffix(".json").unwrap_or(&sku).to_string();
    let result = state
        .run(move |s| {
            let c = s.config.community;
            let p = s.forum.product(&v.actor, c, &sku)?;
            let (page, n) = page_request(&params, 30, |req| {
                Ok(s.forum.product_topics(&v.actor, c, &sku, req)?)
            })?;
            let topics: Vec<Value> = page
                .items
                .iter()
                .map(|t| {
                    json!({"id": t.id.0, "slug": t.slug, "title": t.title, "replies": t.reply_count,
                           "solved": t.accepted_answer.is_some(),
                           "url": s.url(&format!("/t/{}/{}", t.slug, t.id.0))})
                })
                .collect();
            let more = page
                .next
                .map(|_| s.url(&format!("/products/{sku}?page={}", n + 1)));
            let out = product_out(s, &p, None);
            if json {
                return Ok(json_response(
                    StatusCode::OK,
                    &json!({"product": out, "topics": topics, "load_more_topics": more}),
                ));
            }
            let public = public_community(s);
            let path = format!("/products/{sku}");
            let meta = Meta {
                title: p.name.clone(),
                description: if p.description.is_empty() {
                    format!("What members say about {}.", p.name)
                } else {
                    p.description.clone()
                },
                canonical: (public && n == 0).then(|| path.clone()),
                noindex: !public,
                jsonld: public.then(|| {
                    let mut j = json!({
                        "@context": "https://schema.org", "@type": "Product",
                        "name": p.name, "sku": p.sku, "url": p.url,
                    });
                    if let Some(img) = &p.image_url {
                        j["image"] = json!(img);
                    }
                    if let Some(o) = origin(s) {
                        j["mainEntityOfPage"] = json!(format!("{o}{}", s.url(&path)));
                    }
                    j
                }),
                path,
                ..Default::default()
            };
            let body = render(
                s,
                &v,
                "product.html",
                meta,
                json!({"product": out, "topics": topics, "next_url": more}),
            )?;
            Ok(crate::pages::html(body, public))
        })
        .await;
    result.unwrap_or_else(|e| fail(e, json))
}

/// `GET /products/{sku}/go?topic=…`: counts the click, then sends the
/// visitor to the shop.
pub(crate) async fn go(
    AxState(state): AxState<State>,
    v: Visitor,
    Path(sku): Path<String>,
    params: Params,
) -> Result<Response, PageError> {
    let topic = params.int("topic")?.map(TopicId);
    let url = state
        .run(move |s| {
            Ok(s.forum
                .record_product_click(&v.actor, s.config.community, &sku, topic)?)
        })
        .await?;
    let mut res = Redirect::to(&url).into_response();
    res.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(res)
}

/// `POST /t/{id}/products` (`skus`, comma-separated): tags the topic's
/// first post (its author or a moderator).
pub(crate) async fn tag_topic(state: State, v: Visitor, id: TopicId, params: Params) -> Response {
    act(state, v, params, move |s, actor, params| {
        let c = s.config.community;
        let view = s.forum.topic(&actor, c, id, &PageRequest::first(1))?;
        let first = view
            .posts
            .items
            .first()
            .ok_or(hearth::Error::NotFound { what: "post" })?;
        let raw = params.str("skus").unwrap_or_default();
        let skus: Vec<&str> = raw
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect();
        s.forum.tag_products(&actor, c, first.id, &skus)?;
        Ok(format!("/t/{}/{}", view.topic.slug, view.topic.id.0))
    })
    .await
    .unwrap_or_else(|e| e.into_response())
}

/// `POST /admin/products`: adds a product (or, with `update`, replaces
/// the one with that SKU).
pub(crate) async fn admin_save(
    AxState(state): AxState<State>,
    v: Visitor,
    params: Params,
) -> Result<Response, PageError> {
    act(state, v, params, |s, actor, params| {
        let product = NewProduct {
            sku: params.need("sku")?.trim().to_string(),
            name: params.need("name")?,
            url: params.need("url")?.trim().to_string(),
            image_url: params
                .str("image_url")
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty()),
            description: params.str("description").unwrap_or_default(),
        };
        let c = s.config.community;
        if params.bool("update").unwrap_or(false) {
            s.forum.update_product(&actor, c, product)?;
        } else {
            s.forum.create_product(&actor, c, product)?;
        }
        Ok("/admin?notice=Product+saved.#products".into())
    })
    .await
}

/// The admin screen's product rows.
pub(crate) fn admin_rows(s: &AppState, v: &Visitor) -> Result<Vec<Value>, Error> {
    Ok(s.forum
        .products(&v.actor, s.config.community, &PageRequest::first(100))?
        .items
        .iter()
        .map(|p| product_out(s, p, None))
        .collect())
}
