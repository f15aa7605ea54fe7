//! The knowledge base: articles in knowledge-base categories, written by
//! staff and experts, with every revision kept and at most one published.
//! A draft is not a topic; publishing makes (or edits) the article's topic.
//! A solved thread can be promoted to a draft article that links back to
//! it. Members say whether an article helped; the library orders itself
//! by what members do (views, helpful votes, search click-throughs) and
//! by how recently an article was published.

use crate::db::{self, Conn, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::category::CategoryKind;
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CategoryId, CommunityId, TopicId, UserId};
use crate::page::{Cursor, Page, PageRequest};
use crate::permissions::{Actor, Viewer};
use crate::store::{OptionalExt, optional};
use crate::text::{check_body, check_len, clean_title};
use crate::topic::{NewTopic, PostEdit, topic_state};

/// An article's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArticleStatus {
    /// Never published: only staff and experts see it.
    Draft,
    /// Published; later revisions may wait as drafts.
    Published,
}

/// A knowledge-base article.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Article {
    /// Its id.
    pub id: i64,
    /// Its knowledge-base category.
    pub category: CategoryId,
    /// Its topic, once published.
    pub topic: Option<TopicId>,
    /// The thread it was distilled from, if promoted.
    pub source_topic: Option<TopicId>,
    /// The latest revision's title (what readers see once it is published).
    pub title: String,
    /// Draft or published.
    pub status: ArticleStatus,
    /// The published revision's number.
    pub published_revision: Option<i64>,
    /// The newest revision's number.
    pub latest_revision: i64,
    /// "Yes, this helped" votes.
    pub helpful: i64,
    /// "No" votes.
    pub not_helpful: i64,
    /// Times a search result led to it.
    pub search_clicks: i64,
    /// Its topic's views.
    pub views: i64,
    /// The asking member's own vote, if any.
    pub my_vote: Option<bool>,
    /// When it was last published.
    #[serde(with = "time::serde::rfc3339::option")]
    pub published_at: Option<OffsetDateTime>,
    /// Who started it.
    pub created_by: UserId,
    /// When it was started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// The library's ranking score (higher first); see [`Forum::articles`].
    pub score: f64,
}

/// One kept revision of an article.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleRevision {
    /// 1, 2, 3…
    pub number: i64,
    /// Its title.
    pub title: String,
    /// Its Markdown.
    pub body: String,
    /// Who wrote it.
    pub author: UserId,
    /// What changed.
    pub note: String,
    /// Whether this is the published one.
    pub published: bool,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// A new article for [`Forum::create_article`].
#[derive(Debug, Clone)]
pub struct NewArticle {
    /// A knowledge-base category.
    pub category: CategoryId,
    /// Its title.
    pub title: String,
    /// Its Markdown.
    pub body: String,
}

/// How ranking weighs what members do; the score is
/// `(views·ln + helpfulness + search·ln) / (1 + age / half_life)`.
const VIEW_WEIGHT: f64 = 1.0;
const HELPFUL_WEIGHT: f64 = 4.0;
const SEARCH_WEIGHT: f64 = 1.5;
const AGE_HALF_LIFE_DAYS: f64 = 180.0;

/// The library's score: views and search click-throughs with diminishing
/// returns, the helpful share (with a prior of one vote each way, so two
/// votes do not outrank two hundred), and a decay with age since publishing.
pub(crate) fn score(
    views: i64,
    helpful: i64,
    not_helpful: i64,
    search_clicks: i64,
    age_days: f64,
) -> f64 {
    let votes = (helpful + not_helpful) as f64;
    let helpfulness = (helpful as f64 + 1.0) / (votes + 2.0) - 0.5; // -0.5..0.5
    let confidence = (votes / (votes + 5.0)).max(0.0);
    let raw = VIEW_WEIGHT * (1.0 + views.max(0) as f64).ln()
        + HELPFUL_WEIGHT * helpfulness * confidence * (1.0 + votes).ln().max(1.0)
        + SEARCH_WEIGHT * (1.0 + search_clicks.max(0) as f64).ln();
    raw / (1.0 + age_days.max(0.0) / AGE_HALF_LIFE_DAYS)
}

fn is_writer(viewer: &Viewer) -> bool {
    viewer.role.is_some_and(|r| r.is_official()) || viewer.is_moderator()
}

