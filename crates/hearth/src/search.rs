//! Full-text search (SQLite FTS5, bm25) and similar-topic suggestions.
//!
//! Every indexed post carries its category and state flags (first post,
//! solved, unlisted, deleted) beside its text, so the permission filter
//! needs no joins: only categories the actor may read, never deleted posts,
//! unlisted ones only for moderators. Neither results nor totals include
//! anything else. Whenever a post's or topic's state changes, the writer
//! calls [`refresh_scope`] in the same transaction. On SQLite the scope
//! (and each post's length) also has a table of its own,
//! `search_index_scope`, so that filtering and ranking the window read no
//! text: term counts come from FTS5's match positions (`db::fts5`), and
//! only the hits shown have their text read, for the snippet.
//!
//! On SQLite a new reply does not join the index in its own transaction:
//! FTS5 writes an index segment per transaction that adds text, which
//! made indexing the largest single cost of a reply. Its text waits in
//! `search_pending` until [`PENDING_BATCH`] replies wait (the write that
//! queues the last indexes them all, in one segment) or until something
//! reads the index — a search, the index's tidying, a copy — which
//! indexes them first ([`Forum::catch_up_search`]). So no search misses a
//! committed reply; a waiting reply has no index row, and what changes
//! its scope before it joins needs no update (its scope is computed when
//! it joins). New topics' first posts are indexed at once (they carry the
//! title and feed suggestions).
//!
//! Suggestions for a draft title come from a second, much smaller index
//! (`answer_index`): only first posts of solved topics and knowledge-base
//! articles, kept in step by the same calls.
//!
//! Cost is bounded for broad queries: at most [`SEARCH_WINDOW`] matches (the
//! newest) are counted and ranked; beyond that `total` is a lower bound and
//! `total_is_exact` is false. On SQLite the index keys a post by its id
//! negated ([`index_row`]): newest first is then FTS5's forward order, which
//! it reads far faster than backward.

use crate::db::{self, Conn, OptionalExtension, Value, params};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::category::CategoryKind;
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::forum::Forum;
use crate::ids::{CategoryId, CommunityId, PostId, TopicId};
use crate::page::{Cursor, PageRequest};
use crate::permissions::{Actor, Viewer};
use crate::rank::{Candidate, Counted, Terms, count_texts, rank};
use crate::store::OptionalExt;
use crate::topic::UserRef;

/// A search request.
#[derive(Debug, Clone, Default)]
pub struct SearchQuery {
    /// Words to find; every word must match (stemmed: "keys" finds "key").
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
    /// Search the signed-in member's private messages instead (Discourse's
    /// `in:messages`): the conversations they take part in, by name or
    /// through a group, and nothing else — moderators find no more than
    /// any participant. `category`, `kind` and `solved` do not apply.
    /// `Forbidden` for anyone but a member.
    pub messages: bool,
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
    /// BM25 relevance (higher is better).
    pub score: f64,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The hits, best first.
    pub hits: Vec<SearchHit>,
    /// How many posts match (only ones the actor may read), counted up to
    /// [`SEARCH_WINDOW`].
    pub total: u64,
    /// False when more than [`SEARCH_WINDOW`] posts match: `total` is then a
    /// lower bound and only the newest matches were ranked.
    pub total_is_exact: bool,
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
    /// BM25 relevance (higher is better).
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
        .map(crate::rank::fold)
        .collect()
}

/// The full-text condition on an index table, with the text of its one
/// parameter: SQLite's FTS5 `MATCH` (quoted words, porter stemming) or
/// PostgreSQL's `tsvector @@ tsquery` (English stemming without stop
/// words: the schema's `hearth` configuration). Every word must match, or
/// (`any`) one of them. No prefix matching: a prefix query
/// merges the posting lists of every term with that prefix across the
/// whole index. The two dialects side by side, in one place.
pub(crate) struct Match {
    /// The SQL condition; its parameter is `?{param}`.
    pub(crate) condition: String,
    /// The parameter's value.
    pub(crate) query: String,
}

