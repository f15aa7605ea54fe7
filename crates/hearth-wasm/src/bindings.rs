//! Rust types for the `hearth:plugin` world, generated from `wit/` by
//! wasmtime's `bindgen!`.

#![allow(missing_docs, missing_debug_implementations)]

wasmtime::component::bindgen!({
    path: "wit",
    world: "plugin",
    imports: { default: trappable },
});

pub use self::hearth::plugin::types::{
    DraftKind, HostError, Level, MemberInfo, Period, PostInfo, Slot, TopicInfo,
};
