//! Markdown extensions: the hooks' fenced-block syntaxes while a post is
//! rendered, and rendering again the posts an extension's change affects.
//!
//! A post records which syntaxes its blocks were rendered with
//! (`posts.markup`, see [`Rendered::markup`](crate::render::Rendered)):
//! `|poll=polls@1.2.0|` when the `polls` extension at 1.2.0 rendered its
//! `poll` blocks, `|poll=|` when they were shown as source. So after an
//! extension is installed, upgraded, enabled, disabled or failed,
//! [`Forum::rerender_markup`] finds exactly the posts that now render
//! differently. Posts rendered before the record existed (`NULL`) are found
//! by their source.

use std::sync::Arc;

use crate::db::{self, params};
use crate::error::Result;
use crate::forum::Forum;
use crate::hooks::{Hooks, MarkupBlock, MarkupOutput, MarkupSyntax, markup_fence_ok};
use crate::ids::{CommunityId, PostId};
use crate::render::MarkupSource;

/// The registered hooks as the renderer's [`MarkupSource`] for one
/// community.
pub(crate) struct HookMarkup {
    hooks: Vec<Arc<dyn Hooks>>,
    community: CommunityId,
}

impl HookMarkup {
    pub(crate) fn new(hooks: Vec<Arc<dyn Hooks>>, community: CommunityId) -> HookMarkup {
        HookMarkup { hooks, community }
    }
}

impl MarkupSource for HookMarkup {
    fn syntaxes(&self) -> Vec<(usize, MarkupSyntax)> {
        crate::hooks::markup_syntaxes(&self.hooks, self.community)
    }

    fn render(
        &self,
        hook: usize,
        syntax: &MarkupSyntax,
        blocks: &[MarkupBlock],
    ) -> Vec<Option<MarkupOutput>> {
        match self.hooks.get(hook) {
            Some(h) => crate::hooks::render_markup(h.as_ref(), self.community, syntax, blocks),
            None => vec![None; blocks.len()],
        }
    }
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Posts of a community whose `fence` blocks were rendered otherwise than
/// `expected` (`owner@version`, or empty for "shown as source"), or may
/// have been (rendered before the record existed and mention the fence).
const CANDIDATES: &str = "FROM posts WHERE community_id = ?1
     AND ((markup IS NULL AND source LIKE ?2 ESCAPE '\\')
          OR (markup LIKE ?3 ESCAPE '\\' AND markup NOT LIKE ?4 ESCAPE '\\'))";

impl Forum {
    /// Renders again the posts of `community` whose blocks of `fences`
    /// (```` ```poll ````) were rendered otherwise than the registered
    /// hooks render them now — after an extension was installed, upgraded
    /// (a new [`MarkupSyntax::version`]), enabled or disabled — `batch`
    /// posts per transaction, calling `progress(done, total)` after each
    /// batch. Their HTML, search text, links and mentions are updated.
    /// Returns how many posts were rendered.
    ///
    /// Interrupted, it continues where it stopped when run again; run in
    /// two processes at once, the second finds little left to do. Fences
    /// that are not syntax names ([`markup_fence_ok`]) are skipped.
    pub fn rerender_markup(
        &self,
        community: CommunityId,
        fences: &[&str],
        batch: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64> {
        let batch = batch.clamp(1, 10_000);
        let syntaxes = crate::hooks::markup_syntaxes(&self.hooks(), community);
        let patterns: Vec<[String; 3]> = fences
            .iter()
            .filter(|f| markup_fence_ok(f))
            .map(|f| {
                let expected = syntaxes
                    .iter()
                    .find(|(_, s)| s.fence == *f)
                    .map(|(_, s)| format!("{}@{}", s.owner, s.version))
                    .unwrap_or_default();
                [
                    format!("%{f}%"),
                    format!("%|{f}=%"),
                    format!("%|{f}={}|%", like_escape(&expected)),
                ]
            })
            .collect();
        let mut total = 0u64;
        for [source, any, current] in &patterns {
            total += self.read(|conn, _| {
                Ok(conn
                    .prepare_cached(&format!("SELECT count(*) {CANDIDATES}"))?
                    .query_row(params![community, source, any, current], |r| {
                        r.get::<_, i64>(0)
                    })? as u64)
            })?;
        }
        let mut done = 0u64;
        for [source, any, current] in &patterns {
            let mut after = 0i64;
            loop {
                let ids: Vec<PostId> = self.read(|conn, _| {
                    let mut stmt = conn.prepare_cached(&format!(
                        "SELECT id {CANDIDATES} AND id > ?5 ORDER BY id LIMIT ?6"
                    ))?;
                    Ok(stmt
                        .query_map(
                            params![community, source, any, current, after, batch as i64],
                            |r| r.get(0),
                        )?
                        .collect::<db::Result<_>>()?)
                })?;
                let Some(last) = ids.last() else { break };
                after = last.0;
                // A post today's limits refuse keeps its HTML.
                self.rebuild_posts(community, &ids, false)?;
                done += ids.len() as u64;
                progress(done, total.max(done));
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_escape("1.0_beta%"), "1.0\\_beta\\%");
        assert_eq!(like_escape("a\\b"), "a\\\\b");
        assert_eq!(like_escape("polls@1.2.0"), "polls@1.2.0");
    }
}
