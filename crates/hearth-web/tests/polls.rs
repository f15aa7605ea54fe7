//! The first-party `polls` plugin end to end over HTTP: a poll block in a
//! post shows as a poll on the topic page (stored with the post), members
//! vote and change their vote with the host-made forms under it, guests
//! see the results and no form, the post's JSON carries `polls`, and a
//! poll in a members-only topic is neither shown nor voted on by people
//! who may not read it.

#![allow(clippy::unwrap_used)]
mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, NewReply, PostId, TopicId};
use hearth_wasm::Capability;
use serde_json::json;

const POLL: &str = "Help us plan.\n\n```poll\nWhich webinar slot suits you?\n- Tuesday morning\n- Thursday evening\n```\n\nThanks!";

fn with_polls() -> Fixture {
    fixture_with_plugins(|host, community| {
        host.install_dir(plugin_dir("polls")).expect("install");
        host.enable(
            &Actor::System,
            community,
            "polls",
            &[Capability::Kv, Capability::Read, Capability::Now],
        )
        .expect("enable");
    })
}

fn poll_in(f: &Fixture, topic: TopicId) -> PostId {
    f.forum
        .reply(
            &Actor::User(f.ada),
            f.community,
            topic,
            NewReply {
                body: POLL.into(),
                reply_to: None,
            },
        )
        .unwrap()
        .id
}

/// Presses the vote button for `option` on the topic page.
async fn vote(who: &mut Browser, topic_url: &str, post: PostId, option: usize) -> Reply {
    let page = who.get(topic_url).await;
    let target = Browser::button_target(
        &page.body,
        &format!(
            "/plugins/polls/a/vote?post={}&amp;value=poll%3A{option}",
            post.0
        ),
    );
    let token = Browser::token_in(&page.body);
    who.send(req(Method::POST, &target).form(&[
        ("authenticity_token", token.as_str()),
        ("return_to", topic_url),
    ]))
    .await
}

#[tokio::test]
async fn members_vote_under_the_post_and_everyone_sees_the_results() {
    let f = with_polls();
    let post = poll_in(&f, f.public_topic);
    let topic = f.topic_url(f.public_topic);

    // The poll is part of the post; the results are under it.
    let guest = send(&f.app, get(&topic)).await;
    assert!(
        guest.body.contains(
            "<p class=\"polls-question\"><strong>Which webinar slot suits you?</strong></p>"
        ),
        "{}",
        guest.body
    );
    assert!(guest.body.contains("0 voters"), "{}", guest.body);
    assert!(guest.body.contains("Sign in to vote."), "{}", guest.body);
    assert!(
        !guest.body.contains("/plugins/polls/a/vote"),
        "{}",
        guest.body
    );
    // No page of its own, so no link in the navigation.
    assert!(
        !guest.body.contains("href=\"/plugins/polls\""),
        "{}",
        guest.body
    );

    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let r = vote(&mut bob, &topic, post, 1).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = bob.get(&topic).await;
    assert!(page.body.contains("1 voter"), "{}", page.body);
    assert!(page.body.contains("✓ your vote"), "{}", page.body);
    assert!(
        page.body.contains("Take back my vote for Thursday evening"),
        "{}",
        page.body
    );
    // Changing the vote moves it.
    let r = vote(&mut bob, &topic, post, 0).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);

    // By JSON, as Discourse clients post (with the token header).
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let token = ada.csrf().await;
    let r = ada
        .send(
            req(Method::POST, "/plugins/polls/a/vote")
                .header("X-CSRF-Token", &token)
                .json(json!({"post": post.0, "value": "poll:0"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.json()["data"]["voters"], 2, "{}", r.body);

    // The post's JSON carries the results (no one's own votes).
    let t = send(&f.app, get(&format!("/t/{}.json", f.public_topic.0))).await;
    let posts = t.json()["post_stream"]["posts"].clone();
    let p = posts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == post.0)
        .unwrap()
        .clone();
    assert_eq!(p["polls"][0]["options"][0]["votes"], 2, "{p}");
    assert_eq!(p["polls"][0]["options"][1]["votes"], 0, "{p}");
    assert_eq!(p["polls"][0]["voters"], 2);
    // The plugin's own route, with the viewer's votes.
    let mine = ada
        .get(&format!("/plugins/polls/post/{}.json", post.0))
        .await;
    assert_eq!(mine.json()["polls"][0]["my_votes"], json!(["0"]));
}

#[tokio::test]
async fn a_poll_nobody_may_read_is_neither_shown_nor_voted_on() {
    let f = with_polls();
    let post = poll_in(&f, f.member_topic);
    // The outsider is signed in but not a member of the community.
    let mut oz = Browser::new(&f);
    oz.sign_in("outsider").await;
    let token = oz.csrf().await;
    let r = oz
        .send(
            req(Method::POST, "/plugins/polls/a/vote")
                .header("X-CSRF-Token", &token)
                .json(json!({"post": post.0, "value": "poll:0"})),
        )
        .await;
    assert!(r.status.is_client_error(), "{} {}", r.status, r.body);
    let route = oz
        .get(&format!("/plugins/polls/post/{}.json", post.0))
        .await;
    assert_eq!(route.status, StatusCode::NOT_FOUND, "{}", route.body);
    // Nothing was counted.
    let mut ada = Browser::new(&f);
    ada.sign_in("ada").await;
    let seen = ada
        .get(&format!("/plugins/polls/post/{}.json", post.0))
        .await;
    assert_eq!(seen.json()["polls"][0]["voters"], 0, "{}", seen.body);
}
