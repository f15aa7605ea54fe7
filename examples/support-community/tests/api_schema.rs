//! Discourse's API document against the demo, by a schema-driven tester
//! (`schemathesis` from PyPI, pinned) over real HTTP:
//!
//! 1. Every read operation, with identifiers that exist in the demo:
//!    answers must fit the document's schemas and content types. What does
//!    not fit yet is recorded in `docs/discourse/schemathesis-baseline.json`
//!    (each entry a known difference, listed in `docs/discourse-api.md`);
//!    anything new fails the test. `HEARTH_UPDATE_SCHEMA_BASELINE=1`
//!    rewrites the file after a change (read the difference).
//! 2. Every operation of the document with generated input, valid and
//!    not: no answer may be a server error.

mod support;

use std::path::PathBuf;
use std::process::Command;

use hearth::Actor;
use serde_json::Value;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/discourse")
}

/// A JSON answer of the demo's router, as the application.
async fn get_json(app: &axum::Router, uri: &str, key: &str) -> Value {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let req = axum::http::Request::get(uri)
        .header("Api-Key", key)
        .header("Api-Username", "system")
        .body(axum::body::Body::empty())
        .expect("request");
    let res = app.clone().oneshot(req).await.expect("infallible");
    let body = res.into_body().collect().await.expect("body").to_bytes();
    serde_json::from_slice(&body)
        .unwrap_or_else(|e| panic!("{uri}: {e}: {}", String::from_utf8_lossy(&body)))
}

fn text(v: &Value, pointer: &str) -> String {
    match v.pointer(pointer) {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => panic!("no {pointer} in {v}"),
    }
}

