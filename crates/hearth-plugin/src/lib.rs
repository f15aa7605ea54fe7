//! Write Hearth plugins in Rust.
//!
//! A plugin implements [`Plugin`] — every hook has a default, so override
//! only what you need — and registers it with [`register_plugin!`]. Build
//! it for `wasm32-unknown-unknown` (`cargo xtask plugins` does that and
//! turns the module into a component), and ship the `.wasm` with a
//! `plugin.toml` that lists the hooks and capabilities it uses.
//!
//! Hooks get a [`Host`]: on WebAssembly the real forum; in tests a
//! [`testing::FakeHost`], so plugin logic is tested with plain `cargo test`.
//!
//! ```
//! use hearth_plugin::{Host, HostExt, Plugin, RenderContext, Slot};
//!
//! pub struct Hello;
//!
//! impl Plugin for Hello {
//!     fn render(host: &dyn Host, ctx: RenderContext) -> Result<Option<String>, String> {
//!         if ctx.slot != Slot::PageFooter {
//!             return Ok(None);
//!         }
//!         let greeting: String = host.setting_as("greeting").unwrap_or_else(|| "Hello!".into());
//!         Ok(Some(format!("<p>{}</p>", hearth_plugin::escape(&greeting))))
//!     }
//! }
//!
//! hearth_plugin::register_plugin!(Hello);
//!
//! // Natively, test the logic against a fake host:
//! let host = hearth_plugin::testing::FakeHost::default().with_setting("greeting", "Hi <you>");
//! let ctx = RenderContext { community: 1, slot: Slot::PageFooter, path: "/".into(),
//!                           viewer: None, topic: None, member: None };
//! assert_eq!(Hello::render(&host, ctx).unwrap().unwrap(), "<p>Hi &lt;you&gt;</p>");
//! ```
//!
//! Plugin API 0.2 adds [`Plugin::action`] (what members do, posted from
//! `<hearth-action>` buttons in your HTML; test it with
//! [`testing::FakeHost::take_action`]) and [`Plugin::render_items`] (one
//! call per page for every post or topic-list row of a slot), and
//! [`Host::kv_get_many`] to read a page's data at once, and
//! [`Plugin::render_markup`] (Markdown extensions: fenced blocks such as
//! ```` ```poll ```` rendered by the plugin when a post is written).
//!
//! Each call runs in a fresh instance: keep state in the key-value store
//! ([`Host::kv_set`]), whose writes become durable only when the hook
//! returns `Ok`. A panic is logged through the host before the plugin
//! traps, so the operator sees its message.
//!
//! On WebAssembly the default feature `arena` installs the plugin's
//! allocator: the memory the instance starts with first, then Rust's
//! standard allocator. Link with `-C link-arg=--initial-memory=2097152` so
//! a call rarely grows its memory (see `docs/plugins.md`, "Build"); turn
//! the feature off for a `#[global_allocator]` of your own.

#![deny(missing_docs)]

extern crate self as hearth_plugin;

#[cfg_attr(not(all(target_arch = "wasm32", feature = "arena")), allow(dead_code))]
mod arena;
mod host;
pub mod testing;
mod types;
#[cfg(target_arch = "wasm32")]
mod wasm;

pub use host::{Host, HostExt};
pub use types::{
    ActionOutcome, ActionRequest, DraftKind, Event, HostError, HttpRequest, HttpResponse,
    ItemFragment, ItemSlot, ItemsContext, Level, MarkupBlock, MarkupOutput, MemberInfo, Notice,
    Period, PostDraft, PostInfo, RenderContext, Request, Response, Slot, TopicInfo, Verdict,
};

/// This SDK's version; `register_plugin!` embeds it in the component.
pub const SDK_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The plugin API version (WIT package) this SDK builds against.
pub const API_VERSION: &str = "0.2.0";

