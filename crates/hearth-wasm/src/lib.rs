//! The Hearth plugin host: sandboxed WebAssembly plugins under wasmtime.
//!
//! A plugin is a WebAssembly component built against one of the versioned
//! WIT interfaces in `wit/` (`hearth:plugin@0.2.0`, and the frozen `0.1.0`
//! side by side: [`API_VERSIONS`]), shipped with a
//! `plugin.toml` [`Manifest`]. The [`PluginHost`] installs plugins (hot:
//! an upgrade swaps the compiled plugin atomically and keeps the previous
//! version for a rollback), enables them per community with the
//! [`Capability`]s an operator grants, and calls their hooks:
//!
//! * `filter-post` — as the forum's [`hearth::Hooks`], before a post is
//!   written (a failure holds the post for review unless the manifest says
//!   `filter-failure = "open"`);
//! * `on-event` — from the durable event log, in order, at least once, with
//!   a cursor per plugin and community ([`PluginHost::deliver_events`],
//!   [`PluginHost::start_worker`]); poison events are parked;
//! * `render` — HTML fragments for page slots ([`PluginHost::render`]);
//! * `route` — pages and JSON under `/plugins/<name>/` ([`PluginHost::route`]);
//! * `on-schedule` — periodic work ([`PluginHost::run_schedules`]);
//! * `action` (0.2) — a member's action ([`PluginHost::action`]), whose
//!   writes are saved only when it is done;
//! * `render-items` (0.2) — fragments beside many posts or topic-list rows
//!   in one call ([`PluginHost::render_items`]).
//!
//! Plugin HTML passes each plugin's own allowlist (what posts allow, plus
//! `span`, classes under the plugin's prefix, and `<hearth-action>`, which
//! the host turns into a form carrying the page's token: [`ActionForms`]).
//!
//! Renders are remembered: a `render` or `render-items` answer is reused,
//! without running the plugin, only after replaying every read the call
//! made (as the same viewer) answers the same; calls that read the clock,
//! log, fetch or write run every time ([`HostConfig::remember_renders`]).
//!
//! Every call runs in a fresh instance from a pooling allocator, with a
//! deadline, a memory cap, a stack cap, caps on what the plugin hands the
//! host, and optional fuel ([`HostConfig`], [`Limits`]). Whatever goes wrong
//! comes back as an [`Error`] naming the plugin; a plugin that keeps failing
//! is disabled ([`PluginStatus`]).
//!
//! ```no_run
//! use std::sync::Arc;
//! use hearth::{Actor, Forum};
//! use hearth_wasm::{Capability, HostConfig, PageContext, PluginHost, Slot};
//!
//! # fn main() -> Result<(), hearth_wasm::Error> {
//! let forum = Arc::new(Forum::open("community.db")?);
//! let host = PluginHost::new(forum.clone(), HostConfig {
//!     cache_dir: Some("plugin-cache".into()),
//!     ..HostConfig::default()
//! })?;
//! let footer = host.install_dir("target/plugins/escape-hatch")?;
//! let acme = hearth::CommunityId(1);
//! host.enable(&Actor::System, acme, &footer.name, &[Capability::Settings, Capability::Read])?;
//! for fragment in host.render(&Actor::Guest, acme, Slot::PageFooter, &PageContext::default()) {
//!     println!("{}", fragment.html);
//! }
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

mod actions;
mod api_fields;
mod bindings;
mod bot;
mod call;
mod delivery;
mod error;
mod host;
mod items;
mod limits;
mod manifest;
mod markup;
mod memo;
mod outbound;
mod plugin_html;
mod runner;
mod runtime;
mod sdk_section;
mod status;
mod sync;
mod worker;
mod worlds;

pub use actions::{ActionInput, ActionReply, MAX_ACTION_FIELD, MAX_ACTION_FIELDS, is_site_path};
pub use api_fields::FieldViewer;
pub use bot::MAX_REPLIES_PER_CALL;
pub use call::{LogLine, Usage};
pub use delivery::{DeliveryReport, ParkedEvent};
pub use error::{Error, Result};
pub use host::{Fragment, HookRun, PageContext, PluginHost, RouteResponse, Slot};
pub use items::{ItemFragment, MAX_ITEMS};
pub use limits::{HostConfig, LimitOverrides, Limits};
pub use manifest::{
    API_VERSION, ActionSpec, ApiField, BadgeSpec, Capability, FailMode, FieldOn, FieldVisibility,
    Hook, HttpSpec, ItemSlot, MAX_ACTIONS, MAX_API_FIELDS, MAX_HTTP_HOSTS, MAX_MARKUP_FENCES,
    MAX_NOTICE_KINDS, Manifest, NavSpec, NoticeKindSpec, SUPPORTED_API, SettingSpec, SettingType,
    api_supported,
};
pub use markup::MarkupJob;
pub use outbound::{HttpExchange, MAX_HTTP_HEADERS, RecordedExchange};
pub use plugin_html::ActionForms;
pub use sdk_section::SDK_SECTION;
pub use status::{Counters, PluginStatus};
pub use sync::REFRESH_EVERY;
pub use worker::{WORKER_LEASE, Worker};
pub use worlds::API_VERSIONS;

/// The current WIT interface (`hearth:plugin@0.2.0`), as the SDK builds
/// against it.
pub const WIT: &str = include_str!("../wit/0.2.0/plugin.wit");

/// The frozen 0.1 interface, still run side by side with 0.2.
pub const WIT_0_1: &str = include_str!("../wit/0.1.0/plugin.wit");

#[cfg(test)]
mod tests {
    #[test]
    fn the_sdk_ships_the_same_interface() {
        assert_eq!(
            super::WIT,
            include_str!("../../hearth-plugin/wit/plugin.wit"),
            "crates/hearth-plugin/wit/plugin.wit must be a copy of crates/hearth-wasm/wit/0.2.0/plugin.wit"
        );
    }
}
