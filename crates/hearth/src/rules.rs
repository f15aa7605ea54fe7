//! Moderation rules, evaluated on every new post and edit before it is
//! written.
//!
//! In order: the category's own restrictions, watched words and patterns
//! (block, require approval, flag, censor, replace, tag, mark links
//! nofollow), link/image/mention limits for trust level 0 — these look at
//! the text only and run before the write lock — then, inside the write
//! transaction where they are exact: rate limits, duplicate posts, the
//! first-day limits of new members, and approval of a new member's first
//! posts or of everything below a category's trust bar. Every refusal
//! carries a reason the author sees.
//!
//! Watched words are compiled once per community into one `RegexSet` (a
//! single pass over the text finds every pattern that matches) and kept in
//! the community's cached configuration until they change.
//!
//! Categories opt out or tighten ([`CategoryRules`]): a *relaxed* category
//! (a casual lounge) skips the rules that hold or flag posts for review —
//! blocking and censoring still apply — while a category can also send
//! every post below a trust level to the review queue or require a level to
//! open topics.

use std::time::Duration;

use crate::db::{self, Conn, params};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use regex_syntax::hir::{Capture, Hir, HirKind, Look, Repetition};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditAction, Target, record};
use crate::clock::from_millis;
use crate::error::{Error, Result};
use crate::forum::{Forum, Write};
use crate::hooks::DraftKind;
use crate::ids::{CommunityId, TopicId, UserId};
use crate::permissions::{Actor, CategoryAccess, Viewer, bump_config};
use crate::render::Rendered;
use crate::store::{optional, parsed};
use crate::trust::TrustLevel;

/// What a watched word does when it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum WordAction {
    /// Refuse the post.
    Block,
    /// Hold the post in the review queue.
    RequireApproval,
    /// Publish it and put it in the review queue as flagged.
    Flag,
    /// Replace each match with `■` characters.
    Censor,
    /// Replace each match with this text.
    Replace {
        /// The replacement.
        with: String,
    },
    /// Add this tag to the topic (new topics).
    Tag {
        /// The tag.
        tag: String,
    },
    /// Mark every link in the post `rel="nofollow"`, internal ones too.
    Nofollow,
}

impl WordAction {
    fn default_reason(&self) -> &'static str {
        match self {
            WordAction::Block => "your post contains a word or phrase that is not allowed here",
            WordAction::RequireApproval => {
                "your post contains a word or phrase that a moderator reviews first"
            }
            WordAction::Flag => "the post contains a watched word or phrase",
            _ => "",
        }
    }
}

/// A watched word or pattern.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchedWord {
    /// Its id; rules are evaluated in id order.
    pub id: i64,
    /// The word (`*` matches any letters) or regular expression.
    pub pattern: String,
    /// Whether `pattern` is a regular expression.
    pub regex: bool,
    /// What happens on a match.
    pub action: WordAction,
    /// What the author is told (a default is used when empty).
    pub reason: String,
    /// When it was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// What [`Forum::add_watched_word`] needs.
#[derive(Debug, Clone)]
pub struct NewWatchedWord {
    /// A word or phrase, matched case-insensitively on word boundaries,
    /// `*` matching any letters (`"spam*"`); or, with `regex`, a regular
    /// expression (case-insensitive, linear-time: no look-around or
    /// back-references).
    pub pattern: String,
    /// Whether `pattern` is a regular expression.
    pub regex: bool,
    /// What happens on a match.
    pub action: WordAction,
    /// What the author is told; empty for a default.
    pub reason: String,
}

impl NewWatchedWord {
    /// A plain word with an action and no custom reason.
    pub fn word(pattern: &str, action: WordAction) -> Self {
        NewWatchedWord {
            pattern: pattern.to_string(),
            regex: false,
            action,
            reason: String::new(),
        }
    }

    /// A regular expression with an action and no custom reason.
    pub fn regex(pattern: &str, action: WordAction) -> Self {
        NewWatchedWord {
            pattern: pattern.to_string(),
            regex: true,
            action,
            reason: String::new(),
        }
    }
}

/// Most watched words per community.
pub const MAX_WATCHED_WORDS: usize = 2000;
/// Longest pattern, in bytes.
pub const MAX_PATTERN_BYTES: usize = 500;
/// Compiled size limit for the whole set of patterns.
const SET_SIZE_LIMIT: usize = 64 << 20;