impl Match {
    /// `None` for no words.
    pub(crate) fn new(
        conn: &Conn,
        table: &str,
        alias: &str,
        param: usize,
        words: &[String],
        any: bool,
    ) -> Option<Match> {
        if words.is_empty() {
            return None;
        }
        Some(match conn.dialect() {
            db::Dialect::Sqlite => {
                let quoted: Vec<String> = words.iter().map(|w| format!("\"{w}\"")).collect();
                let joined = quoted.join(if any { " OR " } else { " " });
                Match {
                    // FTS5's hidden column named after the table.
                    condition: format!("{alias}.{table} MATCH ?{param}"),
                    query: format!("{{title body}} : ({joined})"),
                }
            }
            #[cfg(feature = "postgres")]
            db::Dialect::Postgres => Match {
                condition: format!("{alias}.tsv @@ websearch_to_tsquery('hearth', ?{param})"),
                // websearch syntax: words are ANDed, "or" between them ORs;
                // quotes keep each word a word (never an operator).
                query: words
                    .iter()
                    .map(|w| format!("\"{w}\""))
                    .collect::<Vec<_>>()
                    .join(if any { " or " } else { " " }),
            },
        })
    }
}

/// The words of `text` worth matching on: two characters or more, no stop
/// words.
fn significant_words(text: &str) -> Vec<String> {
    words(text)
        .into_iter()
        .filter(|w| w.chars().count() >= 2 && !STOP_WORDS.contains(&w.as_str()))
        .collect()
}

/// How many matches (the newest) a search counts and ranks at most.
pub const SEARCH_WINDOW: usize = 500;

const FIRST: i64 = 1;
const SOLVED: i64 = 2;
const UNLISTED: i64 = 4;
const DELETED: i64 = 8;
/// Every flag at once: `flags` holds nothing else.
const ALL_FLAGS: i64 = FIRST | SOLVED | UNLISTED | DELETED;

/// The SQL filter on a post's scope (columns `category` and `flags` of
/// `alias`) for this viewer and these categories.
fn visible(
    viewer: &Viewer,
    alias: &str,
    categories: impl Iterator<Item = CategoryId>,
    must: i64,
    must_not: i64,
) -> String {
    let mut not = DELETED | must_not;
    if !viewer.is_moderator() {
        not |= UNLISTED;
    }
    // The flags a visible row may have, listed rather than masked: a
    // planner estimates `flags IN (…)` from the column's statistics, but
    // not `(flags & m) = v`. (On PostgreSQL the masked form was estimated
    // at 0.5 % of the matches, which hid the cheap plan for common words:
    // walking the newest rows backwards until the window is full, 1.5 ms
    // instead of fetching all 56,000 matches of two common words.)
    let mask = not | must;
    let allowed = (0..=ALL_FLAGS).filter(|f| f & mask == must);
    format!(
        "{alias}.category IN {} AND {alias}.flags IN {}",
        crate::permissions::sql_id_list(categories.map(|c| c.0)),
        crate::permissions::sql_id_list(allowed)
    )
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

/// A post's row in `search_index`. A search wants the newest matches
/// first, and SQLite's FTS5 reads a posting list backward far slower than
/// forward (to step back through a page it decodes the page from its
/// start): there the row is the post id negated, so that newest first is
/// FTS5's forward order (a two-word search's scan: 228 → 135 µs,
/// `docs/performance.md`). PostgreSQL's B-tree reads either way: the post
/// id. Negation is its own inverse: the same turns a row into a post id.
pub(crate) fn index_row(conn: &Conn, post: PostId) -> i64 {
    match conn.dialect() {
        db::Dialect::Sqlite => -post.0,
        #[cfg(feature = "postgres")]
        db::Dialect::Postgres => post.0,
    }
}

/// [`index_row`] in SQL, of the expression `expr` (a post id or a row).
pub(crate) fn index_row_sql(conn: &Conn, expr: &str) -> String {
    match conn.dialect() {
        db::Dialect::Sqlite => format!("-{expr}"),
        #[cfg(feature = "postgres")]
        db::Dialect::Postgres => expr.to_string(),
    }
}

/// The SQL reading the newest indexed post's id, which BM25 takes for the
/// number of documents: one end of the index, read without a scan (the
/// least row on SQLite, see [`index_row`]).
fn newest_indexed(conn: &Conn) -> &'static str {
    match conn.dialect() {
        db::Dialect::Sqlite => "SELECT coalesce(-min(rowid), 0) FROM search_index",
        #[cfg(feature = "postgres")]
        db::Dialect::Postgres => "SELECT coalesce(max(rowid), 0) FROM search_index",
    }
}

/// Adds or replaces a post's index row. `title` is the topic title for a
/// first post and empty otherwise.
pub(crate) fn index_post(conn: &Conn, post: PostId, title: &str, text: &str) -> Result<()> {
    conn.prepare_cached("DELETE FROM search_index WHERE rowid = ?1")?
        .execute([index_row(conn, post)])?;
    if conn.dialect() == db::Dialect::Sqlite {
        conn.prepare_cached("DELETE FROM search_index_scope WHERE id = ?1")?
            .execute([post])?;
        // Indexed now, with this text: no longer waiting.
        conn.prepare_cached("DELETE FROM search_pending WHERE post_id = ?1")?
            .execute([post])?;
    }
    index_new_post(conn, post, title, text)
}

