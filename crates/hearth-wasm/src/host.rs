//! [`PluginHost`]: installs plugins, enables them per community, and calls
//! them for the engine (as its [`Hooks`]) and for the web layer (render
//! slots and routes).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock, Weak};
use std::time::Instant;

use hearth::{
    Actor, CommunityId, ExtOp, Forum, HookError, Hooks, NewBadge, PostDraft, PostFilter, Role,
};
use serde::{Deserialize, Serialize};
use wasmtime::component::Linker;

use crate::bindings;
use crate::call::{self, CallSpec, CallState, Loaded, LogLine, Outcome, Usage, Writes};
use crate::error::{Error, Result};
use crate::limits::HostConfig;
use crate::manifest::{
    Capability, FailMode, Hook, Manifest, NavSpec, NoticeKindSpec, SUPPORTED_API,
};
use crate::plugin_html::{self, ActionForms};
use crate::runtime::{NS, Runtime, sha256_hex};
use crate::status::{PluginStatus, Stats};
use crate::worlds::{Instance, Pre};

/// Largest chunk of a stored component (the extension store caps values).
const CHUNK: usize = 1 << 20;

/// The plugin host: one per process, shared (it is cheap to clone).
///
/// It owns the wasmtime engine (compiled code, the instance pool and the
/// epoch ticker thread), the installed plugins and which communities
/// enabled them. Creating it loads every installed plugin — from the
/// artifact cache when possible (about a millisecond each), else by
/// compiling (tens of milliseconds each) — and registers it with the forum
/// as a [`Hooks`]. Each hook call instantiates the plugin afresh (about
/// 10 µs with the pooling allocator) so no call sees another's memory.
///
/// ```no_run
/// # fn main() -> Result<(), hearth_wasm::Error> {
/// use std::sync::Arc;
/// use hearth::{Actor, Forum};
/// use hearth_wasm::{Capability, HostConfig, PluginHost};
///
/// let forum = Arc::new(Forum::open("community.db")?);
/// let host = PluginHost::new(forum.clone(), HostConfig::default())?;
/// let installed = host.install_dir("target/plugins/leaderboard")?;
/// # let community = hearth::CommunityId(1);
/// host.enable(&Actor::System, community, &installed.name, &[Capability::Kv, Capability::Read])?;
/// host.deliver_events()?; // or host.start_worker()
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PluginHost {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost").finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub forum: Arc<Forum>,
    pub config: HostConfig,
    pub runtime: Runtime,
    linker: Linker<CallState>,
    plugins: RwLock<BTreeMap<String, Installed>>,
    communities: RwLock<HashMap<CommunityId, Arc<Vec<Enabled>>>>,
    pub(crate) wake: crate::worker::Wake,
    /// The re-render of posts in progress (see `markup`).
    pub(crate) markup_job: std::sync::Mutex<Option<crate::markup::MarkupJob>>,
    /// The plugin generation this host last saw (see `sync`).
    pub(crate) seen: crate::sync::Seen,
    /// Renders remembered while their reads answer the same (see `memo`).
    pub(crate) memo: crate::memo::Memo,
}

#[derive(Clone)]
struct Installed {
    current: Arc<Loaded>,
    previous: Option<Version>,
    stats: Arc<Stats>,
    disabled: Option<String>,
}

/// An enabled plugin in one community, as the operator configured it.
#[derive(Clone)]
pub(crate) struct Enabled {
    pub name: String,
    pub grants: Arc<BTreeSet<Capability>>,
    /// Its settings, secrets included: never printed (see `Debug`).
    pub values: BTreeMap<String, serde_json::Value>,
    /// The operator's narrowing of its `[http]` hosts (`None`: all).
    pub http_hosts: Option<Vec<String>>,
}

impl std::fmt::Debug for Enabled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Enabled")
            .field("name", &self.name)
            .field("grants", &self.grants)
            .field("settings", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Version {
    manifest: String,
    pub(crate) sha256: String,
    chunks: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InstallRecord {
    pub(crate) current: Version,
    pub(crate) previous: Option<Version>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct EnableRecord {
    grants: Vec<Capability>,
    settings: BTreeMap<String, serde_json::Value>,
    /// The operator's narrowing of the manifest's `[http]` hosts here
    /// (`None`: all of them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    http_hosts: Option<Vec<String>>,
}

/// Where plugins' secret settings are kept, apart from the enable records
/// (`<plugin>/<setting>` per community): a namespace the community export
/// leaves out ([`hearth::SECRET_NAMESPACE_PREFIX`]).
const SECRETS: &str = "secret:plugin-settings";

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

pub(crate) fn from_json<T: for<'a> Deserialize<'a>>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Forum(hearth::Error::Storage(format!("{what} unreadable: {e}"))))
}

/// A plugin to call: its compiled code, its counters, and how the
/// community configured it.
pub(crate) type Target = (Arc<Loaded>, Arc<Stats>, Enabled);

/// A fragment a plugin rendered into a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fragment {
    /// The plugin.
    pub plugin: String,
    /// Sanitized HTML.
    pub html: String,
}

/// Where a [`PluginHost::render`] call renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Slot {
    /// The footer of every page, error pages included.
    PageFooter,
    /// Beside the main content.
    Sidebar,
    /// Under a topic.
    TopicFooter,
    /// On a member's profile.
    Profile,
}

impl Slot {
    pub(crate) fn to_wit(self) -> bindings::Slot {
        match self {
            Slot::PageFooter => bindings::Slot::PageFooter,
            Slot::Sidebar => bindings::Slot::Sidebar,
            Slot::TopicFooter => bindings::Slot::TopicFooter,
            Slot::Profile => bindings::Slot::Profile,
        }
    }
}

/// The signed-in user behind an actor, as the plugin interface names them.
pub(crate) fn viewer_id(actor: &Actor) -> Option<i64> {
    match actor {
        Actor::User(u) => Some(u.0),
        _ => None,
    }
}

/// The page a slot is rendered on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageContext {
    /// The page's path, e.g. `/t/how-do-i/12`.
    pub path: String,
    /// The topic shown.
    pub topic: Option<hearth::TopicId>,
    /// The member whose profile is shown.
    pub member: Option<hearth::UserId>,
    /// How plugins' action buttons become forms on this page.
    pub forms: ActionForms,
}

/// A plugin route's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RouteResponse {
    /// HTTP status.
    pub status: u16,
    /// `text/html; charset=utf-8` or `application/json`.
    pub content_type: String,
    /// Sanitized HTML, or JSON.
    pub body: String,
}

/// The result of running one hook by hand ([`PluginHost::run_hook`]): what
/// it returned, what it logged, and what it used against its limits.
#[derive(Debug)]
pub struct HookRun {
    /// The hook's result as JSON, or the typed failure.
    pub result: Result<serde_json::Value>,
    /// Lines it logged.
    pub logs: Vec<LogLine>,
    /// What it used.
    pub usage: Usage,
    /// The limits it ran under.
    pub limits: crate::limits::Limits,
    /// The notices it queued (sent only if it succeeded).
    pub notices: Vec<hearth::ExtNotice>,
    /// What the forum did with them, when the call's writes were saved.
    pub sent: Option<hearth::NoticeTally>,
}