fn kb_category(viewer: &Viewer, category: CategoryId) -> Result<()> {
    if viewer.category(category)?.kind != CategoryKind::KnowledgeBase {
        return Err(Error::invalid(
            "category",
            "is not a knowledge-base category",
        ));
    }
    Ok(())
}

const COLUMNS: &str = "a.id, a.category_id, a.topic_id, a.source_topic_id, a.published_revision,
    a.helpful, a.not_helpful, a.search_clicks, a.published_at, a.created_by, a.created_at,
    coalesce(t.view_count, 0),
    (SELECT max(number) FROM kb_revisions r WHERE r.article_id = a.id),
    (SELECT title FROM kb_revisions r WHERE r.article_id = a.id ORDER BY number DESC LIMIT 1),
    (SELECT helpful FROM kb_votes v WHERE v.article_id = a.id AND v.user_id = ?1)";

fn article_row(r: &db::Row<'_>, now: i64) -> db::Result<Article> {
    let published_revision: Option<i64> = r.get(4)?;
    let published_at: Option<i64> = r.get(8)?;
    let (views, helpful, not_helpful, clicks): (i64, i64, i64, i64) =
        (r.get(11)?, r.get(5)?, r.get(6)?, r.get(7)?);
    let age_days = published_at.map_or(0.0, |p| (now - p) as f64 / 86_400_000.0);
    Ok(Article {
        id: r.get(0)?,
        category: r.get(1)?,
        topic: r.get(2)?,
        source_topic: r.get(3)?,
        status: if published_revision.is_some() {
            ArticleStatus::Published
        } else {
            ArticleStatus::Draft
        },
        published_revision,
        helpful,
        not_helpful,
        search_clicks: clicks,
        published_at: published_at.map(from_millis),
        created_by: r.get(9)?,
        created_at: from_millis(r.get(10)?),
        views,
        latest_revision: r.get(12)?,
        title: r.get(13)?,
        my_vote: r.get(14)?,
        score: if published_revision.is_some() {
            score(views, helpful, not_helpful, clicks, age_days)
        } else {
            0.0
        },
    })
}

/// Loads an article the viewer may see: published ones in readable
/// categories for everyone, drafts for staff and experts only.
fn load(conn: &Conn, viewer: &Viewer, id: i64, now: i64) -> Result<Article> {
    let me = viewer.user.map_or(0, |u| u.0);
    let a = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM kb_articles a LEFT JOIN topics t ON t.id = a.topic_id
             WHERE a.id = ?2 AND a.community_id = ?3"
        ))?
        .query_row(params![me, id, viewer.community], |r| article_row(r, now))
        .found("article")?;
    viewer.category(a.category)?;
    match a.topic {
        Some(t) if !is_writer(viewer) => {
            topic_state(conn, viewer, t)?;
        }
        None if !is_writer(viewer) => return Err(Error::not_found("article")),
        _ => {}
    }
    Ok(a)
}

fn revision(conn: &Conn, article: i64, number: i64) -> Result<(String, String)> {
    conn.prepare_cached(
        "SELECT title, body FROM kb_revisions WHERE article_id = ?1 AND number = ?2",
    )?
    .query_row(params![article, number], |r| Ok((r.get(0)?, r.get(1)?)))
    .found("revision")
}