/// A category's own moderation. Stored with the category.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CategoryRules {
    /// A casual space: rules that hold or flag posts for review (watched
    /// words with those actions, new-member approval) do not apply here.
    /// Blocking, censoring, link limits and rate limits still do.
    pub relaxed: bool,
    /// Posts by members below this trust level wait for approval.
    pub approve_below: Option<TrustLevel>,
    /// Topics only from members at this trust level or higher (staff and
    /// experts always may).
    pub topic_min_trust: Option<TrustLevel>,
}

/// Rate limits; members at trust level 0 get the stricter `new_member_*`
/// values. Staff, experts and moderators are exempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// Posts per minute (default 10).
    pub posts_per_minute: u32,
    /// Posts per minute at level 0 (default 3).
    pub new_member_posts_per_minute: u32,
    /// Topics per day (default 20).
    pub topics_per_day: u32,
    /// Topics per day at level 0 (default 5).
    pub new_member_topics_per_day: u32,
    /// Replies to one topic per hour (default 20).
    pub replies_per_topic_per_hour: u32,
    /// Replies to one topic per hour at level 0 (default 5).
    pub new_member_replies_per_topic_per_hour: u32,
    /// Likes and unlikes of one post by one member per hour (default 6:
    /// three changes of mind), so toggling can't flood the author with
    /// notifications and the event log with rows.
    pub like_toggles_per_post_per_hour: u32,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            posts_per_minute: 10,
            new_member_posts_per_minute: 3,
            topics_per_day: 20,
            new_member_topics_per_day: 5,
            replies_per_topic_per_hour: 20,
            new_member_replies_per_topic_per_hour: 5,
            like_toggles_per_post_per_hour: 6,
        }
    }
}

/// Community-wide moderation settings. Part of
/// [`CommunitySettings`](crate::CommunitySettings).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModerationSettings {
    /// Rate limits.
    pub rate_limits: RateLimits,
    /// The same member posting the same text again within this many
    /// minutes is refused (default 10; 0 turns it off).
    pub duplicate_window_minutes: u32,
    /// A new member's first this-many posts wait for approval (default 0).
    pub approve_first_posts: u32,
    /// Flags (from members at `flag_hide_min_trust` or higher) that hide a
    /// post until a moderator decides (default 3).
    pub flags_to_hide: u32,
    /// Lowest trust level whose flags count towards hiding (default 1).
    pub flag_hide_min_trust: TrustLevel,
}

impl Default for ModerationSettings {
    fn default() -> Self {
        ModerationSettings {
            rate_limits: RateLimits::default(),
            duplicate_window_minutes: 10,
            approve_first_posts: 0,
            flags_to_hide: 3,
            flag_hide_min_trust: TrustLevel::Basic,
        }
    }
}

impl ModerationSettings {
    pub(crate) fn validate(&self) -> Result<()> {
        let r = &self.rate_limits;
        if [
            r.posts_per_minute,
            r.new_member_posts_per_minute,
            r.topics_per_day,
            r.new_member_topics_per_day,
            r.replies_per_topic_per_hour,
            r.new_member_replies_per_topic_per_hour,
            r.like_toggles_per_post_per_hour,
        ]
        .iter()
        .any(|&n| n == 0 || n > 10_000)
        {
            return Err(Error::invalid(
                "moderation",
                "every rate limit must be 1 to 10,000",
            ));
        }
        if self.flags_to_hide == 0 || self.flags_to_hide > 1000 {
            return Err(Error::invalid(
                "moderation",
                "flags_to_hide must be 1 to 1,000",
            ));
        }
        if self.duplicate_window_minutes > 60 * 24 * 30 {
            return Err(Error::invalid(
                "moderation",
                "duplicate_window_minutes must be at most 43,200 (30 days)",
            ));
        }
        Ok(())
    }
}

/// A community's watched words, compiled.
#[derive(Debug)]
pub(crate) struct WordMatcher {
    set: Option<RegexSet>,
    /// Each word with its exact pattern and whether a set hit must be
    /// confirmed with it (the set holds a widened form).
    words: Vec<(WatchedWord, Regex, bool)>,
}

