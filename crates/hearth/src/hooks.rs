//! Extension points the engine calls: filters before a write, Markdown
//! extensions while rendering, notifications after a write.
//!
//! The engine knows nothing of how a hook is implemented: embedders register
//! native Rust hooks here, and the WASM plugin host implements the same trait.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::events::Event;
use crate::ids::{CategoryId, CommunityId, PostId, TopicId, UserId};

/// Why a post is being filtered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DraftKind {
    /// The first post of a new topic.
    NewTopic,
    /// A reply in an existing topic.
    Reply,
    /// An edit of an existing post.
    Edit,
}

/// A post about to be written, as hooks see it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PostDraft {
    /// New topic, reply or edit.
    pub kind: DraftKind,
    /// The community.
    pub community: CommunityId,
    /// The category the post is in.
    pub category: CategoryId,
    /// The topic (absent for a new topic).
    pub topic: Option<TopicId>,
    /// The post being edited (edits only).
    pub post: Option<PostId>,
    /// The author (for edits: the editor).
    pub author: UserId,
    /// The topic title (new topics, and edits of a first post).
    pub title: Option<String>,
    /// The Markdown source.
    pub body: String,
}

/// A filter's verdict on a [`PostDraft`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum PostFilter {
    /// Write it as it is.
    Allow,
    /// Write it with this Markdown body instead (later filters see the
    /// rewritten body; content limits are checked again).
    Rewrite {
        /// The new body.
        body: String,
    },
    /// Do not publish it yet: hold it in the review queue; `reason` is
    /// shown to the author. Staff posts are never held.
    Queue {
        /// Shown to the author.
        reason: String,
    },
    /// Do not write it; `reason` is shown to the author.
    Reject {
        /// Shown to the author.
        reason: String,
    },
}

/// A fenced-block syntax a hook renders: a code block whose info string
/// starts with `fence` (```` ```poll ````) is handed to its owner instead
/// of being shown as code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupSyntax {
    /// The info string's first word: 1 to 32 lowercase letters, digits and
    /// dashes (see [`markup_fence_ok`]).
    pub fence: String,
    /// Who renders it (a plugin's name): 1 to 50 lowercase letters, digits
    /// and dashes (a syntax whose owner is not is ignored). Its HTML may
    /// use classes under `<owner>-`.
    pub owner: String,
    /// The owner's version. A post records the versions it was rendered
    /// with, so a new version re-renders the posts that use the syntax
    /// ([`Forum::rerender_markup`](crate::Forum::rerender_markup)).
    pub version: String,
}

/// Whether `fence` can name a [`MarkupSyntax`]: 1 to 32 lowercase ASCII
/// letters, digits and dashes.
pub fn markup_fence_ok(fence: &str) -> bool {
    (1..=32).contains(&fence.len())
        && fence
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// One block of a post for a [`MarkupSyntax`]'s owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupBlock {
    /// The fence word (`poll`).
    pub fence: String,
    /// The rest of the info string, trimmed (```` ```poll type=multiple ````
    /// gives `type=multiple`).
    pub info: String,
    /// The block's text, as written.
    pub source: String,
}

/// What a hook made of a [`MarkupBlock`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkupOutput {
    /// HTML, sanitized by the engine with the owner's allowlist: what posts
    /// allow plus `span` and classes under `<owner>-` (no forms, scripts
    /// or styles). Stored with the post.
    pub html: String,
    /// Plain text, for search, excerpts and e-mails.
    pub text: String,
}

/// A hook's own failure (as opposed to a deliberate [`PostFilter::Reject`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HookError(pub String);

/// Code the engine calls around writes. Every method has a default that
/// does nothing, so an implementation overrides only what it needs.
///
/// * [`filter_post`](Hooks::filter_post) runs before a post is created or
///   edited, outside the write transaction. If it errors or panics, the post
///   is not written and the caller gets [`Error::Hook`] (filters fail
///   closed); nothing is half-applied.
/// * [`markup_syntaxes`](Hooks::markup_syntaxes) and
///   [`render_markup`](Hooks::render_markup) extend Markdown: a fenced
///   block a hook claims is rendered by it — once per post and owner, with
///   all of the post's blocks — while the post is rendered (before the
///   write transaction). If it errors, panics or answers `None`, the block
///   is shown as its source (as a code block); the post is still written.
///   Rendering must be deterministic: the same blocks and version give the
///   same HTML.
/// * [`on_events`](Hooks::on_events) runs after a write committed, with the
///   events it appended. Errors and panics are logged and otherwise ignored:
///   the write already happened. For guaranteed delivery read the durable
///   log with [`Forum::events_after`](crate::Forum::events_after) instead.
///
/// ```
/// use hearth::{Hooks, HookError, PostDraft, PostFilter};
///
/// struct NoShouting;
///
/// impl Hooks for NoShouting {
///     fn name(&self) -> &str { "no-shouting" }
///     fn filter_post(&self, draft: &PostDraft) -> Result<PostFilter, HookError> {
///         let letters: Vec<char> = draft.body.chars().filter(|c| c.is_alphabetic()).collect();
///         if letters.len() > 10 && letters.iter().all(|c| c.is_uppercase()) {
///             return Ok(PostFilter::Rewrite { body: draft.body.to_lowercase() });
///         }
///         Ok(PostFilter::Allow)
///     }
/// }
/// ```
pub trait Hooks: Send + Sync {
    /// A short name used in errors and logs.
    fn name(&self) -> &str;