/// Runs the tester; its output, and whether it passed.
async fn schemathesis(args: Vec<String>) -> (bool, String) {
    let python = tokio::task::spawn_blocking(support::python)
        .await
        .expect("venv");
    let tool = python.with_file_name("schemathesis");
    tokio::task::spawn_blocking(move || {
        let out = Command::new(tool)
            .args(&args)
            .env("NO_COLOR", "1")
            .output()
            .expect("run schemathesis");
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    })
    .await
    .expect("join")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discourse_s_api_document_holds_against_the_demo() {
    // The tester sends thousands of requests from one address.
    let demo = support::serve_demo_with(false, |c| c.limits.per_ip = None).await;
    let (key, _) = demo
        .web
        .create_api_key(&Actor::System, None, "schemathesis")
        .expect("key");
    let url = demo.url.clone();
    let app = demo.web.router();
    // Identifiers that exist in the demo.
    let latest = get_json(&app, "/latest.json", &key).await;
    let topic = text(&latest, "/topic_list/topics/0/id");
    let posts = get_json(&app, "/posts.json", &key).await;
    let post = text(&posts, "/latest_posts/0/id");
    let cats = get_json(&app, "/categories.json", &key).await;
    let (category, slug) = (
        text(&cats, "/category_list/categories/0/id"),
        text(&cats, "/category_list/categories/0/slug"),
    );
    let dir = get_json(&app, "/directory_items.json?period=all", &key).await;
    let (user, username) = (
        text(&dir, "/directory_items/0/user/id"),
        text(&dir, "/directory_items/0/user/username"),
    );
    let groups = get_json(&app, "/groups.json", &key).await;
    let (group, group_name) = (
        text(&groups, "/groups/0/id"),
        text(&groups, "/groups/0/name"),
    );
    let tags = get_json(&app, "/tags.json", &key).await;
    let tag = text(&tags, "/tags/0/name");
    let by_id = |op: &str, id: &str| {
        format!("[[operations]]\ninclude-name = \"GET {op}\"\nparameters = {{ id = {id} }}\n\n")
    };
    let mut config = String::from("# Made by tests/api_schema.rs for one run.\n\n");
    for (op, id) in [
        ("/admin/users/{id}.json", &user),
        ("/c/{id}/show.json", &category),
        ("/groups/by-id/{id}.json", &group),
        ("/posts/{id}.json", &post),
        ("/posts/{id}/replies.json", &post),
        ("/t/{id}.json", &topic),
        ("/t/{id}/posts.json", &topic),
    ] {
        config.push_str(&by_id(op, id));
    }
    config.push_str(&format!(
        "[[operations]]\ninclude-name = \"GET /c/{{slug}}/{{id}}.json\"\nparameters = {{ slug = \"{slug}\", id = {category} }}\n\n"
    ));
    for op in ["/groups/{name}.json", "/groups/{name}/members.json"] {
        config.push_str(&format!(
            "[[operations]]\ninclude-name = \"GET {op}\"\nparameters = {{ name = \"{group_name}\" }}\n\n"
        ));
    }
    config.push_str(&format!(
        "[[operations]]\ninclude-name = \"GET /tag/{{name}}.json\"\nparameters = {{ name = \"{tag}\" }}\n\n"
    ));
    for op in [
        "/u/{username}.json",
        "/u/{username}/emails.json",
        "/user-badges/{username}.json",
    ] {
        config.push_str(&format!(
            "[[operations]]\ninclude-name = \"GET {op}\"\nparameters = {{ username = \"{username}\" }}\n\n"
        ));
    }
    config.push_str(&format!(
        "[[operations]]\ninclude-name = \"GET /user_actions.json\"\nparameters = {{ \"query.username\" = \"{username}\" }}\n\n\
         [[operations]]\ninclude-name = \"GET /admin/users/list/{{flag}}.json\"\nparameters = {{ flag = \"active\" }}\n"
    ));
    let out_dir = support::output_dir("api-schema");
    let config_file = out_dir.join("schemathesis.toml");
    std::fs::write(&config_file, config).expect("config");
    let document = docs().join("openapi.json").to_string_lossy().into_owned();
    let baseline = docs().join("schemathesis-baseline.json");
    let common = |checks: &str| -> Vec<String> {
        vec![
            "--config-file".into(),
            config_file.to_string_lossy().into_owned(),
            "run".into(),
            document.clone(),
            "--url".into(),
            url.clone(),
            "-H".into(),
            format!("Api-Key: {key}"),
            "-H".into(),
            "Api-Username: system".into(),
            "--checks".into(),
            checks.into(),
            "--generation-deterministic".into(),
            "--workers".into(),
            "2".into(),
            "--continue-on-failure".into(),
            "--no-color".into(),
            "--warnings".into(),
            "off".into(),
        ]
    };

    // 1. Reads with real identifiers: shapes and content types.
    let mut args =
        common("not_a_server_error,response_schema_conformance,content_type_conformance");
    args.extend(
        [
            "--include-method",
            "GET",
            "--max-examples",
            "5",
            "--phases",
            "examples,coverage,fuzzing",
            "--baseline",
        ]
        .map(String::from),
    );
    args.push(baseline.to_string_lossy().into_owned());
    if std::env::var_os("HEARTH_UPDATE_SCHEMA_BASELINE").is_some() {
        args.push("--baseline-update".into());
        args.push("--baseline-prune".into());
    }
    let (passed, out) = schemathesis(args).await;
    std::fs::write(out_dir.join("reads.txt"), &out).expect("log");
    assert!(
        passed,
        "answers that do not fit Discourse's document, beyond the known ones in {}:\n{out}",
        baseline.display()
    );

    // 2. Every operation, generated input: never a server error.
    let mut args = common("not_a_server_error");
    args.extend(
        [
            "--max-examples",
            "10",
            "--phases",
            "examples,coverage,fuzzing",
        ]
        .map(String::from),
    );
    let (passed, out) = schemathesis(args).await;
    std::fs::write(out_dir.join("all.txt"), &out).expect("log");
    demo.server.abort();
    assert!(passed, "server errors:\n{out}");
}