/// The pattern as matched inside text: words get word boundaries where
/// their edges are word characters. `detect` gives the form for the set,
/// which must stay within what the lazy DFA runs on any text: word
/// boundaries as `(?:^|\W)` for words, and for regular expressions the
/// pattern with its word-boundary assertions removed (a superset, confirmed
/// by the exact pattern on a hit — the DFA gives up on Unicode `\b` in
/// non-ASCII text, and the fallback costs milliseconds with 500 patterns).
/// Otherwise `\b`, so a replacement touches only the word.
fn compiled_pattern(pattern: &str, regex: bool, detect: bool) -> Result<(String, bool)> {
    if regex {
        if !detect {
            return Ok((pattern.to_string(), false));
        }
        let hir = regex_syntax::ParserBuilder::new()
            .case_insensitive(true)
            .build()
            .parse(pattern)
            .map_err(|e| Error::invalid("pattern", format!("not a usable pattern: {e}")))?;
        let mut stripped = false;
        let hir = without_word_looks(hir, &mut stripped);
        return Ok(if stripped {
            (hir.to_string(), true)
        } else {
            (pattern.to_string(), false)
        });
    }
    let t = pattern.trim();
    let inner = regex::escape(t).replace(r"\*", r"\w*");
    let word_edge = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    let (open, close) = if detect {
        (r"(?:^|\W)", r"(?:\W|$)")
    } else {
        (r"\b", r"\b")
    };
    Ok((
        format!(
            "{}(?:{inner}){}",
            if word_edge(t.chars().next()) {
                open
            } else {
                ""
            },
            if word_edge(t.chars().last()) {
                close
            } else {
                ""
            },
        ),
        false,
    ))
}

/// `hir` with its word-boundary assertions (`\b`, `\B` and friends)
/// replaced by the empty match, which only ever widens what matches.
fn without_word_looks(hir: Hir, stripped: &mut bool) -> Hir {
    match hir.into_kind() {
        HirKind::Look(look) => match look {
            Look::Start
            | Look::End
            | Look::StartLF
            | Look::EndLF
            | Look::StartCRLF
            | Look::EndCRLF => Hir::look(look),
            _ => {
                *stripped = true;
                Hir::empty()
            }
        },
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(l) => Hir::literal(l.0),
        HirKind::Class(c) => Hir::class(c),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(without_word_looks(*r.sub, stripped)),
            ..r
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            sub: Box::new(without_word_looks(*c.sub, stripped)),
            ..c
        }),
        HirKind::Concat(v) => Hir::concat(
            v.into_iter()
                .map(|h| without_word_looks(h, stripped))
                .collect(),
        ),
        HirKind::Alternation(v) => Hir::alternation(
            v.into_iter()
                .map(|h| without_word_looks(h, stripped))
                .collect(),
        ),
    }
}

fn single(pattern: &str, regex: bool) -> Result<Regex> {
    RegexBuilder::new(&compiled_pattern(pattern, regex, false)?.0)
        .case_insensitive(true)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| Error::invalid("pattern", format!("not a usable pattern: {e}")))
}

impl WordMatcher {
    pub(crate) fn build(words: Vec<WatchedWord>) -> Result<WordMatcher> {
        if words.is_empty() {
            return Ok(WordMatcher {
                set: None,
                words: Vec::new(),
            });
        }
        let detect = words
            .iter()
            .map(|w| compiled_pattern(&w.pattern, w.regex, true))
            .collect::<Result<Vec<_>>>()?;
        let set = RegexSetBuilder::new(detect.iter().map(|(p, _)| p))
            .case_insensitive(true)
            .size_limit(SET_SIZE_LIMIT)
            .dfa_size_limit(SET_SIZE_LIMIT)
            .build()
            .map_err(|e| Error::invalid("pattern", format!("watched words do not compile: {e}")))?;
        let mut compiled = Vec::with_capacity(words.len());
        for (w, (_, confirm)) in words.into_iter().zip(detect) {
            let exact = single(&w.pattern, w.regex)?;
            compiled.push((w, exact, confirm));
        }
        Ok(WordMatcher {
            set: Some(set),
            words: compiled,
        })
    }

    /// Indices of the patterns matching any of `texts`, in rule order.
    fn matching(&self, texts: &[&str]) -> Vec<usize> {
        let Some(set) = &self.set else {
            return Vec::new();
        };
        let mut hit = vec![false; self.words.len()];
        for t in texts {
            for i in set.matches(t).iter() {
                hit[i] = true;
            }
        }
        hit.iter()
            .enumerate()
            .filter(|(i, h)| {
                let (_, exact, confirm) = &self.words[*i];
                **h && (!confirm || texts.iter().any(|t| exact.is_match(t)))
            })
            .map(|(i, _)| i)
            .collect()
    }
}

