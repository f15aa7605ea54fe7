//! Markdown extensions (API 0.2): the fenced blocks plugins own, rendered
//! when a post is written, and rendering posts again when the plugins that
//! own a syntax change in a community.

use hearth::{Actor, CommunityId, ExtOp, MarkupBlock, MarkupOutput, MarkupSyntax};

use crate::bindings;
use crate::error::{Error, Result};
use crate::host::PluginHost;
use crate::manifest::Hook;
use crate::runtime::NS;

/// Posts per transaction when rendering posts again.
const RERENDER_BATCH: usize = 200;

/// Where the host records the syntaxes a community's posts were last
/// rendered again for (`markup/syntaxes/<community>`, outside any one
/// community, so a community whose last plugin went away is still found).
const RECORD_PREFIX: &str = "markup/syntaxes/";

/// A re-render in progress, for the operator's status screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct MarkupJob {
    /// The community whose posts are being rendered again.
    pub community: CommunityId,
    /// Posts rendered so far.
    pub done: u64,
    /// Posts to render.
    pub total: u64,
}

impl PluginHost {
    /// The fenced-block syntaxes the plugins running in `community`
    /// render, in plugin order (the first plugin to list a fence owns it).
    pub fn markup_syntaxes(&self, community: CommunityId) -> Result<Vec<MarkupSyntax>> {
        let mut out: Vec<MarkupSyntax> = Vec::new();
        for (loaded, _, _) in self.targets(community, Hook::RenderMarkup)? {
            for fence in &loaded.manifest.markup {
                if out.iter().any(|s| &s.fence == fence) {
                    continue;
                }
                out.push(MarkupSyntax {
                    fence: fence.clone(),
                    owner: loaded.manifest.name.clone(),
                    version: loaded.manifest.version.clone(),
                });
            }
        }
        Ok(out)
    }

    /// Has `owner` render a post's `blocks` (one call with all of them).
    /// A failure, a trap or an answer over the output cap counts against
    /// the plugin and shows every block as source (`None`); so does an
    /// answer of the wrong length.
    pub fn render_markup(
        &self,
        community: CommunityId,
        owner: &str,
        blocks: &[MarkupBlock],
    ) -> Result<Vec<Option<MarkupOutput>>> {
        let none = || vec![None; blocks.len()];
        let Some((loaded, stats, enabled)) = self
            .targets(community, Hook::RenderMarkup)?
            .into_iter()
            .find(|(l, _, _)| l.manifest.name == owner)
        else {
            return Ok(none());
        };
        let args = to_wit(community, blocks);
        let max = self
            .config()
            .limits_for(Hook::RenderMarkup, &loaded.manifest.limits)
            .max_output;
        let out = self.call(
            &loaded,
            &stats,
            &enabled,
            community,
            Hook::RenderMarkup,
            Actor::System,
            |store, p| p.render_markup(store, &args),
        );
        let Ok(answers) = out.result else {
            return Ok(none());
        };
        let fail = |message: String| {
            let e = Error::LimitExceeded {
                plugin: owner.to_string(),
                hook: Hook::RenderMarkup.as_str().into(),
                message,
            };
            self.count_failure(owner, &stats, &e);
            Ok(none())
        };
        if answers.len() != blocks.len() {
            return fail(format!(
                "answered {} blocks; it was given {}",
                answers.len(),
                blocks.len()
            ));
        }
        let total: usize = answers
            .iter()
            .flatten()
            .map(|a| a.html.len() + a.text.len())
            .sum();
        if total > max {
            return fail(format!(
                "rendered {total} bytes; the output cap is {max} bytes"
            ));
        }
        Ok(answers
            .into_iter()
            .map(|a| {
                a.map(|a| MarkupOutput {
                    html: a.html,
                    text: a.text,
                })
            })
            .collect())
    }

