//! Moderator actions on the topic page (pin, close, archive, unlist, move,
//! merge, split, delete and restore) and Discourse's `PUT /t/{id}/status`.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, AuditFilter, NewReply, NewTopic, PageRequest, PostId, Target, TopicId};
use serde_json::json;

fn topic(f: &Fixture, id: TopicId) -> hearth::Topic {
    f.forum
        .topic_only(&Actor::System, f.community, id)
        .expect("topic")
}

/// A public topic by ada with three replies by bob.
fn thread(f: &Fixture, title: &str) -> (TopicId, Vec<PostId>) {
    let (t, _) = f
        .forum
        .create_topic(
            &Actor::User(f.ada),
            f.community,
            NewTopic {
                category: f.qa.id,
                title: title.into(),
                body: "Opening post with enough words in it.".into(),
                tags: vec![],
            },
        )
        .expect("topic");
    let replies = (1..=3)
        .map(|i| {
            f.forum
                .reply(
                    &Actor::User(f.bob),
                    f.community,
                    t.id,
                    NewReply {
                        body: format!("Reply number {i} from bob, about the thing."),
                        reply_to: None,
                    },
                )
                .expect("reply")
                .id
        })
        .collect();
    (t.id, replies)
}

#[tokio::test]
async fn only_moderators_see_and_use_the_tools() {
    let f = fixture();
    let url = f.topic_url(f.public_topic);
    let guest = send(&f.app, get(&url)).await;
    assert!(!guest.body.contains("Moderate this topic"));
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let page = bob.get(&url).await;
    assert!(!page.body.contains("Moderate this topic"));
    assert!(!page.body.contains("/status\""));
    // A forged moderator form from a member is refused and changes nothing.
    let status = format!("/t/{}/status", f.public_topic.0);
    let r = bob
        .submit(&url, &status, &[("status", "closed"), ("enabled", "true")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!topic(&f, f.public_topic).closed);
    let split = format!("/t/{}/split", f.public_topic.0);
    let answer = f.public_answer.0.to_string();
    let r = bob
        .submit(
            &url,
            &split,
            &[("title", "Bob's hijack"), ("post_ids[]", &answer)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Without the CSRF token even a moderator's form is refused.
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let r = ann
        .send(req(Method::POST, &status).form(&[("status", "closed"), ("enabled", "true")]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!topic(&f, f.public_topic).closed);
    let page = ann.get(&url).await;
    assert!(page.body.contains("Moderate this topic"), "{}", page.body);
    assert!(page.body.contains("form=\"split-form\""));
}

#[tokio::test]
async fn close_archive_unlist_and_pin_round_trip() {
    let f = fixture();
    let url = f.topic_url(f.public_topic);
    let status = format!("/t/{}/status", f.public_topic.0);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let r = ann
        .submit(&url, &status, &[("status", "closed"), ("enabled", "true")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("location").ends_with(&url));
    assert!(topic(&f, f.public_topic).closed);
    // Members see it closed and get no reply form.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let page = bob.get(&url).await;
    assert!(page.body.contains(">Closed</span>"));
    assert!(!page.body.contains("id=\"reply-body\""));
    ann.submit(&url, &status, &[("status", "closed"), ("enabled", "false")])
        .await;
    assert!(!topic(&f, f.public_topic).closed);
    assert!(bob.get(&url).await.body.contains("id=\"reply-body\""));

    ann.submit(
        &url,
        &status,
        &[("status", "archived"), ("enabled", "true")],
    )
    .await;
    assert!(topic(&f, f.public_topic).archived);

    // Unlisting takes it out of the guests' list; listing brings it back.
    let listed = |v: serde_json::Value| {
        v["topic_list"]["topics"]
            .as_array()
            .expect("topics")
            .iter()
            .any(|t| t["id"] == json!(f.public_topic.0))
    };
    assert!(listed(send(&f.app, get("/latest.json")).await.json()));
    ann.submit(
        &url,
        &status,
        &[("status", "visible"), ("enabled", "false")],
    )
    .await;
    assert!(topic(&f, f.public_topic).unlisted);
    assert!(!listed(send(&f.app, get("/latest.json")).await.json()));
    ann.submit(&url, &status, &[("status", "visible"), ("enabled", "true")])
        .await;
    assert!(listed(send(&f.app, get("/latest.json")).await.json()));

    // Pin everywhere until a date; the pin ends at the end of that day.
    let r = ann
        .submit(
            &url,
            &status,
            &[
                ("status", "pinned_globally"),
                ("enabled", "true"),
                ("until", "2099-01-31"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let t = topic(&f, f.public_topic);
    assert!(t.pinned && t.pinned_globally);
    assert_eq!(
        t.pinned_until.map(|u| u.date().to_string()).as_deref(),
        Some("2099-02-01")
    );
    assert!(ann.get(&url).await.body.contains(">Unpin</button>"));
    ann.submit(&url, &status, &[("status", "pinned"), ("enabled", "false")])
        .await;
    assert!(!topic(&f, f.public_topic).pinned);

    // Bad input is a clear 400 and changes nothing.
    for fields in [
        vec![("status", "melted"), ("enabled", "true")],
        vec![("status", "closed")],
        vec![("status", "pinned"), ("enabled", "true"), ("until", "soon")],
    ] {
        let r = ann.submit(&url, &status, &fields).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{fields:?}");
    }
    assert!(!topic(&f, f.public_topic).pinned && !topic(&f, f.public_topic).closed);
}

#[tokio::test]
async fn moving_to_a_private_category_hides_it_and_is_audited() {
    let f = fixture();
    let url = f.topic_url(f.public_topic);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let target = f.members_only.id.0.to_string();
    let r = ann
        .submit(
            &url,
            &format!("/t/{}/move", f.public_topic.0),
            &[
                ("title", "Rotating API keys safely"),
                ("category_id", &target),
                ("tags", "api, security"),
                ("reason", "belongs with the members"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let t = topic(&f, f.public_topic);
    assert_eq!(t.category, f.members_only.id);
    assert_eq!(t.title, "Rotating API keys safely");
    assert_eq!(t.tags, vec!["api".to_string(), "security".to_string()]);
    assert!(r.header("location").ends_with(&f.topic_url(t.id)));
    // Guests no longer see it; members do.
    let new_url = f.topic_url(t.id);
    assert_eq!(
        send(&f.app, get(&new_url)).await.status,
        StatusCode::NOT_FOUND
    );
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert_eq!(bob.get(&new_url).await.status, StatusCode::OK);
    let log = f
        .forum
        .audit_log(
            &Actor::User(f.admin),
            f.community,
            &AuditFilter {
                target: Some(Target::Topic(t.id)),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .expect("audit");
    assert!(
        log.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("belongs with the members")),
        "{:?}",
        log.items
    );
}

#[tokio::test]
async fn split_and_merge_through_the_page() {
    let f = fixture();
    let (t, replies) = thread(&f, "Printer drivers for the new release");
    let url = f.topic_url(t);
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let (a, b) = (replies[1].0.to_string(), replies[2].0.to_string());
    let qa = f.qa.id.0.to_string();
    let r = ann
        .submit(
            &url,
            &format!("/t/{}/split", t.0),
            &[
                ("title", "Scanner drivers, split from the printer thread"),
                ("category_id", &qa),
                ("post_ids[]", &a),
                ("post_ids[]", &b),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let to = r.header("location");
    assert!(to.contains("/t/scanner-drivers"), "{to}");
    let page = ann.get(&to).await;
    assert!(page.body.contains("Reply number 2") && page.body.contains("Reply number 3"));
    assert!(!ann.get(&url).await.body.contains("Reply number 2"));
    // Nothing ticked: a clear error.
    let r = ann
        .submit(
            &url,
            &format!("/t/{}/split", t.0),
            &[("title", "Empty split")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("tick the replies"));

    // Merge the original thread into the public topic; its URL then leads there.
    let into = f.public_topic.0.to_string();
    let r = ann
        .submit(
            &url,
            &format!("/t/{}/merge", t.0),
            &[("destination_topic_id", &into)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("location").ends_with(&f.topic_url(f.public_topic)));
    let old = send(&f.app, get(&url)).await;
    assert_eq!(old.status, StatusCode::PERMANENT_REDIRECT);
    let merged = send(&f.app, get(&f.topic_url(f.public_topic))).await;
    assert!(merged.body.contains("Reply number 1"));
    // Into a topic that does not exist: 404, nothing moved.
    let (t2, _) = thread(&f, "Another thread that stays put");
    let r = ann
        .submit(
            &f.topic_url(t2),
            &format!("/t/{}/merge", t2.0),
            &[("destination_topic_id", "999999")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(topic(&f, t2).post_count, 4);
}

#[tokio::test]
async fn authors_and_moderators_delete_and_restore_posts() {
    let f = fixture();
    let (t, replies) = thread(&f, "Which cable fits the dock?");
    let url = f.topic_url(t);
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    // ada may not delete bob's reply (no button, and a forged form fails).
    let page = ada.get(&url).await;
    let delete = format!("/p/{}/delete", replies[0].0);
    assert!(!page.body.contains(&delete));
    let r = ada.submit(&url, &delete, &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // bob deletes his own.
    assert!(bob.get(&url).await.body.contains(&delete));
    let r = bob.submit(&url, &delete, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        !send(&f.app, get(&url))
            .await
            .body
            .contains("Reply number 1")
    );
    // The moderator sees it marked, and restores it.
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get(&url).await;
    assert!(page.body.contains("This post is deleted"));
    let restore = format!("/p/{}/restore", replies[0].0);
    assert!(page.body.contains(&restore));
    let r = ann.submit(&url, &restore, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        send(&f.app, get(&url))
            .await
            .body
            .contains("Reply number 1")
    );
    // Deleting the first post deletes the topic: guests get 404.
    let first = f
        .forum
        .topic(&Actor::System, f.community, t, &PageRequest::first(1))
        .expect("view")
        .posts
        .items[0]
        .id;
    let r = ann
        .submit(&url, &format!("/p/{}/delete", first.0), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(send(&f.app, get(&url)).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn discourse_status_endpoint() {
    let f = fixture();
    let path = format!("/t/{}/status.json", f.public_topic.0);
    let r = send(
        &f.app,
        req(Method::PUT, &path)
            .acting(&f, "ann")
            .json(json!({"status": "closed", "enabled": "true"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["success"], "OK");
    assert!(topic(&f, f.public_topic).closed);
    // A member's key: Discourse's 403 shape, nothing changes.
    let r = send(
        &f.app,
        req(Method::PUT, &path)
            .acting(&f, "bob")
            .form(&[("status", "closed"), ("enabled", "false")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(r.json()["error_type"], "invalid_access");
    assert!(topic(&f, f.public_topic).closed);
    // A private topic is 404 to those who cannot see it, not 403.
    let r = send(
        &f.app,
        req(Method::PUT, &format!("/t/{}/status.json", f.staff_topic.0))
            .acting(&f, "bob")
            .json(json!({"status": "closed", "enabled": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}
