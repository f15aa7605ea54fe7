//! Private messages over HTTP: Discourse's API (`archetype=private_message`,
//! the mailbox lists, inviting members and groups) and the pages (mailbox,
//! the new-message form, a conversation's page), with everyone else kept
//! out on every path.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::Actor;

const WORD: &str = "quokkaconfidential";

/// ada (a new member) writes to ann (an admin) and the staff group through
/// the API; answers the topic id.
async fn ada_writes_to_staff(f: &Fixture) -> i64 {
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(f, "ada").form(&[
            ("title", &format!("My invoice and {WORD}")),
            ("raw", &format!("Please look at {WORD}, it is private.")),
            ("archetype", "private_message"),
            ("target_recipients", "ann,staff"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.json()["topic_id"].as_i64().expect("topic_id")
}

#[tokio::test]
async fn discourse_clients_send_list_and_invite() {
    let f = fixture();
    let topic = ada_writes_to_staff(&f).await;
    let t = send(&f.app, get(&format!("/t/{topic}.json")).acting(&f, "ann")).await;
    assert_eq!(t.status, StatusCode::OK, "{}", t.body);
    let doc = t.json();
    assert_eq!(doc["archetype"], "private_message");
    assert!(doc["category_id"].is_null());
    let allowed: Vec<&str> = doc["details"]["allowed_users"]
        .as_array()
        .expect("allowed_users")
        .iter()
        .filter_map(|u| u["username"].as_str())
        .collect();
    assert_eq!(allowed, ["ada", "ann"]);
    assert_eq!(doc["details"]["allowed_groups"][0]["name"], "staff");
    // Nobody else: not bob, not a guest, not through the lists or search.
    for who in [Some("bob"), None] {
        let mut r = get(&format!("/t/{topic}.json"));
        if let Some(w) = who {
            r = r.acting(&f, w);
        }
        assert_eq!(
            send(&f.app, r).await.status,
            StatusCode::NOT_FOUND,
            "{who:?}"
        );
    }
    for who in ["ada", "ann", "bob"] {
        let latest = send(&f.app, get("/latest.json").acting(&f, who)).await;
        assert!(!latest.body.contains(WORD), "{who}: latest");
        let found = send(
            &f.app,
            get(&format!("/search.json?q={WORD}")).acting(&f, who),
        )
        .await;
        // (The answer repeats the query; the message's title must not be there.)
        assert_eq!(found.status, StatusCode::OK);
        assert!(!found.body.contains("My invoice"), "{who}: search");
    }
    // The mailboxes: one's own only.
    let inbox = send(
        &f.app,
        get("/topics/private-messages/ann.json").acting(&f, "ann"),
    )
    .await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.body);
    let listed = &inbox.json()["topic_list"]["topics"][0];
    assert_eq!(listed["id"], topic);
    assert_eq!(listed["archetype"], "private_message");
    assert_eq!(listed["unread_posts"], 1);
    let sent = send(
        &f.app,
        get("/topics/private-messages-sent/ada.json").acting(&f, "ada"),
    )
    .await;
    assert_eq!(sent.json()["topic_list"]["topics"][0]["id"], topic);
    let nosy = send(
        &f.app,
        get("/topics/private-messages/ada.json").acting(&f, "ann"),
    )
    .await;
    assert_eq!(nosy.status, StatusCode::FORBIDDEN, "not even an admin");
    let guest = send(&f.app, get("/topics/private-messages/ada.json")).await;
    assert_eq!(guest.status, StatusCode::FORBIDDEN);
    // A group joins (its members are told); bob joins by name.
    let support = f
        .forum
        .create_group(
            &Actor::User(f.admin),
            f.community,
            "support",
            "Support team",
        )
        .expect("group");
    f.forum
        .add_to_group(&Actor::User(f.admin), f.community, support.id, f.bob)
        .expect("bob in support");
    let g = send(
        &f.app,
        req(Method::POST, &format!("/t/{topic}/invite-group.json"))
            .acting(&f, "ada")
            .json(serde_json::json!({"group": "support", "should_notify": true})),
    )
    .await;
    assert_eq!(g.status, StatusCode::OK, "{}", g.body);
    assert_eq!(g.json()["group"]["name"], "support");
    let bob_reads = send(&f.app, get(&format!("/t/{topic}.json")).acting(&f, "bob")).await;
    assert_eq!(bob_reads.status, StatusCode::OK, "by group");
    // outsider is no member: refused, and an unknown group is a 404.
    let out = send(
        &f.app,
        req(Method::POST, &format!("/t/{topic}/invite.json"))
            .acting(&f, "ada")
            .form(&[("user", "outsider")]),
    )
    .await;
    assert!(out.status.is_client_error(), "{}", out.body);
    let nogroup = send(
        &f.app,
        req(Method::POST, &format!("/t/{topic}/invite-group.json"))
            .acting(&f, "ada")
            .form(&[("group", "no-such-group")]),
    )
    .await;
    assert_eq!(nogroup.status, StatusCode::NOT_FOUND, "{}", nogroup.body);
    // A reply through the API notifies the others.
    let reply = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "ann").form(&[
            ("topic_id", &topic.to_string()),
            ("raw", "We are on it, ada."),
        ]),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let bell = send(&f.app, get("/notifications.json").acting(&f, "ada")).await;
    assert!(
        bell.json()["notifications"]
            .as_array()
            .expect("list")
            .iter()
            .any(|n| n["notification_type"] == 6 && n["topic_id"] == topic),
        "{}",
        bell.body
    );
}

#[tokio::test]
async fn a_new_member_writes_to_staff_from_the_pages_and_nothing_is_lost() {
    let f = fixture();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    // bob is a member at trust 0 like ada: refused, the text comes back.
    let refused = ada
        .submit(
            "/messages/new?to=bob",
            "/messages/new",
            &[
                ("to", "bob"),
                ("title", "Hello there bob"),
                ("raw", &format!("About {WORD}")),
            ],
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("trust level"), "{}", refused.body);
    assert!(refused.body.contains(WORD), "what ada wrote is kept");
    let sent = ada
        .submit(
            "/messages/new",
            "/messages/new",
            &[
                ("to", "ann, staff"),
                ("title", "Help with my account"),
                ("raw", &format!("About {WORD}")),
            ],
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let at = sent.header("location");
    let page = ada.get(&at).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Private conversation"), "{}", page.body);
    assert!(page.body.contains(WORD));
    let mailbox = ada.get("/messages/sent").await;
    assert!(mailbox.body.contains("Help with my account"));
    // ann sees it unread in her inbox; bob gets a 404 for the page.
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let inbox = ann.get("/messages").await;
    assert!(inbox.body.contains("1 new"), "{}", inbox.body);
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert_eq!(bob.get(&at).await.status, StatusCode::NOT_FOUND);
    assert!(
        !bob.get("/messages")
            .await
            .body
            .contains("Help with my account")
    );
    // Guests are sent to sign in, not shown a mailbox.
    let guest = send(&f.app, get("/messages")).await;
    assert!(guest.status.is_client_error() || guest.status.is_redirection());
    // ada leaves: the page is gone for her.
    let id = at.rsplit('/').next().expect("id").to_string();
    let left = ada
        .submit(
            &at,
            &format!("/messages/{id}/participants"),
            &[("leave", "1")],
        )
        .await;
    assert_eq!(left.status, StatusCode::SEE_OTHER, "{}", left.body);
    assert_eq!(ada.get(&at).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_member_stops_messages_from_someone_on_their_profile() {
    let f = fixture();
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get("/u/ada").await;
    assert!(
        page.body.contains("take messages from ada"),
        "{}",
        page.body
    );
    let r = ann.submit("/u/ada", "/u/ada/messages-block", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert!(
        ann.get("/u/ada")
            .await
            .body
            .contains("Take their messages again")
    );
    let refused = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "ada").form(&[
            ("title", "Can you help me please"),
            ("raw", "I need a hand with my account."),
            ("archetype", "private_message"),
            ("target_recipients", "ann"),
        ]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("does not take messages from you"));
    // Discourse's way back: notification_level normal.
    let r = send(
        &f.app,
        req(Method::PUT, "/u/ada/notification_level.json")
            .acting(&f, "ann")
            .form(&[("notification_level", "normal")]),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let _ = ada_writes_to_staff(&f).await;
    let bad = send(
        &f.app,
        req(Method::PUT, "/u/ada/notification_level.json")
            .acting(&f, "ann")
            .form(&[("notification_level", "loud")]),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_message_without_recipients_is_a_missing_parameter() {
    let f = fixture();
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "ada").form(&[
            ("title", "Nobody to send this to"),
            ("raw", "Hello?"),
            ("archetype", "private_message"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.body);
    assert!(r.body.contains("target_recipients"));
    let r = send(
        &f.app,
        req(Method::POST, "/posts.json").acting(&f, "ada").form(&[
            ("title", "To someone who is not there"),
            ("raw", "Hello?"),
            ("archetype", "private_message"),
            ("target_recipients", "nobody_by_this_name"),
        ]),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

#[tokio::test]
async fn participants_find_their_messages_with_in_messages() {
    let f = fixture();
    let topic = ada_writes_to_staff(&f).await;
    let query = format!("/search.json?q={WORD}+in:messages");
    // ada and ann take part; bob does not; a guest has no messages.
    for who in ["ada", "ann"] {
        let r = send(&f.app, get(&query).acting(&f, who)).await;
        assert_eq!(r.status, StatusCode::OK, "{who}: {}", r.body);
        let v = r.json();
        assert_eq!(v["posts"][0]["topic_id"], topic, "{who}: {v}");
    }
    let bob = send(&f.app, get(&query).acting(&f, "bob")).await.json();
    assert_eq!(bob["posts"].as_array().map(Vec::len), Some(0), "{bob}");
    let guest = send(&f.app, get(&query)).await;
    assert_eq!(guest.status, StatusCode::FORBIDDEN, "{}", guest.body);
    // Without `in:messages` nobody finds it, ada included.
    let plain = send(
        &f.app,
        get(&format!("/search.json?q={WORD}")).acting(&f, "ada"),
    )
    .await
    .json();
    assert_eq!(plain["posts"].as_array().map(Vec::len), Some(0), "{plain}");
    // The page shows ada her conversation.
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get(&format!("/search?q={WORD}+in%3Amessages")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let click = format!("/search/click?topic={topic}&amp;post=1");
    assert!(page.body.contains(&click), "{}", page.body);
    let followed = ada.get(&click.replace("&amp;", "&")).await;
    assert_eq!(followed.status, StatusCode::SEE_OTHER, "{}", followed.body);
    let shown = ada.get(&followed.header("location")).await;
    assert_eq!(shown.status, StatusCode::OK);
    assert!(shown.body.contains("it is private"));
    // The same click link shows bob nothing.
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let theirs = bob.get(&click.replace("&amp;", "&")).await;
    assert_ne!(theirs.status, StatusCode::OK);
    if theirs.status == StatusCode::SEE_OTHER {
        let shown = bob.get(&theirs.header("location")).await;
        assert_eq!(shown.status, StatusCode::NOT_FOUND);
    }
}

#[tokio::test]
async fn a_message_carries_a_picture_from_the_form() {
    let f = fixture();
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get("/messages/new").await;
    assert!(page.body.contains("enctype=\"multipart/form-data\""));
    let token = Browser::token_in(&page.body);
    let (ct, body) = multipart(
        ("receipt.png", &sized_png(3, 2)),
        &[
            ("authenticity_token", &token),
            ("to", "ann"),
            ("title", "My receipt, privately"),
            ("raw", "Here is the receipt you asked for."),
        ],
    );
    let sent = ada
        .send(req(Method::POST, "/messages/new").raw(&ct, body))
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let shown = ada.get(&sent.header("location")).await;
    assert!(shown.body.contains("alt=\"receipt.png\""), "{}", shown.body);
}
