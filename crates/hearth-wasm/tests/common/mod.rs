//! Shared fixtures: a forum on a temporary SQLite file with a manual clock,
//! a plugin host on it, a small community, and the built plugins.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;
use std::sync::Arc;

use hearth::{
    Actor, CategoryId, CategoryKind, CommunityId, CommunitySettings, Config, Forum, ManualClock,
    NewCategory, NewCommunity, NewUser, Role, UserId,
};
use hearth_wasm::{HostConfig, PluginHost};
use tempfile::TempDir;
use time::macros::datetime;

#[path = "../../../hearth/tests/common/backend.rs"]
mod backend;
pub use backend::*;

/// Where `cargo xtask plugins` puts a plugin (`fixture`: test fixtures).
///
/// With `HEARTH_PLUGIN_API=0.1` the plugins come from
/// `tests/fixtures/api-0.1/` instead: the first-party plugins and the
/// hostile fixture as built for plugin API 0.1, kept unmodified so that
/// the same tests prove 0.1 plugins still run (`cargo xtask test` runs
/// the plugin suites both ways).
pub fn plugin_dir(name: &str, fixture: bool) -> PathBuf {
    if std::env::var("HEARTH_PLUGIN_API").as_deref() == Ok("0.1") {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/api-0.1")
            .join(name);
        assert!(
            dir.join(format!("{name}.wasm")).is_file(),
            "{} is missing",
            dir.display()
        );
        return dir;
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let dir = root
        .join(if fixture { "plugins-test" } else { "plugins" })
        .join(name);
    assert!(
        dir.join(format!("{name}.wasm")).is_file(),
        "{} is missing: run `cargo xtask plugins` first (cargo xtask test does)",
        dir.display()
    );
    dir
}

/// The plugin API version the plugins of [`plugin_dir`] were built for.
#[allow(dead_code)]
pub fn api_version() -> &'static str {
    if std::env::var("HEARTH_PLUGIN_API").as_deref() == Ok("0.1") {
        "0.1.0"
    } else {
        "0.2.0"
    }
}

pub fn plugin_files(name: &str, fixture: bool) -> (String, Vec<u8>) {
    let dir = plugin_dir(name, fixture);
    (
        std::fs::read_to_string(dir.join("plugin.toml")).unwrap(),
        std::fs::read(dir.join(format!("{name}.wasm"))).unwrap(),
    )
}

pub struct World {
    pub dir: TempDir,
    /// What `Forum::open` was given (a SQLite file or a `postgres://` URL).
    pub location: String,
    pub clock: Arc<ManualClock>,
    pub forum: Arc<Forum>,
    pub host: PluginHost,
    pub community: CommunityId,
    pub owner: UserId,
    pub alice: UserId,
    pub bob: UserId,
    pub moderator: UserId,
    pub qa: CategoryId,
    pub kb: CategoryId,
    pub talk: CategoryId,
}

pub fn open_forum(location: &str, clock: &Arc<ManualClock>) -> Arc<Forum> {
    Arc::new(
        Forum::open_with(
            location,
            Config {
                clock: clock.clone(),
                ..Config::default()
            },
        )
        .unwrap(),
    )
}

impl World {
    pub fn new() -> World {
        World::with_config(HostConfig::default())
    }