impl PluginHost {
    /// Starts the host on `forum`: loads every installed plugin and
    /// registers the host as the forum's hooks.
    pub fn new(forum: Arc<Forum>, config: HostConfig) -> Result<PluginHost> {
        let runtime = Runtime::new(&config)?;
        let mut linker = Linker::new(&runtime.engine);
        crate::worlds::add_to_linker(&mut linker)?;
        let inner = Arc::new(Inner {
            forum: forum.clone(),
            config,
            runtime,
            linker,
            plugins: RwLock::new(BTreeMap::new()),
            communities: RwLock::new(HashMap::new()),
            wake: crate::worker::Wake::default(),
            markup_job: Default::default(),
            seen: crate::sync::Seen::default(),
            memo: crate::memo::Memo::default(),
        });
        let host = PluginHost { inner };
        // Read before loading: a change made meanwhile is picked up later.
        host.saw(host.stored_generation()?);
        for (key, value) in forum.ext_list(NS, None, "installed/", "", 1000)? {
            let name = key.trim_start_matches("installed/").to_string();
            let record: InstallRecord = from_json(&value, "install record")?;
            match host.load_version(&record.current) {
                Ok(loaded) => {
                    let disabled = forum
                        .ext_get(NS, None, &format!("disabled/{name}"))?
                        .map(|b| String::from_utf8_lossy(&b).into_owned());
                    host.write_plugins().insert(
                        name,
                        Installed {
                            current: Arc::new(loaded),
                            previous: record.previous,
                            stats: Arc::default(),
                            disabled,
                        },
                    );
                }
                Err(e) => tracing::error!(plugin = %name, error = %e, "could not load plugin"),
            }
        }
        forum.register_hooks(Arc::new(HostHooks(Arc::downgrade(&host.inner))));
        Ok(host)
    }

    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    fn write_plugins(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Installed>> {
        self.inner
            .plugins
            .write()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn read_plugins(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Installed>> {
        self.inner.plugins.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The forum the host serves.
    pub fn forum(&self) -> &Arc<Forum> {
        &self.inner.forum
    }

    /// The host's configuration.
    pub fn config(&self) -> &HostConfig {
        &self.inner.config
    }

    pub(crate) fn load_version(&self, v: &Version) -> Result<Loaded> {
        let manifest = Manifest::parse(&v.manifest)?;
        let mut wasm = Vec::new();
        for i in 0..v.chunks {
            let chunk = self
                .inner
                .forum
                .ext_get(NS, None, &format!("wasm/{}/{i}", v.sha256))?
                .ok_or_else(|| Error::Invalid {
                    plugin: manifest.name.clone(),
                    message: "stored component is incomplete; install it again".into(),
                })?;
            wasm.extend_from_slice(&chunk);
        }
        self.compile(manifest, &wasm)
    }

    fn compile(&self, manifest: Manifest, wasm: &[u8]) -> Result<Loaded> {
        let started = Instant::now();
        let name = manifest.name.clone();
        let (component, compiled) = self.inner.runtime.load(
            &self.inner.forum,
            self.inner.config.cache_dir.as_deref(),
            &name,
            wasm,
        )?;
        let api_minor = check_component_api(&manifest, &self.inner.runtime.engine, &component)?;
        let pre =
            Pre::new(&self.inner.linker, &component, api_minor).map_err(|e| Error::Invalid {
                plugin: name.clone(),
                message: format!(
                    "{e:#} (is api-version {} in plugin.toml the one it was built for?)",
                    manifest.api_version
                ),
            })?;
        Ok(Loaded {
            sdk_version: crate::sdk_section::sdk_version(wasm),
            manifest,
            sha256: sha256_hex(wasm),
            pre,
            compiled,
            load_time: started.elapsed(),
        })
    }

    /// Installs a plugin from its `plugin.toml` text and component bytes,
    /// or upgrades it if one of that name is installed (the old version is
    /// kept for [`rollback`](Self::rollback); a new manifest for the same
    /// component keeps the version before). Takes effect at once: calls in
    /// flight finish on the old version. Enabling per community is separate.
    /// Installing exactly what is installed changes nothing (a plugin the
    /// host disabled after failures stays disabled: see
    /// [`reenable`](Self::reenable)).
    pub fn install(&self, manifest: &str, wasm: &[u8]) -> Result<PluginStatus> {
        let parsed = Manifest::parse(manifest)?;
        let name = parsed.name.clone();
        let sha = sha256_hex(wasm);
        let forum = &self.inner.forum;
        let old: Option<InstallRecord> = forum
            .ext_get(NS, None, &format!("installed/{name}"))?
            .map(|b| from_json(&b, "install record"))
            .transpose()?;
        if let Some(o) = &old
            && o.current.sha256 == sha
            && o.current.manifest == manifest
            && let Ok(status) = self.status(&name)
            && status.sha256 == sha
        {
            return Ok(status);
        }
        let loaded = self.compile(parsed, wasm)?;
        let chunks: Vec<&[u8]> = wasm.chunks(CHUNK).collect();
        let version = Version {
            manifest: manifest.to_string(),
            sha256: sha.clone(),
            chunks: chunks.len(),
        };
        let previous = match old {
            Some(o) if o.current.sha256 != sha => Some(o.current),
            Some(o) => o.previous,
            None => None,
        };
        let record = InstallRecord {
            current: version,
            previous: previous.clone(),
        };
        let mut ops: Vec<ExtOp> = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| ExtOp::Put {
                key: format!("wasm/{sha}/{i}"),
                value: c.to_vec(),
            })
            .collect();
        ops.push(ExtOp::Put {
            key: format!("installed/{name}"),
            value: json(&record),
        });
        ops.push(ExtOp::Delete {
            key: format!("disabled/{name}"),
        });
        ops.push(crate::sync::announce());
        forum.ext_apply(NS, None, &ops)?;
        self.swap(&name, Arc::new(loaded), previous);
        self.ensure_badges_everywhere(&name)?;
        self.status(&name)
    }

    /// Installs from a folder holding `plugin.toml` and `<name>.wasm` (what
    /// `cargo xtask plugins` produces).
    pub fn install_dir(&self, dir: impl AsRef<Path>) -> Result<PluginStatus> {
        let dir = dir.as_ref();
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| Error::Manifest(format!("{}: {e}", p.display())))
        };
        let manifest = String::from_utf8(read(&dir.join("plugin.toml"))?)
            .map_err(|_| Error::Manifest("plugin.toml is not UTF-8".into()))?;
        let name = Manifest::parse(&manifest)?.name;
        let wasm = read(&dir.join(format!("{name}.wasm")))?;
        self.install(&manifest, &wasm)
    }

    pub(crate) fn swap(&self, name: &str, loaded: Arc<Loaded>, previous: Option<Version>) {
        let mut plugins = self.write_plugins();
        let stats = plugins
            .get(name)
            .map(|p| p.stats.clone())
            .unwrap_or_default();
        stats.reset_streak();
        plugins.insert(
            name.to_string(),
            Installed {
                current: loaded,
                previous,
                stats,
                disabled: None,
            },
        );
    }

    /// The component hash of the running version of `name`.
    pub(crate) fn running_sha(&self, name: &str) -> Option<String> {
        self.read_plugins()
            .get(name)
            .map(|p| p.current.sha256.clone())
    }

    /// Records the version a rollback would go back to.
    pub(crate) fn set_previous(&self, name: &str, previous: Option<Version>) {
        if let Some(p) = self.write_plugins().get_mut(name) {
            p.previous = previous;
        }
    }

    /// Drops the plugins `installed` denies and sets each one's host-level
    /// disable to what `disabled` says (as stored).
    pub(crate) fn mirror(
        &self,
        installed: impl Fn(&str) -> bool,
        disabled: impl Fn(&str) -> Option<String>,
    ) {
        let mut plugins = self.write_plugins();
        plugins.retain(|name, _| installed(name));
        for (name, p) in plugins.iter_mut() {
            let now = disabled(name);
            if p.disabled.is_some() && now.is_none() {
                p.stats.reset_streak();
            }
            p.disabled = now;
        }
    }

    /// Forgets the cached per-community enable lists (read again on use).
    pub(crate) fn forget_enabled(&self) {
        self.inner
            .communities
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Goes back to the version installed before the current one.
    pub fn rollback(&self, name: &str) -> Result<PluginStatus> {
        let forum = &self.inner.forum;
        let record: InstallRecord = forum
            .ext_get(NS, None, &format!("installed/{name}"))?
            .map(|b| from_json(&b, "install record"))
            .transpose()?
            .ok_or_else(|| Error::NotInstalled(name.into()))?;
        let previous = record
            .previous
            .clone()
            .ok_or_else(|| Error::NoPrevious(name.into()))?;
        let loaded = self.load_version(&previous)?;
        let swapped = InstallRecord {
            current: previous,
            previous: Some(record.current),
        };
        forum.ext_apply(
            NS,
            None,
            &[
                ExtOp::Put {
                    key: format!("installed/{name}"),
                    value: json(&swapped),
                },
                ExtOp::Delete {
                    key: format!("disabled/{name}"),
                },
                crate::sync::announce(),
            ],
        )?;
        self.swap(name, Arc::new(loaded), swapped.previous);
        self.status(name)
    }

    /// Removes a plugin everywhere. Its key-value data stays (installing it
    /// again finds it).
    pub fn uninstall(&self, name: &str) -> Result<()> {
        if self.write_plugins().remove(name).is_none() {
            return Err(Error::NotInstalled(name.into()));
        }
        self.inner.forum.ext_apply(
            NS,
            None,
            &[
                ExtOp::Delete {
                    key: format!("installed/{name}"),
                },
                crate::sync::announce(),
            ],
        )?;
        Ok(())
    }

    /// Every installed plugin's status.
    pub fn plugins(&self) -> Vec<PluginStatus> {
        self.read_plugins()
            .iter()
            .map(|(n, p)| status_of(n, p))
            .collect()
    }

    /// One plugin's status: version, whether the host disabled it and why,
    /// and its counters.
    pub fn status(&self, name: &str) -> Result<PluginStatus> {
        self.read_plugins()
            .get(name)
            .map(|p| status_of(name, p))
            .ok_or_else(|| Error::NotInstalled(name.into()))
    }

    /// Whether a plugin is installed and not disabled by the host.
    pub(crate) fn is_active(&self, name: &str) -> bool {
        self.read_plugins()
            .get(name)
            .is_some_and(|p| p.disabled.is_none())
    }

    /// Turns a plugin the host disabled after repeated failures back on.
    pub fn reenable(&self, name: &str) -> Result<()> {
        {
            let mut plugins = self.write_plugins();
            let p = plugins
                .get_mut(name)
                .ok_or_else(|| Error::NotInstalled(name.into()))?;
            p.disabled = None;
            p.stats.reset_streak();
        }
        self.inner.forum.ext_apply(
            NS,
            None,
            &[
                ExtOp::Delete {
                    key: format!("disabled/{name}"),
                },
                crate::sync::announce(),
            ],
        )?;
        Ok(())
    }

    fn require_admin(&self, actor: &Actor, community: CommunityId) -> Result<()> {
        match actor {
            Actor::System => Ok(()),
            Actor::Guest => Err(Error::Forbidden("sign in as an admin".into())),
            Actor::User(id) => {
                let m = self.inner.forum.member(actor, community, *id)?;
                if matches!(m.role, Role::Owner | Role::Admin) {
                    Ok(())
                } else {
                    Err(Error::Forbidden("only admins manage plugins".into()))
                }
            }
        }
    }

    /// Enables an installed plugin in a community with the capabilities the
    /// operator grants (each must be one the manifest asks for). Creates
    /// the badges it declares. Admins only.
    pub fn enable(
        &self,
        actor: &Actor,
        community: CommunityId,
        name: &str,
        grants: &[Capability],
    ) -> Result<()> {
        self.require_admin(actor, community)?;
        let manifest = self.manifest(name)?;
        for g in grants {
            if !manifest.asks_for(*g) {
                return Err(Error::Capability {
                    plugin: name.into(),
                    message: format!("cannot grant `{g}`: the manifest does not ask for it"),
                });
            }
        }
        let key = format!("enabled/{name}");
        // Settings survive a disable: from the live record, or the ones
        // kept when it was disabled.
        let forum = &self.inner.forum;
        let settings = match forum.ext_get(NS, Some(community), &key)? {
            Some(b) => from_json::<EnableRecord>(&b, "plugin settings")?.settings,
            None => match forum.ext_get(NS, Some(community), &format!("kept-settings/{name}"))? {
                Some(b) => from_json(&b, "plugin settings")?,
                None => BTreeMap::new(),
            },
        };
        self.ensure_badges(community, &manifest)?;
        let http_hosts = match forum.ext_get(NS, Some(community), &key)? {
            Some(b) => from_json::<EnableRecord>(&b, "plugin settings")?.http_hosts,
            None => None,
        };
        let record = EnableRecord {
            grants: grants.to_vec(),
            settings,
            http_hosts,
        };
        self.put_enable(community, name, Some(&record))
    }

    /// Disables a plugin in a community (its data and settings stay; enabling
    /// it again restores them). Admins only.
    pub fn disable(&self, actor: &Actor, community: CommunityId, name: &str) -> Result<()> {
        self.require_admin(actor, community)?;
        let forum = &self.inner.forum;
        if let Some(b) = forum.ext_get(NS, Some(community), &format!("enabled/{name}"))? {
            let record = from_json::<EnableRecord>(&b, "plugin settings")?;
            forum.ext_apply(
                NS,
                Some(community),
                &[ExtOp::Put {
                    key: format!("kept-settings/{name}"),
                    value: json(&record.settings),
                }],
            )?;
        }
        self.put_enable(community, name, None)
    }

    /// Sets a plugin's settings in a community; each value is checked
    /// against its declared type. Unset keys take their defaults. Admins
    /// only; the plugin must be enabled there.
    pub fn configure(
        &self,
        actor: &Actor,
        community: CommunityId,
        name: &str,
        settings: BTreeMap<String, serde_json::Value>,
    ) -> Result<()> {
        self.require_admin(actor, community)?;
        let manifest = self.manifest(name)?;
        manifest.check_settings(&settings)?;
        // Secrets go apart: "" clears one, a missing key keeps it.
        let mut settings = settings;
        let mut secret_ops = Vec::new();
        for (key, spec) in &manifest.settings {
            if spec.kind != crate::manifest::SettingType::Secret {
                continue;
            }
            let stored = format!("{name}/{key}");
            match settings.remove(key) {
                Some(serde_json::Value::String(s)) if !s.is_empty() => {
                    secret_ops.push(ExtOp::Put {
                        key: stored,
                        value: s.into_bytes(),
                    });
                }
                Some(_) => secret_ops.push(ExtOp::Delete { key: stored }),
                None => {}
            }
        }
        let mut record = self.enable_record(community, name)?;
        record.settings = settings;
        self.inner
            .forum
            .ext_apply(SECRETS, Some(community), &secret_ops)?;
        self.put_enable(community, name, Some(&record))
    }

    /// Narrows the outside hosts a plugin may call in a community to
    /// `hosts` (each one its manifest names under `[http]`); `None` allows
    /// all it names again. Admins only; the plugin must be enabled there.
    pub fn limit_http_hosts(
        &self,
        actor: &Actor,
        community: CommunityId,
        name: &str,
        hosts: Option<Vec<String>>,
    ) -> Result<()> {
        self.require_admin(actor, community)?;
        let manifest = self.manifest(name)?;
        if let Some(h) = hosts
            .iter()
            .flatten()
            .find(|h| !manifest.http_hosts().contains(h))
        {
            return Err(Error::Capability {
                plugin: name.into(),
                message: format!("cannot allow {h}: the manifest's [http] hosts do not name it"),
            });
        }
        let mut record = self.enable_record(community, name)?;
        record.http_hosts = hosts;
        self.put_enable(community, name, Some(&record))
    }

    /// The `[http]` hosts a plugin may call in a community, as the operator
    /// narrowed them (`None`: every host its manifest names).
    pub fn http_hosts_allowed(
        &self,
        community: CommunityId,
        name: &str,
    ) -> Result<Option<Vec<String>>> {
        Ok(self.enable_record(community, name)?.http_hosts)
    }

    /// The record of a plugin enabled in a community.
    fn enable_record(&self, community: CommunityId, name: &str) -> Result<EnableRecord> {
        let key = format!("enabled/{name}");
        match self.inner.forum.ext_get(NS, Some(community), &key)? {
            Some(b) => from_json(&b, "plugin settings"),
            None => Err(Error::NotEnabled {
                plugin: name.into(),
                reason: None,
            }),
        }
    }

    /// Which of a plugin's secret settings are set in a community (their
    /// values are never read back).
    pub fn secrets_set(&self, community: CommunityId, name: &str) -> Result<Vec<String>> {
        let prefix = format!("{name}/");
        Ok(self
            .inner
            .forum
            .ext_list(SECRETS, Some(community), &prefix, "", 1000)?
            .into_iter()
            .filter_map(|(k, _)| k.strip_prefix(&prefix).map(str::to_string))
            .collect())
    }

    /// The settings of a plugin in a community, defaults filled in;
    /// secrets are left out ([`PluginHost::secrets_set`] says which are
    /// set).
    pub fn settings(
        &self,
        community: CommunityId,
        name: &str,
    ) -> Result<BTreeMap<String, serde_json::Value>> {
        let manifest = self.manifest(name)?;
        let e = self.enabled_in(community)?;
        let values = e
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.values.clone())
            .unwrap_or_default();
        let mut all = manifest.resolve_settings(&values);
        all.retain(|key, _| {
            manifest
                .settings
                .get(key)
                .is_none_or(|s| s.kind != crate::manifest::SettingType::Secret)
        });
        Ok(all)
    }

    /// The communities where a plugin is enabled, and the names of the
    /// plugins enabled in each.
    pub fn enabled_plugins(&self, community: CommunityId) -> Result<Vec<String>> {
        Ok(self
            .enabled_in(community)?
            .iter()
            .map(|e| e.name.clone())
            .collect())
    }

    fn put_enable(
        &self,
        community: CommunityId,
        name: &str,
        record: Option<&EnableRecord>,
    ) -> Result<()> {
        let key = format!("enabled/{name}");
        let index = format!("enabled-in/{}/{name}", community.0);
        let ops_c = [match record {
            Some(r) => ExtOp::Put {
                key,
                value: json(r),
            },
            None => ExtOp::Delete { key },
        }];
        self.inner.forum.ext_apply(NS, Some(community), &ops_c)?;
        let ops_g = [
            match record {
                Some(_) => ExtOp::Put {
                    key: index,
                    value: Vec::new(),
                },
                None => ExtOp::Delete { key: index },
            },
            crate::sync::announce(),
        ];
        self.inner.forum.ext_apply(NS, None, &ops_g)?;
        self.inner
            .communities
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&community);
        Ok(())
    }