pub(crate) fn load_words(conn: &Conn, community: CommunityId) -> Result<Vec<WatchedWord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, pattern, regex, action, reason, created_at FROM watched_words
         WHERE community_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([community], |r| {
        Ok(WatchedWord {
            id: r.get(0)?,
            pattern: r.get(1)?,
            regex: r.get(2)?,
            action: parsed(r, 3, |s| {
                serde_json::from_str(s)
                    .map_err(|e| Error::Storage(format!("watched word action unreadable: {e}")))
            })?,
            reason: r.get(4)?,
            created_at: from_millis(r.get(5)?),
        })
    })?;
    Ok(rows.collect::<db::Result<_>>()?)
}

/// What the text rules decided about a draft that may be published.
#[derive(Debug, Clone, Default)]
pub(crate) struct Screening {
    /// Hold for review, with the reason shown to the author.
    pub queue: Option<String>,
    /// Publish, then flag for review with this reason.
    pub flag: Option<String>,
    /// Tags to add to a new topic.
    pub tags: Vec<String>,
    /// Mark every link nofollow.
    pub nofollow: bool,
}

fn blocked(rule: &str, reason: impl Into<String>) -> Error {
    Error::Blocked {
        rule: rule.to_string(),
        reason: reason.into(),
    }
}

/// Applies the watched words to a draft's title and body (rewriting them
/// for censor and replace).
pub(crate) fn screen_words(
    matcher: &WordMatcher,
    cat: &CategoryAccess,
    title: &mut Option<String>,
    body: &mut String,
) -> Result<Screening> {
    let mut out = Screening::default();
    let texts: Vec<&str> = title
        .as_deref()
        .into_iter()
        .chain(std::iter::once(body.as_str()))
        .collect();
    let hits = matcher.matching(&texts);
    for i in hits {
        let (word, re, _) = &matcher.words[i];
        let reason = if word.reason.trim().is_empty() {
            word.action.default_reason().to_string()
        } else {
            word.reason.clone()
        };
        match &word.action {
            WordAction::Block => return Err(blocked("watched_word", reason)),
            WordAction::RequireApproval => {
                if !cat.rules.relaxed && out.queue.is_none() {
                    out.queue = Some(reason);
                }
            }
            WordAction::Flag => {
                if !cat.rules.relaxed && out.flag.is_none() {
                    out.flag = Some(reason);
                }
            }
            WordAction::Censor | WordAction::Replace { .. } => {
                let rewrite = |text: &str| -> String {
                    re.replace_all(text, |caps: &regex::Captures<'_>| match &word.action {
                        WordAction::Replace { with } => with.clone(),
                        _ => "■".repeat(caps[0].chars().count()),
                    })
                    .into_owned()
                };
                if let Some(t) = title.as_mut() {
                    *t = rewrite(t);
                }
                *body = rewrite(body);
            }
            WordAction::Tag { tag } => out.tags.push(tag.clone()),
            WordAction::Nofollow => out.nofollow = true,
        }
    }
    Ok(out)
}

/// Refuses a like or unlike when the member already changed their like
/// of this post `like_toggles_per_post_per_hour` times in the last hour
/// (staff, experts and moderators are exempt, as from every rate limit).
pub(crate) fn check_like_toggles(
    w: &Write<'_>,
    viewer: &Viewer,
    user: UserId,
    post: crate::ids::PostId,
) -> Result<()> {
    if viewer.is_official() {
        return Ok(());
    }
    const HOUR: i64 = 60 * 60_000;
    let now = w.now_ms();
    let limit = viewer
        .config
        .settings
        .moderation
        .rate_limits
        .like_toggles_per_post_per_hour;
    let times: Vec<i64> =
        w.tx.prepare_cached(
            "SELECT created_at FROM events
             WHERE community_id = ?1 AND kind IN ('post.liked', 'post.unliked')
               AND created_at > ?2 AND actor_id = ?3 AND post_id = ?4
             ORDER BY created_at",
        )?
        .query_map(params![viewer.community, now - HOUR, user, post], |r| {
            r.get(0)
        })?
        .collect::<db::Result<_>>()?;
    if times.len() >= limit as usize {
        let oldest = times[times.len() - limit as usize];
        let wait = (oldest + HOUR - now).max(1_000);
        return Err(Error::RateLimited {
            retry_after: Duration::from_millis(wait as u64),
        });
    }
    Ok(())
}

