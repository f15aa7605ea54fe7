//! A real browser: headless Chromium (Debian's `chromium` and
//! `chromium-driver`, installed here if missing and allowed) driven with
//! Selenium from PyPI through the support demo with its plugins:
//! sign up, similar topics while typing, create, reply, accept, a reaction
//! through a plugin's action, search, the escape-hatch footer; a member's
//! own story; and every main page at a desktop's and a phone's width, light
//! and dark, checked with axe-core and used by keyboard alone. Screenshots
//! go to `target/test-output/browser*/`.

mod support;

use std::path::Path;
use std::process::Command;

fn ensure_chromium() {
    if Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() {
        return;
    }
    let install = || {
        // Both browser tests may install at once (nextest runs them in
        // parallel): the second waits for dpkg's lock instead of failing,
        // then finds the packages installed.
        Command::new("apt-get")
            .args([
                "-o",
                "DPkg::Lock::Timeout=600",
                "install",
                "-y",
                "-qq",
                "chromium",
                "chromium-driver",
            ])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .is_ok_and(|s| s.success())
    };
    // A fresh machine may have no package lists yet.
    let ok = install()
        || (Command::new("apt-get")
            .args(["-o", "DPkg::Lock::Timeout=600", "update", "-qq"])
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

/// A real JPEG-like screenshot for the upload: a PNG with some structure.
fn screenshot(path: &Path) {
    let img = image::RgbImage::from_fn(900, 560, |x, y| {
        let band = (y / 40) as u8;
        image::Rgb([200 - band * 5, 210, if x % 300 < 150 { 240 } else { 180 }])
    });
    img.save(path).expect("screenshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_edits_uploads_messages_and_recovers_in_a_real_browser() {
    tokio::task::spawn_blocking(ensure_chromium)
        .await
        .expect("install");
    let demo = support::serve_demo(true).await;
    let mail = tempfile::tempdir().expect("mail dir");
    let mailer = hearth::FileMailer::new(mail.path()).expect("mailer");
    demo.web.spawn_email_jobs(
        std::sync::Arc::new(mailer),
        std::time::Duration::from_secs(3600),
    );
    let out_dir = support::output_dir("member-story");
    let shot = out_dir.join("error-screen.png");
    screenshot(&shot);
    // Chromium takes files only by canonical paths.
    let shot = shot.canonicalize().expect("the screenshot's path");
    let out = support::run_python(
        "member_story.py",
        vec![
            ("HEARTH_URL", demo.url.clone()),
            ("OUT_DIR", out_dir.display().to_string()),
            ("MAIL_DIR", mail.path().display().to_string()),
            ("SHOT", shot.display().to_string()),
            (
                "DEMO_PASSWORD",
                support_community::DEMO_PASSWORD.to_string(),
            ),
        ],
    )
    .await;
    demo.server.abort();
    assert!(out.contains("member story passed"), "{out}");
    for shot in ["profile.png", "composer-upload.png", "back-in.png"] {
        let len = std::fs::metadata(out_dir.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 10_000, "{shot} was taken ({len} bytes)");
    }
}

/// The pinned axe-core release `pages_check.py` downloads from the npm
/// registry, and the registry's SHA-512 for it.
const AXE_SHA512: &str =
    "Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfTs/PbZhideTcEg==";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_page_fits_a_phone_passes_axe_and_works_by_keyboard() {
    tokio::task::spawn_blocking(ensure_chromium)
        .await
        .expect("install");
    let demo = support::serve_demo(true).await;
    let out_dir = support::output_dir("browser-pages");
    let axe_cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools");
    let out = support::run_python(
        "pages_check.py",
        vec![
            ("HEARTH_URL", demo.url.clone()),
            ("OUT_DIR", out_dir.display().to_string()),
            ("AXE_CACHE", axe_cache.display().to_string()),
            ("AXE_SHA512", AXE_SHA512.to_string()),
            (
                "DEMO_PASSWORD",
                support_community::DEMO_PASSWORD.to_string(),
            ),
        ],
    )
    .await;
    demo.server.abort();
    println!("{out}");
    assert!(out.contains("pages check passed"), "{out}");
    for shot in [
        "home-390-light.png",
        "topic-390-dark.png",
        "analytics-1280-light.png",
    ] {
        let len = std::fs::metadata(out_dir.join(shot))
            .map(|m| m.len())
            .unwrap_or(0);
        assert!(len > 10_000, "{shot} was taken ({len} bytes)");
    }
}

/// The other three demos' main pages, each served as `cargo run -p <demo>`
/// serves it, a member's keyboard-only sign-in and reply, and their
/// admin's analytics: the same checks as above.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_demo_fits_a_phone_and_passes_axe() {
    tokio::task::spawn_blocking(ensure_chromium)
        .await
        .expect("install");
    let axe_cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/test-tools");
    for (demo, admin, pages) in [
        (
            &ambassadors::DEMO,
            "nova_staff",
            "/ home\n/latest latest\n{topic} topic\n/search?q=console search\n/kb guides\n/u/spark_mentor profile\n/plugins/leaderboard leaderboard",
        ),
        (
            &beauty_board::DEMO,
            "lumi_team",
            "/ home\n/latest latest\n{topic} topic\n/search?q=look search\n/kb knowledge-base\n/u/mara_artist profile\n/plugins/leaderboard leaderboard",
        ),
        (
            &private_beta::DEMO,
            "sam_founder",
            "/ home\n/latest latest\n{topic} topic\n/search?q=email search\n/kb playbooks\n/u/anna_berg profile\n/plugins/leaderboard leaderboard\n/signup join",
        ),
    ] {
        let served = support::serve_kit_demo(demo).await;
        let out_dir = support::output_dir(&format!("browser-pages/{}", demo.name));
        let out = support::run_python(
            "pages_check.py",
            vec![
                ("HEARTH_URL", served.url.clone()),
                ("OUT_DIR", out_dir.display().to_string()),
                ("AXE_CACHE", axe_cache.display().to_string()),
                ("AXE_SHA512", AXE_SHA512.to_string()),
                ("DEMO_PASSWORD", demo_kit::DEMO_PASSWORD.to_string()),
                ("PAGES", pages.to_string()),
                ("ADMIN", admin.to_string()),
                ("MEMBER", "anna_berg".to_string()),
            ],
        )
        .await;
        served.server.abort();
        println!("{}:\n{out}", demo.name);
        assert!(out.contains("pages check passed"), "{}: {out}", demo.name);
        let shot = out_dir.join("home-390-light.png");
        let len = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
        assert!(len > 10_000, "{} was taken ({len} bytes)", shot.display());
    }
}