    /// The running version's manifest (for admin screens: its settings and
    /// what it asks for).
    pub fn manifest(&self, name: &str) -> Result<Manifest> {
        self.read_plugins()
            .get(name)
            .map(|p| p.current.manifest.clone())
            .ok_or_else(|| Error::NotInstalled(name.into()))
    }

    fn ensure_badges(&self, community: CommunityId, manifest: &Manifest) -> Result<()> {
        if manifest.badges.is_empty() {
            return Ok(());
        }
        let forum = &self.inner.forum;
        let have: BTreeSet<String> = forum
            .badges(&Actor::System, community)?
            .into_iter()
            .map(|b| b.slug)
            .collect();
        for b in &manifest.badges {
            if have.contains(&b.slug) {
                continue;
            }
            let tier = match b.tier.as_str() {
                "gold" => hearth::BadgeTier::Gold,
                "silver" => hearth::BadgeTier::Silver,
                _ => hearth::BadgeTier::Bronze,
            };
            let new = NewBadge {
                slug: b.slug.clone(),
                name: b.name.clone(),
                description: b.description.clone(),
                icon: String::new(),
                tier,
                multiple: b.multiple,
            };
            forum.create_badge(&Actor::System, community, new)?;
        }
        Ok(())
    }

    fn ensure_badges_everywhere(&self, name: &str) -> Result<()> {
        let manifest = self.manifest(name)?;
        for c in self.communities_with(name)? {
            self.ensure_badges(c, &manifest)?;
        }
        Ok(())
    }