/// Link, image and mention limits per post: the community's for everyone
/// (staff and experts included, so a mention storm can't notify more than
/// `max_mentions` members from one request), and the stricter ones for
/// members at trust level 0.
pub(crate) fn check_post_limits(viewer: &Viewer, rendered: &Rendered) -> Result<()> {
    // Links the author wrote; @mentions render as links but are not.
    let mention_links = rendered.html.matches("<a class=\"mention\"").count();
    let links = rendered
        .html
        .matches("<a ")
        .count()
        .saturating_sub(mention_links);
    let images = rendered.html.matches("<img ").count();
    let mentions = rendered.mentions.len();
    let s = &viewer.config.settings;
    if viewer.effective_trust() == TrustLevel::New {
        let l = &s.trust.new_member;
        for (rule, n, max, what) in [
            (
                "new_member_links",
                links,
                l.max_links,
                "include at most {max} links in a post",
            ),
            (
                "new_member_images",
                images,
                l.max_images,
                "include at most {max} images in a post",
            ),
            (
                "new_member_mentions",
                mentions,
                l.max_mentions,
                "mention at most {max} people in a post",
            ),
        ] {
            if n > max as usize {
                let what = what.replace("{max}", &max.to_string());
                return Err(blocked(
                    rule,
                    format!(
                        "new members may {what} (this one has {n}); the limit lifts as you take part"
                    ),
                ));
            }
        }
    }
    let l = &s.limits;
    for (rule, n, max, what) in [
        ("post_links", links, l.max_links, "links"),
        ("post_images", images, l.max_images, "images"),
        ("post_mentions", mentions, l.max_mentions, "mentions"),
    ] {
        if n > max as usize {
            return Err(blocked(
                rule,
                format!("a post may have at most {max} {what} (this one has {n}); split it up"),
            ));
        }
    }
    Ok(())
}

