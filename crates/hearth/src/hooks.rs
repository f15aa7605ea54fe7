//! Extension points the engine calls: filters before a write, notifications
//! after it.
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
