//! Acceptance: an existing Discourse client library from PyPI
//! (`pydiscourse`, pinned), used as its README shows, runs its common
//! calls against the demo server over real HTTP.
//!
//! The Python environment is made under `target/` (python3 with venv, and
//! PyPI); `.ci/run` installs python3 if it is missing.

mod support;

use hearth::Actor;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pydiscourse_runs_its_common_calls_against_the_demo() {
    let demo = support::serve_demo(false).await;
    let (key, _) = demo
        .web
        .create_api_key(&Actor::System, None, "pydiscourse acceptance")
        .expect("key");
    let out = support::run_python(
        "discourse_client.py",
        vec![("HEARTH_URL", demo.url.clone()), ("HEARTH_API_KEY", key)],
    )
    .await;
    demo.server.abort();
    assert!(out.contains("all pydiscourse calls passed"), "{out}");
}