    /// Communities where `name` is enabled.
    pub(crate) fn communities_with(&self, name: &str) -> Result<Vec<CommunityId>> {
        let mut out = Vec::new();
        for (key, _) in self
            .inner
            .forum
            .ext_list(NS, None, "enabled-in/", "", 1000)?
        {
            let mut parts = key.trim_start_matches("enabled-in/").splitn(2, '/');
            if let (Some(c), Some(n)) = (parts.next(), parts.next())
                && n == name
                && let Ok(c) = c.parse()
            {
                out.push(CommunityId(c));
            }
        }
        Ok(out)
    }

    /// Every community with at least one plugin enabled.
    pub(crate) fn communities(&self) -> Result<BTreeSet<CommunityId>> {
        Ok(self
            .inner
            .forum
            .ext_list(NS, None, "enabled-in/", "", 1000)?
            .into_iter()
            .filter_map(|(k, _)| {
                k.trim_start_matches("enabled-in/")
                    .split('/')
                    .next()
                    .and_then(|c| c.parse().ok())
                    .map(CommunityId)
            })
            .collect())
    }

    pub(crate) fn enabled_in(&self, community: CommunityId) -> Result<Arc<Vec<Enabled>>> {
        self.refresh_if_due();
        if let Some(e) = self
            .inner
            .communities
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&community)
        {
            return Ok(e.clone());
        }
        let mut list = Vec::new();
        for (key, value) in self
            .inner
            .forum
            .ext_list(NS, Some(community), "enabled/", "", 1000)?
        {
            let record: EnableRecord = from_json(&value, "plugin settings")?;
            list.push(Enabled {
                name: key.trim_start_matches("enabled/").to_string(),
                grants: Arc::new(record.grants.into_iter().collect()),
                values: record.settings,
                http_hosts: record.http_hosts,
            });
        }
        // Secrets, for the plugin's own calls only.
        for (key, value) in self
            .inner
            .forum
            .ext_list(SECRETS, Some(community), "", "", 1000)?
        {
            let Some((plugin, setting)) = key.split_once('/') else {
                continue;
            };
            if let Some(e) = list.iter_mut().find(|e| e.name == plugin) {
                e.values.insert(
                    setting.to_string(),
                    serde_json::Value::String(String::from_utf8_lossy(&value).into_owned()),
                );
            }
        }
        let list = Arc::new(list);
        self.inner
            .communities
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(community, list.clone());
        Ok(list)
    }

    /// The enabled plugins of a community, with what each needs for a
    /// call; plugins the host disabled are left out.
    pub(crate) fn active_in(&self, community: CommunityId) -> Result<Vec<Target>> {
        let enabled = self.enabled_in(community)?;
        let plugins = self.read_plugins();
        Ok(enabled
            .iter()
            .filter_map(|e| {
                let p = plugins.get(&e.name)?;
                p.disabled
                    .is_none()
                    .then(|| (p.current.clone(), p.stats.clone(), e.clone()))
            })
            .collect())
    }

    /// The kinds of notification the plugins running in `community` may
    /// send (declared, and `notify` granted), as (plugin, kind) — for a
    /// member's preferences page.
    pub fn notification_kinds(
        &self,
        community: CommunityId,
    ) -> Result<Vec<(String, NoticeKindSpec)>> {
        Ok(self
            .active_in(community)?
            .into_iter()
            .filter(|(_, _, enabled)| enabled.grants.contains(&Capability::Notify))
            .flat_map(|(loaded, _, enabled)| {
                loaded
                    .manifest
                    .notifications
                    .iter()
                    .map(|k| (enabled.name.clone(), k.clone()))
                    .collect::<Vec<_>>()
            })
            .collect())
    }

    /// The navigation links of the plugins running in `community`, as
    /// (plugin, link): each 0.2 plugin's `[nav]`, and for a 0.1 plugin
    /// with a `route` hook a link to its root labelled with its name.
    pub fn nav_links(&self, community: CommunityId) -> Result<Vec<(String, NavSpec)>> {
        Ok(self
            .active_in(community)?
            .into_iter()
            .filter_map(|(loaded, _, enabled)| {
                let m = &loaded.manifest;
                let link = match &m.nav {
                    Some(nav) => nav.clone(),
                    None if m.api_minor() < 2 && m.has_hook(Hook::Route) => NavSpec {
                        label: capitalize(&m.name.replace('-', " ")),
                        path: "/".into(),
                        staff: false,
                    },
                    None => return None,
                };
                Some((enabled.name.clone(), link))
            })
            .collect())
    }

    /// [`PluginHost::active_in`], only the plugins implementing `hook`.
    pub(crate) fn targets(&self, community: CommunityId, hook: Hook) -> Result<Vec<Target>> {
        let mut targets = self.active_in(community)?;
        targets.retain(|(loaded, _, _)| loaded.manifest.has_hook(hook));
        Ok(targets)
    }

    /// Runs one call and keeps the books: counters, auto-disable, logs.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call<T>(
        &self,
        loaded: &Arc<Loaded>,
        stats: &Stats,
        enabled: &Enabled,
        community: CommunityId,
        hook: Hook,
        reader: Actor,
        f: impl FnOnce(
            &mut wasmtime::Store<CallState>,
            &Instance,
        ) -> wasmtime::Result<std::result::Result<T, String>>,
    ) -> Outcome<T> {
        let spec = self.spec(loaded, enabled, community, hook, reader);
        let mut out = call::invoke(
            &self.inner.runtime.engine,
            &self.inner.forum,
            &spec,
            self.inner.config.fuel,
            self.inner.config.max_instances,
            |store, plugin| f(store, plugin),
        );
        // A hook's own `Err(message)` is a failure too.
        let result = match out.result {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(message)) => Err(Error::Failed {
                plugin: loaded.manifest.name.clone(),
                hook: hook.as_str().into(),
                message,
            }),
            Err(e) => Err(e),
        };
        if result.is_err() {
            out.writes.clear();
        }
        let error = result.as_ref().err();
        let streak = stats.record(&out.usage, error.map(|e| e.to_string()).as_deref());
        if let Some(e) = error {
            tracing::warn!(plugin = %loaded.manifest.name, error = %e, "plugin call failed");
            if e.is_plugin_fault() && streak >= self.inner.config.disable_after {
                self.auto_disable(&loaded.manifest.name, streak, e);
            }
        }
        Outcome {
            result,
            logs: out.logs,
            usage: out.usage,
            writes: out.writes,
            reads: out.reads,
        }
    }

    /// [`PluginHost::call`] for a page's `render` or `render-items`: the
    /// answer remembered under `key` (everything the call is given) when
    /// replaying the reads that made it answers the same, else a call —
    /// whose answer is remembered if it made nothing but reads (see
    /// `memo`). `key` must name the hook's whole context.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn call_remembered<T: crate::memo::Remembered>(
        &self,
        loaded: &Arc<Loaded>,
        stats: &Stats,
        enabled: &Enabled,
        community: CommunityId,
        hook: Hook,
        reader: Actor,
        key: crate::memo::Key,
        f: impl FnOnce(
            &mut wasmtime::Store<CallState>,
            &Instance,
        ) -> wasmtime::Result<std::result::Result<T, String>>,
    ) -> Result<Arc<T>> {
        // The reads replayed, or the call's, in one snapshot with the
        // reader's permissions loaded once (read-only hooks: nothing here
        // writes, so the snapshot lasts the whole call).
        self.inner.forum.in_snapshot(|| {
            let remember = self.inner.config.remember_renders;
            if remember {
                let spec = self.spec(loaded, enabled, community, hook, reader);
                let recalled = self.inner.memo.recall(&key, loaded, &self.inner.forum, || {
                    CallState::new(&self.inner.forum, &spec, std::time::Instant::now())
                });
                if let Some(v) = recalled.and_then(T::from_answer) {
                    return Ok(v);
                }
            }
            let out = self.call(loaded, stats, enabled, community, hook, reader, f);
            let result = out.result.map(Arc::new);
            if let (true, Ok(v), Some(reads)) = (remember, &result, out.reads) {
                // The reads were made on this scope's snapshot.
                let at = self.inner.forum.snapshot_data_version();
                self.inner
                    .memo
                    .remember(key, loaded, reads, T::into_answer(v.clone()), at);
            }
            result
        })
    }

    /// What a call of `hook` on `loaded` is given here: the reader, and for
    /// hooks that are not pure the operator's grants, settings and HTTP.
    fn spec(
        &self,
        loaded: &Arc<Loaded>,
        enabled: &Enabled,
        community: CommunityId,
        hook: Hook,
        reader: Actor,
    ) -> CallSpec {
        CallSpec {
            loaded: loaded.clone(),
            community,
            hook,
            reader,
            // A pure hook's answer may depend on nothing the host holds.
            grants: if hook.pure() {
                Arc::new(
                    enabled
                        .grants
                        .iter()
                        .copied()
                        .filter(|c| *c == Capability::Log)
                        .collect(),
                )
            } else {
                enabled.grants.clone()
            },
            settings: Arc::new(if hook.pure() {
                Default::default()
            } else {
                loaded.manifest.resolve_settings(&enabled.values)
            }),
            limits: self.inner.config.limits_for(hook, &loaded.manifest.limits),
            http: if hook.pure() {
                None
            } else {
                self.http_grant(loaded, enabled)
            },
        }
    }

    /// What a plugin may call here: its manifest's hosts, narrowed by the
    /// operator; `None` for plugins that call nothing.
    fn http_grant(
        &self,
        loaded: &Loaded,
        enabled: &Enabled,
    ) -> Option<Arc<crate::outbound::HttpGrant>> {
        let spec = loaded.manifest.http.as_ref()?;
        let named = &spec.hosts;
        let mut hosts: Vec<String> = match &enabled.http_hosts {
            Some(narrow) => named
                .iter()
                .filter(|h| narrow.contains(h))
                .cloned()
                .collect(),
            None => named.to_vec(),
        };
        // The hosts of the service URLs the operator set.
        if !spec.from_settings.is_empty() {
            let values = loaded.manifest.resolve_settings(&enabled.values);
            for key in &spec.from_settings {
                if let Some(host) = values
                    .get(key)
                    .and_then(|v| v.as_str())
                    .and_then(crate::outbound::host_of)
                {
                    hosts.push(host);
                }
            }
        }
        let c = &self.inner.config;
        Some(Arc::new(crate::outbound::HttpGrant {
            hosts,
            private_ok: c.http_private_hosts.clone(),
            plain: c.http_plain,
            max_response: c.http_max_response,
            per_plugin: c.http_per_plugin,
            replay: c.http_replay.clone(),
        }))
    }

    fn auto_disable(&self, name: &str, streak: u32, e: &Error) {
        let reason = format!("disabled after {streak} consecutive failures; last: {e}");
        tracing::error!(plugin = %name, "{reason}");
        if let Some(p) = self.write_plugins().get_mut(name) {
            p.disabled = Some(reason.clone());
        }
        if let Err(e) = self.inner.forum.ext_apply(
            NS,
            None,
            &[
                ExtOp::Put {
                    key: format!("disabled/{name}"),
                    value: reason.into_bytes(),
                },
                crate::sync::announce(),
            ],
        ) {
            tracing::error!(plugin = %name, error = %e, "could not record that the plugin is disabled");
        }
    }

    /// Applies a successful call's key-value writes and notices (and any
    /// host records that must commit with them) in one transaction.
    pub(crate) fn commit(
        &self,
        name: &str,
        community: CommunityId,
        writes: &Writes,
        host_ops: &[ExtOp],
    ) -> Result<hearth::NoticeTally> {
        let ns = call::kv_namespace(name);
        let batches = [(ns.as_str(), writes.kv.as_slice()), (NS, host_ops)];
        if writes.notices.is_empty() {
            self.inner.forum.ext_apply_all(Some(community), &batches)?;
            self.commit_replies(name, community, writes);
            return Ok(hearth::NoticeTally::default());
        }
        let tally = self.inner.forum.ext_apply_with_notices(
            community,
            &batches,
            &writes.notices,
            self.inner.config.notices_per_hour,
        )?;
        if tally.capped > 0 {
            tracing::warn!(plugin = %name, capped = tally.capped, "notices over the hourly cap were not sent");
        }
        if let Some(p) = self.read_plugins().get(name) {
            p.stats.notices(&tally);
        }
        self.commit_replies(name, community, writes);
        Ok(tally)
    }

    /// Posts a committed call's bot replies and counts what became of them.
    fn commit_replies(&self, name: &str, community: CommunityId, writes: &Writes) {
        if writes.replies.is_empty() {
            return;
        }
        let results = self.post_replies(name, community, &writes.replies);
        let posted = results.iter().filter(|r| r.is_ok()).count() as u64;
        let last = results
            .iter()
            .rev()
            .find_map(|r| r.as_ref().err())
            .map(|e| format!("a bot reply was refused: {e}"));
        if let Some(p) = self.read_plugins().get(name) {
            p.stats.replies(posted, last, results.len() as u64 - posted);
        }
    }

    /// Runs every enabled `filter-post` plugin over a draft, in the order
    /// they were enabled. A failed call applies the plugin's failure mode:
    /// closed (the default) holds the post for review, open lets it through.
    pub fn filter_post(&self, draft: &PostDraft) -> Result<PostFilter> {
        let mut body = draft.body.clone();
        let mut queued: Option<String> = None;
        for (loaded, stats, enabled) in self.targets(draft.community, Hook::FilterPost)? {
            let wit = to_wit_draft(draft, &body);
            let out = self.call(
                &loaded,
                &stats,
                &enabled,
                draft.community,
                Hook::FilterPost,
                Actor::System,
                |store, p| p.filter_post(store, &wit),
            );
            if !out.writes.is_empty() {
                self.commit(&loaded.manifest.name, draft.community, &out.writes, &[])?;
            }
            let result = match out.result {
                Ok(bindings::Verdict::Rewrite(b)) => check_rewrite(&loaded.manifest.name, b)
                    .map(bindings::Verdict::Rewrite)
                    .inspect_err(|e| self.count_failure(&loaded.manifest.name, &stats, e)),
                other => other,
            };
            match result {
                Ok(bindings::Verdict::Allow) => {}
                Ok(bindings::Verdict::Rewrite(b)) => body = b,
                Ok(bindings::Verdict::Queue(reason)) => {
                    queued.get_or_insert(reason);
                }
                Ok(bindings::Verdict::Reject(reason)) => return Ok(PostFilter::Reject { reason }),
                Err(e) => match loaded.manifest.filter_failure.unwrap_or(FailMode::Closed) {
                    FailMode::Open => {}
                    FailMode::Closed => {
                        let _ = e;
                        queued.get_or_insert_with(|| {
                            "an automatic check could not finish; a moderator will review this post"
                                .to_string()
                        });
                    }
                },
            }
        }
        Ok(match queued {
            Some(reason) => PostFilter::Queue { reason },
            None if body != draft.body => PostFilter::Rewrite { body },
            None => PostFilter::Allow,
        })
    }

    /// Renders a slot for a page: each enabled plugin's fragment, sanitized
    /// and capped, in order. Reads are made as `actor`; the calls are
    /// read-only ([`Hook::read_only`]). Failures render
    /// nothing (a footer never takes a page down) and count against the
    /// plugin.
    pub fn render(
        &self,
        actor: &Actor,
        community: CommunityId,
        slot: Slot,
        page: &PageContext,
    ) -> Vec<Fragment> {
        let targets = match self.targets(community, Hook::Render) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, "could not list plugins for a render");
                return Vec::new();
            }
        };
        let ctx = bindings::RenderContext {
            community: community.0,
            slot: slot.to_wit(),
            path: page.path.clone(),
            viewer: viewer_id(actor),
            topic: page.topic.map(|t| t.0),
            member: page.member.map(|m| m.0),
        };
        // Every field of the context, for the remembered renders' keys (a
        // field added to the context must be added here: the pattern
        // names them all). The slot is the one `ctx.slot` was made from.
        let mut context = crate::memo::Key::default();
        {
            let bindings::RenderContext {
                community,
                slot: _,
                path,
                viewer,
                topic,
                member,
            } = &ctx;
            context
                .int(slot as i64)
                .int(*community)
                .text(path)
                .opt(*viewer)
                .opt(*topic)
                .opt(*member);
        }
        let mut out = Vec::new();
        for (loaded, stats, enabled) in targets {
            if !loaded.manifest.renders(slot) {
                continue;
            }
            let name = loaded.manifest.name.clone();
            let max = self
                .inner
                .config
                .limits_for(Hook::Render, &loaded.manifest.limits)
                .max_output;
            let key = crate::memo::Key::call(&name, Hook::Render, actor, &context);
            let res = self.call_remembered(
                &loaded,
                &stats,
                &enabled,
                community,
                Hook::Render,
                *actor,
                key,
                |store, p| p.render(store, &ctx),
            );
            match res.as_deref() {
                Ok(Some(html)) if html.len() > max => {
                    let e = Error::LimitExceeded {
                        plugin: name.clone(),
                        hook: "render".into(),
                        message: format!(
                            "rendered {} bytes; the output cap is {max} bytes",
                            html.len()
                        ),
                    };
                    self.count_failure(&name, &stats, &e);
                }
                // Renders are read-only (`Hook::read_only`): nothing to commit.
                Ok(Some(html)) => out.push(Fragment {
                    html: plugin_html::finish(&loaded.manifest, html, &page.forms, &page.path),
                    plugin: name,
                }),
                Ok(None) => {}
                Err(_) => {}
            }
        }
        out
    }

    /// Counts a failure found after the call returned (e.g. an oversized
    /// result).
    pub(crate) fn count_failure(&self, name: &str, stats: &Stats, e: &Error) {
        let streak = stats.refuse(&e.to_string());
        tracing::warn!(plugin = %name, error = %e, "plugin result refused");
        if streak >= self.inner.config.disable_after {
            self.auto_disable(name, streak, e);
        }
    }

    /// Answers a GET under `/plugins/<name>/<path>`; `Ok(None)` is a 404.
    /// HTML bodies are sanitized (their action buttons made forms with
    /// `forms`); JSON bodies must parse. The call is read-only: its writes
    /// are refused ([`Hook::read_only`]).
    pub fn route(
        &self,
        actor: &Actor,
        community: CommunityId,
        name: &str,
        path: &str,
        query: &[(String, String)],
        forms: &ActionForms,
    ) -> Result<Option<RouteResponse>> {
        let Some((loaded, stats, enabled)) = self
            .targets(community, Hook::Route)?
            .into_iter()
            .find(|(l, _, _)| l.manifest.name == name)
        else {
            return Ok(None);
        };
        let max = self
            .inner
            .config
            .limits_for(Hook::Route, &loaded.manifest.limits)
            .max_output;
        let req = bindings::Request {
            community: community.0,
            path: if path.starts_with('/') {
                path.to_string()
            } else {
                format!("/{path}")
            },
            query: query.to_vec(),
            viewer: viewer_id(actor),
        };
        let out = self.call(
            &loaded,
            &stats,
            &enabled,
            community,
            Hook::Route,
            *actor,
            |store, p| p.route(store, &req),
        );
        let Some(resp) = out.result? else {
            return Ok(None);
        };
        let fail = |message: String| Error::Failed {
            plugin: name.into(),
            hook: "route".into(),
            message,
        };
        if resp.body.len() > max {
            let e = Error::LimitExceeded {
                plugin: name.into(),
                hook: "route".into(),
                message: format!(
                    "returned {} bytes; the output cap is {max}",
                    resp.body.len()
                ),
            };
            self.count_failure(name, &stats, &e);
            return Err(e);
        }
        if !(100..=599).contains(&resp.status) {
            return Err(fail(format!(
                "status {} is not an HTTP status",
                resp.status
            )));
        }
        let ct = resp.content_type.to_ascii_lowercase();
        let (content_type, body) = if ct.starts_with("application/json") {
            serde_json::from_str::<serde_json::Value>(&resp.body)
                .map_err(|e| fail(format!("body is not JSON: {e}")))?;
            ("application/json".to_string(), resp.body)
        } else if ct.starts_with("text/html") {
            (
                "text/html; charset=utf-8".to_string(),
                plugin_html::finish(
                    &loaded.manifest,
                    &resp.body,
                    forms,
                    &format!("/plugins/{name}{}", req.path),
                ),
            )
        } else {
            return Err(fail(format!(
                "content type {:?}: use text/html or application/json",
                resp.content_type
            )));
        };
        // GET routes are read-only (`Hook::read_only`): nothing to commit.
        Ok(Some(RouteResponse {
            status: resp.status,
            content_type,
            body,
        }))
    }

    /// Runs one hook of an enabled plugin by hand with production limits,
    /// and reports what it returned, logged and used (for
    /// `hearth-plugin run`). `input` is the hook's argument as JSON: a post
    /// draft, a list of events, a render context or a request.
    pub fn run_hook(
        &self,
        actor: &Actor,
        community: CommunityId,
        name: &str,
        hook: Hook,
        input: &serde_json::Value,
    ) -> Result<HookRun> {
        crate::runner::run_hook(self, actor, community, name, hook, input)
    }

    /// Forgets every remembered render (see [`HostConfig::remember_renders`]):
    /// the next view of each page runs its plugins again. Nothing needs
    /// it for correctness (a remembered render is reused only while its
    /// reads answer the same); benchmarks use it to measure first views.
    pub fn forget_renders(&self) {
        self.inner.memo.clear();
    }

    /// Benchmark support: calls a plugin's `on-schedule` export `iters`
    /// times on one warm instance (instantiated in batches of 10,000 calls)
    /// and returns the time spent in the calls alone. Not for production
    /// use: it bypasses the manifest's hook list.
    #[doc(hidden)]
    pub fn bench_warm_calls(
        &self,
        community: CommunityId,
        name: &str,
        iters: u64,
    ) -> Result<std::time::Duration> {
        let loaded = self
            .read_plugins()
            .get(name)
            .map(|p| p.current.clone())
            .ok_or_else(|| Error::NotInstalled(name.into()))?;
        let enabled = self
            .enabled_in(community)?
            .iter()
            .find(|e| e.name == name)
            .cloned()
            .ok_or_else(|| Error::NotEnabled {
                plugin: name.into(),
                reason: None,
            })?;
        let mut total = std::time::Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(10_000);
            left -= n;
            let spec = CallSpec {
                loaded: loaded.clone(),
                community,
                hook: Hook::OnSchedule,
                reader: Actor::System,
                grants: enabled.grants.clone(),
                settings: Arc::new(loaded.manifest.resolve_settings(&enabled.values)),
                limits: self
                    .inner
                    .config
                    .limits_for(Hook::OnSchedule, &loaded.manifest.limits),
                http: None,
            };
            let out = call::invoke(
                &self.inner.runtime.engine,
                &self.inner.forum,
                &spec,
                self.inner.config.fuel,
                self.inner.config.max_instances,
                |store, p| {
                    // Warm up the instance with one call, then time.
                    let _ = p.on_schedule(&mut *store, community.0, 0)?;
                    let started = Instant::now();
                    for _ in 0..n {
                        let _ = p.on_schedule(&mut *store, community.0, 0)?;
                    }
                    Ok(started.elapsed())
                },
            );
            total += out.result?;
        }
        Ok(total)
    }

    /// The plugin API versions this host accepts.
    pub fn supported_api() -> &'static str {
        SUPPORTED_API
    }
}