/// How many replies wait in `search_pending` (SQLite) before the write
/// that queues the last of them indexes them all. FTS5 writes one index
/// segment per transaction that adds text (and merges them as they pile
/// up), so a segment per reply was the largest single cost of a reply;
/// a batch shares one. Anything that reads the index first indexes what
/// waits ([`Forum::catch_up_search`]), so no search misses a reply.
/// 64 rather than 32: 3.4 % fewer instructions a reply (callgrind,
/// `docs/performance.md`); 128 saves 1.4 % more but makes the search that
/// catches up wait twice as long.
pub(crate) const PENDING_BATCH: i64 = 64;

/// Indexes a new reply (no title): on SQLite it joins the replies waiting
/// in `search_pending`, and the batch is indexed once full; on PostgreSQL
/// (whose GIN index batches by itself) at once.
pub(crate) fn index_new_reply(conn: &Conn, post: PostId, text: &str) -> Result<()> {
    if conn.dialect() != db::Dialect::Sqlite {
        return index_new_post(conn, post, "", text);
    }
    conn.prepare_cached("INSERT INTO search_pending (post_id, body) VALUES (?1, ?2)")?
        .execute(params![post, text])?;
    let waiting: i64 = conn
        .prepare_cached("SELECT count(*) FROM search_pending")?
        .query_row(params![], |r| r.get(0))?;
    if waiting >= PENDING_BATCH {
        index_batch(conn)?;
    }
    Ok(())
}

/// Whether replies wait for the index (always `false` on PostgreSQL).
fn pending(conn: &Conn) -> Result<bool> {
    if conn.dialect() != db::Dialect::Sqlite {
        return Ok(false);
    }
    Ok(conn
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM search_pending)")?
        .query_row(params![], |r| r.get(0))?)
}

/// Indexes every waiting reply in this transaction, in one FTS5 segment;
/// how many. A reply deleted for good while it waited is skipped. Its
/// category and flags are the post's as of now.
///
/// One statement inserts them all: FTS5 writes its pending terms out as a
/// segment whenever a later statement of the transaction opens a
/// statement savepoint, so a statement per reply would still be a
/// segment per reply.
pub(crate) fn index_pending(conn: &Conn) -> Result<usize> {
    if !pending(conn)? {
        return Ok(0);
    }
    index_batch(conn)
}

/// [`index_pending`] once the caller knows replies wait (on SQLite).
fn index_batch(conn: &Conn) -> Result<usize> {
    let indexed = conn
        .prepare_cached(&format!(
            "INSERT INTO search_index (rowid, title, body, category, flags)
             SELECT -p.id, '', q.body, {}
             FROM search_pending q CROSS JOIN posts p ON p.id = q.post_id
                  CROSS JOIN topics t ON t.id = p.topic_id
             ORDER BY q.post_id DESC",
            scope_columns()
        ))?
        .execute(params![])?;
    // In ascending rows (descending posts, see `index_row`): FTS5 starts
    // a new segment whenever a row comes below the one before it.
    // CROSS JOIN, here and above: the queue outside, each row looked up
    // by its id (the planner has no statistics for the queue and would
    // rather scan `posts`; FTS5 answers `rowid IN (…)` with a scan of the
    // whole index).
    conn.prepare_cached(
        "INSERT INTO search_index_scope (id, category, flags, len)
         SELECT -s.rowid, s.category, s.flags, hearth_len(s.search_index)
         FROM search_pending q CROSS JOIN search_index s ON s.rowid = -q.post_id",
    )?
    .execute(params![])?;
    // A reply is never a first post while it waits (a split re-indexes
    // it at once); should one be, the suggestions index still follows.
    let first: Vec<(PostId, CategoryId, i64)> = conn
        .prepare_cached(&format!(
            "SELECT -s.rowid, s.category, s.flags
             FROM search_pending q CROSS JOIN search_index s ON s.rowid = -q.post_id
             WHERE (s.flags & {FIRST}) <> 0"
        ))?
        .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<db::Result<_>>()?;
    for (post, category, flags) in first {
        sync_answer(conn, post, category, flags)?;
    }
    conn.prepare_cached("DELETE FROM search_pending")?
        .execute(params![])?;
    Ok(indexed as usize)
}