/// A plugin's hooks. Each has a default that does nothing, so a plugin
/// overrides only the hooks its `plugin.toml` lists.
pub trait Plugin {
    /// Before a post is created or edited: allow, rewrite, queue or reject.
    fn filter_post(host: &dyn Host, draft: PostDraft) -> Result<Verdict, String> {
        let _ = (host, draft);
        Ok(Verdict::Allow)
    }

    /// Events of one community, in log order. Returning `Err` hands the
    /// same events again later (and discards this call's store writes).
    fn on_event(host: &dyn Host, events: Vec<Event>) -> Result<(), String> {
        let _ = (host, events);
        Ok(())
    }

    /// An HTML fragment for a page slot, or `None`.
    fn render(host: &dyn Host, ctx: RenderContext) -> Result<Option<String>, String> {
        let _ = (host, ctx);
        Ok(None)
    }

    /// A page or JSON under `/plugins/<name>/`; `None` is a 404.
    fn route(host: &dyn Host, req: Request) -> Result<Option<Response>, String> {
        let _ = (host, req);
        Ok(None)
    }

    /// Periodic work for one community.
    fn on_schedule(host: &dyn Host, community: i64, now: i64) -> Result<(), String> {
        let _ = (host, community, now);
        Ok(())
    }

    /// A member's action (declared under `[[actions]]` in `plugin.toml`).
    /// Store writes are saved only when it returns
    /// [`ActionOutcome::Done`]; badges and points are refused here (grant
    /// them from `on_event` or `on_schedule`).
    fn action(host: &dyn Host, req: ActionRequest) -> Result<ActionOutcome, String> {
        let _ = host;
        Ok(ActionOutcome::Refused(format!(
            "this plugin has no action {:?}",
            req.name
        )))
    }

    /// Fragments for many items of a per-item slot at once (the slots
    /// listed under `item-slots` in `plugin.toml`). Read-only, like
    /// `render`. Put action buttons in as
    /// `<hearth-action name="vote" post="12" value="1">Vote</hearth-action>`.
    fn render_items(host: &dyn Host, ctx: ItemsContext) -> Result<Vec<ItemFragment>, String> {
        let _ = (host, ctx);
        Ok(Vec::new())
    }

    /// Renders all of one post's fenced blocks this plugin owns (listed
    /// under `markup` in `plugin.toml`), in order: one answer per block,
    /// `None` to show a block as its source. The HTML is stored with the
    /// post, so it must depend on the blocks alone (and the plugin's
    /// version: a new version renders the posts again). The host answers
    /// only `log` here.
    fn render_markup(
        host: &dyn Host,
        blocks: Vec<MarkupBlock>,
    ) -> Result<Vec<Option<MarkupOutput>>, String> {
        let _ = host;
        Ok(vec![None; blocks.len()])
    }
}

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s);
    out
}

/// Appends `s` escaped for HTML to `out`: [`escape`] without a `String`
/// of its own, for building a page's worth of HTML with `push_str` (in a
/// plugin, `format!` is among the largest costs of a render).
pub fn escape_into(out: &mut String, s: &str) {
    // Runs without a special character are copied whole; the five are
    // ASCII, so every cut falls between characters.
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        let entity = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'"' => "&quot;",
            b'\'' => "&#39;",
            _ => continue,
        };
        out.push_str(&s[from..i]);
        out.push_str(entity);
        from = i + 1;
    }
    out.push_str(&s[from..]);
}