/// The largest body a filter may rewrite a post to.
const MAX_REWRITE: usize = 1 << 20;

/// A rewrite must be text a person could have written: bounded, and free of
/// control characters other than tabs and line breaks.
fn check_rewrite(plugin: &str, body: String) -> Result<String> {
    let bad = |message: String| Error::Failed {
        plugin: plugin.into(),
        hook: "filter-post".into(),
        message: format!("malformed result: {message}"),
    };
    if body.len() > MAX_REWRITE {
        return Err(bad(format!(
            "a rewrite of {} bytes (at most {MAX_REWRITE})",
            body.len()
        )));
    }
    if let Some(c) = body
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(bad(format!(
            "a rewrite containing the control character {c:?}"
        )));
    }
    Ok(body)
}

fn status_of(name: &str, p: &Installed) -> PluginStatus {
    let m = &p.current.manifest;
    PluginStatus {
        name: name.to_string(),
        version: m.version.clone(),
        api_version: m.api_version.clone(),
        description: m.description.clone(),
        hooks: m.hooks.clone(),
        capabilities: m.capabilities.clone(),
        sha256: p.current.sha256.clone(),
        sdk_version: p.current.sdk_version.clone(),
        previous_version: p
            .previous
            .as_ref()
            .and_then(|v| Manifest::parse(&v.manifest).ok())
            .map(|m| m.version),
        disabled: p.disabled.clone(),
        compiled: p.current.compiled,
        load_time: p.current.load_time,
        counters: p.stats.snapshot(),
    }
}