/// The text a post is indexed with: its index row's, or the text it waits
/// with in `search_pending`.
pub(crate) fn indexed_text(conn: &Conn, post: PostId) -> Result<Option<String>> {
    let indexed = crate::store::optional(
        conn.prepare_cached("SELECT body FROM search_index WHERE rowid = ?1")?
            .query_row([index_row(conn, post)], |r| r.get(0)),
    )?;
    if indexed.is_some() || conn.dialect() != db::Dialect::Sqlite {
        return Ok(indexed);
    }
    crate::store::optional(
        conn.prepare_cached("SELECT body FROM search_pending WHERE post_id = ?1")?
            .query_row([post], |r| r.get(0)),
    )
}

/// Adds the index row of a post that has none yet (one just inserted):
/// one statement, its category and flags computed from the post and topic
/// in the same `INSERT … SELECT`.
pub(crate) fn index_new_post(conn: &Conn, post: PostId, title: &str, text: &str) -> Result<()> {
    let (category, flags): (CategoryId, i64) = conn
        .prepare_cached(&format!(
            "INSERT INTO search_index (rowid, title, body, category, flags)
             SELECT {}, ?2, ?3, {}
             FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = ?1
             RETURNING category, flags",
            index_row_sql(conn, "p.id"),
            scope_columns()
        ))?
        .query_row(params![post, title, text], |r| Ok((r.get(0)?, r.get(1)?)))
        .found("post")?;
    if conn.dialect() == db::Dialect::Sqlite {
        conn.prepare_cached(SCOPE_FROM_INDEX)?
            .execute([index_row(conn, post)])?;
    }
    if flags & FIRST != 0 {
        sync_answer(conn, post, category, flags)?;
    }
    Ok(())
}

/// Copies a post's scope from its `search_index` row into
/// `search_index_scope` (SQLite), with its length from FTS5's own count.
const SCOPE_FROM_INDEX: &str = "INSERT INTO search_index_scope (id, category, flags, len)
     SELECT -rowid, category, flags, hearth_len(search_index) FROM search_index WHERE rowid = ?1";

/// Fills `search_index_scope` from `search_index` (SQLite; after a copy
/// into a new database wrote `search_index` row by row).
pub(crate) fn rebuild_scope(conn: &Conn) -> Result<()> {
    if conn.dialect() == db::Dialect::Sqlite {
        conn.execute_batch(
            "DELETE FROM search_index_scope;
             INSERT INTO search_index_scope (id, category, flags, len)
                 SELECT -rowid, category, flags, hearth_len(search_index) FROM search_index;",
        )?;
    }
    Ok(())
}

/// The two unindexed columns of a post's row, `category, flags`, as SQL
/// over `posts p JOIN topics t`: the one definition of what each flag means.
fn scope_columns() -> String {
    format!(
        "t.category_id,
         (CASE WHEN p.post_number = 1 THEN {FIRST} ELSE 0 END)
         + (CASE WHEN t.solved_post_id IS NOT NULL THEN {SOLVED} ELSE 0 END)
         + (CASE WHEN t.unlisted <> 0 THEN {UNLISTED} ELSE 0 END)
         + (CASE WHEN p.deleted_at IS NOT NULL OR p.hidden_at IS NOT NULL
                   OR t.deleted_at IS NOT NULL OR t.hidden_at IS NOT NULL
                   OR t.merged_into IS NOT NULL THEN {DELETED} ELSE 0 END)"
    )
}

/// Keeps `answer_index` holding exactly the first posts that
/// [`Forum::similar_topics`] may suggest.
fn sync_answer(conn: &Conn, post: PostId, category: CategoryId, flags: i64) -> Result<()> {
    conn.prepare_cached("DELETE FROM answer_index WHERE rowid = ?1")?
        .execute([post])?;
    let kb: bool = conn
        .prepare_cached("SELECT kind = 'knowledge_base' FROM categories WHERE id = ?1")?
        .query_row([category], |r| r.get(0))?;
    if flags & (DELETED | UNLISTED) == 0 && (flags & SOLVED != 0 || kb) {
        conn.prepare_cached(
            "INSERT INTO answer_index (rowid, title, body, category)
             SELECT ?1, title, body, category FROM search_index WHERE rowid = ?2",
        )?
        .execute(params![post, index_row(conn, post)])?;
    }
    Ok(())
}

