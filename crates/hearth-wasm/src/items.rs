//! Per-item UI (API 0.2): fragments beside posts and topic-list rows, asked
//! for once per page and plugin with every item's id.

use std::collections::BTreeMap;

use hearth::{Actor, CommunityId};

use crate::bindings::{self, ItemsContext};
use crate::error::Error;
use crate::host::{PageContext, PluginHost};
use crate::manifest::{Hook, ItemSlot};
use crate::plugin_html;

/// The most items one batched call names.
pub const MAX_ITEMS: usize = 500;

/// One plugin's fragment for one item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ItemFragment {
    /// The plugin that rendered it.
    pub plugin: String,
    /// Sanitized HTML (action buttons made forms).
    pub html: String,
}

pub(crate) fn slot_to_wit(slot: ItemSlot) -> bindings::ItemSlot {
    match slot {
        ItemSlot::PostFooter => bindings::ItemSlot::PostFooter,
        ItemSlot::PostMenu => bindings::ItemSlot::PostMenu,
        ItemSlot::TopicListBadge => bindings::ItemSlot::TopicListBadge,
        ItemSlot::ComposerHelp => bindings::ItemSlot::ComposerHelp,
    }
}

impl PluginHost {
    /// Renders a per-item slot for the items of a page (post ids, topic ids
    /// or the composer's category, which the caller has checked the viewer
    /// may read): one read-only call per enabled plugin that lists the
    /// slot, not one per item. Returns each item's fragments in plugin
    /// order. Fragments for items not asked about are dropped; a failure or
    /// an answer over the output cap renders nothing for that plugin and
    /// counts against it.
    pub fn render_items(
        &self,
        actor: &Actor,
        community: CommunityId,
        slot: ItemSlot,
        page: &PageContext,
        items: &[i64],
    ) -> BTreeMap<i64, Vec<ItemFragment>> {
        let mut out: BTreeMap<i64, Vec<ItemFragment>> = BTreeMap::new();
        if items.is_empty() {
            return out;
        }
        let targets = match self.targets(community, Hook::RenderItems) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "could not list plugins for a render");
                return out;
            }
        };
        // Each item once (a page may show a post twice: the accepted answer
        // on top and in the thread), in page order.
        let mut unique: Vec<i64> = Vec::with_capacity(items.len().min(MAX_ITEMS));
        for &item in items {
            if unique.len() == MAX_ITEMS {
                break;
            }
            if !unique.contains(&item) {
                unique.push(item);
            }
        }
        let items = &unique[..];
        let ctx = ItemsContext {
            community: community.0,
            slot: slot_to_wit(slot),
            path: page.path.clone(),
            viewer: crate::host::viewer_id(actor),
            topic: page.topic.map(|t| t.0),
            items: items.to_vec(),
        };
        // Every field of the context, for the remembered renders' keys (a
        // field added to the context must be added here: the pattern
        // names them all). The slot is the one `ctx.slot` was made from.
        let mut context = crate::memo::Key::default();
        {
            let ItemsContext {
                community,
                slot: _,
                path,
                viewer,
                topic,
                items,
            } = &ctx;
            context
                .text(slot.as_str())
                .int(*community)
                .text(path)
                .opt(*viewer)
                .opt(*topic)
                .ints(items);
        }
        // Every plugin of the slot reads one snapshot, the reader's
        // permissions loaded once (a page's reads join the page's own).
        self.inner().forum.in_snapshot(|| {
            for (loaded, stats, enabled) in targets {
                if !loaded.manifest.item_slots.contains(&slot) {
                    continue;
                }
                let name = loaded.manifest.name.clone();
                let max = self
                    .config()
                    .limits_for(Hook::RenderItems, &loaded.manifest.limits)
                    .max_output;
                let key = crate::memo::Key::call(&name, Hook::RenderItems, actor, &context);
                let res = self.call_remembered(
                    &loaded,
                    &stats,
                    &enabled,
                    community,
                    Hook::RenderItems,
                    *actor,
                    key,
                    |store, p| p.render_items(store, &ctx),
                );
                let Ok(fragments) = res else { continue };
                let total: usize = fragments.iter().map(|f| f.html.len()).sum();
                if total > max {
                    let e = Error::LimitExceeded {
                        plugin: name.clone(),
                        hook: Hook::RenderItems.as_str().into(),
                        message: format!("rendered {total} bytes; the output cap is {max} bytes"),
                    };
                    self.count_failure(&name, &stats, &e);
                    continue;
                }
                // Renders are read-only (`Hook::read_only`): nothing to commit.
                let mut answered = std::collections::BTreeSet::new();
                for f in fragments.iter() {
                    // Items not asked about, and a second answer for one item,
                    // are dropped.
                    if !items.contains(&f.item) || f.html.is_empty() || !answered.insert(f.item) {
                        continue;
                    }
                    let html =
                        plugin_html::finish(&loaded.manifest, &f.html, &page.forms, &page.path);
                    if html.trim().is_empty() {
                        continue;
                    }
                    out.entry(f.item).or_default().push(ItemFragment {
                        plugin: name.clone(),
                        html,
                    });
                }
            }
        });
        out
    }
}
