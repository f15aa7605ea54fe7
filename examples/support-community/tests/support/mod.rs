//! Shared by the tests that drive the demo from outside: a Python
//! environment under `target/` with pinned packages from PyPI, a seeded
//! demo served over real HTTP, and the test output folder.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use hearth::Actor;
use support_community::{Options, SLUG, open, seed};

/// What the Python side needs, pinned.
const REQUIREMENTS: &[&str] = &[
    "pydiscourse==1.7.0",
    "selenium==4.38.0",
    "schemathesis==4.32.5",
];

fn target() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

/// The venv's python, made (once) with `python3 -m venv` and pip. Tests
/// run in parallel processes, so the first one to take the lock file makes
/// the venv and the others wait for its marker.
pub fn python() -> PathBuf {
    let root = target().join("demo-test-venv");
    let python = root.join("bin/python");
    let marker = root.join(".installed");
    let wanted = REQUIREMENTS.join("\n");
    let ready = || std::fs::read_to_string(&marker).is_ok_and(|m| m == wanted);
    let lock = target().join("demo-test-venv.lock");
    let started = std::time::Instant::now();
    loop {
        if ready() {
            return python;
        }
        match std::fs::File::create_new(&lock) {
            Ok(_) => break,
            Err(_) => {
                // A lock left by a killed run is stale after ten minutes.
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t.elapsed().is_ok_and(|e| e.as_secs() > 600));
                if stale {
                    let _ = std::fs::remove_file(&lock);
                }
                assert!(
                    started.elapsed().as_secs() < 900,
                    "waited 15 minutes for {}",
                    lock.display()
                );
                std::thread::sleep(std::time::Duration::from_millis(500));
            }
        }
    }
    struct Unlock(PathBuf);
    impl Drop for Unlock {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
    let _unlock = Unlock(lock);
    if ready() {
        return python;
    }
    let _ = std::fs::remove_dir_all(&root);
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&root)
        .status()
        .expect("python3 is needed: apt-get install -y python3 python3-venv");
    assert!(
        status.success(),
        "python3 -m venv failed: apt-get install -y python3-venv"
    );
    let status = Command::new(root.join("bin/pip"))
        .args(["install", "--quiet", "--disable-pip-version-check"])
        .args(REQUIREMENTS)
        .status()
        .expect("pip");
    assert!(
        status.success(),
        "pip install {REQUIREMENTS:?} failed (is PyPI reachable?)"
    );
    std::fs::write(&marker, wanted).expect("marker");
    python
}

/// Where tests leave files for people to look at (screenshots).
pub fn output_dir(name: &str) -> PathBuf {
    let dir = target().join("test-output").join(name);
    std::fs::create_dir_all(&dir).expect("output dir");
    dir
}

/// A seeded demo served on 127.0.0.1 (a random port).
pub struct Served {
    pub _dir: tempfile::TempDir,
    pub url: String,
    pub web: hearth_web::Web,
    pub server: tokio::task::JoinHandle<Result<(), hearth_web::Error>>,
    pub _worker: Option<hearth_wasm::Worker>,
}

/// Seeds a small demo into `dir/demo.db`.
pub fn seed_small(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("demo.db");
    seed(
        &path,
        Options {
            customers: 12,
            questions: 30,
        },
        &mut |_, _, _| {},
    )
    .expect("seed");
    path
}

/// Seeds a small demo and serves it; with `plugins`, the first-party
/// plugins must have been built (`cargo xtask plugins`).
pub async fn serve_demo(plugins: bool) -> Served {
    serve_demo_with(plugins, |_| {}).await
}

/// [`serve_demo`] with the web settings changed by `tune`.
pub async fn serve_demo_with(
    plugins: bool,
    tune: impl FnOnce(&mut hearth_web::WebConfig),
) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = seed_small(dir.path());
    let plugins = plugins.then_some(support_community::plugins as demo_kit::PluginsFn);
    serve_seeded(dir, &path, SLUG, plugins, tune).await
}

/// Another demo (`demo_kit::Demo`), seeded at its default size and served
/// with its plugins (built by `cargo xtask plugins`).
pub async fn serve_kit_demo(demo: &demo_kit::Demo) -> Served {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.db");
    (demo.seed)(&path, 1, &mut |_, _, _| {}).expect("seed");
    serve_seeded(dir, &path, demo.slug, Some(demo.plugins), |_| {}).await
}

/// Serves the seeded database at `path` the way `demo_kit::run` does, on
/// 127.0.0.1 (a random port): links point at the real address, and the
/// plugins (if asked for) must have been built (`cargo xtask plugins`).
async fn serve_seeded(
    dir: tempfile::TempDir,
    path: &std::path::Path,
    slug: &str,
    plugins: Option<demo_kit::PluginsFn>,
    tune: impl FnOnce(&mut hearth_web::WebConfig),
) -> Served {
    let forum = Arc::new(open(path).expect("open"));
    let community = forum
        .community_by_slug(&Actor::System, slug)
        .expect("community")
        .id;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    // Links in posts point where the server really is, as `run` does.
    let c = forum
        .community(&Actor::System, community)
        .expect("community");
    let mut settings = c.settings.clone();
    settings.base_url = Some(format!("{url}/"));
    forum
        .update_community(&Actor::System, community, &c.name, settings)
        .expect("base URL");
    let host = plugins.map(|start| {
        start(&forum, community, &url)
            .expect("plugins")
            .expect("the plugins are built: run `cargo xtask plugins` (cargo xtask test does)")
    });
    let worker = host.as_ref().map(|h| {
        h.start_worker(std::time::Duration::from_millis(200))
            .expect("worker")
    });
    let mut config = hearth_web::WebConfig::new(community);
    config.public_origin = Some(url.clone());
    tune(&mut config);
    let web = hearth_web::Web::new(forum, host, config).expect("web");
    let server = tokio::spawn(hearth_web::serve(listener, web.router()));
    Served {
        _dir: dir,
        url,
        web,
        server,
        _worker: worker,
    }
}

/// Runs a Python script from `tests/` with `env`; panics with its output
/// if it fails.
pub async fn run_python(script: &str, env: Vec<(&'static str, String)>) -> String {
    let python = tokio::task::spawn_blocking(python).await.expect("venv");
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(script);
    let out = tokio::task::spawn_blocking(move || {
        let mut c = Command::new(python);
        c.arg(&script);
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run python")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "python failed:\n{stdout}\n{stderr}");
    stdout
}