    /// Inspects, rewrites or rejects a post before it is written.
    fn filter_post(&self, draft: &PostDraft) -> Result<PostFilter, HookError> {
        let _ = draft;
        Ok(PostFilter::Allow)
    }

    /// The fenced-block syntaxes this hook renders in `community`. Asked
    /// only when a post has a fenced block with an info string.
    fn markup_syntaxes(&self, community: CommunityId) -> Vec<MarkupSyntax> {
        let _ = community;
        Vec::new()
    }

    /// Renders `blocks` (all of one post's blocks of `syntax`'s owner, in
    /// order): one answer per block, `None` to leave it as source.
    fn render_markup(
        &self,
        community: CommunityId,
        syntax: &MarkupSyntax,
        blocks: &[MarkupBlock],
    ) -> Result<Vec<Option<MarkupOutput>>, HookError> {
        let _ = (community, syntax);
        Ok(vec![None; blocks.len()])
    }

    /// Called after a write committed, with the events it appended, in order.
    fn on_events(&self, events: &[Event]) -> Result<(), HookError> {
        let _ = events;
        Ok(())
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panicked".to_string())
}

/// Runs every filter in order over `draft`, applying rewrites. Returns the
/// first reason a filter gave for holding the post for review (later
/// filters still run: one may reject it outright).
pub(crate) fn run_filters(
    hooks: &[Arc<dyn Hooks>],
    draft: &mut PostDraft,
) -> Result<Option<String>> {
    let mut held = None;
    for hook in hooks {
        let verdict = catch_unwind(AssertUnwindSafe(|| hook.filter_post(draft)));
        let verdict = match verdict {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                return Err(Error::Hook {
                    hook: hook.name().to_string(),
                    message: e.0,
                });
            }
            Err(p) => {
                return Err(Error::Hook {
                    hook: hook.name().to_string(),
                    message: format!("panicked: {}", panic_message(p.as_ref())),
                });
            }
        };
        match verdict {
            PostFilter::Allow => {}
            PostFilter::Rewrite { body } => draft.body = body,
            PostFilter::Queue { reason } => {
                held.get_or_insert(reason);
            }
            PostFilter::Reject { reason } => {
                return Err(Error::Rejected {
                    hook: hook.name().to_string(),
                    reason,
                });
            }
        }
    }
    Ok(held)
}

/// The syntaxes every hook renders in `community`; the first hook to claim
/// a fence owns it.
pub(crate) fn markup_syntaxes(
    hooks: &[Arc<dyn Hooks>],
    community: CommunityId,
) -> Vec<(usize, MarkupSyntax)> {
    let mut out: Vec<(usize, MarkupSyntax)> = Vec::new();
    for (i, hook) in hooks.iter().enumerate() {
        let found = catch_unwind(AssertUnwindSafe(|| hook.markup_syntaxes(community)))
            .unwrap_or_else(|p| {
                tracing::error!(hook = hook.name(), panic = %panic_message(p.as_ref()), "markup_syntaxes panicked");
                Vec::new()
            });
        for s in found {
            // The owner names classes in stored HTML: a name, nothing else.
            let owner_ok = (1..=50).contains(&s.owner.len())
                && s.owner
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
            if !owner_ok {
                tracing::warn!(hook = hook.name(), owner = %s.owner, "a Markdown extension's owner is not a name; ignored");
                continue;
            }
            if markup_fence_ok(&s.fence) && !out.iter().any(|(_, o)| o.fence == s.fence) {
                out.push((i, s));
            }
        }
    }
    out
}

/// Asks `hook` to render `blocks`; a failure, a panic or a wrong number of
/// answers leaves every block as source (logged).
pub(crate) fn render_markup(
    hook: &dyn Hooks,
    community: CommunityId,
    syntax: &MarkupSyntax,
    blocks: &[MarkupBlock],
) -> Vec<Option<MarkupOutput>> {
    let none = || vec![None; blocks.len()];
    match catch_unwind(AssertUnwindSafe(|| {
        hook.render_markup(community, syntax, blocks)
    })) {
        Ok(Ok(v)) if v.len() == blocks.len() => v,
        Ok(Ok(v)) => {
            tracing::warn!(hook = hook.name(), owner = %syntax.owner, asked = blocks.len(), answered = v.len(), "render_markup answered the wrong number of blocks");
            none()
        }
        Ok(Err(e)) => {
            tracing::warn!(hook = hook.name(), owner = %syntax.owner, error = %e, "render_markup failed; blocks shown as source");
            none()
        }
        Err(p) => {
            tracing::error!(hook = hook.name(), owner = %syntax.owner, panic = %panic_message(p.as_ref()), "render_markup panicked");
            none()
        }
    }
}

/// Delivers committed events to every hook; failures are logged.
pub(crate) fn notify(hooks: &[Arc<dyn Hooks>], events: &[Event]) {
    for hook in hooks {
        match catch_unwind(AssertUnwindSafe(|| hook.on_events(events))) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(hook = hook.name(), error = %e, "on_events failed"),
            Err(p) => tracing::error!(
                hook = hook.name(),
                panic = %panic_message(p.as_ref()),
                "on_events panicked"
            ),
        }
    }
}
