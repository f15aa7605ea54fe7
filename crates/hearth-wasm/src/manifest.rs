//! `plugin.toml`: what a plugin is, which hooks it implements, which
//! capabilities and settings it asks for, and the limits it needs.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::limits::LimitOverrides;

/// The newest plugin API version this host implements (the WIT package
/// version); the SDK builds against it.
pub const API_VERSION: &str = "0.2.0";
/// The API versions this host runs, side by side.
pub const SUPPORTED_API: &str = "0.1.x or 0.2.x";

/// Whether this host runs plugins built for API `version` (`0.1.x` or
/// `0.2.x`).
pub fn api_supported(version: &str) -> bool {
    api_minor(version).is_some()
}

/// The minor version of a supported API version (`0.2.1` → 2).
pub(crate) fn api_minor(version: &str) -> Option<u32> {
    let mut parts = version.trim().split('.');
    let (Some(major), Some(minor)) = (parts.next(), parts.next()) else {
        return None;
    };
    let patch_ok = parts.next().is_none_or(|p| p.parse::<u32>().is_ok());
    let minor = match minor {
        "1" => 1,
        "2" => 2,
        _ => return None,
    };
    (major == "0" && patch_ok && parts.next().is_none()).then_some(minor)
}

macro_rules! names {
    ($(#[$doc:meta])* $ty:ident { $($(#[$vdoc:meta])* $variant:ident = $name:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum $ty {
            $($(#[$vdoc])* #[serde(rename = $name)] $variant,)*
        }

        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &[$ty] = &[$($ty::$variant,)*];

            /// The name used in manifests and messages.
            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name,)* }
            }

            /// Parses the name used in manifests.
            pub fn parse(s: &str) -> Option<$ty> {
                match s { $($name => Some($ty::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

names! {
    /// A plugin export the host may call.
    Hook {
        /// Before a post is created or edited.
        FilterPost = "filter-post",
        /// Events from the durable event log.
        OnEvent = "on-event",
        /// An HTML fragment for a page slot.
        Render = "render",
        /// A page or JSON under `/plugins/<name>/`.
        Route = "route",
        /// Periodic work.
        OnSchedule = "on-schedule",
        /// A member's action, posted to `/plugins/<name>/a/<action>` (0.2).
        Action = "action",
        /// Fragments for many posts or topics of a page at once (0.2).
        RenderItems = "render-items",
        /// The fenced Markdown blocks it owns, when a post is rendered (0.2).
        RenderMarkup = "render-markup",
    }
}

names! {
    /// Where `render-items` fragments go.
    ItemSlot {
        /// Below each post's text.
        PostFooter = "post-footer",
        /// Among each post's buttons.
        PostMenu = "post-menu",
        /// Beside each topic's title on lists.
        TopicListBadge = "topic-list-badge",
        /// The composer's help area.
        ComposerHelp = "composer-help",
    }
}

impl Hook {
    /// Whether calls of this hook may change anything. Page renders and
    /// GET routes may not: a GET can be triggered by any image tag in a
    /// post (cross-site request forgery), and a page view must not fail
    /// because a write could not be saved. Their key-value writes, badge
    /// grants and point awards are refused with `denied`.
    pub fn read_only(self) -> bool {
        matches!(
            self,
            Hook::Render | Hook::RenderItems | Hook::Route | Hook::RenderMarkup
        )
    }

    /// Whether calls of this hook must not depend on anything but their
    /// arguments (and the plugin's version): a rendered Markdown block is
    /// stored with the post, so only `log` is granted — no reads, settings
    /// or clock.
    pub fn pure(self) -> bool {
        matches!(self, Hook::RenderMarkup)
    }

    /// Whether every write of a call must wait for its outcome (an action
    /// saves nothing unless it is done). Only key-value writes can wait, so
    /// badge grants and point awards are refused with `denied`.
    pub fn writes_wait_for_outcome(self) -> bool {
        matches!(self, Hook::Action)
    }
}

names! {
    /// A host function group a plugin must ask for and an operator grant.
    Capability {
        /// Write to the host's log.
        Log = "log",
        /// Read the plugin's settings.
        Settings = "settings",
        /// Read the forum's clock.
        Now = "now",
        /// The plugin's key-value store (per community).
        Kv = "kv",
        /// Read members, topics, posts, points and badges. In `render` and
        /// `route` reads are made as the person viewing the page; in other
        /// hooks as the community.
        Read = "read",
        /// Receive staff-only events (flags, review decisions).
        StaffEvents = "staff-events",
        /// Receive the events of private conversations and, with `read`,
        /// read their posts where the plugin reads as the community
        /// (`on-event`, `on-schedule`, `filter-post`; never as a page's
        /// viewer): for help-desk and escalation plugins. Without it a
        /// plugin never learns a conversation exists.
        PrivateMessages = "private-messages",
        /// Grant and revoke the badges the manifest declares.
        Badges = "badges",
        /// Award points.
        Points = "points",
        /// Notify members of the kinds declared under `[[notifications]]`
        /// (API 0.2).
        Notify = "notify",
        /// Call the outside hosts named under `[http]` (API 0.2), from
        /// actions, events and schedules only.
        Http = "http",
        /// Hold published posts for review (API 0.2).
        HoldPosts = "hold-posts",
        /// Hide a post until a moderator decides (0.2, `hide-post`).
        HidePosts = "hide-posts",
        /// Flag a post for the moderators (0.2, `flag-post`).
        FlagPosts = "flag-posts",
        /// Close a topic (0.2, `close-topic`).
        CloseTopics = "close-topics",
        /// Reply as the plugin's own bot member (0.2, `reply`).
        Reply = "reply",
    }
}

/// What happens to a post when a `filter-post` call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailMode {
    /// Treat the failure as "allow".
    Open,
    /// Hold the post in the review queue.
    Closed,
}

/// A setting's declared type.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SettingType {
    /// Any text up to `max_len` bytes.
    String,
    /// A whole number, optionally bounded.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// One of `choices`.
    Choice,
    /// A list of strings (each one of `choices` when given).
    List,
    /// Text the operator sets and nobody reads back (an API key): stored
    /// apart, write-only in the admin screen, never exported, shown to no
    /// other plugin. Its default must be empty.
    Secret,
}

/// A setting the plugin declares.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SettingSpec {
    /// Its type.
    #[serde(rename = "type")]
    pub kind: SettingType,
    /// The value when the operator set none.
    pub default: serde_json::Value,
    /// Shown to operators.
    #[serde(default)]
    pub description: String,
    /// Smallest integer allowed.
    #[serde(default)]
    pub min: Option<i64>,
    /// Largest integer allowed.
    #[serde(default)]
    pub max: Option<i64>,
    /// Longest string allowed, in bytes (default 1,000).
    #[serde(default)]
    pub max_len: Option<usize>,
    /// Allowed values for `choice` and `list`.
    #[serde(default)]
    pub choices: Vec<String>,
}

impl SettingSpec {
    /// Checks `value` against the declared type; `Err` says what is wrong.
    pub fn check(&self, value: &serde_json::Value) -> std::result::Result<(), String> {
        use serde_json::Value;
        let max_len = self.max_len.unwrap_or(1000);
        let check_str = |s: &str| -> std::result::Result<(), String> {
            if s.len() > max_len {
                return Err(format!("longer than {max_len} bytes"));
            }
            if !self.choices.is_empty() && !self.choices.iter().any(|c| c == s) {
                return Err(format!("{s:?} is not one of {:?}", self.choices));
            }
            Ok(())
        };
        match (&self.kind, value) {
            (SettingType::String | SettingType::Secret, Value::String(s)) => {
                if s.len() > max_len {
                    return Err(format!("longer than {max_len} bytes"));
                }
                Ok(())
            }
            (SettingType::Integer, Value::Number(n)) => {
                let Some(n) = n.as_i64() else {
                    return Err("expected a whole number".into());
                };
                if self.min.is_some_and(|m| n < m) || self.max.is_some_and(|m| n > m) {
                    return Err(format!(
                        "{n} is outside {}..={}",
                        self.min.map_or("".into(), |m| m.to_string()),
                        self.max.map_or("".into(), |m| m.to_string())
                    ));
                }
                Ok(())
            }
            (SettingType::Boolean, Value::Bool(_)) => Ok(()),
            (SettingType::Choice, Value::String(s)) => check_str(s),
            (SettingType::List, Value::Array(items)) => {
                if items.len() > 100 {
                    return Err("more than 100 items".into());
                }
                for item in items {
                    let Value::String(s) = item else {
                        return Err("expected a list of strings".into());
                    };
                    check_str(s)?;
                }
                Ok(())
            }
            (kind, v) => Err(format!("expected {kind:?} (lowercase), got {v}")),
        }
    }
}

/// A badge the plugin may grant; created in a community when the plugin is
/// enabled there.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct BadgeSpec {
    /// Its slug (unique in the community).
    pub slug: String,
    /// Its name.
    pub name: String,
    /// What earns it.
    #[serde(default)]
    pub description: String,
    /// `bronze`, `silver` or `gold`.
    #[serde(default = "bronze")]
    pub tier: String,
    /// Whether it can be granted more than once (once per post).
    #[serde(default)]
    pub multiple: bool,
}

fn bronze() -> String {
    "bronze".into()
}

/// An action the plugin takes from members (`[[actions]]`), served at
/// `POST /plugins/<plugin>/a/<name>`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ActionSpec {
    /// Lowercase letters, digits and dashes.
    pub name: String,
    /// Whether guests may take it too (default: signed-in members only).
    #[serde(default)]
    pub guests: bool,
    /// How many times a member may take it per minute (default 30,
    /// 1 to 600); guests are counted per address.
    #[serde(default = "per_minute")]
    pub per_minute: u32,
}

