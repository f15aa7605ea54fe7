//! The plugin API versions side by side: a compiled plugin of either world
//! behind one type, and 0.1's host imports answered by 0.2's.
//!
//! | hook            | 0.1 | 0.2 |
//! |-----------------|-----|-----|
//! | `filter-post`   | yes | yes |
//! | `on-event`      | yes | yes |
//! | `render`        | yes | yes |
//! | `route`         | yes | yes |
//! | `on-schedule`   | yes | yes |
//! | `action`        | —   | yes |
//! | `render-items`  | —   | yes |
//! | `render-markup` | —   | yes |
//!
//! The `types` and `host` interfaces are the same in both versions, so a
//! hook's arguments are built once (as 0.2 types) and the host functions
//! are written once (for 0.2); 0.1's imports delegate to them.

use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, InstancePre, Linker};

use crate::bindings::{
    self, ActionOutcome, ActionRequest, HostError, ItemFragment, ItemsContext, Level, MarkupBlock,
    MarkupOutput, MemberInfo, Period, PostInfo, TopicInfo, v0_1, v0_2,
};
use crate::call::CallState;
use crate::error::{Error, Result};
use crate::manifest::Hook;

/// The API versions this host runs, oldest first.
pub const API_VERSIONS: &[&str] = &["0.1.0", "0.2.0"];

/// A plugin ready to instantiate, for the world it was built against.
pub(crate) enum Pre {
    V0_1(v0_1::PluginPre<CallState>),
    V0_2(v0_2::PluginPre<CallState>),
}

/// One instance of a plugin.
pub(crate) enum Instance {
    V0_1(v0_1::Plugin),
    V0_2(v0_2::Plugin),
}

/// A call result as the exports return it: a trap, or the hook's own
/// `Result`.
type Call<T> = wasmtime::Result<std::result::Result<T, String>>;

impl Pre {
    /// Links `component` for the world of `api` (the minor version the
    /// component imports: `0.1` or `0.2`).
    pub fn new(
        linker: &Linker<CallState>,
        component: &Component,
        minor: u32,
    ) -> wasmtime::Result<Pre> {
        let pre: InstancePre<CallState> = linker.instantiate_pre(component)?;
        Ok(match minor {
            1 => Pre::V0_1(v0_1::PluginPre::new(pre)?),
            _ => Pre::V0_2(v0_2::PluginPre::new(pre)?),
        })
    }

    /// A fresh instance.
    pub fn instantiate(&self, store: &mut Store<CallState>) -> wasmtime::Result<Instance> {
        Ok(match self {
            Pre::V0_1(p) => Instance::V0_1(p.instantiate(store)?),
            Pre::V0_2(p) => Instance::V0_2(p.instantiate(store)?),
        })
    }
}

/// Whether a plugin built for API `minor` can implement `hook`.
pub(crate) fn has_export(minor: u32, hook: Hook) -> bool {
    minor >= 2 || !matches!(hook, Hook::Action | Hook::RenderItems | Hook::RenderMarkup)
}

/// Calls the same export on either world's instance.
macro_rules! both {
    ($self:ident, $p:ident => $call:expr) => {
        match $self {
            Instance::V0_1($p) => $call,
            Instance::V0_2($p) => $call,
        }
    };
}

impl Instance {
    pub fn filter_post(
        &self,
        store: &mut Store<CallState>,
        draft: &bindings::PostDraft,
    ) -> Call<bindings::Verdict> {
        both!(self, p => p.call_filter_post(store, draft))
    }

    pub fn on_event(&self, store: &mut Store<CallState>, events: &[bindings::Event]) -> Call<()> {
        both!(self, p => p.call_on_event(store, events))
    }

    pub fn render(
        &self,
        store: &mut Store<CallState>,
        ctx: &bindings::RenderContext,
    ) -> Call<Option<String>> {
        both!(self, p => p.call_render(store, ctx))
    }

    pub fn route(
        &self,
        store: &mut Store<CallState>,
        req: &bindings::Request,
    ) -> Call<Option<bindings::Response>> {
        both!(self, p => p.call_route(store, req))
    }

