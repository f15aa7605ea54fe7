//! The first-party `assign` plugin end to end over HTTP: staff assign a
//! topic from its page (a host-made form) or by JSON, the badge shows on
//! topic lists, the assignee is told and finds it under
//! `/plugins/assign/mine`, topics' JSON carries `assigned_to_user`, and
//! members can neither assign nor see the staff's buttons.

#![allow(clippy::unwrap_used)]
mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, Role};
use hearth_wasm::Capability;
use serde_json::json;

fn with_assign() -> Fixture {
    fixture_with_plugins(|host, community| {
        host.install_dir(plugin_dir("assign")).expect("install");
        host.enable(
            &Actor::System,
            community,
            "assign",
            &[
                Capability::Kv,
                Capability::Read,
                Capability::Notify,
                Capability::Now,
            ],
        )
        .expect("enable");
    })
}

/// Presses a topic page's assign button (`action`): the form the host
/// made, with the page's token.
async fn press(who: &mut Browser, topic_url: &str, topic: hearth::TopicId, action: &str) {
    let page = who.get(topic_url).await;
    let target = Browser::button_target(
        &page.body,
        &format!("/plugins/assign/a/{action}?topic={}", topic.0),
    );
    let token = Browser::token_in(&page.body);
    let r = who
        .send(req(Method::POST, &target).form(&[
            ("authenticity_token", token.as_str()),
            ("return_to", topic_url),
        ]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
}

/// The assign plugin's notifications `who` has.
async fn told(who: &mut Browser) -> Vec<serde_json::Value> {
    let n = who.get("/notifications.json").await;
    assert_eq!(n.status, StatusCode::OK, "{}", n.body);
    n.json()["notifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["data"]["hearth_source"] == "assign")
        .cloned()
        .collect()
}

#[tokio::test]
async fn staff_assign_and_the_assignee_is_told_and_finds_it() {
    let f = with_assign();
    // bob joins the staff as a moderator; ann is the admin.
    f.forum
        .set_role(&Actor::User(f.admin), f.community, f.bob, Role::Moderator)
        .unwrap();
    let topic = f.topic_url(f.public_topic);

    // A member sees no buttons and may not assign, by form or JSON.
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let page = ada.get(&topic).await;
    assert!(
        !page.body.contains("/plugins/assign/a/assign"),
        "{}",
        page.body
    );
    // The navigation's "Assigned to me" (`[nav]`, staff only) is not hers.
    assert!(!page.body.contains("/plugins/assign/mine"), "{}", page.body);
    let token = ada.csrf().await;
    let r = ada
        .send(
            req(Method::POST, "/plugins/assign/a/assign")
                .header("X-CSRF-Token", &token)
                .json(json!({"topic": f.public_topic.0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("nly staff assign topics"), "{}", r.body);

    // The admin assigns it to bob by JSON (a member id, as Discourse's
    // assign API takes a user).
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    let page = ann.get(&topic).await;
    assert!(
        page.body
            .contains("href=\"/plugins/assign/mine\">Assigned to me</a>"),
        "{}",
        page.body
    );
    let token = ann.csrf().await;
    let r = ann
        .send(
            req(Method::POST, "/plugins/assign/a/assign")
                .header("X-CSRF-Token", &token)
                .json(json!({"topic": f.public_topic.0, "value": f.bob.0.to_string()})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);

    // Everyone reading the topic sees who has it; lists show the badge.
    let page = ada.get(&topic).await;
    assert!(
        page.body.contains("Assigned to <a href=\"/u/bob\">bob</a>"),
        "{}",
        page.body
    );
    let latest = send(&f.app, get("/latest")).await;
    assert!(latest.body.contains("👤 bob"), "{}", latest.body);
    let t = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0))).await;
    assert_eq!(
        t.json()["assigned_to_user"],
        json!({"id": f.bob.0, "username": "bob"})
    );
    let list = send(&f.app, get("/latest.json")).await.json();
    let assigned: Vec<(i64, serde_json::Value)> = list["topic_list"]["topics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| Some((t["id"].as_i64()?, t.get("assigned_to_user")?.clone())))
        .collect();
    assert_eq!(
        assigned,
        vec![(f.public_topic.0, json!({"id": f.bob.0, "username": "bob"}))]
    );

    // bob is told, and finds it under "assigned to me".
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let told_bob = told(&mut bob).await;
    assert_eq!(told_bob.len(), 1, "{told_bob:?}");
    assert_eq!(
        told_bob[0]["data"]["message"],
        "ann assigned “How do I rotate my API key?” to you"
    );
    let mine = bob.get("/plugins/assign/mine").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(
        mine.body.contains("How do I rotate my API key?"),
        "{}",
        mine.body
    );

    // bob takes it back from the topic page's form (no JavaScript): the
    // host made the button a form with the page's token.
    press(&mut bob, &topic, f.public_topic, "unassign").await;
    let latest = send(&f.app, get("/latest")).await;
    assert!(!latest.body.contains("👤 bob"), "{}", latest.body);
    let mine = bob.get("/plugins/assign/mine").await;
    assert!(
        mine.body.contains("Nothing is assigned to you"),
        "{}",
        mine.body
    );
    // "Assign to me" for staff; assigning yourself tells nobody.
    assert!(bob.get(&topic).await.body.contains("Assign to me"));
    press(&mut bob, &topic, f.public_topic, "assign").await;
    let latest = send(&f.app, get("/latest")).await;
    assert!(latest.body.contains("👤 bob"), "{}", latest.body);
    assert_eq!(
        told(&mut bob).await.len(),
        1,
        "not told of their own assignment"
    );
    // Guests get no "assigned to me" page.
    let r = send(&f.app, get("/plugins/assign/mine")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}