/// Exports a [`Plugin`] as the component's hooks and embeds the SDK
/// version. Use it once, at the crate root. On targets other than
/// WebAssembly it expands to nothing, so the crate still builds and tests
/// natively.
#[macro_export]
macro_rules! register_plugin {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            struct HearthGuest;

            impl $crate::__private::bindings::Guest for HearthGuest {
                fn filter_post(
                    d: $crate::__private::wit::PostDraft,
                ) -> ::core::result::Result<$crate::__private::wit::Verdict, ::std::string::String> {
                    $crate::__private::filter_post::<$plugin>(d)
                }
                fn on_event(
                    e: ::std::vec::Vec<$crate::__private::wit::Event>,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::on_event::<$plugin>(e)
                }
                fn render(
                    c: $crate::__private::wit::RenderContext,
                ) -> ::core::result::Result<::core::option::Option<::std::string::String>, ::std::string::String> {
                    $crate::__private::render::<$plugin>(c)
                }
                fn route(
                    r: $crate::__private::wit::Request,
                ) -> ::core::result::Result<::core::option::Option<$crate::__private::wit::Response>, ::std::string::String> {
                    $crate::__private::route::<$plugin>(r)
                }
                fn on_schedule(c: i64, n: i64) -> ::core::result::Result<(), ::std::string::String> {
                    $crate::__private::on_schedule::<$plugin>(c, n)
                }
                fn action(
                    r: $crate::__private::wit_actions::ActionRequest,
                ) -> ::core::result::Result<$crate::__private::wit_actions::ActionOutcome, ::std::string::String> {
                    $crate::__private::action::<$plugin>(r)
                }
                fn render_items(
                    c: $crate::__private::wit_ui::ItemsContext,
                ) -> ::core::result::Result<::std::vec::Vec<$crate::__private::wit_ui::ItemFragment>, ::std::string::String> {
                    $crate::__private::render_items::<$plugin>(c)
                }
                fn render_markup(
                    b: ::std::vec::Vec<$crate::__private::wit_markup::MarkupBlock>,
                ) -> ::core::result::Result<
                    ::std::vec::Vec<::core::option::Option<$crate::__private::wit_markup::MarkupOutput>>,
                    ::std::string::String,
                > {
                    $crate::__private::render_markup::<$plugin>(b)
                }
            }

            $crate::__private::__hearth_export!(HearthGuest with_types_in $crate::__private::bindings);

            #[unsafe(link_section = "hearth-plugin-sdk")]
            #[used]
            static HEARTH_SDK_VERSION: [u8; $crate::__private::SDK_VERSION_LEN] =
                $crate::__private::SDK_VERSION_BYTES;
        };
    };
}

#[doc(hidden)]
pub mod __private {
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::__hearth_export;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::hearth::plugin::actions as wit_actions;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::hearth::plugin::markup as wit_markup;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::hearth::plugin::types as wit;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::hearth::plugin::ui as wit_ui;
    #[cfg(target_arch = "wasm32")]
    pub use crate::wasm::{
        action, filter_post, on_event, on_schedule, render, render_items, render_markup, route,
    };
    #[cfg(target_arch = "wasm32")]
    pub use wit_bindgen;
    #[cfg(target_arch = "wasm32")]
    pub mod bindings {
        pub use crate::wasm::*;
    }

    pub const SDK_VERSION_LEN: usize = crate::SDK_VERSION.len();
    pub const SDK_VERSION_BYTES: [u8; SDK_VERSION_LEN] = {
        let src = crate::SDK_VERSION.as_bytes();
        let mut out = [0u8; SDK_VERSION_LEN];
        let mut i = 0;
        while i < SDK_VERSION_LEN {
            out[i] = src[i];
            i += 1;
        }
        out
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        // Text around and between the five, multi-byte characters kept.
        assert_eq!(escape("é < ü > ½"), "é &lt; ü &gt; ½");
        assert_eq!(escape("plain 👍"), "plain 👍");
        assert_eq!(escape(""), "");
        assert_eq!(escape("&&"), "&amp;&amp;");
        let mut out = String::from("<p>");
        escape_into(&mut out, "a<b");
        escape_into(&mut out, "");
        assert_eq!(out, "<p>a&lt;b");
    }

    #[test]
    fn the_sdk_ships_the_hosts_interface() {
        let sdk = include_str!("../wit/plugin.wit");
        assert!(sdk.contains(&format!("package hearth:plugin@{API_VERSION};")));
    }
}
