//! The operator's path to PostgreSQL: the demo's `migrate` command copies
//! a seeded SQLite file into a new PostgreSQL database, and both then
//! serve the same pages and JSON (feature `postgres`, server from
//! `HEARTH_TEST_PG`).
#![cfg(feature = "postgres")]

#[path = "../../../crates/hearth/tests/common/backend.rs"]
mod backend;
mod support;

use std::process::Command;
use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use http_body_util::BodyExt;
use support_community::{SLUG, app, open};
use tower::ServiceExt;

async fn get(app: &axum::Router, uri: &str) -> (u16, String) {
    let res = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = res.status().as_u16();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_migrated_demo_serves_the_same_pages_and_json() {
    let Some(url) = backend::postgres_database("migrate") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let path = support::seed_small(dir.path());

    let out = Command::new(env!("CARGO_BIN_EXE_support-community"))
        .args(["migrate", "--from"])
        .arg(&path)
        .args(["--to", &url])
        .output()
        .expect("run migrate");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("copied") && stdout.contains("posts"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Migrating again into the same database is refused.
    let again = Command::new(env!("CARGO_BIN_EXE_support-community"))
        .args(["migrate", "--from"])
        .arg(&path)
        .args(["--to", &url])
        .output()
        .expect("run migrate");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let serve = |location: &str| {
        let forum = Arc::new(open(std::path::Path::new(location)).expect("open"));
        let c = forum
            .community_by_slug(&hearth::Actor::System, SLUG)
            .expect("community")
            .id;
        app(forum, None, c, Some("http://127.0.0.1:3000".into())).expect("app")
    };
    let (sqlite, postgres) = (serve(path.to_str().expect("path")), serve(&url));
    let (_, latest) = get(&sqlite, "/latest.json").await;
    let latest: serde_json::Value = serde_json::from_str(&latest).expect("json");
    let first = &latest["topic_list"]["topics"][0];
    let topic = format!(
        "/t/{}/{}",
        first["slug"].as_str().expect("slug"),
        first["id"]
    );
    let user = latest["users"][0]["username"].as_str().expect("user");
    let uris = [
        "/".to_string(),
        "/latest.json".into(),
        "/categories.json".into(),
        topic.clone(),
        format!("{topic}.json"),
        "/search.json?q=invoice".into(),
        "/search?q=export%20csv".into(),
        format!("/u/{user}"),
        format!("/u/{user}.json"),
        "/sitemap.xml".into(),
    ];
    for uri in uris {
        let (a, b) = (get(&sqlite, &uri).await, get(&postgres, &uri).await);
        assert_eq!(a.0, 200, "{uri}: {}", a.1);
        assert!(
            a == b,
            "{uri} differs:\nSQLite: {}\nPostgreSQL: {}",
            a.1,
            b.1
        );
    }
}