    pub fn with_config(config: HostConfig) -> World {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(datetime!(2026-11-23 09:00 UTC)));
        let location = test_database(dir.path(), "forum");
        let forum = open_forum(&location, &clock);
        let host = PluginHost::new(forum.clone(), config).unwrap();
        let owner = forum.create_user(NewUser::new("olivia")).unwrap().id;
        let community = forum
            .create_community(
                &Actor::System,
                NewCommunity {
                    slug: "acme".into(),
                    name: "Acme".into(),
                    owner: Some(owner),
                    settings: CommunitySettings::for_bulk_writes(),
                },
            )
            .unwrap()
            .id;
        let sys = Actor::System;
        let cat = |slug: &str, kind| {
            forum
                .create_category(&sys, community, NewCategory::new(slug, slug, kind))
                .unwrap()
                .id
        };
        let qa = cat("questions", CategoryKind::QuestionAndAnswer);
        let kb = cat("guides", CategoryKind::KnowledgeBase);
        let talk = cat("talk", CategoryKind::Discussion);
        let member = |name: &str| {
            let id = forum.create_user(NewUser::new(name)).unwrap().id;
            forum.join(&Actor::User(id), community).unwrap();
            id
        };
        let alice = member("alice");
        let bob = member("bob");
        let moderator = member("maria");
        forum
            .set_role(&sys, community, moderator, Role::Moderator)
            .unwrap();
        World {
            dir,
            location,
            clock,
            forum,
            host,
            community,
            owner,
            alice,
            bob,
            moderator,
            qa,
            kb,
            talk,
        }
    }

    /// A topic by alice in `talk`: the topic and its first post.
    #[allow(dead_code)]
    pub fn alice_topic(&self, title: &str, body: &str) -> (hearth::Topic, hearth::Post) {
        self.forum
            .create_topic(
                &Actor::User(self.alice),
                self.community,
                hearth::NewTopic {
                    category: self.talk,
                    title: title.into(),
                    body: body.into(),
                    tags: vec![],
                },
            )
            .unwrap()
    }

    pub fn install(&self, name: &str) -> hearth_wasm::PluginStatus {
        self.host.install_dir(plugin_dir(name, false)).unwrap()
    }

    pub fn install_fixture(&self, name: &str) -> hearth_wasm::PluginStatus {
        self.host.install_dir(plugin_dir(name, true)).unwrap()
    }

    /// Installs the `hostile` fixture and enables it with log, settings
    /// and key-value access.
    pub fn enable_hostile(&self) {
        self.install_fixture("hostile");
        self.grant_hostile(&[]);
    }

    /// Sets the `hostile` fixture's `mode` setting (what it does wrong).
    #[allow(dead_code)]
    pub fn hostile_mode(&self, mode: &str) {
        self.host
            .configure(
                &Actor::System,
                self.community,
                "hostile",
                std::collections::BTreeMap::from([("mode".to_string(), serde_json::json!(mode))]),
            )
            .unwrap();
    }

    /// Installs `escape-hatch` and enables it with settings, reads and the
    /// clock (its settings are each test's own).
    #[allow(dead_code)]
    pub fn enable_escape_hatch(&self) {
        self.install("escape-hatch");
        self.host
            .enable(
                &Actor::System,
                self.community,
                "escape-hatch",
                &[
                    hearth_wasm::Capability::Settings,
                    hearth_wasm::Capability::Read,
                    hearth_wasm::Capability::Now,
                ],
            )
            .unwrap();
    }

    /// Enables the installed `hostile` fixture again with log, settings,
    /// key-value access and `more`.
    pub fn grant_hostile(&self, more: &[hearth_wasm::Capability]) {
        let mut grants = vec![
            hearth_wasm::Capability::Log,
            hearth_wasm::Capability::Settings,
            hearth_wasm::Capability::Kv,
        ];
        grants.extend_from_slice(more);
        self.host
            .enable(&Actor::System, self.community, "hostile", &grants)
            .unwrap();
    }
}

/// Requests a [`loopback_server`] got: (path, body).
pub type Seen = Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A small HTTP server on 127.0.0.1 for plugins' outbound requests: each
/// request is read whole (its `Content-Length` of body), kept, and
/// answered with what `answer(path, body)` returns (the raw response);
/// each connection on its own thread. Returns the port.
#[allow(dead_code)]
pub fn loopback_server(
    answer: impl Fn(&str, &str) -> Vec<u8> + Send + Sync + 'static,
) -> (u16, Seen) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let (log, answer) = (log.clone(), answer.clone());
            std::thread::spawn(move || {
                let mut raw = Vec::new();
                let mut buf = [0u8; 8192];
                loop {
                    let n = stream.read(&mut buf).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    raw.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&raw).to_string();
                    if let Some(end) = text.find("\r\n\r\n") {
                        let len = text[..end]
                            .lines()
                            .find_map(|l| l.strip_prefix("Content-Length: "))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if raw.len() >= end + 4 + len {
                            break;
                        }
                    }
                }
                let text = String::from_utf8_lossy(&raw).to_string();
                let path = text.split(' ').nth(1).unwrap_or("").to_string();
                let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
                log.lock().unwrap().push((path.clone(), body.clone()));
                let _ = stream.write_all(&answer(&path, &body));
            });
        }
    });
    (port, seen)
}

/// A raw HTTP/1.1 answer with a `Content-Length`.
#[allow(dead_code)]
pub fn http_answer(status: &str, extra_headers: &str, body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\n{extra_headers}\r\n",
        body.len()
    )
    .into_bytes();
    out.extend_from_slice(body);
    out
}
