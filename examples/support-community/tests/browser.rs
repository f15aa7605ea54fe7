//! A real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed here if missing and allowed) driven with
//! Selenium from PyPI through the support demo with its plugins:
//! sign up, similar topics while typing, create, reply, accept, search,
//! the escape-hatch footer. Screenshots go to
//! `target/test-output/browser/`.

mod support;

use std::path::Path;
use std::process::Command;

fn ensure_chromium() {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return;
    }
    let install = || {
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "chromium", "chromium-driver"])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    // A fresh machine may have no package lists yet.
    let ok = install()
        || (Command::new("apt-get")
            .args(["update", "-qq"])
            .status()
            .is_ok_and(|s| s.success())
            && install());
    assert!(
        ok,
        "headless Chromium is needed: apt-get install -y chromium chromium-driver (as root)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_asks_gets_an_answer_and_finds_it_in_a_real_browser() {
    tokio::task::spawn_blocking(ensure_chromium)
        .await
        .expect("install");
    let demo = support::serve_demo(true).await;
    let out_dir = support::output_dir("browser");
    let out = support::run_python(
        "browser.py",
        vec![
            ("HEARTH_URL", demo.url.clone()),
            ("OUT_DIR", out_dir.display().to_string()),
            (
                "DEMO_PASSWORD",
                support_community::DEMO_PASSWORD.to_string(),
            ),
        ],
    )
    .await;
    demo.server.abort();
    assert!(out.contains("browser flow passed"), "{out}");
    for shot in [
        "composer-suggestions.png",
        "topic-accepted.png",
        "search.png",
    ] {
        let len = std::fs::metadata(out_dir.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 10_000, "{shot} was taken ({len} bytes)");
    }
}