pub(crate) fn to_wit_draft(d: &PostDraft, body: &str) -> bindings::PostDraft {
    bindings::PostDraft {
        kind: match d.kind {
            hearth::DraftKind::NewTopic => bindings::DraftKind::NewTopic,
            hearth::DraftKind::Reply => bindings::DraftKind::Reply,
            hearth::DraftKind::Edit => bindings::DraftKind::Edit,
        },
        community: d.community.0,
        category: d.category.0,
        topic: d.topic.map(|t| t.0),
        post: d.post.map(|p| p.0),
        author: d.author.0,
        title: d.title.clone(),
        body: body.to_string(),
    }
}

/// Refuses components built against a plugin API this host does not
/// support, naming both versions, before linking would fail obscurely, and
/// components whose imports contradict the manifest's `api-version`.
/// Returns the API's minor version (the world to link).
fn check_component_api(
    manifest: &Manifest,
    engine: &wasmtime::Engine,
    component: &wasmtime::component::Component,
) -> Result<u32> {
    let plugin = &manifest.name;
    let ty = component.component_type();
    let names: Vec<&str> = ty.imports(engine).map(|(n, _)| n).collect();
    let declared = manifest.api_minor();
    for version in crate::sdk_section::imported_api_versions(names) {
        match crate::manifest::api_minor(&version) {
            None => {
                return Err(Error::UnsupportedApi {
                    plugin: plugin.clone(),
                    found: version,
                    supported: SUPPORTED_API.into(),
                });
            }
            Some(minor) if minor != declared => {
                return Err(Error::Invalid {
                    plugin: plugin.clone(),
                    message: format!(
                        "the component was built for plugin API {version} but plugin.toml says \
                         api-version = {:?}; make them agree",
                        manifest.api_version
                    ),
                });
            }
            Some(_) => {}
        }
    }
    Ok(declared)
}