impl Forum {
    /// Starts an article as a draft (revision 1). Staff and experts, in a
    /// knowledge-base category.
    ///
    /// ```
    /// # use hearth::*;
    /// # let dir = tempfile::tempdir()?;
    /// # let forum = Forum::open(dir.path().join("kb.db"))?;
    /// # let ann = forum.create_user(NewUser::new("ann"))?.id;
    /// # let c = forum.create_community(&Actor::System, NewCommunity {
    /// #     slug: "c".into(), name: "C".into(), owner: Some(ann), ..Default::default() })?.id;
    /// let ann = Actor::User(ann);
    /// let kb = forum.create_category(&ann, c,
    ///     NewCategory::new("kb", "Knowledge base", CategoryKind::KnowledgeBase))?.id;
    /// let draft = forum.create_article(&ann, c, NewArticle { category: kb,
    ///     title: "Rotating API keys".into(), body: "1. Create a new key. 2. Revoke the old one.".into() })?;
    /// assert_eq!(draft.status, ArticleStatus::Draft);
    /// // Guests see nothing until it is published.
    /// assert!(forum.article(&Actor::Guest, c, draft.id).is_err());
    /// let published = forum.publish_article(&ann, c, draft.id, None)?;
    /// assert!(published.topic.is_some());
    /// assert_eq!(forum.article(&Actor::Guest, c, draft.id)?.status, ArticleStatus::Published);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create_article(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewArticle,
    ) -> Result<Article> {
        self.new_article(actor, community, new, None)
    }

    fn new_article(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewArticle,
        source: Option<TopicId>,
    ) -> Result<Article> {
        let id = self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            kb_category(&viewer, new.category)?;
            let cat = viewer.category(new.category)?.clone();
            let author = viewer.check_create_topic(&cat)?;
            let l = &viewer.config.settings.limits;
            let title = clean_title(&new.title, l.title_min_chars, l.title_max_chars)?;
            check_body(&new.body, l.body_min_chars, l.body_max_bytes)?;
            w.tx.prepare_cached(
                "INSERT INTO kb_articles (community_id, category_id, source_topic_id, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![community, new.category, source, author, w.now_ms()])?;
            let id = w.tx.last_insert_rowid()?;
            w.tx.prepare_cached(
                "INSERT INTO kb_revisions (article_id, number, title, body, author_id, note, created_at)
                 VALUES (?1, 1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                id,
                title,
                new.body,
                author,
                if source.is_some() { "Promoted from a solved thread" } else { "" },
                w.now_ms()
            ])?;
            Ok(id)
        })?;
        self.article(actor, community, id)
    }

    /// Turns a solved topic into a draft article in `category`: the
    /// question, the accepted answer and a link back to the thread.
    pub fn promote_to_article(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
        category: CategoryId,
    ) -> Result<Article> {
        let (title, body) = self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let t = topic_state(conn, &viewer, topic)?;
            let Some(answer) = t.solved else {
                return Err(Error::invalid("topic", "only solved topics can be promoted"));
            };
            let (question, asker): (String, String) = conn
                .prepare_cached(
                    "SELECT p.source, u.username FROM posts p JOIN users u ON u.id = p.user_id
                     WHERE p.topic_id = ?1 AND p.post_number = 1",
                )?
                .query_row([topic], |r| Ok((r.get(0)?, r.get(1)?)))
                .found("post")?;
            let (answer_body, answerer): (String, String) = conn
                .prepare_cached(
                    "SELECT p.source, u.username FROM posts p JOIN users u ON u.id = p.user_id WHERE p.id = ?1",
                )?
                .query_row([answer], |r| Ok((r.get(0)?, r.get(1)?)))
                .found("post")?;
            let slug: String = conn
                .prepare_cached("SELECT slug FROM topics WHERE id = ?1")?
                .query_row([topic], |r| r.get(0))?;
            let body = format!(
                "{question}\n\n## Answer\n\n{answer_body}\n\n---\n\n*Distilled from the community thread \
                 [{title}](/t/{slug}/{id}), asked by @{asker} and answered by @{answerer}.*",
                title = t.title.replace(['[', ']'], ""),
                id = topic.0,
            );
            Ok((t.title, body))
        })?;
        self.new_article(
            actor,
            community,
            NewArticle {
                category,
                title,
                body,
            },
            Some(topic),
        )
    }

    /// Adds a revision (a draft until published). Staff and experts.
    pub fn revise_article(
        &self,
        actor: &Actor,
        community: CommunityId,
        article: i64,
        title: &str,
        body: &str,
        note: &str,
    ) -> Result<ArticleRevision> {
        check_len("note", note.trim(), 0, 500)?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let a = load(w.tx, &viewer, article, w.now_ms())?;
            if !is_writer(&viewer) {
                return Err(Error::forbidden("only staff and experts edit articles"));
            }
            let author = viewer.require_poster()?;
            let l = &viewer.config.settings.limits;
            let title = clean_title(title, l.title_min_chars, l.title_max_chars)?;
            check_body(body, l.body_min_chars, l.body_max_bytes)?;
            let number = a.latest_revision + 1;
            w.tx.prepare_cached(
                "INSERT INTO kb_revisions (article_id, number, title, body, author_id, note, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![article, number, title, body, author, note.trim(), w.now_ms()])?;
            Ok(ArticleRevision {
                number,
                title,
                body: body.to_string(),
                author,
                note: note.trim().to_string(),
                published: false,
                created_at: w.now,
            })
        })
    }

    /// Every revision of an article, newest first (staff and experts).
    pub fn article_revisions(
        &self,
        actor: &Actor,
        community: CommunityId,
        article: i64,
    ) -> Result<Vec<ArticleRevision>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let a = load(conn, &viewer, article, now)?;
            if !is_writer(&viewer) {
                return Err(Error::forbidden("only staff and experts see revisions"));
            }
            let mut stmt = conn.prepare_cached(
                "SELECT number, title, body, author_id, note, created_at FROM kb_revisions
                 WHERE article_id = ?1 ORDER BY number DESC",
            )?;
            let rows = stmt.query_map([article], |r| {
                let number: i64 = r.get(0)?;
                Ok(ArticleRevision {
                    number,
                    title: r.get(1)?,
                    body: r.get(2)?,
                    author: r.get(3)?,
                    note: r.get(4)?,
                    published: a.published_revision == Some(number),
                    created_at: from_millis(r.get(5)?),
                })
            })?;
            Ok(rows.collect::<db::Result<_>>()?)
        })
    }

    /// Publishes a revision (the newest when `None`): the first time it
    /// opens the article's topic, later it edits it. Staff and experts; a
    /// later publication edits the topic as the publisher, so experts
    /// republish their own articles and moderators any.
    pub fn publish_article(
        &self,
        actor: &Actor,
        community: CommunityId,
        article: i64,
        number: Option<i64>,
    ) -> Result<Article> {
        let (a, (title, body), number) = self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let a = load(conn, &viewer, article, now)?;
            if !is_writer(&viewer) {
                return Err(Error::forbidden("only staff and experts publish articles"));
            }
            let number = number.unwrap_or(a.latest_revision);
            let rev = revision(conn, article, number)?;
            Ok((a, rev, number))
        })?;
        let topic = match a.topic {
            None => {
                // A crash between these two transactions leaves a topic
                // without its article link; publishing again makes another.
                let (t, _) = self.create_topic(
                    actor,
                    community,
                    NewTopic {
                        category: a.category,
                        title: title.clone(),
                        body: body.clone(),
                        tags: vec![],
                    },
                )?;
                t.id
            }
            Some(t) => {
                let first = self
                    .topic(actor, community, t, &PageRequest::first(1))?
                    .posts
                    .items
                    .into_iter()
                    .next()
                    .ok_or(Error::not_found("post"))?;
                if first.source != body || self.topic_only(actor, community, t)?.title != title {
                    self.edit_post(
                        actor,
                        community,
                        first.id,
                        PostEdit {
                            body: body.clone(),
                            title: Some(title.clone()),
                            reason: Some(format!("Published revision {number}")),
                            base_version: None,
                        },
                    )?;
                }
                t
            }
        };
        self.write(|w| {
            w.tx.prepare_cached(
                "UPDATE kb_articles SET topic_id = ?2, published_revision = ?3, published_at = ?4 WHERE id = ?1",
            )?
            .execute(params![article, topic, number, w.now_ms()])?;
            Ok(())
        })?;
        self.article(actor, community, article)
    }

    /// One article (drafts: staff and experts only).
    pub fn article(&self, actor: &Actor, community: CommunityId, article: i64) -> Result<Article> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            load(conn, &viewer, article, now)
        })
    }

    /// The article published from a topic, or distilled from it (`None`
    /// when there is none the actor may see).
    pub fn article_for_topic(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<Option<Article>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let id: Option<i64> = optional(
                conn.prepare_cached(
                    "SELECT id FROM kb_articles WHERE community_id = ?1 AND (topic_id = ?2 OR source_topic_id = ?2)
                     ORDER BY topic_id = ?2 DESC, id LIMIT 1",
                )?
                .query_row(params![community, topic], |r| r.get(0)),
            )?;
            Ok(id.and_then(|id| load(conn, &viewer, id, now).ok()))
        })
    }

    /// "Was this helpful?": one vote per member per article, changeable.
    pub fn rate_article(
        &self,
        actor: &Actor,
        community: CommunityId,
        article: i64,
        helpful: bool,
    ) -> Result<Article> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            let a = load(w.tx, &viewer, article, w.now_ms())?;
            if a.status != ArticleStatus::Published {
                return Err(Error::invalid("article", "is not published yet"));
            }
            let user = viewer.require_poster()?;
            let before: Option<bool> = optional(
                w.tx.prepare_cached("SELECT helpful FROM kb_votes WHERE article_id = ?1 AND user_id = ?2")?
                    .query_row(params![article, user], |r| r.get(0)),
            )?;
            if before == Some(helpful) {
                return load(w.tx, &viewer, article, w.now_ms());
            }
            w.tx.prepare_cached(
                "INSERT INTO kb_votes (article_id, user_id, helpful, created_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (article_id, user_id) DO UPDATE SET helpful = excluded.helpful, created_at = excluded.created_at",
            )?
            .execute(params![article, user, helpful, w.now_ms()])?;
            let (yes, no) = match (before, helpful) {
                (None, true) => (1, 0),
                (None, false) => (0, 1),
                (Some(false), true) => (1, -1),
                (Some(true), false) => (-1, 1),
                _ => (0, 0),
            };
            w.tx.prepare_cached(
                "UPDATE kb_articles SET helpful = helpful + ?2, not_helpful = not_helpful + ?3 WHERE id = ?1",
            )?
            .execute(params![article, yes, no])?;
            load(w.tx, &viewer, article, w.now_ms())
        })
    }

    /// Counts a search result click that led to `topic` (a knowledge-base
    /// article's topic; other topics are ignored). Anyone who can read it.
    pub fn record_search_click(
        &self,
        actor: &Actor,
        community: CommunityId,
        topic: TopicId,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            topic_state(w.tx, &viewer, topic)?;
            w.tx.prepare_cached(
                "UPDATE kb_articles SET search_clicks = search_clicks + 1 WHERE topic_id = ?1 AND community_id = ?2",
            )?
            .execute(params![topic, community])?;
            Ok(())
        })
    }

    /// The library: published articles (and, for staff and experts with
    /// `drafts`, drafts after them), best first by [`Article::score`].
    pub fn articles(
        &self,
        actor: &Actor,
        community: CommunityId,
        category: Option<CategoryId>,
        drafts: bool,
        page: &PageRequest,
    ) -> Result<Page<Article>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            if let Some(c) = category {
                kb_category(&viewer, c)?;
            }
            let drafts = drafts && is_writer(&viewer);
            let cats = match category {
                Some(c) => format!("({c})"),
                None => viewer.readable_sql(),
            };
            let me = viewer.user.map_or(0, |u| u.0);
            let sql = format!(
                "SELECT {COLUMNS} FROM kb_articles a LEFT JOIN topics t ON t.id = a.topic_id
                 WHERE a.community_id = ?2 AND a.category_id IN {cats}
                   AND ((a.topic_id IS NOT NULL AND t.deleted_at IS NULL AND t.hidden_at IS NULL)
                        OR (?3 AND a.topic_id IS NULL))"
            );
            let mut all: Vec<Article> = conn
                .prepare_cached(&sql)?
                .query_map(params![me, community, drafts], |r| article_row(r, now))?
                .collect::<db::Result<_>>()?;
            all.sort_by(|a, b| {
                (b.status == ArticleStatus::Published)
                    .cmp(&(a.status == ArticleStatus::Published))
                    .then(b.score.total_cmp(&a.score))
                    .then(b.id.cmp(&a.id))
            });
            // Ranks move as members act: an offset cursor is the honest one.
            let offset = match &page.after {
                Some(c) => c.parts::<1>()?[0].max(0) as usize,
                None => 0,
            };
            let limit = page.limit();
            let next = (all.len() > offset + limit)
                .then(|| Cursor::from_parts(&[(offset + limit) as i64]));
            let items = all.into_iter().skip(offset).take(limit).collect();
            Ok(Page { items, next })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaviour_moves_the_score() {
        let base = score(100, 0, 0, 0, 0.0);
        assert!(score(1000, 0, 0, 0, 0.0) > base, "views count");
        assert!(score(100, 20, 0, 0, 0.0) > base, "helpful votes count");
        assert!(
            score(100, 0, 20, 0, 0.0) < base,
            "unhelpful votes count against"
        );
        assert!(
            score(100, 0, 0, 30, 0.0) > base,
            "search click-throughs count"
        );
        assert!(score(100, 0, 0, 0, 365.0) < base, "age decays");
        // Two votes do not outrank two hundred at the same share.
        assert!(score(100, 200, 0, 0, 0.0) > score(100, 2, 0, 0, 0.0));
    }
}