fn per_minute() -> u32 {
    30
}

/// The most actions a manifest may declare.
pub const MAX_ACTIONS: usize = 32;

/// A kind of notification the plugin sends (`[[notifications]]`, API 0.2):
/// members choose per kind how they get it.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NoticeKindSpec {
    /// Lowercase letters, digits and dashes, e.g. `reacted`.
    pub kind: String,
    /// What members read on their preferences page, e.g. "Someone reacts
    /// to your post" (1 to 100 characters).
    pub label: String,
    /// Whether it is e-mailed (in the batched notification mail) until the
    /// member chooses; by default it is shown in the app only.
    #[serde(default)]
    pub email: bool,
}

impl NoticeKindSpec {
    /// How members get it until they choose.
    pub fn default_delivery(&self) -> hearth::Delivery {
        if self.email {
            hearth::Delivery::Email
        } else {
            hearth::Delivery::InApp
        }
    }
}

/// The outside hosts a plugin calls (`[http]`, API 0.2, capability `http`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
#[serde(rename_all = "kebab-case")]
pub struct HttpSpec {
    /// Host names (`rest.akismet.com`) or address literals (`192.0.2.7`,
    /// `[2001:db8::7]`), any port; at most 16.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// String settings holding a service's URL (`url`): the host of the
    /// URL the operator set (or the default) may be called too — the
    /// operator chose it.
    #[serde(default)]
    pub from_settings: Vec<String>,
}

