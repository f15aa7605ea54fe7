//! Ideas on pages (vote box, staff status, lists by votes) and the
//! topic-voting plugin's API.

mod common;

use axum::http::{Method, StatusCode};
use common::*;
use hearth::{Actor, CategoryKind, NewCategory, NewTopic, TopicId};
use serde_json::json;

struct Ideas {
    cat: hearth::Category,
    topics: Vec<(TopicId, String)>,
}

fn ideas(f: &Fixture) -> Ideas {
    let cat = f
        .forum
        .create_category(
            &Actor::User(f.admin),
            f.community,
            NewCategory::new("ideas", "Product ideas", CategoryKind::Ideas),
        )
        .expect("category");
    let topics = ["Dark mode for the dashboard", "Export invoices as PDF"]
        .iter()
        .map(|title| {
            let (t, _) = f
                .forum
                .create_topic(
                    &Actor::User(f.ada),
                    f.community,
                    NewTopic {
                        category: cat.id,
                        title: (*title).into(),
                        body: "This would save us hours every week.".into(),
                        tags: vec![],
                    },
                )
                .expect("idea");
            (t.id, format!("/t/{}/{}", t.slug, t.id.0))
        })
        .collect();
    Ideas { cat, topics }
}

#[tokio::test]
async fn members_vote_and_withdraw_on_the_page() {
    let f = fixture();
    let i = ideas(&f);
    let (t, url) = &i.topics[0];
    let guest = send(&f.app, get(url)).await;
    assert!(
        guest
            .body
            .contains("<strong class=\"votes\">0</strong> votes")
    );
    assert!(guest.body.contains("Sign in to vote"));
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let r = bob.submit(url, &format!("/t/{}/vote", t.0), &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = bob.get(url).await;
    assert!(
        page.body
            .contains("<strong class=\"votes\">1</strong> vote")
    );
    assert!(page.body.contains("Withdraw vote"));
    // Voting twice is a conflict, not a second vote.
    let r = bob.submit(url, &format!("/t/{}/vote", t.0), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    bob.submit(url, &format!("/t/{}/unvote", t.0), &[]).await;
    assert!(
        bob.get(url)
            .await
            .body
            .contains("<strong class=\"votes\">0</strong>")
    );
    // Only staff see and use the status form.
    assert!(!page.body.contains("/idea-status"));
    let r = bob
        .submit(
            url,
            &format!("/t/{}/idea-status", t.0),
            &[("status", "planned")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn staff_answer_with_a_status_and_voters_hear_it() {
    let f = fixture();
    let i = ideas(&f);
    let (t, url) = &i.topics[1];
    f.forum
        .vote(&Actor::User(f.bob), f.community, *t)
        .expect("vote");
    let mut ann = Browser::new(&f);
    ann.sign_in("ann").await;
    assert!(ann.get(url).await.body.contains("/idea-status"));
    let r = ann
        .submit(
            url,
            &format!("/t/{}/idea-status", t.0),
            &[
                ("status", "planned"),
                ("note", "Coming in the June release."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = send(&f.app, get(url)).await;
    assert!(
        page.body
            .contains("Status: <strong>Planned</strong> — Coming in the June release."),
        "{}",
        page.body
    );
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    assert!(
        bob.get("/notifications")
            .await
            .body
            .contains("“Export invoices as PDF” is now planned")
    );
    let r = ann
        .submit(
            url,
            &format!("/t/{}/idea-status", t.0),
            &[("status", "someday")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn idea_categories_list_by_votes_with_status_tabs() {
    let f = fixture();
    let i = ideas(&f);
    let (second, _) = i.topics[1];
    for u in [f.bob, f.admin] {
        f.forum
            .vote(&Actor::User(u), f.community, second)
            .expect("vote");
    }
    f.forum
        .set_idea_status(
            &Actor::User(f.admin),
            f.community,
            i.topics[0].0,
            hearth::IdeaStatus::Declined,
            "Not in scope.",
        )
        .expect("status");
    let url = format!("/c/{}/{}", i.cat.slug, i.cat.id.0);
    let page = send(&f.app, get(&url)).await;
    assert_eq!(page.status, StatusCode::OK);
    let pdf = page.body.find("Export invoices as PDF").expect("pdf");
    let dark = page.body.find("Dark mode for the dashboard").expect("dark");
    assert!(pdf < dark, "most votes first");
    assert!(page.body.contains("<td class=\"votes\">2</td>"));
    let declined = send(&f.app, get(&format!("{url}?status=declined"))).await;
    assert!(declined.body.contains("Dark mode for the dashboard"));
    assert!(!declined.body.contains("Export invoices as PDF"));
}

#[tokio::test]
async fn topic_voting_plugin_api() {
    let f = fixture();
    let i = ideas(&f);
    let (t, _) = i.topics[0];
    let vote = |path: &'static str, topic: i64| {
        req(Method::POST, path)
            .acting(&f, "bob")
            .json(json!({"topic_id": topic}))
    };
    let r = send(&f.app, vote("/voting/vote.json", t.0)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let v = r.json();
    assert_eq!(v["vote_count"], 1);
    assert_eq!(v["can_vote"], true);
    assert_eq!(v["who_voted"][0]["username"], "bob");
    let r = send(&f.app, vote("/voting/vote.json", t.0)).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(
        r.json()["errors"][0]
            .as_str()
            .expect("error")
            .contains("already voted")
    );
    let v = send(&f.app, vote("/voting/unvote.json", t.0)).await.json();
    assert_eq!(v["vote_count"], 0);
    // Not an idea; a private topic; no topic at all.
    let r = send(&f.app, vote("/voting/vote.json", f.public_topic.0)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(&f.app, vote("/voting/vote.json", f.staff_topic.0)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = send(
        &f.app,
        req(Method::POST, "/voting/vote.json")
            .acting(&f, "bob")
            .json(json!({})),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