/// Recomputes the category and flags of every post of `topic` (after a
/// delete, restore, accepted answer, unlisting or move). Unindexed columns
/// change in place; the text is not re-tokenized.
pub(crate) fn refresh_scope(conn: &Conn, topic: TopicId) -> Result<()> {
    let posts: Vec<PostId> = conn
        .prepare_cached("SELECT id FROM posts WHERE topic_id = ?1")?
        .query_map([topic], |r| r.get(0))?
        .collect::<db::Result<_>>()?;
    for post in posts {
        let (category, flags) = scope_of(conn, post)?;
        conn.prepare_cached("UPDATE search_index SET category = ?2, flags = ?3 WHERE rowid = ?1")?
            .execute(params![index_row(conn, post), category, flags])?;
        if conn.dialect() == db::Dialect::Sqlite {
            conn.prepare_cached(
                "UPDATE search_index_scope SET category = ?2, flags = ?3 WHERE id = ?1",
            )?
            .execute(params![post, category, flags])?;
        }
        if flags & FIRST != 0 {
            sync_answer(conn, post, category, flags)?;
        }
    }
    Ok(())
}

fn scope_of(conn: &Conn, post: PostId) -> Result<(CategoryId, i64)> {
    conn.prepare_cached(&format!(
        "SELECT {} FROM posts p JOIN topics t ON t.id = p.topic_id WHERE p.id = ?1",
        scope_columns()
    ))?
    .query_row([post], |r| Ok((r.get(0)?, r.get(1)?)))
    .found("post")
}