/// What the forum holds: a weak handle, so the forum and the host do not
/// keep each other alive.
struct HostHooks(Weak<Inner>);

impl Hooks for HostHooks {
    fn name(&self) -> &str {
        "plugins"
    }

    fn filter_post(&self, draft: &PostDraft) -> std::result::Result<PostFilter, HookError> {
        let Some(inner) = self.0.upgrade() else {
            return Ok(PostFilter::Allow);
        };
        PluginHost { inner }
            .filter_post(draft)
            .map_err(|e| HookError(e.to_string()))
    }

    fn markup_syntaxes(&self, community: CommunityId) -> Vec<hearth::MarkupSyntax> {
        let Some(inner) = self.0.upgrade() else {
            return Vec::new();
        };
        PluginHost { inner }
            .markup_syntaxes(community)
            .unwrap_or_else(|e| {
                tracing::warn!(error = %e, "could not list the plugins' Markdown extensions");
                Vec::new()
            })
    }

    fn render_markup(
        &self,
        community: CommunityId,
        syntax: &hearth::MarkupSyntax,
        blocks: &[hearth::MarkupBlock],
    ) -> std::result::Result<Vec<Option<hearth::MarkupOutput>>, HookError> {
        let Some(inner) = self.0.upgrade() else {
            return Ok(vec![None; blocks.len()]);
        };
        PluginHost { inner }
            .render_markup(community, &syntax.owner, blocks)
            .map_err(|e| HookError(e.to_string()))
    }

    fn on_events(&self, events: &[hearth::Event]) -> std::result::Result<(), HookError> {
        if let (Some(inner), Some(first)) = (self.0.upgrade(), events.first()) {
            inner.wake.nudge(first.community);
        }
        Ok(())
    }
}

/// `s` with its first letter upper-case.
fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