    pub fn on_schedule(&self, store: &mut Store<CallState>, community: i64, now: i64) -> Call<()> {
        both!(self, p => p.call_on_schedule(store, community, now))
    }

    pub fn action(&self, store: &mut Store<CallState>, req: &ActionRequest) -> Call<ActionOutcome> {
        match self {
            Instance::V0_1(_) => Ok(Err(missing(Hook::Action))),
            Instance::V0_2(p) => p.call_action(store, req),
        }
    }

    pub fn render_items(
        &self,
        store: &mut Store<CallState>,
        ctx: &ItemsContext,
    ) -> Call<Vec<ItemFragment>> {
        match self {
            Instance::V0_1(_) => Ok(Err(missing(Hook::RenderItems))),
            Instance::V0_2(p) => p.call_render_items(store, ctx),
        }
    }
}

impl Instance {
    pub fn render_markup(
        &self,
        store: &mut Store<CallState>,
        blocks: &[MarkupBlock],
    ) -> Call<Vec<Option<MarkupOutput>>> {
        match self {
            Instance::V0_1(_) => Ok(Err(missing(Hook::RenderMarkup))),
            Instance::V0_2(p) => p.call_render_markup(store, blocks),
        }
    }
}

fn missing(hook: Hook) -> String {
    format!("the `{hook}` hook needs plugin API 0.2; this plugin was built for 0.1")
}

/// Adds both worlds' host functions to a linker.
pub(crate) fn add_to_linker(linker: &mut Linker<CallState>) -> Result<()> {
    let fail = |e: wasmtime::Error| Error::Runtime(format!("{e:#}"));
    v0_2::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s).map_err(fail)?;
    v0_1::Plugin::add_to_linker::<CallState, HasSelf<CallState>>(linker, |s| s).map_err(fail)
}

impl v0_2::hearth::plugin::actions::Host for CallState {}

