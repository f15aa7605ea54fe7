//! Two servers on one database — two `Forum` handles and two `Web`s, as
//! two processes have them: what one writes, the other shows to members at
//! once and to guests as soon as its cache learns of the change (a
//! PostgreSQL notification, or SQLite polling). Run on PostgreSQL with
//! `HEARTH_TEST_BACKEND=postgres`.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::connect_info::MockConnectInfo;
use axum::http::Method;
use common::*;
use hearth::Forum;
use hearth_web::{Limits, Web, WebConfig};

#[tokio::test]
async fn a_post_through_one_server_shows_on_the_other() {
    let f = fixture();
    let mut config = WebConfig::new(f.community);
    config.limits = Limits {
        per_ip: None,
        ..Limits::default()
    };
    let other_forum = Arc::new(Forum::open(&f.location).expect("open"));
    let other = Web::new(other_forum, None, config).expect("web");
    let other_app = other
        .router()
        .layer(MockConnectInfo(SocketAddr::from(([10, 0, 0, 8], 4000))));
    // The other server's guest cache is warm.
    assert_eq!(send(&other_app, get("/latest.json")).await.status, 200);
    let warm = send(&other_app, get("/latest.json")).await;
    assert_eq!(warm.header("x-hearth-cache"), "hit", "{:?}", warm.headers);

    let mut caught_up = Vec::new();
    for round in 0..5 {
        let title = format!("Posted through the first server, round {round}");
        let r = send(
            &f.app,
            req(Method::POST, "/posts.json")
                .acting(&f, "bob")
                .json(serde_json::json!({
                    "title": title,
                    "raw": "Does the other server show this right away?",
                    "category": f.qa.id.0,
                })),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
        let written = Instant::now();
        // Members are not served from a cache: at once.
        let member = send(&other_app, get("/latest.json").acting(&f, "ada")).await;
        assert!(
            member.body.contains(&title),
            "round {round}: {}",
            member.body
        );
        // Guests: once the other server has learnt of the change.
        loop {
            let guest = send(&other_app, get("/latest.json")).await;
            if guest.body.contains(&title) {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(10),
                "round {round}: the other server's guests never saw the post"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        caught_up.push(written.elapsed());
        // And its cache fills again.
        send(&other_app, get("/latest.json")).await;
        let hit = send(&other_app, get("/latest.json")).await;
        assert_eq!(hit.header("x-hearth-cache"), "hit", "round {round}");
    }
    eprintln!("the other server's guests saw each post after {caught_up:?}");
}
