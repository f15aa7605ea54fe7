//! The member cache: a signed-in member's repeated reads are served from
//! memory to their own session only, and never once anything they could
//! see has changed. Checked with a matrix of who asks × what they ask for.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, NewReply, NewTopic};

/// The number on the header's bell (0 when it shows none).
fn bell(body: &str) -> u64 {
    body.split("Notifications <span class=\"count\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map_or(0, |n| n.parse().expect("a count"))
}

fn hit(r: &Reply) -> bool {
    r.headers.get("x-hearth-cache").is_some()
}

/// The paths every role asks for: lists, a category and each visibility's
/// topic as a page and as JSON.
fn paths(f: &Fixture) -> Vec<String> {
    let mut paths = vec![
        "/latest.json".to_string(),
        "/latest".to_string(),
        "/".to_string(),
        "/categories.json".to_string(),
        format!("/c/{}/{}", f.staff_only.slug, f.staff_only.id.0),
        format!("/c/{}/{}", f.members_only.slug, f.members_only.id.0),
    ];
    for t in [f.public_topic, f.member_topic, f.staff_topic] {
        paths.push(f.topic_url(t));
        paths.push(format!("/t/{}.json", t.0));
    }
    paths
}

/// Markers of each visibility's topic ("public", "members", "staff").
const MEMBERS_ONLY: &str = "roadmap chatter";
const STAFF_ONLY: &str = "escalation rota";

#[tokio::test]
async fn a_members_answer_goes_to_their_own_session_and_nobody_else() {
    let f = fixture();
    // The admin (in the staff group) reads everything first, so that each
    // of their answers is in the cache while the others ask.
    let mut roles = Vec::new();
    for (name, sees_members, sees_staff) in [
        ("ann", true, true),
        ("bob", true, false),
        ("outsider", false, false),
    ] {
        let mut b = Browser::new(&f);
        assert!(
            b.sign_in(name).await.status.is_redirection(),
            "{name} signs in"
        );
        roles.push((Some(name), b, sees_members, sees_staff));
    }
    roles.push((None, Browser::new(&f), false, false));
    let mut tokens: Vec<(String, String)> = Vec::new();
    for (name, browser, sees_members, sees_staff) in &mut roles {
        let who = name.unwrap_or("a guest");
        for path in paths(&f) {
            let first = browser.get(&path).await;
            let second = browser.get(&path).await;
            assert_eq!(first.status, second.status, "{who} {path}");
            assert!(
                !hit(&first),
                "{who}'s first {path} is theirs, not another's"
            );
            assert_eq!(first.body, second.body, "{who} {path}");
            if first.status == StatusCode::OK {
                if name.is_some() {
                    assert!(hit(&second), "{who}'s second {path} is served again");
                }
            } else {
                assert!(!hit(&second), "{who} {path}: a failure is never kept");
            }
            // What each role may see, whatever is in the cache.
            let members = first.body.contains(MEMBERS_ONLY);
            let staff = first.body.contains(STAFF_ONLY);
            assert!(
                !members || *sees_members,
                "{who} {path} shows the members' topic"
            );
            assert!(!staff || *sees_staff, "{who} {path} shows the staff topic");
            if path == f.topic_url(f.staff_topic) {
                assert_eq!(first.status == StatusCode::OK, *sees_staff, "{who} {path}");
            }
            if path == f.topic_url(f.member_topic) {
                assert_eq!(
                    first.status == StatusCode::OK,
                    *sees_members,
                    "{who} {path}"
                );
            }
            // Nobody is served a page carrying another visitor's form token.
            if path == f.topic_url(f.public_topic) && first.body.contains("authenticity_token") {
                let token = Browser::token_in(&first.body);
                for (other, theirs) in &tokens {
                    assert!(
                        other == who || !first.body.contains(theirs.as_str()),
                        "{who} was served {other}'s page"
                    );
                }
                tokens.push((who.to_string(), token));
            }
        }
    }
    assert!(
        tokens.len() >= 3,
        "the signed-in pages carry forms: {tokens:?}"
    );
    // The same member in a second browser has a session of their own: its
    // first read is rendered for it.
    let mut again = Browser::new(&f);
    again.sign_in("ann").await;
    let page = again.get(&f.topic_url(f.staff_topic)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!hit(&page));
    // API-key calls are never served from the cache.
    for _ in 0..2 {
        let r = send(&f.app, get("/latest.json").acting(&f, "ann")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(!hit(&r));
    }
}

#[tokio::test]
async fn a_members_cached_answer_goes_as_soon_as_anything_changes() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let topic = f.topic_url(f.public_topic);
    bob.get(&topic).await;
    assert!(hit(&bob.get(&topic).await));
    // A monitor's `HEAD` writes nothing: nothing ends.
    for method in [Method::HEAD, Method::OPTIONS] {
        send(&f.app, req(method, "/latest")).await;
    }
    assert!(hit(&bob.get(&topic).await));

    // Their own reply, through a form: the next read shows it.
    let r = bob
        .submit(
            &topic,
            &format!("/t/{}/reply", f.public_topic.0),
            &[("raw", "Bob's own words, never cached.")],
        )
        .await;
    assert!(r.status.is_redirection(), "{}", r.status);
    let page = bob.get(&topic).await;
    assert!(!hit(&page));
    assert!(page.body.contains("Bob&#x27;s own words") || page.body.contains("Bob's own words"));

    // Someone else's reply through the engine (the embedder's code).
    assert!(hit(&bob.get(&topic).await));
    f.forum
        .reply(
            &Actor::User(f.ada),
            f.community,
            f.public_topic,
            NewReply {
                body: "Ada answered from the embedding product.".into(),
                reply_to: None,
            },
        )
        .expect("reply");
    let page = bob.get(&topic).await;
    assert!(!hit(&page));
    assert!(
        page.body
            .contains("Ada answered from the embedding product.")
    );

    // Access given and taken away through the engine.
    let staff = f
        .forum
        .group_by_name(&Actor::System, f.community, "staff")
        .expect("staff group");
    let staff_topic = f.topic_url(f.staff_topic);
    assert_eq!(bob.get(&staff_topic).await.status, StatusCode::NOT_FOUND);
    f.forum
        .add_to_group(&Actor::User(f.admin), f.community, staff.id, f.bob)
        .expect("add");
    assert_eq!(bob.get(&staff_topic).await.status, StatusCode::OK);
    assert!(hit(&bob.get(&staff_topic).await));
    f.forum
        .remove_from_group(&Actor::User(f.admin), f.community, staff.id, f.bob)
        .expect("remove");
    let gone = bob.get(&staff_topic).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(!gone.body.contains(STAFF_ONLY));

    // A mention lights bob's bell; reading the topic (his view counted
    // after a hit too, written in a batch) reads it, and his pages follow.
    let (fresh, _) = f
        .forum
        .create_topic(
            &Actor::User(f.ada),
            f.community,
            NewTopic {
                category: f.qa.id,
                title: "Where do invoices go after export?".into(),
                body: "@bob I exported the invoices and cannot find them anywhere.".into(),
                tags: vec![],
            },
        )
        .expect("topic");
    let home = bob.get("/").await;
    assert!(!hit(&home));
    let lit = bell(&home.body);
    assert!(lit >= 1, "the mention is in bob's bell");
    assert!(hit(&bob.get("/").await));
    let views = |f: &Fixture| {
        f.forum
            .topic_only(&Actor::System, f.community, fresh.id)
            .expect("topic")
            .view_count
    };
    let json = format!("/t/{}.json", fresh.id.0);
    let before = views(&f);
    assert!(!hit(&bob.get(&json).await));
    assert!(hit(&bob.get(&json).await));
    assert!(hit(&bob.get(&json).await));
    f.web.flush_views();
    assert_eq!(
        views(&f),
        before + 1,
        "as without the cache: a member's views of a topic in one batch count once"
    );
    let home = bob.get("/").await;
    assert!(!hit(&home), "his views were written: his bell moved");
    assert_eq!(bell(&home.body), lit - 1);
    assert!(
        !hit(&bob.get(&json).await),
        "and so did every other answer of his"
    );

    // Signed out: the old cookie is a guest's, whatever was cached for it.
    let cookies = bob.cookies.clone();
    let member_page = f.topic_url(f.member_topic);
    assert!(bob.get(&member_page).await.body.contains(MEMBERS_ONLY));
    assert!(hit(&bob.get(&member_page).await));
    let home = bob.get("/").await;
    let token = Browser::token_in(&home.body);
    let out = bob
        .send(req(Method::POST, "/logout").form(&[("authenticity_token", &token)]))
        .await;
    assert!(out.status.is_redirection(), "{}", out.status);
    let mut replayed = Browser::new(&f);
    replayed.cookies = cookies;
    let r = replayed.get(&member_page).await;
    assert!(!hit(&r));
    assert!(!r.body.contains(MEMBERS_ONLY));
    assert_ne!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn the_member_cache_can_be_short_lived_or_off() {
    for tune in [
        Some(hearth_web::MemberCache {
            fresh_for: std::time::Duration::ZERO,
            ..Default::default()
        }),
        None,
    ] {
        let f = fixture_with(|c| c.member_cache = tune);
        let mut bob = Browser::new(&f);
        bob.sign_in("bob").await;
        for _ in 0..3 {
            let r = bob.get("/latest.json").await;
            assert_eq!(r.status, StatusCode::OK);
            assert!(!hit(&r), "{tune:?}");
        }
    }
    // An answer larger than the budget is never kept; the others are. The
    // budget falls between the topic's JSON and its (larger) page.
    let sizes = {
        let f = fixture();
        let mut bob = Browser::new(&f);
        bob.sign_in("bob").await;
        let json = bob.get(&format!("/t/{}.json", f.public_topic.0)).await;
        let page = bob.get(&f.topic_url(f.public_topic)).await;
        (json.body.len(), page.body.len())
    };
    assert!(sizes.0 + 400 < sizes.1, "{sizes:?}");
    let budget = (sizes.0 + sizes.1) / 2;
    let f = fixture_with(|c| {
        c.member_cache = Some(hearth_web::MemberCache {
            max_bytes: budget,
            ..Default::default()
        })
    });
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let small = format!("/t/{}.json", f.public_topic.0);
    // (Sizes move by a few bytes between fixtures: times in the JSON.)
    let near = |a: usize, b: usize| a.abs_diff(b) < 100;
    assert!(near(bob.get(&small).await.body.len(), sizes.0));
    assert!(hit(&bob.get(&small).await));
    let page = f.topic_url(f.public_topic);
    assert!(near(bob.get(&page).await.body.len(), sizes.1));
    assert!(!hit(&bob.get(&page).await));
    assert!(hit(&bob.get(&small).await), "the small answer stays");
}
