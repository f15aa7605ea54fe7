//! Notifications on pages and in Discourse's JSON, watching topics and
//! categories, and delivery preferences.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, NewReply, NewTopic, NotificationKind};
use serde_json::json;

/// The fixture's own history (ann answered ada) is read already.
fn read_all(f: &Fixture) {
    for u in [f.admin, f.ada, f.bob] {
        f.forum
            .mark_notifications_read(&Actor::User(u), f.community, None)
            .expect("mark read");
    }
}

/// Discourse's watch endpoint, as `who` through the API.
async fn set_level(f: &Fixture, who: &str, path: &str, level: &str) -> Reply {
    send(
        &f.app,
        req(Method::POST, path)
            .acting(f, who)
            .form(&[("notification_level", level)]),
    )
    .await
}

/// `n` replies by the admin mentioning `who`.
fn mention(f: &Fixture, who: &str, n: usize) {
    for i in 0..n {
        f.forum
            .reply(
                &Actor::User(f.admin),
                f.community,
                f.public_topic,
                NewReply {
                    body: format!("Update {i} for @{who}"),
                    reply_to: None,
                },
            )
            .expect("reply");
    }
}

/// The number the header's bell shows on a page, if any.
fn bell(body: &str) -> Option<String> {
    body.split("Notifications <span class=\"count\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(str::to_string)
}

#[tokio::test]
async fn a_mention_shows_in_the_bell_and_reading_the_topic_clears_it() {
    let f = fixture();
    read_all(&f);
    let url = f.topic_url(f.public_topic);
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let r = bob
        .submit(
            &url,
            &format!("/t/{}/reply", f.public_topic.0),
            &[("raw", "@ada did revoking work for you?")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let home = ada.get("/").await;
    assert!(
        home.body
            .contains("Notifications <span class=\"count\">1<span class=\"visually-hidden\"> unread</span></span>"),
        "{}",
        home.body
    );
    let list = ada.get("/notifications").await;
    assert_eq!(list.status, StatusCode::OK);
    assert!(
        list.body
            .contains("bob mentioned you in “How do I rotate my API key?”"),
        "{}",
        list.body
    );
    assert!(list.body.contains(&format!("{url}#post-3")));
    assert!(list.body.contains("class=\"mentioned unread\""));
    // Reading the topic (views are written in batches) reads the notification.
    let seen = ada.get(&url).await;
    assert_eq!(seen.status, StatusCode::OK);
    f.web.flush_views();
    let home = ada.get("/").await;
    assert!(
        home.body.contains("class=\"bell\">Notifications</a>"),
        "{}",
        home.body
    );
    assert!(!ada.get("/notifications").await.body.contains(" unread\""));
}

#[tokio::test]
async fn discourse_json_list_and_mark_read() {
    let f = fixture();
    read_all(&f);
    for body in ["First @ada mention here", "Second @ada mention here"] {
        f.forum
            .reply(
                &Actor::User(f.bob),
                f.community,
                f.public_topic,
                NewReply {
                    body: body.into(),
                    reply_to: None,
                },
            )
            .expect("reply");
    }
    let v = send(
        &f.app,
        get("/notifications.json?filter=unread").acting(&f, "ada"),
    )
    .await
    .json();
    let items = v["notifications"].as_array().expect("notifications");
    assert_eq!(items.len(), 2, "{v}");
    let n = &items[0];
    assert_eq!(
        n["notification_type"],
        NotificationKind::Mentioned.discourse_type()
    );
    assert_eq!(n["read"], false);
    assert_eq!(n["topic_id"], json!(f.public_topic.0));
    assert_eq!(n["post_number"], 4);
    assert_eq!(n["slug"], "how-do-i-rotate-my-api-key");
    assert_eq!(n["data"]["display_username"], "bob");
    assert_eq!(v["unread_notifications"], 2);
    // Mark one read, then the rest.
    let one = n["id"].as_i64().expect("id");
    let r = send(
        &f.app,
        req(Method::PUT, "/notifications/mark-read.json")
            .acting(&f, "ada")
            .json(json!({"id": one})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = send(
        &f.app,
        get("/notifications.json?filter=unread").acting(&f, "ada"),
    )
    .await
    .json();
    assert_eq!(v["notifications"].as_array().expect("list").len(), 1);
    // Someone else's id: 404, nothing changes.
    let r = send(
        &f.app,
        req(Method::PUT, "/notifications/mark-read.json")
            .acting(&f, "bob")
            .json(json!({"id": one + 1})),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &f.app,
        req(Method::PUT, "/notifications/mark-read.json").acting(&f, "ada"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let v = send(&f.app, get("/notifications.json").acting(&f, "ada"))
        .await
        .json();
    assert_eq!(v["unread_notifications"], 0);
    // Guests: 403 in both forms.
    assert_eq!(
        send(&f.app, get("/notifications.json")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&f.app, get("/notifications")).await.status,
        StatusCode::FORBIDDEN
    );
}

#[tokio::test]
async fn watching_and_muting_through_forms_and_the_api() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let cat_url = format!("/c/{}/{}", f.qa.slug, f.qa.id.0);
    let page = bob.get(&cat_url).await;
    assert!(page.body.contains("name=\"notification_level\""));
    let r = bob
        .submit(
            &cat_url,
            &format!("/category/{}/notifications", f.qa.id.0),
            &[("notification_level", "3")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(r.header("location").ends_with(&cat_url));
    let (t, _) = f
        .forum
        .create_topic(
            &Actor::User(f.admin),
            f.community,
            NewTopic {
                category: f.qa.id,
                title: "Scheduled maintenance this weekend".into(),
                body: "The API will be read-only on Saturday.".into(),
                tags: vec![],
            },
        )
        .expect("topic");
    let list = bob.get("/notifications").await;
    assert!(
        list.body
            .contains("ann started “Scheduled maintenance this weekend”"),
        "{}",
        list.body
    );
    // The topic page shows the inherited level.
    let page = bob.get(&f.topic_url(t.id)).await;
    assert!(page.body.contains("value=\"3\" selected"), "{}", page.body);
    // ada mutes her own topic through Discourse's endpoint; a mention there is silent.
    read_all(&f);
    let r = set_level(
        &f,
        "ada",
        &format!("/t/{}/notifications.json", f.public_topic.0),
        "0",
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    f.forum
        .reply(
            &Actor::User(f.bob),
            f.community,
            f.public_topic,
            NewReply {
                body: "@ada are you still there?".into(),
                reply_to: None,
            },
        )
        .expect("reply");
    let v = send(&f.app, get("/notifications.json").acting(&f, "ada"))
        .await
        .json();
    assert_eq!(v["unread_notifications"], 0, "{v}");
    // Bad levels and unreadable targets.
    let r = set_level(
        &f,
        "ada",
        &format!("/t/{}/notifications.json", f.public_topic.0),
        "9",
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = set_level(
        &f,
        "ada",
        &format!("/category/{}/notifications.json", f.staff_only.id.0),
        "3",
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn nobody_hears_about_the_staff_room() {
    let f = fixture();
    f.forum
        .reply(
            &Actor::User(f.admin),
            f.community,
            f.staff_topic,
            NewReply {
                body: "Should we loop in @ada and @bob on this?".into(),
                reply_to: None,
            },
        )
        .expect("reply");
    for who in ["ada", "bob"] {
        let v = send(&f.app, get("/notifications.json").acting(&f, who))
            .await
            .json();
        let about_staff = v["notifications"]
            .as_array()
            .expect("list")
            .iter()
            .any(|n| n["topic_id"] == json!(f.staff_topic.0));
        assert!(!about_staff, "{who}: {v}");
    }
}

#[tokio::test]
async fn preferences_are_yours_alone() {
    let f = fixture();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get("/u/ada/preferences").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"delivery[mentioned]\""));
    let r = ada
        .submit(
            "/u/ada/preferences",
            "/u/ada/preferences",
            &[("delivery[mentioned]", "off"), ("delivery[liked]", "email")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let prefs = f
        .forum
        .notification_preferences(&Actor::User(f.ada), f.community)
        .expect("prefs");
    assert!(prefs.contains(&(NotificationKind::Mentioned, hearth::Delivery::Off)));
    assert!(prefs.contains(&(NotificationKind::Liked, hearth::Delivery::Email)));
    let page = ada.get("/u/ada/preferences?notice=Saved.").await;
    assert!(page.body.contains("value=\"off\" selected"));
    // Bad values: 400, nothing changes.
    let r = ada
        .submit(
            "/u/ada/preferences",
            "/u/ada/preferences",
            &[("delivery[mentioned]", "carrier-pigeon")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    // Not yours: 404; not signed in: 403.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert_eq!(
        bob.get("/u/ada/preferences").await.status,
        StatusCode::NOT_FOUND
    );
    let r = bob
        .submit(
            "/",
            "/u/ada/preferences",
            &[("delivery[mentioned]", "email")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        send(&f.app, get("/u/ada/preferences")).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The bell counts up to 99 and then says "99+" (it checks no more than
/// that many notifications on each page); the notifications page still
/// has them all.
#[tokio::test]
async fn the_bell_says_99_plus_beyond_99() {
    let f = fixture();
    read_all(&f);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    mention(&f, "ada", 99);
    assert_eq!(bell(&ada.get("/").await.body).as_deref(), Some("99"));
    mention(&f, "ada", 1);
    assert_eq!(bell(&ada.get("/").await.body).as_deref(), Some("99+"));
    assert_eq!(
        f.forum
            .unread_notifications(&Actor::User(f.ada), f.community)
            .expect("count"),
        100
    );
}

/// The bell's count is kept between pages while nothing changed: marking
/// notifications read (which appends no event) clears it on the next page,
/// a new mention shows at once, and one member's count is never another's.
#[tokio::test]
async fn the_bells_count_follows_every_change_and_is_each_members_own() {
    let f = fixture();
    read_all(&f);
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    mention(&f, "ada", 1);
    assert_eq!(bell(&ada.get("/").await.body).as_deref(), Some("1"));
    assert_eq!(bell(&ada.get("/").await.body).as_deref(), Some("1"));
    assert_eq!(bell(&bob.get("/").await.body), None);
    mention(&f, "ada", 1);
    assert_eq!(bell(&ada.get("/").await.body).as_deref(), Some("2"));
    assert_eq!(bell(&bob.get("/").await.body), None);
    mention(&f, "bob", 1);
    assert_eq!(bell(&bob.get("/").await.body).as_deref(), Some("1"));
    let r = send(
        &f.app,
        req(Method::PUT, "/notifications/mark-read.json").acting(&f, "ada"),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(bell(&ada.get("/").await.body), None);
    assert_eq!(bell(&bob.get("/").await.body).as_deref(), Some("1"));
}
