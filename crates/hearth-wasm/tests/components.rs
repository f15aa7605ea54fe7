//! Components made by hand (WAT + wit-component, against the frozen 0.1
//! interface) that an SDK would never
//! produce: a wrong API version and a malformed result. And the compiled-
//! artifact cache.
#![allow(clippy::unwrap_used)]

mod common;

use common::World;
use hearth::{Actor, NewTopic};
use hearth_wasm::{Capability, Error, HostConfig, PluginHost, WIT_0_1 as WIT};

/// A core module exporting every hook of the `plugin` world. `filter-post`
/// answers with the bytes at address 16: a result whose verdict has the
/// discriminant 9 (there are four).
const GARBAGE: &str = r#"
(module
  __IMPORT__
  (memory (export "memory") 1)
  (global $bump (mut i32) (i32.const 4096))
  (data (i32.const 16) "\00\00\00\00\09")
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (local $p i32)
    global.get $bump
    local.set $p
    global.get $bump
    local.get 3
    i32.add
    i32.const 7
    i32.add
    i32.const -8
    i32.and
    global.set $bump
    local.get $p)
  (func (export "filter-post")
    (param i32 i64 i64 i32 i64 i32 i64 i64 i32 i32 i32 i32 i32) (result i32)
    i32.const 16)
  (func (export "on-event") (param i32 i32) (result i32) i32.const 64)
  (func (export "render")
    (param i64 i32 i32 i32 i32 i64 i32 i64 i32 i64) (result i32)
    i32.const 64)
  (func (export "route") (param i64 i32 i32 i32 i32 i32 i64) (result i32) i32.const 64)
  (func (export "on-schedule") (param i64 i64) (result i32) i32.const 64)
)
"#;

fn component(wit: &str, import: &str) -> Vec<u8> {
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("plugin.wit", wit).unwrap();
    let world = resolve.select_world(&[pkg], Some("plugin")).unwrap();
    let mut module = wat::parse_str(GARBAGE.replace("__IMPORT__", import)).unwrap();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

fn manifest(name: &str, hooks: &str) -> String {
    format!(
        "name = \"{name}\"\nversion = \"1.0.0\"\napi-version = \"0.1.0\"\nhooks = [{hooks}]\ncapabilities = [\"now\"]\n"
    )
}

#[test]
fn a_plugin_for_another_api_version_is_refused_naming_both() {
    let w = World::new();
    let wit = WIT.replace(
        "package hearth:plugin@0.1.0;",
        "package hearth:plugin@0.9.0;",
    );
    let wasm = component(
        &wit,
        r#"(import "hearth:plugin/host@0.9.0" "now" (func (result i64)))"#,
    );
    // The manifest claims 0.1.0; the component's imports tell the truth.
    let err = w
        .host
        .install(&manifest("future", "\"render\""), &wasm)
        .unwrap_err();
    match &err {
        Error::UnsupportedApi {
            plugin,
            found,
            supported,
        } => {
            assert_eq!(
                (plugin.as_str(), found.as_str(), supported.as_str()),
                ("future", "0.9.0", hearth_wasm::SUPPORTED_API)
            );
        }
        other => panic!("expected UnsupportedApi, got {other}"),
    }
    assert!(err.to_string().contains("0.9.0") && err.to_string().contains("0.1.x or 0.2.x"));
    assert!(w.host.plugins().is_empty());
    // The same component built against 0.1.0 installs, but not as 0.2.
    let ok = component(
        WIT,
        r#"(import "hearth:plugin/host@0.1.0" "now" (func (result i64)))"#,
    );
    let claims_v2 = manifest("current", "\"render\"").replace("0.1.0", "0.2.0");
    let err = w.host.install(&claims_v2, &ok).unwrap_err().to_string();
    assert!(
        err.contains("built for plugin API 0.1.0") && err.contains("make them agree"),
        "{err}"
    );
    w.host
        .install(&manifest("current", "\"render\""), &ok)
        .unwrap();
}

#[test]
fn a_malformed_filter_result_fails_closed_and_loses_no_post() {
    let w = World::new();
    let wasm = component(WIT, "");
    w.host
        .install(&manifest("garbage", "\"filter-post\""), &wasm)
        .unwrap();
    w.host
        .enable(&Actor::System, w.community, "garbage", &[Capability::Now])
        .unwrap();
    let err = w
        .forum
        .create_topic(
            &Actor::User(w.alice),
            w.community,
            NewTopic {
                category: w.talk,
                title: "Held, not lost".into(),
                body: "My words stay safe.".into(),
                tags: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, hearth::Error::PendingReview { .. }), "{err}");
    let status = w.host.status("garbage").unwrap();
    let last = status.counters.last_error.unwrap();
    assert!(
        last.contains("plugin garbage") && last.contains("malformed result"),
        "{last}"
    );
}

fn cached_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    v.sort();
    v
}

#[test]
fn compiled_plugins_are_cached_and_foreign_artifacts_recompiled() {
    let cache = tempfile::tempdir().unwrap();
    let config = HostConfig {
        cache_dir: Some(cache.path().to_path_buf()),
        ..HostConfig::default()
    };
    let w = World::with_config(config.clone());
    let first = w.install("escape-hatch");
    assert!(first.compiled);
    assert_eq!(cached_files(cache.path()).len(), 1);

    // A restart loads the artifact instead of compiling.
    let again = PluginHost::new(w.forum.clone(), config.clone()).unwrap();
    let status = again.status("escape-hatch").unwrap();
    assert!(!status.compiled, "loaded from the cache");

    // An artifact whose bytes changed (not the ones this host wrote) is
    // recompiled, never loaded.
    let file = cached_files(cache.path()).remove(0);
    let mut bytes = std::fs::read(&file).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&file, &bytes).unwrap();
    let third = PluginHost::new(w.forum.clone(), config.clone()).unwrap();
    assert!(third.status("escape-hatch").unwrap().compiled);

    // A different engine configuration has a different compatibility hash:
    // its artifact is compiled and cached beside the other.
    let metered = HostConfig {
        fuel: true,
        ..config
    };
    let fourth = PluginHost::new(w.forum.clone(), metered).unwrap();
    assert!(fourth.status("escape-hatch").unwrap().compiled);
    assert_eq!(cached_files(cache.path()).len(), 2);
}