/// A link in the site's navigation to one of the plugin's pages (`[nav]`,
/// API 0.2). A 0.1 plugin with a `route` hook gets one to its root,
/// labelled with its name.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct NavSpec {
    /// The link's text: one line of 1 to 40 characters.
    pub label: String,
    /// The page, under `/plugins/<name>` (default `/`).
    #[serde(default = "nav_root")]
    pub path: String,
    /// Shown to moderators and administrators only.
    #[serde(default)]
    pub staff: bool,
}

fn nav_root() -> String {
    "/".into()
}

/// The most hosts `[http]` may name.
pub const MAX_HTTP_HOSTS: usize = 16;

/// Whether `h` is a lowercase host name or an address literal.
fn host_like(h: &str) -> bool {
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().is_ok();
    }
    (1..=253).contains(&h.len())
        && h.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// The most notification kinds a manifest may declare.
pub const MAX_NOTICE_KINDS: usize = 8;

/// What a plugin's API field is attached to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldOn {
    /// A post, in a topic's post stream and `/posts/{id}.json`.
    Post,
    /// A topic, in `/t/{id}.json`.
    Topic,
    /// A member, in `/u/{username}.json`.
    User,
}

impl FieldOn {
    /// `post`, `topic` or `user` (the key prefix's middle part).
    pub fn as_str(self) -> &'static str {
        match self {
            FieldOn::Post => "post",
            FieldOn::Topic => "topic",
            FieldOn::User => "user",
        }
    }
}

/// Who sees a plugin's API field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FieldVisibility {
    /// Whoever may read the item.
    Public,
    /// Moderators, admins and staff.
    Staff,
    /// The member themselves (fields on users only).
    #[serde(rename = "self")]
    Own,
}

/// A field the host adds to the Discourse-compatible JSON of posts, topics
/// or members (`[[api-fields]]`, API 0.2): the plugin keeps each item's
/// value as JSON in its key-value store under `api/<on>/<name>/<id>`, and
/// the host reads them in bulk while answering — no plugin runs then.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ApiField {
    /// The JSON field's name: 1 to 50 lowercase letters, digits and
    /// underscores. A name the answer already has is never replaced.
    pub name: String,
    /// What it is attached to.
    pub on: FieldOn,
    /// Who sees it (default: public).
    #[serde(default = "public")]
    pub visibility: FieldVisibility,
}

fn public() -> FieldVisibility {
    FieldVisibility::Public
}

impl ApiField {
    /// The key the plugin keeps item `id`'s value under.
    pub fn key(&self, id: i64) -> String {
        format!("api/{}/{}/{id}", self.on.as_str(), self.name)
    }
}

/// The most fence words a manifest's `markup` lists.
pub const MAX_MARKUP_FENCES: usize = 8;

/// The most API fields a manifest may declare.
pub const MAX_API_FIELDS: usize = 16;

/// A parsed and checked `plugin.toml`.
///
/// ```
/// let m = hearth_wasm::Manifest::parse(r#"
///     name = "hello"
///     version = "1.0.0"
///     api-version = "0.1.0"
///     description = "Says hello in the footer"
///     hooks = ["render"]
///     capabilities = ["settings"]
///
///     [settings.greeting]
///     type = "string"
///     default = "Hello!"
/// "#)?;
/// assert_eq!(m.name, "hello");
/// # Ok::<(), hearth_wasm::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Manifest {
    /// Lowercase letters, digits and dashes; names the plugin everywhere
    /// (routes are under `/plugins/<name>/`).
    pub name: String,
    /// The plugin's own version.
    pub version: String,
    /// The plugin API version it was built for (the WIT package version).
    pub api_version: String,
    /// Shown to operators.
    #[serde(default)]
    pub description: String,
    /// The hooks it implements; the host calls no others.
    pub hooks: Vec<Hook>,
    /// The capabilities it asks for.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    /// Its settings, by key.
    #[serde(default)]
    pub settings: BTreeMap<String, SettingSpec>,
    /// Badges it may grant.
    #[serde(default)]
    pub badges: Vec<BadgeSpec>,
    /// Actions members take (API 0.2, hook `action`).
    #[serde(default)]
    pub actions: Vec<ActionSpec>,
    /// The slots `render-items` fills (API 0.2); the host asks for no
    /// others.
    #[serde(default)]
    pub item_slots: Vec<ItemSlot>,
    /// The page slots `render` fills; the host asks for no others. Absent
    /// (as in manifests written before the key): every slot, each call
    /// an instance of the plugin, most of them answering nothing.
    #[serde(default)]
    pub slots: Vec<crate::Slot>,
    /// The fenced Markdown blocks it renders (```` ```poll ```` is `"poll"`;
    /// API 0.2, hook `render-markup`): 1 to 32 lowercase letters, digits
    /// and dashes each, at most [`MAX_MARKUP_FENCES`].
    #[serde(default)]
    pub markup: Vec<String>,
    /// Fields it adds to posts', topics' and members' JSON (API 0.2).
    #[serde(default)]
    pub api_fields: Vec<ApiField>,
    /// The kinds of notification it sends (API 0.2, capability `notify`).
    #[serde(default)]
    pub notifications: Vec<NoticeKindSpec>,
    /// A link to one of its pages in the site's navigation (API 0.2).
    #[serde(default)]
    pub nav: Option<NavSpec>,
    /// The outside hosts it calls (API 0.2, capability `http`).
    #[serde(default)]
    pub http: Option<HttpSpec>,
    /// What a failed `filter-post` does (default: closed, the post waits
    /// for review).
    #[serde(default)]
    pub filter_failure: Option<FailMode>,
    /// How often `on-schedule` runs, in seconds (default 3,600).
    #[serde(default)]
    pub schedule_seconds: Option<u64>,
    /// Limits it needs, within the host's maxima.
    #[serde(default)]
    pub limits: LimitOverrides,
}

