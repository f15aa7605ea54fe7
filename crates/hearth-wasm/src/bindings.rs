//! Rust types for the `hearth:plugin` worlds, generated from `wit/` by
//! wasmtime's `bindgen!`: one module per API version, side by side.
//!
//! 0.2 kept 0.1's `types` interface unchanged, so 0.1's bindings reuse
//! 0.2's types (`with`): a hook's arguments and results are built once and
//! passed to a plugin of either version.

#![allow(missing_docs, missing_debug_implementations)]

/// `hearth:plugin@0.2.0`, the current version. Its types can be hashed:
/// a remembered render is reused only while every read it made answers
/// the same (`memo`).
pub mod v0_2 {
    wasmtime::component::bindgen!({
        path: "wit/0.2.0",
        world: "plugin",
        imports: { default: trappable },
        additional_derives: [Hash],
    });
}

/// `hearth:plugin@0.1.0`, frozen.
pub mod v0_1 {
    wasmtime::component::bindgen!({
        path: "wit/0.1.0",
        world: "plugin",
        imports: { default: trappable },
        with: {
            "hearth:plugin/types@0.1.0": crate::bindings::v0_2::hearth::plugin::types,
        },
    });
}

pub use self::v0_2::hearth::plugin::actions::{ActionDone, ActionOutcome, ActionRequest};
pub use self::v0_2::hearth::plugin::markup::{MarkupBlock, MarkupOutput};
pub use self::v0_2::hearth::plugin::types::{
    DraftKind, Event, HostError, Level, MemberInfo, Period, PostDraft, PostInfo, RenderContext,
    Request, Response, Slot, TopicInfo, Verdict,
};
pub use self::v0_2::hearth::plugin::ui::{ItemFragment, ItemSlot, ItemsContext};