impl Forum {
    /// Indexes the replies waiting for the full-text index (SQLite), so
    /// that what reads the index next finds every committed post. When
    /// none wait this is one read of an empty table. On a database opened
    /// read-only the waiting replies stay unindexed (and unfound).
    pub(crate) fn catch_up_search(&self) -> Result<()> {
        if !self.store.is_sqlite() || !self.peek(|conn, _| pending(conn))? {
            return Ok(());
        }
        match self.store.write(index_pending) {
            Ok(_) | Err(Error::Unavailable { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Searches posts. Results and the total count include only what
    /// `actor` may read.
    pub fn search(
        &self,
        actor: &Actor,
        community: CommunityId,
        q: &SearchQuery,
    ) -> Result<SearchResults> {
        let empty = SearchResults {
            hits: Vec::new(),
            total: 0,
            total_is_exact: true,
            next: None,
        };
        let terms = self::words(&q.text);
        if terms.is_empty() {
            return Ok(empty);
        }
        self.catch_up_search()?;
        self.read(|conn, now| {
            let Some(matching) = Match::new(conn, "search_index", "s", 1, &terms, false) else {
                return Ok(empty.clone());
            };
            let viewer = self.viewer(conn, now, actor, community)?;
            // Where the scope is read: its own table on SQLite (see the
            // module's documentation), the index row on PostgreSQL.
            let scope = match conn.dialect() {
                db::Dialect::Sqlite => "c",
                #[cfg(feature = "postgres")]
                db::Dialect::Postgres => "s",
            };
            let mut args: Vec<Value> = vec![Value::Text(matching.query.clone())];
            let mut joins = String::new();
            let mut filter = if q.messages {
                // The inbox, which no category filter ever lets through,
                // narrowed to the member's own conversations.
                let me = crate::messages::member(&viewer)?;
                let Some(inbox) = viewer.config.inbox() else {
                    return Ok(empty.clone());
                };
                args.push(Value::Integer(me.0));
                format!(
                    " AND {} AND {}",
                    visible(&viewer, scope, std::iter::once(inbox.id), 0, 0),
                    crate::messages::taking_part_in(&viewer, "p.topic_id", args.len())
                )
            } else {
                if let Some(c) = q.category {
                    viewer.category(c)?;
                }
                let cats = viewer.readable_categories().into_iter().filter(|c| {
                    q.category.is_none_or(|only| only == *c)
                        && q.kind.is_none_or(|k| viewer.config.categories.iter().any(|a| a.id == *c && a.kind == k))
                });
                let (must, must_not) = match q.solved {
                    Some(true) => (SOLVED, 0),
                    Some(false) => (0, SOLVED),
                    None => (0, 0),
                };
                format!(" AND {}", visible(&viewer, scope, cats, must, must_not))
            };
            if q.messages || q.author.is_some() || q.tag.is_some() {
                joins.push_str(&format!(
                    " JOIN posts p ON p.id = {}",
                    index_row_sql(conn, "s.rowid")
                ));
            }
            if let Some(author) = &q.author {
                args.push(Value::Text(author.to_ascii_lowercase()));
                joins.push_str(" JOIN users u ON u.id = p.user_id");
                filter.push_str(&format!(" AND u.username_lower = ?{}", args.len()));
            }
            if let Some(tag) = &q.tag {
                args.push(Value::Text(tag.to_lowercase()));
                filter.push_str(&format!(
                    " AND EXISTS (SELECT 1 FROM topic_tags g WHERE g.topic_id = p.topic_id AND g.tag = ?{})",
                    args.len()
                ));
            }
            // The window: the newest SEARCH_WINDOW + 1 matches, counted,
            // give the total (exact below the window) and what is ranked.
            let mut window: Vec<Counted> = match conn.dialect() {
                // Term counts from the index, the length and scope from
                // `search_index_scope`: no text is read. CROSS JOIN keeps
                // the full-text match driving the loop, newest first (the
                // index's forward order, see `index_row`).
                db::Dialect::Sqlite => full_text(
                    conn,
                    &format!(
                        "SELECT -s.rowid, hearth_tf(s.search_index), c.len
                         FROM search_index s CROSS JOIN search_index_scope c ON c.id = -s.rowid{joins}
                         WHERE {}{filter}
                         ORDER BY s.rowid LIMIT {}",
                        matching.condition,
                        SEARCH_WINDOW + 1
                    ),
                    args.as_slice(),
                    |r| {
                        let len: i64 = r.get(2)?;
                        let db::ValueRef::Blob(counts) = r.get_ref(1)? else {
                            return Err(db::Error::convert(1, "hearth_tf gives a blob"));
                        };
                        Ok(Counted::new(
                            r.get(0)?,
                            db::fts5::decode_counts(counts),
                            len.max(0) as u64,
                        ))
                    },
                )?,
                #[cfg(feature = "postgres")]
                db::Dialect::Postgres => {
                    let sql = format!(
                        "SELECT s.rowid, s.title, s.body FROM search_index s{joins}
                         WHERE {}{filter}
                         ORDER BY s.rowid DESC LIMIT {}",
                        matching.condition,
                        SEARCH_WINDOW + 1
                    );
                    count_texts(&terms, full_text(conn, &sql, args.as_slice(), candidate)?)
                }
            };
            let total_is_exact = window.len() <= SEARCH_WINDOW;
            window.truncate(SEARCH_WINDOW);
            let total = window.len() as u64;
            let ranked = rank(
                conn,
                &self.dfs,
                "search_index",
                newest_indexed(conn),
                &terms,
                window,
                now,
            )?;
            let start = match &q.page.after {
                None => 0,
                Some(c) => {
                    let [score_bits, id] = c.parts::<2>()?;
                    let score = f64::from_bits(score_bits as u64);
                    ranked
                        .iter()
                        .position(|(post, s)| *s < score || (*s == score && post.0 < id))
                        .unwrap_or(ranked.len())
                }
            };
            let limit = q.page.limit();
            let end = ranked.len().min(start.saturating_add(limit));
            let hits = hits(conn, &terms, &ranked[start.min(end)..end])?;
            let next = if ranked.len() > start + limit {
                hits.last().map(|h| Cursor::from_parts(&[h.score.to_bits() as i64, h.post.0]))
            } else {
                None
            };
            Ok(SearchResults { hits, total, total_is_exact, next })
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
        let significant = significant_words(draft_title);
        if significant.is_empty() {
            return Ok(Vec::new());
        }
        self.read(|conn, now| {
            let Some(matching) = Match::new(conn, "answer_index", "a", 1, &significant, true)
            else {
                return Ok(Vec::new());
            };
            let viewer = self.viewer(conn, now, actor, community)?;
            let cats = crate::permissions::sql_id_list(
                viewer.readable_categories().into_iter().map(|c| c.0),
            );
            let sql = format!(
                "SELECT a.rowid, a.title, a.body FROM answer_index a
                 WHERE {} AND a.category IN {cats}
                 ORDER BY a.rowid DESC LIMIT {SEARCH_WINDOW}",
                matching.condition
            );
            let window = full_text(conn, &sql, params![matching.query], candidate)?;
            let window = count_texts(&significant, window);
            let mut rows = rank(
                conn,
                &self.dfs,
                "answer_index",
                "SELECT coalesce(max(rowid), 0) FROM answer_index",
                &significant,
                window,
                now,
            )?;
            rows.truncate(limit.clamp(1, 20));
            let mut out = Vec::with_capacity(rows.len());
            for h in hits(conn, &significant, &rows)? {
                let kind = viewer.category(h.category)?.kind;
                out.push(SimilarTopic {
                    topic: h.topic,
                    title: h.title,
                    slug: h.slug,
                    category: h.category,
                    kind,
                    solved: h.solved,
                    snippet: h.snippet,
                    score: h.score,
                });
            }
            Ok(out)
        })
    }
}

/// Pages of the full-text index one [`Forum::tidy_search_index`] step
/// merges at most: a step is one write transaction, so a writer waits for
/// one step at most (measured at 100,000 posts: 8 ms on average, 116 ms at
/// worst while catching up from 19 segments).
const TIDY_STEP_PAGES: i64 = 64;
/// Steps one call takes at most (the rest is left for the next call).
const TIDY_MAX_STEPS: u64 = 2_000;

impl Forum {
    /// Merges the full-text index's segments, a bounded step at a time,
    /// until no level holds more than one; returns the steps that did
    /// work (0: nothing to do).
    ///
    /// Every write adds a small segment to SQLite's FTS5 index, and a
    /// search sets up one iterator per word per segment: at 100,000 posts
    /// the index's 19 segments made a search 20 % slower than 3 (1.16 ms
    /// against 0.96 ms, `docs/performance.md`). FTS5 merges by itself as
    /// it writes, 4 segments at a time; this merges 2 at a time, off the
    /// write path. Each step is its own short write transaction. Call it
    /// from the application's maintenance every few seconds to minutes
    /// (`hearth-web` does, with its topic timers); several processes may
    /// (they take turns). PostgreSQL's index needs nothing: returns 0.
    /// Replies still waiting for the index are indexed first.
    pub fn tidy_search_index(&self) -> Result<u64> {
        // Replies waiting for the index join it here too, so that none
        // waits longer than the maintenance interval.
        self.catch_up_search()?;
        // The index's structure record changes with every write to it: if
        // it is what it was when the last call found nothing to merge,
        // there is still nothing (and no write lock is taken to learn it).
        let structure = || {
            self.read(|conn, _| {
                if conn.dialect() != db::Dialect::Sqlite {
                    return Ok(None);
                }
                Ok(conn
                    .prepare_cached("SELECT block FROM search_index_data WHERE id = 10")?
                    .query_row(params![], |r| r.get::<_, Vec<u8>>(0))
                    .optional()?)
            })
        };
        let now = structure()?;
        let Some(now) = now else {
            return Ok(0);
        };
        if self
            .tidied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            == Some(&now)
        {
            return Ok(0);
        }
        let mut steps = 0;
        while steps < TIDY_MAX_STEPS {
            let worked = self.store.write(|tx| {
                if tx.dialect() != db::Dialect::Sqlite {
                    return Ok(false);
                }
                let usermerge: Option<i64> = tx
                    .prepare_cached("SELECT v FROM search_index_config WHERE k = 'usermerge'")?
                    .query_row(params![], |r| r.get(0))
                    .optional()?;
                if usermerge != Some(2) {
                    tx.execute_batch(
                        "INSERT INTO search_index(search_index, rank) VALUES ('usermerge', 2)",
                    )?;
                }
                // FTS5's way to tell whether a merge did any work: the
                // connection's change count grows by 2 or more.
                let changes = |tx: &Conn| -> Result<i64> {
                    Ok(tx
                        .prepare_cached("SELECT total_changes()")?
                        .query_row(params![], |r| r.get(0))?)
                };
                let before = changes(tx)?;
                tx.prepare_cached(
                    "INSERT INTO search_index(search_index, rank) VALUES ('merge', ?1)",
                )?
                .execute([TIDY_STEP_PAGES])?;
                Ok(changes(tx)? - before >= 2)
            })?;
            if !worked {
                *self.tidied.lock().unwrap_or_else(|e| e.into_inner()) = structure()?;
                break;
            }
            steps += 1;
        }
        Ok(steps)
    }
}

/// The hits for ranked candidates, in their order, read in one statement
/// per [`db::ID_CHUNK`] hits (one round trip on PostgreSQL for a page of
/// results), its text the same for every search.
fn hits(conn: &Conn, terms: &[String], ranked: &[(PostId, f64)]) -> Result<Vec<SearchHit>> {
    if ranked.is_empty() {
        return Ok(Vec::new());
    }
    type Row = (
        PostId,
        i64,
        TopicId,
        String,
        String,
        CategoryId,
        UserRef,
        bool,
        i64,
        Option<String>,
    );
    let ids: Vec<i64> = ranked.iter().map(|(post, _)| post.0).collect();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT p.id, p.post_number, t.id, t.title, t.slug, t.category_id,
                u.id, u.username, u.display_name, u.avatar_url,
                t.solved_post_id IS NOT NULL, p.created_at, s.body
         FROM posts p JOIN topics t ON t.id = p.topic_id JOIN users u ON u.id = p.user_id
              LEFT JOIN search_index s ON s.rowid = {}
         WHERE p.id IN {}",
        index_row_sql(conn, "p.id"),
        db::IdChunk::placeholders(1)
    ))?;
    let mut rows: std::collections::HashMap<PostId, Row> =
        std::collections::HashMap::with_capacity(ids.len());
    for chunk in db::IdChunk::split(&ids) {
        for row in stmt.query_map(chunk.params(&[]), |r| {
            let author = crate::topic::user_ref(r, 6)?;
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                author,
                r.get(10)?,
                r.get(11)?,
                r.get(12)?,
            ))
        })? {
            let row: Row = row?;
            rows.insert(row.0, row);
        }
    }
    ranked
        .iter()
        .map(|(post, score)| {
            let (post, post_number, topic, title, slug, category, author, solved, created, body) =
                rows.get(post)
                    .cloned()
                    .ok_or_else(|| Error::not_found("post"))?;
            Ok(SearchHit {
                post,
                post_number,
                topic,
                title,
                slug,
                category,
                author,
                snippet: snippet(body.as_deref().unwrap_or_default(), terms, 24),
                solved,
                created_at: from_millis(created),
                score: *score,
            })
        })
        .collect()
}

/// An excerpt of about `width` words around the first match, matches in
/// `<mark>`, everything HTML-escaped.
pub(crate) fn snippet(text: &str, terms: &[String], width: usize) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let terms = Terms::new(terms);
    let is_match = |w: &str| {
        w.split(|c: char| !c.is_alphanumeric())
            .filter(|part| !part.is_empty())
            .any(|part| terms.matches_unfolded(part))
    };
    let first = words.iter().position(|w| is_match(w)).unwrap_or(0);
    let start = first.saturating_sub(width / 3);
    let end = (start + width).min(words.len());
    let mut raw = String::new();
    if start > 0 {
        raw.push('…');
    }
    for (i, w) in words[start..end].iter().enumerate() {
        if i > 0 || start > 0 {
            raw.push(' ');
        }
        if is_match(w) {
            raw.push(MARK_OPEN);
            raw.push_str(w);
            raw.push(MARK_CLOSE);
        } else {
            raw.push_str(w);
        }
    }
    if end < words.len() {
        raw.push_str(" …");
    }
    snippet_html(&raw)
}

/// The rows of a full-text query; a query FTS5 cannot parse is the
/// caller's invalid input, not a storage error.
fn full_text<T>(
    conn: &Conn,
    sql: &str,
    args: impl db::Params,
    row: impl FnMut(&db::Row<'_>) -> db::Result<T>,
) -> Result<Vec<T>> {
    conn.prepare_cached(sql)?
        .query_map(args, row)
        .map_err(fts_error)?
        .collect::<db::Result<_>>()
        .map_err(fts_error)
}

/// A match read with its text: `rowid, title, body`.
fn candidate(r: &db::Row<'_>) -> db::Result<Candidate> {
    Ok(Candidate {
        post: r.get(0)?,
        title: r.get(1)?,
        body: r.get(2)?,
    })
}

fn fts_error(e: db::Error) -> Error {
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
        let conn = Conn::from_sqlite(rusqlite::Connection::open_in_memory().expect("open"));
        let all = |text: &str| Match::new(&conn, "search_index", "s", 1, &words(text), false);
        let m = all("Reset password!").expect("words");
        assert_eq!(m.query, "{title body} : (\"reset\" \"password\")");
        assert_eq!(m.condition, "s.search_index MATCH ?1");
        assert_eq!(
            all("\" OR * NEAR(").expect("words").query,
            "{title body} : (\"or\" \"near\")"
        );
        assert!(all("  ").is_none());
        let any = Match::new(
            &conn,
            "answer_index",
            "a",
            1,
            &significant_words("How do I reset the password"),
            true,
        )
        .expect("words");
        assert_eq!(any.query, "{title body} : (\"reset\" OR \"password\")");
    }

    #[test]
    fn snippets_mark_stems_and_trim() {
        let text =
            "one two three four five six seven eight nine ten Keys <b>rotate</b> eleven twelve";
        let s = snippet(text, &["key".into(), "rotating".into()], 6);
        assert_eq!(
            s,
            "… nine ten <mark>Keys</mark> <mark>&lt;b&gt;rotate&lt;/b&gt;</mark> eleven twelve"
        );
        assert_eq!(snippet("short text", &["zzz".into()], 6), "short text");
    }

    #[test]
    fn snippets_escape_everything_but_marks() {
        assert_eq!(
            snippet_html("a <b> \u{2}x\u{3} & \"q\""),
            "a &lt;b&gt; <mark>x</mark> &amp; &quot;q&quot;"
        );
    }
}
