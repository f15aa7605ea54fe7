//! Discourse's API document against the demo, by a schema-driven tester
//! (`schemathesis` from PyPI, pinned) over real HTTP:
//!
//! 1. Every read operation, with identifiers that exist in the demo:
//!    answers must fit the document's schemas and content types, with no
//!    exception but the fields listed, typed, in
//!    `docs/discourse/additions.json` (what Hearth sends beyond the
//!    document, each with its reason, and the document's few example-data
//!    constraints put right). Those are merged into the document first;
//!    any other difference fails the test.
//! 2. Every operation of the document with generated input, valid and
//!    not: no answer may be a server error.

#[path = "../../../crates/hearth-web/tests/discourse_document/mod.rs"]
mod discourse_document;
mod support;

use std::process::Command;

use hearth::Actor;
use serde_json::Value;

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
    let out_dir = support::output_dir("api-schema");
    let backups = out_dir.join("backups");
    let _ = std::fs::remove_dir_all(&backups);
    std::fs::create_dir_all(&backups).expect("backup dir");
    let demo = support::serve_demo_with(false, |c| {
        c.limits.per_ip = None;
        c.backup_dir = Some(backups);
    })
    .await;
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
    // A backup, so that the list's items are checked too.
    {
        use tower::ServiceExt;
        // Backups are an admin's (they are mailed to one).
        let req = axum::http::Request::post("/admin/backups.json")
            .header("Api-Key", &key)
            .header("Api-Username", "maya")
            .body(axum::body::Body::empty())
            .expect("request");
        let res = app.clone().oneshot(req).await.expect("infallible");
        assert!(res.status().is_success(), "backup: {}", res.status());
        let started = std::time::Instant::now();
        while get_json(&app, "/admin/backups.json", &key)
            .await
            .as_array()
            .is_none_or(Vec::is_empty)
        {
            assert!(started.elapsed().as_secs() < 60, "no backup after a minute");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
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
    let config_file = out_dir.join("schemathesis.toml");
    std::fs::write(&config_file, config).expect("config");
    let document = out_dir.join("openapi-with-additions.json");
    std::fs::write(
        &document,
        serde_json::to_string(&discourse_document::document()).expect("json"),
    )
    .expect("document");
    let document = document.to_string_lossy().into_owned();
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
        ]
        .map(String::from),
    );
    let (passed, out) = schemathesis(args).await;
    std::fs::write(out_dir.join("reads.txt"), &out).expect("log");
    assert!(
        passed,
        "answers that do not fit Discourse's document (with docs/discourse/additions.json):\n{out}"
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
