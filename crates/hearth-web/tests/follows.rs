//! Following members from profiles and over the follow plugin's API.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, NewTopic, NotificationKind};

#[tokio::test]
async fn a_member_follows_from_the_profile_and_hears_of_new_topics() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let page = bob.get("/u/ada").await;
    assert!(page.body.contains(">Follow</button>"), "{}", page.body);
    let r = bob
        .submit("/u/ada", "/u/ada/follow", &[("replies", "true")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = bob.get("/u/ada").await;
    assert!(
        page.body.contains("You follow ada, replies included"),
        "{}",
        page.body
    );
    assert_eq!(
        f.forum.follows(&Actor::User(f.bob), f.ada).expect("state"),
        Some(true)
    );
    // ada's new topic reaches bob.
    let (topic, _) = f
        .forum
        .create_topic(
            &Actor::User(f.ada),
            f.community,
            NewTopic {
                category: f.qa.id,
                title: "How do I close a fiscal year?".into(),
                body: "Step by step, please.".into(),
                tags: vec![],
            },
        )
        .expect("topic");
    let bell = send(&f.app, get("/notifications.json").acting(&f, "bob")).await;
    let hits: Vec<_> = bell.json()["notifications"]
        .as_array()
        .expect("list")
        .iter()
        .filter(|n| n["topic_id"] == topic.id.0)
        .map(|n| n["notification_type"].clone())
        .collect();
    assert_eq!(
        hits,
        [serde_json::json!(
            NotificationKind::FollowingCreatedTopic.discourse_type()
        )]
    );
    // The lists, as the follow plugin's JSON.
    let followers = send(
        &f.app,
        get("/u/ada/follow/followers.json").acting(&f, "ann"),
    )
    .await;
    assert_eq!(followers.status, StatusCode::OK, "{}", followers.body);
    assert_eq!(followers.json()[0]["username"], "bob");
    // ada hides her follows: bob no longer sees the list, ann (staff) does.
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let r = ada
        .submit(
            "/u/ada/preferences/profile",
            "/u/ada/preferences/profile",
            &[("name", "Ada"), ("follows_hidden", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let hidden = send(
        &f.app,
        get("/u/ada/follow/followers.json").acting(&f, "bob"),
    )
    .await;
    assert_eq!(hidden.status, StatusCode::FORBIDDEN);
    let staff = send(
        &f.app,
        get("/u/ada/follow/followers.json").acting(&f, "ann"),
    )
    .await;
    assert_eq!(staff.status, StatusCode::OK);
    // Unfollow over the API.
    let r = send(
        &f.app,
        req(Method::DELETE, "/follow/ada.json").acting(&f, "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        f.forum.follows(&Actor::User(f.bob), f.ada).expect("state"),
        None
    );
    let r = send(
        &f.app,
        req(Method::PUT, "/follow/ada.json").acting(&f, "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        f.forum.follows(&Actor::User(f.bob), f.ada).expect("state"),
        Some(false)
    );
    // Guests see no follow button and may not follow.
    let guest = send(&f.app, get("/u/ada")).await;
    assert!(!guest.body.contains(">Follow</button>"));
    let r = send(&f.app, req(Method::PUT, "/follow/ada.json")).await;
    assert!(r.status.is_client_error());
}
