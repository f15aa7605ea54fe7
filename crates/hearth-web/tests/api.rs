//! The Discourse-compatible JSON API: shapes, permissions, writes, errors.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use serde_json::json;

#[tokio::test]
async fn latest_has_discourse_shape_and_hides_private_topics() {
    let f = fixture();
    let r = send(&f.app, get("/latest.json")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let topics = v["topic_list"]["topics"].as_array().expect("topics");
    assert_eq!(topics.len(), 1, "guests see only the public topic: {v}");
    let t = &topics[0];
    for field in [
        "id",
        "title",
        "slug",
        "posts_count",
        "created_at",
        "last_posted_at",
        "category_id",
        "posters",
        "views",
        "like_count",
    ] {
        assert!(t.get(field).is_some(), "missing {field}: {t}");
    }
    assert_eq!(t["has_accepted_answer"], true);
    assert!(
        v["users"]
            .as_array()
            .expect("users")
            .iter()
            .any(|u| u["username"] == "ada")
    );
    // A member sees the lounge too; staff see the staff room.
    let r = send(&f.app, get("/latest.json").acting(&f, "bob")).await;
    assert_eq!(
        r.json()["topic_list"]["topics"]
            .as_array()
            .expect("t")
            .len(),
        2
    );
    let r = send(&f.app, get("/latest.json").acting(&f, "ann")).await;
    assert_eq!(
        r.json()["topic_list"]["topics"]
            .as_array()
            .expect("t")
            .len(),
        3
    );
}

#[tokio::test]
async fn categories_and_category_topics() {
    let f = fixture();
    let v = send(&f.app, get("/categories.json")).await.json();
    let cats = v["category_list"]["categories"].as_array().expect("cats");
    assert_eq!(cats.len(), 1, "{v}");
    assert_eq!(cats[0]["slug"], "questions");
    assert_eq!(cats[0]["read_restricted"], false);
    let path = format!("/c/questions/{}.json", f.qa.id.0);
    let v = send(&f.app, get(&path)).await.json();
    assert_eq!(v["topic_list"]["topics"][0]["id"], f.public_topic.0);
    // A private category is 404 for those who may not see it.
    let path = format!("/c/lounge/{}.json", f.members_only.id.0);
    let r = send(&f.app, get(&path)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error_type"], "not_found");
    let r = send(&f.app, get(&path).acting(&f, "bob")).await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test]
async fn topic_and_post_routes_with_aliases() {
    let f = fixture();
    let id = f.public_topic.0;
    for path in [
        format!("/t/{id}.json"),
        format!("/t/how-do-i-rotate-my-api-key/{id}.json"),
        format!("/t/{id}/posts.json"),
    ] {
        let r = send(&f.app, get(&path)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        let v = r.json();
        let posts = v["post_stream"]["posts"].as_array().expect("posts");
        assert_eq!(posts.len(), 2, "{path}");
        assert_eq!(posts[0]["post_number"], 1);
        assert!(
            posts[0]["cooked"]
                .as_str()
                .expect("cooked")
                .contains("<strong>old</strong>")
        );
        assert_eq!(posts[1]["accepted_answer"], true);
    }
    let v = send(&f.app, get(&format!("/t/{id}.json"))).await.json();
    assert_eq!(v["details"]["created_by"]["username"], "ada");
    // The accepted answer as Discourse's Solved plugin shows it.
    let answer = &v["accepted_answer"];
    assert_eq!(answer["post_id"], f.public_answer.0, "{answer}");
    assert_eq!(answer["post_number"], 2);
    assert_eq!(answer["username"], v["post_stream"]["posts"][1]["username"]);
    assert!(answer["excerpt"].as_str().is_some_and(|e| !e.is_empty()));
    assert_eq!(v["title"], "How do I rotate my API key?");
    let r = send(&f.app, get(&format!("/posts/{}.json", f.public_answer.0))).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["topic_id"], id);
    // Accept: application/json on the bare path is the API too.
    let r = send(
        &f.app,
        get(&format!("/t/{id}")).header("Accept", "application/json"),
    )
    .await;
    assert_eq!(r.json()["id"], id);
}

#[tokio::test]
async fn private_objects_are_404_for_each_role_that_may_not_see_them() {
    let f = fixture();
    let cases = [
        (
            f.member_topic,
            vec![
                ("guest", false),
                ("outsider", false),
                ("bob", true),
                ("ada", true),
                ("ann", true),
            ],
        ),
        (
            f.staff_topic,
            vec![
                ("guest", false),
                ("outsider", false),
                ("bob", false),
                ("ada", false),
                ("ann", true),
            ],
        ),
        (
            f.public_topic,
            vec![
                ("guest", true),
                ("outsider", true),
                ("bob", true),
                ("ada", true),
                ("ann", true),
            ],
        ),
    ];
    for (topic, roles) in cases {
        for (who, sees) in roles {
            for path in [format!("/t/{}.json", topic.0), format!("/t/x/{}", topic.0)] {
                let mut r = get(&path);
                if who != "guest" {
                    r = r.acting(&f, who);
                }
                let reply = send(&f.app, r).await;
                let expect = if sees {
                    StatusCode::OK
                } else {
                    StatusCode::NOT_FOUND
                };
                assert_eq!(reply.status, expect, "{who} {path}: {}", reply.body);
            }
        }
        // The posts too.
    }
    let first_of_staff = f.first_post(f.staff_topic);
    let r = send(
        &f.app,
        get(&format!("/posts/{}.json", first_of_staff.0)).acting(&f, "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // Search does not find private content for those who may not read it.
    let v = send(&f.app, get("/search.json?q=quokka").acting(&f, "bob"))
        .await
        .json();
    assert_eq!(v["posts"].as_array().expect("posts").len(), 0, "{v}");
    let v = send(&f.app, get("/search.json?q=quokka").acting(&f, "ann"))
        .await
        .json();
    assert_eq!(v["posts"].as_array().expect("posts").len(), 1, "{v}");
    let v = send(&f.app, get("/search.json?q=zeppelin")).await.json();
    assert_eq!(v["posts"].as_array().expect("posts").len(), 0, "{v}");
}

#[tokio::test]
async fn create_topic_reply_edit_delete_as_json_and_form() {
    let f = fixture();
    // A new topic, JSON body, with ada's own key.
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .header("Api-Key", &f.ada_key)
            .header("Api-Username", "ada")
            .json(json!({"title": "Webhook retries after timeouts", "raw": "Do webhooks retry when my endpoint times out?", "category": f.qa.id.0})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let post = r.json();
    assert_eq!(post["post_number"], 1);
    assert_eq!(post["username"], "ada");
    let topic_id = post["topic_id"].as_i64().expect("topic id");
    // A reply, form-encoded, as bob with the global key.
    let r = send(
        &f.app,
        req(Method::POST, "/posts").acting(&f, "bob").form(&[
            ("topic_id", &topic_id.to_string()),
            ("raw", "Yes, three times with backoff."),
            ("reply_to_post_number", "1"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let reply = r.json();
    assert_eq!(reply["post_number"], 2);
    let reply_id = reply["id"].as_i64().expect("id");
    // Edit with the version it was based on.
    let r = send(
        &f.app,
        req(Method::PUT, &format!("/posts/{reply_id}.json"))
            .acting(&f, "bob")
            .form(&[
                ("post[raw]", "Yes: three times, with exponential backoff."),
                ("post[edit_reason]", "detail"),
                ("post[version]", "1"),
            ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["post"]["version"], 2);
    // The same stale base again: 409, nothing overwritten.
    let r = send(
        &f.app,
        req(Method::PUT, &format!("/posts/{reply_id}.json"))
            .acting(&f, "bob")
            .json(json!({"post": {"raw": "Stale overwrite attempt here.", "version": 1}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.json()["error_type"], "conflict");
    // Discourse's original_text check.
    let r = send(
        &f.app,
        req(Method::PUT, &format!("/posts/{reply_id}.json"))
            .acting(&f, "bob")
            .json(json!({"post": {"raw": "Another stale overwrite.", "original_text": "Yes, three times with backoff."}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    let v = send(&f.app, get(&format!("/posts/{reply_id}.json")))
        .await
        .json();
    assert_eq!(v["raw"], "Yes: three times, with exponential backoff.");
    // Someone else's post: forbidden.
    let r = send(
        &f.app,
        req(Method::PUT, &format!("/posts/{reply_id}.json"))
            .acting(&f, "ada")
            .json(json!({"post": {"raw": "Hijacked text for the post."}})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    // Delete.
    let r = send(
        &f.app,
        req(Method::DELETE, &format!("/posts/{reply_id}.json")).acting(&f, "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(&f.app, get(&format!("/posts/{reply_id}.json"))).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn likes_and_flags_through_post_actions() {
    let f = fixture();
    let id = f.public_answer.0.to_string();
    let r = send(
        &f.app,
        req(Method::POST, "/post_actions.json")
            .acting(&f, "bob")
            .form(&[("id", &id), ("post_action_type_id", "2")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["actions_summary"][0]["count"], 1);
    assert_eq!(v["actions_summary"][0]["acted"], true);
    let r = send(
        &f.app,
        req(
            Method::DELETE,
            &format!("/post_actions/{id}.json?post_action_type_id=2"),
        )
        .acting(&f, "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["actions_summary"][0]["count"], 0);
    f.forum
        .set_trust_level(
            &hearth::Actor::User(f.admin),
            f.community,
            f.bob,
            Some(hearth::TrustLevel::Basic),
            None,
        )
        .expect("trust");
    let r = send(
        &f.app,
        req(Method::POST, "/post_actions.json")
            .acting(&f, "bob")
            .json(json!({"id": f.public_answer.0, "post_action_type_id": 8})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let r = send(
        &f.app,
        req(Method::POST, "/post_actions.json")
            .acting(&f, "bob")
            .json(json!({"id": f.public_answer.0, "post_action_type_id": 99})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.json()["error_type"], "invalid_parameters");
}

#[tokio::test]
async fn users_badges_directory_and_search() {
    let f = fixture();
    let r = send(&f.app, get("/u/ada.json")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["user"]["username"], "ada");
    assert!(
        v["user"].get("email").is_none(),
        "guests never see e-mail addresses"
    );
    let v = send(&f.app, get("/users/ada.json").acting(&f, "ada"))
        .await
        .json();
    assert_eq!(v["user"]["email"], "ada@example.com");
    assert_eq!(
        send(&f.app, get("/u/nobody.json")).await.status,
        StatusCode::NOT_FOUND
    );
    // The outsider is no member: not in this community.
    assert_eq!(
        send(&f.app, get("/u/outsider.json")).await.status,
        StatusCode::NOT_FOUND
    );

    let badge = f
        .forum
        .create_badge(
            &hearth::Actor::User(f.admin),
            f.community,
            hearth::NewBadge {
                slug: "helper".into(),
                name: "Helper".into(),
                description: "Answered a question".into(),
                icon: "star".into(),
                tier: hearth::BadgeTier::Bronze,
                multiple: false,
            },
        )
        .expect("badge");
    f.forum
        .grant_badge(
            &hearth::Actor::User(f.admin),
            f.community,
            &badge.slug,
            f.admin,
            None,
            "answer",
        )
        .expect("grant");
    let v = send(&f.app, get("/user_badges/ann.json")).await.json();
    assert_eq!(v["badges"][0]["name"], "Helper");
    assert_eq!(v["user_badges"][0]["badge_id"], badge.id);
    assert!(v["badge_types"].as_array().is_some());

    let r = send(
        &f.app,
        get("/directory_items.json?order=post_count").acting(&f, "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    let items = v["directory_items"].as_array().expect("items");
    assert!(items.len() >= 3);
    assert!(items[0]["post_count"].as_i64() >= items[1]["post_count"].as_i64());
    assert!(items[0]["user"]["username"].is_string());
    let r = send(
        &f.app,
        get("/directory_items.json?order=bogus").acting(&f, "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    let v = send(&f.app, get("/search.json?q=rotate%20key"))
        .await
        .json();
    assert_eq!(v["topics"][0]["id"], f.public_topic.0, "{v}");
    assert!(
        v["posts"][0]["blurb"]
            .as_str()
            .expect("blurb")
            .contains("<mark>")
    );
    assert_eq!(v["grouped_search_result"]["term"], "rotate key");
    let v = send(&f.app, get("/search.json?q=rotate%20status:unsolved"))
        .await
        .json();
    assert_eq!(v["posts"].as_array().expect("posts").len(), 0, "{v}");
}

#[tokio::test]
async fn sign_up_through_users_json() {
    let f = fixture();
    let r = send(
        &f.app,
        req(Method::POST, "/users.json")
            .acting(&f, "system")
            .json(json!({"name": "Cleo", "email": "cleo@example.com", "password": "a long enough password", "username": "cleo", "active": true, "approved": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["success"], true);
    assert_eq!(v["active"], true);
    assert!(v["user_id"].as_i64().is_some());
    // Taken e-mail: Discourse's failure shape, nothing created.
    let r = send(
        &f.app,
        req(Method::POST, "/users.json")
            .acting(&f, "system")
            .json(json!({"name": "Dee", "email": "CLEO@example.com", "password": "a long enough password", "username": "dee"})),
    )
    .await;
    let v = r.json();
    assert_eq!(v["success"], false, "{v}");
    assert!(v["errors"]["email"].is_array(), "{v}");
    assert!(f.forum.user_by_username("dee").is_err());
    // Short password.
    let v = send(
        &f.app,
        req(Method::POST, "/users.json")
            .acting(&f, "system")
            .json(json!({"email": "eve@example.com", "password": "short", "username": "eve"})),
    )
    .await
    .json();
    assert_eq!(v["success"], false);
    assert!(v["errors"]["password"].is_array(), "{v}");
}

#[tokio::test]
async fn api_keys_are_checked_and_revocable() {
    let f = fixture();
    // Wrong key.
    let r = send(
        &f.app,
        get("/latest.json")
            .header("Api-Key", "nope")
            .header("Api-Username", "ada"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "invalid_api_key");
    // ada's key cannot act as bob.
    let r = send(
        &f.app,
        get("/latest.json")
            .header("Api-Key", &f.ada_key)
            .header("Api-Username", "bob"),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "invalid_api_key");
    // A member cannot create keys; an admin can list and revoke them.
    assert!(
        f.web
            .create_api_key(&hearth::Actor::User(f.bob), None, "x")
            .is_err()
    );
    let keys = f.web.api_keys(&hearth::Actor::User(f.admin)).expect("keys");
    assert_eq!(keys.len(), 2);
    let ada_key = keys.iter().find(|k| k.user == Some(f.ada)).expect("ada's");
    f.web
        .revoke_api_key(&hearth::Actor::User(f.admin), &ada_key.id)
        .expect("revoke");
    let r = send(&f.app, get("/latest.json").header("Api-Key", &f.ada_key)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.json()["error_code"], "invalid_api_key");
    // Keys are stored as digests only.
    let stored = f
        .forum
        .ext_list("hearth-web", Some(f.community), "apikey/", "", 100)
        .expect("list");
    assert!(
        stored.iter().all(|(k, v)| !k.contains(&f.global_key)
            && !String::from_utf8_lossy(v).contains(&f.global_key))
    );
}

#[tokio::test]
async fn retries_with_an_idempotency_key_create_once() {
    let f = fixture();
    let body = json!({"topic_id": f.public_topic.0, "raw": "Thanks, that fixed it for me too."});
    let first = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .header("Idempotency-Key", "retry-1")
            .json(body.clone()),
    )
    .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let again = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .header("Idempotency-Key", "retry-1")
            .json(body.clone()),
    )
    .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(
        again
            .headers
            .get("idempotent-replayed")
            .map(|v| v.to_str().ok()),
        Some(Some("true"))
    );
    let v = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0)))
        .await
        .json();
    assert_eq!(
        v["post_stream"]["posts"].as_array().expect("posts").len(),
        3,
        "one reply, not two"
    );
    // The same key for a different request is refused.
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .header("Idempotency-Key", "retry-1")
            .json(json!({"topic_id": f.public_topic.0, "raw": "A different reply body."})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    // Keys are per visitor: ada's "retry-1" is hers.
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "ada")
            .header("Idempotency-Key", "retry-1")
            .json(body),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_ne!(r.json()["id"], first.json()["id"]);
}

/// The crash window, made deterministic: the post committed but the
/// process died before the response was stored. The retry must find the
/// post the engine remembered with its key, for a reply and for a topic.
#[tokio::test]
async fn a_retry_after_the_response_was_lost_finds_the_first_post() {
    let f = fixture();
    let forget_responses = || {
        let stored = f
            .forum
            .ext_list("hearth-web", Some(f.community), "idem/", "", 100)
            .expect("list");
        assert!(!stored.is_empty(), "the response was stored");
        let ops: Vec<_> = stored
            .into_iter()
            .map(|(key, _)| hearth::ExtOp::Delete { key })
            .collect();
        f.forum
            .ext_apply("hearth-web", Some(f.community), &ops)
            .expect("forget");
    };
    for (key, body) in [
        (
            "lost-reply",
            json!({"topic_id": f.public_topic.0, "raw": "Worked for me after the update."}),
        ),
        (
            "lost-topic",
            json!({"title": "Export stops at 10,000 rows", "raw": "Is that a limit?", "category": f.qa.id.0}),
        ),
    ] {
        let send_it = || {
            send(
                &f.app,
                req(Method::POST, "/posts.json")
                    .acting(&f, "bob")
                    .header("Idempotency-Key", key)
                    .json(body.clone()),
            )
        };
        let first = send_it().await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.body);
        forget_responses();
        let again = send_it().await;
        assert_eq!(again.status, StatusCode::OK, "{}", again.body);
        assert!(again.headers.get("idempotent-replayed").is_none());
        assert_eq!(again.json()["id"], first.json()["id"], "{key}");
        assert_eq!(again.json()["topic_id"], first.json()["topic_id"]);
    }
    let v = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0)))
        .await
        .json();
    assert_eq!(
        v["post_stream"]["posts"].as_array().expect("posts").len(),
        3
    );
    let latest = send(&f.app, get("/latest.json")).await.json();
    let titles: Vec<_> = latest["topic_list"]["topics"]
        .as_array()
        .expect("topics")
        .iter()
        .filter(|t| t["title"] == "Export stops at 10,000 rows")
        .collect();
    assert_eq!(titles.len(), 1);
}

#[tokio::test]
async fn malformed_and_oversized_requests_get_clear_errors() {
    let f = fixture_with(|c| c.limits.body_bytes = 4096);
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .raw("application/json", "{not json"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["errors"][0]
            .as_str()
            .expect("msg")
            .contains("malformed JSON")
    );
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .raw("application/json", "[1,2]"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .json(json!({"topic_id": f.public_topic.0})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("raw"));
    // At the limit is read; one byte over is 413.
    let filler = |n: usize| {
        let base = json!({"topic_id": f.public_topic.0, "raw": ""}).to_string();
        let pad = n - base.len();
        json!({"topic_id": f.public_topic.0, "raw": "x".repeat(pad)}).to_string()
    };
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .raw("application/json", filler(4096)),
    )
    .await;
    assert_ne!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .raw("application/json", filler(4097)),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "bob")
            .raw("text/xml", "<x/>"),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Guests cannot post.
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .json(json!({"topic_id": f.public_topic.0, "raw": "guest reply text"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Unknown API paths are JSON 404s.
    let r = send(&f.app, get("/nope.json")).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.json()["error_type"], "not_found");
}

#[tokio::test]
async fn about_counts_only_what_the_visitor_reads_and_lists_staff() {
    let f = fixture();
    let topics = |who: Option<&str>| {
        let app = f.app.clone();
        let r = match who {
            Some(u) => get("/about.json").acting(&f, u),
            None => get("/about.json"),
        };
        async move {
            let r = send(&app, r).await;
            assert_eq!(r.status, StatusCode::OK, "{}", r.body);
            r.json()
        }
    };
    let guest = topics(None).await;
    let member = topics(Some("ada")).await;
    let admin = topics(Some("ann")).await;
    // One public topic for guests; the lounge for members; the staff room
    // for staff (the same topics `/latest.json` lists to each).
    for (about, who) in [
        (&guest, None),
        (&member, Some("ada")),
        (&admin, Some("ann")),
    ] {
        let latest = match who {
            Some(u) => send(&f.app, get("/latest.json").acting(&f, u)).await,
            None => send(&f.app, get("/latest.json")).await,
        }
        .json();
        let listed = latest["topic_list"]["topics"]
            .as_array()
            .expect("topics")
            .len();
        assert_eq!(
            about["about"]["stats"]["topic_count"], listed as u64,
            "{who:?}"
        );
    }
    assert!(
        guest["about"]["admins"]
            .as_array()
            .expect("admins")
            .iter()
            .any(|u| u["username"] == "ann"),
        "{guest}"
    );
    // ann, ada and bob; the outsider has an account but did not join.
    assert_eq!(guest["about"]["stats"]["users_count"], 3);
    assert_eq!(guest["about"]["https"], true);
}

#[tokio::test]
async fn session_current_names_the_signed_in_member_and_404s_for_guests() {
    let f = fixture();
    let guest = send(&f.app, get("/session/current.json")).await;
    assert_eq!(guest.status, StatusCode::NOT_FOUND, "{}", guest.body);
    let ada = send(&f.app, get("/session/current.json").acting(&f, "ada")).await;
    assert_eq!(ada.status, StatusCode::OK, "{}", ada.body);
    let ada = ada.json();
    let user = &ada["current_user"];
    assert_eq!(user["username"], "ada");
    assert_eq!(user["id"], f.ada.0);
    assert_eq!(
        (user["admin"].clone(), user["member"].clone()),
        (json!(false), json!(true))
    );
    let ann = send(&f.app, get("/session/current.json").acting(&f, "ann"))
        .await
        .json();
    assert_eq!(ann["current_user"]["admin"], true);
    assert_eq!(ann["current_user"]["staff"], true);
    let outsider = send(&f.app, get("/session/current.json").acting(&f, "outsider"))
        .await
        .json();
    assert_eq!(outsider["current_user"]["member"], false);
    assert_eq!(outsider["current_user"]["can_create_topic"], false);
}

#[tokio::test]
async fn api_username_system_posts_and_moderates_as_the_system_user() {
    let f = fixture();
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json")
            .acting(&f, "system")
            .json(json!({
                "title": "Scheduled maintenance this Sunday",
                "raw": "The community will be read-only for an hour.",
                "category": f.qa.id.0,
            })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let post = r.json();
    assert_eq!(post["username"], "system");
    let topic = post["topic_id"].as_i64().expect("topic id");
    // It moderates as the admin it is: closes ada's topic.
    let r = send(
        &f.app,
        req(Method::PUT, &format!("/t/{}/status.json", f.public_topic.0))
            .acting(&f, "SYSTEM")
            .json(json!({ "status": "closed", "enabled": "true" })),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    // Shown as such to everyone, and with no points.
    let shown = send(&f.app, get(&format!("/t/{topic}.json"))).await.json();
    assert_eq!(shown["details"]["created_by"]["username"], "system");
    let system = f.forum.user_by_username("system").expect("the system user");
    assert_eq!(
        f.forum
            .points(
                &hearth::Actor::System,
                f.community,
                system.id,
                hearth::Period::AllTime
            )
            .expect("points"),
        0
    );
    // A member's own key cannot claim to be the system user.
    let r = send(
        &f.app,
        get("/session/current.json")
            .header("Api-Key", &f.ada_key)
            .header("Api-Username", "system"),
    )
    .await;
    assert!(r.status.is_client_error(), "{}", r.status);
}

/// Who wrote each post and what it links to, as the authors are: admin,
/// moderator and trust level from the membership, links from the post.
#[tokio::test]
async fn posts_say_who_wrote_them_and_what_they_link_to() {
    let f = fixture();
    f.forum
        .set_trust_level(
            &hearth::Actor::User(f.admin),
            f.community,
            f.bob,
            Some(hearth::TrustLevel::Member),
            None,
        )
        .expect("trust");
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "bob").form(&[
            ("topic_id", &f.public_topic.0.to_string()),
            (
                "raw",
                "See [the docs](https://docs.example.org/ledgers) for details.",
            ),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0)))
        .await
        .json();
    let posts = t["post_stream"]["posts"].as_array().expect("posts");
    let by = |name: &str| {
        posts
            .iter()
            .find(|p| p["username"] == name)
            .unwrap_or_else(|| panic!("a post by {name}"))
    };
    let (ann, bob) = (by("ann"), by("bob"));
    assert_eq!(
        (
            ann["admin"].clone(),
            ann["moderator"].clone(),
            ann["staff"].clone()
        ),
        (json!(true), json!(false), json!(true))
    );
    assert_eq!(
        (
            bob["admin"].clone(),
            bob["staff"].clone(),
            bob["trust_level"].clone()
        ),
        (json!(false), json!(false), json!(2))
    );
    assert_eq!(
        bob["link_counts"][0]["url"],
        "https://docs.example.org/ledgers"
    );
    assert_eq!(bob["link_counts"][0]["internal"], false);
    assert_eq!(ann["link_counts"], json!([]));
    let who = t["details"]["participants"]
        .as_array()
        .expect("participants");
    let ann_p = who
        .iter()
        .find(|p| p["username"] == "ann")
        .expect("ann takes part");
    assert_eq!(ann_p["admin"], true);
    assert_eq!(
        who.iter().find(|p| p["username"] == "bob").expect("bob")["trust_level"],
        2
    );
}

/// `/categories.json` counts posts and names subcategories as they are.
#[tokio::test]
async fn categories_count_posts_and_name_their_children() {
    let f = fixture();
    let child = f
        .forum
        .create_category(
            &hearth::Actor::User(f.admin),
            f.community,
            hearth::NewCategory {
                parent: Some(f.qa.id),
                ..hearth::NewCategory::new("billing", "Billing", hearth::CategoryKind::Discussion)
            },
        )
        .expect("child");
    let all = send(&f.app, get("/categories.json")).await.json();
    let cats = all["category_list"]["categories"]
        .as_array()
        .expect("categories");
    let qa = cats.iter().find(|c| c["id"] == f.qa.id.0).expect("qa");
    assert_eq!(qa["subcategory_ids"], json!([child.id.0]));
    assert_eq!(qa["has_children"], true);
    assert_eq!(qa["subcategory_count"], 1);
    let view = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0)))
        .await
        .json();
    assert_eq!(qa["topic_count"], 1);
    assert_eq!(qa["post_count"], view["posts_count"]);
    assert!(qa["post_count"].as_i64().expect("count") > 1);
}
