//! Full-text search (SQLite FTS5, bm25) and similar-topic suggestions.
//!
//! Every query is filtered in SQL to the categories the actor may read, so
//! neither results nor totals reveal private content.

use rusqlite::{params_from_iter, types::Value};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::category::CategoryKind;
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CategoryId, CommunityId, PostId, TopicId};
use crate::page::{Cursor, PageRequest};
use crate::permissions::{Actor, Viewer};
use crate::topic::UserRef;

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words to find; every word must match, the last may be a prefix.
    pub text: String,
    /// Only in this category.
    pub category: Option<CategoryId>,
    /// Only topics with this tag.
    pub tag: Option<String>,
    /// Only posts by this username.
    pub author: Option<String>,
    /// Only solved (`Some(true)`) or unsolved (`Some(false)`) topics.
    pub solved: Option<bool>,
    /// Only in categories of this kind.
    pub kind: Option<CategoryKind>,
    /// Which page.
    pub page: PageRequest,
}

impl SearchQuery {
    /// A query for these words with no filters.
    pub fn new(text: &str) -> Self {
        SearchQuery {
            text: text.to_string(),
            ..SearchQuery::default()
        }
    }
}

/// One matching post.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchHit {
    /// The post.
    pub post: PostId,
    /// Its position in the topic.
    pub post_number: i64,
    /// Its topic.
    pub topic: TopicId,
    /// The topic's title.
    pub title: String,
    /// The topic's slug.
    pub slug: String,
    /// The category.
    pub category: CategoryId,
    /// The author.
    pub author: UserRef,
    /// An excerpt with the matches in `<mark>`; everything else escaped.
    pub snippet: String,
    /// Whether the topic has an accepted answer.
    pub solved: bool,
    /// When the post was written.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// bm25 relevance (lower is better).
    pub score: f64,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The hits, best first.
    pub hits: Vec<SearchHit>,
    /// How many posts match in all (only ones the actor may read).
    pub total: u64,
    /// Where the next page starts.
    pub next: Option<Cursor>,
}

/// A suggestion for a draft title: a solved topic or a knowledge-base article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarTopic {
    /// The topic.
    pub topic: TopicId,
    /// Its title.
    pub title: String,
    /// Its slug.
    pub slug: String,
    /// Its category.
    pub category: CategoryId,
    /// The category's kind.
    pub kind: CategoryKind,
    /// Whether it has an accepted answer.
    pub solved: bool,
    /// An excerpt with the matches in `<mark>`.
    pub snippet: String,
    /// bm25 relevance (lower is better).
    pub score: f64,
}

const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "do", "does", "for", "from",
    "how", "i", "if", "in", "into", "is", "it", "my", "no", "not", "of", "on", "or", "so", "that",
    "the", "their", "then", "there", "this", "to", "was", "what", "when", "where", "which", "who",
    "why", "will", "with", "you", "your",
];

fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .take(32)
        .map(str::to_lowercase)
        .collect()
}

