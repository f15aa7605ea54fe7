//! What search engines see: `robots.txt`, `sitemap.xml` (public content
//! only, read as a guest so the engine's permission check decides), and
//! schema.org JSON-LD for topics.

use axum::extract::State as AxState;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use hearth::{Actor, CategoryKind, PageRequest, Post, Topic, TopicFilter};
use serde_json::{Value, json};

use crate::api::shape::ts;
use crate::error::{Error, PageError};
use crate::pages::{origin, public_community};
use crate::state::State;
use crate::templates::escape;

/// Most URLs in one sitemap file (the protocol's limit).
const SITEMAP_MAX: usize = 50_000;

/// Makes JSON safe inside a `<script>` element.
pub(crate) fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn person(p: &hearth::UserRef) -> Value {
    json!({ "@type": "Person", "name": if p.display_name.is_empty() { &p.username } else { &p.display_name } })
}

fn text_of(post: &Post) -> String {
    post.source.chars().take(5000).collect()
}

/// `QAPage` for a question with an accepted answer, else
/// `DiscussionForumPosting`.
pub(crate) fn topic_jsonld(
    url: &str,
    topic: &Topic,
    kind: CategoryKind,
    posts: &[Post],
    accepted: Option<&Post>,
) -> Value {
    let first = posts.first();
    let comments: Vec<Value> = posts
        .iter()
        .skip(1)
        .take(20)
        .map(|p| {
            json!({
                "@type": "Comment",
                "text": text_of(p),
                "datePublished": ts(p.created_at),
                "author": person(&p.author),
                "url": format!("{url}#post-{}", p.post_number),
            })
        })
        .collect();
    match (kind, accepted) {
        (CategoryKind::QuestionAndAnswer, Some(answer)) => json!({
            "@context": "https://schema.org",
            "@type": "QAPage",
            "mainEntity": {
                "@type": "Question",
                "name": topic.title,
                "text": first.map(text_of).unwrap_or_default(),
                "answerCount": topic.reply_count,
                "datePublished": ts(topic.created_at),
                "author": person(&topic.author),
                "acceptedAnswer": {
                    "@type": "Answer",
                    "text": text_of(answer),
                    "datePublished": ts(answer.created_at),
                    "upvoteCount": answer.like_count,
                    "url": format!("{url}#post-{}", answer.post_number),
                    "author": person(&answer.author),
                },
            }
        }),
        _ => json!({
            "@context": "https://schema.org",
            "@type": "DiscussionForumPosting",
            "headline": topic.title,
            "text": first.map(text_of).unwrap_or_default(),
            "url": url,
            "datePublished": ts(topic.created_at),
            "dateModified": ts(topic.bumped_at),
            "author": person(&topic.author),
            "interactionStatistic": {
                "@type": "InteractionCounter",
                "interactionType": "https://schema.org/LikeAction",
                "userInteractionCount": topic.like_count,
            },
            "comment": comments,
        }),
    }
}

/// `GET /robots.txt`.
pub(crate) async fn robots(AxState(state): AxState<State>) -> Result<Response, PageError> {
    let body = state
        .run(|s| {
            let base = &s.config.base_path;
            Ok(if public_community(s) {
                let sitemap = origin(s)
                    .map(|o| format!("Sitemap: {o}{base}/sitemap.xml\n"))
                    .unwrap_or_default();
                format!(
                    "User-agent: *\nDisallow: {base}/search\nDisallow: {base}/u\nDisallow: {base}/login\n\
                     Disallow: {base}/signup\nDisallow: {base}/new-topic\nDisallow: {base}/invites/\n\
                     Disallow: {base}/admin\nDisallow: {base}/review\n{sitemap}"
                )
            } else {
                format!("User-agent: *\nDisallow: {base}/\n")
            })
        })
        .await?;
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    Ok(res)
}

/// `GET /sitemap.xml`: the categories and topics a guest may read.
pub(crate) async fn sitemap(AxState(state): AxState<State>) -> Result<Response, PageError> {
    let body = state
        .run(|s| {
            let c = s.config.community;
            let origin = origin(s).unwrap_or_default();
            let mut urls: Vec<(String, Option<String>)> = Vec::new();
            if public_community(s) {
                urls.push((s.url("/"), None));
                match s.forum.categories(&Actor::Guest, c) {
                    Ok(cats) => {
                        for cat in cats {
                            urls.push((s.url(&format!("/c/{}/{}", cat.slug, cat.id.0)), None));
                        }
                    }
                    Err(hearth::Error::NotFound { .. } | hearth::Error::Forbidden { .. }) => {}
                    Err(e) => return Err(Error::from(e)),
                }
                let mut req = PageRequest::first(100);
                'pages: loop {
                    let page = match s.forum.latest(&Actor::Guest, c, &TopicFilter::default(), &req) {
                        Ok(p) => p,
                        Err(hearth::Error::NotFound { .. } | hearth::Error::Forbidden { .. }) => break,
                        Err(e) => return Err(e.into()),
                    };
                    for t in &page.items {
                        if t.unlisted {
                            continue;
                        }
                        urls.push((s.url(&format!("/t/{}/{}", t.slug, t.id.0)), Some(ts(t.bumped_at))));
                        if urls.len() >= SITEMAP_MAX {
                            break 'pages;
                        }
                    }
                    match page.next {
                        Some(cur) => req = PageRequest::after(cur, 100),
                        None => break,
                    }
                }
            }
            let mut xml = String::from(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n",
            );
            for (path, lastmod) in urls {
                xml.push_str("<url><loc>");
                xml.push_str(&escape(&format!("{origin}{path}")));
                xml.push_str("</loc>");
                if let Some(m) = lastmod {
                    xml.push_str("<lastmod>");
                    xml.push_str(&m);
                    xml.push_str("</lastmod>");
                }
                xml.push_str("</url>\n");
            }
            xml.push_str("</urlset>\n");
            Ok(xml)
        })
        .await?;
    let mut res = body.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/xml; charset=utf-8"),
    );
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_cannot_close_the_script_element() {
        let s = script_safe(r#"{"t":"</script><script>alert(1)</script>"}"#);
        assert!(!s.contains("</script"));
        let back: Value = serde_json::from_str(&s).expect("still JSON");
        assert_eq!(back["t"], "</script><script>alert(1)</script>");
    }
}
