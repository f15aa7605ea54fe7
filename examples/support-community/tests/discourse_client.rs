//! Acceptance: an existing Discourse client library from PyPI
//! (`pydiscourse`, pinned), used as its README shows, runs its common
//! calls against the demo server over real HTTP.
//!
//! The test makes its own Python environment under `target/` (it needs
//! `python3` with `venv`, and PyPI); `.ci/run` installs python3 if missing.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use hearth::Actor;
use support_community::{Options, SLUG, open, seed, web};

const PYDISCOURSE: &str = "pydiscourse==1.7.0";

fn python_env() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/discourse-client-venv");
    let python = root.join("bin/python");
    let marker = root.join(".installed");
    if std::fs::read_to_string(&marker).is_ok_and(|m| m == PYDISCOURSE) {
        return python;
    }
    let status = Command::new("python3")
        .args(["-m", "venv"])
        .arg(&root)
        .status()
        .expect("python3 is needed for this test: apt-get install -y python3 python3-venv");
    assert!(
        status.success(),
        "python3 -m venv failed: apt-get install -y python3-venv"
    );
    let status = Command::new(root.join("bin/pip"))
        .args([
            "install",
            "--quiet",
            "--disable-pip-version-check",
            PYDISCOURSE,
        ])
        .status()
        .expect("pip");
    assert!(
        status.success(),
        "pip install {PYDISCOURSE} failed (is PyPI reachable?)"
    );
    std::fs::write(&marker, PYDISCOURSE).expect("marker");
    python
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pydiscourse_runs_its_common_calls_against_the_demo() {
    let python = tokio::task::spawn_blocking(python_env).await.expect("venv");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("demo.db");
    seed(
        &path,
        Options {
            customers: 12,
            questions: 30,
        },
        &mut |_, _, _| {},
    )
    .expect("seed");
    let forum = Arc::new(open(&path).expect("open"));
    let community = forum
        .community_by_slug(&Actor::System, SLUG)
        .expect("community")
        .id;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let url = format!("http://{addr}");
    let web = web(forum, None, community, Some(url.clone())).expect("web");
    let (key, _) = web
        .create_api_key(&Actor::System, None, "pydiscourse acceptance")
        .expect("key");
    let server = tokio::spawn(hearth_web::serve(listener, web.router()));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/discourse_client.py");
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .env("HEARTH_URL", &url)
            .env("HEARTH_API_KEY", &key)
            .output()
            .expect("run python")
    })
    .await
    .expect("join");
    server.abort();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "pydiscourse failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("all pydiscourse calls passed"), "{stdout}");
}