impl Manifest {
    /// Parses and checks a manifest.
    pub fn parse(text: &str) -> Result<Manifest> {
        let m: Manifest = toml::from_str(text).map_err(|e| Error::Manifest(e.to_string()))?;
        m.check()?;
        Ok(m)
    }

    fn check(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Manifest(msg));
        if !name_like(&self.name) {
            return bad(format!(
                "name {:?}: use 1 to 50 lowercase letters, digits and dashes",
                self.name
            ));
        }
        if self.version.is_empty() || self.version.len() > 50 {
            return bad("version: 1 to 50 characters".into());
        }
        if !api_supported(&self.api_version) {
            return Err(Error::UnsupportedApi {
                plugin: self.name.clone(),
                found: self.api_version.clone(),
                supported: SUPPORTED_API.into(),
            });
        }
        if self.hooks.is_empty() {
            return bad("hooks: list at least one hook".into());
        }
        let minor = api_minor(&self.api_version).unwrap_or(0);
        for hook in &self.hooks {
            if !crate::worlds::has_export(minor, *hook) {
                return bad(format!(
                    "hook `{hook}` needs api-version 0.2.0 or later (this manifest says {})",
                    self.api_version
                ));
            }
        }
        if self.actions.len() > MAX_ACTIONS {
            return bad(format!("actions: at most {MAX_ACTIONS}"));
        }
        for (i, a) in self.actions.iter().enumerate() {
            if !name_like(&a.name) {
                return bad(format!(
                    "action {:?}: use 1 to 50 lowercase letters, digits and dashes",
                    a.name
                ));
            }
            if self.actions[..i].iter().any(|b| b.name == a.name) {
                return bad(format!("action {:?} is declared twice", a.name));
            }
            if !(1..=600).contains(&a.per_minute) {
                return bad(format!("action {:?}: per-minute is 1 to 600", a.name));
            }
        }
        match (self.has_hook(Hook::Action), self.actions.is_empty()) {
            (true, true) => {
                return bad("hook `action` is listed but no [[actions]] are declared".into());
            }
            (false, false) => {
                return bad("[[actions]] are declared but the `action` hook is not listed".into());
            }
            _ => {}
        }
        match (self.has_hook(Hook::RenderItems), self.item_slots.is_empty()) {
            (true, true) => {
                return bad("hook `render-items` is listed but item-slots is empty".into());
            }
            (false, false) => {
                return bad("item-slots are listed but the `render-items` hook is not".into());
            }
            _ => {}
        }
        if !self.slots.is_empty() && !self.has_hook(Hook::Render) {
            return bad("slots are listed but the `render` hook is not".into());
        }
        if let Some(twice) = self
            .slots
            .iter()
            .enumerate()
            .find(|(i, s)| self.slots[..*i].contains(s))
        {
            return bad(format!("slot {:?} is listed twice", twice.1));
        }
        match (self.has_hook(Hook::RenderMarkup), self.markup.is_empty()) {
            (true, true) => {
                return bad("hook `render-markup` is listed but markup is empty".into());
            }
            (false, false) => {
                return bad("markup is listed but the `render-markup` hook is not".into());
            }
            _ => {}
        }
        if self.markup.len() > MAX_MARKUP_FENCES {
            return bad(format!("markup: at most {MAX_MARKUP_FENCES} fences"));
        }
        for (i, fence) in self.markup.iter().enumerate() {
            if !hearth::markup_fence_ok(fence) {
                return bad(format!(
                    "markup {fence:?}: use 1 to 32 lowercase letters, digits and dashes"
                ));
            }
            if self.markup[..i].contains(fence) {
                return bad(format!("markup {fence:?} is listed twice"));
            }
        }
        if !self.api_fields.is_empty() && minor < 2 {
            return bad(format!(
                "api-fields need api-version 0.2.0 or later (this manifest says {})",
                self.api_version
            ));
        }
        if self.api_fields.len() > MAX_API_FIELDS {
            return bad(format!("api-fields: at most {MAX_API_FIELDS}"));
        }
        for (i, f) in self.api_fields.iter().enumerate() {
            let ok = (1..=50).contains(&f.name.len())
                && f.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok {
                return bad(format!(
                    "api field {:?}: use 1 to 50 lowercase letters, digits and underscores",
                    f.name
                ));
            }
            if self.api_fields[..i]
                .iter()
                .any(|g| g.name == f.name && g.on == f.on)
            {
                return bad(format!(
                    "api field {:?} on {} is declared twice",
                    f.name,
                    f.on.as_str()
                ));
            }
            if f.visibility == FieldVisibility::Own && f.on != FieldOn::User {
                return bad(format!(
                    "api field {:?}: visibility `self` is for fields on users",
                    f.name
                ));
            }
            if !self.capabilities.contains(&Capability::Kv) {
                return bad(format!(
                    "api field {:?}: its values live in the key-value store; ask for `kv`",
                    f.name
                ));
            }
        }
        self.check_notifications()?;
        self.check_http()?;
        if let Some(nav) = &self.nav {
            if minor < 2 {
                return bad(format!(
                    "[nav] needs api-version 0.2.0 or later (this manifest says {})",
                    self.api_version
                ));
            }
            if !self.has_hook(Hook::Route) {
                return bad("[nav] links to a page, but the `route` hook is not listed".into());
            }
            let chars = nav.label.chars().count();
            if chars == 0 || chars > 40 || nav.label.chars().any(char::is_control) {
                return bad("[nav] label: one line of 1 to 40 characters".into());
            }
            let path_ok = nav.path.starts_with('/')
                && !nav.path.starts_with("//")
                && nav.path.len() <= 100
                && nav
                    .path
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
            if !path_ok {
                return bad(format!(
                    "[nav] path {:?}: a path under the plugin's pages, like \"/\" or \"/mine\"",
                    nav.path
                ));
            }
        }
        for (key, spec) in &self.settings {
            if key.is_empty() || key.len() > 100 {
                return bad(format!("setting {key:?}: keys are 1 to 100 bytes"));
            }
            spec.check(&spec.default)
                .or_else(|e| bad(format!("setting {key:?}: default: {e}")))?;
            if spec.kind == SettingType::Secret && spec.default != serde_json::json!("") {
                return bad(format!(
                    "setting {key:?}: a secret's default is \"\" (the operator sets it; a manifest is not secret)"
                ));
            }
        }
        for b in &self.badges {
            if !self.capabilities.contains(&Capability::Badges) {
                return bad(
                    "badges are declared but the `badges` capability is not asked for".into(),
                );
            }
            if !matches!(b.tier.as_str(), "bronze" | "silver" | "gold") {
                return bad(format!(
                    "badge {:?}: tier is bronze, silver or gold",
                    b.slug
                ));
            }
        }
        self.limits
            .check()
            .or_else(|e| bad(format!("limits: {e}")))?;
        Ok(())
    }

    fn check_notifications(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Manifest(msg));
        let asks = self.capabilities.contains(&Capability::Notify);
        if (asks || !self.notifications.is_empty()) && self.api_minor() < 2 {
            return bad(format!(
                "notifications need api-version 0.2.0 or later (this manifest says {})",
                self.api_version
            ));
        }
        match (asks, self.notifications.is_empty()) {
            (true, true) => {
                return bad(
                    "the `notify` capability is asked for but no [[notifications]] are declared"
                        .into(),
                );
            }
            (false, false) => {
                return bad(
                    "[[notifications]] are declared but the `notify` capability is not asked for"
                        .into(),
                );
            }
            _ => {}
        }
        if self.notifications.len() > MAX_NOTICE_KINDS {
            return bad(format!("notifications: at most {MAX_NOTICE_KINDS} kinds"));
        }
        for (i, n) in self.notifications.iter().enumerate() {
            if !name_like(&n.kind) {
                return bad(format!(
                    "notification kind {:?}: use 1 to 50 lowercase letters, digits and dashes",
                    n.kind
                ));
            }
            if self.notifications[..i].iter().any(|m| m.kind == n.kind) {
                return bad(format!("notification kind {:?} is declared twice", n.kind));
            }
            let chars = n.label.chars().count();
            if chars == 0 || chars > 100 || n.label.chars().any(char::is_control) {
                return bad(format!(
                    "notification kind {:?}: the label is one line of 1 to 100 characters",
                    n.kind
                ));
            }
        }
        Ok(())
    }

    fn check_http(&self) -> Result<()> {
        let bad = |msg: String| Err(Error::Manifest(msg));
        let asks = self.capabilities.contains(&Capability::Http);
        let hosts = self
            .http
            .as_ref()
            .map(|h| h.hosts.as_slice())
            .unwrap_or(&[]);
        let from_settings = self
            .http
            .as_ref()
            .map(|h| h.from_settings.as_slice())
            .unwrap_or(&[]);
        for key in from_settings {
            if self
                .settings
                .get(key)
                .is_none_or(|s| s.kind != SettingType::String)
            {
                return bad(format!(
                    "http from-settings {key:?}: name a setting of type string (holding a URL)"
                ));
            }
        }
        if (asks || self.http.is_some()) && self.api_minor() < 2 {
            return bad(format!(
                "http needs api-version 0.2.0 or later (this manifest says {})",
                self.api_version
            ));
        }
        if asks == (hosts.is_empty() && from_settings.is_empty()) {
            return bad(
                "the `http` capability and [http] hosts go together: ask for one, name the other"
                    .into(),
            );
        }
        if hosts.len() > MAX_HTTP_HOSTS {
            return bad(format!("http: at most {MAX_HTTP_HOSTS} hosts"));
        }
        for h in hosts {
            if !host_like(h) {
                return bad(format!(
                    "http host {h:?}: a lowercase host name or an address literal, no scheme, port or path"
                ));
            }
        }
        Ok(())
    }

    /// The hosts `[http]` names (none without it).
    pub fn http_hosts(&self) -> &[String] {
        self.http
            .as_ref()
            .map(|h| h.hosts.as_slice())
            .unwrap_or(&[])
    }

    /// The notification kind declared as `kind`.
    pub fn notification(&self, kind: &str) -> Option<&NoticeKindSpec> {
        self.notifications.iter().find(|n| n.kind == kind)
    }

    /// The action declared as `name`.
    pub fn action(&self, name: &str) -> Option<&ActionSpec> {
        self.actions.iter().find(|a| a.name == name)
    }

    /// The minor version of the plugin API it was built for (1 or 2).
    pub fn api_minor(&self) -> u32 {
        api_minor(&self.api_version).unwrap_or(0)
    }

    /// Whether the manifest lists `hook`.
    pub fn has_hook(&self, hook: Hook) -> bool {
        self.hooks.contains(&hook)
    }

    /// Whether the host asks this plugin to render `slot`: it implements
    /// `render` and lists the slot, or lists none.
    pub fn renders(&self, slot: crate::Slot) -> bool {
        self.has_hook(Hook::Render) && (self.slots.is_empty() || self.slots.contains(&slot))
    }

    /// Whether the manifest asks for `cap`.
    pub fn asks_for(&self, cap: Capability) -> bool {
        self.capabilities.contains(&cap)
    }

    /// The value of every setting: `values` where set, defaults elsewhere.
    pub fn resolve_settings(
        &self,
        values: &BTreeMap<String, serde_json::Value>,
    ) -> BTreeMap<String, serde_json::Value> {
        self.settings
            .iter()
            .map(|(k, spec)| (k.clone(), values.get(k).unwrap_or(&spec.default).clone()))
            .collect()
    }

    /// Checks operator-set values against the declared settings.
    pub fn check_settings(&self, values: &BTreeMap<String, serde_json::Value>) -> Result<()> {
        for (key, value) in values {
            let Some(spec) = self.settings.get(key) else {
                return Err(Error::Setting {
                    plugin: self.name.clone(),
                    key: key.clone(),
                    message: "not a setting of this plugin".into(),
                });
            };
            spec.check(value).map_err(|message| Error::Setting {
                plugin: self.name.clone(),
                key: key.clone(),
                message,
            })?;
        }
        Ok(())
    }
}