fn normalized(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn rate_limited(until_ms: i64, now_ms: i64) -> Error {
    Error::RateLimited {
        retry_after: Duration::from_millis(
            u64::try_from((until_ms - now_ms).max(1000)).unwrap_or(1000),
        ),
    }
}

/// The rules that depend on what the member already wrote: rate limits,
/// duplicates, first-day limits, and approval. Runs inside the write
/// transaction; returns a reason when the post must wait for review.
pub(crate) fn screen_state(
    w: &Write<'_>,
    viewer: &Viewer,
    cat: &CategoryAccess,
    kind: DraftKind,
    topic: Option<TopicId>,
    author: UserId,
    body: &str,
) -> Result<Option<String>> {
    if viewer.is_official() || kind == DraftKind::Edit {
        return Ok(None);
    }
    let settings = &viewer.config.settings;
    let m = &settings.moderation;
    let new = viewer.effective_trust() == TrustLevel::New;
    let now = w.now_ms();
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let first_day = new && viewer.joined_at.is_some_and(|j| now - j < DAY);
    let pick = |normal: u32, strict: u32| i64::from(if new { strict } else { normal });
    let r = &m.rate_limits;
    let per_minute = pick(r.posts_per_minute, r.new_member_posts_per_minute);
    let per_day = pick(r.topics_per_day, r.new_member_topics_per_day);
    let per_topic = pick(
        r.replies_per_topic_per_hour,
        r.new_member_replies_per_topic_per_hour,
    );
    let joined = viewer.joined_at.unwrap_or(0);
    if m.duplicate_window_minutes > 0 {
        let since = now - i64::from(m.duplicate_window_minutes) * MINUTE;
        let norm = normalized(body);
        let mut stmt = w.tx.prepare_cached(
            "SELECT source FROM posts
             WHERE user_id = ?1 AND community_id = ?2 AND created_at > ?3",
        )?;
        let mut rows = stmt.query(params![author, viewer.community, since])?;
        while let Some(row) = rows.next()? {
            if normalized(&row.get::<_, String>(0)?) == norm {
                return Err(blocked(
                    "duplicate",
                    "you posted the same text a moment ago; say something new or edit that post",
                ));
            }
        }
    }
    // The member's posts of the last hour, counted in one pass over the
    // index `posts_user_recent` (no row reaches Rust): those of the last
    // minute, and this topic's replies. Only a count at its limit asks
    // for the post whose time says when the limit lifts.
    let (minute, in_topic): (i64, i64) =
        w.tx.prepare_cached(
            "SELECT count(*) FILTER (WHERE created_at > ?3),
                    count(*) FILTER (WHERE topic_id = ?4 AND post_number > 1)
             FROM posts WHERE user_id = ?1 AND community_id = ?2 AND created_at > ?5",
        )?
        .query_row(
            params![
                author,
                viewer.community,
                now - MINUTE,
                topic.map_or(0, |t| t.0),
                now - HOUR
            ],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
    // The `n`-th newest of the member's posts since `since` (this topic's
    // replies only, given one): the one whose time frees a place.
    let nth_newest = |since: i64, topic: Option<TopicId>, n: i64| -> Result<i64> {
        let at = optional(
            w.tx.prepare_cached(
                "SELECT created_at FROM posts
                 WHERE user_id = ?1 AND community_id = ?2 AND created_at > ?3
                   AND (?4 = 0 OR (topic_id = ?4 AND post_number > 1))
                 ORDER BY created_at DESC LIMIT 1 OFFSET ?5",
            )?
            .query_row(
                params![
                    author,
                    viewer.community,
                    since,
                    topic.map_or(0, |t| t.0),
                    n - 1
                ],
                |r| r.get::<_, i64>(0),
            ),
        )?;
        Ok(at.unwrap_or(now))
    };
    if minute >= per_minute {
        return Err(rate_limited(
            nth_newest(now - MINUTE, None, per_minute)? + MINUTE,
            now,
        ));
    }
    let nm = &settings.trust.new_member;
    match kind {
        DraftKind::NewTopic => {
            // The member's newest topics, as many as the larger limit needs.
            let need = per_day.max(if first_day {
                i64::from(nm.topics_first_day)
            } else {
                0
            });
            let topics: Vec<i64> =
                w.tx.prepare_cached(
                    "SELECT created_at FROM topics WHERE community_id = ?1 AND user_id = ?2
                     ORDER BY id DESC LIMIT ?3",
                )?
                .query_map(params![viewer.community, author, need], |r| r.get(0))?
                .collect::<db::Result<_>>()?;
            // Newest first: the limit-th frees up first.
            let today: Vec<i64> = topics
                .iter()
                .copied()
                .filter(|&at| at > now - DAY)
                .collect();
            if let Some(&at) = today.get((per_day - 1) as usize) {
                return Err(rate_limited(at + DAY, now));
            }
            if first_day
                && topics.iter().filter(|&&at| at >= joined).count() as u32 >= nm.topics_first_day
            {
                return Err(rate_limited(joined + DAY, now));
            }
        }
        DraftKind::Reply => {
            if in_topic >= per_topic {
                return Err(rate_limited(
                    nth_newest(now - HOUR, topic, per_topic)? + HOUR,
                    now,
                ));
            }
            if first_day {
                // A member in their first day has only that day's posts.
                let replies: i64 =
                    w.tx.prepare_cached(
                        "SELECT count(*) FROM posts WHERE user_id = ?1 AND community_id = ?2
                           AND post_number > 1 AND created_at >= ?3",
                    )?
                    .query_row(params![author, viewer.community, joined], |r| r.get(0))?;
                if replies >= i64::from(nm.replies_first_day) {
                    return Err(rate_limited(joined + DAY, now));
                }
            }
        }
        DraftKind::Edit => {}
    }
    if let Some(level) = cat.rules.approve_below
        && viewer.effective_trust() < level
    {
        return Ok(Some(format!(
            "posts here from members below trust level {} are reviewed by a moderator first",
            level.number()
        )));
    }
    if !cat.rules.relaxed && m.approve_first_posts > 0 {
        let written: i64 =
            w.tx.prepare_cached(
                "SELECT coalesce((SELECT posts_created FROM member_activity
                                  WHERE community_id = ?1 AND user_id = ?2), 0)",
            )?
            .query_row(params![viewer.community, author], |r| r.get(0))?;
        if written < i64::from(m.approve_first_posts) {
            return Ok(Some(format!(
                "a moderator reviews the first {} posts of new members; yours will appear once approved",
                m.approve_first_posts
            )));
        }
    }
    Ok(None)
}

/// What the watched words make of a draft: see [`Forum::screen_draft`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenedDraft {
    /// The title after censoring and replacements.
    pub title: Option<String>,
    /// The body after censoring and replacements.
    pub body: String,
    /// Why the post would wait for review, if it would.
    pub held: Option<String>,
    /// Why it would be flagged for review after publishing, if it would.
    pub flagged: Option<String>,
    /// Tags the rules would add.
    pub tags: Vec<String>,
    /// Whether every link would be marked nofollow.
    pub nofollow: bool,
}