impl v0_2::hearth::plugin::data::Host for CallState {
    fn kv_get_many(
        &mut self,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<Option<Vec<u8>>>, HostError>> {
        self.kv_get_many(keys)
    }

    fn latest_topics(
        &mut self,
        category: Option<i64>,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<v0_2::hearth::plugin::data::TopicPage, HostError>> {
        self.latest_topics(category, after, limit)
    }

    fn topic_posts(
        &mut self,
        topic: i64,
        after: Option<String>,
        limit: u32,
    ) -> wasmtime::Result<Result<v0_2::hearth::plugin::data::PostPage, HostError>> {
        self.topic_posts(topic, after, limit)
    }

    fn posts_by_ids(
        &mut self,
        ids: Vec<i64>,
    ) -> wasmtime::Result<Result<Vec<Option<PostInfo>>, HostError>> {
        self.posts_by_ids(ids)
    }

    fn members_by_ids(
        &mut self,
        ids: Vec<i64>,
    ) -> wasmtime::Result<Result<Vec<Option<MemberInfo>>, HostError>> {
        self.members_by_ids(ids)
    }
}
impl v0_2::hearth::plugin::ui::Host for CallState {}
impl v0_2::hearth::plugin::markup::Host for CallState {}

impl v0_2::hearth::plugin::moderation::Host for CallState {
    fn hold_post(&mut self, post: i64, reason: String) -> wasmtime::Result<Result<i64, HostError>> {
        self.unremembered();
        self.hold_post(post, reason)
    }
    fn hide_post(&mut self, post: i64, reason: String) -> wasmtime::Result<Result<i64, HostError>> {
        self.unremembered();
        self.hide_post(post, reason)
    }
    fn flag_post(&mut self, post: i64, reason: String) -> wasmtime::Result<Result<i64, HostError>> {
        self.unremembered();
        self.flag_post(post, reason)
    }
    fn close_topic(
        &mut self,
        topic: i64,
        reason: String,
    ) -> wasmtime::Result<Result<(), HostError>> {
        self.unremembered();
        self.close_topic(topic, reason)
    }
    fn reply(
        &mut self,
        topic: i64,
        body: String,
        reply_to: Option<i64>,
    ) -> wasmtime::Result<Result<(), HostError>> {
        self.unremembered();
        self.bot_reply(topic, body, reply_to)
    }
}

impl v0_2::hearth::plugin::http::Host for CallState {
    fn fetch(
        &mut self,
        req: v0_2::hearth::plugin::http::HttpRequest,
    ) -> wasmtime::Result<Result<v0_2::hearth::plugin::http::HttpResponse, HostError>> {
        self.unremembered();
        let req = crate::outbound::Request {
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: req.body,
        };
        Ok(self
            .http_fetch(req)?
            .map(|r| v0_2::hearth::plugin::http::HttpResponse {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }))
    }
}

impl v0_2::hearth::plugin::notify::Host for CallState {
    fn notify(
        &mut self,
        n: v0_2::hearth::plugin::notify::Notice,
    ) -> wasmtime::Result<Result<(), HostError>> {
        self.unremembered();
        self.notify(n.member, n.kind, n.topic, n.post, n.text, n.dedupe_key)
    }
}

/// 0.1's host functions are 0.2's (the interface did not change).
impl v0_1::hearth::plugin::host::Host for CallState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        v0_2::hearth::plugin::host::Host::log(self, level, message)
    }
    fn setting(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        v0_2::hearth::plugin::host::Host::setting(self, key)
    }
    fn now(&mut self) -> wasmtime::Result<i64> {
        v0_2::hearth::plugin::host::Host::now(self)
    }
    fn kv_get(&mut self, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, HostError>> {
        v0_2::hearth::plugin::host::Host::kv_get(self, key)
    }
    fn kv_set(&mut self, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), HostError>> {
        v0_2::hearth::plugin::host::Host::kv_set(self, key, value)
    }
    fn kv_delete(&mut self, key: String) -> wasmtime::Result<Result<(), HostError>> {
        v0_2::hearth::plugin::host::Host::kv_delete(self, key)
    }
    fn kv_list(
        &mut self,
        prefix: String,
        after: String,
        limit: u32,
    ) -> wasmtime::Result<Result<Vec<(String, Vec<u8>)>, HostError>> {
        v0_2::hearth::plugin::host::Host::kv_list(self, prefix, after, limit)
    }
    fn member(&mut self, id: i64) -> wasmtime::Result<Result<Option<MemberInfo>, HostError>> {
        v0_2::hearth::plugin::host::Host::member(self, id)
    }
    fn topic(&mut self, id: i64) -> wasmtime::Result<Result<Option<TopicInfo>, HostError>> {
        v0_2::hearth::plugin::host::Host::topic(self, id)
    }
    fn post(&mut self, id: i64) -> wasmtime::Result<Result<Option<PostInfo>, HostError>> {
        v0_2::hearth::plugin::host::Host::post(self, id)
    }
    fn points(&mut self, member: i64, period: Period) -> wasmtime::Result<Result<i64, HostError>> {
        v0_2::hearth::plugin::host::Host::points(self, member, period)
    }
    fn member_badges(&mut self, member: i64) -> wasmtime::Result<Result<Vec<String>, HostError>> {
        v0_2::hearth::plugin::host::Host::member_badges(self, member)
    }
    fn grant_badge(
        &mut self,
        member: i64,
        badge: String,
        post: Option<i64>,
        reason: String,
    ) -> wasmtime::Result<Result<bool, HostError>> {
        v0_2::hearth::plugin::host::Host::grant_badge(self, member, badge, post, reason)
    }
    fn revoke_badge(
        &mut self,
        member: i64,
        badge: String,
        post: Option<i64>,
    ) -> wasmtime::Result<Result<bool, HostError>> {
        v0_2::hearth::plugin::host::Host::revoke_badge(self, member, badge, post)
    }
    fn award_points(
        &mut self,
        member: i64,
        points: i64,
        key: String,
    ) -> wasmtime::Result<Result<bool, HostError>> {
        v0_2::hearth::plugin::host::Host::award_points(self, member, points, key)
    }
}
