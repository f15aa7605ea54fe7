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

/// A second server on the fixture's database, with the fixture's limits,
/// seen by it as coming from the fixture's own client address.
fn second_server(f: &Fixture, limits: Limits) -> axum::Router {
    let mut config = WebConfig::new(f.community);
    config.limits = limits;
    let forum = Arc::new(Forum::open(&f.location).expect("open"));
    Web::new(forum, None, config)
        .expect("web")
        .router()
        .layer(MockConnectInfo(SocketAddr::from(([10, 0, 0, 7], 4000))))
}

/// The sign-in limits are kept in the database: guesses spread over two
/// servers count as one series, and the right password after them waits
/// on either server.
#[tokio::test]
async fn sign_in_limits_are_shared_between_servers() {
    let limits = Limits {
        sign_in_per_account: 3,
        sign_in_per_ip: 100,
        ..Limits::default()
    };
    let f = fixture_with(|c| c.limits = limits.clone());
    let mut here = Browser::new(&f);
    let mut there = Browser {
        app: second_server(&f, limits),
        cookies: Vec::new(),
    };
    let wrong = [("login", "bob"), ("password", "wrong password!")];
    for on_here in [true, false, true] {
        let b = if on_here { &mut here } else { &mut there };
        assert_eq!(b.submit("/login", "/login", &wrong).await.status, 401);
    }
    let right = [("login", "bob"), ("password", PASSWORD)];
    for b in [&mut there, &mut here] {
        let r = b.submit("/login", "/login", &right).await;
        assert_eq!(r.status, 429, "{}", r.body);
    }
}

/// An `Idempotency-Key` whose first request is still running anywhere on
/// the database — here: its mark held by another handle, as another server
/// process would hold it — turns a retry away with 409 and runs nothing;
/// once the mark is gone the retry runs once.
#[tokio::test]
async fn an_idempotency_key_in_flight_elsewhere_is_a_409() {
    use sha2::Digest;
    let f = fixture();
    let other = Forum::open(&f.location).expect("open");
    let key = "retry-me-7";
    let mark = format!(
        "idem/u{}/{}",
        f.bob.0,
        sha2::Sha256::digest(key.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let lease = other
        .lease(&mark, Duration::from_secs(60))
        .expect("lease")
        .expect("free");
    let topic = f.public_topic.0.to_string();
    let reply = || {
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .header("Idempotency-Key", key)
            .json(serde_json::json!({"topic_id": topic, "raw": "only once, please"}))
    };
    let r = send(&f.app, reply()).await;
    assert_eq!(r.status, 409, "{}", r.body);
    let t = send(&f.app, get(&format!("/t/{topic}.json"))).await.json();
    assert_eq!(t["posts_count"], 2, "the retry ran nothing");
    other.release_lease(lease).expect("release");
    let first = send(&f.app, reply()).await;
    assert_eq!(first.status, 200, "{}", first.body);
    // The mark is released with the answer: a retry replays it at once.
    let again = send(&f.app, reply()).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.header("idempotent-replayed"), "true");
    let t = send(&f.app, get(&format!("/t/{topic}.json"))).await.json();
    assert_eq!(t["posts_count"], 3, "one reply, not two");
}
