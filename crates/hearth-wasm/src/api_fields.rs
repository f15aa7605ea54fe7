//! Plugins' fields in the Discourse-compatible JSON (API 0.2,
//! `[[api-fields]]`): values the plugin keeps in its key-value store, read
//! in bulk while an answer is built — no plugin runs then.

use std::collections::BTreeMap;

use hearth::CommunityId;

use crate::call::kv_namespace;
use crate::error::Result;
use crate::host::PluginHost;
use crate::manifest::{FieldOn, FieldVisibility};

/// Who is reading, for the fields' visibility: the items themselves are
/// the caller's to have checked (only items the viewer may read are
/// asked about).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FieldViewer {
    /// The signed-in member, if any (for `self` fields on users).
    pub user: Option<i64>,
    /// Whether they are a moderator, an admin or staff (for `staff` fields).
    pub staff: bool,
}

impl FieldViewer {
    fn sees(self, visibility: FieldVisibility, on: FieldOn, id: i64) -> bool {
        match visibility {
            FieldVisibility::Public => true,
            FieldVisibility::Staff => self.staff,
            FieldVisibility::Own => on == FieldOn::User && self.user == Some(id),
        }
    }
}

impl PluginHost {
    /// The enabled plugins' API fields on `items` (post, topic or user
    /// ids the viewer may read), by item: `name → value` for each field
    /// the viewer may see and the plugin has a value for. One bulk read
    /// per plugin; a value that is not JSON is left out (and logged). The
    /// caller adds them without replacing a field its answer already has.
    pub fn api_fields(
        &self,
        community: CommunityId,
        on: FieldOn,
        items: &[i64],
        viewer: FieldViewer,
    ) -> Result<BTreeMap<i64, serde_json::Map<String, serde_json::Value>>> {
        let mut out: BTreeMap<i64, serde_json::Map<String, serde_json::Value>> = BTreeMap::new();
        if items.is_empty() {
            return Ok(out);
        }
        for (loaded, _, enabled) in self.active_in(community)? {
            let name = &enabled.name;
            let mut wanted: Vec<(i64, &str, String)> = Vec::new();
            for f in loaded.manifest.api_fields.iter().filter(|f| f.on == on) {
                for &id in items {
                    if viewer.sees(f.visibility, on, id) {
                        wanted.push((id, f.name.as_str(), f.key(id)));
                    }
                }
            }
            if wanted.is_empty() {
                continue;
            }
            let ns = kv_namespace(name);
            for chunk in wanted.chunks(hearth::MAX_EXT_KEYS_READ) {
                let keys: Vec<String> = chunk.iter().map(|(_, _, k)| k.clone()).collect();
                let values = self.forum().ext_get_many(&ns, Some(community), &keys)?;
                for ((id, name, key), value) in chunk.iter().zip(values) {
                    let Some(bytes) = value else {
                        continue;
                    };
                    match serde_json::from_slice::<serde_json::Value>(&bytes) {
                        Ok(v) => {
                            out.entry(*id).or_default().insert((*name).to_string(), v);
                        }
                        Err(err) => tracing::warn!(
                            plugin = %name, key = %key, error = %err,
                            "an API field's value is not JSON; left out"
                        ),
                    }
                }
            }
        }
        Ok(out)
    }
}