/// Lowercase letters, digits and dashes, 1 to 50, not starting with a dash
/// (plugin and action names).
fn name_like(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 50
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const BASE: &str = r#"
        name = "x"
        version = "1"
        api-version = "0.1.0"
        hooks = ["render"]
    "#;

    #[test]
    fn api_versions() {
        assert!(api_supported("0.1.0"));
        assert!(api_supported("0.1.7"));
        assert!(api_supported("0.1"));
        assert!(api_supported("0.2.0"));
        assert_eq!(api_minor("0.2.3"), Some(2));
        assert!(!api_supported("0.3.0"));
        assert!(!api_supported("0.0.1"));
        assert!(!api_supported("1.1.0"));
        assert!(!api_supported("0.1.0.0"));
        assert!(!api_supported("garbage"));
    }

    #[test]
    fn unsupported_api_names_both_versions() {
        let text = BASE.replace("0.1.0", "0.9.0");
        let err = Manifest::parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("0.9.0") && err.contains(SUPPORTED_API),
            "{err}"
        );
    }

    #[test]
    fn unknown_hooks_capabilities_and_fields_are_refused() {
        for bad in [
            BASE.replace("\"render\"", "\"render\", \"teleport\""),
            format!("{BASE}\ncapabilities = [\"network\"]"),
            format!("{BASE}\nfavourite-colour = \"blue\""),
            BASE.replace("name = \"x\"", "name = \"Bad Name\""),
        ] {
            assert!(Manifest::parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn settings_are_typed() {
        let m = Manifest::parse(&format!(
            "{BASE}\n[settings.top]\ntype = \"integer\"\ndefault = 10\nmin = 1\nmax = 100\n\
             [settings.mode]\ntype = \"choice\"\ndefault = \"a\"\nchoices = [\"a\", \"b\"]\n"
        ))
        .unwrap();
        let ok: BTreeMap<String, serde_json::Value> =
            [("top".to_string(), serde_json::json!(50))].into();
        m.check_settings(&ok).unwrap();
        for (k, v) in [
            ("top", serde_json::json!(0)),
            ("top", serde_json::json!("ten")),
            ("top", serde_json::json!(1.5)),
            ("mode", serde_json::json!("c")),
            ("nope", serde_json::json!(1)),
        ] {
            let vals: BTreeMap<String, serde_json::Value> = [(k.to_string(), v)].into();
            assert!(m.check_settings(&vals).is_err(), "{k}");
        }
        assert_eq!(m.resolve_settings(&ok)["mode"], serde_json::json!("a"));
        // A default that does not fit its own type is a manifest error.
        assert!(
            Manifest::parse(&format!(
                "{BASE}\n[settings.t]\ntype = \"boolean\"\ndefault = 3\n"
            ))
            .is_err()
        );
    }

    #[test]
    fn notification_kinds_are_checked_at_their_bounds() {
        let v2 = BASE.replace("0.1.0", "0.2.0");
        let kind = |k: &str, label: &str| {
            format!("[[notifications]]\nkind = \"{k}\"\nlabel = \"{label}\"\n")
        };
        let with = |base: &str, caps: &str, kinds: &str| {
            Manifest::parse(&format!("{base}\ncapabilities = {caps}\n{kinds}"))
        };
        let notify = "[\"notify\"]";
        let m = with(&v2, notify, &kind("reacted", "Someone reacts")).unwrap();
        assert_eq!(
            m.notification("reacted").unwrap().default_delivery(),
            hearth::Delivery::InApp
        );
        let emailed = with(
            &v2,
            notify,
            "[[notifications]]\nkind = \"x\"\nlabel = \"X\"\nemail = true\n",
        )
        .unwrap();
        assert_eq!(
            emailed.notifications[0].default_delivery(),
            hearth::Delivery::Email
        );
        let all: String = (0..MAX_NOTICE_KINDS)
            .map(|i| kind(&format!("k{i}"), "L"))
            .collect();
        with(&v2, notify, &all).unwrap();
        with(&v2, notify, &kind(&"a".repeat(50), &"é".repeat(100))).unwrap();
        let refused = [
            (v2.clone(), notify, format!("{all}{}", kind("last", "L"))),
            (v2.clone(), notify, kind(&"a".repeat(51), "L")),
            (v2.clone(), notify, kind("Reacted", "L")),
            (v2.clone(), notify, kind("", "L")),
            (v2.clone(), notify, kind("x", "")),
            (v2.clone(), notify, kind("x", &"é".repeat(101))),
            (
                v2.clone(),
                notify,
                format!("{}{}", kind("x", "L"), kind("x", "M")),
            ),
            (v2.clone(), "[]", kind("x", "L")),
            (v2.clone(), notify, String::new()),
            (BASE.to_string(), notify, kind("x", "L")),
        ];
        for (base, caps, kinds) in refused {
            assert!(with(&base, caps, &kinds).is_err(), "{caps} {kinds}");
        }
    }

    #[test]
    fn markup_fences_are_checked_at_their_bounds() {
        let with = |api: &str, hooks: &str, markup: &str| {
            Manifest::parse(&format!(
                "name = \"x\"\nversion = \"1\"\napi-version = \"{api}\"\nhooks = {hooks}\nmarkup = {markup}\n"
            ))
        };
        let hook = "[\"render-markup\"]";
        let m = with("0.2.0", hook, "[\"poll\"]").unwrap();
        assert_eq!(m.markup, ["poll"]);
        assert!(Hook::RenderMarkup.read_only() && Hook::RenderMarkup.pure());
        let most: Vec<String> = (0..MAX_MARKUP_FENCES)
            .map(|i| format!("\"f{i}\""))
            .collect();
        with("0.2.0", hook, &format!("[{}]", most.join(","))).unwrap();
        with("0.2.0", hook, &format!("[\"{}\"]", "a".repeat(32))).unwrap();
        for (api, hooks, markup, why) in [
            ("0.2.0", hook, "[]", "markup is empty"),
            ("0.2.0", "[\"render\"]", "[\"poll\"]", "is not"),
            ("0.1.0", hook, "[\"poll\"]", "0.2.0"),
            ("0.2.0", hook, "[\"Poll\"]", "lowercase"),
            ("0.2.0", hook, "[\"poll x\"]", "lowercase"),
            ("0.2.0", hook, "[\"\"]", "lowercase"),
            ("0.2.0", hook, "[\"poll\", \"poll\"]", "twice"),
        ] {
            let e = with(api, hooks, markup).unwrap_err().to_string();
            assert!(e.contains(why), "{markup}: {e}");
        }
        let over = format!("[\"{}\"]", "a".repeat(33));
        assert!(with("0.2.0", hook, &over).is_err());
        let too_many: Vec<String> = (0..=MAX_MARKUP_FENCES)
            .map(|i| format!("\"f{i}\""))
            .collect();
        let e = with("0.2.0", hook, &format!("[{}]", too_many.join(","))).unwrap_err();
        assert!(e.to_string().contains("at most"), "{e}");
    }

    #[test]
    fn nav_links_are_checked() {
        let with = |api: &str, hooks: &str, nav: &str| {
            Manifest::parse(&format!(
                "name = \"x\"\nversion = \"1\"\napi-version = \"{api}\"\nhooks = {hooks}\n[nav]\n{nav}\n"
            ))
        };
        let route = "[\"route\"]";
        let m = with("0.2.0", route, "label = \"Mine\"").unwrap();
        assert_eq!(
            m.nav.as_ref().map(|n| (n.path.as_str(), n.staff)),
            Some(("/", false))
        );
        with(
            "0.2.0",
            route,
            &format!(
                "label = \"{}\"\npath = \"/mine\"\nstaff = true",
                "é".repeat(40)
            ),
        )
        .unwrap();
        for (api, hooks, nav, why) in [
            ("0.1.0", route, "label = \"L\"", "0.2.0"),
            ("0.2.0", "[\"render\"]", "label = \"L\"", "route"),
            ("0.2.0", route, "label = \"\"", "label"),
            (
                "0.2.0",
                route,
                &format!("label = \"{}\"", "a".repeat(41)),
                "label",
            ),
            ("0.2.0", route, "label = \"L\"\npath = \"mine\"", "path"),
            (
                "0.2.0",
                route,
                "label = \"L\"\npath = \"//evil.example\"",
                "path",
            ),
            ("0.2.0", route, "label = \"L\"\npath = \"/a?b\"", "path"),
            ("0.2.0", route, "label = \"L\"\ncolour = 1", "unknown field"),
        ] {
            let e = with(api, hooks, nav).unwrap_err().to_string();
            assert!(e.contains(why), "{nav}: {e}");
        }
    }

    #[test]
    fn api_fields_are_checked_at_their_bounds() {
        let v2 = BASE.replace("0.1.0", "0.2.0");
        let field = |name: &str, on: &str, vis: &str| {
            format!("[[api-fields]]\nname = \"{name}\"\non = \"{on}\"\nvisibility = \"{vis}\"\n")
        };
        let with = |base: &str, caps: &str, fields: &str| {
            Manifest::parse(&format!("{base}\ncapabilities = {caps}\n{fields}"))
        };
        let m = with(&v2, "[\"kv\"]", &field("votes", "post", "public")).unwrap();
        assert_eq!(m.api_fields[0].key(7), "api/post/votes/7");
        with(&v2, "[\"kv\"]", &field("mine", "user", "self")).unwrap();
        let name50 = "a".repeat(50);
        with(&v2, "[\"kv\"]", &field(&name50, "topic", "staff")).unwrap();
        let all: String = (0..MAX_API_FIELDS)
            .map(|i| field(&format!("f{i}"), "post", "public"))
            .collect();
        with(&v2, "[\"kv\"]", &all).unwrap();
        let refused = [
            (
                v2.clone(),
                "[\"kv\"]",
                format!("{all}{}", field("last", "post", "public")),
            ),
            (
                v2.clone(),
                "[\"kv\"]",
                field(&"a".repeat(51), "post", "public"),
            ),
            (v2.clone(), "[\"kv\"]", field("Votes", "post", "public")),
            (v2.clone(), "[\"kv\"]", field("vo-tes", "post", "public")),
            (v2.clone(), "[\"kv\"]", field("", "post", "public")),
            (v2.clone(), "[\"kv\"]", field("mine", "post", "self")),
            (v2.clone(), "[\"kv\"]", field("x", "category", "public")),
            (v2.clone(), "[\"kv\"]", field("x", "post", "everyone")),
            (
                v2.clone(),
                "[\"kv\"]",
                format!(
                    "{}{}",
                    field("x", "post", "public"),
                    field("x", "post", "staff")
                ),
            ),
            (v2.clone(), "[]", field("x", "post", "public")),
            (BASE.to_string(), "[\"kv\"]", field("x", "post", "public")),
        ];
        for (base, caps, fields) in refused {
            assert!(with(&base, caps, &fields).is_err(), "{caps} {fields}");
        }
        // The same name on different things is two fields.
        with(
            &v2,
            "[\"kv\"]",
            &format!(
                "{}{}",
                field("x", "post", "public"),
                field("x", "topic", "public")
            ),
        )
        .unwrap();
    }

    #[test]
    fn actions_and_item_slots_are_checked_at_their_bounds() {
        let v2 = BASE.replace("0.1.0", "0.2.0");
        let with = |hooks: &str, extra: &str| {
            Manifest::parse(&format!("{}\n{extra}", v2.replace("[\"render\"]", hooks)))
        };
        let one = "[[actions]]\nname = \"vote\"\n";
        let m = with("[\"action\"]", one).unwrap();
        assert_eq!(
            m.action("vote").map(|a| (a.guests, a.per_minute)),
            Some((false, 30))
        );
        // The hook needs API 0.2.
        let err = Manifest::parse(&format!(
            "{}\n{one}",
            BASE.replace("[\"render\"]", "[\"action\"]")
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("0.2.0"), "{err}");
        for (hooks, extra) in [
            ("[\"action\"]", String::new()),
            ("[\"render\"]", one.to_string()),
            ("[\"action\"]", format!("{one}{one}")),
            ("[\"action\"]", "[[actions]]\nname = \"Vote!\"\n".into()),
            ("[\"action\"]", format!("{one}per-minute = 0\n")),
            ("[\"action\"]", format!("{one}per-minute = 601\n")),
            ("[\"render-items\"]", String::new()),
            ("[\"render\"]", "item-slots = [\"post-footer\"]".into()),
            (
                "[\"render-items\"]",
                "item-slots = [\"post-header\"]".into(),
            ),
        ] {
            assert!(with(hooks, &extra).is_err(), "{hooks} {extra}");
        }
        with("[\"action\"]", &format!("{one}per-minute = 600\n")).unwrap();
        with("[\"action\"]", &format!("{one}per-minute = 1\n")).unwrap();
        let many: String = (0..MAX_ACTIONS)
            .map(|i| format!("[[actions]]\nname = \"a{i}\"\n"))
            .collect();
        with("[\"action\"]", &many).unwrap();
        let too_many = format!("{many}[[actions]]\nname = \"last\"\n");
        assert!(with("[\"action\"]", &too_many).is_err());
        let m = with(
            "[\"render-items\"]",
            "item-slots = [\"post-footer\", \"topic-list-badge\"]",
        )
        .unwrap();
        assert_eq!(
            m.item_slots,
            [ItemSlot::PostFooter, ItemSlot::TopicListBadge]
        );
    }
}
