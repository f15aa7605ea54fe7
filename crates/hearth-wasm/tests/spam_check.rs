//! The first-party `spam-check` plugin end to end against a small
//! Akismet-compatible service the test runs on loopback (which the
//! operator's allowlist names explicitly: loopback is otherwise refused):
//! a new member's spam is held for review, their other posts and trusted
//! members' posts are not, and the moderator's decisions go back to the
//! service as ham or spam.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::World;
use hearth::{Actor, Decision, ReviewFilter};
use hearth_wasm::{Capability, HostConfig};
use serde_json::json;

/// The fake service: `comment-check` says `true` when the text mentions
/// watches; everything else thanks.
fn service() -> (u16, common::Seen) {
    common::loopback_server(|path, body| {
        let answer: &[u8] = match path {
            "/1.1/comment-check" if body.contains("watches") => b"true",
            "/1.1/comment-check" => b"false",
            _ => b"Thanks for making the web a better place.",
        };
        common::http_answer("200 OK", "", answer)
    })
}

#[test]
fn a_new_members_spam_is_held_and_the_decision_goes_back_to_the_service() {
    if common::api_version() != "0.2.0" {
        return;
    }
    let (port, seen) = service();
    let w = World::with_config(HostConfig {
        http_plain: true,
        http_private_hosts: vec![format!("127.0.0.1:{port}")],
        background_deadline: Duration::from_secs(2),
        ..HostConfig::default()
    });
    w.install("spam-check");
    w.host
        .enable(
            &Actor::System,
            w.community,
            "spam-check",
            &[
                Capability::Settings,
                Capability::Read,
                Capability::Http,
                Capability::HoldPosts,
                Capability::StaffEvents,
                Capability::Kv,
                Capability::Log,
            ],
        )
        .unwrap();
    let configure = |values: serde_json::Value| {
        let mut all =
            BTreeMap::from([("url".to_string(), json!(format!("http://127.0.0.1:{port}")))]);
        all.extend(serde_json::from_value::<BTreeMap<String, serde_json::Value>>(values).unwrap());
        w.host
            .configure(&Actor::System, w.community, "spam-check", all)
            .unwrap();
    };
    let queue = || {
        w.forum
            .review_queue(
                &Actor::User(w.moderator),
                w.community,
                &ReviewFilter::default(),
                &hearth::PageRequest::first(10),
            )
            .unwrap()
            .items
    };
    configure(json!({
        "api-key": "k-secret-1",
        "site": "https://community.example",
        "below-trust": 2,
    }));
    let post = |title: &str, body: &str| w.alice_topic(title, body).0.id;
    let spam = post("Great offer for all of you", "Cheap watches at my shop");
    let fine = post("How do I export my data?", "Is there a button for it?");
    w.host.deliver_events().unwrap();
    // The spam is hidden and waits for a moderator; the question is not.
    assert!(
        w.forum
            .topic_only(&Actor::Guest, w.community, spam)
            .is_err()
    );
    assert!(w.forum.topic_only(&Actor::Guest, w.community, fine).is_ok());
    let requests = seen.lock().unwrap().clone();
    assert_eq!(requests.len(), 2, "{requests:?}");
    assert!(requests[0].1.contains("api_key=k-secret-1"));
    assert!(
        requests[0]
            .1
            .contains("blog=https%3A%2F%2Fcommunity.example")
    );
    let moderator = Actor::User(w.moderator);
    let pending = queue();
    let held = pending
        .iter()
        .find(|i| i.reason == "held by spam-check: the spam service calls it spam")
        .unwrap();
    // The moderator disagrees: the post is shown and the service hears ham.
    w.forum
        .decide_review(&moderator, w.community, held.id, Decision::Approve)
        .unwrap();
    w.host.deliver_events().unwrap();
    assert!(w.forum.topic_only(&Actor::Guest, w.community, spam).is_ok());
    let requests = seen.lock().unwrap().clone();
    assert_eq!(
        requests.last().unwrap().0,
        "/1.1/submit-ham",
        "{requests:?}"
    );
    assert!(requests.last().unwrap().1.contains("Cheap+watches"));
    // Another, and this time the moderator agrees: spam.
    let again = post("Another great offer today", "More cheap watches here");
    w.host.deliver_events().unwrap();
    assert!(
        w.forum
            .topic_only(&Actor::Guest, w.community, again)
            .is_err()
    );
    let pending = queue();
    let held = &pending[0];
    w.forum
        .decide_review(
            &moderator,
            w.community,
            held.id,
            Decision::Reject {
                reason: "spam".into(),
            },
        )
        .unwrap();
    w.host.deliver_events().unwrap();
    assert_eq!(seen.lock().unwrap().last().unwrap().0, "/1.1/submit-spam");
    // A trusted member's post is not sent at all.
    configure(json!({"below-trust": 0}));
    let before = seen.lock().unwrap().len();
    let trusted = post("Watches I recommend to everyone", "These watches are great");
    w.host.deliver_events().unwrap();
    assert!(
        w.forum
            .topic_only(&Actor::Guest, w.community, trusted)
            .is_ok()
    );
    assert_eq!(seen.lock().unwrap().len(), before);
    let status = w.host.status("spam-check").unwrap();
    assert_eq!(status.counters.last_error, None);
    assert_eq!(status.counters.http_failures, 0);
}