    /// The re-render in progress, if any.
    pub fn markup_job(&self) -> Option<MarkupJob> {
        *self
            .inner()
            .markup_job
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Renders posts again where the syntaxes the running plugins own
    /// changed since the last time — a plugin with `markup` was enabled,
    /// upgraded, disabled (also by the host, after failures) or removed in
    /// a community — with progress in [`PluginHost::markup_job`] and the
    /// log. The worker runs it on each pass; returns how many posts were
    /// rendered.
    pub fn refresh_markup(&self) -> Result<u64> {
        let mut rendered = 0;
        for community in self.markup_communities()? {
            let now = self.markup_syntaxes(community)?;
            let record = syntax_record(&now);
            let key = format!("{RECORD_PREFIX}{}", community.0);
            let before = self
                .forum()
                .ext_get(NS, None, &key)?
                .and_then(|b| String::from_utf8(b).ok())
                .unwrap_or_default();
            if before == record {
                continue;
            }
            // The fences that were or are owned: both may render differently.
            let mut fences: Vec<String> = now.iter().map(|s| s.fence.clone()).collect();
            for entry in before.split('|').filter(|e| !e.is_empty()) {
                let fence = entry.split('=').next().unwrap_or_default().to_string();
                if !fences.contains(&fence) {
                    fences.push(fence);
                }
            }
            let fences: Vec<&str> = fences.iter().map(String::as_str).collect();
            tracing::info!(community = community.0, fences = ?fences, "rendering posts again for changed Markdown extensions");
            let set = |job: Option<MarkupJob>| {
                *self
                    .inner()
                    .markup_job
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = job;
            };
            set(Some(MarkupJob {
                community,
                done: 0,
                total: 0,
            }));
            let result = self.forum().rerender_markup(
                community,
                &fences,
                RERENDER_BATCH,
                &mut |done, total| {
                    tracing::info!(
                        community = community.0,
                        done,
                        total,
                        "rendering posts again"
                    );
                    set(Some(MarkupJob {
                        community,
                        done,
                        total,
                    }));
                },
            );
            set(None);
            rendered += result?;
            self.forum().ext_apply(
                NS,
                None,
                &[ExtOp::Put {
                    key,
                    value: record.into_bytes(),
                }],
            )?;
        }
        Ok(rendered)
    }

    /// Communities with a plugin enabled, and those whose posts were
    /// rendered for one (it may be gone now).
    fn markup_communities(&self) -> Result<std::collections::BTreeSet<CommunityId>> {
        let mut all = self.communities()?;
        let mut after = String::new();
        loop {
            let page = self
                .forum()
                .ext_list(NS, None, RECORD_PREFIX, &after, 500)?;
            let Some((last, _)) = page.last() else { break };
            after = last.clone();
            all.extend(
                page.iter().filter_map(|(k, _)| {
                    k.strip_prefix(RECORD_PREFIX)?.parse().ok().map(CommunityId)
                }),
            );
        }
        Ok(all)
    }
}

/// The syntaxes as recorded: `|poll=polls@1.2.0|…`, sorted by fence.
fn syntax_record(syntaxes: &[MarkupSyntax]) -> String {
    let mut entries: Vec<String> = syntaxes
        .iter()
        .map(|s| format!("{}={}@{}", s.fence, s.owner, s.version))
        .collect();
    entries.sort();
    if entries.is_empty() {
        return String::new();
    }
    format!("|{}|", entries.join("|"))
}

/// The engine's blocks as the plugin interface passes them.
pub(crate) fn to_wit(community: CommunityId, blocks: &[MarkupBlock]) -> Vec<bindings::MarkupBlock> {
    blocks
        .iter()
        .map(|b| bindings::MarkupBlock {
            community: community.0,
            fence: b.fence.clone(),
            info: b.info.clone(),
            source: b.source.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_sorted_and_empty_when_nothing_is_owned() {
        let s = |f: &str, o: &str| MarkupSyntax {
            fence: f.into(),
            owner: o.into(),
            version: "1.0".into(),
        };
        assert_eq!(syntax_record(&[]), "");
        assert_eq!(
            syntax_record(&[s("poll", "polls"), s("math", "tex")]),
            "|math=tex@1.0|poll=polls@1.0|"
        );
    }
}
