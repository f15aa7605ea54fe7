//! The `hearth-plugin run` binary, as a plugin author uses it.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;

fn run(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hearth-plugin"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn runs_a_render_and_reports_resources() {
    let wasm = common::plugin_dir("escape-hatch", false).join("escape-hatch.wasm");
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let (code, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "render",
        "--input",
        &format!("{fixtures}/render-footer.json"),
        "--settings",
        &format!("{fixtures}/escape-hatch-settings.json"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Need a person?"), "{out}");
    assert!(
        out.contains("rel=\\\"nofollow ugc noopener\\\""),
        "sanitized output shown: {out}"
    );
    assert!(
        out.contains("of       10 ms") && out.contains("of   16384 KiB"),
        "{out}"
    );
}

#[test]
fn a_runaway_hook_is_reported_with_its_limit() {
    let wasm = common::plugin_dir("hostile", true).join("hostile.wasm");
    let dir = tempfile::tempdir().unwrap();
    let settings = dir.path().join("s.json");
    std::fs::write(&settings, r#"{"mode": "loop"}"#).unwrap();
    let (code, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "on-schedule",
        "--settings",
        settings.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("error: plugin hostile: on-schedule exceeded its 100 ms deadline"),
        "{out}"
    );
}

#[test]
fn mistakes_are_explained() {
    let wasm = common::plugin_dir("escape-hatch", false).join("escape-hatch.wasm");
    let (code, out) = run(&["run", wasm.to_str().unwrap(), "--hook", "on-event"]);
    assert_eq!(code, 2);
    assert!(out.contains("does not list the on-event hook"), "{out}");
    let (code, out) = run(&["run", wasm.to_str().unwrap(), "--hook", "teleport"]);
    assert_eq!(code, 2);
    assert!(out.contains("unknown hook \"teleport\""), "{out}");
}

#[test]
fn runs_an_action_and_a_batched_render_of_api_0_2() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let wasm = common::plugin_dir("reactions", false).join("reactions.wasm");
    let dir = tempfile::tempdir().unwrap();
    let action = dir.path().join("action.json");
    std::fs::write(
        &action,
        r#"{"name": "react", "post": 2, "fields": [["value", "🎉"]]}"#,
    )
    .unwrap();
    let (code, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "action",
        "--input",
        action.to_str().unwrap(),
        "--as",
        "member",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("done") && out.contains(r#"\"count\":1"#),
        "{out}"
    );
    // The answer's author (the admin) is told, through the forum's rules.
    assert!(
        out.contains("notices:\n  to member ") && out.contains("(reacted) about post 2: "),
        "{out}"
    );
    assert!(out.contains("reacted 🎉 to your post"), "{out}");
    assert!(
        out.contains("  sent 1, left out by the forum's rules 0"),
        "{out}"
    );
    let items = dir.path().join("items.json");
    std::fs::write(&items, r#"{"slot": "post-footer", "items": [1, 2]}"#).unwrap();
    let (code, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "render-items",
        "--input",
        items.to_str().unwrap(),
        "--as",
        "member",
    ]);
    assert_eq!(code, 0, "{out}");
    // Two fragments, each a row of action buttons, raw and sanitized.
    assert_eq!(out.matches("\"item\"").count(), 2, "{out}");
    assert!(out.contains("hearth-action name=\\\"react\\\""), "{out}");
}

#[test]
fn renders_markup_blocks_of_api_0_2() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let wasm = common::plugin_dir("polls", false).join("polls.wasm");
    let dir = tempfile::tempdir().unwrap();
    let blocks = dir.path().join("blocks.json");
    std::fs::write(
        &blocks,
        r#"{"blocks": [{"fence": "poll", "info": "type=multiple", "source": "Lunch?\n- Soup\n- Salad\n"},
                       {"fence": "poll", "info": "", "source": "- only one\n"}]}"#,
    )
    .unwrap();
    let (code, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "render-markup",
        "--input",
        blocks.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}");
    // The first block rendered (raw, sanitized and as text), the second
    // left as source.
    assert!(out.contains("<li>Soup</li><li>Salad</li>"), "{out}");
    assert!(
        out.contains("\"text\": \"Poll: Lunch? Soup, Salad\""),
        "{out}"
    );
    assert!(out.contains("\"sanitized\""), "{out}");
    assert!(out.contains("null"), "{out}");
}

#[test]
fn answers_outbound_requests_from_a_recording() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let wasm = common::plugin_dir("hostile", true).join("hostile.wasm");
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let act = write("act.json", r#"{"name": "act"}"#);
    let settings = write(
        "settings.json",
        r#"{"mode": "http", "url": "http://10.0.0.1/check"}"#,
    );
    let recorded = write(
        "recorded.json",
        r#"[{"method": "GET", "url": "http://10.0.0.1/check", "body": "ham, says the recording"}]"#,
    );
    let (code, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "action",
        "--input",
        &act,
        "--settings",
        &settings,
        "--http",
        &recorded,
        "--as",
        "member",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("http:\n  GET http://10.0.0.1/check -> 200, 23 bytes (recorded)"),
        "{out}"
    );
    // A URL the recording lacks is not fetched from the network.
    let other = write(
        "other.json",
        r#"{"mode": "http", "url": "http://10.0.0.1/elsewhere"}"#,
    );
    let (_, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "action",
        "--input",
        &act,
        "--settings",
        &other,
        "--http",
        &recorded,
        "--as",
        "member",
    ]);
    assert!(
        out.contains(
            "-> Unavailable(\"no recorded answer for GET http://10.0.0.1/elsewhere\") (recorded)"
        ),
        "{out}"
    );
}

#[test]
fn the_spam_checker_runs_against_a_recorded_service() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let wasm = common::plugin_dir("spam-check", false).join("spam-check.wasm");
    let fixture = |f: &str| format!("{}/tests/fixtures/{f}", env!("CARGO_MANIFEST_DIR"));
    let (code, out) = run(&[
        "run",
        wasm.to_str().unwrap(),
        "--hook",
        "on-event",
        "--input",
        &fixture("post-created.json"),
        "--settings",
        &fixture("spam-check-settings.json"),
        "--http",
        &fixture("akismet-says-spam.json"),
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("POST https://rest.akismet.com/1.1/comment-check -> 200, 4 bytes (recorded)"),
        "{out}"
    );
}
