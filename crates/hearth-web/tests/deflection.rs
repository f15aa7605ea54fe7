//! The composer's deflection tracking through real pages: suggestions
//! shown, opened, a ticket filed through the support link, a topic posted.

mod common;

use axum::http::StatusCode;
use common::*;
use hearth::{Actor, DeflectionReport};

fn set_support(f: &Fixture) {
    let c = f
        .forum
        .community(&Actor::System, f.community)
        .expect("community");
    let mut settings = c.settings.clone();
    settings.support_url = Some("https://support.example.com/new-ticket".into());
    f.forum
        .update_community(&Actor::User(f.admin), f.community, &c.name, settings)
        .expect("settings");
}

fn report(f: &Fixture) -> DeflectionReport {
    let now = f.forum.now();
    f.forum
        .deflection_report(
            &Actor::User(f.admin),
            f.community,
            now - time::Duration::hours(1),
            now + time::Duration::hours(1),
        )
        .expect("report")
}

/// The first `href` in `page` that starts with `prefix`.
fn link(page: &str, prefix: &str) -> String {
    let at = page
        .find(&format!("href=\"{prefix}"))
        .unwrap_or_else(|| panic!("no link to {prefix} in {page}"))
        + 6;
    page[at..at + page[at..].find('"').expect("end")].replace("&amp;", "&")
}

#[tokio::test]
async fn opened_suggestion_then_a_ticket() {
    let f = fixture();
    set_support(&f);
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    // Without JavaScript: the title goes in the query, the page lists matches.
    let page = bob.get("/new-topic?title=rotate+my+API+key&check=1").await;
    assert_eq!(page.status, StatusCode::OK);
    let open = link(&page.body, "/similar/open?session=");
    assert!(
        open.contains(&format!("topic={}", f.public_topic.0)),
        "{open}"
    );
    let r = bob.get(&open).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), f.topic_url(f.public_topic));
    let support = link(&page.body, "/support?session=");
    let r = bob.get(&support).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location"),
        "https://support.example.com/new-ticket"
    );
    let rep = report(&f);
    assert_eq!(
        (
            rep.sessions,
            rep.impressions,
            rep.clicks,
            rep.escalated,
            rep.posted
        ),
        (1, 1, 1, 1, 0),
        "{rep:?}"
    );
}

#[tokio::test]
async fn live_suggestions_then_posting_anyway() {
    let f = fixture();
    let mut bob = Browser::new(&f);
    bob.sign_in("bob").await;
    let page = bob.get("/new-topic").await;
    let marker = "name=\"session\" value=\"";
    let at = page.body.find(marker).expect("session field") + marker.len();
    let session = page.body[at..at + 32].to_string();
    let v = bob
        .get(&format!(
            "/similar.json?title=rotate%20API%20key&session={session}"
        ))
        .await
        .json();
    let first = &v["topics"][0];
    assert_eq!(first["id"], serde_json::json!(f.public_topic.0));
    assert!(
        first["url"]
            .as_str()
            .expect("url")
            .starts_with(&format!("/similar/open?session={session}"))
    );
    let qa = f.qa.id.0.to_string();
    let r = bob
        .submit(
            "/new-topic",
            "/new-topic",
            &[
                ("session", &session),
                ("title", "Rotating keys on the old plan"),
                ("raw", "The answer does not cover the legacy plan."),
                ("category", &qa),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let rep = report(&f);
    assert_eq!(
        (rep.with_suggestions, rep.posted, rep.deflected),
        (1, 1, 0),
        "{rep:?}"
    );
    // Guests see plain links, and nothing is recorded for them.
    let v = send(
        &f.app,
        get("/similar.json?title=rotate%20API%20key&session=abcdefgh12345678"),
    )
    .await
    .json();
    assert!(
        v["topics"][0]["url"]
            .as_str()
            .expect("url")
            .starts_with("/t/")
    );
    assert_eq!(report(&f).sessions, 1);
    // No support link configured: /support is not found.
    assert_eq!(
        bob.get(&format!("/support?session={session}")).await.status,
        StatusCode::NOT_FOUND
    );
}