impl Forum {
    /// Runs a community's watched words over a draft without writing
    /// anything, as the composer's live check: what would be censored,
    /// held or tagged. A draft a word blocks fails with
    /// [`Error::Blocked`](crate::Error::Blocked). One pass of the compiled
    /// set over the text; see `docs/performance.md` for its cost with 500
    /// patterns.
    pub fn screen_draft(
        &self,
        actor: &Actor,
        community: CommunityId,
        category: crate::ids::CategoryId,
        title: Option<&str>,
        body: &str,
    ) -> Result<ScreenedDraft> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            let cat = viewer.category(category)?;
            let words = viewer.config.watched_words(conn)?;
            let mut title = title.map(str::to_string);
            let mut body = body.to_string();
            let s = screen_words(&words, cat, &mut title, &mut body)?;
            let exempt = viewer.is_official();
            Ok(ScreenedDraft {
                title,
                body,
                held: s.queue.filter(|_| !exempt),
                flagged: s.flag.filter(|_| !exempt),
                tags: s.tags,
                nofollow: s.nofollow,
            })
        })
    }

    /// Adds a watched word or pattern (evaluated after the existing ones).
    /// Admins only. The whole set is recompiled, so a bad pattern is
    /// refused here, not when a member posts.
    pub fn add_watched_word(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewWatchedWord,
    ) -> Result<WatchedWord> {
        let pattern = new.pattern.trim();
        if pattern.is_empty() || pattern.len() > MAX_PATTERN_BYTES {
            return Err(Error::invalid(
                "pattern",
                format!("must be 1 to {MAX_PATTERN_BYTES} bytes"),
            ));
        }
        if !new.regex && pattern.chars().all(|c| c == '*') {
            return Err(Error::invalid(
                "pattern",
                "a word must contain more than wildcards",
            ));
        }
        crate::text::check_len("reason", &new.reason, 0, 500)?;
        match &new.action {
            WordAction::Replace { with } => crate::text::check_len("with", with, 0, 500)?,
            WordAction::Tag { tag } => {
                crate::text::clean_tags(std::slice::from_ref(tag), 1, 30)?;
            }
            _ => {}
        }
        if single(pattern, new.regex)?.is_match("") {
            return Err(Error::invalid(
                "pattern",
                "the pattern matches empty text, so it would match every post",
            ));
        }
        let action =
            serde_json::to_string(&new.action).map_err(|e| Error::Storage(e.to_string()))?;
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let mut words = load_words(w.tx, community)?;
            if words.len() >= MAX_WATCHED_WORDS {
                return Err(Error::invalid_as(
                    "pattern",
                    crate::error::Problem::TooMany {
                        max: MAX_WATCHED_WORDS as u64,
                    },
                    format!("a community has at most {MAX_WATCHED_WORDS} watched words"),
                ));
            }
            let now = w.now_ms();
            w.tx.prepare_cached(
                "INSERT INTO watched_words (community_id, pattern, regex, action, reason, created_by, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![community, pattern, new.regex, action, new.reason.trim(), viewer.user, now])?;
            let word = WatchedWord {
                id: w.tx.last_insert_rowid()?,
                pattern: pattern.to_string(),
                regex: new.regex,
                action: new.action.clone(),
                reason: new.reason.trim().to_string(),
                created_at: from_millis(now),
            };
            words.push(word.clone());
            // Refuse a set that does not compile as a whole (size limits).
            WordMatcher::build(words)?;
            bump_config(w.tx, community)?;
            record(
                w,
                &viewer,
                AuditAction::WatchedWordAdded,
                Target::WatchedWord(word.id),
                serde_json::Value::Null,
                serde_json::to_value(&word).map_err(|e| Error::Storage(e.to_string()))?,
                None,
            )?;
            Ok(word)
        })
    }

    /// Removes a watched word. Admins only.
    pub fn remove_watched_word(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: i64,
    ) -> Result<()> {
        self.write(|w| {
            let viewer = self.viewer_in(w, actor, community)?;
            viewer.require_admin()?;
            let words = load_words(w.tx, community)?;
            let Some(word) = words.into_iter().find(|x| x.id == id) else {
                return Err(Error::not_found("watched word"));
            };
            w.tx.prepare_cached("DELETE FROM watched_words WHERE id = ?1 AND community_id = ?2")?
                .execute(params![id, community])?;
            bump_config(w.tx, community)?;
            record(
                w,
                &viewer,
                AuditAction::WatchedWordRemoved,
                Target::WatchedWord(id),
                serde_json::to_value(&word).map_err(|e| Error::Storage(e.to_string()))?,
                serde_json::Value::Null,
                None,
            )
        })
    }

    /// The community's watched words in evaluation order. Moderators only.
    pub fn watched_words(&self, actor: &Actor, community: CommunityId) -> Result<Vec<WatchedWord>> {
        self.read(|conn, now| {
            let viewer = self.viewer(conn, now, actor, community)?;
            viewer.require_moderator()?;
            load_words(conn, community)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(words: &[(&str, bool, WordAction)]) -> WordMatcher {
        WordMatcher::build(
            words
                .iter()
                .enumerate()
                .map(|(i, (p, regex, a))| WatchedWord {
                    id: i as i64,
                    pattern: p.to_string(),
                    regex: *regex,
                    action: a.clone(),
                    reason: String::new(),
                    created_at: OffsetDateTime::UNIX_EPOCH,
                })
                .collect(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn cat(relaxed: bool) -> CategoryAccess {
        CategoryAccess {
            id: crate::ids::CategoryId(1),
            kind: crate::category::CategoryKind::Discussion,
            visibility: crate::category::Visibility::Public,
            groups: vec![],
            read_only: false,
            rewards: true,
            inbox: false,
            rules: CategoryRules {
                relaxed,
                ..CategoryRules::default()
            },
        }
    }

    #[test]
    fn words_match_on_boundaries_case_insensitively() {
        let m = matcher(&[("darn", false, WordAction::Censor)]);
        assert_eq!(m.matching(&["Darn it"]), vec![0]);
        assert_eq!(m.matching(&["it's DARN."]), vec![0]);
        assert!(m.matching(&["darned"]).is_empty());
        assert!(m.matching(&["undarn"]).is_empty());
        let m = matcher(&[("spam*", false, WordAction::Block)]);
        assert_eq!(m.matching(&["spammers"]), vec![0]);
        assert!(m.matching(&["antispam"]).is_empty());
    }

    #[test]
    fn censor_and_replace_rewrite_title_and_body() {
        let m = matcher(&[
            ("darn", false, WordAction::Censor),
            (
                r"acme\s*corp",
                true,
                WordAction::Replace {
                    with: "ACME".into(),
                },
            ),
        ]);
        let mut title = Some("Darn printer".to_string());
        let mut body = "darn it, acme  corp!".to_string();
        screen_words(&m, &cat(false), &mut title, &mut body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(title.as_deref(), Some("■■■■ printer"));
        assert_eq!(body, "■■■■ it, ACME!");
    }

    #[test]
    fn relaxed_categories_skip_review_actions_but_not_blocks() {
        let m = matcher(&[
            ("hold", false, WordAction::RequireApproval),
            ("watch", false, WordAction::Flag),
            ("nope", false, WordAction::Block),
        ]);
        let mut body = "hold and watch".to_string();
        let s =
            screen_words(&m, &cat(false), &mut None, &mut body).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.queue.is_some() && s.flag.is_some());
        let s =
            screen_words(&m, &cat(true), &mut None, &mut body).unwrap_or_else(|e| panic!("{e}"));
        assert!(s.queue.is_none() && s.flag.is_none());
        let mut body = "nope".to_string();
        assert!(matches!(
            screen_words(&m, &cat(true), &mut None, &mut body),
            Err(Error::Blocked { .. })
        ));
    }

    #[test]
    fn regex_word_boundaries_are_exact_on_any_text() {
        let m = matcher(&[(r"\bcafé\b", true, WordAction::Block)]);
        assert_eq!(m.matching(&["un café noir"]), vec![0]);
        assert!(m.matching(&["les cafés"]).is_empty());
        assert!(m.matching(&["écafé"]).is_empty());
        let m = matcher(&[(r"\d{3}\B", true, WordAction::Block)]);
        assert_eq!(m.matching(&["1234 ü"]), vec![0]);
        assert!(m.matching(&["123 ü"]).is_empty());
    }

    #[test]
    fn non_word_edges_and_unicode() {
        let m = matcher(&[
            ("$$$", false, WordAction::Block),
            ("café", false, WordAction::Block),
        ]);
        assert_eq!(m.matching(&["make $$$ fast"]), vec![0]);
        assert_eq!(m.matching(&["au Café!"]), vec![1]);
        assert!(m.matching(&["cafés"]).is_empty());
    }
}