/// An FTS5 query where every word must match; the last may be a prefix.
fn all_words_query(text: &str) -> Option<String> {
    let w = words(text);
    let n = w.len();
    if n == 0 {
        return None;
    }
    Some(
        w.iter()
            .enumerate()
            .map(|(i, w)| {
                if i + 1 == n && w.chars().count() >= 2 {
                    format!("\"{w}\"*")
                } else {
                    format!("\"{w}\"")
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// An FTS5 query where any significant word may match.
fn any_words_query(text: &str) -> Option<String> {
    let w: Vec<String> = words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 2 && !STOP_WORDS.contains(&w.as_str()))
        .map(|w| format!("\"{w}\""))
        .collect();
    (!w.is_empty()).then(|| w.join(" OR "))
}

const MARK_OPEN: char = '\u{2}';
const MARK_CLOSE: char = '\u{3}';

/// Escapes an FTS snippet and turns the match markers into `<mark>`.
fn snippet_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 32);
    for c in raw.chars() {
        match c {
            MARK_OPEN => out.push_str("<mark>"),
            MARK_CLOSE => out.push_str("</mark>"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The permission and visibility filter shared by search and suggestions.
fn visible_filter(viewer: &Viewer) -> String {
    let unlisted = if viewer.is_moderator() {
        ""
    } else {
        " AND t.unlisted = 0"
    };
    format!(
        "t.community_id = {} AND t.category_id IN {} AND t.deleted_at IS NULL AND p.deleted_at IS NULL{unlisted}",
        viewer.community.0,
        viewer.readable_sql()
    )
}

impl Forum {
    /// Searches posts. Results and the total count include only what
    /// `actor` may read.
    pub fn search(
        &self,
        actor: &Actor,
        community: CommunityId,
        q: &SearchQuery,
    ) -> Result<SearchResults> {
        let Some(fts) = all_words_query(&q.text) else {
            return Ok(SearchResults {
                hits: Vec::new(),
                total: 0,
                next: None,
            });
        };
        self.read(|conn, now| {
            let viewer = Viewer::load(conn, actor, community, now)?;
            let mut filter = visible_filter(&viewer);
            let mut args: Vec<Value> = vec![Value::Text(fts)];
            if let Some(c) = q.category {
                viewer.category(c)?;
                filter.push_str(&format!(" AND t.category_id = {c}"));
            }
            if let Some(tag) = &q.tag {
                args.push(Value::Text(tag.to_lowercase()));
                filter.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM topic_tags g WHERE g.topic_id = t.id AND g.tag = ?{})",
                    args.len()
                ));
            }
            if let Some(author) = &q.author {
                args.push(Value::Text(author.to_ascii_lowercase()));
                filter.push_str(&format!(" AND u.username_lower = ?{}", args.len()));
            }
            match q.solved {
                Some(true) => filter.push_str(" AND t.solved_post_id IS NOT NULL"),
                Some(false) => filter.push_str(" AND t.solved_post_id IS NULL"),
                None => {}
            }
            if let Some(kind) = q.kind {
                let ids: Vec<i64> = viewer
                    .categories
                    .iter()
                    .filter(|c| c.kind == kind)
                    .map(|c| c.id.0)
                    .collect();
                filter.push_str(&format!(
                    " AND t.category_id IN {}",
                    crate::permissions::sql_id_list(ids.into_iter())
                ));
            }
            let from = "FROM search_index s JOIN posts p ON p.id = s.rowid
                        JOIN topics t ON t.id = p.topic_id JOIN users u ON u.id = p.user_id";
            let total: i64 = conn
                .prepare_cached(&format!("SELECT count(*) {from} WHERE search_index MATCH ?1 AND {filter}"))?
                .query_row(params_from_iter(args.iter()), |r| r.get(0))
                .map_err(fts_error)?;
            let limit = q.page.limit();
            let keyset = match &q.page.after {
                Some(c) => {
                    let [score_bits, id] = c.parts::<2>()?;
                    let score = f64::from_bits(score_bits as u64);
                    args.push(Value::Real(score));
                    args.push(Value::Integer(id));
                    let (s, i) = (args.len() - 1, args.len());
                    format!(" AND (score > ?{s} OR (score = ?{s} AND post_id > ?{i}))")
                }
                None => String::new(),
            };
            args.push(Value::Integer(limit as i64 + 1));
            let sql = format!(
                "SELECT * FROM (
                   SELECT p.id AS post_id, p.post_number, t.id, t.title, t.slug, t.category_id,
                          u.id, u.username, u.display_name, u.avatar_url,
                          snippet(search_index, 1, char(2), char(3), '…', 24),
                          t.solved_post_id IS NOT NULL, p.created_at,
                          bm25(search_index, 4.0, 1.0) AS score
                   {from} WHERE search_index MATCH ?1 AND {filter}
                 ) AS x
                 WHERE 1 {keyset}
                 ORDER BY score, post_id LIMIT ?{}",
                args.len()
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    Ok(SearchHit {
                        post: r.get(0)?,
                        post_number: r.get(1)?,
                        topic: r.get(2)?,
                        title: r.get(3)?,
                        slug: r.get(4)?,
                        category: r.get(5)?,
                        author: UserRef {
                            id: r.get(6)?,
                            username: r.get(7)?,
                            display_name: r.get(8)?,
                            avatar_url: r.get(9)?,
                        },
                        snippet: snippet_html(&r.get::<_, String>(10)?),
                        solved: r.get(11)?,
                        created_at: from_millis(r.get(12)?),
                        score: r.get(13)?,
                    })
                })
                .map_err(fts_error)?;
            let mut hits = rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fts_error)?;
            let next = if hits.len() > limit {
                hits.truncate(limit);
                hits.last()
                    .map(|h| Cursor::from_parts(&[h.score.to_bits() as i64, h.post.0]))
            } else {
                None
            };
            Ok(SearchResults { hits, total: total as u64, next })
        })
    }

    /// The best solved topics and knowledge-base articles for a draft title,
    /// at most `limit` (capped at 20). Powers "did you mean…" suggestions in
    /// the composer (ticket deflection).
    pub fn similar_topics(
        &self,
        actor: &Actor,
        community: CommunityId,
        draft_title: &str,
        limit: usize,
    ) -> Result<Vec<SimilarTopic>> {
        let Some(fts) = any_words_query(draft_title) else {
            return Ok(Vec::new());
        };
        self.read(|conn, now| {
            let viewer = Viewer::load(conn, actor, community, now)?;
            let kb: Vec<i64> = viewer
                .categories
                .iter()
                .filter(|c| c.kind == CategoryKind::KnowledgeBase)
                .map(|c| c.id.0)
                .collect();
            let sql = format!(
                "SELECT t.id, t.title, t.slug, t.category_id, t.solved_post_id IS NOT NULL,
                        snippet(search_index, 1, char(2), char(3), '…', 16),
                        bm25(search_index, 4.0, 1.0) AS score
                 FROM search_index s JOIN posts p ON p.id = s.rowid JOIN topics t ON t.id = p.topic_id
                 WHERE search_index MATCH ?1 AND {} AND p.post_number = 1
                   AND (t.solved_post_id IS NOT NULL OR t.category_id IN {})
                 ORDER BY score LIMIT ?2",
                visible_filter(&viewer),
                crate::permissions::sql_id_list(kb.into_iter())
            );
            let mut stmt = conn.prepare_cached(&sql)?;
            let rows = stmt
                .query_map(rusqlite::params![fts, limit.clamp(1, 20) as i64], |r| {
                    Ok((
                        r.get::<_, TopicId>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, CategoryId>(3)?,
                        r.get::<_, bool>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, f64>(6)?,
                    ))
                })
                .map_err(fts_error)?;
            let mut out = Vec::new();
            for row in rows {
                let (topic, title, slug, category, solved, snippet, score) = row.map_err(fts_error)?;
                let kind = viewer.category(category)?.kind;
                out.push(SimilarTopic { topic, title, slug, category, kind, solved, snippet: snippet_html(&snippet), score });
            }
            Ok(out)
        })
    }
}

fn fts_error(e: rusqlite::Error) -> Error {
    let msg = e.to_string();
    if msg.contains("fts5") {
        Error::invalid("query", format!("not a searchable query: {msg}"))
    } else {
        Error::from(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_quoted() {
        assert_eq!(
            all_words_query("Reset password!").as_deref(),
            Some("\"reset\" \"password\"*")
        );
        assert_eq!(
            all_words_query("\" OR * NEAR(").as_deref(),
            Some("\"or\" \"near\"*")
        );
        assert_eq!(all_words_query("  "), None);
        assert_eq!(
            any_words_query("How do I reset the password").as_deref(),
            Some("\"reset\" OR \"password\"")
        );
    }

    #[test]
    fn snippets_escape_everything_but_marks() {
        assert_eq!(
            snippet_html("a <b> \u{2}x\u{3} & \"q\""),
            "a &lt;b&gt; <mark>x</mark> &amp; &quot;q&quot;"
        );
    }
}
